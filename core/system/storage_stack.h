// SPDX-License-Identifier: GPL-2.0-or-later
// The host side of a local dump target's device, at `kdump start`: which
// kernel device a name means (/dev/X, /dev/disk/by-*/..., /dev/mapper/...,
// UUID=, LABEL=, PARTUUID=, PARTLABEL=, major:minor from mountinfo), what
// it is stacked on (read from sysfs: slaves/, dm/uuid, md/, the iSCSI
// session above a disk), and a stable name the capture kernel can find it
// by without udev. Layers the capture cannot build are refused here, so
// that no configuration is accepted and then fails at crash time.
#pragma once

#include "core/base/error.h"
#include "core/config/device_spec.h"
#include "core/system/blkid.h"
#include "core/system/lvm.h"

#include <optional>
#include <string>
#include <vector>

namespace core {

// A block device of the host, found now (no waiting).
struct HostBlockDevice {
    std::string name;       // the kernel's name: "vda2", "dm-3"
    std::string node;       // its node: options.dev_root/NAME, or the path found
    std::string sysfs_path; // the real sysfs directory
};

// The device spec names (find_device without waiting, then sysfs).
Result<HostBlockDevice> host_block_device(DeviceSpec const& spec, FindOptions const& options);
// The device with this number (mountinfo's MAJOR:MINOR).
Result<HostBlockDevice> host_block_device(unsigned major, unsigned minor, FindOptions const& options);

// What the device is stacked on, once every layer was found buildable.
struct StorageStack {
    // The device is an LVM logical volume: what plan_lvm_volume recorded.
    std::optional<LvmVolume> lvm;
    // "dm-3 (LVM) on vda2", for `kdump show`.
    std::string description;
};

// Walks device's stack in sysfs and refuses, in one line naming the layer,
// the device and what to do instead (a target outside it, or ssh/nfs):
// dm-crypt/LUKS (dm uuid CRYPT-), multipath (mpath-, kpartx's
// part<N>-mpath-), md RAID, iSCSI, any other device-mapper device that is
// not LVM, and what plan_lvm_volume refuses for an LVM logical volume
// (thin, raid, cache, vdo, snapshot...). Layers below LVM's physical
// volumes count too. ENOTSUP for a refused layer.
Result<StorageStack> check_storage_stack(HostBlockDevice const& device, FindOptions const& options);

enum class IdentityUse { FileSystem, Raw };
struct StableIdentity {
    DeviceSpec spec;
    std::string why;     // "the file system's UUID", ...
    std::string warning; // set when only the kernel name was left
};
// How the capture kernel finds device without udev. A file system: its
// UUID= (probe_filesystem), else the partition's PARTUUID= (read from its
// disk's partition table), else its name, with a warning. Raw: PARTUUID=
// else the name, with a warning (which says what could not be read, if a
// read failed). A logical volume's name is /dev/mapper/VG-LV, which
// activate_lvm_volume makes.
Result<StableIdentity> stable_identity(HostBlockDevice const& device, IdentityUse use, StorageStack const& stack, FindOptions const& options);

} // namespace core
