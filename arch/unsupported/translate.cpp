// SPDX-License-Identifier: GPL-2.0-or-later
// No page-table walker for this CPU yet: whatever needs kernel virtual
// memory (dump levels above 1, dmesg) reports that plainly.
#include "arch/arch.h"

#include "core/base/strings.h"

namespace arch {

core::Result<std::unique_ptr<AddressTranslator>> make_translator(core::VmcoreInfo const&, core::PhysicalMemory const&)
{
    return core::Error::unsupported(core::cat("reading the crashed kernel's virtual memory is not supported on this architecture (", name(), ") yet; use dump level 0 or 1, which need no address translation"));
}

} // namespace arch
