// SPDX-License-Identifier: GPL-2.0-or-later
// x86_64 classic kexec_load: the system call, and the bzImage loader
// (64-bit boot protocol: the protected-mode kernel, boot_params with the
// e820 map, the initrd) whose segments core/kexec/classic.cpp loads with
// our purgatory (purgatory/, arch/x86_64/purgatory/).
#include "arch/host.h"

#include "core/base/strings.h"

#include <cerrno>
#include <sys/syscall.h>

namespace arch {

namespace {

constexpr long syscall_kexec_load = 246;
#ifdef SYS_kexec_load
static_assert(SYS_kexec_load == syscall_kexec_load);
#endif
constexpr uint16_t em_x86_64 = 62;

} // namespace

long kexec_load_syscall_number() { return syscall_kexec_load; }

unsigned long kexec_load_arch_flags() { return static_cast<unsigned long>(em_x86_64) << 16; }

uint16_t host_elf_machine() { return em_x86_64; }

core::Result<ClassicLoadPlan> plan_classic_load(ClassicLoadInput const&, FindHole const&)
{
    return core::Error::with_code(ENOSYS, "the x86_64 classic loader is not built yet");
}

// The kernel reserves the low 1 MiB since 5.6 and its own crash header
// leaves it out (arch/x86/kernel/crash.c); so do we.
std::vector<PhysicalRange> crash_dump_excluded_ranges() { return { PhysicalRange { 0, 0xfffff } }; }

std::span<uint8_t const> purgatory_blob() { return {}; }

} // namespace arch
