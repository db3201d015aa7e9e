// SPDX-License-Identifier: GPL-2.0-or-later
#include "arch/arch.h"

namespace arch {

std::string_view name() { return KDUMPBOX_CPU_FAMILY; }
bool supported() { return false; }

// No capture kernel can be loaded here, so there is nothing to tune.
std::string_view capture_cmdline_remove_default() { return {}; }
std::string_view capture_cmdline_append_default() { return {}; }

} // namespace arch
