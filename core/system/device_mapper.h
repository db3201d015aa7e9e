// SPDX-License-Identifier: GPL-2.0-or-later
// Creating device-mapper devices without libdevmapper or dmsetup: the
// ioctls on /dev/mapper/control (create, table load, resume, and remove to
// clean up a half-made device). The ioctl buffers are encoded by pure
// functions (struct dm_ioctl, then one dm_target_spec and its NUL-ended
// parameters per target, each aligned to 8 bytes as linux/dm-ioctl.h asks)
// so that they are unit-tested on hosts without device-mapper.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// One line of a table, as `dmsetup table` prints it without the start and
// length: type "linear", params "8:2 2048".
struct DmTarget {
    uint64_t start_sectors { 0 };
    uint64_t length_sectors { 0 };
    std::string type;
    std::string params;
    bool operator==(DmTarget const&) const = default;
};

// `dmsetup table` style: "0 16384 linear 8:2 2048\n" per target.
std::string format_dm_table(std::vector<DmTarget> const& table);

// Resume is DM_DEV_SUSPEND without DM_SUSPEND_FLAG: it makes a loaded
// table live.
enum class DmCommand { Create, TableLoad, Resume, Remove };

// The bytes of one ioctl's argument: struct dm_ioctl (version 4.0.0, name,
// uuid, flags) followed, for TableLoad, by the targets. Only Create gives
// a uuid: the kernel looks a device up by uuid alone when one is set and
// refuses a name beside it. Errors: a name or uuid too long or a name with
// a '/', a uuid on another command, a target type too long, a buffer past
// 4 GiB.
Result<std::vector<uint8_t>> encode_dm_ioctl(DmCommand command, std::string_view name, std::string_view uuid, std::vector<DmTarget> const& targets = {}, uint32_t flags = 0);

// The device number the kernel returns in dm_ioctl.dev (its "huge"
// encoding), as major and minor.
struct DmDeviceNumber {
    uint32_t major { 0 };
    uint32_t minor { 0 };
    bool operator==(DmDeviceNumber const&) const = default;
};
DmDeviceNumber decode_dm_device_number(uint64_t dev);
// dm_ioctl.dev of a reply buffer.
Result<DmDeviceNumber> dm_reply_device_number(std::vector<uint8_t> const& reply);

struct DmOptions {
    std::string dev_root { "/dev" };
    std::string sysfs_root { "/sys" };
};

// Creates, loads and resumes device `name` (dm uuid `uuid`) with `table`,
// then makes dev_root/mapper/<name> for it (and dev_root/mapper/control if
// devtmpfs has not). A failure after the create removes the device again.
// Returns the node's path.
Result<std::string> create_dm_device(std::string const& name, std::string const& uuid, std::vector<DmTarget> const& table, DmOptions const& options = {});

} // namespace core
