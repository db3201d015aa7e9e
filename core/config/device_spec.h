// SPDX-License-Identifier: GPL-2.0-or-later
// How kdump.conf, fstab and the command line name a block device: a path
// (/dev/vda1), UUID=, LABEL=, PARTUUID= or PARTLABEL=. The one type for it:
// the kdump.conf parser, `kdump start`, the dumper and mount-and-save all
// hold a DeviceSpec, and find_device (core/system/blkid.h) takes it.
#pragma once

#include "core/base/error.h"

#include <optional>
#include <string>
#include <string_view>

namespace core {

struct DeviceSpec {
    enum class Kind { Path, Uuid, Label, PartUuid, PartLabel };
    Kind kind { Kind::Path };
    std::string value; // without the UUID=/LABEL=/... prefix

    // The syntax alone, never an error: a path (anything starting with
    // '/'), or a known TAG=value with one pair of quotes ('' or "") around
    // the value removed; the value may be empty. nullopt: neither.
    static std::optional<DeviceSpec> split(std::string_view text);
    // split, then an empty value or an unknown form is an error naming text.
    static Result<DeviceSpec> parse(std::string_view text);

    // As written in kdump.conf: "/dev/sda3", "UUID=...", "LABEL=...".
    std::string text() const;
    // "UUID", "LABEL", "PARTUUID", "PARTLABEL"; empty for a path.
    std::string_view tag_name() const;
    // Whether the capture side can find the device: every form can except
    // a virtiofs tag (a Path that is no path).
    Result<void> check_findable() const;

    bool operator==(DeviceSpec const&) const = default;
};

} // namespace core
