// SPDX-License-Identifier: GPL-2.0-or-later
// The collector: vmcore in, filtered dump out. The makedumpfile applet, the
// dumper (PID 1) and the benchmarks all call this; the applet only turns
// options into CollectorOptions.
#pragma once

#include "core/compress/compress.h"
#include "core/base/error.h"
#include "core/base/safe_file.h"
#include "core/vmcore/page_filter.h"

#include <cstdint>
#include <string>

namespace core {

enum class DumpFormat {
    Kdump,          // kdump-compressed, random-access file
    KdumpFlattened, // -F: the same as a flattened stream on stdout
    Elf,            // -E
    ElfFlattened,   // -E -F
};

// makedumpfile's --message-level bits.
namespace message_level {
constexpr int progress = 1;
constexpr int common = 2;
constexpr int error = 4;
constexpr int debug = 8;
constexpr int report = 16;
constexpr int standard = 7;
} // namespace message_level

struct CollectorOptions {
    std::string input_path;
    // For flattened formats "-" (stdout) is the usual output.
    std::string output_path;
    // Flattened formats only: write the stream to this fd (a raw target
    // partition) instead; output_path then only names it in messages.
    int output_fd { -1 };
    // When set (the dumper), output_path's last component is made in this
    // directory, which the caller holds open; the rest only names it.
    DirectoryFd const* output_directory { nullptr };
    DumpFormat format { DumpFormat::Kdump };
    Codec codec { Codec::Zstd };
    int dump_level { 0 };
    unsigned thread_count { 1 };
    bool overwrite { false };   // -f
    bool dry_run { false };     // compute everything, write nothing
    bool pread_only { false };  // --non-mmap
    // --no-page-sharing: every kept page gets its own bytes, as in
    // makedumpfile (which shares zero pages only).
    bool no_page_sharing { false };
    // --adaptive-level (zstd): the level follows the bottleneck, one step
    // at a time along adaptive_zstd_levels, from level 1: faster while the
    // writer waits for compressed pages (the CPUs are the limit, as on a
    // fast disk), smaller while it is busy writing them (the target is, as
    // on a network). The dump's size then depends on timing.
    bool adaptive_level { false };
    // --cyclic-buffer: up to this many bytes per bitmap, the first pass
    // keeps the whole dump's bitmaps and the second writes from them; a
    // bigger dump is filtered twice, one 1 GiB window at a time.
    uint64_t bitmap_memory_bytes { 2 << 20 };
    int message_level { message_level::standard };
    // When dump_level cannot be applied (no VMCOREINFO, no translator for
    // the dump's CPU, a page filter that cannot start), save something
    // anyway: -d 31, then -d 1 (needs no VMCOREINFO), then an unfiltered
    // copy, each said on stderr and in CollectorReport. On by default, for
    // the dumper and the makedumpfile applet alike: a dump at another level
    // beats none (makedumpfile itself fails instead).
    bool allow_fallback { true };
};

// The levels --adaptive-level moves along, fastest first.
inline constexpr int adaptive_zstd_levels[] = { -7, -5, -3, -1, 1, 2, 3 };
inline constexpr int adaptive_start_level = 1;
// The next level after a stretch of pages in which the writer spent
// waiting_seconds waiting for the compressors and writing_seconds handing
// pages to the target: one step faster when waiting is over twice
// writing, one step smaller when writing is over twice waiting, else the
// same. A level not in the list starts again from adaptive_start_level.
int next_adaptive_level(int level, double waiting_seconds, double writing_seconds);

struct CollectorReport {
    uint64_t pfn_limit { 0 };        // max_mapnr
    uint64_t page_size_bytes { 0 };  // the dumped kernel's
    uint64_t present_pages { 0 };    // pfns in the input (not holes)
    uint64_t hole_pages { 0 };
    ExclusionCounts excluded;        // by class, zero pages included
    uint64_t written_pages { 0 };    // pages with their own data in the output
    uint64_t shared_pages { 0 };     // pages whose descriptor points at an identical written page
    uint64_t output_bytes { 0 };
    std::string output_path;         // where the dump ended up
    int requested_dump_level { 0 };
    int applied_dump_level { 0 };    // differs after a fallback
    std::string fallback_reason;     // why, when it differs
    // Pages the input could not give (EIO, SIGBUS): written as zero pages,
    // and the dump is marked incomplete.
    uint64_t lost_pages { 0 };
    // The pfn limit was capped (a sparse or corrupt memory map); memory
    // above pfn_limit is not in the dump, which is marked incomplete.
    bool memory_left_out { false };
};

// For the dump's status: "" when the requested level was applied and no
// page was lost, else "; dump level 1 applied instead of 31 (REASON); 3
// pages unreadable, saved as zeros (dump marked incomplete)".
std::string collector_report_note(CollectorReport const& report);

// Writes OUTPUT-incomplete, then renames it to OUTPUT once complete and
// synced. On a write error (ENOSPC) the -incomplete file keeps what was
// written with the incomplete flag set, and the error says where it is.
Result<CollectorReport> collect(CollectorOptions const& options);

// DUMPFILE as makedumpfile writes it, in its directory (`directory`, or
// the one output_path names, whose own links are the user's to follow):
// refused (EEXIST) if DUMPFILE or DUMPFILE-incomplete exists and overwrite
// (-f) is not set, else a SafeFile that replaces them. A symbolic link at
// either name is refused even with -f (ELOOP): -f replaces a file, and a
// dump written through a link could land anywhere; the user removes the
// link or names the file it points to.
Result<SafeFile> create_dump_file(std::string const& output_path, bool overwrite, DirectoryFd const* directory = nullptr);

// makedumpfile -R: the flattened stream on input_fd rebuilt into
// output_path through create_dump_file, so a stream that stops early
// leaves only OUTPUT-incomplete, never a truncated OUTPUT.
Result<void> rebuild_flattened_file(int input_fd, std::string const& input_name, std::string const& output_path, bool overwrite);

// makedumpfile --dump-dmesg: the crashed kernel's log (read_dmesg) saved
// into output_path the same way.
Result<void> save_dmesg_file(std::string const& input_path, std::string const& output_path, bool overwrite);

// makedumpfile's end report (--show-stats, message level 16).
std::string format_report(CollectorReport const& report);

// The crashed kernel's log from an ELF vmcore or a kdump-compressed file.
Result<std::string> read_dmesg(std::string const& input_path);

} // namespace core
