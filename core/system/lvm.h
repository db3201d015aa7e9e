// SPDX-License-Identifier: GPL-2.0-or-later
// LVM2 logical volumes without lvm2: the capture initramfs has no lvm2 and
// no udev, so kdumpbox reads the physical volumes' labels (LABELONE) and the
// volume group's text metadata itself and creates the logical volume's
// device through the device-mapper ioctls. `kdump start` plans (which LV,
// which PVs, refusing what the capture cannot build); the dumper activates.
// Linear and striped segments only: thin, raid, cache, vdo, snapshot and
// other layered LVs are refused at planning time.
#pragma once

#include "core/base/error.h"
#include "core/system/blkid.h"
#include "core/system/lvm_format.h"

#include <string>
#include <string_view>
#include <vector>

namespace core {

// What `kdump start` records about the target LV, and what the capture
// kernel needs to activate it.
struct LvmVolume {
    std::string vg_name;
    std::string vg_uuid; // as LVM prints it: 6-4-4-4-4-4-6
    std::string lv_name;
    std::string lv_uuid;
    std::vector<std::string> pv_uuids;
    // Kernel modules the table needs (dm_mod holds linear and striped).
    std::vector<std::string> modules;

    // /dev/mapper/<vg>-<lv> with LVM's '-' doubling ("my-vg" -> "my--vg").
    std::string mapper_name() const;
    bool operator==(LvmVolume const&) const = default;
};

// Host side. dm_name is the kernel name of an active logical volume
// ("dm-3"); options.sysfs_root and dev_root locate sysfs and the PVs.
// Reads the VG's metadata from its PVs and checks that every segment of the
// LV is linear or striped. Anything else (thin, raid, cache, vdo, snapshot,
// an origin with snapshots, mirror, integrity, writecache) is an ENOTSUP
// error naming the LV and the layer, and saying what to do instead (a
// target outside it, or ssh/nfs).
Result<LvmVolume> plan_lvm_volume(std::string const& dm_name, FindOptions const& options = {});

// The plan as text for the initramfs (one "key value" per line), and back.
std::string format_lvm_volume(LvmVolume const& volume);
Result<LvmVolume> parse_lvm_volume(std::string_view text, std::string_view what);

// Capture side: waits (options.timeout) for every PV to appear among the
// block devices, reads the newest valid metadata, builds the device-mapper
// table, creates and resumes the device and makes /dev/mapper/<name>
// (under options.dev_root). Returns the device node's path. An LV that is
// already active is returned as it is.
Result<std::string> activate_lvm_volume(LvmVolume const& volume, FindOptions const& options = {});

// A PV as read from its device: the label and every metadata copy on it
// (an area whose header or text does not check out is a copy holding the
// error; an ignored or empty area gives none). nullopt: no LVM label.
// `what` names the device in errors.
struct LvmPvScan {
    PvLabel label;
    uint64_t device_bytes { 0 };
    std::vector<LvmMetadataCopy> copies;
};
Result<std::optional<LvmPvScan>> read_lvm_pv(int fd, std::string const& what);

// The dm uuid lvm2 gives an LV: "LVM-" + VG id + LV id, without dashes.
Result<std::string> lvm_dm_uuid(LvmVolume const& volume);

} // namespace core
