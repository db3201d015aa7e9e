// SPDX-License-Identifier: GPL-2.0-or-later
// The dump CPU: what reading a crashed kernel's memory needs to know about
// the CPU that kernel ran on. Every CPU's dump support is compiled into
// every build, and the vmcore chooses at run time (its ELF e_machine, or a
// kdump-compressed header's machine), so an x86_64 dump reads the same on
// any host. The CPU kdumpbox runs on is arch/host.h's business; see
// arch/README.md.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace core {
class PhysicalMemory;
class VmcoreInfo;
}

namespace arch {

// Kernel virtual to physical addresses, for the crashed kernel.
class AddressTranslator {
public:
    virtual ~AddressTranslator() = default;
    virtual core::Result<uint64_t> to_physical(uint64_t vaddr) const = 0;
    // The value the kdump sub-header's phys_base field carries (x86_64: the
    // kernel's phys_base; arm64: PHYS_OFFSET).
    virtual uint64_t phys_base() const = 0;
};

// The sparsemem geometry of kernels too old to export NUMBER(SECTION_SIZE_BITS)
// and NUMBER(MAX_PHYSMEM_BITS) in VMCOREINFO.
struct SparsememDefaults {
    uint64_t section_size_bits;
    uint64_t max_physmem_bits;
};

// One CPU's dump support: facts, and the page-table walk.
struct DumpArch {
    // The kernel's name for the CPU (uname -m), as a kdump-compressed
    // header's utsname machine carries it: "x86_64".
    std::string_view name;
    uint16_t elf_machine; // e_machine of its vmcores (EM_X86_64: 62)
    // The page size when VMCOREINFO has no PAGESIZE; nullopt where kernels
    // of this CPU choose among several.
    std::optional<uint64_t> fixed_page_size_bytes;
    // nullopt where this CPU has no fixed values.
    std::optional<SparsememDefaults> (*sparsemem_defaults)(core::VmcoreInfo const& info);
    // Builds the translator from VMCOREINFO (x86_64: init_top_pgt,
    // phys_base, 4- or 5-level paging), reading page tables from physical.
    // Missing VMCOREINFO entries are an error naming them.
    core::Result<std::unique_ptr<AddressTranslator>> (*make_translator)(core::VmcoreInfo const& info, core::PhysicalMemory const& physical);
};

// The dump support for a vmcore's ELF e_machine. A machine this build
// cannot read is an error naming it and the machines it can read.
core::Result<DumpArch const*> dump_arch_for_elf_machine(uint16_t elf_machine);
// The same for a kdump-compressed header's utsname machine ("x86_64").
core::Result<DumpArch const*> dump_arch_for_machine_name(std::string_view machine);

} // namespace arch
