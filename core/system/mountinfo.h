// SPDX-License-Identifier: GPL-2.0-or-later
// The host's mount table as /proc/self/mountinfo gives it, and "the mount
// holding PATH" as `findmnt --target PATH` answers it. `kdump start` uses
// this to find the default dump target (the file system holding kdump.conf's
// `path`) as kdump-utils does, including the directory inside that file
// system: a separate /var/crash means the top of its own file system, a
// bind mount's root counts, and a btrfs subvolume is mounted as such.
#pragma once

#include "core/base/error.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// One line of mountinfo (proc(5)), with the octal escapes (\040 ...)
// decoded.
struct MountEntry {
    unsigned mount_id { 0 };
    unsigned parent_id { 0 };
    unsigned major { 0 };
    unsigned minor { 0 };
    std::string root;        // the directory of the file system mounted here
    std::string mount_point;
    std::string mount_options;             // per mount: "rw,relatime"
    std::vector<std::string> optional_fields; // "shared:1", ...
    std::string fs_type;
    std::string source; // "/dev/vda1", "host:/export", "none"
    std::string super_options; // per file system: "rw,subvolid=256,subvol=/root"
    bool operator==(MountEntry const&) const = default;
};

// The most lines parse_mountinfo takes (a container host may have
// thousands of mounts; more is not a mount table).
constexpr size_t max_mountinfo_lines = 100000;

// Strict: every line has the fields proc(5) lists, the optional fields end
// at "-", numbers are numbers, an escape is a backslash and three octal
// digits. Errors name `what` and the line.
Result<std::vector<MountEntry>> parse_mountinfo(std::string_view text, std::string_view what);

// The value of key in a comma-separated option list ("subvol" in
// "rw,subvolid=256,subvol=/root" is "/root"); nullopt when it is absent.
std::optional<std::string> mount_option_value(std::string_view options, std::string_view key);

struct MountHolding {
    MountEntry mount;
    // Where `path` is inside the file system, as an absolute path: the
    // mount's root plus the part of path below the mount point. For btrfs,
    // inside `subvolume`, which the capture mounts with subvol=.
    std::string directory;
    std::string subvolume; // btrfs: subvol= of the super options; else ""
    std::string looked_up; // the absolute path looked up (links resolved)
};

// The mount holding an absolute path with no links and no "." or "..":
// the longest mount point that is path or one of its parents; of several
// mounts on that mount point, the last (it covers the others). ENOENT when
// none holds it (not a mount table of this machine).
Result<MountHolding> mount_holding_resolved(std::vector<MountEntry> const& mounts, std::string const& resolved_path);

// The absolute path `path` names, links resolved: realpath(3) of its
// nearest existing ancestor, plus the components below that which do not
// exist yet (a ".." among those is an error; "." and empty ones go).
Result<std::string> resolve_path_through_ancestors(std::string const& path);

// findmnt --target: resolve_path_through_ancestors, then
// mount_holding_resolved over the mountinfo at mountinfo_path.
Result<MountHolding> find_mount_holding(std::string const& mountinfo_path, std::string const& path);

} // namespace core
