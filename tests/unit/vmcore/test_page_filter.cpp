// SPDX-License-Identifier: GPL-2.0-or-later
// The page filter against a fake kernel: struct pages and mem_section laid
// out as a 6.1 x86_64 kernel has them (or as other eras where a test says
// so), in a map of bytes behind KernelMemory.
#include "core/vmcore/page_filter.h"

#include "core/base/strings.h"
#include "core/vmcore/elf.h"

#include <doctest.h>

#include <bit>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

constexpr uint64_t page_size = 4096;
constexpr uint64_t pages_per_section = 32768; // SECTION_SIZE_BITS 27
constexpr uint64_t struct_page_bytes = 64;
constexpr uint64_t vmemmap_base = 0xffffea0000000000;
constexpr uint64_t mem_section_roots = 0xffff888100000000;  // the root array
constexpr uint64_t mem_section_pointer = 0xffff888100100000; // a variable pointing to it
constexpr uint64_t mem_section_block = 0xffff888100200000;  // root 0's 256 sections

// struct page on 6.1 x86_64.
constexpr uint64_t offset_flags = 0;
constexpr uint64_t offset_compound_head = 8;
constexpr uint64_t offset_compound_dtor = 16;
constexpr uint64_t offset_compound_order = 17;
constexpr uint64_t offset_mapping = 24;
constexpr uint64_t offset_private = 40;
constexpr uint64_t offset_mapcount = 48;

// 6.1 page flag bits and type values.
constexpr uint64_t pg_lru = 1 << 4;
constexpr uint64_t pg_slab = 1 << 9;
constexpr uint64_t pg_swapcache = 1 << 10;
constexpr uint64_t pg_private = 1 << 13;
constexpr uint64_t pg_head = 1 << 16;
constexpr uint64_t pg_swapbacked = 1 << 19;
constexpr uint64_t pg_hwpoison = 1 << 22;
constexpr uint32_t buddy_mapcount = 0xffffff7f;   // ~0x80 = -129
constexpr uint32_t offline_mapcount = 0xfffffeff; // ~0x100 = -257
constexpr uint8_t hugetlb_dtor = 2;
constexpr uint8_t transhuge_dtor = 3;
constexpr uint64_t anon_vma = 0xffff888012345601;  // low bit: anonymous
constexpr uint64_t address_space = 0xffff888012340000;

class FakeKernelMemory final : public core::KernelMemory {
public:
    core::Result<void> read(uint64_t vaddr, std::span<uint8_t> out) const override
    {
        auto region = m_regions.upper_bound(vaddr);
        if (region != m_regions.begin()) {
            --region;
            uint64_t offset = vaddr - region->first;
            if (core::extent_within(offset, out.size(), region->second.size())) {
                std::memcpy(out.data(), region->second.data() + offset, out.size());
                return {};
            }
        }
        return core::Error::invalid(core::cat("fake kernel memory: ", out.size(), " bytes at ", core::hex(vaddr), " are not mapped"));
    }
    core::Endian endian() const override { return core::Endian::Little; }

    std::vector<uint8_t>& map(uint64_t vaddr, uint64_t size, uint8_t fill = 0) { return m_regions[vaddr] = std::vector<uint8_t>(size, fill); }
    void unmap(uint64_t vaddr) { m_regions.erase(vaddr); }
    void put_u64(uint64_t vaddr, uint64_t value) { put(vaddr, 8, value); }
    void put_u32(uint64_t vaddr, uint32_t value) { put(vaddr, 4, value); }
    void put_u8(uint64_t vaddr, uint8_t value) { put(vaddr, 1, value); }
    uint64_t get_u64(uint64_t vaddr) const
    {
        uint8_t bytes[8];
        REQUIRE(read(vaddr, bytes).ok());
        return core::load_uint(bytes, 8, core::Endian::Little);
    }

private:
    void put(uint64_t vaddr, unsigned width, uint64_t value)
    {
        auto region = m_regions.upper_bound(vaddr);
        REQUIRE(region != m_regions.begin());
        --region;
        REQUIRE(core::extent_within(vaddr - region->first, width, region->second.size()));
        core::store_uint(region->second.data() + (vaddr - region->first), width, value, core::Endian::Little);
    }

    std::map<uint64_t, std::vector<uint8_t>> m_regions;
};

class FakePhysicalMemory final : public core::PhysicalMemory {
public:
    explicit FakePhysicalMemory(uint64_t pfn_limit) : m_pfn_limit(pfn_limit) { }
    core::Result<void> read(uint64_t paddr, std::span<uint8_t>) const override { return core::Error::invalid(core::cat("no physical memory at ", core::hex(paddr))); }
    bool has_page(uint64_t pfn) const override { return pfn < m_pfn_limit && !holes.count(pfn); }
    uint64_t page_size() const override { return ::page_size; }
    uint64_t pfn_limit() const override { return m_pfn_limit; }
    core::Endian endian() const override { return core::Endian::Little; }

    std::set<uint64_t> holes;

private:
    uint64_t m_pfn_limit;
};

// A kernel with sparsemem sections and a VMCOREINFO that tests can edit.
struct FakeKernel {
    FakeKernelMemory memory;
    std::map<std::string, std::string> vmcoreinfo {
        { "OSRELEASE", "6.1.0-28-cloud-amd64" },
        { "PAGESIZE", "4096" },
        { "SYMBOL(init_top_pgt)", "ffffffff82a0a000" },
        { "SYMBOL(mem_section)", "ffff888100000000" },
        { "LENGTH(mem_section)", "2048" },
        { "SIZE(mem_section)", "16" },
        { "OFFSET(mem_section.section_mem_map)", "0" },
        { "NUMBER(SECTION_SIZE_BITS)", "27" },
        { "NUMBER(MAX_PHYSMEM_BITS)", "46" },
        { "SIZE(page)", "64" },
        { "OFFSET(page.flags)", "0" },
        { "OFFSET(page._refcount)", "52" },
        { "OFFSET(page.mapping)", "24" },
        { "OFFSET(page.lru)", "8" },
        { "OFFSET(page._mapcount)", "48" },
        { "OFFSET(page.private)", "40" },
        { "OFFSET(page.compound_dtor)", "16" },
        { "OFFSET(page.compound_order)", "17" },
        { "OFFSET(page.compound_head)", "8" },
        { "LENGTH(zone.free_area)", "11" },
        { "NUMBER(PG_lru)", "4" },
        { "NUMBER(PG_private)", "13" },
        { "NUMBER(PG_swapcache)", "10" },
        { "NUMBER(PG_swapbacked)", "19" },
        { "NUMBER(PG_slab)", "9" },
        { "NUMBER(PG_hwpoison)", "22" },
        { "NUMBER(PG_head_mask)", "65536" },
        { "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", "-129" },
        { "NUMBER(HUGETLB_PAGE_DTOR)", "2" },
        { "NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)", "-257" },
    };

    FakeKernel()
    {
        memory.map(mem_section_roots, 2048 * 8);
        memory.map(mem_section_pointer, 8);
        memory.put_u64(mem_section_pointer, mem_section_roots);
        memory.map(mem_section_block, page_size);
        memory.put_u64(mem_section_roots, mem_section_block);
    }

    // A present section with its struct pages, all "unused" (_mapcount -1).
    std::vector<uint8_t>& add_section(uint64_t section_nr)
    {
        uint64_t start_pfn = section_nr * pages_per_section;
        // The kernel stores the map biased by -start_pfn, plus flag bits
        // (present, has mem_map, online, early).
        memory.put_u64(mem_section_block + section_nr * 16, vmemmap_base | 0xf);
        auto& pages = memory.map(struct_page(start_pfn), pages_per_section * struct_page_bytes);
        for (uint64_t index = 0; index < pages_per_section; ++index)
            core::store_uint(pages.data() + index * struct_page_bytes + offset_mapcount, 4, 0xffffffff, core::Endian::Little);
        return pages;
    }

    static uint64_t struct_page(uint64_t pfn) { return vmemmap_base + pfn * struct_page_bytes; }
    void set_flags(uint64_t pfn, uint64_t flags) { memory.put_u64(struct_page(pfn) + offset_flags, flags); }
    void set_mapping(uint64_t pfn, uint64_t mapping) { memory.put_u64(struct_page(pfn) + offset_mapping, mapping); }
    void set_mapcount(uint64_t pfn, uint32_t mapcount) { memory.put_u32(struct_page(pfn) + offset_mapcount, mapcount); }
    void set_private(uint64_t pfn, uint64_t value) { memory.put_u64(struct_page(pfn) + offset_private, value); }

    void make_buddy(uint64_t pfn, uint64_t order)
    {
        set_mapcount(pfn, buddy_mapcount);
        set_private(pfn, order);
    }

    // A 6.1 compound page: PG_head on the head, order and dtor in the first
    // tail, every tail pointing at its head with bit 0 set.
    void make_compound(uint64_t head_pfn, unsigned order, uint64_t head_flags, uint8_t dtor)
    {
        set_flags(head_pfn, head_flags | pg_head);
        memory.put_u8(struct_page(head_pfn + 1) + offset_compound_dtor, dtor);
        memory.put_u8(struct_page(head_pfn + 1) + offset_compound_order, static_cast<uint8_t>(order));
        for (uint64_t tail = 1; tail < (uint64_t(1) << order); ++tail)
            memory.put_u64(struct_page(head_pfn + tail) + offset_compound_head, struct_page(head_pfn) | 1);
    }

    // The dumped CPU, chosen by e_machine as for a real vmcore; null: a CPU
    // with no sparsemem defaults.
    arch::DumpArch const* dump_arch { arch::dump_arch_for_elf_machine(core::elf::machine_x86_64).value() };

    core::VmcoreInfo info() const
    {
        std::string text;
        for (auto const& [key, value] : vmcoreinfo)
            text += core::cat(key, '=', value, '\n');
        return core::VmcoreInfo::parse(text).value();
    }
    std::optional<arch::SparsememDefaults> sparsemem_defaults() const { return dump_arch ? dump_arch->sparsemem_defaults(info()) : std::nullopt; }
};

struct FilterRun {
    std::vector<uint8_t> keep;
    core::ExclusionCounts counts;
    std::vector<std::string> warnings;
    uint64_t pfn_limit { 0 };

    bool kept(uint64_t pfn) const { return (keep[pfn / 8] >> (pfn % 8)) & 1; }
    uint64_t kept_in(uint64_t first_pfn, uint64_t end_pfn) const
    {
        uint64_t count = 0;
        for (uint64_t pfn = first_pfn; pfn < end_pfn; ++pfn)
            count += kept(pfn);
        return count;
    }
    bool warned_about(std::string_view text) const
    {
        for (auto const& warning : warnings) {
            if (warning.find(text) != std::string::npos)
                return true;
        }
        return false;
    }
};

// Runs the filter over [0, pfn_limit) in windows, the bitmap starting with
// the bits of the pfns the fake physical memory holds.
FilterRun run_filter(FakeKernel const& kernel, FakePhysicalMemory const& physical, int dump_level, uint64_t window_pages = 1 << 16)
{
    FilterRun run;
    auto info = kernel.info();
    auto filter = core::PageFilter::create(info, kernel.sparsemem_defaults(), kernel.memory, physical, dump_level, [&](std::string const& message) { run.warnings.push_back(message); });
    REQUIRE(filter.ok());
    run.pfn_limit = filter.value()->pfn_limit();
    std::vector<uint8_t> keep((physical.pfn_limit() + 7) / 8, 0);
    for (uint64_t pfn = 0; pfn < physical.pfn_limit(); ++pfn) {
        if (physical.has_page(pfn))
            keep[pfn / 8] |= static_cast<uint8_t>(1u << (pfn % 8));
    }
    // Windows are copied out and back so that each one's bit 0 is its
    // first pfn, whatever its alignment.
    for (uint64_t start = 0; start < physical.pfn_limit(); start += window_pages) {
        uint64_t count = std::min(window_pages, physical.pfn_limit() - start);
        std::vector<uint8_t> window((count + 7) / 8, 0);
        for (uint64_t index = 0; index < count; ++index) {
            if ((keep[(start + index) / 8] >> ((start + index) % 8)) & 1)
                window[index / 8] |= static_cast<uint8_t>(1u << (index % 8));
        }
        auto excluded = filter.value()->exclude(start, count, window, run.counts);
        REQUIRE_MESSAGE(excluded.ok(), excluded.error().message());
        for (uint64_t index = 0; index < count; ++index) {
            uint8_t mask = static_cast<uint8_t>(1u << ((start + index) % 8));
            if ((window[index / 8] >> (index % 8)) & 1)
                keep[(start + index) / 8] |= mask;
            else
                keep[(start + index) / 8] &= static_cast<uint8_t>(~mask);
        }
    }
    run.keep = std::move(keep);
    return run;
}

uint64_t count_kept(FilterRun const& run, uint64_t pfn_limit) { return run.kept_in(0, pfn_limit); }

// Two sections of a 6.1 kernel with one page (or block) of every kind.
struct EveryKind {
    FakeKernel kernel;
    FakePhysicalMemory physical { 2 * pages_per_section };

    EveryKind()
    {
        kernel.add_section(0);
        kernel.add_section(1);
        kernel.make_buddy(1024, 3);                  // 1024-1031 free
        kernel.set_flags(1100, pg_slab);             // slab: never free,
        kernel.make_buddy(1100, 0);                  // whatever its _mapcount
        kernel.make_buddy(1200, 40);                 // corrupt order: kept
        kernel.set_flags(2000, pg_lru);              // page cache
        kernel.set_mapping(2000, address_space);
        kernel.set_flags(2001, pg_lru | pg_private); // page cache with buffers
        kernel.set_mapping(2001, address_space);
        kernel.set_flags(2002, pg_swapcache | pg_swapbacked); // swap cache
        kernel.set_flags(2003, pg_swapcache);        // PG_owner_priv_1: not cache
        kernel.set_flags(2004, pg_lru);              // anonymous on the LRU
        kernel.set_mapping(2004, anon_vma);
        kernel.set_mapping(2005, anon_vma);          // anonymous
        kernel.set_flags(3000, pg_hwpoison);
        kernel.set_mapcount(3001, offline_mapcount);
        kernel.make_compound(4096, 9, 0, hugetlb_dtor); // a 2 MiB hugetlbfs page
        kernel.make_compound(8192, 9, pg_lru, transhuge_dtor); // an anonymous THP
        kernel.set_mapping(8192, anon_vma);
        kernel.make_compound(12288, 2, pg_lru, 1);   // a file folio of 4 pages
        kernel.set_mapping(12288, address_space);
        kernel.make_compound(12301, 2, pg_lru, 1);   // misaligned: order taken as 0
        kernel.set_mapping(12301, address_space);
        kernel.make_buddy(40000, 10);                // second section: 1024 free
    }
};

} // namespace

TEST_CASE("dump levels 0 and 1 need no VMCOREINFO and leave every page in")
{
    FakeKernelMemory memory;
    FakePhysicalMemory physical(1000);
    auto info = core::VmcoreInfo::parse("").value();
    for (int level : { 0, 1 }) {
        std::vector<std::string> warnings;
        auto filter = core::PageFilter::create(info, std::nullopt, memory, physical, level, [&](std::string const& message) { warnings.push_back(message); });
        REQUIRE(filter.ok());
        CHECK(filter.value()->pfn_limit() == 1000);
        std::vector<uint8_t> keep(125, 0xff);
        core::ExclusionCounts counts;
        REQUIRE(filter.value()->exclude(0, 1000, keep, counts).ok());
        CHECK(std::all_of(keep.begin(), keep.end(), [](uint8_t byte) { return byte == 0xff; }));
        CHECK(counts.total() == 0);
        CHECK(warnings.empty());
    }
}

TEST_CASE("a dump level outside 0..31 is an error")
{
    FakeKernelMemory memory;
    FakePhysicalMemory physical(8);
    auto info = core::VmcoreInfo::parse("").value();
    auto negative = core::PageFilter::create(info, std::nullopt, memory, physical, -1, nullptr);
    REQUIRE_FALSE(negative.ok());
    CHECK(negative.error().message() == "dump level -1 is out of range; use 0 to 31");
    CHECK_FALSE(core::PageFilter::create(info, std::nullopt, memory, physical, 32, nullptr).ok());
}

TEST_CASE("ExclusionCounts add up by class")
{
    core::ExclusionCounts left { 1, 2, 3, 4, 5, 6, 7, 8 };
    core::ExclusionCounts right { 10, 20, 30, 40, 50, 60, 70, 80 };
    left += right;
    CHECK(left.zero_pages == 11);
    CHECK(left.cache_pages == 22);
    CHECK(left.cache_private_pages == 33);
    CHECK(left.user_pages == 44);
    CHECK(left.free_pages == 55);
    CHECK(left.hwpoison_pages == 66);
    CHECK(left.offline_pages == 77);
    CHECK(left.unaccepted_pages == 88);
    CHECK(left.total() == 396);
}

TEST_CASE("a 6.1 kernel at -d 31: every class, makedumpfile's order")
{
    EveryKind setup;
    auto run = run_filter(setup.kernel, setup.physical, 31);
    CHECK(run.pfn_limit == 2 * pages_per_section);

    // Free: the order-3 block and the order-10 block, nothing else.
    CHECK(run.counts.free_pages == 8 + 1024);
    CHECK(run.kept_in(1024, 1032) == 0);
    CHECK(run.kept(1032));
    CHECK(run.kept_in(40000, 41024) == 0);
    CHECK(run.kept(41024));
    CHECK(run.kept(1100)); // slab
    CHECK(run.kept(1200)); // order 40
    CHECK(run.warned_about("pfn 0x4b0 has invalid order 40"));

    // Cache: 2000, the swap cache page 2002, the 4-page folio, and the
    // misaligned head alone; private cache: 2001.
    CHECK(run.counts.cache_pages == 1 + 1 + 4 + 1);
    CHECK(run.counts.cache_private_pages == 1);
    CHECK_FALSE(run.kept(2000));
    CHECK_FALSE(run.kept(2001));
    CHECK_FALSE(run.kept(2002));
    CHECK(run.kept(2003));
    CHECK(run.kept_in(12288, 12292) == 0);
    CHECK_FALSE(run.kept(12301));
    CHECK(run.kept(12302)); // its "tails" are tails: skipped

    // User: two anonymous pages, the hugetlbfs page and the THP.
    CHECK(run.counts.user_pages == 2 + 512 + 512);
    CHECK_FALSE(run.kept(2004));
    CHECK_FALSE(run.kept(2005));
    CHECK(run.kept_in(4096, 4096 + 512) == 0);
    CHECK(run.kept_in(8192, 8192 + 512) == 0);
    CHECK(run.kept(8192 + 512));

    CHECK(run.counts.hwpoison_pages == 1);
    CHECK(run.counts.offline_pages == 1);
    CHECK_FALSE(run.kept(3000));
    CHECK_FALSE(run.kept(3001));
    CHECK(run.counts.unaccepted_pages == 0);
    CHECK(run.counts.zero_pages == 0);

    // Every excluded page is counted once, and nothing else was touched.
    CHECK(count_kept(run, 2 * pages_per_section) == 2 * pages_per_section - run.counts.total());
    CHECK(run.warnings.size() == 1);
}

TEST_CASE("each dump level bit excludes its own classes, plus hwpoison and offline")
{
    EveryKind setup;
    auto cache = run_filter(setup.kernel, setup.physical, core::dump_level::cache);
    CHECK(cache.counts.cache_pages == 7);
    CHECK(cache.counts.cache_private_pages == 0);
    CHECK(cache.kept(2001));
    CHECK(cache.counts.user_pages == 0);
    CHECK(cache.counts.free_pages == 0);
    CHECK(cache.counts.hwpoison_pages == 1);
    CHECK(cache.counts.offline_pages == 1);

    auto all_cache = run_filter(setup.kernel, setup.physical, core::dump_level::cache_private);
    CHECK(all_cache.counts.cache_pages == 7);
    CHECK(all_cache.counts.cache_private_pages == 1);
    CHECK(all_cache.counts.user_pages == 0);

    auto user = run_filter(setup.kernel, setup.physical, core::dump_level::user);
    CHECK(user.counts.user_pages == 1026);
    CHECK(user.counts.cache_pages == 0);
    CHECK(user.kept(2000));
    CHECK(user.counts.hwpoison_pages == 1);

    auto free = run_filter(setup.kernel, setup.physical, core::dump_level::free);
    CHECK(free.counts.free_pages == 1032);
    CHECK(free.counts.cache_pages + free.counts.user_pages == 0);
    CHECK(free.counts.offline_pages == 1);
    CHECK(free.kept(4096));

    // The zero bit is the writer's: -d 17 filters exactly like -d 16.
    auto free_and_zero = run_filter(setup.kernel, setup.physical, core::dump_level::free | core::dump_level::zero);
    CHECK(free_and_zero.keep == free.keep);
}

TEST_CASE("the first matching class wins, in makedumpfile's order")
{
    FakeKernel kernel;
    kernel.add_section(0);
    kernel.set_flags(64, pg_lru);            // free before cache
    kernel.make_buddy(64, 2);
    kernel.set_flags(128, pg_lru | pg_hwpoison); // cache before hwpoison
    kernel.set_mapping(128, address_space);
    kernel.set_mapping(129, anon_vma);       // user before hwpoison
    kernel.set_flags(129, pg_hwpoison);
    kernel.set_flags(130, pg_hwpoison);      // hwpoison before offline
    kernel.set_mapcount(130, offline_mapcount);
    kernel.set_flags(131, pg_slab);          // a slab page is never offline
    kernel.set_mapcount(131, offline_mapcount);
    FakePhysicalMemory physical(pages_per_section);

    auto all = run_filter(kernel, physical, 31);
    CHECK(all.counts.free_pages == 4);
    CHECK(all.counts.cache_pages == 1);
    CHECK(all.counts.user_pages == 1);
    CHECK(all.counts.hwpoison_pages == 1);
    CHECK(all.counts.offline_pages == 0);
    CHECK(all.kept(131));

    // Without the earlier classes' bits, the later classes get the pages.
    auto none = run_filter(kernel, physical, core::dump_level::zero | core::dump_level::cache);
    CHECK(none.counts.cache_pages == 2); // 64 is cache when free pages are not looked for
    CHECK(none.counts.hwpoison_pages == 2);
    CHECK(none.counts.user_pages == 0);
}

TEST_CASE("multi-page exclusions carry across windows of any size")
{
    EveryKind setup;
    setup.kernel.make_buddy(2048 + 4, 2);           // an order-2 block across a window edge
    setup.kernel.make_compound(16384, 10, 0, hugetlb_dtor); // 4 MiB: crosses many windows
    auto whole = run_filter(setup.kernel, setup.physical, 31);
    CHECK(whole.kept_in(16384, 16384 + 1024) == 0);
    for (uint64_t window_pages : { 1, 3, 8, 64, 100, 512, 4000 }) {
        CAPTURE(window_pages);
        auto windowed = run_filter(setup.kernel, setup.physical, 31, window_pages);
        CHECK(windowed.keep == whole.keep);
        CHECK(windowed.counts.total() == whole.counts.total());
        CHECK(windowed.counts.user_pages == whole.counts.user_pages);
        CHECK(windowed.counts.free_pages == whole.counts.free_pages);
    }
}

TEST_CASE("pages the input does not hold are neither examined nor counted")
{
    EveryKind setup;
    setup.physical.holes = { 1024, 2000, 4100 };
    auto run = run_filter(setup.kernel, setup.physical, 31);
    // The free block's head is a hole: makedumpfile does not look at it, so
    // the rest of the block stays.
    CHECK(run.kept_in(1025, 1032) == 7);
    CHECK_FALSE(run.kept(1024));
    CHECK_FALSE(run.kept(2000));
    CHECK(run.counts.cache_pages == 6);
    // A hole inside the hugetlbfs page is not counted.
    CHECK(run.counts.user_pages == 2 + 511 + 512);
    CHECK(run.counts.free_pages == 1024);
}

TEST_CASE("SYMBOL(mem_section) may be the root array or a pointer to it")
{
    EveryKind setup;
    auto direct = run_filter(setup.kernel, setup.physical, 31);
    setup.kernel.vmcoreinfo["SYMBOL(mem_section)"] = "ffff888100100000";
    auto through_pointer = run_filter(setup.kernel, setup.physical, 31);
    CHECK(through_pointer.warnings == direct.warnings);
    CHECK(through_pointer.keep == direct.keep);
    CHECK(through_pointer.counts.total() == direct.counts.total());
}

TEST_CASE("non-EXTREME sparsemem: mem_section is an inline array")
{
    FakeKernel kernel;
    kernel.vmcoreinfo["LENGTH(mem_section)"] = "524288"; // NR_MEM_SECTIONS: one section per root
    // Sections inline at SYMBOL(mem_section).
    kernel.vmcoreinfo["SYMBOL(mem_section)"] = "ffff888100200000";
    kernel.add_section(0);
    kernel.add_section(1);
    kernel.make_buddy(32768 + 64, 6);
    FakePhysicalMemory physical(2 * pages_per_section);
    auto run = run_filter(kernel, physical, core::dump_level::free);
    CHECK(run.counts.free_pages == 64);
    CHECK(run.kept_in(32768 + 64, 32768 + 128) == 0);
    CHECK(run.warnings.empty());
}

TEST_CASE("pfn_limit is clamped to the last present section; absent sections are left alone")
{
    FakeKernel kernel;
    kernel.add_section(0);
    kernel.add_section(2);
    kernel.make_buddy(100, 2);
    kernel.make_buddy(2 * pages_per_section + 8, 3);
    FakePhysicalMemory physical(5 * pages_per_section); // as with mem=
    auto run = run_filter(kernel, physical, 31);
    CHECK(run.pfn_limit == 3 * pages_per_section);
    CHECK(run.counts.free_pages == 4 + 8);
    CHECK(run.kept_in(pages_per_section, 2 * pages_per_section) == pages_per_section);
    CHECK(run.kept_in(3 * pages_per_section, 5 * pages_per_section) == 2 * pages_per_section);

    // A physical limit inside a section cuts the section short.
    FakePhysicalMemory short_physical(pages_per_section + 100);
    auto cut = run_filter(kernel, short_physical, 31);
    CHECK(cut.pfn_limit == pages_per_section);
}

TEST_CASE("6.9+ layout: order in the first tail's flags, hugetlb as a _mapcount value")
{
    FakeKernel kernel;
    kernel.vmcoreinfo["OSRELEASE"] = "6.9.0";
    kernel.vmcoreinfo.erase("OFFSET(page.compound_dtor)");
    kernel.vmcoreinfo.erase("OFFSET(page.compound_order)");
    kernel.vmcoreinfo.erase("NUMBER(HUGETLB_PAGE_DTOR)");
    kernel.vmcoreinfo["NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)"] = "-2049"; // ~0x800
    kernel.add_section(0);
    // hugetlbfs page of order 9 at 512.
    kernel.set_flags(512, pg_head);
    kernel.set_mapcount(512, 0xfffff7ff);
    kernel.set_flags(513, 9);
    for (uint64_t tail = 513; tail < 1024; ++tail)
        kernel.memory.put_u64(FakeKernel::struct_page(tail) + offset_compound_head, FakeKernel::struct_page(512) | 1);
    // A file folio of order 4 at 2048.
    kernel.set_flags(2048, pg_head | pg_lru);
    kernel.set_mapping(2048, address_space);
    kernel.set_flags(2049, 4 | (uint64_t(1) << 8)); // order plus an unrelated flag bit
    FakePhysicalMemory physical(pages_per_section);
    auto run = run_filter(kernel, physical, 31);
    CHECK(run.counts.user_pages == 512);
    CHECK(run.counts.cache_pages == 16);
    CHECK(run.kept_in(512, 1024) == 0);
    CHECK(run.kept_in(2048, 2064) == 0);
    CHECK(run.kept(2064));
    CHECK(run.warnings.empty());
}

TEST_CASE("7.1+ names the tail pointer compound_info")
{
    EveryKind setup;
    // A tail that would be page cache if it were judged on its own.
    setup.kernel.set_flags(12302, pg_lru);
    setup.kernel.set_mapping(12302, address_space);
    auto before = run_filter(setup.kernel, setup.physical, 31);
    CHECK(before.kept(12302));
    setup.kernel.vmcoreinfo.erase("OFFSET(page.compound_head)");
    setup.kernel.vmcoreinfo["OFFSET(page.compound_info)"] = "8";
    auto renamed = run_filter(setup.kernel, setup.physical, 31);
    CHECK(renamed.keep == before.keep);
    CHECK(renamed.kept(12302)); // still recognised as a tail
    setup.kernel.vmcoreinfo.erase("OFFSET(page.compound_info)");
    auto unknown = run_filter(setup.kernel, setup.physical, 31);
    CHECK_FALSE(unknown.kept(12302));
}

TEST_CASE("6.6-6.8 layout: hugetlb is PG_hugetlb on the first tail")
{
    FakeKernel kernel;
    kernel.vmcoreinfo["OSRELEASE"] = "6.6.13";
    kernel.vmcoreinfo.erase("OFFSET(page.compound_dtor)");
    kernel.vmcoreinfo.erase("OFFSET(page.compound_order)");
    kernel.vmcoreinfo["NUMBER(PG_hugetlb)"] = "15";
    kernel.add_section(0);
    kernel.set_flags(1024, pg_head);
    kernel.set_flags(1025, 9 | (uint64_t(1) << 15));
    kernel.set_flags(4096, pg_head); // a compound page that is not hugetlb
    kernel.set_flags(4097, 9);
    FakePhysicalMemory physical(pages_per_section);
    auto run = run_filter(kernel, physical, core::dump_level::user);
    CHECK(run.counts.user_pages == 512);
    CHECK(run.kept_in(1024, 1536) == 0);
    CHECK(run.kept(4096));
}

TEST_CASE("6.12+ page types are exact _mapcount values, not bit patterns")
{
    FakeKernel kernel;
    kernel.vmcoreinfo["OSRELEASE"] = "6.12.9";
    kernel.vmcoreinfo.erase("NUMBER(PG_slab)");
    kernel.vmcoreinfo["NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)"] = "-268435456";  // 0xf0000000
    kernel.vmcoreinfo["NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)"] = "-251658240"; // 0xf1000000
    kernel.vmcoreinfo["NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)"] = "-184549376";   // 0xf5000000
    kernel.add_section(0);
    kernel.make_buddy(64, 2);
    kernel.set_mapcount(64, 0xf0000000);
    kernel.make_buddy(128, 2);
    kernel.set_mapcount(128, 0xf0000001); // top byte matches, value does not
    kernel.set_mapcount(200, 0xf1000000); // offline
    kernel.set_mapcount(201, 0xf5000000); // slab with an anon-looking mapping
    kernel.set_mapping(201, anon_vma);
    kernel.set_mapping(202, anon_vma);
    FakePhysicalMemory physical(pages_per_section);
    auto run = run_filter(kernel, physical, 31);
    CHECK(run.counts.free_pages == 4);
    CHECK(run.kept(128));
    CHECK(run.counts.offline_pages == 1);
    CHECK(run.kept(201));
    CHECK_FALSE(run.kept(202));
    CHECK(run.counts.user_pages == 1);
    CHECK(run.warnings.empty());
}

TEST_CASE("unaccepted memory is excluded in MAX_PAGE_ORDER blocks at -d 16")
{
    FakeKernel kernel;
    kernel.vmcoreinfo["NUMBER(PAGE_UNACCEPTED_MAPCOUNT_VALUE)"] = "-117440512"; // 0xf9000000
    kernel.add_section(0);
    kernel.set_mapcount(4096, 0xf9000000);
    FakePhysicalMemory physical(pages_per_section);
    auto run = run_filter(kernel, physical, core::dump_level::free);
    CHECK(run.counts.unaccepted_pages == 1024);
    CHECK(run.kept_in(4096, 5120) == 0);
    CHECK(run.kept(5120));
    auto cache_only = run_filter(kernel, physical, core::dump_level::cache);
    CHECK(cache_only.counts.unaccepted_pages == 0);
}

TEST_CASE("FLATMEM: SYMBOL(mem_map) points to the one struct page array")
{
    FakeKernel kernel;
    kernel.vmcoreinfo.erase("SYMBOL(mem_section)");
    kernel.vmcoreinfo["SYMBOL(mem_map)"] = "ffffffff82b00000";
    kernel.memory.map(0xffffffff82b00000, 8);
    kernel.memory.put_u64(0xffffffff82b00000, vmemmap_base);
    kernel.memory.map(vmemmap_base, 4096 * struct_page_bytes);
    kernel.make_buddy(256, 8);
    kernel.set_flags(1000, pg_lru);
    FakePhysicalMemory physical(4096);
    auto run = run_filter(kernel, physical, 31);
    CHECK(run.pfn_limit == 4096);
    CHECK(run.counts.free_pages == 256);
    CHECK(run.counts.cache_pages == 1);
    CHECK(run.warnings.empty());
}

TEST_CASE("missing VMCOREINFO entries: a warning naming the entry, and those pages kept")
{
    SUBCASE("no PAGE_BUDDY_MAPCOUNT_VALUE: free pages stay, the rest is filtered")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo.erase("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)");
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)"));
        CHECK(run.counts.free_pages == 0);
        CHECK(run.kept_in(1024, 1032) == 8);
        CHECK(run.counts.cache_pages == 7);
        CHECK(run.counts.user_pages == 1026);
    }
    SUBCASE("no NUMBER(PG_lru): cache pages stay")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo.erase("NUMBER(PG_lru)");
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("NUMBER(PG_lru)"));
        CHECK(run.counts.cache_pages + run.counts.cache_private_pages == 0);
        CHECK(run.counts.free_pages == 1032);
    }
    SUBCASE("no SIZE(page): nothing can be read, every page stays")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo.erase("SIZE(page)");
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("SIZE(page)"));
        CHECK(run.counts.total() == 0);
        CHECK(run.pfn_limit == setup.physical.pfn_limit());
    }
    SUBCASE("no slab information: free, anonymous and offline pages stay")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo.erase("NUMBER(PG_slab)");
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("NUMBER(PG_slab)"));
        CHECK(run.counts.free_pages == 0);
        CHECK(run.counts.offline_pages == 0);
        CHECK(run.counts.user_pages == 512); // hugetlbfs only
        CHECK(run.kept(2004));
        CHECK(run.counts.cache_pages == 7);
    }
    SUBCASE("no PG_head_mask: compound pages are judged page by page")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo.erase("NUMBER(PG_head_mask)");
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("NUMBER(PG_head_mask)"));
        CHECK(run.kept_in(4096, 4096 + 512) == 512);
        CHECK(run.counts.user_pages == 2 + 1); // the THP head alone
    }
    SUBCASE("no sparsemem numbers: x86_64's defaults apply")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo.erase("NUMBER(SECTION_SIZE_BITS)");
        setup.kernel.vmcoreinfo.erase("NUMBER(MAX_PHYSMEM_BITS)");
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.counts.free_pages == 1032);
        CHECK(run.warnings.size() == 1); // only the corrupt order-40 block
    }
    SUBCASE("no sparsemem numbers on an unknown architecture: every page stays")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo.erase("NUMBER(SECTION_SIZE_BITS)");
        setup.kernel.vmcoreinfo.erase("SYMBOL(init_top_pgt)");
        setup.kernel.dump_arch = nullptr;
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("NUMBER(SECTION_SIZE_BITS)"));
        CHECK(run.counts.total() == 0);
    }
    SUBCASE("no memory model at all")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo.erase("SYMBOL(mem_section)");
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("SYMBOL(mem_section)"));
        CHECK(run.counts.total() == 0);
    }
}

TEST_CASE("each warning is given once")
{
    EveryKind setup;
    setup.kernel.make_buddy(1300, 50);
    setup.kernel.make_buddy(1400, 60);
    setup.kernel.make_buddy(6144, 11); // fits in memory, but zone.free_area has orders 0-10
    auto run = run_filter(setup.kernel, setup.physical, 31, 64);
    CHECK(run.warnings.size() == 1);
    CHECK(run.kept(1300));
    CHECK(run.kept(1400));
    CHECK(run.kept_in(6144, 6144 + 2048) == 2048);
}

TEST_CASE("corrupt mem_section: a warning, and every page kept")
{
    SUBCASE("the root array is not mapped")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo["SYMBOL(mem_section)"] = "ffff888200000000";
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("no valid mem_section at SYMBOL(mem_section)=0xffff888200000000"));
        CHECK(run.counts.total() == 0);
        CHECK(run.pfn_limit == setup.physical.pfn_limit());
    }
    SUBCASE("a present section decodes to a user-space address")
    {
        EveryKind setup;
        setup.kernel.memory.put_u64(mem_section_block + 16, 0x0000123400000001);
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("no valid mem_section"));
        CHECK(run.counts.total() == 0);
    }
    SUBCASE("no section is present")
    {
        EveryKind setup;
        setup.kernel.memory.put_u64(mem_section_block, 0);
        setup.kernel.memory.put_u64(mem_section_block + 16, 0);
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("no valid mem_section"));
        CHECK(run.counts.total() == 0);
    }
    SUBCASE("impossible geometry")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo["NUMBER(SECTION_SIZE_BITS)"] = "10";
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("sparsemem geometry is inconsistent"));
        CHECK(run.counts.total() == 0);
    }
    SUBCASE("SIZE(mem_section) of zero")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo["SIZE(mem_section)"] = "0";
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("SIZE(mem_section)=0"));
        CHECK(run.counts.total() == 0);
    }
    SUBCASE("struct page fields outside SIZE(page)")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo["OFFSET(page.flags)"] = "60";
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("OFFSET(page.flags)=60"));
        CHECK(run.counts.total() == 0);
    }
    SUBCASE("PAGESIZE disagrees with the dump")
    {
        EveryKind setup;
        setup.kernel.vmcoreinfo["PAGESIZE"] = "65536";
        auto run = run_filter(setup.kernel, setup.physical, 31);
        CHECK(run.warned_about("PAGESIZE=65536"));
        CHECK(run.counts.total() == 0);
    }
}

TEST_CASE("unreadable struct pages: a warning, those pages kept, the rest filtered")
{
    EveryKind setup;
    setup.kernel.memory.unmap(FakeKernel::struct_page(pages_per_section));
    auto run = run_filter(setup.kernel, setup.physical, 31);
    CHECK(run.warned_about("cannot read the struct pages of pfns 0x8000-0x81ff"));
    CHECK(run.kept_in(40000, 41024) == 1024);
    CHECK(run.counts.free_pages == 8);
    CHECK(run.counts.user_pages == 1026);
}

TEST_CASE("corrupt compound orders fall back to the head page alone")
{
    FakeKernel kernel;
    kernel.add_section(0);
    kernel.make_compound(1024, 2, 0, hugetlb_dtor);
    kernel.memory.put_u8(FakeKernel::struct_page(1025) + offset_compound_order, 200); // >= 64
    kernel.make_compound(0, 2, pg_lru, 1);
    kernel.memory.put_u8(FakeKernel::struct_page(1) + offset_compound_order, 30); // aligned, past the end
    kernel.set_mapping(0, address_space);
    FakePhysicalMemory physical(pages_per_section);
    auto run = run_filter(kernel, physical, 31);
    CHECK_FALSE(run.kept(1024));
    CHECK(run.kept(1025));
    CHECK_FALSE(run.kept(0));
    CHECK(run.kept(1));
    CHECK(run.counts.user_pages == 1);
    CHECK(run.counts.cache_pages == 1);
    CHECK(run.warned_about("compound page at pfn 0x0 claims order 30"));
}

TEST_CASE("garbage struct pages never crash and every exclusion is counted")
{
    FakeKernel kernel;
    std::mt19937_64 random(12345);
    for (uint64_t section_nr : { 0, 1 }) {
        auto& pages = kernel.add_section(section_nr);
        for (uint64_t index = 0; index < pages_per_section; ++index) {
            uint8_t* page = pages.data() + index * struct_page_bytes;
            for (uint64_t offset = 0; offset < struct_page_bytes; offset += 8)
                core::store_uint(page + offset, 8, random(), core::Endian::Little);
            // Make the interesting values common.
            switch (random() % 8) {
            case 0:
                core::store_uint(page + offset_mapcount, 4, buddy_mapcount, core::Endian::Little);
                core::store_uint(page + offset_private, 8, random() % 16, core::Endian::Little);
                break;
            case 1:
                core::store_uint(page + offset_flags, 8, random() | pg_head, core::Endian::Little);
                break;
            case 2:
                core::store_uint(page + offset_mapcount, 4, offline_mapcount, core::Endian::Little);
                break;
            default:
                break;
            }
        }
    }
    FakePhysicalMemory physical(2 * pages_per_section);
    for (int level : { 2, 4, 8, 16, 31 }) {
        CAPTURE(level);
        auto run = run_filter(kernel, physical, level, 1000);
        CHECK(count_kept(run, physical.pfn_limit()) == physical.pfn_limit() - run.counts.total());
        CHECK(run.counts.total() > 0);
    }
}

TEST_CASE("the window contract: ascending (gaps allowed, for skipped holes), and a big enough bitmap")
{
    EveryKind setup;
    auto info = setup.kernel.info();
    auto filter = core::PageFilter::create(info, setup.kernel.sparsemem_defaults(), setup.kernel.memory, setup.physical, 31, nullptr);
    REQUIRE(filter.ok());
    std::vector<uint8_t> keep(8, 0xff);
    core::ExclusionCounts counts;
    auto too_small = filter.value()->exclude(0, 65, keep, counts);
    REQUIRE_FALSE(too_small.ok());
    CHECK(too_small.error().message() == "page filter: a bitmap of 8 bytes cannot hold 65 pages");
    REQUIRE(filter.value()->exclude(0, 64, keep, counts).ok());
    // A window after a skipped hole is fine; one going back is not.
    CHECK(filter.value()->exclude(128, 64, keep, counts).ok());
    auto backwards = filter.value()->exclude(64, 64, keep, counts);
    REQUIRE_FALSE(backwards.ok());
    CHECK(backwards.error().message() == "page filter: window starts at pfn 0x40 but the previous one ended at 0xc0 (windows must ascend)");
}
