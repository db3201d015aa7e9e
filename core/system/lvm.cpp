// SPDX-License-Identifier: GPL-2.0-or-later
// Placeholder so the interface builds; the implementation follows (#12).
#include "core/system/lvm.h"

#include <cerrno>

namespace core {

std::string LvmVolume::mapper_name() const
{
    std::string name;
    for (auto part : { &vg_name, &lv_name }) {
        if (!name.empty())
            name += '-';
        for (char c : *part) {
            name += c;
            if (c == '-')
                name += '-';
        }
    }
    return name;
}

Result<LvmVolume> plan_lvm_volume(std::string const& dm_name, FindOptions const&)
{
    return Error::with_code(ENOTSUP, "LVM logical volume " + dm_name + ": not supported yet");
}

std::string format_lvm_volume(LvmVolume const&) { return {}; }

Result<LvmVolume> parse_lvm_volume(std::string_view, std::string_view what)
{
    return Error::with_code(ENOTSUP, std::string(what) + ": LVM plans are not supported yet");
}

Result<std::string> activate_lvm_volume(LvmVolume const& volume, FindOptions const&)
{
    return Error::with_code(ENOTSUP, "LVM logical volume " + volume.mapper_name() + ": activation is not supported yet");
}

} // namespace core
