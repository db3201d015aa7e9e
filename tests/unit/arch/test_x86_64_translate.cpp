// SPDX-License-Identifier: GPL-2.0-or-later
#include "arch/dump_arch.h"

#include "core/vmcore/elf.h"
#include "core/vmcore/kernel_memory.h"
#include "core/base/strings.h"
#include "core/vmcore/vmcore_file.h"
#include "core/vmcore/vmcoreinfo.h"
#include "tests/unit/synthetic_vmcore.h"

#include <doctest.h>

#include <atomic>
#include <functional>
#include <thread>

using core::Endian;

namespace {

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Chosen by e_machine, as for a real vmcore: the same on every host.
arch::DumpArch const& x86_64_dump()
{
    auto dump_arch = arch::dump_arch_for_elf_machine(core::elf::machine_x86_64);
    REQUIRE(dump_arch.ok());
    return *dump_arch.value();
}

constexpr uint64_t memory_bytes = 16ull << 20;
constexpr uint64_t table_area = 0x800000;
constexpr uint64_t table_area_bytes = 0x100000;

// The kernel's regions under 4- and 5-level paging (without KASLR of the
// regions themselves, which the walk does not care about).
struct Layout {
    uint64_t direct_map;
    uint64_t vmemmap;
    uint64_t vmalloc;
};
constexpr Layout layout_4 { 0xffff888000000000, 0xffffea0000000000, 0xffffc90000000000 };
constexpr Layout layout_5 { 0xff11000000000000, 0xffd4000000000000, 0xffa0000000000000 };
constexpr uint64_t module_vaddr = 0xffffffffc0001000; // just above a 1 GiB kernel image

// A 16 MiB machine whose every 8-byte word holds its own physical address,
// with page tables mapping: the direct map (one 1 GiB page), a vmemmap
// range (two 2 MiB pages, out of order), a vmalloc range (4 KiB pages,
// reversed), one module page, and the kernel image around init_top_pgt.
struct Machine {
    test::TempFile file;
    std::unique_ptr<core::VmcoreFile> memory;
    std::optional<core::VmcoreInfo> info;
    Layout layout;
};

Machine build_machine(bool five_level, int64_t phys_base, std::string const& extra_vmcoreinfo = "", std::function<void(test::SyntheticVmcore&, test::X86_64PageTables&)> const& adjust = {})
{
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, memory_bytes);
    for (uint64_t paddr = 0; paddr < memory_bytes; paddr += 8)
        vmcore.write_u64(paddr, paddr);
    test::X86_64PageTables tables(vmcore, table_area, table_area_bytes, five_level);
    Layout layout = five_level ? layout_5 : layout_4;
    tables.map_1g(layout.direct_map, 0);
    tables.map_2m(layout.vmemmap, 0x600000);
    tables.map_2m(layout.vmemmap + (2 << 20), 0x200000);
    for (uint64_t page = 0; page < 16; ++page)
        tables.map_4k(layout.vmalloc + page * 4096, 0x300000 + (15 - page) * 4096);
    tables.map_4k(module_vaddr, 0x345000);
    // The kernel maps its image too (2 MiB pages from phys_base).
    uint64_t image_vaddr = test::x86_64_image_vaddr(table_area, phys_base) & ~((2ull << 20) - 1);
    tables.map_2m(image_vaddr, table_area & ~((2ull << 20) - 1));
    if (adjust)
        adjust(vmcore, tables);
    vmcore.set_vmcoreinfo(test::x86_64_vmcoreinfo(tables, phys_base) + "OSRELEASE=6.1.0-test\n" + extra_vmcoreinfo);
    Machine machine { vmcore.write_file(), nullptr, std::nullopt, layout };
    auto opened = core::VmcoreFile::open(machine.file.path());
    REQUIRE(opened.ok());
    machine.memory = std::move(opened).release_value();
    auto info = core::VmcoreInfo::parse(*machine.memory->vmcoreinfo_text());
    REQUIRE(info.ok());
    machine.info = std::move(info).release_value();
    return machine;
}

std::unique_ptr<arch::AddressTranslator> translator_for(Machine const& machine)
{
    auto translator = x86_64_dump().make_translator(*machine.info, *machine.memory);
    if (!translator.ok())
        FAIL(translator.error().message());
    return translator.ok() ? std::move(translator).release_value() : nullptr;
}

uint64_t translate(arch::AddressTranslator const& translator, uint64_t vaddr)
{
    auto paddr = translator.to_physical(vaddr);
    if (!paddr.ok())
        FAIL(paddr.error().message());
    return paddr.ok() ? paddr.value() : 0;
}

void check_regions(Machine const& machine, arch::AddressTranslator const& translator, int64_t phys_base)
{
    auto const& layout = machine.layout;
    CHECK(translator.phys_base() == static_cast<uint64_t>(phys_base));
    // Kernel image: arithmetic from phys_base.
    CHECK(translate(translator, test::x86_64_image_vaddr(0x923456, phys_base)) == 0x923456);
    // Direct map through a 1 GiB page.
    CHECK(translate(translator, layout.direct_map) == 0);
    CHECK(translate(translator, layout.direct_map + 0xabc123) == 0xabc123);
    CHECK(translate(translator, layout.direct_map + 0x3fffffff) == 0x3fffffff);
    // vmemmap through 2 MiB pages.
    CHECK(translate(translator, layout.vmemmap + 0x10) == 0x600010);
    CHECK(translate(translator, layout.vmemmap + 0x1fffff) == 0x7fffff);
    CHECK(translate(translator, layout.vmemmap + 0x200008) == 0x200008);
    // vmalloc through 4 KiB pages.
    CHECK(translate(translator, layout.vmalloc) == 0x30f000);
    CHECK(translate(translator, layout.vmalloc + 0x1ff8) == 0x30eff8);
    CHECK(translate(translator, layout.vmalloc + 15 * 4096 + 7) == 0x300007);
    // A module page above the image: walked, not computed.
    CHECK(translate(translator, module_vaddr + 0x10) == 0x345010);

    // And reads through KernelMemory land on the right bytes.
    auto kernel = core::make_kernel_memory(*machine.memory, translator);
    auto value = kernel->read_u64(layout.vmalloc + 0xff8);
    REQUIRE(value.ok());
    CHECK(value.value() == 0x30fff8);
    std::vector<uint8_t> across(0x2000);
    REQUIRE(kernel->read(layout.vmalloc + 0x800, across).ok());
    CHECK(core::load_uint(across.data(), 8, Endian::Little) == 0x30f800);
    CHECK(core::load_uint(across.data() + 0x800, 8, Endian::Little) == 0x30e000);
    CHECK(core::load_uint(across.data() + 0x1800, 8, Endian::Little) == 0x30d000);
}

} // namespace

TEST_CASE("x86_64: 4-level tables with a positive phys_base")
{
    auto machine = build_machine(false, 0x400000);
    auto translator = translator_for(machine);
    REQUIRE(translator);
    check_regions(machine, *translator, 0x400000);
}

TEST_CASE("x86_64: 4-level tables with a negative phys_base (KASLR slid the image up more than the load address)")
{
    auto machine = build_machine(false, -0x1000000);
    CHECK(machine.info->value("NUMBER(phys_base)") == "-16777216");
    auto translator = translator_for(machine);
    REQUIRE(translator);
    check_regions(machine, *translator, -0x1000000);
    CHECK(translator->phys_base() == 0xffffffffff000000);
}

TEST_CASE("x86_64: 5-level tables")
{
    auto machine = build_machine(true, 0x200000);
    auto translator = translator_for(machine);
    REQUIRE(translator);
    check_regions(machine, *translator, 0x200000);
    // Canonical for 57 bits, but nothing is mapped there.
    auto user = translator->to_physical(0x0000800000000000);
    REQUIRE_FALSE(user.ok());
    CHECK(contains(user.error().message(), "PGD"));
    CHECK(contains(user.error().message(), "5-level"));
}

TEST_CASE("x86_64: unmapped and malformed addresses name the address and the level")
{
    auto machine = build_machine(false, 0);
    auto translator = translator_for(machine);
    REQUIRE(translator);

    auto pmd_hole = translator->to_physical(machine.layout.vmemmap + (4 << 20));
    REQUIRE_FALSE(pmd_hole.ok());
    CHECK(contains(pmd_hole.error().message(), core::hex(machine.layout.vmemmap + (4 << 20))));
    CHECK(contains(pmd_hole.error().message(), "PMD"));
    CHECK(contains(pmd_hole.error().message(), "not present"));

    auto pte_hole = translator->to_physical(machine.layout.vmalloc + 16 * 4096);
    REQUIRE_FALSE(pte_hole.ok());
    CHECK(contains(pte_hole.error().message(), "PTE"));

    auto pgd_hole = translator->to_physical(0xffff900000000000);
    REQUIRE_FALSE(pgd_hole.ok());
    CHECK(contains(pgd_hole.error().message(), "PGD"));

    auto not_canonical = translator->to_physical(0x0000800000000000);
    REQUIRE_FALSE(not_canonical.ok());
    CHECK(contains(not_canonical.error().message(), "canonical"));

    // A mapped page whose frame is outside the dump: the read fails, with
    // both addresses in the message.
    auto kernel = core::make_kernel_memory(*machine.memory, *translator);
    auto outside = kernel->read_u64(machine.layout.direct_map + memory_bytes + 0x40);
    REQUIRE_FALSE(outside.ok());
    CHECK(contains(outside.error().message(), core::hex(machine.layout.direct_map + memory_bytes + 0x40)));
    CHECK(contains(outside.error().message(), core::hex(memory_bytes + 0x40)));
}

TEST_CASE("x86_64: corrupt page tables are errors, not crashes")
{
    SUBCASE("large-page bit in a PGD entry")
    {
        auto machine = build_machine(false, 0, "", [&](test::SyntheticVmcore& vmcore, test::X86_64PageTables& tables) {
            uint64_t entry = tables.entry_paddr(layout_4.vmalloc, 0);
            vmcore.write_u64(entry, vmcore.read_u64(entry) | 0x80);
        });
        auto translator = translator_for(machine);
        REQUIRE(translator);
        auto result = translator->to_physical(layout_4.vmalloc);
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "large-page"));
        CHECK(contains(result.error().message(), "PGD"));
    }
    SUBCASE("a table pointer outside the dump")
    {
        auto machine = build_machine(false, 0, "", [&](test::SyntheticVmcore& vmcore, test::X86_64PageTables& tables) {
            uint64_t pud_entry_paddr = tables.entry_paddr(layout_4.vmalloc, 1);
            vmcore.write_u64(pud_entry_paddr, 0x7fff0000000ull | 0x3);
        });
        auto translator = translator_for(machine);
        REQUIRE(translator);
        auto result = translator->to_physical(layout_4.vmalloc);
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "PMD"));
        CHECK(contains(result.error().message(), "cannot be read"));
        CHECK(contains(result.error().message(), "0x7fff0000"));
    }
}

TEST_CASE("x86_64: the SME encryption bit is masked out of entries")
{
    constexpr uint64_t sme_bit = 1ull << 47;
    auto adjust = [&](test::SyntheticVmcore& vmcore, test::X86_64PageTables& tables) {
        // Find every entry first: the helper does not mask the bit.
        std::array<uint64_t, 4> entries {};
        for (unsigned depth = 0; depth < 4; ++depth)
            entries[depth] = tables.entry_paddr(layout_4.vmalloc, depth);
        for (uint64_t entry : entries)
            vmcore.write_u64(entry, vmcore.read_u64(entry) | sme_bit);
    };
    auto masked = build_machine(false, 0, core::cat("NUMBER(sme_mask)=", sme_bit, "\n"), adjust);
    auto translator = translator_for(masked);
    REQUIRE(translator);
    CHECK(translate(*translator, layout_4.vmalloc) == 0x30f000);

    auto unmasked = build_machine(false, 0, "", adjust);
    auto plain = translator_for(unmasked);
    REQUIRE(plain);
    CHECK_FALSE(plain->to_physical(layout_4.vmalloc).ok());
}

TEST_CASE("x86_64: missing or inconsistent VMCOREINFO")
{
    auto machine = build_machine(false, 0x400000);
    auto without = [&](std::string_view key) {
        std::string text;
        for (auto line : core::split(machine.info->text(), '\n')) {
            if (!line.empty() && !line.starts_with(key))
                text += core::cat(line, "\n");
        }
        return core::VmcoreInfo::parse(text).value();
    };

    auto no_root = x86_64_dump().make_translator(without("SYMBOL(init_top_pgt)"), *machine.memory);
    REQUIRE_FALSE(no_root.ok());
    CHECK(contains(no_root.error().message(), "SYMBOL(init_top_pgt)"));

    auto no_phys_base = x86_64_dump().make_translator(without("NUMBER(phys_base)"), *machine.memory);
    REQUIRE_FALSE(no_phys_base.ok());
    CHECK(contains(no_phys_base.error().message(), "NUMBER(phys_base)"));

    // Kernels before 4.13 call the root init_level4_pgt.
    std::string old_text = std::string(machine.info->text());
    old_text.replace(old_text.find("init_top_pgt"), 12, "init_level4_pgt");
    auto old_kernel = x86_64_dump().make_translator(core::VmcoreInfo::parse(old_text).value(), *machine.memory);
    REQUIRE(old_kernel.ok());
    CHECK(translate(*old_kernel.value(), layout_4.vmemmap) == 0x600000);

    // A phys_base that puts the root outside the dump.
    std::string wrong_base = std::string(machine.info->text());
    wrong_base.replace(wrong_base.find("NUMBER(phys_base)=4194304"), 25, "NUMBER(phys_base)=1073741824");
    auto wrong = x86_64_dump().make_translator(core::VmcoreInfo::parse(wrong_base).value(), *machine.memory);
    REQUIRE_FALSE(wrong.ok());
    CHECK(contains(wrong.error().message(), "not in the dump"));
    CHECK(contains(wrong.error().message(), "phys_base"));

    auto outside_image = core::VmcoreInfo::parse("SYMBOL(init_top_pgt)=ffff888000800000\nNUMBER(phys_base)=0\n").value();
    auto bad_root = x86_64_dump().make_translator(outside_image, *machine.memory);
    REQUIRE_FALSE(bad_root.ok());
    CHECK(contains(bad_root.error().message(), "kernel image mapping"));

    // The first definition wins in VMCOREINFO, so put the bad one first.
    auto bad_size_first = core::VmcoreInfo::parse("NUMBER(KERNEL_IMAGE_SIZE)=-5\n" + std::string(machine.info->text())).value();
    auto rejected = x86_64_dump().make_translator(bad_size_first, *machine.memory);
    REQUIRE_FALSE(rejected.ok());
    CHECK(contains(rejected.error().message(), "KERNEL_IMAGE_SIZE"));
}

TEST_CASE("x86_64: cached translations never leak between translators or threads")
{
    auto first = build_machine(false, 0);
    auto second = build_machine(false, 0, "", [](test::SyntheticVmcore&, test::X86_64PageTables& tables) {
        tables.map_2m(layout_4.vmemmap, 0xa00000); // a different frame for the same address
        tables.map_4k(layout_4.vmalloc, 0x111000);
    });
    auto a = translator_for(first);
    auto b = translator_for(second);
    REQUIRE(a);
    REQUIRE(b);
    for (int round = 0; round < 3; ++round) {
        CHECK(translate(*a, layout_4.vmemmap + 8) == 0x600008);
        CHECK(translate(*b, layout_4.vmemmap + 8) == 0xa00008);
        CHECK(translate(*a, layout_4.vmalloc) == 0x30f000);
        CHECK(translate(*b, layout_4.vmalloc) == 0x111000);
    }
    // A replacement translator at (possibly) the same address starts cold.
    a.reset();
    a = translator_for(second);
    CHECK(translate(*a, layout_4.vmemmap + 8) == 0xa00008);

    std::atomic<int> wrong { 0 };
    std::vector<std::thread> threads;
    for (int thread_index = 0; thread_index < 4; ++thread_index) {
        threads.emplace_back([&, thread_index] {
            auto const& translator = thread_index % 2 ? *a : *b;
            for (int round = 0; round < 2000; ++round) {
                uint64_t page = static_cast<uint64_t>(round + thread_index) % 16;
                auto paddr = translator.to_physical(layout_4.vmalloc + page * 4096 + 8);
                uint64_t expected = page == 0 ? 0x111008 : 0x300000 + (15 - page) * 4096 + 8;
                if (!paddr.ok() || paddr.value() != expected)
                    ++wrong;
                auto vmemmap = translator.to_physical(layout_4.vmemmap + static_cast<uint64_t>(round) * 64);
                if (!vmemmap.ok() || vmemmap.value() != 0xa00000 + static_cast<uint64_t>(round) * 64)
                    ++wrong;
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    CHECK(wrong.load() == 0);
}
