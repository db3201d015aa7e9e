// SPDX-License-Identifier: GPL-2.0-or-later
// The local dump target as `kdump start` resolved it, carried to the
// capture kernel in the initramfs: the device by a name the capture can
// find without udev, the file system type, the mount options it needs (a
// btrfs subvolume), and the directory inside the file system that
// kdump.conf's `path` means there. The dumper reads this instead of
// working it out again from kdump.conf, which it cannot: the host's
// mounts, links in /dev and LVM are not there.
#pragma once

#include "core/base/error.h"
#include "core/config/device_spec.h"

#include <string>
#include <string_view>

namespace core {

// Where the files go in the capture initramfs.
inline constexpr std::string_view capture_resolved_target_path = "/etc/kdumpbox/target";
// format_lvm_volume's text, when the target is an LVM logical volume.
inline constexpr std::string_view capture_lvm_volume_path = "/etc/kdumpbox/lvm";
// The same two for failure_action dump_to_rootfs: the root file system.
inline constexpr std::string_view capture_rootfs_target_path = "/etc/kdumpbox/rootfs-target";
inline constexpr std::string_view capture_rootfs_lvm_volume_path = "/etc/kdumpbox/rootfs-lvm";

struct ResolvedTarget {
    enum class Kind { FileSystem, Raw };
    Kind kind { Kind::FileSystem };
    DeviceSpec device;         // UUID=, PARTUUID= or /dev/NAME
    std::string fs_type;       // FileSystem: "xfs", ...
    std::string mount_options; // FileSystem: "subvol=/root" or ""
    std::string directory;     // FileSystem: inside the file system, absolute
    bool lvm { false };        // an LVM plan is at capture_lvm_volume_path
    bool operator==(ResolvedTarget const&) const = default;
};

// "key value" lines, one per field:
//   kind filesystem|raw
//   device UUID=...
//   fs_type xfs                  (filesystem only)
//   mount_options subvol=/root   (filesystem only; may be empty)
//   directory /var/crash         (filesystem only)
//   lvm yes|no
// A value with a newline cannot be written (EINVAL).
Result<std::string> format_resolved_target(ResolvedTarget const& target);
// Strict: every key once, none unknown, the ones its kind needs present.
// Errors name `what` and the line, and say to run 'kdump rebuild'.
Result<ResolvedTarget> parse_resolved_target(std::string_view text, std::string_view what);

} // namespace core
