// SPDX-License-Identifier: GPL-2.0-or-later
// Loading kernel modules in the capture kernel, in the order the initramfs
// builder wrote to /lib/modules/load-order (dependencies first), with
// finit_module(2). Compressed modules (.ko.xz, .ko.zst) are handed to the
// kernel to decompress (MODULE_INIT_COMPRESSED_FILE, CONFIG_MODULE_DECOMPRESS);
// kdump start leaves a module compressed only when the capture kernel's
// config says it can (initramfs::choose_module_storage).
#pragma once

#include "core/base/error.h"

#include <string>
#include <vector>

namespace core {

struct ModuleLoadReport {
    std::vector<std::string> loaded;
    std::vector<std::string> already_present; // EEXIST: built in or loaded
    // One line per module that failed, naming it and the errno; loading
    // goes on with the rest (the target wait then says what is missing).
    std::vector<std::string> failures;
};

// Paths in load_order_file are absolute or relative to its directory.
// A missing list is an empty one (no modules were needed).
Result<ModuleLoadReport> load_modules_in_order(std::string const& load_order_file);

} // namespace core
