// SPDX-License-Identifier: GPL-2.0-or-later
// The crashed kernel's log, from the lockless printk ring buffer (5.10+,
// SYMBOL(prb)) or the older log_buf records (3.5-5.9). The text is what
// kexec-tools' vmcore-dmesg and makedumpfile --dump-dmesg print for the
// same dump.
#pragma once

#include "core/base/error.h"
#include "core/vmcore/kernel_memory.h"
#include "core/vmcore/vmcoreinfo.h"

#include <string>

namespace core {

Result<std::string> extract_dmesg(VmcoreInfo const& info, KernelMemory const& kernel);

} // namespace core
