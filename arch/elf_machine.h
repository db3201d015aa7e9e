// SPDX-License-Identifier: GPL-2.0-or-later
// Facts about every CPU an ELF file may be built for, chosen at run time by
// the file's e_machine (not by the CPU kdumpbox was built for): compiled
// into every build.
#pragma once

#include "core/vmcore/elf.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace arch {

// The Debian/Ubuntu multiarch tuple whose /lib/<tuple> and /usr/lib/<tuple>
// hold this file's shared libraries: "x86_64-linux-gnu" for an x86-64
// executable, "aarch64-linux-gnu" for an arm64 one. The class, byte order
// and flags pick between tuples of one e_machine (ppc64 and ppc64el, armel
// and armhf, x32). nullopt for CPUs with no unambiguous tuple: the loader
// then searches only the plain /lib64, /usr/lib64, /lib, /usr/lib.
std::optional<std::string_view> multiarch_tuple(core::elf::Identity const& identity);

// The Linux name (uname -m) of a 64-bit machine: "x86_64" for EM_X86_64,
// "aarch64" for EM_AARCH64; empty for a machine without one name.
std::string_view elf_machine_name(uint16_t elf_machine);

} // namespace arch
