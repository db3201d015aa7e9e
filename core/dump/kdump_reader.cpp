// SPDX-License-Identifier: GPL-2.0-or-later
// Reads a kdump-compressed file. Both bitmaps are held in memory (1/32768
// of the dumped memory each, at 4 KiB pages) with a rank index beside them,
// so a pfn's descriptor is found in O(1); descriptors and page data are
// pread on demand, which keeps read() safe from several threads.
#include "core/dump/kdump_format.h"

#include "core/base/strings.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>

namespace core {

namespace {

namespace layout = kdump_layout;

// A rank entry counts the bitmap 2 bits below each multiple of this.
constexpr uint64_t pfns_per_rank_entry = 4096;
constexpr uint64_t max_note_bytes = 64 << 20;
constexpr uint64_t max_vmcoreinfo_bytes = 16 << 20;

bool bit_is_set(std::vector<uint8_t> const& bitmap, uint64_t bit)
{
    return (bitmap[bit / 8] >> (bit % 8)) & 1;
}

// Set bits in [first_byte * 8, end_bit). Whole bytes are counted in 64-bit
// groups; popcount does not care about byte order, so memcpy is enough.
uint64_t count_bits(std::vector<uint8_t> const& bitmap, uint64_t first_byte, uint64_t end_bit)
{
    uint64_t count = 0;
    uint64_t byte = first_byte;
    uint64_t end_byte = end_bit / 8;
    for (; byte + 8 <= end_byte; byte += 8) {
        uint64_t word;
        std::memcpy(&word, bitmap.data() + byte, sizeof word);
        count += static_cast<uint64_t>(__builtin_popcountll(word));
    }
    for (; byte < end_byte; ++byte)
        count += static_cast<uint64_t>(__builtin_popcount(bitmap[byte]));
    if (end_bit % 8 != 0)
        count += static_cast<uint64_t>(__builtin_popcount(bitmap[end_byte] & ((1u << (end_bit % 8)) - 1)));
    return count;
}

Codec codec_from_flags(uint32_t flags)
{
    // The order crash tests them in, should a corrupt entry set several.
    if (flags & static_cast<uint32_t>(Codec::Zlib))
        return Codec::Zlib;
    if (flags & static_cast<uint32_t>(Codec::Lzo))
        return Codec::Lzo;
    if (flags & static_cast<uint32_t>(Codec::Snappy))
        return Codec::Snappy;
    if (flags & static_cast<uint32_t>(Codec::Zstd))
        return Codec::Zstd;
    return Codec::None;
}

} // namespace

struct KdumpFile::State {
    std::string path;
    UniqueFd fd;
    uint64_t file_size { 0 };
    uint64_t allocated_bytes { 0 }; // st_blocks * 512: what a sparse file really holds
    KdumpHeaderInfo info;
    uint32_t header_version { 0 };
    uint32_t status { 0 };
    uint64_t block_size { 0 };
    uint64_t pfn_limit { 0 };
    uint64_t bitmap_offset { 0 };
    uint64_t bitmap_half_bytes { 0 };
    std::vector<uint8_t> present_bitmap;  // bitmap 1
    std::vector<uint8_t> dumpable_bitmap; // bitmap 2
    std::vector<uint64_t> rank_index;     // bitmap 2 bits below entry * pfns_per_rank_entry
    uint64_t desc_table_offset { 0 };
    uint64_t desc_count { 0 };
    bool desc_table_truncated { false };
    std::string vmcoreinfo;
    bool has_vmcoreinfo { false };

    Result<void> parse_header(std::span<uint8_t const> head);
    Result<void> parse_sub_header();
    Result<void> load_bitmaps();
    Result<void> read_page(uint64_t pfn, std::span<uint8_t> page, std::vector<uint8_t>& compressed) const;
};

Result<void> KdumpFile::State::parse_header(std::span<uint8_t const> head)
{
    std::string_view signature(reinterpret_cast<char const*>(head.data()), std::min(head.size(), layout::signature.size()));
    if (signature == "DISKDUMP")
        return Error::unsupported("this is an old DISKDUMP file, not a kdump-compressed one; it is not supported");
    if (signature != layout::signature)
        return Error::invalid("not a kdump-compressed file (no \"KDUMP   \" signature)");

    // The header is in the dumped machine's byte order. The version is a
    // small number, so only one order reads it as 1..6.
    ByteReader little(head, Endian::Little, "kdump header");
    ByteReader big(head, Endian::Big, "kdump header");
    uint32_t version_little = TRY(little.u32(layout::version_at));
    uint32_t version_big = TRY(big.u32(layout::version_at));
    bool is_little = version_little >= 1 && version_little <= static_cast<uint32_t>(layout::header_version);
    bool is_big = version_big >= 1 && version_big <= static_cast<uint32_t>(layout::header_version);
    if (!is_little && !is_big)
        return Error::unsupported(cat("kdump header version ", static_cast<int32_t>(version_little), " is not supported (1 to 6 are)"));
    ByteReader const& header = is_little ? little : big;
    info.endian = header.endian();
    header_version = is_little ? version_little : version_big;

    ByteCursor fields(header, layout::status_at);
    status = fields.u32();
    block_size = fields.u32();
    uint64_t sub_header_blocks = fields.u32();
    uint64_t bitmap_blocks = fields.u32();
    pfn_limit = fields.u32(); // max_mapnr; version 6 has the 64-bit value
    TRY(fields.status());
    if (!layout::is_valid_block_size(block_size)) {
        if (layout::is_valid_block_size(TRY(header.u32(layout::i386_block_size_at))))
            return Error::unsupported("this dump has the 32-bit (i386/ARM) header layout, which is not supported");
        return Error::invalid(cat("kdump header: block size ", block_size, " is not a power of two between 4 KiB and 256 KiB"));
    }
    info.page_size = block_size;
    for (size_t index = 0; index < info.utsname.size(); ++index)
        info.utsname[index] = std::string(TRY(header.c_string(layout::utsname_at + index * layout::utsname_field_bytes, layout::utsname_field_bytes)));
    info.crash_time_seconds = static_cast<int64_t>(TRY(header.u64(layout::timestamp_seconds_at)));
    info.cpu_count = static_cast<int32_t>(TRY(header.u32(layout::cpu_count_at)));
    info.codec = codec_from_flags(status);

    if (sub_header_blocks == 0 || sub_header_blocks > INT32_MAX)
        return Error::invalid(cat("kdump header: a sub-header of ", static_cast<int32_t>(sub_header_blocks), " blocks is invalid"));
    if (bitmap_blocks == 0 || bitmap_blocks % 2 != 0)
        return Error::invalid(cat("kdump header: ", bitmap_blocks, " bitmap blocks do not make two equal bitmaps"));
    // At most 2^31 blocks of at most 2^18 bytes each: these cannot overflow.
    bitmap_offset = (1 + sub_header_blocks) * block_size;
    bitmap_half_bytes = bitmap_blocks / 2 * block_size;
    if (!extent_within(bitmap_offset, 2 * bitmap_half_bytes, file_size))
        return Error::invalid(cat("kdump header: the bitmaps (", 2 * bitmap_half_bytes, " bytes at ", hex(bitmap_offset), ") run past the end of the file (", file_size, " bytes); it is truncated"));
    desc_table_offset = bitmap_offset + 2 * bitmap_half_bytes;
    return {};
}

Result<void> KdumpFile::State::parse_sub_header()
{
    std::vector<uint8_t> bytes(layout::sub_header_bytes);
    TRY(pread_exact(fd.get(), bytes, block_size, "kdump sub-header"));
    ByteReader sub(bytes, info.endian, "kdump sub-header");
    info.phys_base = TRY(sub.u64(layout::phys_base_at));
    info.dump_level = static_cast<int32_t>(TRY(sub.u32(layout::dump_level_at)));
    if (header_version >= 2 && TRY(sub.u32(layout::split_at)) != 0)
        return Error::unsupported("this file is one part of a split dump (makedumpfile --split); join the parts with makedumpfile --reassemble first");
    if (header_version >= 6)
        pfn_limit = TRY(sub.u64(layout::max_mapnr_64_at));
    if (pfn_limit > bitmap_half_bytes * 8)
        return Error::invalid(cat("kdump header: pfn limit ", hex(pfn_limit), " does not fit in bitmaps of ", bitmap_half_bytes, " bytes each"));

    uint64_t note_offset = 0;
    if (header_version >= 4) {
        note_offset = TRY(sub.u64(layout::note_offset_at));
        uint64_t note_size = TRY(sub.u64(layout::note_size_at));
        if (note_offset != 0 && note_size != 0) {
            if (note_size > max_note_bytes)
                return Error::invalid(cat("kdump sub-header: ", note_size, " bytes of notes is implausibly large"));
            if (!extent_within(note_offset, note_size, file_size))
                return Error::invalid(cat("kdump sub-header: the notes (", note_size, " bytes at ", hex(note_offset), ") run past the end of the file"));
            info.note_bytes.resize(note_size);
            TRY(pread_exact(fd.get(), info.note_bytes, note_offset, "kdump notes"));
        }
    }
    if (header_version >= 3) {
        uint64_t vmcoreinfo_offset = TRY(sub.u64(layout::vmcoreinfo_offset_at));
        uint64_t vmcoreinfo_size = TRY(sub.u64(layout::vmcoreinfo_size_at));
        if (vmcoreinfo_offset != 0 && vmcoreinfo_size != 0) {
            if (vmcoreinfo_size > max_vmcoreinfo_bytes)
                return Error::invalid(cat("kdump sub-header: ", vmcoreinfo_size, " bytes of VMCOREINFO is implausibly large"));
            if (!extent_within(vmcoreinfo_offset, vmcoreinfo_size, file_size))
                return Error::invalid(cat("kdump sub-header: VMCOREINFO (", vmcoreinfo_size, " bytes at ", hex(vmcoreinfo_offset), ") runs past the end of the file"));
            vmcoreinfo.resize(vmcoreinfo_size);
            TRY(pread_exact(fd.get(), { reinterpret_cast<uint8_t*>(vmcoreinfo.data()), vmcoreinfo.size() }, vmcoreinfo_offset, "VMCOREINFO"));
            // The note descriptor may be NUL-padded.
            vmcoreinfo.resize(std::min(vmcoreinfo.size(), vmcoreinfo.find('\0')));
            has_vmcoreinfo = true;
            // makedumpfile points it into the note copy; say where.
            if (vmcoreinfo_offset >= note_offset && extent_within(vmcoreinfo_offset - note_offset, vmcoreinfo_size, info.note_bytes.size())) {
                info.vmcoreinfo_offset_in_notes = vmcoreinfo_offset - note_offset;
                info.vmcoreinfo_size = vmcoreinfo_size;
            }
        }
    }
    return {};
}

Result<void> KdumpFile::State::load_bitmaps()
{
    uint64_t used_bytes = (pfn_limit + 7) / 8;
    // Both bitmaps are held in memory: their size comes from the header, and
    // a sparse file can claim terabytes it does not hold. Up to
    // max_unbacked_bitmap_bytes always loads (512 Mi pfns, 2 TiB of 4 KiB
    // pages); beyond that the file must really hold the bytes.
    constexpr uint64_t max_unbacked_bitmap_bytes = 64ull << 20;
    if (2 * used_bytes > std::max(max_unbacked_bitmap_bytes, allocated_bytes))
        return Error::invalid(cat("kdump header: pfn limit ", hex(pfn_limit), " needs ", 2 * used_bytes, " bytes of bitmaps, but the file holds only ", allocated_bytes,
            " bytes on disk (a sparse or corrupt file); refusing to load bitmaps larger than the file"));
    present_bitmap.resize(used_bytes);
    dumpable_bitmap.resize(used_bytes);
    TRY(pread_exact(fd.get(), present_bitmap, bitmap_offset, "kdump bitmap 1"));
    TRY(pread_exact(fd.get(), dumpable_bitmap, bitmap_offset + bitmap_half_bytes, "kdump bitmap 2"));
    // Bits past the pfn limit mean nothing; clear them so counts agree.
    if (pfn_limit % 8 != 0) {
        uint8_t mask = static_cast<uint8_t>((1u << (pfn_limit % 8)) - 1);
        present_bitmap.back() &= mask;
        dumpable_bitmap.back() &= mask;
    }

    uint64_t entries = pfn_limit / pfns_per_rank_entry + 1;
    rank_index.resize(entries);
    uint64_t below = 0;
    for (uint64_t entry = 0; entry < entries; ++entry) {
        rank_index[entry] = below;
        uint64_t first_pfn = entry * pfns_per_rank_entry;
        uint64_t end_pfn = std::min(pfn_limit, first_pfn + pfns_per_rank_entry);
        if (first_pfn < end_pfn)
            below += count_bits(dumpable_bitmap, first_pfn / 8, end_pfn);
    }
    desc_count = below;

    // A dump cut short may end inside its descriptor table; the missing
    // descriptors read as lost pages.
    uint64_t desc_table_bytes = desc_count * layout::page_desc_bytes;
    desc_table_truncated = !extent_within(desc_table_offset, desc_table_bytes, file_size);
    return {};
}

Result<void> KdumpFile::State::read_page(uint64_t pfn, std::span<uint8_t> page, std::vector<uint8_t>& compressed) const
{
    if (pfn >= pfn_limit)
        return Error::with_code(ENOENT, cat("pfn ", hex(pfn), " is beyond the dump's pfn limit ", hex(pfn_limit)));
    if (!bit_is_set(dumpable_bitmap, pfn)) {
        if (bit_is_set(present_bitmap, pfn))
            return Error::with_code(ENOENT, cat("pfn ", hex(pfn), " was excluded from the dump (filtered out)"));
        return Error::with_code(ENOENT, cat("pfn ", hex(pfn), " is not in the dumped machine's memory map"));
    }
    uint64_t entry = pfn / pfns_per_rank_entry;
    uint64_t desc_index = rank_index[entry] + count_bits(dumpable_bitmap, entry * pfns_per_rank_entry / 8, pfn);
    uint64_t desc_offset = desc_table_offset + desc_index * layout::page_desc_bytes;
    if (!extent_within(desc_offset, layout::page_desc_bytes, file_size))
        return Error::with_code(ENODATA, cat("pfn ", hex(pfn), " was lost: the dump file ends before its descriptor (the dump is incomplete)"));

    uint8_t desc_bytes[layout::page_desc_bytes];
    TRY(pread_exact(fd.get(), desc_bytes, desc_offset, "kdump page descriptor"));
    ByteReader desc(desc_bytes, info.endian, "kdump page descriptor");
    uint64_t data_offset = TRY(desc.u64(layout::desc_offset_at));
    uint64_t data_size = TRY(desc.u32(layout::desc_size_at));
    uint32_t flags = TRY(desc.u32(layout::desc_flags_at));
    if (data_offset == 0)
        return Error::with_code(ENODATA, cat("pfn ", hex(pfn), " was lost: its descriptor was never written (the dump is incomplete)"));
    if (data_size == 0 || data_size > block_size)
        return Error::invalid(cat("pfn ", hex(pfn), ": descriptor at ", hex(desc_offset), " gives a page size of ", data_size, " bytes (the block size is ", block_size, "); the dump is corrupt"));
    if (!extent_within(data_offset, data_size, file_size))
        return Error::invalid(cat("pfn ", hex(pfn), ": page data (", data_size, " bytes at ", hex(data_offset), ") runs past the end of the file; it is truncated"));
    Codec codec = codec_from_flags(flags);
    if (codec == Codec::None) {
        if (data_size != block_size)
            return Error::invalid(cat("pfn ", hex(pfn), ": raw page is ", data_size, " bytes, not ", block_size, "; the dump is corrupt"));
        return pread_exact(fd.get(), page, data_offset, "kdump page data");
    }
    compressed.resize(data_size);
    TRY(pread_exact(fd.get(), compressed, data_offset, "kdump page data"));
    return decompress_page(codec, compressed, page).context(cat("pfn ", hex(pfn)));
}

KdumpFile::~KdumpFile() = default;

Result<std::unique_ptr<KdumpFile>> KdumpFile::open(std::string const& path)
{
    auto state = std::make_unique<State>();
    state->path = path;
    state->fd = TRY(open_file(path, O_RDONLY));
    struct stat file_status;
    if (::fstat(state->fd.get(), &file_status) != 0)
        return Error::from_errno(cat("stat ", path));
    state->file_size = static_cast<uint64_t>(file_status.st_size);
    state->allocated_bytes = static_cast<uint64_t>(file_status.st_blocks) * 512;

    std::vector<uint8_t> head(layout::header_bytes);
    size_t got = TRY(pread_full(state->fd.get(), head, 0, path));
    // A short file fails the signature check or a bounds check in there.
    TRY(state->parse_header(std::span<uint8_t const>(head).first(got)).context(path));
    TRY(state->parse_sub_header().context(path));
    TRY(state->load_bitmaps().context(path));

    std::unique_ptr<KdumpFile> file(new KdumpFile());
    file->m_state = std::move(state);
    return file;
}

Result<void> KdumpFile::read(uint64_t paddr, std::span<uint8_t> out) const
{
    State const& state = *m_state;
    uint64_t page_bytes = state.block_size;
    if (!checked_add(paddr, out.size()))
        return Error::invalid(cat(state.path, ": read of ", out.size(), " bytes at physical address ", hex(paddr), " wraps around"));
    std::vector<uint8_t> compressed;
    std::vector<uint8_t> partial_page;
    uint64_t done = 0;
    while (done < out.size()) {
        uint64_t address = paddr + done;
        uint64_t in_page = address % page_bytes;
        uint64_t length = std::min<uint64_t>(page_bytes - in_page, out.size() - done);
        uint64_t pfn = address / page_bytes;
        auto context = [&] { return cat(state.path, ": physical address ", hex(address)); };
        if (length == page_bytes) {
            TRY(state.read_page(pfn, out.subspan(done, length), compressed).context(context()));
        } else {
            partial_page.resize(page_bytes);
            TRY(state.read_page(pfn, partial_page, compressed).context(context()));
            std::memcpy(out.data() + done, partial_page.data() + in_page, length);
        }
        done += length;
    }
    return {};
}

uint64_t KdumpFile::next_present_pfn(uint64_t pfn) const
{
    // Whole zero bytes of both bitmaps at a time: holes cost 1/8 of a step
    // per pfn, and the bitmaps are as big as the file holds (load_bitmaps).
    auto const& state = *m_state;
    while (pfn < state.pfn_limit) {
        uint64_t byte = pfn / 8;
        if ((pfn & 7) == 0 && (state.present_bitmap[byte] | state.dumpable_bitmap[byte]) == 0) {
            pfn += 8;
            continue;
        }
        if (bit_is_set(state.present_bitmap, pfn) || bit_is_set(state.dumpable_bitmap, pfn))
            return pfn;
        ++pfn;
    }
    return std::max(pfn, state.pfn_limit);
}

bool KdumpFile::has_page(uint64_t pfn) const { return pfn < m_state->pfn_limit && bit_is_set(m_state->dumpable_bitmap, pfn); }
bool KdumpFile::in_memory_map(uint64_t pfn) const { return pfn < m_state->pfn_limit && bit_is_set(m_state->present_bitmap, pfn); }
uint64_t KdumpFile::page_size() const { return m_state->block_size; }
uint64_t KdumpFile::pfn_limit() const { return m_state->pfn_limit; }
Endian KdumpFile::endian() const { return m_state->info.endian; }
KdumpHeaderInfo const& KdumpFile::info() const { return m_state->info; }
bool KdumpFile::incomplete() const { return (m_state->status & layout::status_incomplete) != 0 || m_state->desc_table_truncated; }

std::optional<std::string_view> KdumpFile::vmcoreinfo_text() const
{
    if (!m_state->has_vmcoreinfo)
        return std::nullopt;
    return std::string_view(m_state->vmcoreinfo);
}

bool is_kdump_header(std::span<uint8_t const> head)
{
    if (head.size() < layout::signature.size())
        return false;
    return std::string_view(reinterpret_cast<char const*>(head.data()), layout::signature.size()) == layout::signature;
}

} // namespace core
