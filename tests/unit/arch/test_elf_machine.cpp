// SPDX-License-Identifier: GPL-2.0-or-later
#include "arch/elf_machine.h"

#include <doctest.h>

using core::Endian;
using core::elf::Identity;

namespace {

Identity identity(uint16_t machine, bool is_64bit, Endian endian, uint32_t flags = 0)
{
    return Identity { endian, is_64bit, 3, machine, flags };
}

} // namespace

TEST_CASE("multiarch tuple: chosen by the file's e_machine, class and byte order, on any host")
{
    CHECK(arch::multiarch_tuple(identity(62, true, Endian::Little)) == "x86_64-linux-gnu");
    CHECK(arch::multiarch_tuple(identity(62, false, Endian::Little)) == "x86_64-linux-gnux32");
    CHECK(arch::multiarch_tuple(identity(3, false, Endian::Little)) == "i386-linux-gnu");
    CHECK(arch::multiarch_tuple(identity(183, true, Endian::Little)) == "aarch64-linux-gnu");
    CHECK(arch::multiarch_tuple(identity(21, true, Endian::Little)) == "powerpc64le-linux-gnu");
    CHECK(arch::multiarch_tuple(identity(21, true, Endian::Big)) == "powerpc64-linux-gnu");
    CHECK(arch::multiarch_tuple(identity(20, false, Endian::Big)) == "powerpc-linux-gnu");
    CHECK(arch::multiarch_tuple(identity(22, true, Endian::Big)) == "s390x-linux-gnu");
    CHECK(arch::multiarch_tuple(identity(243, true, Endian::Little)) == "riscv64-linux-gnu");
    CHECK(arch::multiarch_tuple(identity(258, true, Endian::Little)) == "loongarch64-linux-gnu");
}

TEST_CASE("multiarch tuple: 32-bit ARM by its EABI float flag")
{
    CHECK(arch::multiarch_tuple(identity(40, false, Endian::Little, 0x05000400)) == "arm-linux-gnueabihf");
    CHECK(arch::multiarch_tuple(identity(40, false, Endian::Little, 0x05000200)) == "arm-linux-gnueabi");
    CHECK_FALSE(arch::multiarch_tuple(identity(40, false, Endian::Little, 0)).has_value()); // the old ABI
}

TEST_CASE("multiarch tuple: none for unknown machines and impossible combinations")
{
    CHECK_FALSE(arch::multiarch_tuple(identity(0, true, Endian::Little)).has_value());
    CHECK_FALSE(arch::multiarch_tuple(identity(8, false, Endian::Big)).has_value()); // MIPS: ABI not told by e_machine
    CHECK_FALSE(arch::multiarch_tuple(identity(62, true, Endian::Big)).has_value());
    CHECK_FALSE(arch::multiarch_tuple(identity(183, false, Endian::Little)).has_value());
    CHECK_FALSE(arch::multiarch_tuple(identity(3, true, Endian::Little)).has_value());
}
