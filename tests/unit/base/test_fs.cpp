// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/fs.h"

#include "core/base/fd.h"

#include <cstdlib>
#include "tests/unit/test_support.h"

#include <doctest.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using TempDir = test_support::ScratchDir;

std::string link_target(std::string const& path)
{
    char buffer[4096];
    ssize_t length = ::readlink(path.c_str(), buffer, sizeof buffer);
    return length < 0 ? std::string() : std::string(buffer, static_cast<size_t>(length));
}

} // namespace

TEST_CASE("path_join")
{
    CHECK(core::path_join("/usr/sbin", "kexec") == "/usr/sbin/kexec");
    CHECK(core::path_join("/usr/sbin/", "kexec") == "/usr/sbin/kexec");
    CHECK(core::path_join("", "kexec") == "kexec");
}

TEST_CASE("self_executable_path is absolute")
{
    auto path = core::self_executable_path().value();
    CHECK(path.front() == '/');
}

TEST_CASE("install_symlinks creates links and is idempotent")
{
    TempDir dir;
    std::vector<std::string_view> names { "reboot", "halt" };
    CHECK(core::install_symlinks(dir.path, "/opt/kdumpbox", names, core::ReplaceExisting::No).value() == 2);
    CHECK(link_target(dir.path + "/halt") == "/opt/kdumpbox");
    CHECK(core::install_symlinks(dir.path, "/opt/kdumpbox", names, core::ReplaceExisting::No).value() == 0);
}

TEST_CASE("install_symlinks changes nothing when a name is taken, unless forced")
{
    TempDir dir;
    int fd = ::open((dir.path + "/halt").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    ::close(fd);

    std::vector<std::string_view> names { "reboot", "halt" };
    auto refused = core::install_symlinks(dir.path, "/opt/kdumpbox", names, core::ReplaceExisting::No);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == EEXIST);
    CHECK(refused.error().message() == dir.path + "/halt exists and not as a link to /opt/kdumpbox; nothing was changed; remove it or add --force to replace");
    struct stat status;
    CHECK(::lstat((dir.path + "/reboot").c_str(), &status) != 0); // nothing created

    CHECK(core::install_symlinks(dir.path, "/opt/kdumpbox", names, core::ReplaceExisting::Yes).value() == 2);
    CHECK(link_target(dir.path + "/halt") == "/opt/kdumpbox");
    CHECK(::lstat((dir.path + "/.halt.kdumpbox-new").c_str(), &status) != 0); // no leftovers
}

TEST_CASE("install_symlinks wants an existing directory")
{
    std::vector<std::string_view> names { "reboot" };
    auto missing = core::install_symlinks("/nonexistent/dir", "/x", names, core::ReplaceExisting::No);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message() == "/nonexistent/dir (create the directory first): No such file or directory");
    auto not_dir = core::install_symlinks("/dev/null", "/x", names, core::ReplaceExisting::No);
    CHECK(not_dir.error().errno_code() == ENOTDIR);
}
