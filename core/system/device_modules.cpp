// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/device_modules.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace core {

namespace {

constexpr std::string_view module_suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };

} // namespace

bool is_module_file_name(std::string_view name)
{
    return std::any_of(std::begin(module_suffixes), std::end(module_suffixes), [&](std::string_view suffix) { return name.ends_with(suffix); });
}

std::string module_name(std::string_view name_or_path)
{
    std::string_view name = base_name(name_or_path);
    for (auto suffix : module_suffixes) {
        if (name.ends_with(suffix)) {
            name.remove_suffix(suffix.size());
            break;
        }
    }
    std::string out(name);
    std::replace(out.begin(), out.end(), '-', '_');
    return out;
}

namespace {

bool is_major_minor(std::string_view text)
{
    auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
        return false;
    auto digits = [](std::string_view part) { return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }); };
    return digits(text.substr(0, colon)) && digits(text.substr(colon + 1));
}

void add_unique(std::vector<std::string>& list, std::string value)
{
    if (std::find(list.begin(), list.end(), value) == list.end())
        list.push_back(std::move(value));
}

// md's personality modules, by /sys/block/mdX/md/level.
std::optional<std::string> md_level_module(std::string_view level)
{
    if (level == "raid0" || level == "raid1" || level == "raid10" || level == "linear")
        return std::string(level);
    if (level == "raid4" || level == "raid5" || level == "raid6")
        return std::string("raid456");
    return std::nullopt;
}

// The drivers of a device and of every bus device above it (virtio_net,
// then virtio_pci), from their driver/module links.
Result<void> collect_device_chain_modules(std::string const& devices_root, std::string const& device_link, std::vector<std::string>& out)
{
    if (!path_exists(device_link))
        return {};
    std::string directory = TRY(real_path(device_link));
    while (directory.size() > devices_root.size() && directory.starts_with(devices_root + "/")) {
        if (auto module = read_symlink(path_join(directory, "driver/module")))
            add_unique(out, module_name(*module));
        directory = parent_directory(directory);
    }
    return {};
}

Result<void> collect_block_modules(std::string const& sysfs_root, std::string const& devices_root, std::string block_directory, std::vector<std::string>& out, unsigned depth)
{
    if (depth > 16)
        return Error::invalid(cat(block_directory, ": the slaves/ chain is more than 16 levels deep"));
    if (path_exists(path_join(block_directory, "partition")))
        block_directory = parent_directory(block_directory);

    std::string dm_directory = path_join(block_directory, "dm");
    if (is_directory(dm_directory)) {
        add_unique(out, "dm_mod");
        auto uuid = read_text_file(path_join(dm_directory, "uuid"));
        if (uuid.ok() && trim(uuid.value()).starts_with("CRYPT-"))
            add_unique(out, "dm_crypt");
    }
    std::string md_directory = path_join(block_directory, "md");
    if (is_directory(md_directory)) {
        add_unique(out, "md_mod");
        auto level = read_text_file(path_join(md_directory, "level"));
        if (level.ok()) {
            if (auto module = md_level_module(trim(level.value())))
                add_unique(out, *module);
        }
    }
    std::string slaves = path_join(block_directory, "slaves");
    if (is_directory(slaves)) {
        for (auto const& slave : TRY(list_directory(slaves))) {
            auto slave_directory = TRY(real_path(path_join(slaves, slave)));
            TRY(collect_block_modules(sysfs_root, devices_root, slave_directory, out, depth + 1));
        }
    }

    return collect_device_chain_modules(devices_root, path_join(block_directory, "device"), out);
}

} // namespace

Result<std::string> sysfs_block_directory(std::string const& sysfs_root, std::string const& device)
{
    std::vector<std::string> candidates;
    if (is_major_minor(device)) {
        candidates.push_back(cat(sysfs_root, "/dev/block/", device));
    } else {
        std::string name = std::string(base_name(device));
        if (device.starts_with('/')) {
            struct stat status;
            if (::stat(device.c_str(), &status) == 0 && S_ISBLK(status.st_mode))
                candidates.push_back(cat(sysfs_root, "/dev/block/", major(status.st_rdev), ':', minor(status.st_rdev)));
            // /dev/disk/by-uuid/... and /dev/mapper/... are links to the node.
            auto resolved = real_path(device);
            if (resolved.ok())
                name = std::string(base_name(resolved.value()));
        }
        candidates.push_back(cat(sysfs_root, "/class/block/", name));
    }
    for (auto const& candidate : candidates) {
        if (path_exists(candidate))
            return real_path(candidate);
    }
    return Error::with_code(ENOENT, cat(device, ": no such block device in ", sysfs_root, " (looked for ", candidates.back(), ")"));
}

Result<std::vector<std::string>> block_device_modules(std::string sysfs_root, std::string device)
{
    while (sysfs_root.size() > 1 && sysfs_root.back() == '/')
        sysfs_root.pop_back();
    std::string block_directory = TRY(sysfs_block_directory(sysfs_root, device));
    std::string devices_root = TRY(real_path(path_join(sysfs_root, "devices")));
    std::vector<std::string> out;
    TRY(collect_block_modules(sysfs_root, devices_root, block_directory, out, 0));
    return out;
}

Result<std::vector<std::string>> net_device_modules(std::string sysfs_root, std::string const& interface_name)
{
    while (sysfs_root.size() > 1 && sysfs_root.back() == '/')
        sysfs_root.pop_back();
    std::string directory = cat(sysfs_root, "/class/net/", interface_name);
    if (interface_name.empty() || interface_name.find('/') != std::string::npos || !path_exists(directory))
        return Error::with_code(ENODEV, cat("network interface '", interface_name, "': not in ", sysfs_root, "/class/net"));
    std::string devices_root = TRY(real_path(path_join(sysfs_root, "devices")));
    std::vector<std::string> out;
    TRY(collect_device_chain_modules(devices_root, path_join(directory, "device"), out));
    return out;
}

std::optional<unsigned> sysfs_partition_number(std::string const& block_directory)
{
    auto text = read_text_file(path_join(block_directory, "partition"), 64);
    if (!text.ok())
        return std::nullopt;
    auto number = parse_u64(trim(text.value()), "partition number");
    // The kernel's own limit is far below this; anything else is no number.
    if (!number.ok() || number.value() == 0 || number.value() > 0xffffffffu)
        return std::nullopt;
    return static_cast<unsigned>(number.value());
}

} // namespace core
