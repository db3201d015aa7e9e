// SPDX-License-Identifier: GPL-2.0-or-later
#include "arch/arch.h"

namespace arch {

std::string_view name() { return "x86_64"; }
bool supported() { return true; }

} // namespace arch
