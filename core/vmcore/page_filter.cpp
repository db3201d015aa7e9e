// SPDX-License-Identifier: GPL-2.0-or-later
// The page filter: finds the struct page arrays through mem_section (or
// mem_map), then classifies every page the way makedumpfile's
// __exclude_unnecessary_pages does, in the same order. Facts and sources:
// shared reference dump-format.md §2.
#include "core/vmcore/page_filter.h"

#include "core/base/strings.h"

#include <algorithm>
#include <bit>
#include <optional>
#include <set>
#include <vector>

namespace core {

ExclusionCounts& ExclusionCounts::operator+=(ExclusionCounts const& other)
{
    zero_pages += other.zero_pages;
    cache_pages += other.cache_pages;
    cache_private_pages += other.cache_private_pages;
    user_pages += other.user_pages;
    free_pages += other.free_pages;
    hwpoison_pages += other.hwpoison_pages;
    offline_pages += other.offline_pages;
    unaccepted_pages += other.unaccepted_pages;
    return *this;
}

uint64_t ExclusionCounts::total() const
{
    return zero_pages + cache_pages + cache_private_pages + user_pages + free_pages + hwpoison_pages + offline_pages + unaccepted_pages;
}

namespace {

// Struct page fields that are C longs or pointers. Only 64-bit kernels are
// read (the collector supports no 32-bit architecture).
constexpr unsigned kernel_long_bytes = 8;
// Struct pages fetched per KernelMemory::read, aligned on pfn multiples of
// this, as makedumpfile does (PGMM_CACHED).
constexpr uint64_t struct_pages_per_read = 512;
// mem_section.section_mem_map keeps flags in its low bits (PRESENT,
// HAS_MEM_MAP, ONLINE, EARLY, TAINT_ZONE_DEVICE, ...). The kernel guarantees
// at least 6 of them are free of address bits.
constexpr uint64_t section_map_flag_mask = 0x3f;
constexpr uint64_t section_marked_present = 1;
// page.mapping's low bit marks an anon_vma rather than an address_space.
constexpr uint64_t page_mapping_anon = 1;
// Free block orders assumed when LENGTH(zone.free_area) is missing: the
// kernel's default (MAX_ORDER 10, so orders 0..10).
constexpr uint64_t default_free_area_orders = 11;

// A kernel virtual address on 64-bit Linux is in the upper half: used to
// reject a mem_section interpretation that decodes to garbage.
bool is_kernel_address(uint64_t vaddr) { return (vaddr >> 63) != 0; }

bool test_bit(uint64_t word, unsigned bit) { return ((word >> bit) & 1) != 0; }

// Non-fatal problems go to the sink once each: a missing entry is reported
// at create(), a corrupt struct page the first time one of its kind is seen.
class Warnings {
public:
    explicit Warnings(WarningSink sink) : m_sink(std::move(sink)) { }
    void once(std::string_view kind, std::string const& message)
    {
        if (m_said.emplace(kind).second && m_sink)
            m_sink(message);
    }
    void missing(std::string_view entry, std::string_view consequence)
    {
        once(entry, cat("VMCOREINFO has no ", entry, ": ", consequence));
    }

private:
    WarningSink m_sink;
    std::set<std::string, std::less<>> m_said;
};

// NUMBER(PG_x): a bit number in page.flags, if present and sane.
std::optional<unsigned> flag_bit(VmcoreInfo const& info, std::string_view name, Warnings& warnings)
{
    auto value = info.number(name);
    if (!value)
        return std::nullopt;
    if (*value < 0 || *value >= 64) {
        warnings.once(name, cat("VMCOREINFO NUMBER(", name, ")=", *value, " is not a bit number of page.flags; ignoring it"));
        return std::nullopt;
    }
    return static_cast<unsigned>(*value);
}

// NUMBER(PAGE_x_MAPCOUNT_VALUE): the exact 32-bit _mapcount a typed page
// holds (negative on older kernels, e.g. -129 for buddy on 6.1).
std::optional<uint32_t> mapcount_value(VmcoreInfo const& info, std::string_view name)
{
    auto value = info.number(name);
    if (!value)
        return std::nullopt;
    return static_cast<uint32_t>(static_cast<uint64_t>(*value));
}

// One contiguous run of pfns whose struct pages are contiguous in kernel
// virtual memory (a sparsemem section, or FLATMEM's single map).
struct MemMapRange {
    uint64_t start_pfn;
    uint64_t end_pfn;
    uint64_t mem_map; // vaddr of the struct page of start_pfn
};

struct FieldAt {
    uint64_t offset;
    unsigned width;
};

// Where each field the decision needs sits in struct page. Every present
// field was checked at create() to lie inside SIZE(page).
struct StructPageLayout {
    uint64_t size_bytes { 0 };
    uint64_t flags_offset { 0 };
    std::optional<uint64_t> mapping_offset;
    std::optional<uint64_t> mapcount_offset;
    std::optional<uint64_t> private_offset;
    std::optional<uint64_t> compound_head_offset;
};

// How a compound head's order and hugetlb-ness are read, by kernel era.
enum class CompoundScheme {
    Unknown,    // no PG_head_mask: every page is judged alone
    TailFlags,  // 6.6+: order in the first tail's flags & 0xff
    TailFields, // older: compound_order/compound_dtor in the first tail page
};

struct CompoundRules {
    CompoundScheme scheme { CompoundScheme::Unknown };
    uint64_t head_mask { 0 };
    // TailFlags: hugetlb is a head _mapcount value (6.9+) or a flag of the
    // first tail (6.6 to 6.8).
    std::optional<uint32_t> hugetlb_mapcount;
    std::optional<unsigned> hugetlb_tail_flag_bit;
    // TailFields: offsets inside the first tail page.
    std::optional<FieldAt> order_field;
    std::optional<FieldAt> dtor_field;
    std::optional<uint64_t> hugetlb_dtor_id;       // NUMBER(HUGETLB_PAGE_DTOR), 4.4+
    std::optional<uint64_t> hugetlb_dtor_function; // SYMBOL(free_huge_page), older
};

struct PageRules {
    // Which classes are looked for: the dump level, less what VMCOREINFO
    // cannot support.
    bool free_buddy { false };
    bool free_unaccepted { false };
    bool cache { false };
    bool cache_private { false };
    bool user { false };

    // Slab: a _mapcount value (6.10+) and/or the PG_slab flag.
    bool slab_known { false };
    std::optional<uint32_t> slab_mapcount;
    std::optional<unsigned> pg_slab;

    // Free pages: a _mapcount value (2.6.38+) or the PG_buddy flag.
    std::optional<uint32_t> buddy_mapcount;
    std::optional<unsigned> pg_buddy;
    std::optional<uint32_t> unaccepted_mapcount;
    uint64_t free_area_orders { default_free_area_orders };

    unsigned pg_lru { 0 };
    unsigned pg_private { 0 };
    unsigned pg_swapcache { 0 };
    std::optional<unsigned> pg_swapbacked;
    std::optional<unsigned> pg_hwpoison;
    std::optional<uint32_t> offline_mapcount;
};

enum class PageClass { Cache, CachePrivate, User, Free, Unaccepted, Hwpoison, Offline };

uint64_t& counter_for(ExclusionCounts& counts, PageClass page_class)
{
    switch (page_class) {
    case PageClass::Cache:
        return counts.cache_pages;
    case PageClass::CachePrivate:
        return counts.cache_private_pages;
    case PageClass::User:
        return counts.user_pages;
    case PageClass::Free:
        return counts.free_pages;
    case PageClass::Unaccepted:
        return counts.unaccepted_pages;
    case PageClass::Hwpoison:
        return counts.hwpoison_pages;
    case PageClass::Offline:
        return counts.offline_pages;
    }
    return counts.offline_pages;
}

struct Exclusion {
    PageClass page_class;
    uint64_t page_count;
};

struct PageFields {
    uint64_t flags { 0 };
    uint64_t mapping { 0 };
    uint32_t mapcount { 0 };
    uint64_t private_value { 0 };
    uint64_t compound_head { 0 };
};

// --- Finding the struct page arrays --------------------------------------

struct SparsememGeometry {
    uint64_t pages_per_section;
    uint64_t section_count; // sections that can hold pfns below max_mapnr
    uint64_t mem_section_bytes;
    uint64_t section_mem_map_offset;
    uint64_t sections_per_root; // 1 unless SPARSEMEM_EXTREME
    bool extreme;
};

std::optional<uint64_t> sparsemem_number(VmcoreInfo const& info, std::string_view name, std::optional<uint64_t> cpu_default, Warnings& warnings)
{
    if (auto value = info.number(name)) {
        if (*value <= 0 || *value > 64) {
            warnings.once(name, cat("VMCOREINFO NUMBER(", name, ")=", *value, " is out of range: every page is kept"));
            return std::nullopt;
        }
        return static_cast<uint64_t>(*value);
    }
    // Older kernels do not export these; some CPUs have fixed values.
    if (cpu_default)
        return cpu_default;
    warnings.missing(cat("NUMBER(", name, ")"), "cannot find the struct page arrays; every page is kept");
    return std::nullopt;
}

std::optional<SparsememGeometry> sparsemem_geometry(VmcoreInfo const& info, std::optional<arch::SparsememDefaults> const& cpu_defaults, uint64_t max_mapnr, uint64_t page_size, Warnings& warnings)
{
    auto section_size_bits = sparsemem_number(info, "SECTION_SIZE_BITS", cpu_defaults ? std::optional(cpu_defaults->section_size_bits) : std::nullopt, warnings);
    auto max_physmem_bits = sparsemem_number(info, "MAX_PHYSMEM_BITS", cpu_defaults ? std::optional(cpu_defaults->max_physmem_bits) : std::nullopt, warnings);
    if (!section_size_bits || !max_physmem_bits)
        return std::nullopt;
    uint64_t page_shift = static_cast<uint64_t>(std::countr_zero(page_size));
    if (*section_size_bits <= page_shift || *section_size_bits > *max_physmem_bits || *max_physmem_bits - *section_size_bits >= 48) {
        warnings.once("sparsemem-geometry", cat("VMCOREINFO sparsemem geometry is inconsistent (SECTION_SIZE_BITS ", *section_size_bits, ", MAX_PHYSMEM_BITS ", *max_physmem_bits, ", page shift ", page_shift, "): every page is kept"));
        return std::nullopt;
    }
    uint64_t mem_section_bytes = *info.size("mem_section");
    uint64_t section_mem_map_offset = *info.offset("mem_section.section_mem_map");
    if (mem_section_bytes == 0 || mem_section_bytes > page_size || !extent_within(section_mem_map_offset, kernel_long_bytes, mem_section_bytes)) {
        warnings.once("mem_section-layout", cat("VMCOREINFO SIZE(mem_section)=", mem_section_bytes, " with OFFSET(mem_section.section_mem_map)=", section_mem_map_offset, " is not a valid layout: every page is kept"));
        return std::nullopt;
    }

    SparsememGeometry geometry {};
    geometry.pages_per_section = uint64_t(1) << (*section_size_bits - page_shift);
    uint64_t mem_section_count = uint64_t(1) << (*max_physmem_bits - *section_size_bits);
    uint64_t sections_per_root_extreme = page_size / mem_section_bytes;
    uint64_t extreme_root_count = mem_section_count / sections_per_root_extreme + (mem_section_count % sections_per_root_extreme != 0);
    auto length = info.length("mem_section");
    geometry.extreme = !length || *length == extreme_root_count;
    geometry.sections_per_root = geometry.extreme ? sections_per_root_extreme : 1;
    geometry.section_count = max_mapnr / geometry.pages_per_section + (max_mapnr % geometry.pages_per_section != 0);
    geometry.section_count = std::min(geometry.section_count, mem_section_count);
    geometry.mem_section_bytes = mem_section_bytes;
    geometry.section_mem_map_offset = section_mem_map_offset;
    return geometry;
}

// A present section's struct page array, decoded: the kernel stores the
// array address minus section_start_pfn * SIZE(page), so adding it back
// wraps around 2^64 by design. nullopt if it is not a kernel address.
std::optional<MemMapRange> decode_section(uint64_t section_nr, uint64_t section_mem_map, SparsememGeometry const& geometry, uint64_t struct_page_bytes, uint64_t max_mapnr)
{
    uint64_t start_pfn = section_nr * geometry.pages_per_section;
    uint64_t mem_map = (section_mem_map & ~section_map_flag_mask) + start_pfn * struct_page_bytes;
    uint64_t end_pfn = std::min(start_pfn + geometry.pages_per_section, max_mapnr);
    if (!is_kernel_address(mem_map) || !checked_add(mem_map, geometry.pages_per_section * struct_page_bytes))
        return std::nullopt;
    return MemMapRange { start_pfn, end_pfn, mem_map };
}

// Section structs are read at most this many bytes at a time.
constexpr uint64_t section_block_bytes = 64 << 10;

// Reads the sections under one interpretation of the root array address.
// nullopt when it does not validate: no present section, or a present one
// whose map is not a kernel address (makedumpfile's validate_mem_section).
// Only sections holding pfns the input has are read, a block at a time
// (PhysicalMemory::next_present_pfn jumps the holes), so time and memory
// follow the dump's real extent, not max_mapnr or the VMCOREINFO geometry
// (which can claim 2^47 sections).
std::optional<std::vector<MemMapRange>> read_sections(KernelMemory const& kernel, PhysicalMemory const& physical, uint64_t root_array, SparsememGeometry const& geometry, uint64_t struct_page_bytes, uint64_t max_mapnr)
{
    Endian endian = kernel.endian();
    std::vector<MemMapRange> ranges;
    std::vector<uint8_t> block;

    // False when a present section decodes to garbage.
    auto read_block = [&](uint64_t block_vaddr, uint64_t first_section, uint64_t section_count) -> bool {
        block.assign(section_count * geometry.mem_section_bytes, 0);
        if (!kernel.read(block_vaddr, block).ok())
            return true; // unreadable: not present, as in makedumpfile
        ByteReader reader(block, endian, "mem_section");
        for (uint64_t index = 0; index < section_count; ++index) {
            auto map = reader.u64(index * geometry.mem_section_bytes + geometry.section_mem_map_offset);
            if (!map.ok() || !(map.value() & section_marked_present))
                continue;
            auto range = decode_section(first_section + index, map.value(), geometry, struct_page_bytes, max_mapnr);
            if (!range)
                return false;
            ranges.push_back(*range);
        }
        return true;
    };
    // The first section at or after `section` that holds a present pfn;
    // section_count when none.
    auto next_present_section = [&](uint64_t section) -> uint64_t {
        uint64_t next_pfn = physical.next_present_pfn(section * geometry.pages_per_section); // section < section_count, so no wrap
        if (next_pfn >= max_mapnr)
            return geometry.section_count;
        return std::max(section, next_pfn / geometry.pages_per_section);
    };

    uint64_t sections_per_block = std::max<uint64_t>(1, section_block_bytes / geometry.mem_section_bytes);
    uint64_t section = next_present_section(0);
    while (section < geometry.section_count) {
        if (!geometry.extreme) {
            // One inline array: read the blocks that hold present pfns.
            uint64_t count = std::min(sections_per_block, geometry.section_count - section);
            if (!read_block(root_array + section * geometry.mem_section_bytes, section, count))
                return std::nullopt;
            section = next_present_section(section + count);
            continue;
        }
        // SPARSEMEM_EXTREME: a root pointer per page of sections.
        uint64_t root_index = section / geometry.sections_per_root;
        std::vector<uint8_t> pointer(kernel_long_bytes);
        if (!kernel.read(root_array + root_index * kernel_long_bytes, pointer).ok())
            return std::nullopt;
        uint64_t root = load_uint(pointer.data(), kernel_long_bytes, endian);
        uint64_t first_section = root_index * geometry.sections_per_root;
        uint64_t count = std::min(geometry.sections_per_root, geometry.section_count - first_section);
        if (root != 0 && !read_block(root, first_section, count))
            return std::nullopt;
        section = next_present_section(first_section + count);
    }
    if (ranges.empty())
        return std::nullopt;
    return ranges;
}

std::optional<std::vector<MemMapRange>> find_sparsemem_maps(VmcoreInfo const& info, std::optional<arch::SparsememDefaults> const& cpu_defaults, KernelMemory const& kernel, PhysicalMemory const& physical, uint64_t max_mapnr, uint64_t page_size, uint64_t struct_page_bytes, Warnings& warnings)
{
    auto geometry = sparsemem_geometry(info, cpu_defaults, max_mapnr, page_size, warnings);
    if (!geometry)
        return std::nullopt;
    uint64_t mem_section = *info.symbol("mem_section");
    // SYMBOL(mem_section) is the root array itself in VMCOREINFO, but since
    // 4.15 the kernel variable is a pointer to it; try both, as makedumpfile.
    if (auto ranges = read_sections(kernel, physical, mem_section, *geometry, struct_page_bytes, max_mapnr))
        return ranges;
    if (geometry->extreme) {
        std::vector<uint8_t> pointer(kernel_long_bytes);
        if (kernel.read(mem_section, pointer).ok()) {
            uint64_t root_array = load_uint(pointer.data(), kernel_long_bytes, kernel.endian());
            if (auto ranges = read_sections(kernel, physical, root_array, *geometry, struct_page_bytes, max_mapnr))
                return ranges;
        }
    }
    warnings.once("mem_section", cat("no valid mem_section at SYMBOL(mem_section)=", hex(mem_section), " (read as an array and as a pointer): every page is kept"));
    return std::nullopt;
}

std::optional<std::vector<MemMapRange>> find_flatmem_map(VmcoreInfo const& info, KernelMemory const& kernel, uint64_t max_mapnr, Warnings& warnings)
{
    uint64_t mem_map_symbol = *info.symbol("mem_map");
    std::vector<uint8_t> pointer(kernel_long_bytes);
    auto read = kernel.read(mem_map_symbol, pointer);
    uint64_t mem_map = read.ok() ? load_uint(pointer.data(), kernel_long_bytes, kernel.endian()) : 0;
    if (!is_kernel_address(mem_map)) {
        warnings.once("mem_map", cat("cannot read the FLATMEM struct page array from SYMBOL(mem_map)=", hex(mem_map_symbol), ": every page is kept"));
        return std::nullopt;
    }
    return std::vector<MemMapRange> { { 0, max_mapnr, mem_map } };
}

std::optional<std::vector<MemMapRange>> find_mem_maps(VmcoreInfo const& info, std::optional<arch::SparsememDefaults> const& cpu_defaults, KernelMemory const& kernel, PhysicalMemory const& physical, uint64_t max_mapnr, uint64_t page_size, uint64_t struct_page_bytes, Warnings& warnings)
{
    if (info.symbol("mem_section") && info.size("mem_section") && info.offset("mem_section.section_mem_map"))
        return find_sparsemem_maps(info, cpu_defaults, kernel, physical, max_mapnr, page_size, struct_page_bytes, warnings);
    if (info.symbol("mem_map"))
        return find_flatmem_map(info, kernel, max_mapnr, warnings);
    warnings.missing("SYMBOL(mem_section)", "and no SYMBOL(mem_map) either; cannot find the struct page arrays, every page is kept");
    return std::nullopt;
}

// --- Reading the rules from VMCOREINFO -----------------------------------

std::optional<StructPageLayout> struct_page_layout(VmcoreInfo const& info, Warnings& warnings)
{
    auto size = info.size("page");
    auto flags = info.offset("page.flags");
    if (!size || !flags) {
        warnings.missing(size ? "OFFSET(page.flags)" : "SIZE(page)", "cannot read struct pages; every page is kept");
        return std::nullopt;
    }
    StructPageLayout layout;
    layout.size_bytes = *size;
    layout.flags_offset = *flags;
    if (layout.size_bytes == 0 || layout.size_bytes > 4096 || !extent_within(layout.flags_offset, kernel_long_bytes, layout.size_bytes)) {
        warnings.once("struct-page-layout", cat("VMCOREINFO SIZE(page)=", layout.size_bytes, " with OFFSET(page.flags)=", layout.flags_offset, " is not a valid layout: every page is kept"));
        return std::nullopt;
    }
    auto field = [&](std::string_view name, unsigned width) -> std::optional<uint64_t> {
        auto offset = info.offset(name);
        if (!offset)
            return std::nullopt;
        if (!extent_within(*offset, width, layout.size_bytes)) {
            warnings.once(name, cat("VMCOREINFO OFFSET(", name, ")=", *offset, " lies outside SIZE(page)=", layout.size_bytes, "; ignoring it"));
            return std::nullopt;
        }
        return offset;
    };
    layout.mapping_offset = field("page.mapping", kernel_long_bytes);
    layout.mapcount_offset = field("page._mapcount", 4);
    layout.private_offset = field("page.private", kernel_long_bytes);
    // Linux 7.1 renamed compound_head to compound_info; bit 0 still marks a tail.
    layout.compound_head_offset = field("page.compound_head", kernel_long_bytes);
    if (!layout.compound_head_offset)
        layout.compound_head_offset = field("page.compound_info", kernel_long_bytes);
    return layout;
}

// A first-tail-page field given either as OFFSET(page.member) (relative to
// the tail page) or OFFSET(folio.member) (relative to the head, 6.2-6.5).
std::optional<FieldAt> tail_field(VmcoreInfo const& info, std::string_view page_member, std::string_view folio_member, unsigned width, uint64_t struct_page_bytes)
{
    std::optional<uint64_t> offset = info.offset(page_member);
    if (!offset) {
        auto folio_offset = info.offset(folio_member);
        if (folio_offset && *folio_offset >= struct_page_bytes)
            offset = *folio_offset - struct_page_bytes;
    }
    if (!offset || !extent_within(*offset, width, struct_page_bytes))
        return std::nullopt;
    return FieldAt { *offset, width };
}

CompoundRules compound_rules(VmcoreInfo const& info, StructPageLayout const& layout, KernelVersion version, bool needed, Warnings& warnings)
{
    CompoundRules rules;
    auto head_mask = info.number("PG_head_mask");
    if (!head_mask || *head_mask == 0) {
        if (needed)
            warnings.missing("NUMBER(PG_head_mask)", "compound pages are judged page by page, and hugetlbfs pages are kept");
        return rules;
    }
    rules.head_mask = static_cast<uint64_t>(*head_mask);

    if (auto hugetlb = mapcount_value(info, "PAGE_HUGETLB_MAPCOUNT_VALUE")) {
        rules.scheme = CompoundScheme::TailFlags;
        rules.hugetlb_mapcount = hugetlb;
        return rules;
    }
    if (auto hugetlb_bit = flag_bit(info, "PG_hugetlb", warnings)) {
        rules.scheme = CompoundScheme::TailFlags;
        rules.hugetlb_tail_flag_bit = hugetlb_bit;
        return rules;
    }

    rules.scheme = CompoundScheme::TailFields;
    uint64_t struct_page_bytes = layout.size_bytes;
    // Widths changed twice: a pointer dtor and the order in lru before 4.4,
    // unsigned shorts until 4.16, unsigned chars since.
    unsigned order_width = version.at_least(4, 16) ? 1 : 2;
    unsigned dtor_width = version.at_least(4, 16) ? 1 : version.at_least(4, 4) ? 2 : kernel_long_bytes;
    rules.order_field = tail_field(info, "page.compound_order", "folio._folio_order", order_width, struct_page_bytes);
    rules.dtor_field = tail_field(info, "page.compound_dtor", "folio._folio_dtor", dtor_width, struct_page_bytes);
    if (!version.at_least(4, 4)) {
        auto lru = info.offset("page.lru");
        auto next = info.offset("list_head.next");
        auto prev = info.offset("list_head.prev");
        if (!rules.order_field && lru && prev && extent_within(*lru + *prev, order_width, struct_page_bytes))
            rules.order_field = FieldAt { *lru + *prev, order_width };
        if (!rules.dtor_field && lru && next && extent_within(*lru + *next, dtor_width, struct_page_bytes))
            rules.dtor_field = FieldAt { *lru + *next, dtor_width };
    }
    if (auto dtor_id = info.number("HUGETLB_PAGE_DTOR"))
        rules.hugetlb_dtor_id = static_cast<uint64_t>(*dtor_id);
    rules.hugetlb_dtor_function = info.symbol("free_huge_page");
    if (needed && !rules.order_field)
        warnings.missing("OFFSET(page.compound_order)", "compound pages are judged by their head page alone");
    return rules;
}

PageRules page_rules(VmcoreInfo const& info, StructPageLayout const& layout, int dump_level, Warnings& warnings)
{
    PageRules rules;

    rules.slab_mapcount = mapcount_value(info, "PAGE_SLAB_MAPCOUNT_VALUE");
    rules.pg_slab = flag_bit(info, "PG_slab", warnings);
    rules.slab_known = (rules.slab_mapcount && layout.mapcount_offset) || rules.pg_slab;
    bool slab_needed = (dump_level & (dump_level::free | dump_level::user)) != 0;
    if (!rules.slab_known && slab_needed)
        warnings.missing("NUMBER(PG_slab)", "nor NUMBER(PAGE_SLAB_MAPCOUNT_VALUE); slab pages cannot be told apart, so free, anonymous and offline pages are kept");

    if (auto length = info.length("zone.free_area")) {
        if (*length >= 1 && *length < 64)
            rules.free_area_orders = *length;
        else
            warnings.once("zone.free_area", cat("VMCOREINFO LENGTH(zone.free_area)=", *length, " is out of range; assuming ", default_free_area_orders));
    } else if (dump_level & dump_level::free) {
        warnings.missing("LENGTH(zone.free_area)", cat("free blocks of order ", default_free_area_orders, " and above are kept"));
    }

    if (dump_level & dump_level::free) {
        rules.buddy_mapcount = mapcount_value(info, "PAGE_BUDDY_MAPCOUNT_VALUE");
        rules.pg_buddy = flag_bit(info, "PG_buddy", warnings);
        if (!layout.private_offset)
            warnings.missing("OFFSET(page.private)", "free pages are kept");
        else if (rules.buddy_mapcount && !layout.mapcount_offset)
            warnings.missing("OFFSET(page._mapcount)", "free pages are kept");
        else if (!rules.buddy_mapcount && !rules.pg_buddy)
            warnings.missing("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", "free pages are kept");
        else if (rules.slab_known)
            rules.free_buddy = true;
        rules.unaccepted_mapcount = mapcount_value(info, "PAGE_UNACCEPTED_MAPCOUNT_VALUE");
        rules.free_unaccepted = rules.unaccepted_mapcount && layout.mapcount_offset;
    }

    if (dump_level & (dump_level::cache | dump_level::cache_private)) {
        auto lru = flag_bit(info, "PG_lru", warnings);
        auto private_bit = flag_bit(info, "PG_private", warnings);
        auto swapcache = flag_bit(info, "PG_swapcache", warnings);
        std::string_view missing = !lru ? "NUMBER(PG_lru)" : !private_bit ? "NUMBER(PG_private)" : !swapcache ? "NUMBER(PG_swapcache)" : !layout.mapping_offset ? "OFFSET(page.mapping)" : "";
        if (!missing.empty()) {
            warnings.missing(missing, "cache pages are kept");
        } else {
            rules.pg_lru = *lru;
            rules.pg_private = *private_bit;
            rules.pg_swapcache = *swapcache;
            rules.pg_swapbacked = flag_bit(info, "PG_swapbacked", warnings);
            rules.cache = (dump_level & dump_level::cache) != 0;
            rules.cache_private = (dump_level & dump_level::cache_private) != 0;
        }
    }

    if (dump_level & dump_level::user) {
        if (!layout.mapping_offset)
            warnings.missing("OFFSET(page.mapping)", "anonymous pages are kept");
        rules.user = true;
    }

    rules.pg_hwpoison = flag_bit(info, "PG_hwpoison", warnings);
    if (layout.mapcount_offset)
        rules.offline_mapcount = mapcount_value(info, "PAGE_OFFLINE_MAPCOUNT_VALUE");
    return rules;
}

// --- The filters ----------------------------------------------------------

// Dump levels 0 and 1 (and a struct page walk that cannot be set up): no
// page is left out here.
class KeepAllFilter final : public PageFilter {
public:
    explicit KeepAllFilter(uint64_t pfn_limit) : m_pfn_limit(pfn_limit) { }
    Result<void> exclude(uint64_t, uint64_t, std::span<uint8_t>, ExclusionCounts&) override { return {}; }
    uint64_t pfn_limit() const override { return m_pfn_limit; }

private:
    uint64_t m_pfn_limit;
};

class StructPageFilter final : public PageFilter {
public:
    StructPageFilter(KernelMemory const& kernel, std::vector<MemMapRange> ranges, uint64_t pfn_limit, StructPageLayout layout, PageRules rules, CompoundRules compound, std::shared_ptr<Warnings> warnings)
        : m_kernel(kernel)
        , m_ranges(std::move(ranges))
        , m_pfn_limit(pfn_limit)
        , m_layout(layout)
        , m_rules(rules)
        , m_compound(compound)
        , m_warnings(std::move(warnings))
    {
    }

    Result<void> exclude(uint64_t start_pfn, uint64_t pfn_count, std::span<uint8_t> keep, ExclusionCounts& counts) override;
    uint64_t pfn_limit() const override { return m_pfn_limit; }

private:
    struct Window {
        uint64_t start_pfn;
        uint64_t end_pfn;
        std::span<uint8_t> keep;
        ExclusionCounts& counts;
        bool kept(uint64_t pfn) const
        {
            uint64_t bit = pfn - start_pfn;
            return (keep[bit >> 3] >> (bit & 7)) & 1;
        }
    };

    Result<void> scan(Window& window, uint64_t from_pfn);
    // Clears [from_pfn, to_pfn) in the window; what lies past it is carried
    // into the next window.
    void exclude_range(Window& window, uint64_t from_pfn, uint64_t to_pfn, PageClass page_class);
    Result<PageFields> decode(ByteReader const& pages, uint64_t index) const;
    Result<std::optional<Exclusion>> decide(uint64_t pfn, ByteReader const& pages, uint64_t index, bool next_page_read);
    Result<uint64_t> compound_order(uint64_t pfn, PageFields const& head, ByteReader const& pages, uint64_t index, bool& hugetlb) const;
    bool is_slab(PageFields const& page) const;
    bool is_cache(PageFields const& page) const;

    KernelMemory const& m_kernel;
    std::vector<MemMapRange> m_ranges;
    uint64_t m_pfn_limit;
    StructPageLayout m_layout;
    PageRules m_rules;
    CompoundRules m_compound;
    std::shared_ptr<Warnings> m_warnings;

    std::optional<uint64_t> m_next_window_pfn;
    // A multi-page exclusion that ran past the previous window.
    uint64_t m_pending_end_pfn { 0 };
    PageClass m_pending_class { PageClass::Free };
    std::vector<uint8_t> m_buffer;
};

Result<void> StructPageFilter::exclude(uint64_t start_pfn, uint64_t pfn_count, std::span<uint8_t> keep, ExclusionCounts& counts)
{
    auto end_pfn = checked_add(start_pfn, pfn_count);
    if (!end_pfn)
        return Error::invalid(cat("page filter: window of ", pfn_count, " pages at pfn ", hex(start_pfn), " overflows"));
    if (keep.size() < pfn_count / 8 + (pfn_count % 8 != 0))
        return Error::invalid(cat("page filter: a bitmap of ", keep.size(), " bytes cannot hold ", pfn_count, " pages"));
    if (m_next_window_pfn && start_pfn < *m_next_window_pfn)
        return Error::invalid(cat("page filter: window starts at pfn ", hex(start_pfn), " but the previous one ended at ", hex(*m_next_window_pfn), " (windows must ascend)"));
    m_next_window_pfn = *end_pfn;

    Window window { start_pfn, *end_pfn, keep, counts };
    uint64_t from_pfn = start_pfn;
    if (m_pending_end_pfn > start_pfn) {
        uint64_t pending_end = m_pending_end_pfn;
        m_pending_end_pfn = 0;
        exclude_range(window, start_pfn, pending_end, m_pending_class);
        from_pfn = std::min(pending_end, window.end_pfn);
    }
    return scan(window, from_pfn);
}

void StructPageFilter::exclude_range(Window& window, uint64_t from_pfn, uint64_t to_pfn, PageClass page_class)
{
    if (to_pfn > window.end_pfn) {
        m_pending_end_pfn = to_pfn;
        m_pending_class = page_class;
    }
    uint64_t& counter = counter_for(window.counts, page_class);
    for (uint64_t pfn = std::max(from_pfn, window.start_pfn); pfn < std::min(to_pfn, window.end_pfn); ++pfn) {
        uint64_t bit = pfn - window.start_pfn;
        uint8_t mask = static_cast<uint8_t>(1u << (bit & 7));
        if (window.keep[bit >> 3] & mask) {
            window.keep[bit >> 3] = static_cast<uint8_t>(window.keep[bit >> 3] & ~mask);
            ++counter;
        }
    }
}

Result<void> StructPageFilter::scan(Window& window, uint64_t from_pfn)
{
    uint64_t pfn = from_pfn;
    auto range = std::upper_bound(m_ranges.begin(), m_ranges.end(), pfn, [](uint64_t value, MemMapRange const& candidate) { return value < candidate.end_pfn; });
    while (pfn < window.end_pfn && range != m_ranges.end()) {
        if (pfn >= range->end_pfn) {
            ++range;
            continue;
        }
        pfn = std::max(pfn, range->start_pfn);
        if (pfn >= window.end_pfn)
            break;
        uint64_t chunk_end = std::min({ (pfn / struct_pages_per_read + 1) * struct_pages_per_read, range->end_pfn, window.end_pfn });

        // Only pfns the input holds are examined (makedumpfile's is_in_segs);
        // a chunk of holes needs no read.
        bool any_kept = false;
        for (uint64_t candidate = pfn; candidate < chunk_end && !any_kept; ++candidate)
            any_kept = window.kept(candidate);
        if (!any_kept) {
            pfn = chunk_end;
            continue;
        }

        // One struct page more when it exists: a compound head's order is
        // in its first tail.
        bool next_page_read = chunk_end < range->end_pfn;
        uint64_t page_count = chunk_end - pfn + (next_page_read ? 1 : 0);
        uint64_t vaddr = range->mem_map + (pfn - range->start_pfn) * m_layout.size_bytes;
        m_buffer.resize(page_count * m_layout.size_bytes);
        auto read = m_kernel.read(vaddr, m_buffer);
        if (!read.ok()) {
            m_warnings->once("struct-page-read", cat("cannot read the struct pages of pfns ", hex(pfn), "-", hex(chunk_end - 1), " (", read.error().message(), "); those pages are kept (further unreadable struct pages are not reported)"));
            pfn = chunk_end;
            continue;
        }
        ByteReader pages(m_buffer, m_kernel.endian(), "struct page");
        uint64_t chunk_start = pfn;
        while (pfn < chunk_end) {
            if (!window.kept(pfn)) {
                ++pfn;
                continue;
            }
            auto exclusion = TRY(decide(pfn, pages, pfn - chunk_start, next_page_read || pfn + 1 < chunk_end));
            if (!exclusion) {
                ++pfn;
                continue;
            }
            uint64_t end_pfn = pfn + exclusion->page_count; // checked in decide()
            exclude_range(window, pfn, end_pfn, exclusion->page_class);
            pfn = end_pfn;
        }
    }
    return {};
}

Result<PageFields> StructPageFilter::decode(ByteReader const& pages, uint64_t index) const
{
    uint64_t base = index * m_layout.size_bytes;
    PageFields page;
    page.flags = TRY(pages.u64(base + m_layout.flags_offset));
    if (m_layout.mapping_offset)
        page.mapping = TRY(pages.u64(base + *m_layout.mapping_offset));
    if (m_layout.mapcount_offset)
        page.mapcount = TRY(pages.u32(base + *m_layout.mapcount_offset));
    if (m_layout.private_offset)
        page.private_value = TRY(pages.u64(base + *m_layout.private_offset));
    if (m_layout.compound_head_offset)
        page.compound_head = TRY(pages.u64(base + *m_layout.compound_head_offset));
    return page;
}

bool StructPageFilter::is_slab(PageFields const& page) const
{
    if (m_rules.slab_mapcount && m_layout.mapcount_offset && page.mapcount == *m_rules.slab_mapcount)
        return true;
    return m_rules.pg_slab && test_bit(page.flags, *m_rules.pg_slab);
}

bool StructPageFilter::is_cache(PageFields const& page) const
{
    if (test_bit(page.flags, m_rules.pg_lru))
        return true;
    // PG_swapcache means swap cache only with PG_swapbacked (4.10+ reuses
    // the bit); kernels without PG_swapbacked have the plain meaning.
    bool swapbacked = !m_rules.pg_swapbacked || test_bit(page.flags, *m_rules.pg_swapbacked);
    return swapbacked && test_bit(page.flags, m_rules.pg_swapcache);
}

// The order of the compound page `head` starts (0 if it is not a head or
// the order is not sane), and whether it is a hugetlbfs page.
Result<uint64_t> StructPageFilter::compound_order(uint64_t pfn, PageFields const& head, ByteReader const& pages, uint64_t index, bool& hugetlb) const
{
    hugetlb = false;
    if (m_compound.scheme == CompoundScheme::Unknown || !(head.flags & m_compound.head_mask))
        return 0;
    uint64_t tail_base = (index + 1) * m_layout.size_bytes;
    uint64_t order = 0;
    if (m_compound.scheme == CompoundScheme::TailFlags) {
        uint64_t tail_flags = TRY(pages.u64(tail_base + m_layout.flags_offset));
        order = tail_flags & 0xff;
        if (m_compound.hugetlb_mapcount)
            hugetlb = m_layout.mapcount_offset && head.mapcount == *m_compound.hugetlb_mapcount;
        else if (m_compound.hugetlb_tail_flag_bit)
            hugetlb = test_bit(tail_flags, *m_compound.hugetlb_tail_flag_bit);
    } else {
        if (m_compound.order_field)
            order = TRY(pages.uint(tail_base + m_compound.order_field->offset, m_compound.order_field->width));
        if (m_compound.dtor_field) {
            uint64_t dtor = TRY(pages.uint(tail_base + m_compound.dtor_field->offset, m_compound.dtor_field->width));
            hugetlb = (m_compound.hugetlb_dtor_id && dtor == *m_compound.hugetlb_dtor_id) || (m_compound.hugetlb_dtor_function && dtor == *m_compound.hugetlb_dtor_function);
        }
    }
    // makedumpfile's sanity rule: an order that is too big or that the pfn
    // is not aligned to is treated as 0.
    if (order >= 64 || (pfn & ((uint64_t(1) << order) - 1)) != 0)
        return 0;
    return order;
}

// makedumpfile's per-page decision, in its order; the first match wins.
Result<std::optional<Exclusion>> StructPageFilter::decide(uint64_t pfn, ByteReader const& pages, uint64_t index, bool next_page_read)
{
    PageFields page = TRY(decode(pages, index));

    bool hugetlb = false;
    uint64_t order = next_page_read ? TRY(compound_order(pfn, page, pages, index, hugetlb)) : 0;

    // A tail page: its head decided for the whole compound page.
    if (m_layout.compound_head_offset && (page.compound_head & 1))
        return std::optional<Exclusion> {};

    // A range that runs past the end of memory is a corrupt struct page.
    auto fits = [&](uint64_t page_count) {
        auto end_pfn = checked_add(pfn, page_count);
        return end_pfn && *end_pfn <= m_pfn_limit;
    };

    bool slab = is_slab(page);
    if (m_rules.free_buddy) {
        bool buddy = m_rules.buddy_mapcount ? !slab && page.mapcount == *m_rules.buddy_mapcount : test_bit(page.flags, *m_rules.pg_buddy);
        if (buddy) {
            uint64_t free_order = page.private_value;
            if (free_order >= m_rules.free_area_orders || !fits(uint64_t(1) << free_order)) {
                m_warnings->once("buddy-order", cat("free page at pfn ", hex(pfn), " has invalid order ", free_order, " (zone.free_area has ", m_rules.free_area_orders, "); it is kept (further ones are not reported)"));
                return std::optional<Exclusion> {};
            }
            return std::optional<Exclusion> { Exclusion { PageClass::Free, uint64_t(1) << free_order } };
        }
    }
    if (m_rules.free_unaccepted && page.mapcount == *m_rules.unaccepted_mapcount) {
        uint64_t unaccepted_pages = uint64_t(1) << (m_rules.free_area_orders - 1);
        if (fits(unaccepted_pages))
            return std::optional<Exclusion> { Exclusion { PageClass::Unaccepted, unaccepted_pages } };
    }

    uint64_t page_count = uint64_t(1) << order;
    if (page_count > 1 && !fits(page_count)) {
        m_warnings->once("compound-order", cat("compound page at pfn ", hex(pfn), " claims order ", order, ", past the end of memory; it is judged alone (further ones are not reported)"));
        page_count = 1;
    }

    // Anonymous: page.mapping points to an anon_vma. Without a way to tell
    // slab pages apart, such a page is neither excludable as anonymous nor
    // as cache.
    bool maps_anon = m_layout.mapping_offset && (page.mapping & page_mapping_anon);
    bool anon = maps_anon && m_rules.slab_known && !slab;
    bool not_anon = !maps_anon || (m_rules.slab_known && slab);
    if (m_rules.cache || m_rules.cache_private) {
        bool cache = is_cache(page);
        bool private_data = test_bit(page.flags, m_rules.pg_private);
        if (m_rules.cache && cache && !private_data && not_anon)
            return std::optional<Exclusion> { Exclusion { PageClass::Cache, page_count } };
        if (m_rules.cache_private && cache && not_anon)
            return std::optional<Exclusion> { Exclusion { private_data ? PageClass::CachePrivate : PageClass::Cache, page_count } };
    }
    if (m_rules.user && (anon || hugetlb))
        return std::optional<Exclusion> { Exclusion { PageClass::User, page_count } };
    if (m_rules.pg_hwpoison && test_bit(page.flags, *m_rules.pg_hwpoison))
        return std::optional<Exclusion> { Exclusion { PageClass::Hwpoison, page_count } };
    if (m_rules.offline_mapcount && m_rules.slab_known && !slab && page.mapcount == *m_rules.offline_mapcount)
        return std::optional<Exclusion> { Exclusion { PageClass::Offline, page_count } };
    return std::optional<Exclusion> {};
}

} // namespace

Result<std::unique_ptr<PageFilter>> PageFilter::create(VmcoreInfo const& info, std::optional<arch::SparsememDefaults> const& sparsemem_defaults, KernelMemory const& kernel, PhysicalMemory const& physical, int dump_level, WarningSink warn)
{
    if (dump_level < 0 || dump_level > dump_level::max)
        return Error::invalid(cat("dump level ", dump_level, " is out of range; use 0 to 31"));
    uint64_t max_mapnr = physical.pfn_limit();
    auto keep_all = [&]() -> Result<std::unique_ptr<PageFilter>> { return std::unique_ptr<PageFilter>(std::make_unique<KeepAllFilter>(max_mapnr)); };
    // Zero pages are the writer's business; nothing else needs struct pages.
    if ((dump_level & ~dump_level::zero) == 0)
        return keep_all();

    auto warnings = std::make_shared<Warnings>(std::move(warn));
    uint64_t page_size = physical.page_size();
    if (page_size == 0 || !std::has_single_bit(page_size))
        return Error::invalid(cat("page filter: page size ", page_size, " is not a power of two"));
    if (auto info_page_size = info.page_size(); info_page_size && *info_page_size != page_size) {
        warnings->once("PAGESIZE", cat("VMCOREINFO PAGESIZE=", *info_page_size, " differs from the dump's page size ", page_size, ": every page is kept"));
        return keep_all();
    }

    auto layout = struct_page_layout(info, *warnings);
    if (!layout)
        return keep_all();
    auto ranges = find_mem_maps(info, sparsemem_defaults, kernel, physical, max_mapnr, page_size, layout->size_bytes, *warnings);
    if (!ranges)
        return keep_all();
    std::sort(ranges->begin(), ranges->end(), [](MemMapRange const& left, MemMapRange const& right) { return left.start_pfn < right.start_pfn; });
    // makedumpfile clamps max_mapnr to the last pfn with a struct page,
    // which drops memory the kernel did not use (mem=).
    uint64_t pfn_limit = std::min(max_mapnr, ranges->back().end_pfn);

    KernelVersion version = info.kernel_version();
    bool compound_needed = (dump_level & (dump_level::cache | dump_level::cache_private | dump_level::user)) != 0;
    auto rules = page_rules(info, *layout, dump_level, *warnings);
    auto compound = compound_rules(info, *layout, version, compound_needed, *warnings);
    return std::unique_ptr<PageFilter>(std::make_unique<StructPageFilter>(kernel, std::move(*ranges), pfn_limit, *layout, rules, compound, std::move(warnings)));
}

} // namespace core
