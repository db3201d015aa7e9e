// SPDX-License-Identifier: GPL-2.0-or-later
// What one dump's save came to, as a small key=value file beside the dump
// (DIR/kdumpbox-status): the dumper writes it last, `kdump start` reads it
// at the next boot to tell the admin. Also the dump directories themselves
// as both sides see them: which directories are kdumpbox's (HOST-DATE with
// a dump inside), in which order they were made, and keeping the newest N
// (KDUMP_NUM_DUMPS). Pure text in, text out, except the directory walks.
#pragma once

#include "core/base/directory_fd.h"
#include "core/base/error.h"

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// The status file's name in the dump directory.
inline constexpr std::string_view dump_status_file_name = "kdumpbox-status";
// In the capture initramfs: KDUMP_NUM_DUMPS, when it is not 0 (keep all).
inline constexpr std::string_view capture_keep_dumps_path = "/etc/kdumpbox/keep-dumps";

enum class DumpOutcome {
    Complete,   // vmcore saved and renamed
    Incomplete, // vmcore-incomplete holds part of the dump
    Failed,     // no dump data at all
};
std::string_view dump_outcome_name(DumpOutcome outcome); // "complete"
std::optional<DumpOutcome> parse_dump_outcome(std::string_view name);

struct DumpStatus {
    DumpOutcome outcome { DumpOutcome::Failed };
    std::string reason;         // one line; empty when complete
    int64_t time_seconds { 0 }; // when the capture began (UTC epoch seconds)
    std::string target;         // "ext4 UUID=...", "nfs host:/export", "ssh root@host", "raw /dev/sdb1"
    std::string directory;      // the dump directory as the target names it
    std::string kernel_release; // the crashed kernel's (VMCOREINFO OSRELEASE)
    std::string panic;          // the panic line of its log, if it was read
    std::string collector;      // "built-in, dump level 31" or the command
    std::optional<uint64_t> vmcore_bytes;  // vmcore, or what vmcore-incomplete got
    std::optional<uint64_t> dmesg_bytes;   // vmcore-dmesg.txt
    std::optional<uint64_t> memory_bytes;  // the crashed machine's memory the dump covers
    // Milliseconds per phase: the wait for the target (device or network),
    // its mount, the log, the collector, and the whole save.
    std::optional<uint64_t> wait_target_ms;
    std::optional<uint64_t> mount_ms;
    std::optional<uint64_t> dmesg_ms;
    std::optional<uint64_t> collector_ms;
    std::optional<uint64_t> total_ms;

    // "complete, 2026-12-03 13:39:00 UTC, /var/crash/127.0.0.1-..., vmcore
    // 123456789 bytes" (plus the reason when not complete): one line for
    // the journal and `kdump status`.
    std::string summary() const;
};

// The file's text: a comment line, then "format=1" and one key=value line
// per known field (absent numbers omitted). Values are one line each:
// control characters become spaces, and each value is cut to
// dump_status_value_limit bytes.
inline constexpr size_t dump_status_value_limit = 512;
std::string format_dump_status(DumpStatus const& status);
// The strict reader: at most 16 KiB and 64 lines; "format=1" and
// "outcome=" required; every key known and given once; numbers decimal.
// `# ` comments and blank lines are skipped. Errors say "NAME:LINE: ...".
Result<DumpStatus> parse_dump_status(std::string_view text, std::string_view name);

// The status file on a mounted target, in two steps, so that a vmcore that
// fills the disk still leaves the last word. reserve_status_file writes a
// placeholder before the dump's files (outcome incomplete, "the save did
// not finish"), padded to dump_status_reserved_bytes so that its blocks are
// allocated before the vmcore can take them; finish_status_file replaces it
// atomically or, when that fails (ENOSPC), rewrites the placeholder's bytes
// in place. Returns the file's path.
inline constexpr size_t dump_status_reserved_bytes = 4096;
Result<std::string> reserve_status_file(DirectoryFd const& directory, DumpStatus status);
Result<std::string> finish_status_file(DirectoryFd const& directory, DumpStatus const& status);

// The crash's line in a kernel log: the last "Kernel panic - not syncing",
// else the last "BUG:"/"Oops"/"sysrq: Trigger a crash" line; the
// "[ seconds]" stamp dropped; empty when none.
std::string panic_line(std::string_view dmesg);
// "6.1.0-18-amd64" from the log's "Linux version 6.1.0-18-amd64 (...)".
std::string kernel_release_from_dmesg(std::string_view dmesg);

// --- The dump directories -------------------------------------------------------

// Whether name is one make_dump_directory makes: HOST-YYYY-MM-DD-HH:MM:SS
// (or with '-' for ':'), optionally followed by -N.
bool is_dump_directory_name(std::string_view name);
// Orders names by their date (then their -N), oldest first, whatever HOST.
bool dump_directory_older(std::string_view left, std::string_view right);
// The UTC time in the name (0 when it is not a dump directory name).
time_t dump_directory_time(std::string_view name);

// The kdumpbox dump directories in parent, oldest first: named as above
// and holding a vmcore, vmcore-incomplete or kdumpbox-status.
Result<std::vector<std::string>> list_dump_directories(std::string const& parent);

// Removes the oldest dump directories in parent so that `keep` of them
// remain besides `current` (the one being written, never removed; its
// name alone). A directory holding anything but regular files is left
// alone with a warning. Returns the names removed.
Result<std::vector<std::string>> prune_dump_directories(std::string const& parent, unsigned keep, std::string_view current);

} // namespace core
