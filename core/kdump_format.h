// SPDX-License-Identifier: GPL-2.0-or-later
// The kdump-compressed ("diskdump", makedumpfile) format, version 6:
// writing it (KdumpWriter) and reading it back as PhysicalMemory
// (KdumpFile, for re-filtering and --dump-dmesg on a saved dump).
// Layout and field offsets: shared reference dump-format.md §1.
#pragma once

#include "core/bytes.h"
#include "core/compress.h"
#include "core/dump_output.h"
#include "core/physical_memory.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace core {

struct KdumpHeaderInfo {
    Endian endian { Endian::Little };
    uint64_t page_size { 4096 };
    // new_utsname of the crashed kernel: sysname, nodename, release,
    // version, machine, domainname (each at most 64 characters).
    std::array<std::string, 6> utsname;
    int64_t crash_time_seconds { 0 }; // timestamp.tv_sec; tv_usec is always 0
    int32_t cpu_count { 0 };          // NT_PRSTATUS notes
    uint64_t phys_base { 0 };
    int32_t dump_level { 0 };
    Codec codec { Codec::Zstd };      // status bit
    std::vector<uint8_t> note_bytes;  // verbatim PT_NOTE copy
    // Where VMCOREINFO's descriptor sits inside note_bytes (0/0: none).
    uint64_t vmcoreinfo_offset_in_notes { 0 };
    uint64_t vmcoreinfo_size { 0 };
};

class KdumpWriter {
public:
    // pfn_limit: max_mapnr. dumpable_pages: the number of bits that will be
    // set in bitmap 2 (it fixes where page data starts). Writes the header,
    // sub-header and notes at once.
    static Result<std::unique_ptr<KdumpWriter>> create(OutputSink& sink, KdumpHeaderInfo const& info, uint64_t pfn_limit, uint64_t dumpable_pages);
    virtual ~KdumpWriter() = default;

    // Bitmaps, window by window in ascending order; start_pfn must be a
    // multiple of 8. `present` is bitmap 1 (pfn in the input), `dumpable`
    // bitmap 2 (kept). pfn bit i of a window is bit (i & 7) of byte i >> 3.
    virtual Result<void> write_bitmaps(uint64_t start_pfn, uint64_t pfn_count, std::span<uint8_t const> present, std::span<uint8_t const> dumpable) = 0;

    // Pages, for every dumpable pfn in ascending order. `data` is the page
    // compressed with `codec`, or the raw page with Codec::None.
    virtual Result<void> add_page(uint64_t pfn, std::span<uint8_t const> data, Codec codec) = 0;
    // A page that is all zeros: shares one stored zero page.
    virtual Result<void> add_zero_page(uint64_t pfn) = 0;

    // Flushes descriptors and data, checks that every dumpable page came,
    // and finishes the sink.
    virtual Result<void> finish() = 0;
    // After a write error (ENOSPC): flush what can be, then set the header's
    // incomplete flag (0x8) if the sink can rewrite. Best effort.
    virtual Result<void> mark_incomplete() = 0;
};

// A kdump-compressed file opened for reading.
class KdumpFile final : public PhysicalMemory {
public:
    static Result<std::unique_ptr<KdumpFile>> open(std::string const& path);

    Result<void> read(uint64_t paddr, std::span<uint8_t> out) const override;
    bool has_page(uint64_t pfn) const override;
    uint64_t page_size() const override;
    uint64_t pfn_limit() const override;
    Endian endian() const override;

    KdumpHeaderInfo const& info() const;
    bool incomplete() const; // status & 0x8
    std::optional<std::string_view> vmcoreinfo_text() const;
    // Whether bitmap 1 has the pfn (not a hole), for re-filtering.
    bool in_memory_map(uint64_t pfn) const;

    struct State;
    ~KdumpFile() override;

private:
    KdumpFile() = default;
    std::unique_ptr<State> m_state;
};

bool is_kdump_header(std::span<uint8_t const> head);

} // namespace core
