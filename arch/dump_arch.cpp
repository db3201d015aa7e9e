// SPDX-License-Identifier: GPL-2.0-or-later
// The table of dump CPUs this build reads, and the lookups by e_machine and
// by machine name. Adding a CPU: its arch/<cpu>/dump.h descriptor goes into
// dump_arches below (arch/README.md).
#include "arch/dump_arch.h"

#include "arch/aarch64/dump.h"
#include "arch/elf_machine.h"
#include "arch/x86_64/dump.h"
#include "core/base/strings.h"
#include "core/vmcore/elf.h"

#include <array>
#include <vector>

namespace arch {

namespace {

constexpr std::array<DumpArch const*, 2> dump_arches { &x86_64::dump_arch, &aarch64::dump_arch };

std::string readable_machines()
{
    std::vector<std::string> names;
    for (auto const* dump_arch : dump_arches)
        names.emplace_back(dump_arch->name);
    return core::join(names, ", ");
}

} // namespace

core::Result<DumpArch const*> dump_arch_for_elf_machine(uint16_t elf_machine)
{
    for (auto const* dump_arch : dump_arches) {
        if (dump_arch->elf_machine == elf_machine)
            return dump_arch;
    }
    std::string_view name = elf_machine_name(elf_machine);
    return core::Error::unsupported(core::cat("vmcore is for e_machine ", elf_machine, name.empty() ? std::string() : core::cat(" (", name, ")"),
        "; this build reads dumps of: ", readable_machines()));
}

core::Result<DumpArch const*> dump_arch_for_machine_name(std::string_view machine)
{
    for (auto const* dump_arch : dump_arches) {
        if (dump_arch->name == machine)
            return dump_arch;
    }
    if (machine.empty())
        return core::Error::unsupported(core::cat("the dump names no machine (its utsname machine is empty); this build reads dumps of: ", readable_machines()));
    return core::Error::unsupported(core::cat("the dump is for machine \"", machine, "\"; this build reads dumps of: ", readable_machines()));
}

} // namespace arch
