// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/kdump_format.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <doctest.h>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using core::ByteReader;
using core::Codec;
using core::Endian;
using core::KdumpFile;
using core::KdumpHeaderInfo;
using core::KdumpWriter;
namespace layout = core::kdump_layout;

namespace {

// The dump in memory. Writes past `capacity_bytes` fail with ENOSPC, like
// a full disk (the part that fits is kept, as a short write would).
class MemorySink final : public core::OutputSink {
public:
    explicit MemorySink(bool rewritable = true, uint64_t capacity_bytes = UINT64_MAX)
        : m_rewritable(rewritable)
        , m_capacity_bytes(capacity_bytes)
    {
    }
    core::Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override
    {
        if (m_finished)
            return core::Error::invalid("write after finish");
        ++writes;
        uint64_t end = offset + data.size();
        uint64_t kept_end = std::min(end, m_capacity_bytes);
        if (kept_end > offset) {
            if (bytes.size() < kept_end)
                bytes.resize(kept_end, 0);
            std::memcpy(bytes.data() + offset, data.data(), kept_end - offset);
        }
        if (end > m_capacity_bytes)
            return core::Error::from_errno(ENOSPC, "write memory sink");
        m_written += data.size();
        return {};
    }
    core::Result<void> finish() override
    {
        if (m_finished)
            return core::Error::invalid("finished twice");
        m_finished = true;
        return {};
    }
    bool can_rewrite() const override { return m_rewritable; }
    uint64_t bytes_written() const override { return m_written; }
    bool finished() const { return m_finished; }

    std::vector<uint8_t> bytes;
    unsigned writes { 0 };

private:
    bool m_rewritable;
    uint64_t m_capacity_bytes;
    uint64_t m_written { 0 };
    bool m_finished { false };
};

struct TempFile {
    std::string path;
    explicit TempFile(std::vector<uint8_t> const& contents)
    {
        char name[] = "/tmp/kdumpbox-kdump-test-XXXXXX";
        int fd = ::mkstemp(name);
        REQUIRE(fd >= 0);
        path = name;
        REQUIRE(::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
        ::close(fd);
    }
    ~TempFile() { ::unlink(path.c_str()); }
};

enum class PageKind { Hole, Excluded, Zero, Text, Noise };

// A small machine: holes, filtered pages, zero pages, compressible and
// incompressible pages, and a pfn limit that is not a multiple of 8.
struct SyntheticMemory {
    uint64_t page_size { 4096 };
    uint64_t pfn_limit { 333 };
    // When set, only pfns with pfn % dumpable_stride == 1 are kept: a large
    // pfn space with few pages.
    uint64_t dumpable_stride { 0 };

    PageKind kind(uint64_t pfn) const
    {
        if (pfn >= 100 && pfn < 140)
            return PageKind::Hole;
        if (pfn % 7 == 3 || (dumpable_stride != 0 && pfn % dumpable_stride != 1))
            return PageKind::Excluded;
        if (pfn % 5 == 0)
            return PageKind::Zero;
        if (pfn % 11 == 4)
            return PageKind::Noise;
        return PageKind::Text;
    }
    bool present(uint64_t pfn) const { return kind(pfn) != PageKind::Hole; }
    bool dumpable(uint64_t pfn) const { return present(pfn) && kind(pfn) != PageKind::Excluded; }
    uint64_t dumpable_count() const
    {
        uint64_t count = 0;
        for (uint64_t pfn = 0; pfn < pfn_limit; ++pfn)
            count += dumpable(pfn);
        return count;
    }
    std::vector<uint8_t> page(uint64_t pfn) const
    {
        std::vector<uint8_t> bytes(page_size, 0);
        if (kind(pfn) == PageKind::Noise) {
            std::mt19937_64 generator(pfn);
            for (size_t index = 0; index < bytes.size(); index += 8)
                core::store_uint(bytes.data() + index, 8, generator(), Endian::Little);
        } else if (kind(pfn) == PageKind::Text) {
            std::string line = "pfn " + std::to_string(pfn) + " holds kernel data;\n";
            for (size_t index = 0; index < bytes.size(); ++index)
                bytes[index] = static_cast<uint8_t>(line[index % line.size()]);
        }
        return bytes;
    }
    // Bits [start_pfn, start_pfn + count) of one bitmap.
    std::vector<uint8_t> bitmap(uint64_t start_pfn, uint64_t count, bool dumpable_bitmap) const
    {
        std::vector<uint8_t> bits((count + 7) / 8, 0);
        for (uint64_t index = 0; index < count; ++index) {
            uint64_t pfn = start_pfn + index;
            if (dumpable_bitmap ? dumpable(pfn) : present(pfn))
                bits[index / 8] |= static_cast<uint8_t>(1u << (index % 8));
        }
        return bits;
    }
};

constexpr char vmcoreinfo_text[] = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nCRASHTIME=1700000000\n";

// Two notes as /proc/vmcore has them: an NT_PRSTATUS, then VMCOREINFO.
std::vector<uint8_t> make_notes(Endian endian, uint64_t& vmcoreinfo_desc_offset, uint64_t& vmcoreinfo_size)
{
    core::ByteWriter notes(endian);
    notes.put_u32(0, 5);   // namesz "CORE\0"
    notes.put_u32(4, 336); // descsz
    notes.put_u32(8, 1);   // NT_PRSTATUS
    notes.put_string(12, "CORE");
    notes.put_u8(20 + 335, 0x42);
    uint64_t at = 20 + 336;
    std::string_view text = vmcoreinfo_text;
    notes.put_u32(at, 11); // "VMCOREINFO\0"
    notes.put_u32(at + 4, static_cast<uint32_t>(text.size()));
    notes.put_u32(at + 8, 0);
    notes.put_string(at + 12, "VMCOREINFO");
    vmcoreinfo_desc_offset = at + 24;
    vmcoreinfo_size = text.size();
    notes.put_string(vmcoreinfo_desc_offset, text);
    notes.resize(static_cast<size_t>(core::align_up(vmcoreinfo_desc_offset + text.size(), 4)));
    auto bytes = notes.bytes();
    return { bytes.begin(), bytes.end() };
}

KdumpHeaderInfo make_info(Endian endian, Codec codec, uint64_t page_size = 4096)
{
    KdumpHeaderInfo info;
    info.endian = endian;
    info.page_size = page_size;
    info.utsname = { "Linux", "crashed-host", "6.1.0-test", "#1 SMP PREEMPT_DYNAMIC", "x86_64", "(none)" };
    info.crash_time_seconds = 1700000000;
    info.cpu_count = 1;
    info.phys_base = 0x1000000;
    info.dump_level = 31;
    info.codec = codec;
    info.note_bytes = make_notes(endian, info.vmcoreinfo_offset_in_notes, info.vmcoreinfo_size);
    return info;
}

void add_one_page(KdumpWriter& writer, core::PageCompressor& compressor, SyntheticMemory const& memory, uint64_t pfn, Codec codec)
{
    auto page = memory.page(pfn);
    if (std::all_of(page.begin(), page.end(), [](uint8_t byte) { return byte == 0; })) {
        REQUIRE(writer.add_zero_page(pfn).ok());
        return;
    }
    std::vector<uint8_t> packed(compressor.max_output_size());
    auto size = compressor.compress(page, packed);
    REQUIRE(size.ok());
    if (size.value() == 0) {
        REQUIRE(writer.add_page(pfn, page, Codec::None).ok());
    } else {
        packed.resize(size.value());
        REQUIRE(writer.add_page(pfn, packed, codec).ok());
    }
}

// Writes the dump in windows of window_pfns, each window's bitmaps followed
// by its pages (makedumpfile's cyclic order); window_pfns >= pfn_limit
// writes all bitmaps first.
void write_dump(core::OutputSink& sink, SyntheticMemory const& memory, KdumpHeaderInfo const& info, uint64_t window_pfns)
{
    auto writer = KdumpWriter::create(sink, info, memory.pfn_limit, memory.dumpable_count());
    REQUIRE(writer.ok());
    auto compressor = core::PageCompressor::create(info.codec, memory.page_size);
    REQUIRE(compressor.ok());
    for (uint64_t start = 0; start < memory.pfn_limit; start += window_pfns) {
        uint64_t count = std::min(window_pfns, memory.pfn_limit - start);
        REQUIRE(writer.value()->write_bitmaps(start, count, memory.bitmap(start, count, false), memory.bitmap(start, count, true)).ok());
        for (uint64_t pfn = start; pfn < start + count; ++pfn) {
            if (memory.dumpable(pfn))
                add_one_page(*writer.value(), *compressor.value(), memory, pfn, info.codec);
        }
    }
    auto finished = writer.value()->finish();
    REQUIRE_MESSAGE(finished.ok(), finished.error().message());
}

std::vector<uint8_t> dump_bytes(SyntheticMemory const& memory, KdumpHeaderInfo const& info, uint64_t window_pfns = 64)
{
    MemorySink sink;
    write_dump(sink, memory, info, window_pfns);
    CHECK(sink.finished());
    return sink.bytes;
}

std::unique_ptr<KdumpFile> open_dump(TempFile const& file)
{
    auto opened = KdumpFile::open(file.path);
    REQUIRE_MESSAGE(opened.ok(), opened.error().message());
    return std::move(opened).release_value();
}

void check_all_pages(KdumpFile const& dump, SyntheticMemory const& memory)
{
    std::vector<uint8_t> page(memory.page_size);
    for (uint64_t pfn = 0; pfn < memory.pfn_limit; ++pfn) {
        CAPTURE(pfn);
        // One assertion per pfn keeps big maps quick.
        REQUIRE((dump.has_page(pfn) == memory.dumpable(pfn) && dump.in_memory_map(pfn) == memory.present(pfn)));
        if (!memory.dumpable(pfn) && pfn % 61 != 0)
            continue;
        auto read = dump.read(pfn * memory.page_size, page);
        if (memory.dumpable(pfn)) {
            REQUIRE_MESSAGE(read.ok(), read.error().message());
            CHECK(page == memory.page(pfn));
        } else {
            CHECK_FALSE(read.ok());
        }
    }
}

uint64_t field(std::vector<uint8_t> const& bytes, Endian endian, uint64_t offset, unsigned width)
{
    ByteReader reader(bytes, endian, "test");
    auto value = reader.uint(offset, width);
    REQUIRE(value.ok());
    return value.value();
}

void put_field(std::vector<uint8_t>& bytes, Endian endian, uint64_t offset, unsigned width, uint64_t value)
{
    REQUIRE(offset + width <= bytes.size());
    core::store_uint(bytes.data() + offset, width, value, endian);
}

std::string open_error(std::vector<uint8_t> const& bytes)
{
    TempFile file(bytes);
    auto opened = KdumpFile::open(file.path);
    REQUIRE_FALSE(opened.ok());
    return opened.error().message();
}

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("kdump header, sub-header, notes and bitmaps sit at the exact offsets")
{
    SyntheticMemory memory;
    for (Endian endian : { Endian::Little, Endian::Big }) {
        CAPTURE(endian == Endian::Little);
        auto info = make_info(endian, Codec::Zstd);
        auto bytes = dump_bytes(memory, info);
        uint64_t block = 4096;

        CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "KDUMP   ");
        CHECK(core::is_kdump_header(bytes));
        CHECK(field(bytes, endian, 8, 4) == 6);
        CHECK(std::string(reinterpret_cast<char const*>(bytes.data()) + 12) == "Linux");
        CHECK(std::string(reinterpret_cast<char const*>(bytes.data()) + 12 + 65) == "crashed-host");
        CHECK(std::string(reinterpret_cast<char const*>(bytes.data()) + 12 + 4 * 65) == "x86_64");
        CHECK(field(bytes, endian, 408, 8) == 1700000000);
        CHECK(field(bytes, endian, 416, 8) == 0); // tv_usec
        CHECK(field(bytes, endian, 424, 4) == 0x20);
        CHECK(field(bytes, endian, 428, 4) == block);
        uint64_t sub_header_blocks = field(bytes, endian, 432, 4);
        CHECK(sub_header_blocks == (104 + info.note_bytes.size() + block - 1) / block);
        uint64_t bitmap_blocks = field(bytes, endian, 436, 4);
        CHECK(bitmap_blocks == 2 * (((memory.pfn_limit + 7) / 8 + block - 1) / block));
        CHECK(bitmap_blocks == 2);
        CHECK(field(bytes, endian, 440, 4) == memory.pfn_limit);
        for (uint64_t unused = 444; unused < 460; unused += 4)
            CHECK(field(bytes, endian, unused, 4) == 0);
        CHECK(field(bytes, endian, 460, 4) == 1);

        CHECK(field(bytes, endian, block + 0, 8) == 0x1000000);
        CHECK(field(bytes, endian, block + 8, 4) == 31);
        CHECK(field(bytes, endian, block + 12, 4) == 0);  // split
        CHECK(field(bytes, endian, block + 16, 8) == 0);  // start_pfn
        CHECK(field(bytes, endian, block + 24, 8) == 0);  // end_pfn
        CHECK(field(bytes, endian, block + 32, 8) == block + 104 + info.vmcoreinfo_offset_in_notes);
        CHECK(field(bytes, endian, block + 40, 8) == std::string_view(vmcoreinfo_text).size());
        CHECK(field(bytes, endian, block + 48, 8) == block + 104);
        CHECK(field(bytes, endian, block + 56, 8) == info.note_bytes.size());
        CHECK(field(bytes, endian, block + 64, 8) == 0); // no eraseinfo
        CHECK(field(bytes, endian, block + 80, 8) == 0); // start_pfn_64
        CHECK(field(bytes, endian, block + 88, 8) == 0); // end_pfn_64
        CHECK(field(bytes, endian, block + 96, 8) == memory.pfn_limit);
        CHECK(std::equal(info.note_bytes.begin(), info.note_bytes.end(), bytes.begin() + static_cast<ptrdiff_t>(block + 104)));
        uint64_t vmcoreinfo_at = field(bytes, endian, block + 32, 8);
        CHECK(std::string(bytes.begin() + static_cast<ptrdiff_t>(vmcoreinfo_at), bytes.begin() + static_cast<ptrdiff_t>(vmcoreinfo_at + 20)) == "OSRELEASE=6.1.0-test");

        // Bitmaps: LSB-first, bitmap 2 in the second block-aligned half.
        uint64_t bitmap_at = (1 + sub_header_blocks) * block;
        uint64_t half = bitmap_blocks / 2 * block;
        for (uint64_t pfn = 0; pfn < half * 8; ++pfn) {
            bool present_bit = (bytes[bitmap_at + pfn / 8] >> (pfn % 8)) & 1;
            bool dumpable_bit = (bytes[bitmap_at + half + pfn / 8] >> (pfn % 8)) & 1;
            CHECK(present_bit == (pfn < memory.pfn_limit && memory.present(pfn)));
            CHECK(dumpable_bit == (pfn < memory.pfn_limit && memory.dumpable(pfn)));
        }

        // One descriptor per dumpable pfn, then the data.
        uint64_t desc_at = (1 + sub_header_blocks + bitmap_blocks) * block;
        uint64_t data_at = desc_at + 24 * memory.dumpable_count();
        uint64_t zero_page_offset = 0;
        uint64_t index = 0;
        uint64_t next_data = data_at;
        for (uint64_t pfn = 0; pfn < memory.pfn_limit; ++pfn) {
            if (!memory.dumpable(pfn))
                continue;
            CAPTURE(pfn);
            uint64_t at = desc_at + 24 * index++;
            uint64_t offset = field(bytes, endian, at, 8);
            uint64_t size = field(bytes, endian, at + 8, 4);
            uint64_t flags = field(bytes, endian, at + 12, 4);
            CHECK(field(bytes, endian, at + 16, 8) == 0);
            switch (memory.kind(pfn)) {
            case PageKind::Zero:
                CHECK(flags == 0);
                CHECK(size == block);
                if (zero_page_offset == 0) {
                    zero_page_offset = offset;
                    CHECK(offset == next_data);
                    next_data += block;
                }
                CHECK(offset == zero_page_offset);
                break;
            case PageKind::Noise:
                CHECK(flags == 0);
                CHECK(size == block);
                CHECK(offset == next_data);
                next_data += size;
                break;
            default:
                CHECK(flags == 0x20);
                CHECK(size < block);
                CHECK(offset == next_data);
                next_data += size;
                break;
            }
        }
        CHECK(zero_page_offset != 0);
        CHECK(next_data == bytes.size());
    }
}

TEST_CASE("the writer's status carries the codec bit makedumpfile sets")
{
    SyntheticMemory memory;
    CHECK(field(dump_bytes(memory, make_info(Endian::Little, Codec::Zlib)), Endian::Little, 424, 4) == 0x1);
    CHECK(field(dump_bytes(memory, make_info(Endian::Little, Codec::None)), Endian::Little, 424, 4) == 0);
}

TEST_CASE("a written dump reads back page for page, both byte orders and codecs")
{
    SyntheticMemory memory;
    for (Endian endian : { Endian::Little, Endian::Big }) {
        for (Codec codec : { Codec::Zstd, Codec::Zlib, Codec::None }) {
            CAPTURE(endian == Endian::Little);
            CAPTURE(core::codec_name(codec));
            auto info = make_info(endian, codec);
            TempFile file(dump_bytes(memory, info));
            auto dump = open_dump(file);
            CHECK(dump->endian() == endian);
            CHECK(dump->page_size() == 4096);
            CHECK(dump->pfn_limit() == memory.pfn_limit);
            CHECK_FALSE(dump->incomplete());
            auto const& read_info = dump->info();
            CHECK(read_info.utsname == info.utsname);
            CHECK(read_info.crash_time_seconds == 1700000000);
            CHECK(read_info.cpu_count == 1);
            CHECK(read_info.phys_base == 0x1000000);
            CHECK(read_info.dump_level == 31);
            CHECK(read_info.codec == codec);
            CHECK(read_info.note_bytes == info.note_bytes);
            CHECK(read_info.vmcoreinfo_offset_in_notes == info.vmcoreinfo_offset_in_notes);
            CHECK(read_info.vmcoreinfo_size == info.vmcoreinfo_size);
            REQUIRE(dump->vmcoreinfo_text().has_value());
            CHECK(*dump->vmcoreinfo_text() == vmcoreinfo_text);
            check_all_pages(*dump, memory);
        }
    }
}

TEST_CASE("reads that are not page-aligned and span several pages")
{
    SyntheticMemory memory;
    TempFile file(dump_bytes(memory, make_info(Endian::Little, Codec::Zstd)));
    auto dump = open_dump(file);
    // pfns 1, 2 and the start of 4 are dumpable; 3 is excluded.
    std::vector<uint8_t> expected;
    for (uint64_t pfn : { 1, 2 }) {
        auto page = memory.page(pfn);
        expected.insert(expected.end(), page.begin(), page.end());
    }
    std::vector<uint8_t> out(4096 + 96); // the tail of pfn 1, all of pfn 2
    REQUIRE(dump->read(4096 + 4000, out).ok());
    CHECK(std::equal(out.begin(), out.end(), expected.begin() + 4000));
    std::vector<uint8_t> small(10);
    REQUIRE(dump->read(2 * 4096 + 7, small).ok());
    CHECK(std::equal(small.begin(), small.end(), expected.begin() + 4096 + 7));
    CHECK(dump->read(0, {}).ok());

    std::vector<uint8_t> crossing(200);
    auto excluded = dump->read(4 * 4096 - 100, crossing);
    REQUIRE_FALSE(excluded.ok());
    CHECK(contains(excluded.error().message(), "physical address 0x3f9c"));
    CHECK(contains(excluded.error().message(), "excluded"));
    auto hole = dump->read(120 * 4096, small);
    REQUIRE_FALSE(hole.ok());
    CHECK(contains(hole.error().message(), "not in the dumped machine's memory map"));
    auto beyond = dump->read(memory.pfn_limit * 4096, small);
    REQUIRE_FALSE(beyond.ok());
    CHECK(contains(beyond.error().message(), "beyond"));
    CHECK_FALSE(dump->read(UINT64_MAX - 4, small).ok());
    CHECK_FALSE(dump->has_page(memory.pfn_limit));
    CHECK_FALSE(dump->in_memory_map(UINT64_MAX));
}

TEST_CASE("bitmap windows of any size give the same file")
{
    SyntheticMemory memory;
    auto info = make_info(Endian::Little, Codec::Zlib);
    auto reference = dump_bytes(memory, info, 1 << 20);
    for (uint64_t window : { 8, 16, 40, 64, 328 })
        CHECK(dump_bytes(memory, info, window) == reference);
}

TEST_CASE("a dump spanning several bitmap blocks and rank-index entries")
{
    SyntheticMemory memory;
    memory.pfn_limit = 3 * 4096 * 8 + 5; // 4 blocks per half at 4 KiB, 1 at 16 KiB
    memory.dumpable_stride = 37;
    for (uint64_t page_size : { 4096, 16384 }) {
        CAPTURE(page_size);
        memory.page_size = page_size;
        auto info = make_info(Endian::Big, Codec::Zstd, page_size);
        auto bytes = dump_bytes(memory, info, 4096);
        CHECK(field(bytes, Endian::Big, 436, 4) == 2 * (((memory.pfn_limit + 7) / 8 + page_size - 1) / page_size));
        CHECK(field(bytes, Endian::Big, 436, 4) == (page_size == 4096 ? 8 : 2));
        TempFile file(bytes);
        auto dump = open_dump(file);
        CHECK(dump->page_size() == page_size);
        check_all_pages(*dump, memory);
    }
}

TEST_CASE("a sparse pfn space: windows may skip holes, the gaps become zero bits")
{
    SyntheticMemory memory;
    auto info = make_info(Endian::Little, Codec::Zstd);
    MemorySink sink;
    // Only pfns 0..7 and 256..263 are in memory, all dumpable.
    auto writer = KdumpWriter::create(sink, info, 300, 16);
    REQUIRE(writer.ok());
    std::vector<uint8_t> all { 0xff };
    auto compressor = core::PageCompressor::create(Codec::Zstd, 4096);
    REQUIRE(compressor.ok());
    for (uint64_t start : { 0, 256 }) {
        REQUIRE(writer.value()->write_bitmaps(start, 8, all, all).ok());
        for (uint64_t pfn = start; pfn < start + 8; ++pfn)
            add_one_page(*writer.value(), *compressor.value(), memory, pfn, Codec::Zstd);
    }
    REQUIRE(writer.value()->finish().ok());
    TempFile file(sink.bytes);
    auto dump = open_dump(file);
    for (uint64_t pfn = 0; pfn < 300; ++pfn) {
        bool expected = pfn < 8 || (pfn >= 256 && pfn < 264);
        CHECK(dump->has_page(pfn) == expected);
        CHECK(dump->in_memory_map(pfn) == expected);
    }
    std::vector<uint8_t> page(4096);
    REQUIRE(dump->read(260 * 4096, page).ok());
    CHECK(page == memory.page(260));
}

TEST_CASE("the writer buffers: few large writes")
{
    SyntheticMemory memory;
    memory.pfn_limit = 2000;
    MemorySink sink;
    write_dump(sink, memory, make_info(Endian::Little, Codec::Zstd), 64);
    // header, 2 bitmaps, descriptors, data (~5 MiB raw): a handful of writes.
    CHECK(sink.writes < 20);
}

TEST_CASE("the writer refuses bad arguments with clear errors")
{
    MemorySink sink;
    auto info = make_info(Endian::Little, Codec::Zstd);
    SUBCASE("create")
    {
        auto bad_page = info;
        bad_page.page_size = 3000;
        CHECK_FALSE(KdumpWriter::create(sink, bad_page, 100, 10).ok());
        CHECK_FALSE(KdumpWriter::create(sink, info, 0, 0).ok());
        CHECK_FALSE(KdumpWriter::create(sink, info, 10, 11).ok());
        auto long_name = info;
        long_name.utsname[1] = std::string(65, 'x');
        auto named = KdumpWriter::create(sink, long_name, 100, 10);
        REQUIRE_FALSE(named.ok());
        CHECK(contains(named.error().message(), "utsname"));
        auto bad_vmcoreinfo = info;
        bad_vmcoreinfo.vmcoreinfo_offset_in_notes = info.note_bytes.size();
        CHECK_FALSE(KdumpWriter::create(sink, bad_vmcoreinfo, 100, 10).ok());
        CHECK_FALSE(KdumpWriter::create(sink, info, uint64_t(1) << 62, 0).ok());
        CHECK(sink.writes == 0);
        auto exact_name = info;
        exact_name.utsname[1] = std::string(64, 'x');
        CHECK(KdumpWriter::create(sink, exact_name, 100, 10).ok());
    }
    SUBCASE("bitmaps and pages")
    {
        auto writer = std::move(KdumpWriter::create(sink, info, 64, 3)).release_value();
        std::vector<uint8_t> present { 0xff, 0xff };
        std::vector<uint8_t> dumpable { 0x05, 0x00 }; // pfns 0 and 2
        CHECK_FALSE(writer->write_bitmaps(4, 8, present, dumpable).ok());   // not a multiple of 8
        CHECK_FALSE(writer->write_bitmaps(56, 16, present, dumpable).ok()); // past the limit
        CHECK_FALSE(writer->write_bitmaps(0, 16, present, std::span<uint8_t const>(dumpable).first(1)).ok());
        std::vector<uint8_t> too_many { 0xff, 0x00 };
        auto over = writer->write_bitmaps(0, 16, present, too_many);
        REQUIRE_FALSE(over.ok());
        CHECK(contains(over.error().message(), "more pages dumpable"));
        REQUIRE(writer->write_bitmaps(0, 16, present, dumpable).ok());
        CHECK_FALSE(writer->write_bitmaps(8, 8, present, dumpable).ok()); // overlaps

        std::vector<uint8_t> page(4096, 1);
        auto not_dumpable = writer->add_page(1, page, Codec::None);
        REQUIRE_FALSE(not_dumpable.ok());
        CHECK(contains(not_dumpable.error().message(), "0x1"));
        auto skipped = writer->add_page(2, page, Codec::None);
        REQUIRE_FALSE(skipped.ok());
        CHECK(contains(skipped.error().message(), "before the dumpable pfn 0x0"));
        CHECK_FALSE(writer->add_page(0, std::span<uint8_t const>(page).first(100), Codec::None).ok());
        CHECK_FALSE(writer->add_page(0, std::span<uint8_t const>(page).first(100), Codec::Zlib).ok());
        CHECK_FALSE(writer->add_page(0, {}, Codec::Zstd).ok());
        std::vector<uint8_t> oversized(4097, 1);
        CHECK_FALSE(writer->add_page(0, oversized, Codec::Zstd).ok());
        REQUIRE(writer->add_page(0, page, Codec::None).ok());
        CHECK_FALSE(writer->add_zero_page(0).ok()); // twice
        REQUIRE(writer->add_zero_page(2).ok());
        auto no_window = writer->add_zero_page(20);
        REQUIRE_FALSE(no_window.ok());
        CHECK(contains(no_window.error().message(), "no dumpable bit"));

        auto early = writer->finish();
        REQUIRE_FALSE(early.ok());
        CHECK(contains(early.error().message(), "1 were announced") == false);
        CHECK(contains(early.error().message(), "2 pages dumpable, but 3 were announced"));
        std::vector<uint8_t> last_present { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        std::vector<uint8_t> last_dumpable { 0x00, 0x00, 0x00, 0x00, 0x00, 0x80 };
        REQUIRE(writer->write_bitmaps(16, 48, last_present, last_dumpable).ok());
        auto missing = writer->finish();
        REQUIRE_FALSE(missing.ok());
        CHECK(contains(missing.error().message(), "1 of 3 dumpable pages were never added"));
        REQUIRE(writer->add_page(63, page, Codec::None).ok());
        REQUIRE(writer->finish().ok());
        CHECK(sink.finished());
        CHECK_FALSE(writer->add_zero_page(63).ok());
        CHECK_FALSE(writer->finish().ok());
    }
}

TEST_CASE("pages can share the bytes of an earlier identical page, and read back whole")
{
    // Three text pages: pfns 0 and 2 the same bytes, pfn 1 its own.
    KdumpHeaderInfo info = make_info(Endian::Little, Codec::Zstd);
    MemorySink sink;
    auto writer = std::move(KdumpWriter::create(sink, info, 16, 4)).release_value();
    std::vector<uint8_t> present { 0xff, 0xff };
    std::vector<uint8_t> dumpable { 0x0f, 0x00 }; // pfns 0-3
    REQUIRE(writer->write_bitmaps(0, 16, present, dumpable).ok());
    std::vector<uint8_t> same(4096, 's');
    std::vector<uint8_t> other(4096, 'o');
    auto compressor = std::move(core::PageCompressor::create(Codec::Zstd, 4096)).release_value();
    std::vector<uint8_t> packed(compressor->max_output_size());
    size_t packed_size = compressor->compress(same, packed).value();
    REQUIRE(packed_size > 0);
    auto first = writer->add_page(0, std::span<uint8_t const>(packed).first(packed_size), Codec::Zstd);
    REQUIRE(first.ok());
    CHECK(first.value().size == packed_size);
    CHECK(first.value().codec == Codec::Zstd);
    auto second = writer->add_page(1, other, Codec::None);
    REQUIRE(second.ok());
    CHECK(second.value().data_offset == first.value().data_offset + packed_size);

    // Bytes the writer never stored cannot be shared.
    core::StoredPage header_bytes { 0, 100, Codec::Zstd };
    auto refused = writer->add_shared_page(2, header_bytes);
    REQUIRE_FALSE(refused.ok());
    CHECK(contains(refused.error().message(), "did not store"));
    core::StoredPage past_end { second.value().data_offset + 4096, 10, Codec::Zstd };
    CHECK_FALSE(writer->add_shared_page(2, past_end).ok());
    core::StoredPage short_raw { second.value().data_offset, 100, Codec::None };
    CHECK_FALSE(writer->add_shared_page(2, short_raw).ok());
    core::StoredPage wrong_codec { first.value().data_offset, first.value().size, Codec::Zlib };
    CHECK_FALSE(writer->add_shared_page(2, wrong_codec).ok());

    REQUIRE(writer->add_shared_page(2, first.value()).ok());
    REQUIRE(writer->add_shared_page(3, second.value()).ok());
    CHECK_FALSE(writer->add_shared_page(3, second.value()).ok()); // pfn 3 is done
    REQUIRE(writer->finish().ok());

    TempFile file(sink.bytes);
    auto dump = open_dump(file);
    std::vector<uint8_t> page(4096);
    for (auto [pfn, expected] : { std::pair { 0, &same }, std::pair { 1, &other }, std::pair { 2, &same }, std::pair { 3, &other } }) {
        CAPTURE(pfn);
        REQUIRE(dump->read(static_cast<uint64_t>(pfn) * 4096, page).ok());
        CHECK(page == *expected);
    }
    // The file holds each page's bytes once.
    CHECK(sink.bytes.size() < first.value().data_offset + packed_size + 4096 + 4096);
}

TEST_CASE("an interrupted dump: descriptors flushed, lost pages zero, status flagged")
{
    SyntheticMemory memory;
    memory.pfn_limit = 12000; // about 3 MiB of data: several data flushes
    auto info = make_info(Endian::Little, Codec::Zstd);
    auto complete = dump_bytes(memory, info);
    uint64_t data_start = 4 * 4096 + 24 * memory.dumpable_count();
    REQUIRE(complete.size() > data_start + (2 << 20));
    for (bool rewritable : { true, false }) {
        // Inside the bitmaps, inside the descriptors, inside the data.
        for (uint64_t capacity : { uint64_t(10000), uint64_t(20000), data_start + (3 << 19), complete.size() - 5000 }) {
            CAPTURE(rewritable);
            CAPTURE(capacity);
            MemorySink sink(rewritable, capacity);
            auto writer = std::move(KdumpWriter::create(sink, info, memory.pfn_limit, memory.dumpable_count())).release_value();
            auto compressor = std::move(core::PageCompressor::create(Codec::Zstd, 4096)).release_value();
            bool failed = false;
            for (uint64_t start = 0; start < memory.pfn_limit && !failed; start += 4096) {
                uint64_t count = std::min<uint64_t>(4096, memory.pfn_limit - start);
                auto bitmaps = writer->write_bitmaps(start, count, memory.bitmap(start, count, false), memory.bitmap(start, count, true));
                REQUIRE(bitmaps.ok()); // buffered: the disk is not touched yet
                for (uint64_t pfn = start; pfn < start + count && !failed; ++pfn) {
                    if (!memory.dumpable(pfn))
                        continue;
                    auto page = memory.page(pfn);
                    std::vector<uint8_t> packed(compressor->max_output_size());
                    size_t size = compressor->compress(page, packed).value();
                    std::optional<core::Error> error;
                    if (memory.kind(pfn) == PageKind::Zero) {
                        if (auto added = writer->add_zero_page(pfn); !added.ok())
                            error = added.error();
                    } else if (auto added = size == 0 ? writer->add_page(pfn, page, Codec::None) : writer->add_page(pfn, std::span<uint8_t const>(packed).first(size), Codec::Zstd); !added.ok()) {
                        error = added.error();
                    }
                    failed = error.has_value();
                    if (failed)
                        CHECK(error->errno_code() == ENOSPC);
                }
            }
            if (!failed) {
                auto finished = writer->finish();
                REQUIRE_FALSE(finished.ok());
                CHECK(finished.error().errno_code() == ENOSPC);
            }
            auto marked = writer->mark_incomplete();
            CHECK(marked.ok());
            CHECK(sink.finished());
            CHECK_FALSE(writer->mark_incomplete().ok());
            // A stream gets the flag too, as a later record (#14): this
            // sink applies it in place, as -R does.
            CHECK(field(sink.bytes, Endian::Little, 424, 4) == 0x28u);

            TempFile file(sink.bytes);
            auto opened = KdumpFile::open(file.path);
            if (capacity == 10000) {
                // The disk filled inside the bitmaps: nothing to read.
                REQUIRE_FALSE(opened.ok());
                CHECK(contains(opened.error().message(), "bitmaps"));
                continue;
            }
            REQUIRE_MESSAGE(opened.ok(), opened.error().message());
            auto dump = std::move(opened).release_value();
            // Without the flag, only a file ending in its descriptor table
            // shows it; otherwise lost pages show one by one.
            if (rewritable || capacity == 20000)
                CHECK(dump->incomplete());
            uint64_t good = 0, lost = 0;
            std::vector<uint8_t> page(4096);
            for (uint64_t pfn = 0; pfn < memory.pfn_limit; ++pfn) {
                if (!memory.dumpable(pfn))
                    continue;
                auto read = dump->read(pfn * 4096, page);
                if (read.ok()) {
                    CHECK(page == memory.page(pfn)); // never garbage
                    ++good;
                } else if (dump->has_page(pfn)) {
                    CHECK(read.error().errno_code() == ENODATA);
                    CHECK(contains(read.error().message(), "lost"));
                    ++lost;
                } else {
                    // Its bitmap window never reached the disk: the bits
                    // stayed zero, so it reads as excluded (as with
                    // makedumpfile's cyclic mode).
                    CHECK(read.error().errno_code() == ENOENT);
                    ++lost;
                }
            }
            CHECK(lost > 0);
            CHECK((good > 0) == (capacity > data_start + (1 << 20)));
        }
    }
}

TEST_CASE("a kdump file cut short without the flag opens as incomplete")
{
    SyntheticMemory memory;
    memory.pfn_limit = 1200;
    auto bytes = dump_bytes(memory, make_info(Endian::Little, Codec::Zstd));
    uint64_t desc_at = 4 * 4096; // header, sub-header, two bitmap blocks
    REQUIRE(field(bytes, Endian::Little, 436, 4) == 2);
    bytes.resize(desc_at + 24 * 100);
    TempFile file(bytes);
    auto dump = open_dump(file);
    CHECK(dump->incomplete());
    std::vector<uint8_t> page(4096);
    CHECK_FALSE(dump->read(1100 * 4096, page).ok());
}

TEST_CASE("the reader rejects corrupt headers with clear errors")
{
    SyntheticMemory memory;
    auto good = dump_bytes(memory, make_info(Endian::Little, Codec::Zstd));
    Endian le = Endian::Little;

    CHECK(contains(open_error({}), "signature"));
    CHECK(contains(open_error({ 'K', 'D', 'U' }), "signature"));
    auto short_header = std::vector<uint8_t>(good.begin(), good.begin() + 300);
    CHECK(contains(open_error(short_header), "truncated"));
    auto bad = good;
    bad[0] = 'X';
    CHECK(contains(open_error(bad), "not a kdump"));
    bad = good;
    std::memcpy(bad.data(), "DISKDUMP", 8);
    CHECK(contains(open_error(bad), "DISKDUMP"));
    bad = good;
    put_field(bad, le, 8, 4, 0);
    CHECK(contains(open_error(bad), "version"));
    bad = good;
    put_field(bad, le, 8, 4, 7);
    CHECK(contains(open_error(bad), "version"));
    for (uint64_t block_size : { 0ull, 1000ull, 2048ull, 1ull << 19, 0xffffffffull }) {
        bad = good;
        put_field(bad, le, 428, 4, block_size);
        CHECK(contains(open_error(bad), "block size"));
    }
    bad = good;
    put_field(bad, le, 428, 4, 0);
    put_field(bad, le, 416, 4, 4096);
    CHECK(contains(open_error(bad), "32-bit"));
    for (uint64_t bitmap_blocks : { 0ull, 3ull, 0x7fffffffull, 0xfffffffeull }) {
        bad = good;
        put_field(bad, le, 436, 4, bitmap_blocks);
        CHECK(!open_error(bad).empty());
    }
    for (uint64_t sub_blocks : { 0ull, 0x7fffffffull, 0xffffffffull }) {
        bad = good;
        put_field(bad, le, 432, 4, sub_blocks);
        CHECK(!open_error(bad).empty());
    }
    bad = good;
    put_field(bad, le, 4096 + 96, 8, 4096 * 8 + 1);
    CHECK(contains(open_error(bad), "does not fit"));
    bad = good;
    put_field(bad, le, 4096 + 96, 8, uint64_t(1) << 40);
    CHECK(contains(open_error(bad), "does not fit"));
    bad = good;
    put_field(bad, le, 4096 + 12, 4, 1);
    CHECK(contains(open_error(bad), "split"));
    bad = good;
    put_field(bad, le, 4096 + 48, 8, good.size() - 10);
    CHECK(contains(open_error(bad), "notes"));
    bad = good;
    put_field(bad, le, 4096 + 56, 8, UINT64_MAX);
    CHECK(contains(open_error(bad), "notes"));
    bad = good;
    put_field(bad, le, 4096 + 32, 8, UINT64_MAX - 2);
    CHECK(contains(open_error(bad), "VMCOREINFO"));
    bad = good;
    put_field(bad, le, 4096 + 40, 8, uint64_t(1) << 30);
    CHECK(contains(open_error(bad), "VMCOREINFO"));
    auto truncated_bitmaps = std::vector<uint8_t>(good.begin(), good.begin() + 3 * 4096);
    CHECK(contains(open_error(truncated_bitmaps), "bitmaps"));
    CHECK(contains(open_error(truncated_bitmaps), "truncated"));
}

TEST_CASE("corrupt page descriptors and page data give errors naming the pfn")
{
    SyntheticMemory memory;
    auto good = dump_bytes(memory, make_info(Endian::Little, Codec::Zstd));
    Endian le = Endian::Little;
    uint64_t desc_at = 4 * 4096; // header, sub-header, two bitmap blocks
    // pfn 1 is the first dumpable text page after pfn 0 (zero): index 1.
    REQUIRE(memory.kind(0) == PageKind::Zero);
    REQUIRE(memory.kind(1) == PageKind::Text);
    uint64_t pfn1_desc = desc_at + 24;
    std::vector<uint8_t> page(4096);

    auto read_error = [&](std::vector<uint8_t> const& bytes) {
        TempFile file(bytes);
        auto dump = open_dump(file);
        auto read = dump->read(4096, page);
        REQUIRE_FALSE(read.ok());
        CHECK(contains(read.error().message(), "pfn 0x1"));
        return read.error().message();
    };
    auto bad = good;
    put_field(bad, le, pfn1_desc + 8, 4, 0);
    CHECK(contains(read_error(bad), "corrupt"));
    bad = good;
    put_field(bad, le, pfn1_desc + 8, 4, 4097);
    CHECK(contains(read_error(bad), "corrupt"));
    bad = good;
    put_field(bad, le, pfn1_desc, 8, good.size() - 10);
    CHECK(contains(read_error(bad), "past the end"));
    bad = good;
    put_field(bad, le, pfn1_desc, 8, UINT64_MAX - 10);
    CHECK(contains(read_error(bad), "past the end"));
    bad = good;
    put_field(bad, le, pfn1_desc, 8, 0);
    CHECK(contains(read_error(bad), "lost"));
    bad = good;
    put_field(bad, le, pfn1_desc + 12, 4, 0x2);
    CHECK(contains(read_error(bad), "LZO"));
    bad = good;
    put_field(bad, le, pfn1_desc + 12, 4, 0x1);
    CHECK(contains(read_error(bad), "zlib"));
    bad = good;
    put_field(bad, le, pfn1_desc + 12, 4, 0); // raw, but not a page long
    CHECK(contains(read_error(bad), "raw page"));
    bad = good;
    uint64_t data_at = field(good, le, pfn1_desc, 8);
    bad[data_at + 5] ^= 0xff;
    bad[data_at + 6] ^= 0xff;
    (void)read_error(bad);
}

TEST_CASE("truncated and bit-flipped files never crash the reader")
{
    SyntheticMemory memory;
    memory.pfn_limit = 150;
    auto good = dump_bytes(memory, make_info(Endian::Little, Codec::Zlib));
    std::vector<uint8_t> page(4096);
    // Opens and reads what it can; every refusal must say why. Returns
    // whether the file opened and how many of its pages read back.
    struct Outcome {
        bool opened { false };
        size_t pages_read { 0 };
    };
    auto exercise = [&](std::vector<uint8_t> const& bytes) {
        Outcome outcome;
        TempFile file(bytes);
        auto opened = KdumpFile::open(file.path);
        if (!opened.ok()) {
            CHECK_FALSE(opened.error().message().empty());
            return outcome;
        }
        outcome.opened = true;
        auto const& dump = *opened.value();
        (void)dump.vmcoreinfo_text();
        for (uint64_t pfn = 0; pfn < std::min<uint64_t>(dump.pfn_limit(), 200); ++pfn) {
            auto read = dump.read(pfn * dump.page_size(), std::span<uint8_t>(page).first(std::min<size_t>(page.size(), dump.page_size())));
            if (read.ok())
                ++outcome.pages_read;
            else
                CHECK_FALSE(read.error().message().empty());
        }
        return outcome;
    };
    auto intact = exercise(good);
    CHECK(intact.opened);
    size_t dumpable_pages = 0;
    for (uint64_t pfn = 0; pfn < memory.pfn_limit; ++pfn)
        dumpable_pages += memory.dumpable(pfn) ? 1 : 0;
    CHECK(intact.pages_read == dumpable_pages);
    for (size_t length = 0; length < good.size(); length += 997) {
        auto outcome = exercise(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<ptrdiff_t>(length)));
        // Without the whole header and sub-header there is nothing to open.
        if (length < 2 * 4096)
            CHECK_FALSE(outcome.opened);
    }
    std::mt19937 generator(1234);
    size_t mutated_opened = 0;
    for (int round = 0; round < 300; ++round) {
        auto bad = good;
        // Bias toward the header, sub-header and descriptors.
        size_t limit = round % 2 ? 4 * 4096 + 24 * 150 : bad.size();
        for (int flip = 0; flip < 4; ++flip)
            bad[generator() % limit] ^= static_cast<uint8_t>(1u << (generator() % 8));
        mutated_opened += exercise(bad).opened ? 1 : 0;
    }
    // Both paths ran: some damaged files were refused, some opened and read.
    CHECK(mutated_opened > 0);
    CHECK(mutated_opened < 300);
}

TEST_CASE("pages can be read from several threads at once")
{
    SyntheticMemory memory;
    TempFile file(dump_bytes(memory, make_info(Endian::Little, Codec::Zlib)));
    auto dump = open_dump(file);
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (size_t thread_index = 0; thread_index < mismatches.size(); ++thread_index) {
        threads.emplace_back([&, thread_index] {
            std::vector<uint8_t> page(4096);
            for (uint64_t pfn = thread_index; pfn < memory.pfn_limit; ++pfn) {
                if (!memory.dumpable(pfn))
                    continue;
                if (!dump->read(pfn * 4096, page).ok() || page != memory.page(pfn))
                    ++mismatches[thread_index];
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    for (int count : mismatches)
        CHECK(count == 0);
}

TEST_CASE("is_kdump_header looks at the signature")
{
    std::vector<uint8_t> kdump { 'K', 'D', 'U', 'M', 'P', ' ', ' ', ' ', 6, 0 };
    CHECK(core::is_kdump_header(kdump));
    CHECK_FALSE(core::is_kdump_header(std::span<uint8_t const>(kdump).first(7)));
    std::vector<uint8_t> elf { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
    CHECK_FALSE(core::is_kdump_header(elf));
    std::vector<uint8_t> flat { 'm', 'a', 'k', 'e', 'd', 'u', 'm', 'p' };
    CHECK_FALSE(core::is_kdump_header(flat));
}
