// SPDX-License-Identifier: GPL-2.0-or-later
#include "arch/elf_machine.h"

#include <array>
#include <cstdint>

namespace arch {

namespace {

using namespace core::elf;

// The 64-bit Linux names (uname -m) of the machines kdumpbox may meet in a
// vmcore. EM_PPC64 is left out: it is ppc64 or ppc64le by byte order.
struct MachineName {
    uint16_t elf_machine;
    std::string_view name;
};
constexpr std::array<MachineName, 5> machine_names { {
    { machine_x86_64, "x86_64" },
    { machine_aarch64, "aarch64" },
    { machine_s390, "s390x" },
    { machine_riscv, "riscv64" },
    { machine_loongarch, "loongarch64" },
} };

// 32-bit ARM: the EABI version lives in e_flags' top byte (0 is the old
// ABI, which no multiarch distribution ships), and hard-float binaries
// say so in EF_ARM_ABI_FLOAT_HARD.
constexpr uint32_t arm_eabi_version_mask = 0xff000000;
constexpr uint32_t arm_float_hard = 0x400;

} // namespace

std::optional<std::string_view> multiarch_tuple(core::elf::Identity const& identity)
{
    bool little = identity.endian == core::Endian::Little;
    bool wide = identity.is_64bit;
    switch (identity.machine) {
    case machine_x86_64:
        if (!little)
            return std::nullopt;
        return wide ? "x86_64-linux-gnu" : "x86_64-linux-gnux32";
    case machine_386:
        return !wide && little ? std::optional<std::string_view>("i386-linux-gnu") : std::nullopt;
    case machine_aarch64:
        return wide && little ? std::optional<std::string_view>("aarch64-linux-gnu") : std::nullopt;
    case machine_arm:
        if (wide || !little || (identity.flags & arm_eabi_version_mask) == 0)
            return std::nullopt;
        return (identity.flags & arm_float_hard) != 0 ? "arm-linux-gnueabihf" : "arm-linux-gnueabi";
    case machine_ppc64:
        if (!wide)
            return std::nullopt;
        return little ? "powerpc64le-linux-gnu" : "powerpc64-linux-gnu";
    case machine_ppc:
        return !wide && !little ? std::optional<std::string_view>("powerpc-linux-gnu") : std::nullopt;
    case machine_s390:
        return wide && !little ? std::optional<std::string_view>("s390x-linux-gnu") : std::nullopt;
    case machine_riscv:
        return wide && little ? std::optional<std::string_view>("riscv64-linux-gnu") : std::nullopt;
    case machine_loongarch:
        return wide && little ? std::optional<std::string_view>("loongarch64-linux-gnu") : std::nullopt;
    default:
        return std::nullopt;
    }
}

std::string_view elf_machine_name(uint16_t elf_machine)
{
    for (auto const& known : machine_names) {
        if (known.elf_machine == elf_machine)
            return known.name;
    }
    return {};
}

} // namespace arch
