// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/libraries.h"

#include "tests/unit/initramfs/fixtures.h"

#include "tests/unit/test_support.h"

#include <doctest.h>

namespace initramfs = core::initramfs;
using namespace initramfs_fixtures;

TEST_CASE("needed libraries: a static executable needs nothing")
{
    if (::access("/bin/busybox", R_OK) != 0) {
        SKIP_TEST("/bin/busybox is absent");
    }
    auto libraries = initramfs::shared_libraries("/bin/busybox");
    REQUIRE(libraries.ok());
    CHECK(libraries.value().empty());
}

TEST_CASE("needed libraries of a dynamic executable: loader and libc, also under an injected root")
{
    std::string program = ::access("/usr/bin/python3", R_OK) == 0 ? "/usr/bin/python3" : "/bin/ls";
    auto libraries = initramfs::shared_libraries(program);
    REQUIRE(libraries.ok());
    bool has_libc = false, has_loader = false;
    for (auto const& library : libraries.value()) {
        CAPTURE(library.path);
        CHECK(library.path.front() == '/');
        CHECK(library.source == library.path);
        if (library.path.ends_with("/libc.so.6"))
            has_libc = true;
        if (library.needed_by == "(PT_INTERP)")
            has_loader = true;
    }
    CHECK(has_libc);
    CHECK(has_loader);

    // The same closure found under a copy of those files in a fake root.
    TempDir dir;
    auto copy_into_root = [&](std::string const& path) { write_file(dir.path + path, read_file(path), 0755); };
    copy_into_root(program);
    for (auto const& library : libraries.value())
        copy_into_root(library.path);
    auto rooted = initramfs::shared_libraries(dir.path + program, dir.path);
    REQUIRE(rooted.ok());
    REQUIRE(rooted.value().size() == libraries.value().size());
    for (size_t index = 0; index < rooted.value().size(); ++index) {
        CHECK(rooted.value()[index].path == libraries.value()[index].path);
        CHECK(rooted.value()[index].source == dir.path + libraries.value()[index].path);
    }

    // Without libc the error names it and where it looked.
    for (auto const& library : libraries.value()) {
        if (library.path.ends_with("/libc.so.6"))
            ::unlink((dir.path + library.path).c_str());
    }
    auto broken = initramfs::shared_libraries(dir.path + program, dir.path);
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().message().find("needs libc.so.6, which is in none of (under " + dir.path + ")") != std::string::npos);
    CHECK_FALSE(initramfs::shared_libraries(dir / "missing").ok());
}
