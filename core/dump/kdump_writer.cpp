// SPDX-License-Identifier: GPL-2.0-or-later
// Writes the kdump-compressed format. Every region is written front to back
// through a buffer, so the sink sees few large writes (a flattened stream
// gets one record per flush, not one per page).
#include "core/dump/kdump_format.h"

#include "core/base/strings.h"

#include <algorithm>
#include <deque>

namespace core {

namespace {

namespace layout = kdump_layout;

constexpr size_t data_buffer_bytes = 1 << 20;
constexpr size_t desc_buffer_bytes = 256 << 10;
constexpr size_t bitmap_buffer_bytes = 256 << 10;

// Bytes bound for one contiguous region of the file: [file_offset, ...).
// Appends are buffered and written in one piece by flush().
class RegionBuffer {
public:
    RegionBuffer(Endian endian, uint64_t file_offset, size_t capacity)
        : m_bytes(endian)
        , m_file_offset(file_offset)
        , m_capacity(capacity)
    {
        m_bytes.buffer().reserve(capacity);
    }

    size_t buffered() const { return m_bytes.bytes().size(); }
    // The file offset the next appended byte lands at.
    uint64_t end_offset() const { return m_file_offset + buffered(); }
    // Everything before this offset has reached the sink.
    uint64_t flushed_offset() const { return m_file_offset; }
    bool has_room_for(size_t length) const { return buffered() + length <= m_capacity; }
    size_t capacity() const { return m_capacity; }
    ByteWriter& writer() { return m_bytes; }

    // On failure the bytes stay buffered: mark_incomplete() needs to know
    // what did not reach the sink.
    Result<void> flush(OutputSink& sink, std::string_view what)
    {
        if (buffered() == 0)
            return {};
        TRY(sink.write_at(m_file_offset, m_bytes.bytes()).context(what));
        m_file_offset += buffered();
        m_bytes.buffer().clear();
        return {};
    }

private:
    ByteWriter m_bytes;
    uint64_t m_file_offset;
    size_t m_capacity;
};

// A bitmap 2 window whose pages have not all been added yet: add_page
// checks each pfn against it, so a caller's off-by-one cannot silently
// shift every later descriptor.
struct PendingWindow {
    uint64_t start_pfn;
    uint64_t end_pfn;
    std::vector<uint8_t> dumpable;
};

class KdumpFileWriter final : public KdumpWriter {
public:
    KdumpFileWriter(OutputSink& sink, KdumpHeaderInfo const& info, uint64_t pfn_limit, uint64_t dumpable_pages, uint64_t bitmap_offset, uint64_t bitmap_half_bytes, uint64_t desc_table_offset, uint64_t data_offset)
        : m_sink(sink)
        , m_endian(info.endian)
        , m_page_size(info.page_size)
        , m_codec(info.codec)
        , m_pfn_limit(pfn_limit)
        , m_dumpable_pages(dumpable_pages)
        , m_bitmap_half_bytes(bitmap_half_bytes)
        , m_present_bitmap(info.endian, bitmap_offset, bitmap_buffer_bytes)
        , m_dumpable_bitmap(info.endian, bitmap_offset + bitmap_half_bytes, bitmap_buffer_bytes)
        , m_descs(info.endian, desc_table_offset, desc_buffer_bytes)
        , m_data(info.endian, data_offset, std::max<size_t>(data_buffer_bytes, 2 * info.page_size))
        , m_data_start_offset(data_offset)
    {
    }

    Result<void> write_bitmaps(uint64_t start_pfn, uint64_t pfn_count, std::span<uint8_t const> present, std::span<uint8_t const> dumpable) override;
    Result<StoredPage> add_page(uint64_t pfn, std::span<uint8_t const> data, Codec codec) override;
    Result<void> add_shared_page(uint64_t pfn, StoredPage const& stored) override;
    Result<void> add_zero_page(uint64_t pfn) override;
    Result<void> finish() override;
    Result<void> mark_incomplete() override;

private:
    Result<void> check_open() const;
    Result<void> append_bitmap_bytes(RegionBuffer& bitmap, std::span<uint8_t const> bytes, std::string_view what);
    Result<void> zero_fill_bitmaps(uint64_t end_byte);
    Result<void> consume_dumpable_pfn(uint64_t pfn);
    Result<void> append_data(std::span<uint8_t const> data);
    Result<void> append_desc(uint64_t data_offset, uint32_t size, Codec codec);
    Result<void> flush_bitmaps();
    // Order matters for a dump cut short: a descriptor reaches the sink only
    // after its data and the bitmap bits that give it its index.
    Result<void> flush_all();

    OutputSink& m_sink;
    Endian m_endian;
    uint64_t m_page_size;
    Codec m_codec;
    uint64_t m_pfn_limit;
    uint64_t m_dumpable_pages;
    uint64_t m_bitmap_half_bytes;

    RegionBuffer m_present_bitmap;
    RegionBuffer m_dumpable_bitmap;
    RegionBuffer m_descs;
    RegionBuffer m_data;
    uint64_t m_data_start_offset;

    // Bytes of each bitmap half passed to the buffers so far; the next
    // window may not start before byte m_bitmap_bytes_done.
    uint64_t m_bitmap_bytes_done { 0 };
    uint64_t m_dumpable_bits_seen { 0 };
    std::deque<PendingWindow> m_pending_windows;
    uint64_t m_next_page_pfn { 0 }; // pages before it are added
    uint64_t m_pages_added { 0 };
    std::optional<uint64_t> m_zero_page_offset;
    bool m_closed { false };
};

Result<void> KdumpFileWriter::check_open() const
{
    if (m_closed)
        return Error::invalid("kdump writer: used after finish() or mark_incomplete()");
    return {};
}

Result<void> KdumpFileWriter::append_bitmap_bytes(RegionBuffer& bitmap, std::span<uint8_t const> bytes, std::string_view what)
{
    while (!bytes.empty()) {
        if (!bitmap.has_room_for(1))
            TRY(bitmap.flush(m_sink, what));
        size_t room = bitmap.capacity() - bitmap.buffered();
        size_t piece = std::min(room, bytes.size());
        bitmap.writer().put_bytes(bitmap.buffered(), bytes.first(piece));
        bytes = bytes.subspan(piece);
    }
    return {};
}

Result<void> KdumpFileWriter::zero_fill_bitmaps(uint64_t end_byte)
{
    static constexpr uint8_t zeros[4096] = {};
    while (m_bitmap_bytes_done < end_byte) {
        size_t piece = static_cast<size_t>(std::min<uint64_t>(sizeof zeros, end_byte - m_bitmap_bytes_done));
        TRY(append_bitmap_bytes(m_present_bitmap, { zeros, piece }, "kdump bitmap 1"));
        TRY(append_bitmap_bytes(m_dumpable_bitmap, { zeros, piece }, "kdump bitmap 2"));
        m_bitmap_bytes_done += piece;
    }
    return {};
}

Result<void> KdumpFileWriter::write_bitmaps(uint64_t start_pfn, uint64_t pfn_count, std::span<uint8_t const> present, std::span<uint8_t const> dumpable)
{
    TRY(check_open());
    if (start_pfn % 8 != 0)
        return Error::invalid(cat("kdump writer: bitmap window starts at pfn ", hex(start_pfn), ", which is not a multiple of 8"));
    auto end_pfn = checked_add(start_pfn, pfn_count);
    if (!end_pfn || *end_pfn > m_pfn_limit)
        return Error::invalid(cat("kdump writer: bitmap window of ", pfn_count, " pfns at ", hex(start_pfn), " runs past the pfn limit ", hex(m_pfn_limit)));
    if (start_pfn / 8 < m_bitmap_bytes_done)
        return Error::invalid(cat("kdump writer: bitmap window at pfn ", hex(start_pfn), " overlaps an earlier window (windows must come in ascending order)"));
    uint64_t byte_count = (pfn_count + 7) / 8;
    if (present.size() < byte_count || dumpable.size() < byte_count)
        return Error::invalid(cat("kdump writer: bitmap window of ", pfn_count, " pfns needs ", byte_count, " bytes per bitmap, got ", present.size(), " and ", dumpable.size()));
    if (pfn_count == 0)
        return {};

    // Bits past the window's end in its last byte are not part of it.
    uint8_t last_byte_mask = pfn_count % 8 == 0 ? 0xff : static_cast<uint8_t>((1u << (pfn_count % 8)) - 1);
    std::vector<uint8_t> dumpable_bits(dumpable.begin(), dumpable.begin() + static_cast<ptrdiff_t>(byte_count));
    dumpable_bits.back() &= last_byte_mask;
    uint64_t window_dumpable = 0;
    for (uint8_t byte : dumpable_bits)
        window_dumpable += static_cast<uint64_t>(__builtin_popcount(byte));
    if (window_dumpable > m_dumpable_pages - m_dumpable_bits_seen)
        return Error::invalid(cat("kdump writer: bitmap 2 marks more pages dumpable than the ", m_dumpable_pages, " announced to create()"));

    TRY(zero_fill_bitmaps(start_pfn / 8));
    uint8_t const present_last = present[byte_count - 1] & last_byte_mask;
    TRY(append_bitmap_bytes(m_present_bitmap, present.first(byte_count - 1), "kdump bitmap 1"));
    TRY(append_bitmap_bytes(m_present_bitmap, { &present_last, 1 }, "kdump bitmap 1"));
    TRY(append_bitmap_bytes(m_dumpable_bitmap, dumpable_bits, "kdump bitmap 2"));
    m_bitmap_bytes_done += byte_count;
    m_dumpable_bits_seen += window_dumpable;
    if (window_dumpable > 0)
        m_pending_windows.push_back({ start_pfn, *end_pfn, std::move(dumpable_bits) });
    return {};
}

Result<void> KdumpFileWriter::consume_dumpable_pfn(uint64_t pfn)
{
    while (!m_pending_windows.empty()) {
        PendingWindow const& window = m_pending_windows.front();
        uint64_t candidate = std::max(m_next_page_pfn, window.start_pfn);
        while (candidate < window.end_pfn) {
            uint64_t bit = candidate - window.start_pfn;
            uint8_t byte = window.dumpable[bit / 8] >> (bit % 8);
            if (byte == 0) {
                candidate = align_up(candidate + 1, 8);
                continue;
            }
            candidate += static_cast<uint64_t>(__builtin_ctz(byte));
            break;
        }
        if (candidate >= window.end_pfn) {
            m_pending_windows.pop_front();
            continue;
        }
        if (candidate != pfn) {
            if (pfn < candidate)
                return Error::invalid(cat("kdump writer: page for pfn ", hex(pfn), " is out of order or not dumpable in bitmap 2 (the next dumpable pfn is ", hex(candidate), ")"));
            return Error::invalid(cat("kdump writer: page for pfn ", hex(pfn), " came before the dumpable pfn ", hex(candidate)));
        }
        m_next_page_pfn = pfn + 1;
        return {};
    }
    return Error::invalid(cat("kdump writer: page for pfn ", hex(pfn), " has no dumpable bit in the bitmaps written so far"));
}

Result<void> KdumpFileWriter::append_data(std::span<uint8_t const> data)
{
    if (!m_data.has_room_for(data.size()))
        TRY(m_data.flush(m_sink, "kdump page data"));
    m_data.writer().put_bytes(m_data.buffered(), data);
    return {};
}

Result<void> KdumpFileWriter::append_desc(uint64_t data_offset, uint32_t size, Codec codec)
{
    if (!m_descs.has_room_for(layout::page_desc_bytes))
        TRY(flush_all());
    size_t at = m_descs.buffered();
    ByteWriter& writer = m_descs.writer();
    writer.put_u64(at + layout::desc_offset_at, data_offset);
    writer.put_u32(at + layout::desc_size_at, size);
    writer.put_u32(at + layout::desc_flags_at, static_cast<uint32_t>(codec));
    writer.put_u64(at + layout::desc_page_flags_at, 0); // always 0
    ++m_pages_added;
    return {};
}

Result<StoredPage> KdumpFileWriter::add_page(uint64_t pfn, std::span<uint8_t const> data, Codec codec)
{
    TRY(check_open());
    if (codec == Codec::None && data.size() != m_page_size)
        return Error::invalid(cat("kdump writer: raw page for pfn ", hex(pfn), " is ", data.size(), " bytes, not the page size ", m_page_size));
    if (codec != Codec::None && codec != m_codec)
        return Error::invalid(cat("kdump writer: page for pfn ", hex(pfn), " is ", codec_name(codec), "-compressed, but the dump header says ", codec_name(m_codec)));
    if (data.empty() || data.size() > m_page_size)
        return Error::invalid(cat("kdump writer: compressed page for pfn ", hex(pfn), " is ", data.size(), " bytes; it must be 1 to ", m_page_size));
    TRY(consume_dumpable_pfn(pfn));
    StoredPage stored { m_data.end_offset(), static_cast<uint32_t>(data.size()), codec };
    TRY(append_data(data));
    TRY(append_desc(stored.data_offset, stored.size, stored.codec));
    return stored;
}

Result<void> KdumpFileWriter::add_shared_page(uint64_t pfn, StoredPage const& stored)
{
    TRY(check_open());
    // Only bytes this writer stored may be shared: anything else would
    // point a descriptor at headers, bitmaps or past the end.
    bool known_codec = stored.codec == Codec::None || stored.codec == m_codec;
    bool sized = stored.size != 0 && stored.size <= m_page_size && (stored.codec != Codec::None || stored.size == m_page_size);
    uint64_t end_offset = 0;
    bool inside = !__builtin_add_overflow(stored.data_offset, stored.size, &end_offset) && stored.data_offset >= m_data_start_offset && end_offset <= m_data.end_offset();
    if (!known_codec || !sized || !inside)
        return Error::invalid(cat("kdump writer: page for pfn ", hex(pfn), " would share ", stored.size, " bytes at offset ", hex(stored.data_offset), " that this writer did not store"));
    TRY(consume_dumpable_pfn(pfn));
    return append_desc(stored.data_offset, stored.size, stored.codec);
}

Result<void> KdumpFileWriter::add_zero_page(uint64_t pfn)
{
    TRY(check_open());
    TRY(consume_dumpable_pfn(pfn));
    if (!m_zero_page_offset) {
        // Stored once, raw; every zero pfn's descriptor points at it. Its
        // offset is never 0, which readers take as "lost".
        m_zero_page_offset = m_data.end_offset();
        std::vector<uint8_t> zeros(m_page_size, 0);
        TRY(append_data(zeros));
    }
    return append_desc(*m_zero_page_offset, static_cast<uint32_t>(m_page_size), Codec::None);
}

Result<void> KdumpFileWriter::flush_bitmaps()
{
    TRY(m_present_bitmap.flush(m_sink, "kdump bitmap 1"));
    TRY(m_dumpable_bitmap.flush(m_sink, "kdump bitmap 2"));
    return {};
}

Result<void> KdumpFileWriter::flush_all()
{
    TRY(flush_bitmaps());
    TRY(m_data.flush(m_sink, "kdump page data"));
    TRY(m_descs.flush(m_sink, "kdump page descriptors"));
    return {};
}

Result<void> KdumpFileWriter::finish()
{
    TRY(check_open());
    if (m_pages_added < m_dumpable_bits_seen)
        return Error::invalid(cat("kdump writer: ", m_dumpable_bits_seen - m_pages_added, " of ", m_dumpable_bits_seen, " dumpable pages were never added"));
    if (m_dumpable_bits_seen < m_dumpable_pages)
        return Error::invalid(cat("kdump writer: bitmap 2 marks ", m_dumpable_bits_seen, " pages dumpable, but ", m_dumpable_pages, " were announced to create(); ", m_dumpable_pages - m_dumpable_bits_seen, " dumpable pages were never added"));
    // Bitmaps are written whole even where no window covered them, so that
    // the file (and a stream rebuilt from records) has every byte readers
    // expect.
    TRY(zero_fill_bitmaps(m_bitmap_half_bytes));
    TRY(flush_all());
    TRY(m_sink.finish());
    m_closed = true;
    return {};
}

Result<void> KdumpFileWriter::mark_incomplete()
{
    TRY(check_open());
    m_closed = true;

    bool bitmaps_flushed = zero_fill_bitmaps(m_bitmap_half_bytes).ok() && flush_bitmaps().ok();
    (void)m_data.flush(m_sink, "kdump page data");
    // A descriptor whose data did not reach the sink would point at garbage:
    // leave it zero, which readers report as a lost page.
    uint64_t data_on_sink_end = m_data.flushed_offset();
    ByteReader descs(m_descs.writer().bytes(), m_endian, "kdump page descriptors");
    std::vector<size_t> lost_descs;
    for (size_t at = 0; at + layout::page_desc_bytes <= descs.size(); at += layout::page_desc_bytes) {
        uint64_t data_offset = descs.u64(at + layout::desc_offset_at).value_or(0);
        uint64_t size = descs.u32(at + layout::desc_size_at).value_or(0);
        if (data_offset + size > data_on_sink_end)
            lost_descs.push_back(at);
    }
    for (size_t at : lost_descs) {
        m_descs.writer().put_u64(at + layout::desc_offset_at, 0);
        m_descs.writer().put_u32(at + layout::desc_size_at, 0);
        m_descs.writer().put_u32(at + layout::desc_flags_at, 0);
    }
    // Without their bitmap bits, descriptors would be indexed wrongly.
    if (bitmaps_flushed)
        (void)m_descs.flush(m_sink, "kdump page descriptors");

    // Rewrite only the status field: the header block exists already, so
    // this needs no new space on a full disk. A flattened stream gets it as
    // a later record, which -R applies over the header: a stream from a
    // failed capture must not rebuild into a dump that looks complete.
    uint32_t status = static_cast<uint32_t>(m_codec) | layout::status_incomplete;
    ByteWriter field(m_endian);
    field.put_u32(0, status);
    auto flagged = m_sink.write_at(layout::status_at, field.bytes()).context("kdump header: setting the incomplete flag");
    // A stream that failed keeps failing (its errors are sticky) and ends
    // without its end record, which -R reports as incomplete anyway.
    if (!m_sink.can_rewrite())
        flagged = {};
    auto finished = m_sink.finish();
    if (!flagged.ok())
        return flagged;
    return finished;
}

} // namespace

Result<std::unique_ptr<KdumpWriter>> KdumpWriter::create(OutputSink& sink, KdumpHeaderInfo const& info, uint64_t pfn_limit, uint64_t dumpable_pages)
{
    uint64_t block_size = info.page_size;
    if (!layout::is_valid_block_size(block_size))
        return Error::invalid(cat("kdump writer: page size ", block_size, " is not a power of two between 4 KiB and 256 KiB"));
    if (pfn_limit == 0)
        return Error::invalid("kdump writer: the pfn limit is 0; there is no memory to describe");
    if (dumpable_pages > pfn_limit)
        return Error::invalid(cat("kdump writer: ", dumpable_pages, " dumpable pages cannot fit below pfn limit ", pfn_limit));
    for (size_t index = 0; index < info.utsname.size(); ++index) {
        if (info.utsname[index].size() >= layout::utsname_field_bytes)
            return Error::invalid(cat("kdump writer: utsname field ", index, " is ", info.utsname[index].size(), " bytes; at most 64 fit"));
    }
    uint64_t note_bytes = info.note_bytes.size();
    if (info.vmcoreinfo_size != 0 && !extent_within(info.vmcoreinfo_offset_in_notes, info.vmcoreinfo_size, note_bytes))
        return Error::invalid(cat("kdump writer: VMCOREINFO (", info.vmcoreinfo_size, " bytes at ", hex(info.vmcoreinfo_offset_in_notes), ") lies outside the ", note_bytes, " bytes of notes"));
    switch (info.codec) {
    case Codec::None:
    case Codec::Zlib:
    case Codec::Lzo:
    case Codec::Snappy:
    case Codec::Zstd:
        break;
    default:
        return Error::invalid(cat("kdump writer: unknown codec ", hex(static_cast<uint32_t>(info.codec))));
    }

    // Layout (dump-format.md §1.3): header block, sub-header + notes,
    // bitmap 1 and bitmap 2 in equal block-aligned halves, descriptors, data.
    // Page counts fit in 2^52 at most, so these sums cannot overflow once
    // the u32/i32 field limits are checked.
    uint64_t sub_header_blocks = (layout::sub_header_bytes + note_bytes + block_size - 1) / block_size;
    uint64_t bitmap_half_blocks = ((pfn_limit + 7) / 8 + block_size - 1) / block_size;
    if (sub_header_blocks > INT32_MAX)
        return Error::invalid(cat("kdump writer: ", note_bytes, " bytes of notes are too many for the sub-header"));
    if (bitmap_half_blocks > UINT32_MAX / 2)
        return Error::invalid(cat("kdump writer: pfn limit ", hex(pfn_limit), " needs more bitmap blocks than the header can count"));
    uint64_t bitmap_half_bytes = bitmap_half_blocks * block_size;
    uint64_t bitmap_offset = (1 + sub_header_blocks) * block_size;
    uint64_t desc_table_offset = bitmap_offset + 2 * bitmap_half_bytes;
    auto desc_table_bytes = checked_mul(dumpable_pages, layout::page_desc_bytes);
    auto data_offset = desc_table_bytes ? checked_add(desc_table_offset, *desc_table_bytes) : std::nullopt;
    if (!data_offset || *data_offset > static_cast<uint64_t>(INT64_MAX))
        return Error::invalid(cat("kdump writer: ", dumpable_pages, " page descriptors do not fit in a file"));

    ByteWriter head(info.endian);
    head.resize(static_cast<size_t>(bitmap_offset));
    head.put_string(0, layout::signature);
    head.put_u32(layout::version_at, layout::header_version);
    for (size_t index = 0; index < info.utsname.size(); ++index)
        head.put_string(layout::utsname_at + index * layout::utsname_field_bytes, info.utsname[index]);
    head.put_u64(layout::timestamp_seconds_at, static_cast<uint64_t>(info.crash_time_seconds));
    // tv_usec stays 0: libkdumpfile 0.5.1 misreads the layout otherwise.
    head.put_u64(layout::timestamp_microseconds_at, 0);
    head.put_u32(layout::status_at, static_cast<uint32_t>(info.codec));
    head.put_u32(layout::block_size_at, static_cast<uint32_t>(block_size));
    head.put_u32(layout::sub_header_blocks_at, static_cast<uint32_t>(sub_header_blocks));
    head.put_u32(layout::bitmap_blocks_at, static_cast<uint32_t>(2 * bitmap_half_blocks));
    head.put_u32(layout::max_mapnr_32_at, static_cast<uint32_t>(std::min<uint64_t>(pfn_limit, UINT32_MAX)));
    head.put_u32(layout::cpu_count_at, static_cast<uint32_t>(info.cpu_count));

    uint64_t sub = block_size;
    uint64_t note_offset = sub + layout::sub_header_bytes;
    head.put_u64(sub + layout::phys_base_at, info.phys_base);
    head.put_u32(sub + layout::dump_level_at, static_cast<uint32_t>(info.dump_level));
    // split = 0 and start/end pfn = 0: one file holds the whole dump.
    if (info.vmcoreinfo_size != 0) {
        head.put_u64(sub + layout::vmcoreinfo_offset_at, note_offset + info.vmcoreinfo_offset_in_notes);
        head.put_u64(sub + layout::vmcoreinfo_size_at, info.vmcoreinfo_size);
    }
    if (note_bytes != 0) {
        head.put_u64(sub + layout::note_offset_at, note_offset);
        head.put_u64(sub + layout::note_size_at, note_bytes);
        head.put_bytes(note_offset, info.note_bytes);
    }
    head.put_u64(sub + layout::max_mapnr_64_at, pfn_limit);
    TRY(sink.write_at(0, head.bytes()).context("kdump header"));
    // The bitmaps and descriptors are written after the page data they
    // describe; reserving their room first means a full disk cuts off data,
    // never the tables that make the data readable.
    TRY(sink.reserve(bitmap_offset, *data_offset - bitmap_offset));

    return std::unique_ptr<KdumpWriter>(new KdumpFileWriter(sink, info, pfn_limit, dumpable_pages, bitmap_offset, bitmap_half_bytes, desc_table_offset, *data_offset));
}

} // namespace core
