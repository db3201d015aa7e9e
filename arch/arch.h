// SPDX-License-Identifier: GPL-2.0-or-later
// The per-CPU interface. Each arch/<cpu>/ directory implements it; meson picks
// the directory from the host CPU family, and arch/unsupported/ answers
// "not supported" for the rest, so core/ never tests for a CPU itself.
#pragma once

#include "core/error.h"

#include <cstdint>
#include <memory>
#include <string_view>

namespace core {
class PhysicalMemory;
class VmcoreInfo;
}

namespace arch {

// The name Linux uses for this architecture (uname -m).
std::string_view name();
// Whether this build has the per-CPU parts kdump needs (page tables, kexec
// image formats, capture command-line defaults).
bool supported();

// Kernel virtual to physical addresses, for the crashed kernel.
class AddressTranslator {
public:
    virtual ~AddressTranslator() = default;
    virtual core::Result<uint64_t> to_physical(uint64_t vaddr) const = 0;
    // The value the kdump sub-header's phys_base field carries (x86_64: the
    // kernel's phys_base; arm64: PHYS_OFFSET).
    virtual uint64_t phys_base() const = 0;
};

// Builds the translator from VMCOREINFO (x86_64: init_top_pgt, phys_base,
// KERNELOFFSET, 4- or 5-level paging) reading page tables from physical.
// Missing VMCOREINFO entries are an error naming them.
core::Result<std::unique_ptr<AddressTranslator>> make_translator(core::VmcoreInfo const& info, core::PhysicalMemory const& physical);

} // namespace arch
