// SPDX-License-Identifier: GPL-2.0-or-later
// After the reboot, the admin knows: `kdump start` finds the dumps written
// since the last one it reported (their status files, core/system/
// dump_status.h), says how each went in the journal, runs the admin's
// notification command, and records the last one for `kdump status`. Also
// the dump's expected size (`kdump estimate`) and the target's free space
// against it, and KDUMP_NUM_DUMPS carried into the capture initramfs.
#pragma once

#include "core/base/error.h"
#include "core/config/capture_image_file.h"
#include "core/control/kdump_control.h"
#include "core/system/dump_status.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// --- Finding and reporting dumps ------------------------------------------------

// A dump directory as the host finds it.
struct FoundDump {
    std::string path;   // on the host
    DumpStatus status;  // from its status file, or what its files say
    bool has_status_file { false };
};

// What a dump directory says of itself: its status file (parse_dump_status),
// else what its files say (a dump by an older kdumpbox or by kdump-utils):
// vmcore complete, vmcore-incomplete incomplete, neither failed.
FoundDump read_found_dump(std::string const& path);

// /var/lib/kdumpbox/reported: the last dump `kdump start` reported.
struct ReportRecord {
    std::string directory; // on the host
    std::string summary;   // DumpStatus::summary()
};
std::string format_report_record(ReportRecord const& record);
// Strict: "directory=" and "summary=" lines, once each, at most 4 KiB.
Result<ReportRecord> parse_report_record(std::string_view text, std::string_view name);

// The dumps in `parents` newer (by the date in their names) than the
// record's; with no record, only the newest, so that a first start does
// not report every old dump. Oldest first.
Result<std::vector<FoundDump>> find_unreported_dumps(std::vector<std::string> const& parents, std::optional<ReportRecord> const& record);

struct ReportInputs {
    std::vector<std::string> dump_parents; // host directories holding dump directories
    std::string record_path;
    // KDUMPBOX_NOTIFY, as written (split without a shell); empty: none.
    std::string notify_command;
    unsigned notify_timeout_ms { 60000 };
};
// Each unreported dump logged ("crash dump: complete, DATE, DIRECTORY, ..."), at
// priority err when it is incomplete or failed and notice when complete;
// the notify command run for each with the dump directory as its last
// argument and KDUMPBOX_DUMP_* in its environment (a failure, or running
// past the time limit, is a warning); then the record updated. Returns the
// dumps reported.
std::vector<FoundDump> report_new_dumps(ReportInputs const& inputs);

// `kdump status`'s line about the last dump: "last dump: SUMMARY", or that
// none was reported yet.
std::string last_dump_line(std::string const& record_path);

// Where this host sees the plan's dumps: `path` for a default or raw
// target (and dump_to_rootfs); an explicit file system target where it is
// mounted; an nfs export where the host mounts it. Notes say which targets
// it cannot look into (ssh, a device not mounted here).
struct HostDumpPlaces {
    std::vector<std::string> parents;
    std::vector<std::string> notes;
};
HostDumpPlaces host_dump_places(CapturePlan const& plan, HostPaths const& paths);

// --- Size and free space ---------------------------------------------------------

// How big the next dump may be: the memory the dump level keeps, from
// /proc/meminfo now (MemTotal minus MemFree with bit 16, AnonPages with
// bit 8, Cached and Buffers with bit 2 or 4), before compression.
// kdumpctl's check_size compares with MemTotal itself; that figure is
// memory_bytes.
struct DumpSizeEstimate {
    uint64_t bytes { 0 };
    uint64_t memory_bytes { 0 }; // MemTotal
    int dump_level { 31 };
    std::string basis; // how bytes was worked out, for messages
};
// The dump level of the built-in collector (31), or of a core_collector
// that names one with -d; an external collector without -d keeps all.
int effective_dump_level(KdumpConfig const& config);
Result<DumpSizeEstimate> estimate_dump_size(KdumpConfig const& config, std::string const& meminfo_path);

using FreeBytesFunction = std::function<Result<uint64_t>(std::string const& path)>;
// A warning when `directory`'s file system has less free space than the
// estimate (statvfs through free_space; the real one is free_bytes).
std::optional<std::string> free_space_warning(std::string const& directory, DumpSizeEstimate const& estimate, FreeBytesFunction const& free_space);

// --- kdump start -----------------------------------------------------------------

// KDUMP_NUM_DUMPS for the capture initramfs (capture_keep_dumps_path);
// nullopt when it is 0 (keep all).
std::optional<CaptureImageFile> keep_dumps_image_file(KdumpSettings const& settings);
// The time budgets for the capture initramfs (capture_time_budgets_path),
// always written: the dumper's defaults then follow the host's settings.
CaptureImageFile time_budgets_image_file(KdumpSettings const& settings);

// What `kdump start` does after the crash: report the new dumps
// (report_new_dumps over host_dump_places), then warn when a target's free
// space is below the dump's estimate. Everything goes to the log; nothing
// here stops the start.
void report_dumps_and_space(CapturePlan const& plan, HostPaths const& paths, FreeBytesFunction const& free_space);

// For collect_raw_dump: the status file of a dump rebuilt from a raw
// device, its outcome from the rebuild (an error leaves vmcore-incomplete:
// the stream stopped early, or the disk filled).
void write_rebuilt_raw_status(DirectoryFd const& dump_directory, std::string const& device, time_t when, Result<void> const& rebuilt, uint64_t rebuild_ms);

} // namespace core
