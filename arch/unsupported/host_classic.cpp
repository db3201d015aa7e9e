// SPDX-License-Identifier: GPL-2.0-or-later
// No classic kexec_load loader for this CPU (yet): core/kexec reports
// ENOSYS, and the automatic choice says the kernel has no usable syscall.
#include "arch/host.h"

#include "core/base/strings.h"

#include <cerrno>

namespace arch {

long kexec_load_syscall_number() { return -1; }

unsigned long kexec_load_arch_flags() { return 0; }

uint16_t host_elf_machine() { return 0; }

core::Result<ClassicLoadPlan> plan_classic_load(ClassicLoadInput const&, FindHole const&)
{
    return core::Error::with_code(ENOSYS, core::cat("classic kexec_load is not supported on this architecture (", host_name(), ") by this build"));
}

std::vector<PhysicalRange> crash_dump_excluded_ranges() { return {}; }

std::span<uint8_t const> purgatory_blob() { return {}; }

} // namespace arch
