// SPDX-License-Identifier: GPL-2.0-or-later
// Which file system a block device holds, and finding the device a dump
// target names (/dev/vda1, UUID=, LABEL=, PARTUUID=, PARTLABEL=). The capture
// initramfs has no udev and no /dev/disk/by-*, so we read the superblocks
// (and, for PARTUUID=/PARTLABEL=, the partition tables) ourselves: ext2,
// ext3, ext4, xfs, btrfs and vfat, plus swap and LUKS so that the "devices
// seen" list in a timeout error says what the other disks are. Types, UUIDs
// and labels are spelled as `blkid -o export` prints them.
#pragma once

#include "core/base/error.h"
#include "core/config/device_spec.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace core {

// 16 bytes as 8-4-4-4-12 lowercase hex, in the order given; all zeros is
// "no UUID" and gives "" (blkid prints none then).
std::string format_uuid(std::span<uint8_t const> bytes);

struct FsProbe {
    // "ext2", "ext3", "ext4", "jbd", "xfs", "btrfs", "vfat", "swap",
    // "crypto_LUKS".
    std::string type;
    // ext/xfs/btrfs/swap: 8-4-4-4-12 lowercase; vfat: "XXXX-XXXX" uppercase;
    // LUKS: the header's own text. Empty when the file system has none (all
    // zeros).
    std::string uuid;
    // Empty when there is none (vfat: "NO NAME").
    std::string label;

    bool operator==(FsProbe const&) const = default;
};

// Probes the image in `bytes` (the start of a device: at least 68 KiB is
// needed to see btrfs, 4 KiB for the others). nullopt: no known file system.
// Never fails: anything truncated or inconsistent is "no file system".
// A vfat label is the boot sector's; probe_filesystem also looks in the
// root directory, which is where Windows keeps it.
std::optional<FsProbe> probe_filesystem_bytes(std::span<uint8_t const> bytes);

// Probes an open device or image. Errors are read errors (EIO on a dying
// disk), naming `what`. A device shorter than a superblock is "no file
// system", not an error.
Result<std::optional<FsProbe>> probe_filesystem(int fd, std::string_view what);
Result<std::optional<FsProbe>> probe_filesystem(std::string const& path);

// "TYPE UUID=... LABEL=..." (the parts that are set), for messages.
std::string describe(FsProbe const& probe);

struct FindOptions {
    // Injectable for tests; devices are sysfs_root/class/block/NAME and
    // dev_root/NAME. A Path spec under /dev/ is looked up under dev_root.
    std::string sysfs_root { "/sys" };
    std::string dev_root { "/dev" };
    // kdump.conf's disk_timeout: how long to wait for the device to appear.
    std::chrono::milliseconds timeout { std::chrono::seconds(90) };
    std::chrono::milliseconds poll_interval { 200 };
};

// The device node for spec: waits, rescanning every poll_interval, until it
// appears or the timeout passes. On timeout (ETIMEDOUT) the error names the
// spec, the time waited and every block device seen with what it holds.
// Several devices with the same UUID or label (multipath legs under a dm
// device, a cloned disk) prefer dm-*, then the first name in sort order,
// with a warning naming them all. A spec the capture cannot look for yet
// (DeviceSpec::check_findable) is refused at once.
Result<std::string> find_device(DeviceSpec const& spec, FindOptions const& options = {});

} // namespace core
