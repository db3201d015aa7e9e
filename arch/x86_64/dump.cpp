// SPDX-License-Identifier: GPL-2.0-or-later
// x86_64 as a dump CPU: the facts about its kernels that VMCOREINFO may
// leave out.
#include "arch/x86_64/dump.h"

#include "core/vmcore/elf.h"
#include "core/vmcore/vmcoreinfo.h"

namespace arch::x86_64 {

namespace {

constexpr uint64_t page_size_bytes = 4096;
// The kernel's SECTION_SIZE_BITS and MAX_PHYSMEM_BITS (with 4- and 5-level
// paging), for kernels that predate exporting them.
constexpr uint64_t section_size_bits = 27;
constexpr uint64_t max_physmem_bits = 46;
constexpr uint64_t max_physmem_bits_five_level = 52;

std::optional<SparsememDefaults> sparsemem_defaults(core::VmcoreInfo const& info)
{
    bool five_level = info.number("pgtable_l5_enabled").value_or(0) == 1;
    return SparsememDefaults { section_size_bits, five_level ? max_physmem_bits_five_level : max_physmem_bits };
}

} // namespace

DumpArch const dump_arch {
    .name = "x86_64",
    .elf_machine = core::elf::machine_x86_64,
    .fixed_page_size_bytes = page_size_bytes,
    .sparsemem_defaults = sparsemem_defaults,
    .make_translator = make_translator,
};

} // namespace arch::x86_64
