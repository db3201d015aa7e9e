// SPDX-License-Identifier: GPL-2.0-or-later
// aarch64 (arm64) as a dump CPU, for arch/dump_arch.cpp's table.
#pragma once

#include "arch/dump_arch.h"

namespace arch::aarch64 {

extern DumpArch const dump_arch;

// The page-table walk (translate.cpp).
core::Result<std::unique_ptr<AddressTranslator>> make_translator(core::VmcoreInfo const& info, core::PhysicalMemory const& physical);

} // namespace arch::aarch64
