// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel modules for the capture initramfs: the modules asked for and
// everything they depend on, in load order, from modules.dep or else each
// module's .modinfo.
#pragma once

#include "core/base/error.h"

#include <string>
#include <vector>

namespace core::initramfs {

struct ModuleFile {
    std::string path;   // on the host: <modules_dir>/kernel/drivers/block/virtio_blk.ko
    std::string name;   // the module name, '_' form: "virtio_blk"
    std::string reason; // "extra_modules", "dependency of virtio_blk", "driver of /sys/block/vda"
};

// A name asked for, and why (the reason travels into ModuleFile::reason of
// the module itself; its dependencies say "dependency of NAME").
struct ModuleRequest {
    std::string name;
    std::string reason;
};

// Resolves the modules and everything they depend on, in load order
// (dependencies first), each file once. Dependencies come from
// modules_dir/modules.dep when it exists, else from each module's
// .modinfo "depends=" (the .ko files are found by scanning modules_dir;
// .ko and .ko.zst/.ko.gz are read, .ko.xz needs modules.dep: run depmod).
// Built-in modules (modules.builtin) resolve to nothing. An unknown module
// is an error naming it and modules_dir. Dependency cycles are reported as
// errors, never followed forever. Names are compared as core::module_name
// gives them.
Result<std::vector<ModuleFile>> resolve_module_requests(std::string const& modules_dir, std::vector<ModuleRequest> const& requests);
// The same, every name with reason "extra_modules".
Result<std::vector<ModuleFile>> resolve_modules(std::string modules_dir, std::vector<std::string> names);

// The `depends=` list of one module file's .modinfo section (for .ko,
// .ko.zst and .ko.gz).
Result<std::vector<std::string>> module_dependencies_from_modinfo(std::string const& module_path);

} // namespace core::initramfs
