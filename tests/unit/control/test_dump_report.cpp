// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/dump_report.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/safe_file.h"

#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using test_support::ScratchDir;

void write(std::string const& path, std::string_view text)
{
    REQUIRE(core::make_parent_directories(path).ok());
    REQUIRE(core::write_text_atomically(path, text).ok());
}

// A dump directory as the dumper leaves it, with a status file.
void make_dump(std::string const& parent, std::string const& name, core::DumpOutcome outcome, std::string const& reason = "")
{
    std::string directory = core::path_join(parent, name);
    write(core::path_join(directory, outcome == core::DumpOutcome::Complete ? "vmcore" : "vmcore-incomplete"), "dump");
    core::DumpStatus status;
    status.outcome = outcome;
    status.reason = reason;
    status.time_seconds = core::dump_directory_time(name);
    status.vmcore_bytes = 4;
    status.panic = "Kernel panic - not syncing: sysrq triggered crash";
    write(core::path_join(directory, core::dump_status_file_name), core::format_dump_status(status));
}

std::string drain(int fd)
{
    std::string text;
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0)
        text.append(buffer, static_cast<size_t>(got));
    return text;
}

// What report_new_dumps logs, captured.
struct CapturedLog {
    int fds[2] {};
    CapturedLog()
    {
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        core::log::set_console_for_testing(fds[1], nullptr);
    }
    std::string take()
    {
        core::log::set_console_for_testing(STDERR_FILENO, nullptr);
        ::close(fds[1]);
        std::string text = drain(fds[0]);
        ::close(fds[0]);
        return text;
    }
};

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("dump report: the record reads back, and a broken one is refused")
{
    core::ReportRecord record { "/var/crash/127.0.0.1-2024-01-01-12:00:00", "complete, 2024-01-01 12:00:00 UTC, /var/crash/..." };
    auto parsed = core::parse_report_record(core::format_report_record(record), "r");
    REQUIRE(parsed.ok());
    CHECK(parsed.value().directory == record.directory);
    CHECK(parsed.value().summary == record.summary);
    CHECK(!core::parse_report_record("summary=x\n", "r").ok());
    CHECK(!core::parse_report_record("directory=/a\ndirectory=/b\n", "r").ok());
    CHECK(!core::parse_report_record("colour=blue\n", "r").ok());
    CHECK(!core::parse_report_record(std::string(5000, '#'), "r").ok());
}

TEST_CASE("dump report: only the dumps newer than the last one reported; the newest alone at first")
{
    ScratchDir scratch;
    std::string crash = scratch / "var/crash";
    make_dump(crash, "127.0.0.1-2024-01-01-12:00:00", core::DumpOutcome::Complete);
    make_dump(crash, "127.0.0.1-2024-01-02-12:00:00", core::DumpOutcome::Incomplete, "vmcore: No space left on device");
    make_dump(crash, "127.0.0.1-2024-01-03-12:00:00", core::DumpOutcome::Complete);

    auto first = core::find_unreported_dumps({ crash }, std::nullopt);
    REQUIRE(first.ok());
    REQUIRE(first.value().size() == 1);
    CHECK(core::base_name(first.value()[0].path) == "127.0.0.1-2024-01-03-12:00:00");

    core::ReportRecord record { crash + "/127.0.0.1-2024-01-01-12:00:00", "" };
    auto later = core::find_unreported_dumps({ crash, crash + "/missing" }, record);
    REQUIRE(later.ok());
    REQUIRE(later.value().size() == 2);
    CHECK(later.value()[0].status.outcome == core::DumpOutcome::Incomplete);
    CHECK(later.value()[0].has_status_file);
    CHECK(later.value()[0].status.reason == "vmcore: No space left on device");
    CHECK(later.value()[0].status.directory == crash + "/127.0.0.1-2024-01-02-12:00:00");
    CHECK(later.value()[1].status.outcome == core::DumpOutcome::Complete);

    record.directory = crash + "/127.0.0.1-2024-01-03-12:00:00";
    auto none = core::find_unreported_dumps({ crash }, record);
    REQUIRE(none.ok());
    CHECK(none.value().empty());
}

TEST_CASE("dump report: a dump without a status file is judged by its files")
{
    ScratchDir scratch;
    std::string crash = scratch / "crash";
    write(crash + "/10.0.0.1-2024-01-01-12:00:00/vmcore-incomplete", "part");
    auto found = core::read_found_dump(crash + "/10.0.0.1-2024-01-01-12:00:00");
    CHECK(!found.has_status_file);
    CHECK(found.status.outcome == core::DumpOutcome::Incomplete);
    CHECK(found.status.vmcore_bytes == 4u);
    CHECK(found.status.time_seconds == 1704110400);
    // A broken status file: the files decide, with a warning.
    write(crash + "/10.0.0.1-2024-01-02-12:00:00/vmcore", "whole");
    write(crash + "/10.0.0.1-2024-01-02-12:00:00/kdumpbox-status", "nonsense\n");
    CapturedLog log;
    auto judged = core::read_found_dump(crash + "/10.0.0.1-2024-01-02-12:00:00");
    CHECK(contains(log.take(), "going by the dump's files"));
    CHECK(judged.status.outcome == core::DumpOutcome::Complete);
}

TEST_CASE("dump report: kdump start logs each new dump, runs the notify command, records the last")
{
    ScratchDir scratch;
    std::string crash = scratch / "crash";
    make_dump(crash, "127.0.0.1-2024-01-01-12:00:00", core::DumpOutcome::Complete);
    std::string record_path = scratch / "lib/reported";
    write(record_path, core::format_report_record({ crash + "/127.0.0.1-2024-01-01-12:00:00", "old" }));
    make_dump(crash, "127.0.0.1-2024-01-02-12:00:00", core::DumpOutcome::Incomplete, "vmcore: No space left on device");
    make_dump(crash, "127.0.0.1-2024-01-03-12:00:00", core::DumpOutcome::Complete);
    std::string notify = scratch / "notify.sh";
    std::string notified = scratch / "notified";
    write(notify, core::cat("#!/bin/sh\necho \"$1 $KDUMPBOX_DUMP_OUTCOME $2\" >> ", notified, "\n"));
    REQUIRE(::chmod(notify.c_str(), 0755) == 0);

    core::ReportInputs inputs;
    inputs.dump_parents = { crash };
    inputs.record_path = record_path;
    inputs.notify_command = notify;
    CapturedLog log;
    auto reported = core::report_new_dumps(inputs);
    std::string logged = log.take();
    CHECK(reported.size() == 2);
    CHECK(contains(logged, "error: crash dump: incomplete, 2024-01-02 12:00:00 UTC"));
    CHECK(contains(logged, "No space left on device; panic: Kernel panic - not syncing: sysrq triggered crash"));
    CHECK(contains(logged, "crash dump: complete, 2024-01-03 12:00:00 UTC"));
    CHECK(!contains(logged, "2024-01-01 12:00:00"));
    CHECK(core::read_text_file(notified).value_or("") == core::cat(crash, "/127.0.0.1-2024-01-02-12:00:00 incomplete \n", crash, "/127.0.0.1-2024-01-03-12:00:00 complete \n"));
    CHECK(contains(core::last_dump_line(record_path), "last dump: complete, 2024-01-03 12:00:00 UTC"));

    // Nothing new: nothing logged, the notify command not run again.
    CapturedLog again;
    CHECK(core::report_new_dumps(inputs).empty());
    CHECK(again.take().empty());
}

TEST_CASE("dump report: a failing or hanging notify command is only a warning")
{
    ScratchDir scratch;
    make_dump(scratch / "crash", "127.0.0.1-2024-01-01-12:00:00", core::DumpOutcome::Complete);
    std::string hang = scratch / "hang.sh";
    write(hang, "#!/bin/sh\nexec sleep 30\n");
    REQUIRE(::chmod(hang.c_str(), 0755) == 0);
    core::ReportInputs inputs;
    inputs.dump_parents = { scratch / "crash" };
    inputs.record_path = scratch / "reported";
    inputs.notify_command = hang;
    inputs.notify_timeout_ms = 300;
    CapturedLog log;
    CHECK(core::report_new_dumps(inputs).size() == 1);
    std::string logged = log.take();
    CHECK(contains(logged, "warning: KDUMPBOX_NOTIFY"));
    CHECK(contains(logged, "killed after its time ran out"));
    CHECK(core::path_exists(inputs.record_path));
}

TEST_CASE("dump report: kdump status before any dump")
{
    ScratchDir scratch;
    CHECK(contains(core::last_dump_line(scratch / "reported"), "none reported yet"));
}

TEST_CASE("dump size: from /proc/meminfo and the dump level; free space compared with it")
{
    ScratchDir scratch;
    std::string meminfo = scratch / "meminfo";
    write(meminfo, "MemTotal:        2048000 kB\nMemFree:         1024000 kB\nBuffers:           10000 kB\nCached:           200000 kB\nAnonPages:        100000 kB\n");
    core::KdumpConfig config;
    auto builtin = core::estimate_dump_size(config, meminfo);
    REQUIRE(builtin.ok());
    CHECK(builtin.value().dump_level == 31);
    CHECK(builtin.value().memory_bytes == 2048000ull * 1024);
    CHECK(builtin.value().bytes == (2048000ull - 1024000 - 100000 - 210000) * 1024);
    CHECK(contains(builtin.value().basis, "dump level 31"));

    config.core_collector = core::CoreCollector { "makedumpfile -l -d 1", { "makedumpfile", "-l", "-d", "1" } };
    CHECK(core::effective_dump_level(config) == 1);
    CHECK(core::estimate_dump_size(config, meminfo).value().bytes == 2048000ull * 1024);
    config.core_collector = core::CoreCollector { "cp", { "cp" } };
    CHECK(core::effective_dump_level(config) == 0);
    config.core_collector = core::CoreCollector { "makedumpfile -d17", { "makedumpfile", "-d17" } };
    CHECK(core::effective_dump_level(config) == 17);

    auto estimate = builtin.value();
    auto plenty = [](std::string const&) -> core::Result<uint64_t> { return uint64_t { 1 } << 40; };
    auto little = [](std::string const&) -> core::Result<uint64_t> { return uint64_t { 100 } << 20; };
    CHECK(!core::free_space_warning("/var/crash", estimate, plenty));
    auto warning = core::free_space_warning("/var/crash", estimate, little);
    REQUIRE(warning);
    CHECK(contains(*warning, "only 100 MiB free in /var/crash for a dump of about 698 MiB"));
    CHECK(!core::estimate_dump_size(config, scratch / "missing").ok());
}

TEST_CASE("dump report: KDUMP_NUM_DUMPS goes into the image only when set")
{
    core::KdumpSettings settings;
    CHECK(!core::keep_dumps_image_file(settings));
    settings.num_dumps = 3;
    auto file = core::keep_dumps_image_file(settings);
    REQUIRE(file);
    CHECK(file->path == core::capture_keep_dumps_path);
    CHECK(file->data == "3\n");
}

TEST_CASE("dump report: where the host sees each target's dumps")
{
    ScratchDir scratch;
    write(scratch / "proc/self/mountinfo", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                                           "36 22 0:45 / /mnt/dumps rw,relatime shared:2 - nfs4 server:/export rw,vers=4.2\n");
    core::HostPaths paths;
    paths.proc = scratch / "proc";
    core::CapturePlan plan;
    auto places = core::host_dump_places(plan, paths);
    CHECK(places.parents == std::vector<std::string> { "/var/crash" });

    auto nfs = core::parse_kdump_conf("nfs server:/export\npath /crash\n", "kdump.conf");
    REQUIRE(nfs.ok());
    plan.config = nfs.value();
    places = core::host_dump_places(plan, paths);
    CHECK(places.parents == std::vector<std::string> { "/mnt/dumps/crash" });

    auto other = core::parse_kdump_conf("nfs elsewhere:/export\n", "kdump.conf");
    plan.config = other.value();
    places = core::host_dump_places(plan, paths);
    CHECK(places.parents.empty());
    REQUIRE(places.notes.size() == 1);
    CHECK(contains(places.notes[0], "not mounted on this host"));

    plan.config = core::parse_kdump_conf("ssh root@backup\n", "kdump.conf").value();
    places = core::host_dump_places(plan, paths);
    CHECK(places.parents.empty());
    CHECK(contains(places.notes.at(0), "ssh target root@backup"));
}
