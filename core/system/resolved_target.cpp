// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/resolved_target.h"

#include "core/base/strings.h"

#include <algorithm>
#include <array>
#include <initializer_list>

namespace core {

namespace {

constexpr std::string_view rebuild = "run 'kdump rebuild' on the host to write it again";

} // namespace

Result<std::string> format_resolved_target(ResolvedTarget const& target)
{
    bool filesystem = target.kind == ResolvedTarget::Kind::FileSystem;
    std::string device = target.device.text();
    for (std::string const* value : std::initializer_list<std::string const*> { &device, &target.fs_type, &target.mount_options, &target.directory }) {
        if (value->find('\n') != std::string::npos)
            return Error::invalid(cat("the dump target's '", *value, "' has a newline in it; the capture kernel could not read it back"));
    }
    std::string text = cat("kind ", filesystem ? "filesystem" : "raw", "\ndevice ", device, "\n");
    if (filesystem)
        text += cat("fs_type ", target.fs_type, "\nmount_options ", target.mount_options, "\ndirectory ", target.directory, "\n");
    text += cat("lvm ", target.lvm ? "yes" : "no", "\n");
    return text;
}

Result<ResolvedTarget> parse_resolved_target(std::string_view text, std::string_view what)
{
    constexpr std::array keys { "kind", "device", "fs_type", "mount_options", "directory", "lvm" };
    std::array<bool, keys.size()> seen {};
    ResolvedTarget target;
    size_t number = 0;
    for (auto line : split(text, '\n')) {
        ++number;
        if (line.empty())
            continue;
        auto where = cat(what, ":", number);
        auto space = line.find(' ');
        if (space == std::string_view::npos)
            return Error::invalid(cat(where, ": '", line, "' is not 'KEY VALUE'; ", rebuild));
        std::string_view key = line.substr(0, space);
        std::string_view value = line.substr(space + 1);
        auto index = std::find(keys.begin(), keys.end(), key) - keys.begin();
        if (index == static_cast<ptrdiff_t>(keys.size()))
            return Error::invalid(cat(where, ": unknown key '", key, "'; ", rebuild));
        if (seen[index])
            return Error::invalid(cat(where, ": '", key, "' appears twice; ", rebuild));
        seen[index] = true;
        if (key == "kind") {
            if (value == "filesystem")
                target.kind = ResolvedTarget::Kind::FileSystem;
            else if (value == "raw")
                target.kind = ResolvedTarget::Kind::Raw;
            else
                return Error::invalid(cat(where, ": kind '", value, "' is neither filesystem nor raw; ", rebuild));
        } else if (key == "device") {
            target.device = TRY(DeviceSpec::parse(value).context(where));
        } else if (key == "fs_type") {
            target.fs_type = std::string(value);
        } else if (key == "mount_options") {
            target.mount_options = std::string(value);
        } else if (key == "directory") {
            if (!value.starts_with('/'))
                return Error::invalid(cat(where, ": directory '", value, "' is not absolute; ", rebuild));
            target.directory = std::string(value);
        } else if (key == "lvm") {
            if (value != "yes" && value != "no")
                return Error::invalid(cat(where, ": lvm '", value, "' is neither yes nor no; ", rebuild));
            target.lvm = value == "yes";
        }
    }
    bool filesystem = target.kind == ResolvedTarget::Kind::FileSystem;
    for (size_t i = 0; i < keys.size(); ++i) {
        bool needed = std::string_view(keys[i]) == "kind" || std::string_view(keys[i]) == "device" || std::string_view(keys[i]) == "lvm" || filesystem;
        if (needed && !seen[i])
            return Error::invalid(cat(what, ": '", keys[i], "' is missing; ", rebuild));
        if (!needed && seen[i])
            return Error::invalid(cat(what, ": '", keys[i], "' does not belong to a raw target; ", rebuild));
    }
    if (filesystem && target.fs_type.empty())
        return Error::invalid(cat(what, ": fs_type is empty; ", rebuild));
    return target;
}

} // namespace core
