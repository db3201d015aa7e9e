// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/dump_status.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"

#include <doctest.h>
#include "tests/unit/test_support.h"
#include <memory>
#include <string>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using test_support::ScratchDir;

core::DumpStatus full_status()
{
    core::DumpStatus status;
    status.outcome = core::DumpOutcome::Incomplete;
    status.reason = "vmcore: No space left on device";
    status.time_seconds = 1704110400;
    status.target = "ext4 UUID=1234";
    status.directory = "/var/crash/127.0.0.1-2024-01-01-12:00:00";
    status.kernel_release = "6.1.0-18-amd64";
    status.panic = "Kernel panic - not syncing: sysrq triggered crash";
    status.collector = "built-in, dump level 31";
    status.vmcore_bytes = 123456;
    status.dmesg_bytes = 789;
    status.memory_bytes = 1ull << 31;
    status.wait_target_ms = 12;
    status.mount_ms = 3;
    status.dmesg_ms = 40;
    status.collector_ms = 5000;
    status.total_ms = 5100;
    return status;
}

void make_dump(std::string const& parent, std::string const& name, std::string const& file = "vmcore")
{
    REQUIRE(core::make_directories(core::path_join(parent, name)).ok());
    REQUIRE(core::write_text_atomically(core::path_join(parent, core::path_join(name, file)), "x").ok());
}

} // namespace

TEST_CASE("dump status: format and parse give back every field")
{
    auto status = full_status();
    std::string text = core::format_dump_status(status);
    CHECK(text.find("outcome=incomplete\n") != std::string::npos);
    CHECK(text.find("date=2024-01-01 12:00:00 UTC\n") != std::string::npos);
    auto parsed = core::parse_dump_status(text, "status");
    REQUIRE(parsed.ok());
    auto const& back = parsed.value();
    CHECK(back.outcome == core::DumpOutcome::Incomplete);
    CHECK(back.reason == status.reason);
    CHECK(back.time_seconds == status.time_seconds);
    CHECK(back.target == status.target);
    CHECK(back.directory == status.directory);
    CHECK(back.kernel_release == status.kernel_release);
    CHECK(back.panic == status.panic);
    CHECK(back.collector == status.collector);
    CHECK(back.vmcore_bytes == status.vmcore_bytes);
    CHECK(back.dmesg_bytes == status.dmesg_bytes);
    CHECK(back.memory_bytes == status.memory_bytes);
    CHECK(back.wait_target_ms == status.wait_target_ms);
    CHECK(back.mount_ms == status.mount_ms);
    CHECK(back.dmesg_ms == status.dmesg_ms);
    CHECK(back.collector_ms == status.collector_ms);
    CHECK(back.total_ms == status.total_ms);
    CHECK(back.summary() == "incomplete, 2024-01-01 12:00:00 UTC, /var/crash/127.0.0.1-2024-01-01-12:00:00, vmcore 123456 bytes, kernel 6.1.0-18-amd64: vmcore: No space left on device");
}

TEST_CASE("dump status: absent numbers stay absent, values stay one bounded line")
{
    core::DumpStatus status;
    status.outcome = core::DumpOutcome::Failed;
    status.reason = "line one\nline two";
    status.panic = std::string(2000, 'p');
    std::string text = core::format_dump_status(status);
    CHECK(text.find("vmcore_bytes") == std::string::npos);
    auto parsed = core::parse_dump_status(text, "status");
    REQUIRE(parsed.ok());
    CHECK(parsed.value().reason == "line one line two");
    CHECK(parsed.value().panic.size() == core::dump_status_value_limit);
    CHECK(!parsed.value().vmcore_bytes);
    CHECK(parsed.value().outcome == core::DumpOutcome::Failed);
}

TEST_CASE("dump status: the parser refuses what it does not know")
{
    auto refuses = [](std::string const& text, std::string const& message) {
        auto parsed = core::parse_dump_status(text, "S");
        REQUIRE(!parsed.ok());
        CHECK(parsed.error().message().find(message) != std::string::npos);
    };
    refuses("outcome=complete\n", "no format=");
    refuses("format=1\n", "no outcome=");
    refuses("format=2\noutcome=complete\n", "S:1: format 2");
    refuses("format=1\noutcome=fine\n", "S:2: outcome 'fine'");
    refuses("format=1\noutcome=complete\noutcome=failed\n", "S:3: outcome is given twice");
    refuses("format=1\noutcome=complete\ncolour=blue\n", "unknown key 'colour'");
    refuses("format=1\noutcome=complete\nvmcore_bytes=12x\n", "S:3:");
    refuses("format=1\noutcome=complete\nvmcore_bytes=-1\n", "S:3:");
    refuses("format=1\noutcome=complete\njust words\n", "not a key=value line");
    refuses("format=1\noutcome=complete\npanic=a\tb\n", "control character");
    refuses(std::string(20000, '#'), "more than a status file's");
    std::string many = "format=1\noutcome=complete\n";
    for (int i = 0; i < 70; ++i)
        many += "# comment\n";
    refuses(many, "lines");
    refuses(core::cat("format=1\noutcome=complete\nreason=", std::string(600, 'r'), "\n"), "longer than");
}

TEST_CASE("dump status: the panic line and the release come from the log")
{
    std::string dmesg = "[    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc)\n"
                        "[   42.000000] sysrq: Trigger a crash\n"
                        "[   42.000100] Kernel panic - not syncing: sysrq triggered crash\n"
                        "[   42.000200] CPU: 0 PID: 1 Comm: sh\n";
    CHECK(core::panic_line(dmesg) == "Kernel panic - not syncing: sysrq triggered crash");
    CHECK(core::kernel_release_from_dmesg(dmesg) == "6.1.0-18-amd64");
    CHECK(core::panic_line("[ 1.0] BUG: kernel NULL pointer dereference\n[ 2.0] more\n") == "BUG: kernel NULL pointer dereference");
    CHECK(core::panic_line("nothing here\n").empty());
    CHECK(core::kernel_release_from_dmesg("no banner").empty());
}

TEST_CASE("dump directories: names, order and time")
{
    CHECK(core::is_dump_directory_name("127.0.0.1-2024-01-01-12:00:00"));
    CHECK(core::is_dump_directory_name("10.0.2.15-2024-01-01-12-00-00"));
    CHECK(core::is_dump_directory_name("127.0.0.1-2024-01-01-12:00:00-2"));
    CHECK(!core::is_dump_directory_name("2024-01-01-12:00:00"));
    CHECK(!core::is_dump_directory_name("127.0.0.1-2024-01-01"));
    CHECK(!core::is_dump_directory_name("lost+found"));
    CHECK(!core::is_dump_directory_name("127.0.0.1-2024-01-01-12:00:00-x"));
    CHECK(core::dump_directory_older("10.0.0.9-2024-01-01-12:00:00", "10.0.0.1-2024-01-02-00:00:00"));
    CHECK(core::dump_directory_older("h-2024-01-01-12:00:00", "h-2024-01-01-12:00:00-1"));
    CHECK(core::dump_directory_older("h-2024-01-01-12:00:00-2", "h-2024-01-01-12:00:00-10"));
    CHECK(!core::dump_directory_older("h-2024-01-02-12-00-00", "h-2024-01-01-12:00:00"));
    CHECK(core::dump_directory_time("127.0.0.1-2024-01-01-12:00:00") == 1704110400);
    CHECK(core::dump_directory_time("other") == 0);
}

TEST_CASE("dump directories: pruning keeps the newest, never the current one, only ours")
{
    ScratchDir scratch;
    std::string crash = scratch / "crash";
    make_dump(crash, "127.0.0.1-2024-01-01-12:00:00");
    make_dump(crash, "127.0.0.1-2024-01-02-12:00:00", "vmcore-incomplete");
    make_dump(crash, "10.0.0.5-2024-01-03-12:00:00", std::string(core::dump_status_file_name));
    make_dump(crash, "127.0.0.1-2024-01-04-12:00:00");
    // Not ours: a name that is no dump directory, and one without a dump.
    make_dump(crash, "keep-me");
    REQUIRE(core::make_directories(crash + "/127.0.0.1-2023-01-01-00:00:00").ok());
    // The one being written: the oldest name, and empty so far.
    REQUIRE(core::make_directories(crash + "/127.0.0.1-2020-01-01-00:00:00").ok());

    auto listed = core::list_dump_directories(crash);
    REQUIRE(listed.ok());
    CHECK(listed.value() == std::vector<std::string> { "127.0.0.1-2024-01-01-12:00:00", "127.0.0.1-2024-01-02-12:00:00", "10.0.0.5-2024-01-03-12:00:00", "127.0.0.1-2024-01-04-12:00:00" });

    auto removed = core::prune_dump_directories(crash, 1, "127.0.0.1-2020-01-01-00:00:00");
    REQUIRE(removed.ok());
    CHECK(removed.value() == std::vector<std::string> { "127.0.0.1-2024-01-01-12:00:00", "127.0.0.1-2024-01-02-12:00:00", "10.0.0.5-2024-01-03-12:00:00" });
    CHECK(core::path_exists(crash + "/127.0.0.1-2024-01-04-12:00:00/vmcore"));
    CHECK(core::path_exists(crash + "/keep-me/vmcore"));
    CHECK(core::path_exists(crash + "/127.0.0.1-2023-01-01-00:00:00"));
    CHECK(core::path_exists(crash + "/127.0.0.1-2020-01-01-00:00:00"));
    CHECK(!core::path_exists(crash + "/127.0.0.1-2024-01-01-12:00:00"));

    // keep 0 besides the current: every other dump goes.
    auto all = core::prune_dump_directories(crash, 0, "127.0.0.1-2020-01-01-00:00:00");
    REQUIRE(all.ok());
    CHECK(all.value() == std::vector<std::string> { "127.0.0.1-2024-01-04-12:00:00" });
    // Nothing more to prune.
    auto none = core::prune_dump_directories(crash, 0, "127.0.0.1-2020-01-01-00:00:00");
    REQUIRE(none.ok());
    CHECK(none.value().empty());
}

TEST_CASE("dump directories: a directory holding more than files is left alone")
{
    ScratchDir scratch;
    std::string crash = scratch / "crash";
    make_dump(crash, "127.0.0.1-2024-01-01-12:00:00");
    REQUIRE(core::make_directories(crash + "/127.0.0.1-2024-01-01-12:00:00/sub").ok());
    make_dump(crash, "127.0.0.1-2024-01-02-12:00:00");
    auto removed = core::prune_dump_directories(crash, 0, "");
    REQUIRE(removed.ok());
    CHECK(removed.value() == std::vector<std::string> { "127.0.0.1-2024-01-02-12:00:00" });
    CHECK(core::path_exists(crash + "/127.0.0.1-2024-01-01-12:00:00/vmcore"));
}

TEST_CASE("dump status: the placeholder first, the last word even on a full disk")
{
    ScratchDir scratch;
    std::string disk = scratch / "disk";
    REQUIRE(core::make_directories(disk).ok());
    if (::geteuid() != 0 || ::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=256k") != 0)
        SKIP_TEST("cannot mount a small tmpfs here (not root?)");
    auto status = full_status();
    // Held open only until the unmount below.
    auto disk_directory = std::make_unique<core::DirectoryFd>(core::DirectoryFd::open(disk).value());
    auto reserved = core::reserve_status_file(*disk_directory, status);
    REQUIRE(reserved.ok());
    auto placeholder = core::parse_dump_status(core::read_text_file(reserved.value()).value(), "placeholder");
    REQUIRE(placeholder.ok());
    CHECK(placeholder.value().outcome == core::DumpOutcome::Incomplete);
    CHECK(placeholder.value().reason.starts_with("the save did not finish"));
    CHECK(placeholder.value().directory == status.directory);

    // Fill the disk, as a vmcore would.
    {
        auto fill = core::open_file(disk + "/vmcore-incomplete", O_WRONLY | O_CREAT, 0600);
        REQUIRE(fill.ok());
        std::string block(4096, 'v');
        while (::write(fill.value().get(), block.data(), block.size()) > 0) { }
    }
    status.outcome = core::DumpOutcome::Incomplete;
    status.reason = "vmcore: No space left on device";
    auto finished = core::finish_status_file(*disk_directory, status);
    std::string text = core::read_text_file(disk + "/kdumpbox-status").value_or("");
    bool leftover = core::path_exists(disk + "/kdumpbox-status-incomplete");
    disk_directory.reset();
    ::umount(disk.c_str());
    REQUIRE(finished.ok());
    CHECK(text.size() == core::dump_status_reserved_bytes);
    CHECK(!leftover);
    auto last = core::parse_dump_status(text, "status");
    REQUIRE(last.ok());
    CHECK(last.value().reason == "vmcore: No space left on device");
    CHECK(last.value().vmcore_bytes == status.vmcore_bytes);
}
