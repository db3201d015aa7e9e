// SPDX-License-Identifier: GPL-2.0-or-later
// The kdump-compressed ("diskdump", makedumpfile) format, version 6:
// writing it (KdumpWriter) and reading it back as PhysicalMemory
// (KdumpFile, for re-filtering and --dump-dmesg on a saved dump).
// Layout and field offsets: shared reference dump-format.md §1.
#pragma once

#include "core/base/bytes.h"
#include "core/compress/compress.h"
#include "core/dump/dump_output.h"
#include "core/vmcore/physical_memory.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// Field offsets of the 64-bit layout, shared by the writer and the reader
// (dump-format.md §1.1, §1.2, §1.4). 32-bit layouts are not supported.
namespace kdump_layout {
constexpr std::string_view signature = "KDUMP   ";
constexpr int32_t header_version = 6;
constexpr uint64_t min_block_size = 4096;
constexpr uint64_t max_block_size = 262144;
constexpr uint32_t status_incomplete = 0x8;
// The block size is the page size: a power of two, 4 KiB to 256 KiB.
constexpr bool is_valid_block_size(uint64_t size)
{
    return size >= min_block_size && size <= max_block_size && (size & (size - 1)) == 0;
}

// disk_dump_header, at offset 0.
constexpr uint64_t header_bytes = 464;
constexpr uint64_t version_at = 8;
constexpr uint64_t utsname_at = 12;
constexpr uint64_t utsname_field_bytes = 65;
constexpr uint64_t timestamp_seconds_at = 408;
constexpr uint64_t timestamp_microseconds_at = 416;
constexpr uint64_t status_at = 424;
constexpr uint64_t block_size_at = 428;
constexpr uint64_t sub_header_blocks_at = 432;
constexpr uint64_t bitmap_blocks_at = 436;
constexpr uint64_t max_mapnr_32_at = 440;
constexpr uint64_t cpu_count_at = 460;
// Where i386 keeps block_size: only to recognise a 32-bit dump in errors.
constexpr uint64_t i386_block_size_at = 416;

// kdump_sub_header, at offset block_size.
constexpr uint64_t sub_header_bytes = 104;
constexpr uint64_t phys_base_at = 0;
constexpr uint64_t dump_level_at = 8;
constexpr uint64_t split_at = 12;
constexpr uint64_t start_pfn_32_at = 16;
constexpr uint64_t end_pfn_32_at = 24;
constexpr uint64_t vmcoreinfo_offset_at = 32;
constexpr uint64_t vmcoreinfo_size_at = 40;
constexpr uint64_t note_offset_at = 48;
constexpr uint64_t note_size_at = 56;
constexpr uint64_t start_pfn_64_at = 80;
constexpr uint64_t end_pfn_64_at = 88;
constexpr uint64_t max_mapnr_64_at = 96;

// page_desc: {i64 offset, u32 size, u32 flags, u64 page_flags}.
constexpr uint64_t page_desc_bytes = 24;
constexpr uint64_t desc_offset_at = 0;
constexpr uint64_t desc_size_at = 8;
constexpr uint64_t desc_flags_at = 12;
constexpr uint64_t desc_page_flags_at = 16;
} // namespace kdump_layout

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

// Where a page's bytes went in the file, so that a later identical page
// can share them (readers follow each descriptor's offset; zero pages have
// always been shared this way).
struct StoredPage {
    uint64_t data_offset { 0 };
    uint32_t size { 0 };
    Codec codec { Codec::None };
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
    virtual Result<StoredPage> add_page(uint64_t pfn, std::span<uint8_t const> data, Codec codec) = 0;
    // A page identical to one added before: its descriptor points at that
    // page's bytes, and nothing new is stored.
    virtual Result<void> add_shared_page(uint64_t pfn, StoredPage const& stored) = 0;
    // A page that is all zeros: shares one stored zero page.
    virtual Result<void> add_zero_page(uint64_t pfn) = 0;

    // Flushes descriptors and data, checks that every dumpable page came,
    // and finishes the sink.
    virtual Result<void> finish() = 0;
    // After a write error (ENOSPC): flush what can be, then set the header's
    // incomplete flag (0x8); on a stream as a later record, which -R applies.
    // Also the end of a dump whose every page came but some were lost (read
    // as zeros). Best effort. Descriptors
    // whose data did not reach the sink are left zero ("lost"). Finishes the
    // sink (a flattened stream gets its end record); no calls after it.
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
    uint64_t next_present_pfn(uint64_t pfn) const override;
    Endian endian() const override;

    KdumpHeaderInfo const& info() const;
    // status & 0x8, or the file ends inside the descriptor table (a dump
    // cut short where the flag could not be set). Lost pages fail to read.
    bool incomplete() const;
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
