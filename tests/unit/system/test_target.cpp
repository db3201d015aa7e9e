// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/target.h"

#include "core/dump/dump_output.h"
#include "core/base/fd.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fcntl.h>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using TempDir = test_support::ScratchDir;

bool exists(std::string const& path)
{
    struct stat status;
    return ::lstat(path.c_str(), &status) == 0;
}

unsigned mode_of(std::string const& path)
{
    struct stat status;
    REQUIRE(::stat(path.c_str(), &status) == 0);
    return status.st_mode & 07777;
}

std::string contents(std::string const& path) { return core::read_text_file(path).value_or(std::string("<unreadable>")); }

constexpr time_t new_year_noon = 1704110400; // 2024-01-01 12:00:00 UTC

} // namespace

// --- make_dump_directory ------------------------------------------------------------

TEST_CASE("dump directory timestamp is UTC, kdump-utils' %Y-%m-%d-%T")
{
    CHECK(core::dump_timestamp(0) == "1970-01-01-00:00:00");
    CHECK(core::dump_timestamp(new_year_noon) == "2024-01-01-12:00:00");
    CHECK(core::dump_timestamp(new_year_noon + 59 * 60 + 7) == "2024-01-01-12:59:07");
}

TEST_CASE("dump directory naming: <base>/<path>/<ip>-<time>, parents made, mode 0700")
{
    TempDir base;
    auto directory = core::make_dump_directory(base.path, "/var/crash", "127.0.0.1", new_year_noon);
    REQUIRE(directory.ok());
    CHECK(directory->path() == base.path + "/var/crash/127.0.0.1-2024-01-01-12:00:00");
    CHECK(mode_of(directory->path()) == 0700);
    CHECK(mode_of(base.path + "/var/crash") == 0755);

    auto remote = core::make_dump_directory(base.path, "dumps//nested/", "192.168.1.20", new_year_noon);
    REQUIRE(remote.ok());
    CHECK(remote->path() == base.path + "/dumps/nested/192.168.1.20-2024-01-01-12:00:00");
    auto default_host = core::make_dump_directory(base.path, "", "", new_year_noon);
    REQUIRE(default_host.ok());
    CHECK(default_host->path() == base.path + "/127.0.0.1-2024-01-01-12:00:00");
}

TEST_CASE("dump directory collision adds a suffix, never reuses a directory")
{
    TempDir base;
    std::string first = core::make_dump_directory(base.path, "/var/crash", "127.0.0.1", new_year_noon).value().path();
    REQUIRE(core::write_file_safely(first, "vmcore", std::string_view("first dump")).ok());
    auto second = core::make_dump_directory(base.path, "/var/crash", "127.0.0.1", new_year_noon);
    auto third = core::make_dump_directory(base.path, "/var/crash", "127.0.0.1", new_year_noon);
    REQUIRE(second.ok());
    REQUIRE(third.ok());
    CHECK(second->path() == first + "-1");
    CHECK(third->path() == first + "-2");
    CHECK(contents(first + "/vmcore") == "first dump");
}

TEST_CASE("dump directory refuses .., a missing base and a file in the way")
{
    TempDir base;
    auto escape = core::make_dump_directory(base.path, "/var/../../etc", "127.0.0.1", new_year_noon);
    REQUIRE_FALSE(escape.ok());
    CHECK(escape.error().message().find("'..'") != std::string::npos);

    auto unmounted = core::make_dump_directory(base.path + "/not-mounted", "/var/crash", "127.0.0.1", new_year_noon);
    REQUIRE_FALSE(unmounted.ok());
    CHECK(unmounted.error().message().find("is the target mounted?") != std::string::npos);

    REQUIRE(core::write_file_safely(base.path, "var", std::string_view("a file")).ok());
    auto blocked = core::make_dump_directory(base.path, "/var/crash", "127.0.0.1", new_year_noon);
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.error().errno_code() == ENOTDIR);

    CHECK_FALSE(core::make_dump_directory(base.path, "", "a/b", new_year_noon).ok());
}

TEST_CASE("SafeFile free_bytes reports space, and names a missing path")
{
    TempDir dir;
    auto free = core::free_bytes(dir.path);
    REQUIRE(free.ok());
    CHECK(*free > 0);
    auto missing = core::free_bytes(dir.path + "/missing");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find("statvfs " + dir.path + "/missing") != std::string::npos);
}

// --- Raw targets --------------------------------------------------------------------------

TEST_CASE("raw target: a flattened header is a waiting dump; clearing it marks it consumed")
{
    TempDir dir;
    std::string device = dir.path + "/raw";
    {
        auto fd = core::open_file(device, O_WRONLY | O_CREAT | O_TRUNC, 0600).value();
        auto sink = core::FlattenedSink::create(fd.get(), device).value();
        std::vector<uint8_t> page(4096, 0xAB);
        REQUIRE(sink->write_at(0, page).ok());
        REQUIRE(sink->finish().ok());
    }
    REQUIRE(core::raw_device_has_dump(device).ok());
    CHECK(core::raw_device_has_dump(device).value());
    off_t size_before = 0;
    {
        struct stat status;
        REQUIRE(::stat(device.c_str(), &status) == 0);
        size_before = status.st_size;
    }
    REQUIRE(core::clear_raw_dump_header(device).ok());
    CHECK_FALSE(core::raw_device_has_dump(device).value());
    struct stat status;
    REQUIRE(::stat(device.c_str(), &status) == 0);
    CHECK(status.st_size == size_before); // zeroed in place, not truncated

    // Not a dump: refuse to zero it (it may be a partition table).
    auto refused = core::clear_raw_dump_header(device);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().find("refusing to zero it") != std::string::npos);

    REQUIRE(core::write_file_safely(dir.path, "short", std::string_view("makedump")).ok());
    CHECK_FALSE(core::raw_device_has_dump(dir.path + "/short").value());
    CHECK_FALSE(core::raw_device_has_dump(dir.path + "/missing").ok());
}

// --- mount_target -------------------------------------------------------------------------

namespace {

// A loop device over an image, detached at the end; empty if it cannot be set up.
struct LoopDevice {
    std::string path;
    explicit LoopDevice(std::string const& image)
    {
        if (::geteuid() == 0 && std::system("command -v losetup >/dev/null 2>&1") == 0)
            path = test_support::run_output("losetup --find --show '" + image + "' 2>/dev/null");
    }
    ~LoopDevice()
    {
        if (!path.empty())
            std::system(("losetup -d '" + path + "'").c_str());
    }
};

} // namespace

TEST_CASE("mount_target: errors name the device, type and fix")
{
    TempDir dir;
    std::string image = dir.path + "/plain.img";
    REQUIRE(core::write_file_safely(dir.path, "plain.img", std::string(8192, '\0')).ok());
    auto empty = core::mount_target(image, "", dir.path + "/mnt", "");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message().find("no file system found on " + image) != std::string::npos);

    auto missing = core::mount_target(dir.path + "/nothing", "ext4", dir.path + "/mnt", "");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find(dir.path + "/nothing") != std::string::npos);

    if (::geteuid() != 0) {
        SKIP_TEST("not root: no mount(2) error cases");
    }
    auto unknown = core::mount_target(image, "nosuchfs", dir.path + "/mnt", "");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().errno_code() == ENODEV);
    CHECK(unknown.error().message().find("mount " + image + " (nosuchfs) on " + dir.path + "/mnt: ") == 0);
    CHECK(unknown.error().message().find("add it with extra_modules nosuchfs") != std::string::npos);
}

TEST_CASE("mounting refuses a mount point that already has a file system on it")
{
    if (::geteuid() != 0)
        SKIP_TEST("not root: cannot mount the tmpfs in the way");
    TempDir dir;
    std::string busy = dir.path + "/mnt";
    REQUIRE(::mkdir(busy.c_str(), 0755) == 0);
    REQUIRE(::mount("kdumpbox-test", busy.c_str(), "tmpfs", 0, nullptr) == 0);
    auto refused = core::mount_source("kdumpbox-test", "tmpfs", busy, core::parse_mount_options(""));
    auto device_refused = core::mount_target("/dev/null", "ext4", busy, "");
    CHECK(::umount(busy.c_str()) == 0);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == EBUSY);
    CHECK(refused.error().message() == busy + " already has a file system mounted on it; unmount it, or name another mount point");
    REQUIRE_FALSE(device_refused.ok());
    CHECK(device_refused.error().errno_code() == EBUSY);

    // The same directory, now free, mounts.
    auto mounted = core::mount_source("kdumpbox-test", "tmpfs", busy, core::parse_mount_options(""));
    REQUIRE(mounted.ok());
    CHECK(mounted->unmount().ok());
}

TEST_CASE("mount_target mounts a real ext4 image through a loop device and unmounts it")
{
    TempDir dir;
    std::string image = dir.path + "/ext4.img";
    if (std::system(("truncate -s 32M '" + image + "' && mkfs.ext4 -q -F -L target-test '" + image + "' >/dev/null 2>&1").c_str()) != 0) {
        SKIP_TEST("mkfs.ext4 failed or is missing");
    }
    LoopDevice loop(image);
    if (loop.path.empty()) {
        SKIP_TEST("not root or no loop device (losetup failed): no real mount");
    }
    std::string mountpoint = dir.path + "/kdumproot";
    std::string saved;
    {
        auto target = core::mount_target(loop.path, "", mountpoint, "noatime,nofail,x-systemd.device-timeout=5");
        REQUIRE_MESSAGE(target.ok(), (target.ok() ? std::string() : target.error().message()));
        CHECK(target->fstype() == "ext4");
        CHECK(target->mountpoint() == mountpoint);
        auto directory = core::make_dump_directory(mountpoint, "/var/crash", "127.0.0.1", new_year_noon);
        REQUIRE(directory.ok());
        saved = directory->path();
        directory = core::DirectoryFd(); // held open, it would keep the file system busy
        REQUIRE(core::write_file_safely(saved, "vmcore-dmesg.txt", std::string_view("dmesg")).ok());
        // Destroyed here: sync and unmount.
    }
    CHECK_FALSE(exists(saved)); // unmounted: the directory was on the image
    {
        auto again = core::mount_target(loop.path, "ext4", mountpoint, "ro");
        REQUIRE_MESSAGE(again.ok(), (again.ok() ? std::string() : again.error().message()));
        CHECK(contents(saved + "/vmcore-dmesg.txt") == "dmesg");
        auto read_only = core::SafeFile::create(saved, "vmcore");
        REQUIRE_FALSE(read_only.ok());
        CHECK(read_only.error().errno_code() == EROFS);
        REQUIRE(again->unmount().ok());
        CHECK_FALSE(again->mounted());
        CHECK(again->unmount().ok());
    }
    // mount(2) on the image file itself, not a block device.
    auto not_block = core::mount_target(image, "ext4", mountpoint, "");
    if (!not_block.ok())
        CHECK(not_block.error().message().find(image) != std::string::npos);
}

TEST_CASE("save_streams: each stream saved safely; a failure names the -incomplete file")
{
    TempDir dir;
    std::string source = dir.path + "/source.txt";
    REQUIRE(core::write_text_atomically(source, "from a file").ok());
    auto file = core::open_file(source, O_RDONLY).value();
    int ends[2];
    REQUIRE(::pipe(ends) == 0);
    core::UniqueFd read_end(ends[0]);
    {
        core::UniqueFd write_end(ends[1]);
        REQUIRE(core::write_all(write_end.get(), std::string_view("from a pipe"), "pipe").ok());
    }
    std::string saved = dir.path + "/saved";
    REQUIRE(::mkdir(saved.c_str(), 0700) == 0);
    std::vector<core::StreamToSave> streams {
        { "source.txt", source, file.get() },
        { "kexec-dmesg.log", "standard input", read_end.get() },
    };
    auto saved_directory = core::DirectoryFd::open(saved).value();
    REQUIRE(core::save_streams(saved_directory, streams).ok());
    CHECK(contents(saved + "/source.txt") == "from a file");
    CHECK(contents(saved + "/kexec-dmesg.log") == "from a pipe");
    CHECK_FALSE(exists(saved + "/source.txt-incomplete"));

    // A stream that cannot be read leaves its -incomplete file and says so.
    std::vector<core::StreamToSave> unreadable { { "broken", "a closed descriptor", -1 } };
    auto failed = core::save_streams(saved_directory, unreadable);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().message().find("saving a closed descriptor (" + saved + "/broken-incomplete is left)") == 0);
    CHECK(exists(saved + "/broken-incomplete"));
    CHECK_FALSE(exists(saved + "/broken"));
}
