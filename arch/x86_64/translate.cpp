// SPDX-License-Identifier: GPL-2.0-or-later
// x86_64 kernel virtual addresses: the kernel image by arithmetic, the rest
// (direct map, vmemmap, vmalloc, modules) by walking the crashed kernel's
// own page tables from init_top_pgt, with 4- or 5-level paging. Compiled
// on every host: nothing here depends on the CPU kdumpbox runs on.
#include "arch/x86_64/dump.h"

#include "core/base/bytes.h"
#include "core/base/log.h"
#include "core/vmcore/physical_memory.h"
#include "core/base/strings.h"
#include "core/vmcore/vmcoreinfo.h"

#include <array>
#include <atomic>

namespace arch::x86_64 {

namespace {

using core::Error;
using core::Result;
using core::cat;
using core::hex;

// __START_KERNEL_map: the kernel image's mapping, physical = virtual -
// __START_KERNEL_map + phys_base. SYMBOL() values in VMCOREINFO already
// include the KASLR slide, and phys_base absorbs it too (it is the physical
// load address minus the image's offset in this mapping; it can even be
// "negative"), so KERNELOFFSET is not needed here.
constexpr uint64_t kernel_image_map_start = 0xffffffff80000000;
// Without NUMBER(KERNEL_IMAGE_SIZE), assume the smaller non-KASLR size: an
// image address above it still translates correctly through the page
// tables, whereas a larger guess would misread module addresses.
constexpr uint64_t default_kernel_image_bytes = 512ull << 20;
constexpr uint64_t max_kernel_image_bytes = 2ull << 30;

constexpr uint64_t entry_present = 1ull << 0;
constexpr uint64_t entry_large_page = 1ull << 7; // PSE in a PUD or PMD entry
constexpr uint64_t entry_frame_mask = 0x000ffffffffff000; // bits 12..51
constexpr uint64_t entries_per_table = 512;
constexpr unsigned pte_table_shift = 21; // one PTE table maps 2 MiB

struct Level {
    std::string_view name;
    unsigned shift;
    bool may_map_large_page;
};

constexpr std::array<Level, 4> levels_4 { { { "PGD", 39, false }, { "PUD", 30, true }, { "PMD", 21, true }, { "PTE", 12, false } } };
constexpr std::array<Level, 5> levels_5 { { { "PGD", 48, false }, { "P4D", 39, false }, { "PUD", 30, true }, { "PMD", 21, true }, { "PTE", 12, false } } };

// A per-thread cache of recent translations, like a small TLB: the page
// filter translates vmemmap addresses in order, so the last few 4 KiB, 2 MiB
// and 1 GiB pages answer almost every lookup. Per thread, so that lookups
// need no lock; tagged with the translator's id, so that a new translator
// never sees an old one's entries.
struct CachedPage {
    uint64_t tag;        // vaddr >> shift
    uint64_t frame_paddr;
    unsigned shift;      // 0: empty
};
struct CachedPteTable {
    uint64_t tag;        // vaddr >> pte_table_shift
    uint64_t table_paddr;
    bool valid;
};
struct TranslationCache {
    uint64_t owner_id { 0 };
    std::array<CachedPage, 8> pages {};
    unsigned next_page { 0 };
    std::array<CachedPteTable, 4> pte_tables {};
    unsigned next_pte_table { 0 };
};

thread_local TranslationCache t_cache;
std::atomic<uint64_t> g_next_translator_id { 1 };

class X86_64Translator final : public AddressTranslator {
public:
    X86_64Translator(core::PhysicalMemory const& physical, uint64_t root_vaddr, uint64_t phys_base, uint64_t kernel_image_bytes, bool five_level, uint64_t sme_mask)
        : m_physical(physical)
        , m_id(g_next_translator_id.fetch_add(1, std::memory_order_relaxed))
        , m_root_vaddr(root_vaddr)
        , m_root_paddr(root_vaddr - kernel_image_map_start + phys_base)
        , m_phys_base(phys_base)
        , m_kernel_image_bytes(kernel_image_bytes)
        , m_five_level(five_level)
        , m_frame_mask(entry_frame_mask & ~sme_mask)
    {
    }

    Result<uint64_t> to_physical(uint64_t vaddr) const override
    {
        if (vaddr >= kernel_image_map_start && vaddr - kernel_image_map_start < m_kernel_image_bytes)
            return vaddr - kernel_image_map_start + m_phys_base;
        return walk(vaddr);
    }

    uint64_t phys_base() const override { return m_phys_base; }

    uint64_t root_paddr() const { return m_root_paddr; }
    uint64_t root_vaddr() const { return m_root_vaddr; }

    Result<uint64_t> walk(uint64_t vaddr) const;

private:
    TranslationCache& cache() const
    {
        if (t_cache.owner_id != m_id) {
            t_cache = TranslationCache {};
            t_cache.owner_id = m_id;
        }
        return t_cache;
    }
    void remember_page(uint64_t vaddr, unsigned shift, uint64_t frame_paddr) const
    {
        auto& entries = cache();
        entries.pages[entries.next_page] = { vaddr >> shift, frame_paddr, shift };
        entries.next_page = (entries.next_page + 1) % entries.pages.size();
    }
    void remember_pte_table(uint64_t vaddr, uint64_t table_paddr) const
    {
        auto& entries = cache();
        entries.pte_tables[entries.next_pte_table] = { vaddr >> pte_table_shift, table_paddr, true };
        entries.next_pte_table = (entries.next_pte_table + 1) % entries.pte_tables.size();
    }

    Result<uint64_t> read_entry(uint64_t table_paddr, Level const& level, uint64_t vaddr) const;
    Result<uint64_t> walk_from(uint64_t vaddr, std::span<Level const> levels, uint64_t table_paddr) const;
    Error walk_error(uint64_t vaddr, Level const& level, std::string_view problem) const
    {
        return Error::invalid(cat("x86_64: cannot translate kernel address ", hex(vaddr), ": ", level.name, ' ', problem, " (", m_five_level ? 5 : 4, "-level walk from init_top_pgt at physical ", hex(m_root_paddr), ")"));
    }

    core::PhysicalMemory const& m_physical;
    uint64_t m_id;
    uint64_t m_root_vaddr;
    uint64_t m_root_paddr;
    uint64_t m_phys_base;
    uint64_t m_kernel_image_bytes;
    bool m_five_level;
    uint64_t m_frame_mask;
};

Result<uint64_t> X86_64Translator::read_entry(uint64_t table_paddr, Level const& level, uint64_t vaddr) const
{
    uint64_t index = (vaddr >> level.shift) % entries_per_table;
    uint64_t entry_paddr = table_paddr + index * 8;
    std::array<uint8_t, 8> bytes {};
    auto read = m_physical.read(entry_paddr, bytes);
    if (!read.ok())
        return walk_error(vaddr, level, cat("entry at physical ", hex(entry_paddr), " cannot be read: ", read.error().message()));
    // Page tables are little-endian: x86_64 has no other byte order.
    return core::ByteReader(bytes, core::Endian::Little, "page-table entry").u64(0);
}

Result<uint64_t> X86_64Translator::walk_from(uint64_t vaddr, std::span<Level const> levels, uint64_t table_paddr) const
{
    for (auto const& level : levels) {
        uint64_t entry = TRY(read_entry(table_paddr, level, vaddr));
        if ((entry & entry_present) == 0)
            return walk_error(vaddr, level, cat("entry ", hex(entry), " is not present: the address is not mapped"));
        uint64_t frame = entry & m_frame_mask;
        uint64_t page_mask = (1ull << level.shift) - 1;
        if (level.shift == 12) {
            remember_page(vaddr, level.shift, frame);
            return frame + (vaddr & page_mask);
        }
        if (entry & entry_large_page) {
            if (!level.may_map_large_page)
                return walk_error(vaddr, level, cat("entry ", hex(entry), " has the large-page bit set, which this level does not allow; the page tables are corrupt"));
            // The low bits of a large page's frame field hold PAT, not address.
            frame &= ~page_mask;
            remember_page(vaddr, level.shift, frame);
            return frame + (vaddr & page_mask);
        }
        if (level.shift == pte_table_shift)
            remember_pte_table(vaddr, frame);
        table_paddr = frame;
    }
    return walk_error(vaddr, levels.back(), "walk ended without a page"); // not reached: the PTE level returns
}

Result<uint64_t> X86_64Translator::walk(uint64_t vaddr) const
{
    unsigned address_bits = m_five_level ? 57 : 48;
    unsigned unused_bits = 64 - address_bits;
    if (static_cast<uint64_t>(static_cast<int64_t>(vaddr << unused_bits) >> unused_bits) != vaddr)
        return Error::invalid(cat("x86_64: ", hex(vaddr), " is not a canonical ", address_bits, "-bit address; it cannot be a kernel address"));

    auto& entries = cache();
    for (auto const& page : entries.pages) {
        if (page.shift != 0 && (vaddr >> page.shift) == page.tag)
            return page.frame_paddr + (vaddr & ((1ull << page.shift) - 1));
    }
    std::span<Level const> levels = m_five_level ? std::span<Level const>(levels_5) : std::span<Level const>(levels_4);
    for (auto const& table : entries.pte_tables) {
        if (table.valid && (vaddr >> pte_table_shift) == table.tag)
            return walk_from(vaddr, levels.last(1), table.table_paddr);
    }
    return walk_from(vaddr, levels, m_root_paddr);
}

Error missing(std::string_view what, std::string_view why)
{
    return Error::invalid(cat("VMCOREINFO has no ", what, ", which x86_64 address translation needs (", why, "); the crashed kernel is too old or its VMCOREINFO is damaged"));
}

} // namespace

Result<std::unique_ptr<AddressTranslator>> make_translator(core::VmcoreInfo const& info, core::PhysicalMemory const& physical)
{
    // init_top_pgt since Linux 4.13; init_level4_pgt before. swapper_pg_dir
    // names the same table on x86_64.
    std::string_view root_name = "init_top_pgt";
    auto root_vaddr = info.symbol(root_name);
    for (std::string_view alternative : { "init_level4_pgt", "swapper_pg_dir" }) {
        if (root_vaddr)
            break;
        root_name = alternative;
        root_vaddr = info.symbol(alternative);
    }
    if (!root_vaddr)
        return missing("SYMBOL(init_top_pgt)", "the root of the kernel page tables");
    // NUMBER(phys_base) since Linux 4.10. Older kernels export only the
    // variable's address, which cannot be read before phys_base is known.
    auto phys_base_number = info.number("phys_base");
    if (!phys_base_number)
        return missing("NUMBER(phys_base)", "where the kernel image sits in physical memory");
    uint64_t phys_base = static_cast<uint64_t>(*phys_base_number); // may be negative: wraps as in the kernel

    uint64_t kernel_image_bytes = default_kernel_image_bytes;
    if (auto number = info.number("KERNEL_IMAGE_SIZE")) {
        if (*number <= 0 || static_cast<uint64_t>(*number) > max_kernel_image_bytes)
            return Error::invalid(cat("VMCOREINFO NUMBER(KERNEL_IMAGE_SIZE)=", *number, " is outside 1 byte..2 GiB; VMCOREINFO is damaged"));
        kernel_image_bytes = static_cast<uint64_t>(*number);
    }
    if (*root_vaddr < kernel_image_map_start || *root_vaddr - kernel_image_map_start >= kernel_image_bytes)
        return Error::invalid(cat("VMCOREINFO SYMBOL(", root_name, ")=", hex(*root_vaddr), " is not in the kernel image mapping (", hex(kernel_image_map_start), " + ", hex(kernel_image_bytes), "); VMCOREINFO is damaged"));
    bool five_level = info.number("pgtable_l5_enabled").value_or(0) != 0;
    uint64_t sme_mask = static_cast<uint64_t>(info.number("sme_mask").value_or(0));

    auto translator = std::make_unique<X86_64Translator>(physical, *root_vaddr, phys_base, kernel_image_bytes, five_level, sme_mask);
    std::array<uint8_t, 8> first_entry {};
    auto readable = physical.read(translator->root_paddr(), first_entry);
    if (!readable.ok())
        return Error::invalid(cat("x86_64: the page-table root ", root_name, " (", hex(*root_vaddr), ") at physical ", hex(translator->root_paddr()), " is not in the dump (phys_base ", hex(phys_base), "): ", readable.error().message()));
    // The kernel maps its own image in these tables too: if the walk and
    // the phys_base arithmetic disagree, one of them is wrong.
    auto walked = translator->walk(*root_vaddr);
    if (walked.ok() && walked.value() != translator->root_paddr())
        core::log::warn(cat("x86_64: the page tables map ", root_name, " (", hex(*root_vaddr), ") to physical ", hex(walked.value()), ", but phys_base ", hex(phys_base), " puts it at ", hex(translator->root_paddr()), "; kernel image addresses may be read wrongly"));
    else if (!walked.ok())
        core::log::debug(cat("x86_64: cannot cross-check phys_base through the page tables: ", walked.error().message()));
    return std::unique_ptr<AddressTranslator>(std::move(translator));
}

} // namespace arch::x86_64
