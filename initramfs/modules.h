// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel modules for the capture initramfs: the modules asked for and
// everything they depend on, in load order, from modules.dep or else each
// module's .modinfo.
#pragma once

#include "core/base/error.h"
#include "core/compress/compress.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace core::initramfs {

struct ModuleFile {
    std::string path;   // on the host: <modules_dir>/kernel/drivers/block/virtio_blk.ko
    std::string name;   // the module name, '_' form: "virtio_blk"
    std::string reason; // "extra_modules", "dependency of virtio_blk", "driver of /sys/block/vda"
    // Set by choose_module_storage: a .ko.zst/.ko.gz the capture kernel
    // cannot decompress, stored decompressed in the image as NAME.ko.
    bool decompress { false };
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

// The bytes of a module file, decompressed when it is a .ko.zst or .ko.gz
// (at most 512 MiB); an error for formats kdumpbox has no decoder for.
Result<std::vector<uint8_t>> read_module_bytes(std::string const& path);

// ---- Compressed modules in the capture kernel ----

// What the capture kernel decompresses itself when finit_module gets
// MODULE_INIT_COMPRESSED_FILE: with CONFIG_MODULE_DECOMPRESS=y, the format
// CONFIG_MODULE_COMPRESS_{GZIP,XZ,ZSTD} selects.
struct ModuleDecompression {
    std::vector<StreamFormat> formats; // empty: it decompresses nothing
    // "CONFIG_MODULE_DECOMPRESS=y and CONFIG_MODULE_COMPRESS_XZ=y in
    // /boot/config-6.1.0", "CONFIG_MODULE_DECOMPRESS is not set in ...".
    std::string why;
};
ModuleDecompression module_decompression_from_config(std::string_view kernel_config_text, std::string_view config_name);
// From the capture kernel's config file; a missing file means it
// decompresses nothing (why says there was no file to tell).
Result<ModuleDecompression> module_decompression_for_config_file(std::string const& kernel_config_path);

// Decides how each module reaches the capture kernel: as it is when it is
// uncompressed or the kernel decompresses its format; decompressed into the
// image (ModuleFile::decompress) when it is zstd or gzip; otherwise (xz) an
// error naming the module, the file and the two fixes.
Result<void> choose_module_storage(std::vector<ModuleFile>& modules, ModuleDecompression const& kernel);

// Where a module is in the image: its path relative to modules_dir under
// /lib/modules/<kernel_version>/ (extra/NAME outside modules_dir), without
// the compression suffix when it is stored decompressed.
std::string module_path_in_image(ModuleFile const& module, std::string_view modules_dir, std::string_view kernel_version);

} // namespace core::initramfs
