// SPDX-License-Identifier: GPL-2.0-or-later
// aarch64 as a dump CPU: the facts about its kernels that VMCOREINFO may
// leave out. There is no fixed page size: a kernel is built for 4, 16 or
// 64 KiB pages, and VMCOREINFO's PAGESIZE says which.
#include "arch/aarch64/dump.h"

#include "core/vmcore/elf.h"
#include "core/vmcore/vmcoreinfo.h"

namespace arch::aarch64 {

namespace {

constexpr uint64_t page_size_64k = 65536;

// arch/arm64/include/asm/sparsemem.h: SECTION_SIZE_BITS was 30 (1 GiB
// sections) for every granule until Linux 5.12, which reduced it to 27
// (128 MiB) with 4 and 16 KiB pages and 29 (512 MiB) with 64 KiB pages.
// MAX_PHYSMEM_BITS is the configured PA size: 48, or 52 with ARMv8.2-LPA
// (64 KiB pages) or LPA2, which only kernels with 52-bit VAs enable.
std::optional<SparsememDefaults> sparsemem_defaults(core::VmcoreInfo const& info)
{
    bool page_64k = info.page_size().value_or(0) == page_size_64k;
    uint64_t section_size_bits = 30;
    if (info.kernel_version().at_least(5, 12))
        section_size_bits = page_64k ? 29 : 27;
    uint64_t max_physmem_bits = info.number("VA_BITS").value_or(48) == 52 ? 52 : 48;
    return SparsememDefaults { section_size_bits, max_physmem_bits };
}

} // namespace

DumpArch const dump_arch {
    .name = "aarch64",
    .elf_machine = core::elf::machine_aarch64,
    .fixed_page_size_bytes = std::nullopt,
    .sparsemem_defaults = sparsemem_defaults,
    .make_translator = make_translator,
};

} // namespace arch::aarch64
