// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/module_load.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "core/system/device_modules.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace core {

namespace {

// include/uapi/linux/module.h
constexpr int module_init_compressed_file = 4;

} // namespace

Result<ModuleLoadReport> load_modules_in_order(std::string const& load_order_file)
{
    ModuleLoadReport report;
    auto text = read_text_file(load_order_file);
    if (!text.ok()) {
        if (text.error().errno_code() == ENOENT)
            return report;
        return std::move(text).error();
    }
    std::string base = parent_directory(load_order_file);
    for (auto line : split(text.value(), '\n')) {
        line = trim(line);
        if (line.empty() || line.front() == '#')
            continue;
        std::string path = line.front() == '/' ? std::string(line) : cat(base, '/', line);
        std::string name = module_name(path);
        auto fd = open_file(path, O_RDONLY | O_CLOEXEC);
        if (!fd.ok()) {
            report.failures.push_back(cat(name, ": ", fd.error().message()));
            continue;
        }
        int flags = std::string_view(path).ends_with(".ko") ? 0 : module_init_compressed_file;
        if (::syscall(SYS_finit_module, fd.value().get(), "", flags) == 0) {
            report.loaded.push_back(name);
        } else if (errno == EEXIST) {
            report.already_present.push_back(name);
        } else {
            int saved = errno;
            std::string hint;
            if (saved == ENOENT && flags)
                hint = "; this kernel cannot decompress modules (CONFIG_MODULE_DECOMPRESS), ship them uncompressed";
            else if (saved == ENOEXEC)
                hint = "; the module was built for another kernel";
            report.failures.push_back(cat(name, " (", path, "): finit_module: ", std::strerror(saved), hint));
        }
    }
    return report;
}

} // namespace core
