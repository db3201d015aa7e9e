// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/elf_writer.h"

#include "core/base/bytes.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <doctest.h>
#include <fcntl.h>
#include <set>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;
constexpr uint64_t page = 4096;

// Bit p set: pfn p kept.
struct Bitmap {
    Bytes bits;
    explicit Bitmap(uint64_t pfns, bool kept = true) : bits((pfns + 7) / 8, kept ? 0xff : 0x00) { }
    void set(uint64_t first_pfn, uint64_t count, bool kept)
    {
        for (uint64_t pfn = first_pfn; pfn < first_pfn + count; ++pfn) {
            if (kept)
                bits[pfn >> 3] = static_cast<uint8_t>(bits[pfn >> 3] | (1u << (pfn & 7)));
            else
                bits[pfn >> 3] = static_cast<uint8_t>(bits[pfn >> 3] & ~(1u << (pfn & 7)));
        }
    }
    bool kept(uint64_t pfn) const { return (bits[pfn >> 3] >> (pfn & 7)) & 1; }
};

core::ElfLoadInput input(uint64_t phys_start, uint64_t mem_size, uint64_t virt_start = 0)
{
    core::ElfLoadInput load;
    load.phys_start = phys_start;
    load.mem_size = mem_size;
    load.virt_start = virt_start;
    return load;
}

core::ElfLoadPlan plan(std::vector<core::ElfLoadInput> const& inputs, Bitmap const& bitmap)
{
    auto result = core::plan_elf_loads(inputs, page, bitmap.bits);
    REQUIRE(result.ok());
    return std::move(result).release_value();
}

void check_load(core::ElfDumpLoad const& load, uint64_t phys_start, uint64_t file_size, uint64_t mem_size)
{
    CHECK(load.phys_start == phys_start);
    CHECK(load.file_size == file_size);
    CHECK(load.mem_size == mem_size);
}

// Collects writes in memory; can be told to fail with ENOSPC past a size.
class MemorySink final : public core::OutputSink {
public:
    core::Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override
    {
        if (offset + data.size() > m_limit)
            return core::Error::from_errno(ENOSPC, "write memory sink");
        if (m_bytes.size() < offset + data.size())
            m_bytes.resize(offset + data.size());
        std::copy(data.begin(), data.end(), m_bytes.begin() + static_cast<ptrdiff_t>(offset));
        ++m_writes;
        return {};
    }
    core::Result<void> finish() override
    {
        m_finished = true;
        return {};
    }
    bool can_rewrite() const override { return m_can_rewrite; }
    uint64_t bytes_written() const override { return m_bytes.size(); }

    Bytes m_bytes;
    uint64_t m_limit { ~uint64_t(0) };
    size_t m_writes { 0 };
    bool m_finished { false };
    bool m_can_rewrite { true };
};

uint8_t memory_byte(uint64_t paddr) { return static_cast<uint8_t>((paddr * 131) ^ (paddr >> 12) ^ 0x5a); }

// Memory whose bytes are a function of their address, minus some pages.
class FakeMemory final : public core::PhysicalMemory {
public:
    core::Result<void> read(uint64_t paddr, std::span<uint8_t> out) const override
    {
        for (size_t index = 0; index < out.size(); ++index) {
            uint64_t address = paddr + index;
            if (!has_page(address / page) || address >= m_end)
                return core::Error::invalid(core::cat("no memory at ", core::hex(address)));
            if (m_unreadable_pfns.count(address / page))
                return core::Error::with_code(EIO, core::cat("pread at ", core::hex(address)));
            out[index] = m_zero_pfns.count(address / page) ? 0 : memory_byte(address);
        }
        return {};
    }
    bool has_page(uint64_t pfn) const override { return pfn < m_end / page + 1 && !m_absent_pfns.count(pfn); }
    uint64_t page_size() const override { return page; }
    uint64_t pfn_limit() const override { return (m_end + page - 1) / page; }
    core::Endian endian() const override { return core::Endian::Little; }

    uint64_t m_end { 1 << 30 };
    std::set<uint64_t> m_absent_pfns;
    std::set<uint64_t> m_zero_pfns;
    std::set<uint64_t> m_unreadable_pfns; // in the memory map, but EIO
};

struct ParsedPhdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct ParsedElf {
    uint16_t type, machine, phnum, shentsize, shnum;
    uint32_t flags;
    uint64_t phoff, shoff;
    std::vector<ParsedPhdr> phdrs;
};

// An independent decoding of what the writer produced.
ParsedElf parse_elf(Bytes const& file, core::Endian endian)
{
    core::ByteReader reader(file, endian, "written ELF");
    REQUIRE(file.size() >= 64);
    CHECK(std::memcmp(file.data(), "\x7f"
                                   "ELF",
              4)
        == 0);
    CHECK(file[4] == 2);
    CHECK(file[5] == (endian == core::Endian::Little ? 1 : 2));
    CHECK(file[6] == 1);
    ParsedElf elf {};
    core::ByteCursor cursor(reader, 16);
    elf.type = cursor.u16();
    elf.machine = cursor.u16();
    CHECK(cursor.u32() == 1); // e_version
    CHECK(cursor.u64() == 0); // e_entry
    elf.phoff = cursor.u64();
    elf.shoff = cursor.u64();
    elf.flags = cursor.u32();
    CHECK(cursor.u16() == 64);
    CHECK(cursor.u16() == 56);
    elf.phnum = cursor.u16();
    elf.shentsize = cursor.u16();
    elf.shnum = cursor.u16();
    CHECK(cursor.u16() == 0);
    REQUIRE(cursor.status().ok());
    uint64_t count = elf.phnum;
    if (elf.phnum == 0xffff) {
        REQUIRE(elf.shoff != 0);
        count = reader.u32(elf.shoff + 44).value();
    }
    core::ByteCursor headers(reader, elf.phoff);
    for (uint64_t index = 0; index < count; ++index) {
        ParsedPhdr phdr {};
        phdr.type = headers.u32();
        phdr.flags = headers.u32();
        phdr.offset = headers.u64();
        phdr.vaddr = headers.u64();
        phdr.paddr = headers.u64();
        phdr.filesz = headers.u64();
        phdr.memsz = headers.u64();
        phdr.align = headers.u64();
        elf.phdrs.push_back(phdr);
    }
    REQUIRE(headers.status().ok());
    return elf;
}

Bytes notes_fixture()
{
    // One VMCOREINFO-style note; the writer copies it verbatim.
    Bytes notes(40, 0);
    core::ByteWriter writer(core::Endian::Little);
    writer.put_u32(0, 11);
    writer.put_u32(4, 16);
    writer.put_u32(8, 0);
    writer.put_string(12, "VMCOREINFO");
    writer.put_string(24, "OSRELEASE=6.1\n");
    writer.resize(40);
    return Bytes(writer.bytes().begin(), writer.bytes().end());
}

} // namespace

TEST_CASE("plan_elf_loads: nothing excluded keeps each input load whole")
{
    Bitmap bitmap(4096);
    auto result = plan({ input(0x1000, 0x9f000, 0xffff888000001000), input(0x100000, 0x700000, 0xffff888000100000) }, bitmap);
    REQUIRE(result.loads.size() == 2);
    check_load(result.loads[0], 0x1000, 0x9f000, 0x9f000);
    CHECK(result.loads[0].virt_start == 0xffff888000001000);
    check_load(result.loads[1], 0x100000, 0x700000, 0x700000);
    CHECK(result.data_bytes == 0x79f000);
    CHECK(result.dropped_pages == 0);
    CHECK(result.stored_excluded_pages == 0);
    CHECK(result.page_size == page);
    CHECK_FALSE(result.loads[0].zero_file_offset);
}

TEST_CASE("plan_elf_loads: 255 excluded pages stay, 256 split the load")
{
    constexpr uint64_t base_pfn = 0x100;
    auto inputs = std::vector { input(base_pfn * page, 1000 * page, 0xffff888000000000 + base_pfn * page) };

    SUBCASE("a run of 255 is stored")
    {
        Bitmap bitmap(2048);
        bitmap.set(base_pfn + 100, 255, false);
        auto result = plan(inputs, bitmap);
        REQUIRE(result.loads.size() == 1);
        check_load(result.loads[0], base_pfn * page, 1000 * page, 1000 * page);
        CHECK(result.stored_excluded_pages == 255);
        CHECK(result.dropped_pages == 0);
    }
    SUBCASE("a run of 256 splits")
    {
        Bitmap bitmap(2048);
        bitmap.set(base_pfn + 100, 256, false);
        auto result = plan(inputs, bitmap);
        REQUIRE(result.loads.size() == 2);
        // The first load spans the run in p_memsz only.
        check_load(result.loads[0], base_pfn * page, 100 * page, 356 * page);
        check_load(result.loads[1], (base_pfn + 356) * page, 644 * page, 644 * page);
        CHECK(result.loads[1].virt_start == 0xffff888000000000 + (base_pfn + 356) * page);
        CHECK(result.dropped_pages == 256);
        CHECK(result.stored_excluded_pages == 0);
        CHECK(result.data_bytes == 744 * page);
        CHECK_FALSE(result.loads[0].zero_file_offset);
    }
    SUBCASE("runs split independently; short runs between are stored")
    {
        Bitmap bitmap(2048);
        bitmap.set(base_pfn + 10, 300, false);
        bitmap.set(base_pfn + 320, 3, false);
        bitmap.set(base_pfn + 400, 500, false);
        auto result = plan(inputs, bitmap);
        REQUIRE(result.loads.size() == 3);
        check_load(result.loads[0], base_pfn * page, 10 * page, 310 * page);
        check_load(result.loads[1], (base_pfn + 310) * page, 90 * page, 590 * page);
        check_load(result.loads[2], (base_pfn + 900) * page, 100 * page, 100 * page);
        CHECK(result.dropped_pages == 800);
        CHECK(result.stored_excluded_pages == 3);
    }
}

TEST_CASE("plan_elf_loads: excluded runs at the edges of an input load")
{
    SUBCASE("a leading run of 256 gives an empty load with p_offset 0")
    {
        Bitmap bitmap(1024);
        bitmap.set(0, 256, false);
        auto result = plan({ input(0, 512 * page) }, bitmap);
        REQUIRE(result.loads.size() == 2);
        check_load(result.loads[0], 0, 0, 256 * page);
        CHECK(result.loads[0].zero_file_offset);
        check_load(result.loads[1], 256 * page, 256 * page, 256 * page);
        CHECK(result.loads[1].virt_start == 0); // no input p_vaddr: stays unknown
    }
    SUBCASE("a leading run of 255 is stored")
    {
        Bitmap bitmap(1024);
        bitmap.set(0, 255, false);
        auto result = plan({ input(0, 512 * page) }, bitmap);
        REQUIRE(result.loads.size() == 1);
        check_load(result.loads[0], 0, 512 * page, 512 * page);
    }
    SUBCASE("a trailing run is never stored, however short")
    {
        Bitmap bitmap(1024);
        bitmap.set(511, 1, false);
        auto result = plan({ input(0, 512 * page) }, bitmap);
        REQUIRE(result.loads.size() == 1);
        check_load(result.loads[0], 0, 511 * page, 512 * page);
        CHECK(result.dropped_pages == 1);
    }
    SUBCASE("everything excluded: one load with no file data")
    {
        Bitmap bitmap(1024, false);
        auto result = plan({ input(0x10000, 300 * page), input(0x200000, 2 * page) }, bitmap);
        REQUIRE(result.loads.size() == 2);
        check_load(result.loads[0], 0x10000, 0, 300 * page);
        check_load(result.loads[1], 0x200000, 0, 2 * page);
        CHECK_FALSE(result.loads[0].zero_file_offset); // closed by the end, not a split
        CHECK(result.data_bytes == 0);
        CHECK(result.dropped_pages == 302);
    }
}

TEST_CASE("plan_elf_loads: input load boundaries are never crossed")
{
    // Two adjacent loads, 200 excluded pages on each side of the seam: the
    // first keeps its tail out of the file, the second stores its 200.
    Bitmap bitmap(2048);
    bitmap.set(300, 400, false);
    auto result = plan({ input(0, 500 * page), input(500 * page, 500 * page) }, bitmap);
    REQUIRE(result.loads.size() == 2);
    check_load(result.loads[0], 0, 300 * page, 500 * page);
    check_load(result.loads[1], 500 * page, 500 * page, 500 * page);
    CHECK(result.dropped_pages == 200);
    CHECK(result.stored_excluded_pages == 200);

    // Overlapping loads (the kernel text PT_LOAD of x86_64 vmcores) are
    // each planned on their own, in input order.
    auto overlapping = plan({ input(0x1000000, 0x2000000, 0xffffffff81000000), input(0, 0x4000000, 0xffff888000000000) }, Bitmap(0x4000));
    REQUIRE(overlapping.loads.size() == 2);
    check_load(overlapping.loads[0], 0x1000000, 0x2000000, 0x2000000);
    CHECK(overlapping.loads[0].virt_start == 0xffffffff81000000);
    check_load(overlapping.loads[1], 0, 0x4000000, 0x4000000);
}

TEST_CASE("plan_elf_loads: partial first and last pages")
{
    Bitmap bitmap(1024);
    // Head fragment 0x100..0x1000 is kept without a bit; pfn 1 and 2
    // excluded; the partial last page (pfn 600) follows its bit.
    bitmap.set(0, 1, false); // ignored: the head fragment has no bit of its own
    bitmap.set(600, 1, false);
    auto result = plan({ input(0x100, 600 * page + 0x80 - 0x100) }, bitmap);
    REQUIRE(result.loads.size() == 1);
    uint64_t head = page - 0x100;
    check_load(result.loads[0], 0x100, head + 599 * page, head + 599 * page + 0x80);

    Bitmap all(1024);
    auto kept = plan({ input(0x100, 600 * page + 0x80 - 0x100) }, all);
    check_load(kept.loads[0], 0x100, 600 * page + 0x80 - 0x100, 600 * page + 0x80 - 0x100);

    // A load inside one page stores exactly its bytes.
    auto tiny = plan({ input(0x2010, 0x20) }, Bitmap(16, false));
    REQUIRE(tiny.loads.size() == 1);
    check_load(tiny.loads[0], 0x2010, 0x20, 0x20);

    // A 256-page run after an unaligned head splits at the next kept page.
    Bitmap split(1024);
    split.set(1, 256, false);
    auto after_head = plan({ input(0x800, 400 * page) }, split);
    REQUIRE(after_head.loads.size() == 2);
    check_load(after_head.loads[0], 0x800, page - 0x800, page - 0x800 + 256 * page);
    CHECK(after_head.loads[1].phys_start == 257 * page);
}

TEST_CASE("plan_elf_loads: pfns past the bitmap count as excluded; bad input is an error")
{
    Bitmap small(8); // pfns 0..7
    auto result = plan({ input(0, 300 * page) }, small);
    REQUIRE(result.loads.size() == 1);
    check_load(result.loads[0], 0, 8 * page, 300 * page);

    auto empty_bitmap = core::plan_elf_loads(std::vector { input(0, 300 * page) }, page, {});
    REQUIRE(empty_bitmap.ok());
    check_load(empty_bitmap->loads[0], 0, 0, 300 * page);

    auto skipped = plan({ input(0x5000, 0), input(0, page) }, Bitmap(8));
    REQUIRE(skipped.loads.size() == 1);
    CHECK(skipped.loads[0].phys_start == 0);

    auto no_loads = core::plan_elf_loads({}, page, small.bits);
    REQUIRE_FALSE(no_loads.ok());
    CHECK(no_loads.error().message().find("no PT_LOAD") != std::string::npos);

    auto bad_page = core::plan_elf_loads(std::vector { input(0, page) }, 3000, small.bits);
    REQUIRE_FALSE(bad_page.ok());
    CHECK(bad_page.error().message().find("power of two") != std::string::npos);
    CHECK_FALSE(core::plan_elf_loads(std::vector { input(0, page) }, 0, small.bits).ok());

    auto wraps = core::plan_elf_loads(std::vector { input(0, page), input(~uint64_t(0) - 0x1000, 0x2000) }, page, small.bits);
    REQUIRE_FALSE(wraps.ok());
    CHECK(wraps.error().message().find("PT_LOAD #1") != std::string::npos);
    CHECK_FALSE(core::plan_elf_loads(std::vector { input(~uint64_t(0) - 0x1000, 0x800) }, page, small.bits).ok());
}

TEST_CASE("elf_load_inputs carries addresses and sizes over")
{
    std::vector<core::elf::LoadSegment> segments { { 0x1000, 0xffff888000001000, 0x2000, 0x9f000, 0x9f000 } };
    auto inputs = core::elf_load_inputs(segments);
    REQUIRE(inputs.size() == 1);
    CHECK(inputs[0].phys_start == 0x1000);
    CHECK(inputs[0].virt_start == 0xffff888000001000);
    CHECK(inputs[0].mem_size == 0x9f000);
    CHECK(inputs[0].flags == 7);
    CHECK(inputs[0].align == 0);
}

TEST_CASE("ElfDumpWriter writes headers, notes and load data that read back")
{
    Bitmap bitmap(2048);
    bitmap.set(20, 300, false);  // splits the first load
    bitmap.set(400, 10, false);  // stored
    std::vector inputs { input(0x1000, 1000 * page - 0x1000 + 0x123, 0xffff888000001000), input(0x1000000, 16 * page) };
    auto load_plan = plan(inputs, bitmap);
    REQUIRE(load_plan.loads.size() == 3);

    FakeMemory memory;
    memory.m_end = 0x1000000 + 16 * page;
    memory.m_absent_pfns = { 405, 0x1000 + 3 };
    Bytes notes = notes_fixture();
    MemorySink sink;
    core::ElfDumpHeaderInfo info;
    info.machine = core::elf::machine_x86_64;
    info.note_align = 4;
    auto writer = core::ElfDumpWriter::create(sink, info, notes, load_plan).value();
    uint64_t data_offset = 64 + 4 * 56 + notes.size();
    CHECK(writer->data_offset() == data_offset);
    CHECK(sink.m_bytes.size() == data_offset); // headers and notes at once
    CHECK(writer->next_paddr() == 0x1000);
    CHECK(writer->bytes_left_in_load() == 19 * page);

    std::vector<uint64_t> progress;
    REQUIRE(writer->copy_from(memory, [&](uint64_t done) { progress.push_back(done); }).ok());
    CHECK(writer->done());
    CHECK_FALSE(progress.empty());
    CHECK(progress.back() == load_plan.data_bytes);
    REQUIRE(writer->finish().ok());
    CHECK(sink.m_finished);
    CHECK(sink.m_bytes.size() == data_offset + load_plan.data_bytes);

    auto elf = parse_elf(sink.m_bytes, core::Endian::Little);
    CHECK(elf.type == 4);
    CHECK(elf.machine == 62);
    CHECK(elf.flags == 0);
    CHECK(elf.phoff == 64);
    CHECK(elf.shoff == 0);
    CHECK(elf.shnum == 0);
    REQUIRE(elf.phnum == 4);
    ParsedPhdr const& note = elf.phdrs[0];
    CHECK(note.type == 4);
    CHECK(note.offset == 64 + 4 * 56);
    CHECK(note.filesz == notes.size());
    CHECK(note.memsz == notes.size());
    CHECK(note.align == 4);
    CHECK(std::equal(notes.begin(), notes.end(), sink.m_bytes.begin() + static_cast<ptrdiff_t>(note.offset)));

    uint64_t expected_offset = data_offset;
    for (size_t index = 0; index < 3; ++index) {
        ParsedPhdr const& phdr = elf.phdrs[index + 1];
        auto const& load = load_plan.loads[index];
        CAPTURE(index);
        CHECK(phdr.type == 1);
        CHECK(phdr.flags == 7);
        CHECK(phdr.offset == expected_offset);
        CHECK(phdr.paddr == load.phys_start);
        CHECK(phdr.vaddr == load.virt_start);
        CHECK(phdr.filesz == load.file_size);
        CHECK(phdr.memsz == load.mem_size);
        // Every stored byte is memory's, or zero where memory has no page.
        for (uint64_t byte = 0; byte < phdr.filesz; ++byte) {
            uint64_t paddr = phdr.paddr + byte;
            uint8_t expected = memory.has_page(paddr / page) ? memory_byte(paddr) : 0;
            if (sink.m_bytes[phdr.offset + byte] != expected) {
                FAIL("byte at paddr ", core::hex(paddr), " differs");
                break;
            }
        }
        expected_offset += phdr.filesz;
    }
    CHECK(elf.phdrs[2].vaddr == 0xffff888000000000 + 320 * page);
    CHECK(elf.phdrs[3].vaddr == 0);

    // The project's ELF reader agrees.
    auto header = core::elf::parse_header(sink.m_bytes, sink.m_bytes.size());
    REQUIRE(header.ok());
    CHECK(header->type == 4);
    CHECK(header->machine == core::elf::machine_x86_64);
    REQUIRE(header->notes.size() == 1);
    CHECK(header->notes[0].file_offset == 64 + 4 * 56);
    REQUIRE(header->loads.size() == 3);
    for (size_t index = 0; index < 3; ++index) {
        CHECK(header->loads[index].phys_start == load_plan.loads[index].phys_start);
        CHECK(header->loads[index].file_size == load_plan.loads[index].file_size);
        CHECK(header->loads[index].mem_size == load_plan.loads[index].mem_size);
    }
    auto parsed_notes = core::elf::parse_notes(std::span(sink.m_bytes).subspan(64 + 4 * 56, notes.size()), core::Endian::Little);
    REQUIRE(parsed_notes.ok());
    REQUIRE(parsed_notes->size() == 1);
    CHECK(parsed_notes->at(0).name == "VMCOREINFO");
}

TEST_CASE("ElfDumpWriter: write() in pieces matches copy_from; misuse is an error")
{
    Bitmap bitmap(64);
    auto load_plan = plan({ input(0, 8 * page), input(0x10000, 3 * page) }, bitmap);
    FakeMemory memory;
    MemorySink copied;
    auto by_copy = core::ElfDumpWriter::create(copied, {}, {}, load_plan).value();
    REQUIRE(by_copy->copy_from(memory).ok());
    REQUIRE(by_copy->finish().ok());

    MemorySink pieced;
    auto writer = core::ElfDumpWriter::create(pieced, {}, {}, load_plan).value();
    auto early = writer->finish();
    REQUIRE_FALSE(early.ok());
    CHECK(early.error().message().find("only 0 of the 45056 bytes") != std::string::npos);
    // Odd-sized pieces that run across the load boundary.
    while (!writer->done()) {
        uint64_t paddr = writer->next_paddr();
        uint64_t length = std::min<uint64_t>(writer->bytes_left_in_load(), 777);
        Bytes piece(length);
        REQUIRE(memory.read(paddr, piece).ok());
        REQUIRE(writer->write(piece).ok());
    }
    CHECK(writer->next_paddr() == 0);
    CHECK(writer->bytes_left_in_load() == 0);
    auto too_much = writer->write(Bytes(1, 0));
    REQUIRE_FALSE(too_much.ok());
    CHECK(too_much.error().message().find("only 0 left") != std::string::npos);
    REQUIRE(writer->finish().ok());
    CHECK(pieced.m_bytes == copied.m_bytes);
    CHECK_FALSE(writer->write(Bytes(1, 0)).ok());

    // A plan whose sizes do not add up is refused.
    auto broken = load_plan;
    broken.data_bytes += 1;
    MemorySink unused;
    CHECK_FALSE(core::ElfDumpWriter::create(unused, {}, {}, broken).ok());
    auto inverted = load_plan;
    inverted.loads[0].mem_size = 1;
    CHECK_FALSE(core::ElfDumpWriter::create(unused, {}, {}, inverted).ok());
    CHECK(unused.m_bytes.empty());

    FakeMemory other_pages;
    struct BigPages final : public core::PhysicalMemory {
        core::Result<void> read(uint64_t, std::span<uint8_t>) const override { return {}; }
        bool has_page(uint64_t) const override { return true; }
        uint64_t page_size() const override { return 65536; }
        uint64_t pfn_limit() const override { return 1; }
        core::Endian endian() const override { return core::Endian::Little; }
    } big_pages;
    MemorySink mismatch_sink;
    auto mismatch = core::ElfDumpWriter::create(mismatch_sink, {}, {}, load_plan).value();
    auto refused = mismatch->copy_from(big_pages);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().find("page size") != std::string::npos);
}

TEST_CASE("ElfDumpWriter: a read error stops the copy")
{
    Bitmap bitmap(64);
    auto load_plan = plan({ input(0, 8 * page) }, bitmap);
    FakeMemory memory;
    memory.m_end = 5 * page + 10; // has_page says yes, read fails
    MemorySink sink;
    auto writer = core::ElfDumpWriter::create(sink, {}, {}, load_plan).value();
    auto copied = writer->copy_from(memory);
    REQUIRE_FALSE(copied.ok());
    CHECK(copied.error().message().find("no memory at 0x500a") != std::string::npos);
}

TEST_CASE("ElfDumpWriter big-endian output")
{
    Bitmap bitmap(64);
    auto load_plan = plan({ input(0x4000, 2 * page, 0xc000000000004000) }, bitmap);
    FakeMemory memory;
    MemorySink sink;
    core::ElfDumpHeaderInfo info;
    info.endian = core::Endian::Big;
    info.machine = 22; // EM_S390
    info.flags = 0x10;
    auto writer = core::ElfDumpWriter::create(sink, info, notes_fixture(), load_plan).value();
    REQUIRE(writer->copy_from(memory).ok());
    REQUIRE(writer->finish().ok());
    auto elf = parse_elf(sink.m_bytes, core::Endian::Big);
    CHECK(elf.machine == 22);
    CHECK(elf.flags == 0x10);
    REQUIRE(elf.phdrs.size() == 2);
    CHECK(elf.phdrs[1].paddr == 0x4000);
    CHECK(elf.phdrs[1].vaddr == 0xc000000000004000);
    CHECK(elf.phdrs[1].filesz == 2 * page);
}

TEST_CASE("ElfDumpWriter: 65535 or more program headers use PN_XNUM")
{
    // Built by hand: 70000 loads of one page each.
    core::ElfLoadPlan load_plan;
    load_plan.page_size = page;
    for (uint64_t index = 0; index < 70000; ++index) {
        core::ElfDumpLoad load;
        load.phys_start = index * 2 * page;
        load.file_size = index % 2 ? page : 0;
        load.mem_size = page;
        load.zero_file_offset = load.file_size == 0;
        load_plan.loads.push_back(load);
        load_plan.data_bytes += load.file_size;
    }
    MemorySink sink;
    Bytes notes = notes_fixture();
    auto writer = core::ElfDumpWriter::create(sink, {}, notes, load_plan).value();
    uint64_t section_offset = 64 + 70001 * 56;
    CHECK(writer->data_offset() == section_offset + 64 + notes.size());
    CHECK(writer->next_paddr() == 2 * page); // empty loads are skipped
    auto elf = parse_elf(sink.m_bytes, core::Endian::Little);
    CHECK(elf.phnum == 0xffff);
    CHECK(elf.shoff == section_offset);
    CHECK(elf.shentsize == 64);
    CHECK(elf.shnum == 1);
    core::ByteReader reader(sink.m_bytes, core::Endian::Little, "section header");
    CHECK(reader.u32(section_offset + 4).value() == 0);  // SHT_NULL
    CHECK(reader.u64(section_offset + 32).value() == 1); // sh_size = e_shnum
    CHECK(reader.u32(section_offset + 44).value() == 70001);
    REQUIRE(elf.phdrs.size() == 70001);
    CHECK(elf.phdrs[0].offset == section_offset + 64);
    CHECK(elf.phdrs[1].offset == 0);
    CHECK(elf.phdrs[2].offset == writer->data_offset());
    CHECK(elf.phdrs[4].offset == writer->data_offset() + page);
    CHECK(elf.phdrs[70000].offset == writer->data_offset() + 34999 * page);

    auto header = core::elf::parse_header(sink.m_bytes, writer->data_offset() + load_plan.data_bytes);
    REQUIRE(header.ok());
    CHECK(header->loads.size() == 70000);
    CHECK(header->header_bytes == section_offset + 64);
}

TEST_CASE("ElfDumpWriter: an unreadable page is written as zeros, listed, and the finished dump flagged (#14)")
{
    Bitmap bitmap(64); // all kept
    auto load_plan = plan({ input(0, 64 * page) }, bitmap);
    FakeMemory memory;
    memory.m_unreadable_pfns = { 5, 40 };
    for (bool stream : { false, true }) {
        CAPTURE(stream);
        MemorySink sink;
        sink.m_can_rewrite = !stream;
        auto writer = core::ElfDumpWriter::create(sink, {}, {}, load_plan).value();
        std::vector<uint64_t> lost;
        REQUIRE(writer->copy_from(memory, {}, &lost).ok());
        CHECK(lost == std::vector<uint64_t> { 5, 40 });
        REQUIRE(writer->mark_incomplete().ok());
        CHECK(sink.m_finished); // every byte came: a stream gets its end record too
        auto elf = parse_elf(sink.m_bytes, core::Endian::Little);
        CHECK((elf.flags & core::ElfDumpWriter::incomplete_flag) != 0);
        uint64_t data = elf.phdrs.back().offset;
        CHECK(sink.m_bytes[data + 5 * page] == 0);
        CHECK(sink.m_bytes[data + 5 * page + page - 1] == 0);
        CHECK(sink.m_bytes[data + 6 * page + 1] == memory_byte(6 * page + 1));
    }
}

TEST_CASE("ElfDumpWriter::mark_incomplete sets e_flags bit 0 where it can")
{
    Bitmap bitmap(4096);
    auto load_plan = plan({ input(0, 1024 * page) }, bitmap);
    FakeMemory memory;
    core::ElfDumpHeaderInfo info;
    info.flags = 0x40;

    MemorySink sink;
    sink.m_limit = 64 + 2 * 56 + (1 << 20) + 100; // room for one data chunk
    auto writer = core::ElfDumpWriter::create(sink, info, {}, load_plan).value();
    auto copied = writer->copy_from(memory);
    REQUIRE_FALSE(copied.ok());
    CHECK(copied.error().errno_code() == ENOSPC);
    REQUIRE(writer->mark_incomplete().ok());
    CHECK(sink.m_finished); // synced
    CHECK_FALSE(writer->write(Bytes(1, 0)).ok());
    auto elf = parse_elf(sink.m_bytes, core::Endian::Little);
    CHECK(elf.flags == (0x40 | core::ElfDumpWriter::incomplete_flag));
    CHECK(elf.phdrs.size() == 2); // the rest of the header is as it was

    MemorySink stream;
    stream.m_can_rewrite = false;
    auto streamed = core::ElfDumpWriter::create(stream, info, {}, load_plan).value();
    size_t writes = stream.m_writes;
    REQUIRE(streamed->mark_incomplete().ok());
    CHECK(stream.m_writes == writes + 1); // the flagged header, a later record -R applies (#14)
    CHECK_FALSE(stream.m_finished);       // and, cut short, no end record: -R will say incomplete
    CHECK(parse_elf(stream.m_bytes, core::Endian::Little).flags == (0x40 | core::ElfDumpWriter::incomplete_flag));
}

TEST_CASE("exclude_zero_pages clears kept zero pages only")
{
    FakeMemory memory;
    memory.m_end = 64 * page + 100;
    memory.m_zero_pfns = { 3, 4, 40, 64 };
    Bitmap bitmap(72);
    bitmap.set(4, 1, false);  // already excluded
    bitmap.set(16, 8, false); // a whole excluded byte
    auto cleared = core::exclude_zero_pages(memory, bitmap.bits, 65);
    REQUIRE(cleared.ok());
    CHECK(cleared.value() == 2); // pfn 3 and 40; pfn 64's page cannot be read whole
    CHECK_FALSE(bitmap.kept(3));
    CHECK_FALSE(bitmap.kept(40));
    CHECK(bitmap.kept(64));
    CHECK(bitmap.kept(0));
    CHECK(bitmap.kept(41));
    CHECK(bitmap.kept(66)); // past pfn_limit: untouched

    // A bitmap shorter than pfn_limit is not overrun.
    Bitmap short_bitmap(8);
    CHECK(core::exclude_zero_pages(memory, short_bitmap.bits, 1000).value() == 2);
    CHECK(short_bitmap.bits == Bytes { 0xe7 });
}

TEST_CASE("an ELF dump through FlattenedSink rebuilds into the direct file")
{
    Bitmap bitmap(4096);
    bitmap.set(100, 300, false);
    bitmap.set(600, 7, false);
    auto load_plan = plan({ input(0x1000, 1500 * page, 0xffff888000001000), input(0x100000, 0x20000) }, bitmap);
    FakeMemory memory;
    Bytes notes = notes_fixture();

    auto direct_fd = core::UniqueFd(::memfd_create("direct", MFD_CLOEXEC));
    auto stream_fd = core::UniqueFd(::memfd_create("stream", MFD_CLOEXEC));
    auto rebuilt_fd = core::UniqueFd(::memfd_create("rebuilt", MFD_CLOEXEC));
    REQUIRE((direct_fd.valid() && stream_fd.valid() && rebuilt_fd.valid()));

    core::FileSink file_sink(direct_fd.get(), "direct");
    auto direct = core::ElfDumpWriter::create(file_sink, {}, notes, load_plan).value();
    REQUIRE(direct->copy_from(memory).ok());
    REQUIRE(direct->finish().ok());

    auto flattened_sink = core::FlattenedSink::create(stream_fd.get(), "stream").value();
    auto flattened = core::ElfDumpWriter::create(*flattened_sink, {}, notes, load_plan).value();
    REQUIRE(flattened->copy_from(memory).ok());
    REQUIRE(flattened->finish().ok());
    CHECK(flattened_sink->bytes_written() == file_sink.bytes_written());

    REQUIRE(::lseek(stream_fd.get(), 0, SEEK_SET) == 0);
    REQUIRE(core::rebuild_flattened(stream_fd.get(), "stream", rebuilt_fd.get(), "rebuilt").ok());
    auto read_all = [](int fd) {
        struct stat status;
        REQUIRE(::fstat(fd, &status) == 0);
        Bytes bytes(static_cast<size_t>(status.st_size));
        REQUIRE(core::pread_full(fd, bytes, 0, "file").value() == bytes.size());
        return bytes;
    };
    Bytes expected = read_all(direct_fd.get());
    CHECK(expected.size() == direct->data_offset() + load_plan.data_bytes);
    CHECK(read_all(rebuilt_fd.get()) == expected);
}
