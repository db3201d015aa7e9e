// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/mountinfo.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"

#include <cerrno>
#include <climits>

namespace core {

namespace {

// The kernel escapes ' ', '\t', '\n' and '\\' in paths as \ooo (octal).
Result<std::string> unescape_field(std::string_view field, std::string_view where)
{
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\\') {
            out.push_back(field[i]);
            continue;
        }
        auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
        if (i + 3 >= field.size())
            return Error::invalid(cat(where, ": '", field, "' ends in a broken escape; a backslash takes three octal digits (\\040)"));
        if (!is_octal(field[i + 1]) || !is_octal(field[i + 2]) || !is_octal(field[i + 3]))
            return Error::invalid(cat(where, ": '", field, "' has a backslash without three octal digits after it"));
        unsigned value = unsigned(field[i + 1] - '0') * 64 + unsigned(field[i + 2] - '0') * 8 + unsigned(field[i + 3] - '0');
        if (value > 255)
            return Error::invalid(cat(where, ": '", field, "' has an escape beyond one byte"));
        out.push_back(static_cast<char>(value));
        i += 3;
    }
    return out;
}

Result<unsigned> parse_unsigned(std::string_view text, std::string_view what)
{
    uint64_t value = TRY(parse_u64(text, what));
    if (value > UINT_MAX)
        return Error::invalid(cat(what, ": '", text, "' is out of range"));
    return static_cast<unsigned>(value);
}

Result<MountEntry> parse_mountinfo_line(std::string_view line, std::string const& where)
{
    std::vector<std::string_view> fields;
    for (auto field : split(line, ' ')) {
        if (field.empty())
            return Error::invalid(cat(where, ": two spaces in a row; mountinfo separates fields by one"));
        fields.push_back(field);
    }
    // id parent major:minor root mount_point options [optional...] - type source super
    size_t separator = 6;
    while (separator < fields.size() && fields[separator] != "-")
        ++separator;
    if (fields.size() < 6 || separator == fields.size())
        return Error::invalid(cat(where, ": no '-' after the optional fields; not a mountinfo line"));
    if (fields.size() != separator + 4)
        return Error::invalid(cat(where, ": ", fields.size() - separator - 1, " fields after '-' where mountinfo has 3 (type, source, super options)"));
    MountEntry entry;
    entry.mount_id = TRY(parse_unsigned(fields[0], cat(where, ": mount ID")));
    entry.parent_id = TRY(parse_unsigned(fields[1], cat(where, ": parent ID")));
    auto colon = fields[2].find(':');
    if (colon == std::string_view::npos)
        return Error::invalid(cat(where, ": '", fields[2], "' is not MAJOR:MINOR"));
    entry.major = TRY(parse_unsigned(fields[2].substr(0, colon), cat(where, ": major")));
    entry.minor = TRY(parse_unsigned(fields[2].substr(colon + 1), cat(where, ": minor")));
    entry.root = TRY(unescape_field(fields[3], where));
    entry.mount_point = TRY(unescape_field(fields[4], where));
    if (!entry.root.starts_with('/') || !entry.mount_point.starts_with('/'))
        return Error::invalid(cat(where, ": the root and the mount point must be absolute paths"));
    entry.mount_options = TRY(unescape_field(fields[5], where));
    for (size_t i = 6; i < separator; ++i)
        entry.optional_fields.push_back(TRY(unescape_field(fields[i], where)));
    entry.fs_type = TRY(unescape_field(fields[separator + 1], where));
    entry.source = TRY(unescape_field(fields[separator + 2], where));
    entry.super_options = TRY(unescape_field(fields[separator + 3], where));
    return entry;
}

// Whether `prefix` is `path` or one of its parent directories.
bool is_path_prefix(std::string_view prefix, std::string_view path)
{
    if (prefix == "/")
        return true;
    return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

// "/a" + "b/c" with one slash between; "/" + "" is "/".
std::string join_absolute(std::string_view base, std::string_view rest)
{
    std::string out(base);
    while (rest.starts_with('/'))
        rest.remove_prefix(1);
    if (rest.empty())
        return out.empty() ? std::string("/") : out;
    if (out.empty() || out.back() != '/')
        out.push_back('/');
    out.append(rest);
    return out;
}

} // namespace

Result<std::vector<MountEntry>> parse_mountinfo(std::string_view text, std::string_view what)
{
    std::vector<MountEntry> mounts;
    size_t number = 0;
    for (auto line : split(text, '\n')) {
        ++number;
        if (line.empty())
            continue;
        if (mounts.size() == max_mountinfo_lines)
            return Error::invalid(cat(what, ": more than ", max_mountinfo_lines, " mounts; not a mount table"));
        mounts.push_back(TRY(parse_mountinfo_line(line, cat(what, ":", number))));
    }
    return mounts;
}

std::optional<std::string> mount_option_value(std::string_view options, std::string_view key)
{
    std::optional<std::string> value;
    for (auto word : split(options, ',')) {
        if (word.size() > key.size() && word.starts_with(key) && word[key.size()] == '=')
            value = std::string(word.substr(key.size() + 1));
    }
    return value;
}

Result<MountHolding> mount_holding_resolved(std::vector<MountEntry> const& mounts, std::string const& resolved_path)
{
    MountEntry const* best = nullptr;
    for (auto const& mount : mounts) {
        if (!is_path_prefix(mount.mount_point, resolved_path))
            continue;
        // Equal length: the same mount point, and the later mount covers
        // the earlier one.
        if (!best || mount.mount_point.size() >= best->mount_point.size())
            best = &mount;
    }
    if (!best)
        return Error::with_code(ENOENT, cat("no mount holds ", resolved_path, " (not even /); is this the machine's mountinfo?"));
    MountHolding holding;
    holding.mount = *best;
    holding.looked_up = resolved_path;
    std::string_view below = std::string_view(resolved_path).substr(best->mount_point == "/" ? 0 : best->mount_point.size());
    std::string root = best->root;
    if (best->fs_type == "btrfs") {
        // btrfs shows the subvolume's path in root (plus any bind mount's
        // directory below it); the capture mounts the subvolume, so the
        // directory is relative to it.
        auto subvolume = mount_option_value(best->super_options, "subvol");
        if (subvolume && !subvolume->empty() && is_path_prefix(*subvolume, root)) {
            holding.subvolume = *subvolume;
            root = *subvolume == "/" ? root : root.substr(subvolume->size());
        }
    }
    holding.directory = join_absolute(root, below);
    return holding;
}

Result<std::string> resolve_path_through_ancestors(std::string const& path)
{
    if (!path.starts_with('/'))
        return Error::invalid(cat("path '", path, "' is not absolute"));
    std::string existing = path;
    std::vector<std::string_view> missing; // innermost last
    std::string_view rest = path;
    while (true) {
        auto resolved = real_path(existing);
        if (resolved.ok()) {
            std::string out = resolved.value();
            for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
                if (it->empty() || *it == ".")
                    continue;
                if (*it == "..")
                    return Error::invalid(cat("path '", path, "' has '..' below ", existing, ", which does not exist; write the path without it"));
                out = join_absolute(out, *it);
            }
            return out;
        }
        if (resolved.error().errno_code() != ENOENT)
            return std::move(resolved).error();
        auto slash = rest.rfind('/');
        if (slash == std::string_view::npos || rest == "/")
            return std::move(resolved).error();
        missing.push_back(rest.substr(slash + 1));
        rest = rest.substr(0, slash);
        existing = rest.empty() ? std::string("/") : std::string(rest);
        if (rest.empty())
            rest = "/";
    }
}

Result<MountHolding> find_mount_holding(std::string const& mountinfo_path, std::string const& path)
{
    auto text = TRY(read_text_file(mountinfo_path, 64 << 20));
    auto mounts = TRY(parse_mountinfo(text, mountinfo_path));
    std::string resolved = TRY(resolve_path_through_ancestors(path));
    return mount_holding_resolved(mounts, resolved).context(mountinfo_path);
}

} // namespace core
