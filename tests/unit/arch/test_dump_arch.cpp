// SPDX-License-Identifier: GPL-2.0-or-later
// The dump CPU is chosen at run time from the vmcore; these hold on any host.
#include "arch/dump_arch.h"
#include "arch/elf_machine.h"

#include "core/dump/collector.h"
#include "core/dump/kdump_format.h"
#include "core/vmcore/elf.h"
#include "core/vmcore/vmcoreinfo.h"
#include "tests/unit/synthetic_vmcore.h"
#include "tests/unit/test_support.h"

#include <doctest.h>

TEST_CASE("dump_arch: x86_64 by e_machine and by machine name")
{
    auto by_elf = arch::dump_arch_for_elf_machine(core::elf::machine_x86_64);
    REQUIRE(by_elf.ok());
    arch::DumpArch const& x86_64 = *by_elf.value();
    CHECK(x86_64.name == "x86_64");
    CHECK(x86_64.elf_machine == 62);
    CHECK(x86_64.fixed_page_size_bytes == 4096u);

    auto by_name = arch::dump_arch_for_machine_name("x86_64");
    REQUIRE(by_name.ok());
    CHECK(by_name.value() == &x86_64);
    CHECK(arch::elf_machine_name(62) == "x86_64");
}

TEST_CASE("dump_arch: x86_64's sparsemem defaults follow 4- or 5-level paging")
{
    auto const& x86_64 = *arch::dump_arch_for_elf_machine(core::elf::machine_x86_64).value();
    auto four_level = x86_64.sparsemem_defaults(core::VmcoreInfo::parse("OSRELEASE=4.9.0\n").value());
    REQUIRE(four_level);
    CHECK(four_level->section_size_bits == 27);
    CHECK(four_level->max_physmem_bits == 46);
    auto five_level = x86_64.sparsemem_defaults(core::VmcoreInfo::parse("NUMBER(pgtable_l5_enabled)=1\n").value());
    REQUIRE(five_level);
    CHECK(five_level->section_size_bits == 27);
    CHECK(five_level->max_physmem_bits == 52);
}

TEST_CASE("dump_arch: aarch64 by e_machine and by machine name, with no fixed page size")
{
    auto by_elf = arch::dump_arch_for_elf_machine(core::elf::machine_aarch64);
    REQUIRE(by_elf.ok());
    arch::DumpArch const& aarch64 = *by_elf.value();
    CHECK(aarch64.name == "aarch64");
    CHECK(aarch64.elf_machine == 183);
    CHECK_FALSE(aarch64.fixed_page_size_bytes.has_value());
    auto by_name = arch::dump_arch_for_machine_name("aarch64");
    REQUIRE(by_name.ok());
    CHECK(by_name.value() == &aarch64);
}

TEST_CASE("dump_arch: aarch64's sparsemem defaults follow the kernel release and the granule")
{
    auto const& aarch64 = *arch::dump_arch_for_elf_machine(core::elf::machine_aarch64).value();
    auto defaults = [&](std::string const& text) {
        auto found = aarch64.sparsemem_defaults(core::VmcoreInfo::parse(text).value());
        REQUIRE(found);
        return *found;
    };
    // 1 GiB sections for every granule before 5.12; 128 MiB (4K, 16K) or
    // 512 MiB (64K) since.
    CHECK(defaults("OSRELEASE=5.10.0-30-arm64\nPAGESIZE=4096\n").section_size_bits == 30);
    CHECK(defaults("OSRELEASE=5.11.0\nPAGESIZE=65536\n").section_size_bits == 30);
    CHECK(defaults("OSRELEASE=5.12.0\nPAGESIZE=4096\n").section_size_bits == 27);
    CHECK(defaults("OSRELEASE=6.1.0-28-arm64\nPAGESIZE=16384\n").section_size_bits == 27);
    CHECK(defaults("OSRELEASE=6.12.0\nPAGESIZE=65536\n").section_size_bits == 29);
    CHECK(defaults("OSRELEASE=6.1.0\nPAGESIZE=4096\nNUMBER(VA_BITS)=48\n").max_physmem_bits == 48);
    CHECK(defaults("OSRELEASE=6.1.0\nPAGESIZE=65536\nNUMBER(VA_BITS)=52\n").max_physmem_bits == 52);
}

TEST_CASE("dump_arch: a machine this build cannot read is an error naming it")
{
    auto riscv = arch::dump_arch_for_elf_machine(core::elf::machine_riscv);
    REQUIRE_FALSE(riscv.ok());
    CHECK(riscv.error().errno_code() == ENOTSUP);
    CHECK(riscv.error().message() == "vmcore is for e_machine 243 (riscv64); this build reads dumps of: x86_64, aarch64");

    auto nameless = arch::dump_arch_for_elf_machine(9999);
    REQUIRE_FALSE(nameless.ok());
    CHECK(nameless.error().message() == "vmcore is for e_machine 9999; this build reads dumps of: x86_64, aarch64");
    CHECK(arch::elf_machine_name(9999).empty());

    auto by_name = arch::dump_arch_for_machine_name("riscv64");
    REQUIRE_FALSE(by_name.ok());
    CHECK(by_name.error().message() == "the dump is for machine \"riscv64\"; this build reads dumps of: x86_64, aarch64");
    auto empty = arch::dump_arch_for_machine_name("");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message() == "the dump names no machine (its utsname machine is empty); this build reads dumps of: x86_64, aarch64");
}

namespace {

struct Collected {
    core::Result<core::CollectorReport> report;
    std::string machine; // the written header's utsname machine
    uint64_t page_size { 0 };
};

Collected collect(test::SyntheticVmcore const& vmcore, int dump_level, bool allow_fallback = true)
{
    auto input = vmcore.write_file();
    test_support::ScratchDir dir;
    core::CollectorOptions options;
    options.input_path = input.path();
    options.output_path = dir.path + "/dump";
    options.dump_level = dump_level;
    options.allow_fallback = allow_fallback;
    Collected collected { core::collect(options), {}, 0 };
    if (collected.report.ok()) {
        auto dump = core::KdumpFile::open(options.output_path);
        REQUIRE(dump.ok());
        collected.machine = dump.value()->info().utsname[4];
        collected.page_size = dump.value()->page_size();
    }
    return collected;
}

} // namespace

TEST_CASE("collector: the dump CPU comes from the vmcore's e_machine")
{
    test::SyntheticVmcore x86_64;
    x86_64.add_load(0, 0x4000);
    auto from_x86_64 = collect(x86_64, 0);
    REQUIRE(from_x86_64.report.ok());
    CHECK(from_x86_64.machine == "x86_64");
    CHECK(from_x86_64.page_size == 4096);
    CHECK(from_x86_64.report->page_size_bytes == 4096);

    // Levels 0 and 1 copy pages without reading kernel memory: a CPU this
    // build has no page-table walk for is still dumped, under its own name.
    test::SyntheticVmcore riscv(core::Endian::Little, core::elf::machine_riscv);
    riscv.set_vmcoreinfo("PAGESIZE=65536\n");
    riscv.add_load(0, 0x100000);
    for (uint64_t page = 0; page < 16; ++page)
        riscv.write_u64(page * 65536, page + 1); // 16 distinct pages, none zero
    auto copied = collect(riscv, 1);
    REQUIRE(copied.report.ok());
    CHECK(copied.machine == "riscv64");
    CHECK(copied.page_size == 65536);
    CHECK(copied.report->page_size_bytes == 65536);
    CHECK(core::format_report(copied.report.value()).find("Pages written   : 16 (1 MiB before compression)") != std::string::npos);

    // Filtering needs the walk: the error names the machine, and the
    // fallback (#14) saves the dump at level 1 instead.
    auto filtered = collect(riscv, 31, false);
    REQUIRE_FALSE(filtered.report.ok());
    CHECK(filtered.report.error().message().find("vmcore is for e_machine 243 (riscv64); this build reads dumps of: x86_64, aarch64") != std::string::npos);
    auto fell_back = collect(riscv, 31);
    REQUIRE(fell_back.report.ok());
    CHECK(fell_back.report->applied_dump_level == 1);
    CHECK(fell_back.report->fallback_reason.find("vmcore is for e_machine 243 (riscv64)") != std::string::npos);
    CHECK(fell_back.page_size == 65536);

    // aarch64 is read by every build: without the walk's VMCOREINFO the
    // error names what is missing.
    test::SyntheticVmcore aarch64(core::Endian::Little, core::elf::machine_aarch64);
    aarch64.set_vmcoreinfo("PAGESIZE=65536\n");
    aarch64.add_load(0, 0x100000);
    auto aarch64_filtered = collect(aarch64, 31, false);
    REQUIRE_FALSE(aarch64_filtered.report.ok());
    CHECK(aarch64_filtered.report.error().message().find("VMCOREINFO has no SYMBOL(swapper_pg_dir), NUMBER(kimage_voffset), NUMBER(VA_BITS)") != std::string::npos);
}
