// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/storage_stack.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "core/system/device_modules.h"
#include "core/system/partition_table.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>

namespace core {

namespace {

// The node of a kernel name: sysfs spells a '/' in it as '!' (cciss!c0d0).
std::string node_of(std::string const& name, std::string_view dev_root)
{
    std::string node = name;
    std::replace(node.begin(), node.end(), '!', '/');
    return path_join(dev_root, node);
}

HostBlockDevice device_at(std::string const& sysfs_path, std::string node)
{
    return HostBlockDevice { std::string(base_name(sysfs_path)), std::move(node), sysfs_path };
}

constexpr std::string_view instead = "put the dump target outside it (a target line in kdump.conf), or dump over ssh or nfs";

Error refused_layer(std::string_view layer, std::string const& name, std::string_view detail, std::string_view cannot)
{
    return Error::unsupported(cat(layer, " device ", name, detail.empty() ? std::string() : cat(" (", detail, ")"), ": ", cannot, "; ", instead));
}

std::string dm_uuid(std::string const& sysfs_path)
{
    auto uuid = read_text_file(path_join(sysfs_path, "dm/uuid"), 4096);
    return uuid.ok() ? std::string(trim(uuid.value())) : std::string();
}

// kpartx names a multipath map's partitions part<N>-mpath-<wwid>.
bool is_multipath_uuid(std::string_view uuid)
{
    if (uuid.starts_with("mpath-"))
        return true;
    if (!uuid.starts_with("part"))
        return false;
    auto dash = uuid.find('-');
    if (dash == std::string_view::npos || dash == 4)
        return false;
    auto digits = uuid.substr(4, dash - 4);
    return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) && uuid.substr(dash + 1).starts_with("mpath-");
}

// A disk behind an iSCSI session: an ancestor directory of the device in
// /sys/devices holds iscsi_session/ (hostN/sessionM/iscsi_session/sessionM).
bool is_under_iscsi_session(std::string const& sysfs_path, std::string const& devices_root)
{
    std::string directory = sysfs_path;
    while (directory.size() > devices_root.size() && directory.starts_with(devices_root + "/")) {
        if (is_directory(path_join(directory, "iscsi_session")))
            return true;
        directory = parent_directory(directory);
    }
    return false;
}

struct Walk {
    std::string devices_root;
    std::vector<std::string> lvm_devices; // dm names of LVM LVs met
};

// One device and everything below it; returns its description.
Result<std::string> walk_device(Walk& walk, std::string sysfs_path, unsigned depth)
{
    if (depth > 16)
        return Error::invalid(cat(sysfs_path, ": the slaves/ chain is more than 16 levels deep"));
    std::string name(base_name(sysfs_path));
    std::string description = name;
    if (path_exists(path_join(sysfs_path, "partition"))) {
        sysfs_path = parent_directory(sysfs_path);
        description += cat(" (a partition of ", base_name(sysfs_path), ")");
    }
    std::string whole(base_name(sysfs_path));
    if (is_under_iscsi_session(sysfs_path, walk.devices_root))
        return refused_layer("iSCSI", whole, "", "kdumpbox does not log in to iSCSI targets in the capture kernel");
    if (is_directory(path_join(sysfs_path, "md")))
        return refused_layer("md RAID", whole, "", "kdumpbox does not assemble md arrays in the capture kernel");

    bool lvm = false;
    if (is_directory(path_join(sysfs_path, "dm"))) {
        std::string uuid = dm_uuid(sysfs_path);
        if (uuid.starts_with("CRYPT-"))
            return refused_layer("dm-crypt/LUKS", whole, uuid.substr(0, uuid.find('-', 6)), "kdumpbox cannot unlock encrypted devices in the capture kernel");
        if (is_multipath_uuid(uuid))
            return refused_layer("multipath", whole, uuid, "kdumpbox does not set up multipath in the capture kernel");
        if (!uuid.starts_with("LVM-"))
            return refused_layer("device-mapper", whole, uuid.empty() ? std::string("no dm uuid") : cat("dm uuid ", uuid),
                "kdumpbox sets up only LVM linear and striped logical volumes in the capture kernel");
        if (depth > 0 || whole != name)
            return refused_layer("LVM", whole, "used as a disk below another device", "kdumpbox activates only the logical volume the dump target is");
        lvm = true;
        walk.lvm_devices.push_back(whole);
        description += " (LVM)";
    }
    std::string slaves = path_join(sysfs_path, "slaves");
    if (!is_directory(slaves))
        return description;
    std::vector<std::string> below;
    for (auto const& slave : TRY(list_directory(slaves))) {
        std::string slave_path = TRY(real_path(path_join(slaves, slave)));
        // An LV's own sub-volumes (thin pool, raid images, cache) are
        // plan_lvm_volume's to judge, with a better message.
        if (lvm && is_directory(path_join(slave_path, "dm")) && dm_uuid(slave_path).starts_with("LVM-"))
            continue;
        below.push_back(TRY(walk_device(walk, slave_path, depth + 1)));
    }
    if (!below.empty())
        description += cat(" on ", join(below, " and "));
    return description;
}

// The partition's PARTUUID, read from its disk's table; "" when it has
// none (no table the kernel reads, or not a partition).
Result<std::string> partition_uuid(HostBlockDevice const& device, FindOptions const& options)
{
    auto number = sysfs_partition_number(device.sysfs_path);
    if (!number)
        return std::string();
    std::string disk(base_name(parent_directory(device.sysfs_path)));
    std::string disk_node = node_of(disk, options.dev_root);
    auto fd = TRY(open_file(disk_node, O_RDONLY | O_CLOEXEC));
    auto table = TRY(read_partition_table(fd.get(), disk));
    for (auto const& entry : table) {
        if (entry.number == *number)
            return entry.partuuid;
    }
    return std::string();
}

} // namespace

Result<HostBlockDevice> host_block_device(DeviceSpec const& spec, FindOptions const& options)
{
    FindOptions now = options;
    now.timeout = std::chrono::milliseconds(0);
    std::string node = TRY(find_device(spec, now));
    std::string sysfs_path = TRY(sysfs_block_directory(options.sysfs_root, node));
    return device_at(sysfs_path, node);
}

Result<HostBlockDevice> host_block_device(unsigned major, unsigned minor, FindOptions const& options)
{
    std::string number = cat(major, ':', minor);
    std::string sysfs_path = TRY(sysfs_block_directory(options.sysfs_root, number));
    return device_at(sysfs_path, node_of(std::string(base_name(sysfs_path)), options.dev_root));
}

Result<StorageStack> check_storage_stack(HostBlockDevice const& device, FindOptions const& options)
{
    Walk walk { TRY(real_path(path_join(options.sysfs_root, "devices"))), {} };
    StorageStack stack;
    stack.description = TRY(walk_device(walk, device.sysfs_path, 0));
    if (!walk.lvm_devices.empty())
        stack.lvm = TRY(plan_lvm_volume(walk.lvm_devices.front(), options)); // its errors name the LV
    return stack;
}

Result<StableIdentity> stable_identity(HostBlockDevice const& device, IdentityUse use, StorageStack const& stack, FindOptions const& options)
{
    StableIdentity identity;
    // What could not be read: the last resort's warning says so.
    std::vector<std::string> unreadable;
    if (use == IdentityUse::FileSystem) {
        auto probe = probe_filesystem(device.node);
        if (!probe.ok()) {
            unreadable.push_back(probe.error().message());
        } else if (probe.value() && !probe.value()->uuid.empty()) {
            identity.spec = DeviceSpec { DeviceSpec::Kind::Uuid, probe.value()->uuid };
            identity.why = cat("the UUID of the ", probe.value()->type, " file system on ", device.name);
            return identity;
        }
    }
    if (stack.lvm) {
        // Not a partition; activate_lvm_volume makes this node.
        identity.spec = DeviceSpec { DeviceSpec::Kind::Path, cat("/dev/mapper/", stack.lvm->mapper_name()) };
        identity.why = "the logical volume's device-mapper name, which the capture activates";
        return identity;
    }
    auto partuuid = partition_uuid(device, options);
    if (!partuuid.ok()) {
        unreadable.push_back(partuuid.error().message());
    } else if (!partuuid.value().empty()) {
        identity.spec = DeviceSpec { DeviceSpec::Kind::PartUuid, partuuid.value() };
        identity.why = cat("the partition's PARTUUID (", device.name, ")");
        return identity;
    }
    std::string node = node_of(device.name, "/dev"); // the capture's /dev
    identity.spec = DeviceSpec { DeviceSpec::Kind::Path, node };
    identity.why = "the kernel's name for it";
    identity.warning = cat(device.name, " has no ", use == IdentityUse::FileSystem ? "file-system UUID and no " : "", "PARTUUID",
        unreadable.empty() ? std::string() : cat(" that could be read (", join(unreadable, "; "), ")"), ", so the capture kernel looks for it as ", node,
        ", a name that can change when disks are added or probed in another order");
    return identity;
}

} // namespace core
