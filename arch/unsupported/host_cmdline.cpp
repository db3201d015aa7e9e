// SPDX-License-Identifier: GPL-2.0-or-later
// A host CPU without kexec support in this build: no capture kernel can be
// loaded, though dumps of every CPU in arch/dump_arch.h can still be read.
#include "arch/host.h"

namespace arch {

std::string_view host_name() { return KDUMPBOX_CPU_FAMILY; }
bool host_supported() { return false; }

// No capture kernel can be loaded here, so there is nothing to tune.
std::string_view capture_cmdline_remove_default() { return {}; }
std::string_view capture_cmdline_append_default() { return {}; }
std::string_view default_crashkernel() { return {}; }

} // namespace arch
