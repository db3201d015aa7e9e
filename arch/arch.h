// SPDX-License-Identifier: GPL-2.0-or-later
// The per-CPU interface. Each arch/<cpu>/ directory implements it; meson picks
// the directory from the host CPU family, and arch/unsupported/ answers
// "not supported" for the rest, so core/ never tests for a CPU itself.
#pragma once

#include "core/error.h"

#include <string_view>

namespace arch {

// The name Linux uses for this architecture (uname -m).
std::string_view name();
// Whether this build has the per-CPU parts kdump needs (page tables, kexec
// image formats, capture command-line defaults).
bool supported();

} // namespace arch
