// SPDX-License-Identifier: GPL-2.0-or-later
// Which kernel modules drive a device, read from sysfs: the driver chain
// under a block device (the dump target's disk) or a network interface,
// and the canonical module name both sysfs and modules.dep are compared by.
// The initramfs builder and the network planner use these; loading them in
// the capture kernel is module_load's job.
#pragma once

#include "core/base/error.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// The canonical module name: '-' and '_' are the same to the kernel, and
// it prints '_'. Any .ko/.ko.xz/.ko.zst/.ko.gz suffix and directory are
// dropped: "kernel/drivers/char/hw_random/virtio-rng.ko.xz" -> "virtio_rng".
std::string module_name(std::string_view name_or_path);
// Whether a file name has one of those module suffixes.
bool is_module_file_name(std::string_view name);

// The real sysfs directory of a block device (a partition's own, under
// its disk's): device is "/dev/vda1", a /dev/disk/by-* or /dev/mapper/
// link, "vda1" or "254:1"; a block device node is looked up by its
// major:minor. ENOENT names what was looked for.
Result<std::string> sysfs_block_directory(std::string const& sysfs_root, std::string const& device);

// The kernel's partition number of the block device whose sysfs directory
// this is (its "partition" file); nullopt when it is no partition.
std::optional<unsigned> sysfs_partition_number(std::string const& block_directory);

// The driver modules under a block device, nearest first: "virtio_blk",
// "virtio_pci". device is "/dev/vda1", a /dev/disk/by-* link, "vda1" or
// "254:1". A partition is followed to its whole disk; device-mapper and md
// devices to their slaves. Built-in drivers have no driver/module link and
// are not listed. sysfs_root is "/sys" except in tests.
Result<std::vector<std::string>> block_device_modules(std::string sysfs_root, std::string device);

// The driver modules under a network interface, nearest first:
// "virtio_net", "virtio_pci" (for "eth0"), from /sys/class/net/NAME/device
// as block_device_modules does. A virtual interface (no device link) or a
// built-in driver gives none.
Result<std::vector<std::string>> net_device_modules(std::string sysfs_root, std::string const& interface_name);

} // namespace core
