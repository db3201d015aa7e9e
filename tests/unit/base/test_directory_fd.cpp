// SPDX-License-Identifier: GPL-2.0-or-later
// Names made relative to a directory held open, and symbolic links planted
// where a dump goes: refused with one line, nothing written through them.
#include "core/base/directory_fd.h"

#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "core/dump/collector.h"
#include "core/system/target.h"

#include <doctest.h>
#include "tests/unit/test_support.h"

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using test_support::ScratchDir;

namespace {

constexpr time_t new_year_noon = 1704110400; // 2024-01-01 12:00:00 UTC

std::string read_back(std::string const& path)
{
    return core::read_text_file(path).value_or("<unreadable>");
}

bool is_symlink(std::string const& path)
{
    struct stat status;
    return ::lstat(path.c_str(), &status) == 0 && S_ISLNK(status.st_mode);
}

void check_one_line_refusal(core::Error const& error, std::string const& link)
{
    INFO(error.message());
    CHECK(error.errno_code() == ELOOP);
    CHECK(error.message().find(link + " is a symbolic link; kdumpbox never writes through one") != std::string::npos);
    CHECK(error.message().find('\n') == std::string::npos);
}

} // namespace

TEST_CASE("DirectoryFd: open_beneath makes what is missing, refuses '..' and every link")
{
    ScratchDir dir;
    auto root = core::DirectoryFd::open(dir.path);
    REQUIRE(root.ok());
    auto made = root->open_beneath("/var//crash/./dumps/", core::DirectoryFd::Missing::Create, 0755);
    REQUIRE(made.ok());
    CHECK(made->path() == dir.path + "/var/crash/dumps");
    CHECK(core::is_directory(dir.path + "/var/crash/dumps"));

    auto absent = root->open_beneath("nothing/here", core::DirectoryFd::Missing::Refuse);
    REQUIRE_FALSE(absent.ok());
    CHECK(absent.error().errno_code() == ENOENT);
    CHECK_FALSE(core::path_exists(dir.path + "/nothing"));

    auto climbing = root->open_beneath("var/../../etc", core::DirectoryFd::Missing::Create);
    REQUIRE_FALSE(climbing.ok());
    CHECK(climbing.error().errno_code() == EINVAL);
    CHECK(climbing.error().message().find("'..'") != std::string::npos);
    // Refused before anything is made.
    CHECK_FALSE(root->open_beneath("fresh/../x", core::DirectoryFd::Missing::Create).ok());
    CHECK_FALSE(core::path_exists(dir.path + "/fresh"));

    // A link in the middle, to a directory that exists, and one at the end.
    ScratchDir elsewhere;
    REQUIRE(::symlink(elsewhere.path.c_str(), (dir.path + "/var/link").c_str()) == 0);
    auto through = root->open_beneath("var/link/crash", core::DirectoryFd::Missing::Create);
    REQUIRE_FALSE(through.ok());
    check_one_line_refusal(through.error(), dir.path + "/var/link");
    CHECK_FALSE(core::path_exists(elsewhere.path + "/crash"));
    auto at_end = root->open_beneath("var/link", core::DirectoryFd::Missing::Refuse);
    REQUIRE_FALSE(at_end.ok());
    check_one_line_refusal(at_end.error(), dir.path + "/var/link");

    // open() takes the caller's own path as it is, links included (a
    // directory the user named); only what is below it never follows.
    auto opened_link = core::DirectoryFd::open(dir.path + "/var/link");
    REQUIRE(opened_link.ok());
    CHECK(opened_link->open_beneath("made", core::DirectoryFd::Missing::Create).ok());
    CHECK(core::is_directory(elsewhere.path + "/made"));
}

TEST_CASE("DirectoryFd: names are made in the directory held open, even after it moved")
{
    ScratchDir dir;
    REQUIRE(core::make_directories(dir.path + "/dump").ok());
    auto held = core::DirectoryFd::open(dir.path + "/dump");
    REQUIRE(held.ok());
    // Another client renames the directory away and plants a link in its
    // place, pointing somewhere the dump must not go.
    ScratchDir victim;
    REQUIRE(::rename((dir.path + "/dump").c_str(), (dir.path + "/moved").c_str()) == 0);
    REQUIRE(::symlink(victim.path.c_str(), (dir.path + "/dump").c_str()) == 0);
    auto file = core::SafeFile::create(held.value(), "vmcore");
    REQUIRE(file.ok());
    REQUIRE(file->write(std::string_view("dump")).ok());
    REQUIRE(file->commit().ok());
    CHECK(read_back(dir.path + "/moved/vmcore") == "dump");
    CHECK_FALSE(core::path_exists(victim.path + "/vmcore"));
    CHECK_FALSE(core::path_exists(victim.path + "/vmcore-incomplete"));
}

TEST_CASE("make_dump_directory: a link at a path component or at the dump directory is refused")
{
    ScratchDir base;
    ScratchDir elsewhere;
    SUBCASE("a link at a component of path")
    {
        REQUIRE(core::make_directories(base.path + "/var").ok());
        REQUIRE(::symlink(elsewhere.path.c_str(), (base.path + "/var/crash").c_str()) == 0);
        auto directory = core::make_dump_directory(base.path, "/var/crash", "127.0.0.1", new_year_noon);
        REQUIRE_FALSE(directory.ok());
        check_one_line_refusal(directory.error(), base.path + "/var/crash");
        CHECK(core::list_directory(elsewhere.path).value().empty());
    }
    SUBCASE("a link where the dump directory would be: a new name, never the link")
    {
        REQUIRE(core::make_directories(base.path + "/var/crash").ok());
        std::string planted = base.path + "/var/crash/127.0.0.1-2024-01-01-12:00:00";
        REQUIRE(::symlink(elsewhere.path.c_str(), planted.c_str()) == 0);
        auto directory = core::make_dump_directory(base.path, "/var/crash", "127.0.0.1", new_year_noon);
        REQUIRE(directory.ok());
        CHECK(directory->path() == planted + "-1");
        CHECK(is_symlink(planted));
        REQUIRE(core::write_file_safely(directory.value(), "vmcore-dmesg.txt", std::string_view("log")).ok());
        CHECK(core::list_directory(elsewhere.path).value().empty());
    }
}

TEST_CASE("SafeFile: a link planted at NAME-incomplete or NAME is refused; nothing is written through it")
{
    ScratchDir dir;
    ScratchDir elsewhere;
    std::string target = elsewhere.write("precious", "do not touch");
    auto directory = core::DirectoryFd::open(dir.path);
    REQUIRE(directory.ok());

    REQUIRE(::symlink(target.c_str(), (dir.path + "/vmcore-incomplete").c_str()) == 0);
    auto at_incomplete = core::SafeFile::create(directory.value(), "vmcore");
    REQUIRE_FALSE(at_incomplete.ok());
    check_one_line_refusal(at_incomplete.error(), dir.path + "/vmcore-incomplete");
    // create_replacing (makedumpfile -f, the status file) refuses it too.
    auto replacing = core::SafeFile::create_replacing(directory.value(), "vmcore");
    REQUIRE_FALSE(replacing.ok());
    check_one_line_refusal(replacing.error(), dir.path + "/vmcore-incomplete");
    // and so does an adopted file (an external core_collector's).
    auto adopted = core::SafeFile::adopt(directory.value(), "vmcore");
    REQUIRE_FALSE(adopted.ok());
    check_one_line_refusal(adopted.error(), dir.path + "/vmcore-incomplete");
    CHECK(read_back(target) == "do not touch");
    CHECK(is_symlink(dir.path + "/vmcore-incomplete"));

    REQUIRE(::symlink(target.c_str(), (dir.path + "/vmcore-dmesg.txt").c_str()) == 0);
    auto at_name = core::write_file_safely(directory.value(), "vmcore-dmesg.txt", std::string_view("log"));
    REQUIRE_FALSE(at_name.ok());
    check_one_line_refusal(at_name.error(), dir.path + "/vmcore-dmesg.txt");
    CHECK(read_back(target) == "do not touch");
    CHECK_FALSE(core::path_exists(dir.path + "/vmcore-dmesg.txt-incomplete"));
}

TEST_CASE("SafeFile create_replacing: a regular leftover -incomplete is replaced, a link at NAME is replaced, not followed")
{
    ScratchDir dir;
    ScratchDir elsewhere;
    std::string target = elsewhere.write("precious", "do not touch");
    dir.write("state-incomplete", "half");
    REQUIRE(::symlink(target.c_str(), (dir.path + "/state").c_str()) == 0);
    REQUIRE(core::write_text_atomically(dir.path + "/state", "new").ok());
    CHECK_FALSE(is_symlink(dir.path + "/state"));
    CHECK(read_back(dir.path + "/state") == "new");
    CHECK(read_back(target) == "do not touch");
}

TEST_CASE("create_dump_file (makedumpfile): -f replaces a file, never a link; without -f nothing is replaced")
{
    ScratchDir dir;
    ScratchDir elsewhere;
    std::string target = elsewhere.write("precious", "do not touch");
    std::string output = dir.path + "/vmcore";

    REQUIRE(::symlink(target.c_str(), output.c_str()) == 0);
    for (bool overwrite : { false, true }) {
        auto refused = core::create_dump_file(output, overwrite);
        REQUIRE_FALSE(refused.ok());
        check_one_line_refusal(refused.error(), output);
    }
    ::unlink(output.c_str());
    REQUIRE(::symlink(target.c_str(), (output + "-incomplete").c_str()) == 0);
    for (bool overwrite : { false, true }) {
        auto refused = core::create_dump_file(output, overwrite);
        REQUIRE_FALSE(refused.ok());
        check_one_line_refusal(refused.error(), output + "-incomplete");
    }
    CHECK(read_back(target) == "do not touch");
    ::unlink((output + "-incomplete").c_str());

    dir.write("vmcore", "old dump");
    auto kept = core::create_dump_file(output, false);
    REQUIRE_FALSE(kept.ok());
    CHECK(kept.error().errno_code() == EEXIST);
    CHECK(kept.error().message() == output + " already exists; remove it or add -f to overwrite it");
    auto replaced = core::create_dump_file(output, true);
    REQUIRE(replaced.ok());
    REQUIRE(replaced->write(std::string_view("new dump")).ok());
    REQUIRE(replaced->commit().ok());
    CHECK(read_back(output) == "new dump");

    // The directories above DUMPFILE are the user's path: a link there is
    // followed, as any tool does.
    REQUIRE(::symlink(elsewhere.path.c_str(), (dir.path + "/to-elsewhere").c_str()) == 0);
    auto via_link = core::create_dump_file(dir.path + "/to-elsewhere/vmcore", false);
    REQUIRE(via_link.ok());
    CHECK(core::path_exists(elsewhere.path + "/vmcore-incomplete"));

    // The dumper's form: the name made in the directory it holds open.
    auto directory = core::DirectoryFd::open(dir.path);
    REQUIRE(directory.ok());
    auto in_directory = core::create_dump_file("/shown/only/in/messages/vmcore2", false, &directory.value());
    REQUIRE(in_directory.ok());
    CHECK(in_directory->incomplete_path() == dir.path + "/vmcore2-incomplete");
    CHECK(core::path_exists(dir.path + "/vmcore2-incomplete"));
}
