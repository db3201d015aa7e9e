// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/vmcore/vmcore_file.h"

#include "core/base/strings.h"
#include "tests/unit/synthetic_vmcore.h"

#include <doctest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <unistd.h>

using core::Endian;
using core::VmcoreFile;

namespace {

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Every 8-byte word of physical memory holds its own address, so any read
// can be checked without keeping a copy.
void fill_with_addresses(test::SyntheticVmcore& vmcore, uint64_t phys_start, uint64_t bytes)
{
    for (uint64_t paddr = phys_start; paddr < phys_start + bytes; paddr += 8)
        vmcore.write_u64(paddr, paddr);
}

bool holds_addresses(std::span<uint8_t const> bytes, uint64_t paddr)
{
    for (uint64_t offset = 0; offset + 8 <= bytes.size(); offset += 8) {
        if (core::load_uint(bytes.data() + offset, 8, Endian::Little) != paddr + offset)
            return false;
    }
    return true;
}

std::unique_ptr<VmcoreFile> open_ok(std::string const& path, VmcoreFile::Access access = VmcoreFile::Access::Auto)
{
    auto opened = VmcoreFile::open(path, access);
    if (!opened.ok())
        FAIL(opened.error().message());
    return opened.ok() ? std::move(opened).release_value() : nullptr;
}

} // namespace

TEST_CASE("vmcore_file: headers, notes and page geometry")
{
    test::SyntheticVmcore vmcore;
    vmcore.add_prstatus(100);
    vmcore.add_prstatus(101);
    vmcore.start_note_segment();
    vmcore.add_prstatus(102);
    vmcore.set_vmcoreinfo("OSRELEASE=6.1.0-test\nPAGESIZE=4096\n");
    vmcore.add_load(0x2000, 0x5000);
    vmcore.add_load(0x100000, 0x2800, 0x1000);
    auto file = vmcore.write_file();
    auto opened = open_ok(file.path());

    CHECK(opened->path() == file.path());
    CHECK(opened->endian() == Endian::Little);
    CHECK(opened->header().machine == core::elf::machine_x86_64);
    CHECK(opened->header().loads.size() == 2);
    CHECK(opened->header().notes.size() == 2);
    CHECK(opened->cpu_count() == 3);
    CHECK(opened->page_size() == 4096);
    // roundup(0x102800, 4096) / 4096
    CHECK(opened->pfn_limit() == 0x103);
    REQUIRE(opened->vmcoreinfo_text().has_value());
    CHECK(*opened->vmcoreinfo_text() == "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n");

    // Note offsets are relative to the concatenated note bytes.
    auto note_bytes = opened->note_bytes();
    CHECK(note_bytes.size() == opened->header().notes[0].file_size + opened->header().notes[1].file_size);
    REQUIRE(opened->notes().size() == 4);
    for (auto const& note : opened->notes()) {
        REQUIRE(note.desc_offset + note.desc.size() <= note_bytes.size());
        CHECK(note_bytes.data() + note.desc_offset == note.desc.data());
    }
    CHECK(opened->notes()[3].name == "VMCOREINFO");
    CHECK(core::load_uint(opened->notes()[2].desc.data() + 32, 4, Endian::Little) == 102);

    CHECK_FALSE(opened->has_page(0));
    CHECK_FALSE(opened->has_page(1));
    CHECK(opened->has_page(2));
    CHECK(opened->has_page(6));
    CHECK_FALSE(opened->has_page(7));
    CHECK(opened->has_page(0x100));
    // p_memsz past p_filesz holds no data: in an ELF dump (-E) those are
    // the excluded pages, so they are not the input's to keep.
    CHECK_FALSE(opened->has_page(0x101));
    CHECK_FALSE(opened->has_page(0x102)); // half of it is in the PT_LOAD's p_memsz
    CHECK_FALSE(opened->has_page(0x103));
    CHECK_FALSE(opened->has_page(~0ull));
    REQUIRE(opened->load_for(0x2000) != nullptr);
    CHECK(opened->load_for(0x2000)->mem_size == 0x5000);
    REQUIRE(opened->load_for(0x6fff) != nullptr);
    CHECK(opened->load_for(0x6fff)->phys_start == 0x2000);
    CHECK(opened->load_for(0x7000) == nullptr);
    CHECK(opened->load_for(0x1fff) == nullptr);
    REQUIRE(opened->load_for(0x1027ff) != nullptr);
    CHECK(opened->load_for(0x102800) == nullptr);
}

TEST_CASE("vmcore_file: reads through mmap windows and through pread alike")
{
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, 0x20000);
    vmcore.add_load(0x20000, 0x10000); // adjacent: one read spans both
    vmcore.add_load(0x100000, 0x4000, 0x2000);
    fill_with_addresses(vmcore, 0, 0x30000);
    fill_with_addresses(vmcore, 0x100000, 0x2000);
    auto file = vmcore.write_file();

    for (auto access : { VmcoreFile::Access::Auto, VmcoreFile::Access::PreadOnly }) {
        CAPTURE(static_cast<int>(access));
        auto opened = open_ok(file.path(), access);
        std::vector<uint8_t> buffer(0x18000);
        REQUIRE(opened->read(0x10000, buffer).ok());
        CHECK(holds_addresses(buffer, 0x10000));

        std::vector<uint8_t> small(24);
        REQUIRE(opened->read(0x2fff0, std::span(small).first(16)).ok());
        CHECK(holds_addresses(std::span(small).first(16), 0x2fff0));

        // p_memsz beyond p_filesz reads as zeros.
        std::vector<uint8_t> tail(0x2000, 0xee);
        REQUIRE(opened->read(0x101000, tail).ok());
        CHECK(holds_addresses(std::span(tail).first(0x1000), 0x101000));
        CHECK(std::all_of(tail.begin() + 0x1000, tail.end(), [](uint8_t byte) { return byte == 0; }));

        // A page no PT_LOAD touches is an error that names the address.
        auto hole = opened->read(0x2f000, buffer);
        REQUIRE_FALSE(hole.ok());
        CHECK(contains(hole.error().message(), "0x30000"));
        CHECK(contains(hole.error().message(), file.path()));
        CHECK(contains(hole.error().message(), "PT_LOAD"));

        auto wrap = opened->read(~0ull - 4, small);
        REQUIRE_FALSE(wrap.ok());
        CHECK(contains(wrap.error().message(), "wraps"));

        CHECK(opened->read(0x104000, std::span(small).first(0)).ok());
    }
}

TEST_CASE("vmcore_file: gaps inside a partly covered page read as zeros")
{
    // RAM ranges need not be page-aligned (e.g. 0x1000-0x9fbff).
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0x1000, 0x9ec00);
    vmcore.add_load(0x9fe00, 0x100);
    fill_with_addresses(vmcore, 0x1000, 0x9ec00);
    vmcore.write_u64(0x9fe00, 0x1122334455667788);
    auto file = vmcore.write_file();
    auto opened = open_ok(file.path());
    CHECK(opened->has_page(0x9f));
    CHECK_FALSE(opened->has_page(0xa0));
    CHECK(opened->pfn_limit() == 0xa0);

    std::vector<uint8_t> page(4096, 0xee);
    REQUIRE(opened->read(0x9f000, page).ok());
    CHECK(holds_addresses(std::span(page).first(0xc00), 0x9f000));
    CHECK(std::all_of(page.begin() + 0xc00, page.begin() + 0xe00, [](uint8_t byte) { return byte == 0; }));
    CHECK(core::load_uint(page.data() + 0xe00, 8, Endian::Little) == 0x1122334455667788);
    CHECK(std::all_of(page.begin() + 0xf00, page.end(), [](uint8_t byte) { return byte == 0; }));

    std::vector<uint8_t> two_pages(8192);
    auto past = opened->read(0x9f000, two_pages);
    REQUIRE_FALSE(past.ok());
    CHECK(contains(past.error().message(), "0xa0000"));
}

TEST_CASE("vmcore_file: overlapping PT_LOADs (kernel text inside RAM) resolve")
{
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0x1000000, 0x200000, std::nullopt, 0xffffffff81000000); // text, listed first as kexec does
    vmcore.add_load(0x100000, 0x2000000);
    vmcore.add_load(0x3000000, 0x1000);
    fill_with_addresses(vmcore, 0x1000000, 0x200000);
    fill_with_addresses(vmcore, 0x100000, 0x2000000);
    auto file = vmcore.write_file();
    auto opened = open_ok(file.path());
    for (uint64_t paddr : { 0x100000ull, 0xfff000ull, 0x1000000ull, 0x11ff000ull, 0x1200000ull, 0x20ff000ull }) {
        CAPTURE(paddr);
        REQUIRE(opened->load_for(paddr) != nullptr);
        std::vector<uint8_t> page(4096);
        REQUIRE(opened->read(paddr, page).ok());
        CHECK(holds_addresses(page, paddr));
    }
    CHECK(opened->load_for(0x2100000) == nullptr);
    CHECK(opened->has_page(0x20ff));
    CHECK_FALSE(opened->has_page(0x2100));
    CHECK(opened->has_page(0x3000));
    // A read that runs from the text segment's range on into RAM beyond it.
    std::vector<uint8_t> span_read(0x3000);
    REQUIRE(opened->read(0x11ff000, span_read).ok());
    CHECK(holds_addresses(span_read, 0x11ff000));
}

TEST_CASE("vmcore_file: page size comes from VMCOREINFO")
{
    test::SyntheticVmcore vmcore;
    vmcore.set_vmcoreinfo("PAGESIZE=16384\n");
    vmcore.add_load(0, 0x5000);
    auto file = vmcore.write_file();
    auto opened = open_ok(file.path());
    CHECK(opened->page_size() == 16384);
    CHECK(opened->pfn_limit() == 2);
    CHECK(opened->has_page(1));

    vmcore.set_vmcoreinfo("PAGESIZE=12345\n");
    auto bad_file = vmcore.write_file();
    auto bad = VmcoreFile::open(bad_file.path());
    REQUIRE_FALSE(bad.ok());
    CHECK(contains(bad.error().message(), "PAGESIZE=12345"));

    // A VMCOREINFO that does not parse leaves the dumped CPU's (x86_64's)
    // page size.
    vmcore.set_vmcoreinfo("PAGESIZE=banana\n");
    auto odd_file = vmcore.write_file();
    auto odd = open_ok(odd_file.path());
    CHECK(odd->page_size() == 4096);
}

TEST_CASE("vmcore_file: without PAGESIZE the page size is the dumped CPU's, a guess only when the caller asks")
{
    test::SyntheticVmcore x86_64;
    x86_64.add_load(0, 0x5000);
    auto x86_64_file = x86_64.write_file();
    CHECK(open_ok(x86_64_file.path())->page_size() == 4096);

    // EM_S390: a CPU whose dumps this build cannot read.
    test::SyntheticVmcore s390x(Endian::Big, 22);
    s390x.add_load(0, 0x5000);
    auto s390x_file = s390x.write_file();
    auto unknown = VmcoreFile::open(s390x_file.path());
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message() == core::cat(s390x_file.path(), ": the page size is unknown without VMCOREINFO PAGESIZE: vmcore is for e_machine 22 (s390x); this build reads dumps of: x86_64, aarch64"));

    // The collector's fallback (#14) asks for 4 KiB pages rather than fail.
    auto assumed = VmcoreFile::open(s390x_file.path(), VmcoreFile::Access::Auto, 4096);
    REQUIRE(assumed.ok());
    CHECK(assumed.value()->page_size() == 4096);

    // VMCOREINFO's PAGESIZE is enough to read its physical memory.
    s390x.set_vmcoreinfo("PAGESIZE=4096\n");
    auto named_file = s390x.write_file();
    CHECK(open_ok(named_file.path())->page_size() == 4096);
}

TEST_CASE("vmcore_file: big-endian and PN_XNUM files open")
{
    test::SyntheticVmcore big(Endian::Big, core::elf::machine_aarch64);
    big.set_vmcoreinfo("PAGESIZE=4096\n"); // aarch64 kernels have more than one
    big.add_prstatus(7);
    big.add_load(0x40000000, 0x2000);
    big.write_u64(0x40000008, 0x0102030405060708);
    big.set_program_header_escape(true);
    auto file = big.write_file();
    auto opened = open_ok(file.path());
    CHECK(opened->endian() == Endian::Big);
    CHECK(opened->cpu_count() == 1);
    CHECK(opened->pfn_limit() == 0x40002);
    std::vector<uint8_t> word(8);
    REQUIRE(opened->read(0x40000008, word).ok());
    CHECK(core::load_uint(word.data(), 8, Endian::Big) == 0x0102030405060708);
}

TEST_CASE("vmcore_file: bad files give clear errors")
{
    test::SyntheticVmcore vmcore;
    vmcore.add_prstatus(1);
    vmcore.add_load(0, 0x3000);
    vmcore.add_load(0x10000, 0x3000);
    auto bytes = vmcore.build();

    SUBCASE("missing file")
    {
        auto result = VmcoreFile::open("/nonexistent/vmcore");
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "/nonexistent/vmcore"));
    }
    SUBCASE("empty file")
    {
        auto file = test::write_temp_file({});
        auto result = VmcoreFile::open(file.path());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "empty"));
    }
    SUBCASE("truncated in the last PT_LOAD")
    {
        auto file = test::write_temp_file(std::span(bytes).first(bytes.size() - 0x800));
        auto result = VmcoreFile::open(file.path());
        REQUIRE_FALSE(result.ok());
        std::string message = result.error().message();
        CHECK(contains(message, file.path()));
        CHECK(contains(message, "PT_LOAD 1"));
        CHECK(contains(message, "truncated"));
    }
    SUBCASE("truncated inside the program headers")
    {
        auto file = test::write_temp_file(std::span(bytes).first(100));
        auto result = VmcoreFile::open(file.path());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "truncated"));
    }
    SUBCASE("not a core file")
    {
        auto copy = bytes;
        core::store_uint(copy.data() + 16, 2, 2, Endian::Little); // ET_EXEC
        auto file = test::write_temp_file(copy);
        auto result = VmcoreFile::open(file.path());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "ET_CORE"));
    }
    SUBCASE("no PT_LOAD")
    {
        test::SyntheticVmcore empty;
        empty.add_prstatus(1);
        auto file = empty.write_file();
        auto result = VmcoreFile::open(file.path());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "no PT_LOAD"));
    }
    SUBCASE("corrupt note: its segment's notes are ignored, the memory still opens (#14)")
    {
        auto copy = bytes;
        auto header = core::elf::parse_header(copy, copy.size()).value();
        core::store_uint(copy.data() + header.notes[0].file_offset + 4, 4, 0x10000, Endian::Little);
        auto file = test::write_temp_file(copy);
        auto result = VmcoreFile::open(file.path());
        REQUIRE(result.ok());
        CHECK(result.value()->notes().empty());
        CHECK_FALSE(result.value()->note_bytes().empty()); // still copied verbatim
    }
    SUBCASE("not ELF at all")
    {
        std::string text = "hello, this is not a vmcore at all";
        auto file = test::write_temp_file({ reinterpret_cast<uint8_t const*>(text.data()), text.size() });
        auto result = VmcoreFile::open(file.path());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "not an ELF"));
    }
}

TEST_CASE("vmcore_file: concurrent reads across many mmap windows stay correct")
{
    // 40 MiB: more 4 MiB windows than the cache keeps, so threads evict
    // windows other threads may still be copying from.
    constexpr uint64_t memory_bytes = 40ull << 20;
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, memory_bytes);
    fill_with_addresses(vmcore, 0, memory_bytes);
    auto file = vmcore.write_file();
    for (auto access : { VmcoreFile::Access::Auto, VmcoreFile::Access::PreadOnly }) {
        auto opened = open_ok(file.path(), access);
        std::atomic<int> bad_reads { 0 };
        std::vector<std::thread> threads;
        for (int thread_index = 0; thread_index < 4; ++thread_index) {
            threads.emplace_back([&, thread_index] {
                uint64_t state = 0x12345 + static_cast<uint64_t>(thread_index);
                std::vector<uint8_t> buffer(256 << 10);
                for (int round = 0; round < 300; ++round) {
                    state = state * 6364136223846793005ull + 1442695040888963407ull;
                    uint64_t length = 8 * (1 + (state >> 33) % (buffer.size() / 8));
                    uint64_t paddr = ((state >> 7) % (memory_bytes - length)) & ~7ull;
                    auto span = std::span(buffer).first(length);
                    if (!opened->read(paddr, span).ok() || !holds_addresses(span, paddr))
                        ++bad_reads;
                }
            });
        }
        for (auto& thread : threads)
            thread.join();
        CHECK(bad_reads.load() == 0);
    }
}
