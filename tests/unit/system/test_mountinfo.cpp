// SPDX-License-Identifier: GPL-2.0-or-later
// mountinfo parsing and "the mount holding PATH" (findmnt --target), on
// mount tables written out here: the layouts distributions install.
#include "core/system/mountinfo.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <doctest.h>
#include <string>
#include <unistd.h>

namespace {

using test_support::ScratchDir;

std::vector<core::MountEntry> mounts_of(std::string_view text)
{
    auto mounts = core::parse_mountinfo(text, "mountinfo");
    REQUIRE_MESSAGE(mounts.ok(), mounts.error().message());
    return mounts.value();
}

core::MountHolding holding(std::vector<core::MountEntry> const& mounts, std::string const& path)
{
    auto found = core::mount_holding_resolved(mounts, path);
    REQUIRE_MESSAGE(found.ok(), found.error().message());
    return found.value();
}

// Debian's cloud layout with a separate /var/crash, a bind mount of a
// directory of it, and a tmpfs mounted twice on /mnt/over (the second covers
// the first).
constexpr std::string_view debian = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
                                    "1 0 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
                                    "30 1 254:17 / /var/crash rw,relatime shared:20 - xfs /dev/vdb1 rw,attr2,inode64\n"
                                    "31 1 254:17 /keep/dumps /srv/dumps rw,relatime shared:20 - xfs /dev/vdb1 rw,attr2,inode64\n"
                                    "40 1 0:40 / /mnt/over rw - tmpfs first rw\n"
                                    "41 40 0:41 / /mnt/over rw - tmpfs second rw\n";

} // namespace

TEST_SUITE("mountinfo")
{

TEST_CASE("parse_mountinfo: every field, optional fields up to '-', octal escapes")
{
    auto mounts = mounts_of("36 35 98:0 /mnt1 /mnt\\040with\\011tabs rw,noatime master:1 shared:7 - ext3 /dev/my\\134disk rw,errors=continue\n"
                            "37 35 0:5 / /none rw - tmpfs tmpfs rw\n");
    REQUIRE(mounts.size() == 2);
    auto const& first = mounts[0];
    CHECK(first.mount_id == 36);
    CHECK(first.parent_id == 35);
    CHECK(first.major == 98);
    CHECK(first.minor == 0);
    CHECK(first.root == "/mnt1");
    CHECK(first.mount_point == "/mnt with\ttabs");
    CHECK(first.mount_options == "rw,noatime");
    CHECK(first.optional_fields == std::vector<std::string> { "master:1", "shared:7" });
    CHECK(first.fs_type == "ext3");
    CHECK(first.source == "/dev/my\\disk");
    CHECK(first.super_options == "rw,errors=continue");
    CHECK(mounts[1].optional_fields.empty());
    CHECK(core::mount_option_value(first.super_options, "errors") == "continue");
    CHECK_FALSE(core::mount_option_value(first.super_options, "subvol"));
    CHECK(core::mount_option_value("rw,subvolid=256,subvol=/root", "subvol") == "/root");
}

TEST_CASE("parse_mountinfo: malformed lines are errors naming the line")
{
    auto error_of = [](std::string_view text) {
        auto mounts = core::parse_mountinfo(text, "mi");
        REQUIRE_FALSE(mounts.ok());
        return mounts.error().message();
    };
    CHECK(error_of("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /x rw ext4 /dev/sda2 rw\n").starts_with("mi:2: no '-' after the optional fields"));
    CHECK(error_of("1 0 8:1 / / rw - ext4 /dev/sda1\n").starts_with("mi:1: 2 fields after '-'"));
    CHECK(error_of("1 0 8:1 / / rw - ext4 /dev/sda1 rw extra\n").starts_with("mi:1: 4 fields after '-'"));
    CHECK(error_of("x 0 8:1 / / rw - ext4 /dev/sda1 rw\n").starts_with("mi:1: mount ID"));
    CHECK(error_of("1 0 8-1 / / rw - ext4 /dev/sda1 rw\n") == "mi:1: '8-1' is not MAJOR:MINOR");
    CHECK(error_of("1 0 8:1 / /a\\04 rw - ext4 /dev/sda1 rw\n").find("broken escape") != std::string::npos);
    CHECK(error_of("1 0 8:1 / /a\\09x rw - ext4 /dev/sda1 rw\n").find("without three octal digits") != std::string::npos);
    CHECK(error_of("1 0 8:1 / /a\\777 rw - ext4 /dev/sda1 rw\n").find("beyond one byte") != std::string::npos);
    CHECK(error_of("1 0 8:1 / relative rw - ext4 /dev/sda1 rw\n").find("absolute") != std::string::npos);
    CHECK(error_of("1 0 8:1 /  / rw - ext4 /dev/sda1 rw\n").find("two spaces") != std::string::npos);
}

TEST_CASE("the mount holding a path: longest mount point, then the top of an overmount")
{
    auto mounts = mounts_of(debian);
    auto crash = holding(mounts, "/var/crash");
    CHECK(crash.mount.source == "/dev/vdb1");
    CHECK(crash.directory == "/"); // a separate /var/crash: the top of its file system
    CHECK(holding(mounts, "/var/crash/host/x").directory == "/host/x");
    auto root = holding(mounts, "/var/crashes");
    CHECK(root.mount.mount_point == "/");
    CHECK(root.directory == "/var/crashes");
    CHECK(holding(mounts, "/").directory == "/");
    // The second tmpfs on /mnt/over covers the first.
    CHECK(holding(mounts, "/mnt/over/a").mount.source == "second");
}

TEST_CASE("the mount holding a path: a bind mount's root counts")
{
    auto mounts = mounts_of(debian);
    auto bound = holding(mounts, "/srv/dumps/today");
    CHECK(bound.mount.mount_point == "/srv/dumps");
    CHECK(bound.mount.source == "/dev/vdb1");
    CHECK(bound.directory == "/keep/dumps/today");
}

TEST_CASE("the mount holding a path: btrfs subvolumes, as Fedora installs them")
{
    auto mounts = mounts_of("60 1 0:33 /root / rw,relatime shared:1 - btrfs /dev/vda3 rw,seclabel,compress=zstd:1,space_cache=v2,subvolid=257,subvol=/root\n"
                            "61 60 0:33 /home /home rw,relatime shared:2 - btrfs /dev/vda3 rw,subvolid=256,subvol=/home\n"
                            "62 60 0:33 /root/var/lib/x /srv/x rw - btrfs /dev/vda3 rw,subvolid=257,subvol=/root\n"
                            "63 60 0:34 / /top rw - btrfs /dev/vdb rw,subvolid=5,subvol=/\n");
    auto crash = holding(mounts, "/var/crash");
    CHECK(crash.subvolume == "/root");
    CHECK(crash.directory == "/var/crash"); // inside the subvolume
    auto home = holding(mounts, "/home/u");
    CHECK(home.subvolume == "/home");
    CHECK(home.directory == "/u");
    // A bind mount of a directory inside a subvolume.
    auto bound = holding(mounts, "/srv/x/dumps");
    CHECK(bound.subvolume == "/root");
    CHECK(bound.directory == "/var/lib/x/dumps");
    // The top level (subvolid 5) is "/".
    auto top = holding(mounts, "/top/crash");
    CHECK(top.subvolume == "/");
    CHECK(top.directory == "/crash");
}

TEST_CASE("resolve_path_through_ancestors: a path that does not exist yet, and links")
{
    ScratchDir dir;
    std::string real = core::real_path(dir.path).value();
    REQUIRE(core::make_directories(dir / "var/lib").ok());
    REQUIRE(::symlink((real + "/var/lib").c_str(), (dir / "link").c_str()) == 0);
    CHECK(core::resolve_path_through_ancestors(dir / "var/crash/a/").value() == real + "/var/crash/a");
    CHECK(core::resolve_path_through_ancestors(dir / "link/crash").value() == real + "/var/lib/crash");
    CHECK(core::resolve_path_through_ancestors(dir / "link/./x").value() == real + "/var/lib/x");
    auto dots = core::resolve_path_through_ancestors(dir / "none/../x");
    REQUIRE_FALSE(dots.ok());
    CHECK(dots.error().message().find("has '..' below") != std::string::npos);
    CHECK_FALSE(core::resolve_path_through_ancestors("var/crash").ok());

    // find_mount_holding: the nearest existing ancestor is looked up.
    std::string mountinfo = dir / "mountinfo";
    REQUIRE(core::write_text_atomically(mountinfo, core::cat("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / ", real, "/var rw - xfs /dev/sda2 rw\n")).ok());
    auto found = core::find_mount_holding(mountinfo, dir / "link/crash");
    REQUIRE_MESSAGE(found.ok(), found.error().message());
    CHECK(found->mount.source == "/dev/sda2");
    CHECK(found->directory == "/lib/crash");
    CHECK(found->looked_up == real + "/var/lib/crash");
    REQUIRE(core::write_text_atomically(mountinfo, "2 1 8:2 / /elsewhere rw - xfs /dev/sda2 rw\n").ok());
    auto none = core::find_mount_holding(mountinfo, dir / "x");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().message().find("no mount holds") != std::string::npos);
}

} // TEST_SUITE
