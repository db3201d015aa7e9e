// SPDX-License-Identifier: GPL-2.0-or-later
// The arm64 page-table walk on synthetic page tables, for every granule and
// VA size kernels build (arch/arm64/Kconfig), on any host: the dump CPU is
// chosen by e_machine, never by the CPU the tests run on.
#include "arch/dump_arch.h"

#include "core/base/strings.h"
#include "core/vmcore/elf.h"
#include "core/vmcore/kernel_memory.h"
#include "core/vmcore/vmcore_file.h"
#include "core/vmcore/vmcoreinfo.h"
#include "tests/unit/synthetic_vmcore.h"

#include <doctest.h>

#include <functional>
#include <stdexcept>

using core::Endian;
using core::cat;
using core::hex;

namespace {

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

arch::DumpArch const& aarch64_dump()
{
    auto dump_arch = arch::dump_arch_for_elf_machine(core::elf::machine_aarch64);
    REQUIRE(dump_arch.ok());
    return *dump_arch.value();
}

// How a descriptor holds an output address (Arm ARM, VMSAv8-64).
enum class AddressFormat {
    Plain,  // OA[47:page]; bits 9:8 are shareability
    Lpa64k, // 64 KiB pages, 52-bit PAs: OA[51:48] in bits 15:12
    Lpa2,   // 4/16 KiB pages, 52-bit VAs: OA[51:50] in bits 9:8, OA[49:page] in place
};

struct Config {
    std::string name;
    unsigned page_shift;
    unsigned va_bits;        // NUMBER(VA_BITS)
    unsigned va_bits_actual; // 64 - TCR_EL1_T1SZ
    unsigned levels;         // the walk the MMU does, written out here
    AddressFormat format;
    uint64_t ram_base;       // PHYS_OFFSET
};

constexpr uint64_t ram_bytes = 16ull << 20;
constexpr uint64_t table_area_offset = 8ull << 20;
constexpr uint64_t high_ram_base = 0xaull << 48; // bits 51 and 49 set: both LPA fields and LPA2's in-place bit 49
constexpr uint64_t low_ram_base = 0x40000000;    // QEMU virt's RAM

uint64_t page_bytes(Config const& config) { return 1ull << config.page_shift; }

// Descriptor attributes the walk must ignore: AF, inner-shareable (in the
// plain format), PXN/UXN.
constexpr uint64_t access_flag = 1ull << 10;
constexpr uint64_t execute_never = (1ull << 53) | (1ull << 54);

// arm64 page tables inside a SyntheticVmcore, built from the
// architecture's description, independently of the translator: tables are
// carved one granule at a time from a table area in RAM.
class Aarch64PageTables {
public:
    Aarch64PageTables(test::SyntheticVmcore& vmcore, Config const& config, uint64_t area_paddr, uint64_t area_bytes)
        : m_vmcore(vmcore)
        , m_config(config)
        , m_next(area_paddr)
        , m_end(area_paddr + area_bytes)
    {
        m_root = allocate();
    }

    uint64_t root_paddr() const { return m_root; }

    // The VA bit where level `position` (0: the top) starts indexing.
    unsigned shift_of(unsigned position) const { return m_config.page_shift + (m_config.page_shift - 3) * (m_config.levels - 1 - position); }

    // The physical address of the descriptor for vaddr at level `position`.
    // The top table of a 52-bit kernel on a 48-bit CPU keeps 52-bit
    // indexing: TTBR1 points at its end (TTBR1_BADDR_4852_OFFSET), which a
    // sign-extended 48-bit address reaches with the 52-bit index, as long
    // as the level count is the same.
    uint64_t slot(uint64_t table, uint64_t vaddr, unsigned position) const
    {
        unsigned shift = shift_of(position);
        unsigned index_bits = m_config.page_shift - 3;
        if (position == 0) {
            unsigned configured_levels = (m_config.va_bits - 4) / (m_config.page_shift - 3);
            index_bits = (configured_levels == m_config.levels ? m_config.va_bits : m_config.va_bits_actual) - shift;
        }
        return table + ((vaddr >> shift) & ((1ull << index_bits) - 1)) * 8;
    }

    uint64_t encode(uint64_t paddr) const
    {
        switch (m_config.format) {
        case AddressFormat::Plain: return paddr | (3ull << 8);
        case AddressFormat::Lpa64k: return (paddr & 0x0000ffffffff0000) | (((paddr >> 48) & 0xf) << 12);
        case AddressFormat::Lpa2: return (paddr & 0x0003fffffffff000) | (((paddr >> 50) & 0x3) << 8);
        }
        return 0;
    }

    // Maps vaddr to paddr with a descriptor at level `position` (the last
    // level: a page; above it: a block of 1 << shift_of(position) bytes).
    void map(uint64_t vaddr, uint64_t paddr, unsigned position)
    {
        uint64_t table = m_root;
        for (unsigned walked = 0; walked < position; ++walked) {
            uint64_t entry_paddr = slot(table, vaddr, walked);
            uint64_t entry = m_vmcore.read_u64(entry_paddr);
            if ((entry & 3) != 3) {
                uint64_t next = allocate();
                m_vmcore.write_u64(entry_paddr, encode(next) | 3);
                table = next;
            } else {
                table = decode(entry);
            }
        }
        bool last = position + 1 == m_config.levels;
        m_vmcore.write_u64(slot(table, vaddr, position), encode(paddr) | access_flag | execute_never | (last ? 3 : 1));
    }

    // Writes a raw descriptor where vaddr's walk meets level `position`,
    // building the tables above it.
    void set_raw(uint64_t vaddr, unsigned position, uint64_t descriptor)
    {
        map(vaddr, 0, position);
        uint64_t table = m_root;
        for (unsigned walked = 0; walked < position; ++walked)
            table = decode(m_vmcore.read_u64(slot(table, vaddr, walked)));
        m_vmcore.write_u64(slot(table, vaddr, position), descriptor);
    }

private:
    uint64_t decode(uint64_t entry) const
    {
        switch (m_config.format) {
        case AddressFormat::Plain: return entry & 0x0000fffffffff000 & ~(page_bytes(m_config) - 1);
        case AddressFormat::Lpa64k: return (entry & 0x0000ffffffff0000) | (((entry >> 12) & 0xf) << 48);
        case AddressFormat::Lpa2: return (entry & 0x0003fffffffff000 & ~(page_bytes(m_config) - 1)) | (((entry >> 8) & 0x3) << 50);
        }
        return 0;
    }
    uint64_t allocate()
    {
        if (m_next + page_bytes(m_config) > m_end)
            throw std::invalid_argument("Aarch64PageTables: table area is full");
        uint64_t table = m_next;
        m_next += page_bytes(m_config);
        for (uint64_t offset = 0; offset < page_bytes(m_config); offset += 8)
            m_vmcore.write_u64(table + offset, 0);
        return table;
    }

    test::SyntheticVmcore& m_vmcore;
    Config m_config;
    uint64_t m_next;
    uint64_t m_end;
    uint64_t m_root { 0 };
};

// The 5.4+ layout, for the walk's purposes: the linear map at the bottom
// of the kernel half, the image in its upper half (modules, then the image
// at +2 GiB), vmalloc in between, vmemmap near the top.
struct Layout {
    uint64_t linear;
    uint64_t image;
    uint64_t vmalloc;
    uint64_t vmemmap;
};

Layout layout_for(Config const& config, uint64_t kaslr_offset)
{
    unsigned va = config.va_bits_actual;
    return {
        .linear = ~0ull << va,
        .image = (~0ull << (va - 1)) + 0x80000000 + kaslr_offset,
        .vmalloc = (~0ull << (va - 1)) + (1ull << (va - 3)),
        .vmemmap = ~0ull << (va - 6),
    };
}

// The largest block each format allows, and the ordinary one: 1 GiB and
// 2 MiB (4 KiB pages), 32 MiB (16 KiB), 512 MiB (64 KiB); with 52-bit
// output addresses also 512 GiB, 64 GiB and 4 TiB.
unsigned block_shift(Config const& config, bool largest)
{
    bool wide = config.format != AddressFormat::Plain && largest;
    switch (config.page_shift) {
    case 12: return wide ? 39 : largest ? 30 : 21;
    case 14: return wide ? 36 : 25;
    default: return wide ? 42 : 29;
    }
}

unsigned position_of_shift(Aarch64PageTables const& tables, Config const& config, unsigned shift)
{
    for (unsigned position = 0; position < config.levels; ++position) {
        if (tables.shift_of(position) == shift)
            return position;
    }
    throw std::invalid_argument("no level with that shift");
}

struct Machine {
    Config config;
    Layout layout;
    uint64_t root_paddr;
    uint64_t kimage_voffset;
    test::TempFile file;
    std::unique_ptr<core::VmcoreFile> memory;
    std::optional<core::VmcoreInfo> info;
};

std::string vmcoreinfo_for(Config const& config, uint64_t swapper_vaddr, uint64_t kimage_voffset, uint64_t kaslr_offset)
{
    return cat("OSRELEASE=6.12.0-test\nPAGESIZE=", page_bytes(config), "\n",
        "SYMBOL(swapper_pg_dir)=", hex(swapper_vaddr).substr(2), "\n",
        "NUMBER(VA_BITS)=", config.va_bits, "\n",
        "NUMBER(kimage_voffset)=", hex(kimage_voffset), "\n",
        "NUMBER(PHYS_OFFSET)=", hex(config.ram_base), "\n",
        "NUMBER(TCR_EL1_T1SZ)=", 64 - config.va_bits_actual, "\n",
        "NUMBER(MAX_PHYSMEM_BITS)=", config.format == AddressFormat::Plain ? 48 : 52, "\n",
        "KERNELOFFSET=", hex(kaslr_offset).substr(2), "\n");
}

// 16 MiB of RAM at the config's base whose every word holds its own
// physical address; tables in its upper half, mapping the linear map
// (largest block), vmemmap (ordinary block), four vmalloc pages in reverse
// and the kernel image page holding swapper_pg_dir.
Machine build_machine(Config const& config, uint64_t kaslr_offset = 0, Endian endian = Endian::Little,
    std::function<void(Aarch64PageTables&, Layout const&)> const& adjust = {})
{
    test::SyntheticVmcore vmcore(endian, core::elf::machine_aarch64);
    vmcore.add_load(config.ram_base, ram_bytes);
    for (uint64_t offset = 0; offset < ram_bytes; offset += 8)
        vmcore.write_u64(config.ram_base + offset, config.ram_base + offset);
    Aarch64PageTables tables(vmcore, config, config.ram_base + table_area_offset, ram_bytes - table_area_offset);
    Layout layout = layout_for(config, kaslr_offset);

    unsigned largest = block_shift(config, true);
    tables.map(layout.linear, config.ram_base & ~((1ull << largest) - 1), position_of_shift(tables, config, largest));
    unsigned ordinary = block_shift(config, false);
    tables.map(layout.vmemmap, config.ram_base & ~((1ull << ordinary) - 1), position_of_shift(tables, config, ordinary));
    for (uint64_t page = 0; page < 4; ++page)
        tables.map(layout.vmalloc + page * page_bytes(config), config.ram_base + 0x200000 + (3 - page) * page_bytes(config), config.levels - 1);
    // The image starts at PHYS_OFFSET: kimage_voffset = its virtual - physical.
    uint64_t image_paddr = config.ram_base;
    uint64_t kimage_voffset = layout.image - image_paddr;
    uint64_t swapper_vaddr = tables.root_paddr() + kimage_voffset;
    tables.map(swapper_vaddr, tables.root_paddr(), config.levels - 1);
    if (adjust)
        adjust(tables, layout);
    vmcore.set_vmcoreinfo(vmcoreinfo_for(config, swapper_vaddr, kimage_voffset, kaslr_offset));

    Machine machine { config, layout, tables.root_paddr(), kimage_voffset, vmcore.write_file(), nullptr, std::nullopt };
    auto opened = core::VmcoreFile::open(machine.file.path());
    REQUIRE(opened.ok());
    machine.memory = std::move(opened).release_value();
    auto info = core::VmcoreInfo::parse(*machine.memory->vmcoreinfo_text());
    REQUIRE(info.ok());
    machine.info = std::move(info).release_value();
    return machine;
}

core::Result<std::unique_ptr<arch::AddressTranslator>> make(Machine const& machine)
{
    return aarch64_dump().make_translator(*machine.info, *machine.memory);
}

uint64_t translate(arch::AddressTranslator const& translator, uint64_t vaddr)
{
    auto paddr = translator.to_physical(vaddr);
    if (!paddr.ok())
        FAIL(paddr.error().message());
    return paddr.ok() ? paddr.value() : 0;
}

void check_machine(Machine const& machine)
{
    auto made = make(machine);
    if (!made.ok())
        FAIL(made.error().message());
    auto const& translator = *made.value();
    Config const& config = machine.config;
    Layout const& layout = machine.layout;
    uint64_t page = page_bytes(config);
    CHECK(translator.phys_base() == config.ram_base);

    // The linear map through the largest block.
    uint64_t largest = 1ull << block_shift(config, true);
    uint64_t linear_pa = config.ram_base & ~(largest - 1);
    CHECK(translate(translator, layout.linear + (config.ram_base - linear_pa) + 0x123458) == config.ram_base + 0x123458);
    CHECK(translate(translator, layout.linear + largest - 8) == linear_pa + largest - 8);
    // vmemmap through an ordinary block.
    uint64_t ordinary = 1ull << block_shift(config, false);
    uint64_t vmemmap_pa = config.ram_base & ~(ordinary - 1);
    CHECK(translate(translator, layout.vmemmap + (config.ram_base - vmemmap_pa) + 0x40) == config.ram_base + 0x40);
    CHECK(translate(translator, layout.vmemmap + ordinary - 1) == vmemmap_pa + ordinary - 1);
    // vmalloc through pages, reversed.
    CHECK(translate(translator, layout.vmalloc) == config.ram_base + 0x200000 + 3 * page);
    CHECK(translate(translator, layout.vmalloc + 3 * page + 0x18) == config.ram_base + 0x200000 + 0x18);
    // The image page holding swapper_pg_dir: the walk agrees with kimage_voffset.
    CHECK(translate(translator, machine.root_paddr + machine.kimage_voffset + 0x10) == machine.root_paddr + 0x10);

    // Reads through KernelMemory land on the right bytes, across pages.
    auto kernel = core::make_kernel_memory(*machine.memory, translator);
    auto value = kernel->read_u64(layout.vmalloc + page - 8);
    REQUIRE(value.ok());
    CHECK(value.value() == config.ram_base + 0x200000 + 4 * page - 8);
    std::vector<uint8_t> across(16);
    REQUIRE(kernel->read(layout.vmalloc + page - 8, across).ok());
    CHECK(core::load_uint(across.data() + 8, 8, machine.memory->endian()) == config.ram_base + 0x200000 + 2 * page);
    auto linear_word = kernel->read_u64(layout.linear + (config.ram_base - linear_pa) + 0x777000);
    REQUIRE(linear_word.ok());
    CHECK(linear_word.value() == config.ram_base + 0x777000);
}

// Every granule x VA size arm64 kernels build, with the MMU's level count.
std::vector<Config> const& configs()
{
    static std::vector<Config> const all {
        { "4K pages, 39-bit VAs, 3 levels", 12, 39, 39, 3, AddressFormat::Plain, low_ram_base },
        { "4K pages, 48-bit VAs, 4 levels", 12, 48, 48, 4, AddressFormat::Plain, low_ram_base },
        { "4K pages, 52-bit VAs (LPA2, 6.9+), 5 levels", 12, 52, 52, 5, AddressFormat::Lpa2, high_ram_base },
        { "4K pages, 52-bit kernel on a 48-bit CPU: the fifth level folded, 4 levels", 12, 52, 48, 4, AddressFormat::Plain, low_ram_base },
        { "16K pages, 36-bit VAs, 2 levels", 14, 36, 36, 2, AddressFormat::Plain, low_ram_base },
        { "16K pages, 47-bit VAs, 3 levels", 14, 47, 47, 3, AddressFormat::Plain, low_ram_base },
        { "16K pages, 48-bit VAs, 4 levels", 14, 48, 48, 4, AddressFormat::Plain, low_ram_base },
        { "16K pages, 52-bit VAs (LPA2), 4 levels", 14, 52, 52, 4, AddressFormat::Lpa2, high_ram_base },
        { "16K pages, 52-bit kernel on a 48-bit CPU, 4 levels through the top table's end", 14, 52, 48, 4, AddressFormat::Plain, low_ram_base },
        { "64K pages, 42-bit VAs, 2 levels", 16, 42, 42, 2, AddressFormat::Plain, low_ram_base },
        { "64K pages, 48-bit VAs, 3 levels", 16, 48, 48, 3, AddressFormat::Plain, low_ram_base },
        { "64K pages, 52-bit VAs and PAs (LVA+LPA), 3 levels", 16, 52, 52, 3, AddressFormat::Lpa64k, high_ram_base },
        { "64K pages, 52-bit kernel on a 48-bit CPU, 3 levels through the top table's end", 16, 52, 48, 3, AddressFormat::Lpa64k, low_ram_base },
    };
    return all;
}

} // namespace

TEST_CASE("aarch64: every granule and VA size walks the linear map, vmemmap, vmalloc and the image")
{
    for (auto const& config : configs()) {
        CAPTURE(config.name);
        auto machine = build_machine(config);
        check_machine(machine);
    }
}

TEST_CASE("aarch64: a 52-bit kernel on a 48-bit CPU uses the end of its 1024-entry top table")
{
    // 64K pages: the top level indexes VA bits 51:42. A kernel address with
    // 48 bits (0xffff...) has bits 51:48 set, so its entry is at 960 + (bits 47:42).
    Config config = configs()[12];
    REQUIRE(config.va_bits_actual == 48);
    auto machine = build_machine(config);
    check_machine(machine);
    std::array<uint8_t, 8> word {};
    uint64_t linear_index = (machine.layout.linear >> 42) & 1023;
    CHECK(linear_index == 960);
    REQUIRE(machine.memory->read(machine.root_paddr + linear_index * 8, word).ok());
    CHECK(core::load_uint(word.data(), 8, Endian::Little) != 0);
}

TEST_CASE("aarch64: KASLR moves the image and kimage_voffset together")
{
    for (uint64_t kaslr_offset : { 0x1234560000ull, 0x3f00000000ull }) {
        CAPTURE(kaslr_offset);
        Config config = configs()[1];
        auto machine = build_machine(config, kaslr_offset);
        CHECK(machine.info->kernel_offset() == kaslr_offset);
        check_machine(machine);
    }
}

TEST_CASE("aarch64: big-endian kernels (aarch64_be) have big-endian descriptors")
{
    auto machine = build_machine(configs()[1], 0, Endian::Big);
    CHECK(machine.memory->endian() == Endian::Big);
    check_machine(machine);
}

TEST_CASE("aarch64: unmapped addresses and corrupt descriptors are errors naming the address and the level")
{
    Config config = configs()[1]; // 4K, 48-bit, 4 levels: 0..3
    uint64_t corrupt_page = 0xffff900000000000;
    uint64_t top_block = 0xffffb00000000000;
    auto machine = build_machine(config, 0, Endian::Little, [&](Aarch64PageTables& tables, Layout const&) {
        tables.set_raw(corrupt_page, 3, 0x40001001); // valid but type 01 at the last level: reserved
        tables.set_raw(top_block, 0, 0x40000401);    // a block at level 0: 4K pages without LPA2 have none
    });
    auto made = make(machine);
    REQUIRE(made.ok());
    auto const& translator = *made.value();

    auto unmapped = translator.to_physical(machine.layout.vmalloc + 0x100000);
    REQUIRE_FALSE(unmapped.ok());
    CHECK(contains(unmapped.error().message(), cat("aarch64: cannot translate kernel address ", hex(machine.layout.vmalloc + 0x100000), ": level 3 descriptor 0x0")));
    CHECK(contains(unmapped.error().message(), "is not valid: the address is not mapped (4 KiB pages, 48-bit VAs, 4-level walk from swapper_pg_dir at physical "));
    auto unmapped_top = translator.to_physical(0xffffc00000000000);
    REQUIRE_FALSE(unmapped_top.ok());
    CHECK(contains(unmapped_top.error().message(), "level 0 descriptor 0x0"));

    auto reserved = translator.to_physical(corrupt_page);
    REQUIRE_FALSE(reserved.ok());
    CHECK(contains(reserved.error().message(), cat(hex(corrupt_page), ": level 3 descriptor 0x40001001")));
    CHECK(contains(reserved.error().message(), "reserved type at the last level"));

    auto block = translator.to_physical(top_block + 0x1000);
    REQUIRE_FALSE(block.ok());
    CHECK(contains(block.error().message(), "level 0 descriptor 0x40000401"));
    CHECK(contains(block.error().message(), "is a block, which this level cannot map"));

    auto user = translator.to_physical(0x0000aaaadead0000);
    REQUIRE_FALSE(user.ok());
    CHECK(contains(user.error().message(), "0xaaaadead0000 is not in the kernel's half of a 48-bit address space"));
    auto too_low = translator.to_physical(0xfff0000000000000); // a 52-bit address on a 48-bit kernel
    REQUIRE_FALSE(too_low.ok());
}

TEST_CASE("aarch64: a table pointing outside the dump is an error, not a crash")
{
    Config config = configs()[10]; // 64K, 48-bit, 3 levels
    uint64_t wild = 0xffff900000000000;
    auto machine = build_machine(config, 0, Endian::Little, [&](Aarch64PageTables& tables, Layout const&) {
        tables.set_raw(wild, 1, 0x0000ffff00000003); // a table descriptor to memory the dump lacks
    });
    auto made = make(machine);
    REQUIRE(made.ok());
    auto result = made.value()->to_physical(wild);
    REQUIRE_FALSE(result.ok());
    CHECK(contains(result.error().message(), "level 3 entry at physical 0xffff0000"));
    CHECK(contains(result.error().message(), "cannot be read"));
}

TEST_CASE("aarch64: missing or damaged VMCOREINFO is an error naming the entries")
{
    Config config = configs()[1];
    auto good = build_machine(config);
    auto missing = aarch64_dump().make_translator(core::VmcoreInfo::parse("OSRELEASE=6.1.0\nNUMBER(PHYS_OFFSET)=0x40000000\n").value(), *good.memory);
    REQUIRE_FALSE(missing.ok());
    CHECK(contains(missing.error().message(), "VMCOREINFO has no SYMBOL(swapper_pg_dir), NUMBER(kimage_voffset), NUMBER(VA_BITS), PAGESIZE, which aarch64 address translation needs"));

    std::string text(good.info->text());
    auto with = [&](std::string_view key, std::string const& line) {
        std::string changed;
        for (auto part : core::split(text, '\n')) {
            if (part.empty())
                continue;
            changed += part.starts_with(key) ? line : std::string(part);
            changed += '\n';
        }
        auto info = core::VmcoreInfo::parse(changed);
        REQUIRE(info.ok());
        return aarch64_dump().make_translator(info.value(), *good.memory);
    };
    auto bad_page = with("PAGESIZE=", "PAGESIZE=8192");
    REQUIRE_FALSE(bad_page.ok());
    CHECK(contains(bad_page.error().message(), "PAGESIZE=8192 is not an arm64 granule"));
    auto bad_va = with("NUMBER(VA_BITS)=", "NUMBER(VA_BITS)=64");
    REQUIRE_FALSE(bad_va.ok());
    CHECK(contains(bad_va.error().message(), "NUMBER(VA_BITS)=64 is outside 36..52"));
    auto bad_t1sz = with("NUMBER(TCR_EL1_T1SZ)=", "NUMBER(TCR_EL1_T1SZ)=8");
    REQUIRE_FALSE(bad_t1sz.ok());
    CHECK(contains(bad_t1sz.error().message(), "NUMBER(TCR_EL1_T1SZ)=8 gives 56-bit VAs"));
    auto wrong_voffset = with("NUMBER(kimage_voffset)=", "NUMBER(kimage_voffset)=0x1000");
    REQUIRE_FALSE(wrong_voffset.ok());
    CHECK(contains(wrong_voffset.error().message(), "swapper_pg_dir"));
    CHECK(contains(wrong_voffset.error().message(), "is not in the dump"));

    // Without TCR_EL1_T1SZ (before 5.9) VA_BITS is the size; without
    // PHYS_OFFSET the lowest dumped address stands in for it.
    auto old = with("NUMBER(TCR_EL1_T1SZ)=", "");
    REQUIRE(old.ok());
    CHECK(translate(*old.value(), good.layout.vmalloc) == low_ram_base + 0x200000 + 3 * 4096);
    auto no_offset = with("NUMBER(PHYS_OFFSET)=", "");
    REQUIRE(no_offset.ok());
    CHECK(no_offset.value()->phys_base() == low_ram_base);
}
