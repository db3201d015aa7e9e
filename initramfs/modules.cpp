// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/modules.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "core/compress/compress.h"
#include "core/system/device_modules.h"
#include "core/vmcore/elf.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <map>
#include <optional>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>

namespace core::initramfs {

namespace {

// A module bigger than this, decompressed, is not something we want in a
// crash kernel's memory anyway.
constexpr uint64_t max_module_bytes = 512ull << 20;

struct ModuleInfo {
    std::string path; // absolute
    std::optional<std::vector<std::string>> dependencies; // from modules.dep; else read .modinfo on demand
};

struct ModuleIndex {
    std::string modules_dir;
    bool from_modules_dep { false };
    std::map<std::string, ModuleInfo> modules;
    std::set<std::string> builtin;
};

// modules.dep lines: "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko ...".
Result<void> read_modules_dep(ModuleIndex& index, std::string const& dep_path)
{
    auto text = TRY(read_text_file(dep_path, 64 << 20));
    size_t line_number = 0;
    for (auto line : split(text, '\n')) {
        ++line_number;
        line = trim(line);
        if (line.empty() || line.front() == '#')
            continue;
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
            return Error::invalid(cat(dep_path, ':', line_number, ": expected \"module: dependencies\""));
        auto absolute = [&](std::string_view relative) { return relative.starts_with('/') ? std::string(relative) : path_join(index.modules_dir, relative); };
        ModuleInfo info;
        info.path = absolute(trim(line.substr(0, colon)));
        std::vector<std::string> dependencies;
        for (auto word : split(line.substr(colon + 1), ' ')) {
            word = trim(word);
            if (!word.empty())
                dependencies.push_back(module_name(word));
        }
        info.dependencies = std::move(dependencies);
        index.modules.emplace(module_name(info.path), std::move(info)); // the first entry wins, as in modprobe
    }
    return {};
}

// Without modules.dep: every module file in the tree. Symlinks are not
// followed (modules/<ver>/build points at the kernel headers). Where a
// name appears twice, updates/ wins, then the first path in sorted order.
Result<void> scan_module_tree(ModuleIndex& index, std::string const& directory, std::string const& relative, unsigned depth)
{
    if (depth > 32)
        return {};
    auto names = TRY(list_directory(directory));
    for (auto const& name : names) {
        std::string path = path_join(directory, name);
        std::string relative_path = relative.empty() ? name : cat(relative, '/', name);
        struct stat status;
        if (::lstat(path.c_str(), &status) != 0)
            continue;
        if (S_ISDIR(status.st_mode)) {
            TRY(scan_module_tree(index, path, relative_path, depth + 1));
            continue;
        }
        if (!S_ISREG(status.st_mode) || !is_module_file_name(name))
            continue;
        std::string key = module_name(name);
        auto found = index.modules.find(key);
        bool is_update = relative_path.starts_with("updates/");
        if (found == index.modules.end()) {
            index.modules.emplace(key, ModuleInfo { path, std::nullopt });
        } else if (is_update && !found->second.path.starts_with(path_join(index.modules_dir, "updates/"))) {
            found->second.path = path;
        }
    }
    return {};
}

Result<ModuleIndex> load_module_index(std::string const& modules_dir)
{
    if (!is_directory(modules_dir))
        return Error::with_code(ENOENT, cat(modules_dir, ": no such modules directory"));
    ModuleIndex index;
    index.modules_dir = modules_dir;
    std::string dep_path = path_join(modules_dir, "modules.dep");
    if (path_exists(dep_path)) {
        TRY(read_modules_dep(index, dep_path));
        index.from_modules_dep = true;
    } else {
        TRY(scan_module_tree(index, modules_dir, "", 0));
    }
    std::string builtin_path = path_join(modules_dir, "modules.builtin");
    if (path_exists(builtin_path)) {
        auto text = TRY(read_text_file(builtin_path, 16 << 20));
        for (auto line : split(text, '\n')) {
            line = trim(line);
            if (!line.empty())
                index.builtin.insert(module_name(line));
        }
    }
    return index;
}

struct Resolver {
    ModuleIndex index;
    std::map<std::string, int> state; // 1: on the current path, 2: done
    std::vector<std::string> path;    // the current dependency chain, for cycle messages
    std::vector<ModuleFile> out;

    Result<std::vector<std::string>> dependencies_of(std::string const& name, ModuleInfo& info)
    {
        if (info.dependencies)
            return *info.dependencies;
        if (info.path.ends_with(".ko.xz"))
            return Error::unsupported(cat("module ", name, ": ", info.path, " is xz-compressed and kdumpbox has no xz decoder to read its dependencies from .modinfo; run `depmod ",
                base_name(index.modules_dir), "` so ", path_join(index.modules_dir, "modules.dep"), " exists"));
        auto dependencies = TRY(module_dependencies_from_modinfo(info.path).context(cat("module ", name)));
        for (auto& dependency : dependencies)
            dependency = module_name(dependency);
        info.dependencies = dependencies;
        return dependencies;
    }

    Result<void> visit(std::string const& name, std::string const& reason)
    {
        if (index.builtin.contains(name))
            return {};
        auto current = state[name];
        if (current == 2)
            return {};
        if (current == 1) {
            std::string chain;
            auto start = std::find(path.begin(), path.end(), name);
            for (auto it = start; it != path.end(); ++it)
                chain += cat(*it, " -> ");
            return Error::invalid(cat("module dependency cycle in ", index.modules_dir, ": ", chain, name));
        }
        auto found = index.modules.find(name);
        if (found == index.modules.end()) {
            std::string where = index.from_modules_dep ? cat("not in ", path_join(index.modules_dir, "modules.dep"))
                                                       : cat("no ", name, ".ko, .ko.xz, .ko.zst or .ko.gz under ", index.modules_dir);
            return Error::with_code(ENOENT, cat("module ", name, (reason == "extra_modules" ? std::string() : cat(" (", reason, ")")), ": not found: ", where,
                ", and not built in; is it the right kernel version?"));
        }
        state[name] = 1;
        path.push_back(name);
        auto dependencies = TRY(dependencies_of(name, found->second));
        for (auto const& dependency : dependencies)
            TRY(visit(dependency, cat("dependency of ", name)));
        path.pop_back();
        state[name] = 2;
        out.push_back(ModuleFile { found->second.path, name, reason });
        return {};
    }
};

// The module's compression, from its first bytes.
Result<StreamFormat> module_format(std::string const& path)
{
    auto fd = TRY(open_file(path, O_RDONLY | O_CLOEXEC));
    uint8_t head[8] = {};
    size_t head_bytes = TRY(pread_full(fd.get(), head, 0, path));
    return detect_stream_format(std::span<uint8_t const>(head, head_bytes));
}

} // namespace

// .ko.zst/.ko.gz through core's stream decompressor, into a memfd.
Result<std::vector<uint8_t>> read_module_bytes(std::string const& path)
{
    auto fd = TRY(open_file(path, O_RDONLY));
    uint8_t head[8] = {};
    size_t head_bytes = TRY(pread_full(fd.get(), head, 0, path));
    auto format = detect_stream_format(std::span<uint8_t const>(head, head_bytes));
    if (format == StreamFormat::None)
        return read_file_bytes(fd.get(), path, max_module_bytes);
    if (!can_decompress_stream(format))
        return Error::unsupported(cat(path, ": ", stream_format_name(format), "-compressed, and kdumpbox has no ", stream_format_name(format), " decoder"));
    int raw = ::memfd_create("kdumpbox-module", MFD_CLOEXEC);
    if (raw < 0)
        return Error::from_errno(cat("memfd_create for ", path));
    UniqueFd out(raw);
    TRY(decompress_stream(fd.get(), out.get(), format, max_module_bytes, path));
    return read_file_bytes(out.get(), cat(path, " (decompressed)"), max_module_bytes);
}

Result<std::vector<std::string>> module_dependencies_from_modinfo(std::string const& module_path)
{
    auto bytes = TRY(read_module_bytes(module_path));
    auto object = TRY(elf::parse_object(bytes, module_path));
    auto modinfo = TRY(elf::find_section(object, ".modinfo"));
    if (!modinfo)
        return Error::invalid(cat(module_path, ": no .modinfo section; is this a kernel module?"));
    std::vector<std::string> dependencies;
    std::string_view text(reinterpret_cast<char const*>(modinfo->data()), modinfo->size());
    for (auto field : split(text, '\0')) {
        if (!field.starts_with("depends="))
            continue;
        for (auto name : split(field.substr(8), ',')) {
            name = trim(name);
            if (!name.empty())
                dependencies.emplace_back(name);
        }
    }
    return dependencies;
}

Result<std::vector<ModuleFile>> resolve_module_requests(std::string const& modules_dir, std::vector<ModuleRequest> const& requests)
{
    Resolver resolver;
    resolver.index = TRY(load_module_index(modules_dir));
    for (auto const& request : requests)
        TRY(resolver.visit(module_name(request.name), request.reason));
    return std::move(resolver.out);
}

Result<std::vector<ModuleFile>> resolve_modules(std::string modules_dir, std::vector<std::string> names)
{
    std::vector<ModuleRequest> requests;
    for (auto& name : names)
        requests.push_back({ std::move(name), "extra_modules" });
    return resolve_module_requests(modules_dir, requests);
}

ModuleDecompression module_decompression_from_config(std::string_view kernel_config_text, std::string_view config_name)
{
    bool decompress = false;
    std::vector<std::pair<std::string_view, StreamFormat>> compress;
    static constexpr std::pair<std::string_view, StreamFormat> options[] = {
        { "CONFIG_MODULE_COMPRESS_GZIP", StreamFormat::Gzip },
        { "CONFIG_MODULE_COMPRESS_XZ", StreamFormat::Xz },
        { "CONFIG_MODULE_COMPRESS_ZSTD", StreamFormat::Zstd },
    };
    for (auto line : split(kernel_config_text, '\n')) {
        line = trim(line);
        if (!line.ends_with("=y"))
            continue;
        auto option = line.substr(0, line.size() - 2);
        if (option == "CONFIG_MODULE_DECOMPRESS")
            decompress = true;
        for (auto const& candidate : options) {
            if (option == candidate.first)
                compress.push_back(candidate);
        }
    }
    ModuleDecompression result;
    if (!decompress) {
        result.why = cat("CONFIG_MODULE_DECOMPRESS is not set in ", config_name);
        return result;
    }
    if (compress.empty()) {
        result.why = cat("CONFIG_MODULE_DECOMPRESS=y but no CONFIG_MODULE_COMPRESS_GZIP, _XZ or _ZSTD in ", config_name);
        return result;
    }
    std::vector<std::string> names;
    for (auto const& [option, format] : compress) {
        result.formats.push_back(format);
        names.push_back(cat(option, "=y"));
    }
    result.why = cat("CONFIG_MODULE_DECOMPRESS=y and ", join(names, ", "), " in ", config_name);
    return result;
}

Result<ModuleDecompression> module_decompression_for_config_file(std::string const& kernel_config_path)
{
    if (!path_exists(kernel_config_path))
        return ModuleDecompression { {}, cat("there is no ", kernel_config_path, " to tell whether it has CONFIG_MODULE_DECOMPRESS") };
    auto text = TRY(read_text_file(kernel_config_path, 16 << 20));
    return module_decompression_from_config(text, kernel_config_path);
}

Result<void> choose_module_storage(std::vector<ModuleFile>& modules, ModuleDecompression const& kernel)
{
    for (auto& module : modules) {
        module.decompress = false;
        auto format = TRY(module_format(module.path).context(cat("module ", module.name)));
        if (format == StreamFormat::None || std::find(kernel.formats.begin(), kernel.formats.end(), format) != kernel.formats.end())
            continue;
        if (can_decompress_stream(format)) {
            module.decompress = true;
            continue;
        }
        auto name = stream_format_name(format);
        return Error::unsupported(cat("module ", module.name, " (", module.reason, ") is ", name, "-compressed (", module.path, "), and neither the capture kernel (", kernel.why,
            ") nor kdumpbox (no ", name, " decoder) can decompress it: install it uncompressed (un", name, " it, then run depmod), or use a capture kernel built with CONFIG_MODULE_DECOMPRESS=y and its CONFIG_MODULE_COMPRESS option"));
    }
    return {};
}

std::string module_path_in_image(ModuleFile const& module, std::string_view modules_dir, std::string_view kernel_version)
{
    std::string prefix = modules_dir.empty() ? std::string() : cat(modules_dir.back() == '/' ? modules_dir.substr(0, modules_dir.size() - 1) : modules_dir, '/');
    std::string relative = !prefix.empty() && module.path.starts_with(prefix) ? module.path.substr(prefix.size()) : cat("extra/", base_name(module.path));
    if (module.decompress) {
        auto suffix = relative.rfind(".ko.");
        if (suffix != std::string::npos)
            relative.resize(suffix + 3);
    }
    return cat("/lib/modules/", kernel_version, '/', relative);
}

} // namespace core::initramfs
