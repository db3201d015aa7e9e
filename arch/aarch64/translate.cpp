// SPDX-License-Identifier: GPL-2.0-or-later
// aarch64 kernel virtual addresses: walked through the crashed kernel's own
// page tables from swapper_pg_dir (what TTBR1_EL1 points at), as the MMU
// walks them. One walk covers the linear map (the top half of the kernel
// range before Linux 5.4, the bottom half since), vmemmap, vmalloc, modules
// and the kernel image, whatever their places in 5.10..6.12+; only
// swapper_pg_dir itself is found by arithmetic: it is a kernel image symbol,
// physical = virtual - kimage_voffset. SYMBOL() values and kimage_voffset
// both include the KASLR slide, so KERNELOFFSET is not needed. Compiled on
// every host: nothing here depends on the CPU kdumpbox runs on.
#include "arch/aarch64/dump.h"

#include "core/base/bytes.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/vmcore/physical_memory.h"
#include "core/vmcore/vmcoreinfo.h"

#include <array>
#include <vector>

namespace arch::aarch64 {

namespace {

using core::Error;
using core::Result;
using core::cat;
using core::hex;

constexpr uint64_t descriptor_valid = 1ull << 0;
// At a level above the last: set for a table, clear for a block. At the
// last level it must be set (a page); clear is reserved.
constexpr uint64_t descriptor_table_or_page = 1ull << 1;
constexpr unsigned max_levels = 5;
// Kernels choose among these VA sizes (arch/arm64/Kconfig: 36, 39, 42, 47,
// 48, 52); anything outside is a damaged VMCOREINFO.
constexpr int64_t min_va_bits = 36;
constexpr int64_t max_va_bits = 52;

uint64_t bits(unsigned high, unsigned low) { return ((~0ull) >> (63 - high)) & ~((1ull << low) - 1); }

struct Level {
    int number;     // the architecture's level: -1 (LPA2's fifth) .. 3
    unsigned shift; // the VA bit this level's index starts at
    uint64_t index_mask;
    bool may_map_block;
};

// Everything the walk needs, decided once from VMCOREINFO.
struct Geometry {
    unsigned page_shift { 12 };
    unsigned va_bits { 48 };        // NUMBER(VA_BITS): the configured size
    unsigned va_bits_actual { 48 }; // 64 - TCR_EL1.T1SZ: what the MMU used
    bool lpa2 { false };            // 4/16 KiB pages with 52-bit VAs: PA[51:50] in bits 9:8
    bool lpa_64k { false };         // 64 KiB pages with 52-bit PAs: PA[51:48] in bits 15:12
    std::vector<Level> levels;
};

unsigned level_count(unsigned va_bits, unsigned page_shift)
{
    unsigned bits_per_level = page_shift - 3;
    return (va_bits - page_shift + bits_per_level - 1) / bits_per_level;
}

// arch/arm64: blocks are 1 GiB and 2 MiB with 4 KiB pages, 32 MiB with
// 16 KiB pages, 512 MiB with 64 KiB pages; 52-bit output addresses (LPA2,
// LPA) add one larger size (512 GiB, 64 GiB, 4 TiB).
unsigned largest_block_shift(Geometry const& geometry)
{
    switch (geometry.page_shift) {
    case 12: return geometry.lpa2 ? 39 : 30;
    case 14: return geometry.lpa2 ? 36 : 25;
    default: return geometry.lpa_64k ? 42 : 29;
    }
}

Geometry make_geometry(unsigned page_shift, unsigned va_bits, unsigned va_bits_actual, bool pa_52)
{
    Geometry geometry;
    geometry.page_shift = page_shift;
    geometry.va_bits = va_bits;
    geometry.va_bits_actual = va_bits_actual;
    geometry.lpa2 = page_shift != 16 && va_bits_actual == 52;
    geometry.lpa_64k = page_shift == 16 && pa_52;
    unsigned count = level_count(va_bits_actual, page_shift);
    // A kernel built for 52-bit VAs on a CPU with 48 keeps its 52-bit top
    // table and points TTBR1 into its end (TTBR1_BADDR_4852_OFFSET) when the
    // level count stays the same (64 KiB and 16 KiB pages): indexing that
    // table with the configured size and a sign-extended address picks the
    // same entry. With 4 KiB pages (LPA2, 6.9+) the fifth level is folded
    // away instead, and the walk starts a level lower.
    unsigned top_index_bits = level_count(va_bits, page_shift) == count ? va_bits : va_bits_actual;
    unsigned bits_per_level = page_shift - 3;
    unsigned block_limit = largest_block_shift(geometry);
    for (unsigned position = 0; position < count; ++position) {
        unsigned shift = page_shift + bits_per_level * (count - 1 - position);
        unsigned index_bits = position == 0 ? top_index_bits - shift : bits_per_level;
        bool last = position + 1 == count;
        geometry.levels.push_back({ static_cast<int>(4 - count + position), shift, (1ull << index_bits) - 1, !last && shift <= block_limit });
    }
    return geometry;
}

class Aarch64Translator final : public AddressTranslator {
public:
    Aarch64Translator(core::PhysicalMemory const& physical, Geometry geometry, uint64_t root_paddr, uint64_t phys_offset)
        : m_physical(physical)
        , m_geometry(std::move(geometry))
        , m_root_paddr(root_paddr)
        , m_phys_offset(phys_offset)
    {
    }

    Result<uint64_t> to_physical(uint64_t vaddr) const override;
    uint64_t phys_base() const override { return m_phys_offset; }
    uint64_t root_paddr() const { return m_root_paddr; }

private:
    uint64_t output_address(uint64_t descriptor) const
    {
        if (m_geometry.lpa2)
            return (descriptor & bits(49, m_geometry.page_shift)) | (((descriptor >> 8) & 0x3) << 50);
        if (m_geometry.lpa_64k)
            return (descriptor & bits(47, 16)) | (((descriptor >> 12) & 0xf) << 48);
        return descriptor & bits(47, m_geometry.page_shift);
    }
    Error walk_error(uint64_t vaddr, Level const& level, std::string_view problem) const
    {
        return Error::invalid(cat("aarch64: cannot translate kernel address ", hex(vaddr), ": level ", level.number, ' ', problem, " (",
            1u << (m_geometry.page_shift - 10), " KiB pages, ", m_geometry.va_bits_actual, "-bit VAs, ", m_geometry.levels.size(),
            "-level walk from swapper_pg_dir at physical ", hex(m_root_paddr), ")"));
    }

    core::PhysicalMemory const& m_physical;
    Geometry m_geometry;
    uint64_t m_root_paddr;
    uint64_t m_phys_offset;
};

Result<uint64_t> Aarch64Translator::to_physical(uint64_t vaddr) const
{
    // Kernel addresses are TTBR1's: every bit above the VA size set.
    unsigned va_bits = m_geometry.va_bits_actual;
    if ((vaddr >> va_bits) != (~0ull >> va_bits))
        return Error::invalid(cat("aarch64: ", hex(vaddr), " is not in the kernel's half of a ", va_bits, "-bit address space; it cannot be a kernel address"));

    uint64_t table_paddr = m_root_paddr;
    for (size_t position = 0; position < m_geometry.levels.size(); ++position) {
        Level const& level = m_geometry.levels[position];
        bool last = position + 1 == m_geometry.levels.size();
        uint64_t entry_paddr = table_paddr + ((vaddr >> level.shift) & level.index_mask) * 8;
        std::array<uint8_t, 8> bytes {};
        auto read = m_physical.read(entry_paddr, bytes);
        if (!read.ok())
            return walk_error(vaddr, level, cat("entry at physical ", hex(entry_paddr), " cannot be read: ", read.error().message()));
        // Descriptors are in the kernel's byte order (aarch64_be exists).
        uint64_t descriptor = core::ByteReader(bytes, m_physical.endian(), "page-table descriptor").u64(0).value();
        if ((descriptor & descriptor_valid) == 0)
            return walk_error(vaddr, level, cat("descriptor ", hex(descriptor), " at physical ", hex(entry_paddr), " is not valid: the address is not mapped"));
        uint64_t address = output_address(descriptor);
        uint64_t offset_mask = (1ull << level.shift) - 1;
        if (last) {
            if ((descriptor & descriptor_table_or_page) == 0)
                return walk_error(vaddr, level, cat("descriptor ", hex(descriptor), " at physical ", hex(entry_paddr), " is a reserved type at the last level; the page tables are corrupt"));
            return address + (vaddr & offset_mask);
        }
        if ((descriptor & descriptor_table_or_page) == 0) {
            if (!level.may_map_block)
                return walk_error(vaddr, level, cat("descriptor ", hex(descriptor), " at physical ", hex(entry_paddr), " is a block, which this level cannot map; the page tables are corrupt"));
            return (address & ~offset_mask) + (vaddr & offset_mask);
        }
        table_paddr = address;
    }
    return Error::invalid("aarch64: the walk ended without a page"); // not reached: the last level returns
}

// The lowest physical address the dump holds: where RAM starts when the
// kernel does not say (makedumpfile takes the lowest PT_LOAD likewise).
uint64_t lowest_dumped_address(core::PhysicalMemory const& physical)
{
    uint64_t pfn = physical.next_present_pfn(0);
    return pfn < physical.pfn_limit() ? pfn * physical.page_size() : 0;
}

} // namespace

Result<std::unique_ptr<AddressTranslator>> make_translator(core::VmcoreInfo const& info, core::PhysicalMemory const& physical)
{
    auto root_vaddr = info.symbol("swapper_pg_dir");
    auto kimage_voffset = info.number("kimage_voffset");
    auto va_bits = info.number("VA_BITS");
    auto page_size = info.page_size();
    std::vector<std::string> missing;
    if (!root_vaddr)
        missing.emplace_back("SYMBOL(swapper_pg_dir)");
    if (!kimage_voffset)
        missing.emplace_back("NUMBER(kimage_voffset)");
    if (!va_bits)
        missing.emplace_back("NUMBER(VA_BITS)");
    if (!page_size)
        missing.emplace_back("PAGESIZE");
    if (!missing.empty())
        return Error::invalid(cat("VMCOREINFO has no ", core::join(missing, ", "), ", which aarch64 address translation needs (the page-table root, where the kernel image sits, the VA size, the page granule); the crashed kernel is too old (before 4.6) or its VMCOREINFO is damaged"));

    unsigned page_shift = 0;
    switch (*page_size) {
    case 4096: page_shift = 12; break;
    case 16384: page_shift = 14; break;
    case 65536: page_shift = 16; break;
    default:
        return Error::invalid(cat("VMCOREINFO PAGESIZE=", *page_size, " is not an arm64 granule (4096, 16384 or 65536); VMCOREINFO is damaged"));
    }
    if (*va_bits < min_va_bits || *va_bits > max_va_bits)
        return Error::invalid(cat("VMCOREINFO NUMBER(VA_BITS)=", *va_bits, " is outside ", min_va_bits, "..", max_va_bits, "; VMCOREINFO is damaged"));
    // TCR_EL1.T1SZ (exported since Linux 5.9) is the size the MMU really
    // used: a kernel built for 52-bit VAs runs with 48 on a CPU without
    // LVA/LPA2.
    int64_t va_bits_actual = *va_bits;
    if (auto t1sz = info.number("TCR_EL1_T1SZ")) {
        va_bits_actual = 64 - *t1sz;
        if (va_bits_actual < min_va_bits || va_bits_actual > *va_bits)
            return Error::invalid(cat("VMCOREINFO NUMBER(TCR_EL1_T1SZ)=", *t1sz, " gives ", va_bits_actual, "-bit VAs, outside ", min_va_bits, "..VA_BITS (", *va_bits, "); VMCOREINFO is damaged"));
    }
    unsigned levels = level_count(static_cast<unsigned>(va_bits_actual), page_shift);
    if (levels < 2 || levels > max_levels)
        return Error::invalid(cat("aarch64: ", va_bits_actual, "-bit VAs with ", *page_size, "-byte pages would need a ", levels, "-level walk, which no kernel builds; VMCOREINFO is damaged"));
    bool pa_52 = info.number("MAX_PHYSMEM_BITS").value_or(*va_bits == 52 ? 52 : 48) == 52;

    uint64_t root_paddr = *root_vaddr - static_cast<uint64_t>(*kimage_voffset);
    uint64_t phys_offset = 0;
    if (auto number = info.number("PHYS_OFFSET")) {
        phys_offset = static_cast<uint64_t>(*number);
    } else {
        phys_offset = lowest_dumped_address(physical);
        core::log::debug(cat("aarch64: VMCOREINFO has no NUMBER(PHYS_OFFSET); taking the lowest dumped address ", hex(phys_offset)));
    }

    Geometry geometry = make_geometry(page_shift, static_cast<unsigned>(*va_bits), static_cast<unsigned>(va_bits_actual), pa_52);
    auto translator = std::make_unique<Aarch64Translator>(physical, std::move(geometry), root_paddr, phys_offset);
    std::array<uint8_t, 8> first_entry {};
    auto readable = physical.read(root_paddr, first_entry);
    if (!readable.ok())
        return Error::invalid(cat("aarch64: the page-table root swapper_pg_dir (", hex(*root_vaddr), ") at physical ", hex(root_paddr), " (kimage_voffset ", hex(static_cast<uint64_t>(*kimage_voffset)), ") is not in the dump: ", readable.error().message()));
    // The kernel maps its own image in these tables too: if the walk and
    // the kimage_voffset arithmetic disagree, one of them is wrong.
    auto walked = translator->to_physical(*root_vaddr);
    if (walked.ok() && walked.value() != root_paddr)
        core::log::warn(cat("aarch64: the page tables map swapper_pg_dir (", hex(*root_vaddr), ") to physical ", hex(walked.value()), ", but kimage_voffset puts it at ", hex(root_paddr), "; addresses may be read wrongly"));
    else if (!walked.ok())
        core::log::debug(cat("aarch64: cannot cross-check kimage_voffset through the page tables: ", walked.error().message()));
    return std::unique_ptr<AddressTranslator>(std::move(translator));
}

} // namespace arch::aarch64
