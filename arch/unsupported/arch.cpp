// SPDX-License-Identifier: GPL-2.0-or-later
#include "arch/arch.h"

namespace arch {

std::string_view name() { return KDUMPBOX_CPU_FAMILY; }
bool supported() { return false; }

} // namespace arch
