// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/config/kdump_conf.h"

#include "core/base/fd.h"
#include "core/config/cmdline.h"
#include "core/base/strings.h"

#include <algorithm>
#include <array>
#include <cerrno>

namespace core {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

Error line_error(std::string_view file, unsigned line, std::string_view message)
{
    return Error::invalid(cat(file, ":", line, ": ", message));
}

std::string line_text(std::string_view file, unsigned line, std::string_view message)
{
    return cat(file, ":", line, ": ", message);
}

// Text lines with their 1-based numbers; a '\r' before the '\n' is dropped.
template<typename Visit>
Result<void> for_each_line(std::string_view text, Visit&& visit)
{
    unsigned number = 0;
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view {} : text.substr(end + 1);
        ++number;
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        TRY(visit(number, line));
    }
    return {};
}

size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({ row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1) });
            diagonal = above;
        }
    }
    return row[b.size()];
}

// ---- kdump.conf lines ----

// kdump-utils cuts each line at its first '#'. Here a '#' inside double
// quotes (or after a backslash) is kept, so a quoted value may contain one;
// a line whose double quotes do not pair up is cut at its first '#', as
// kdump-utils would (the directive's own checks then see the stray quote).
std::string_view strip_conf_comment(std::string_view line)
{
    bool quoted = false;
    size_t comment = std::string_view::npos;
    for (size_t at = 0; at < line.size(); ++at) {
        char c = line[at];
        if (c == '\\') {
            ++at;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == '#' && !quoted) {
            comment = at;
            break;
        }
    }
    if (quoted)
        comment = line.find('#');
    return line.substr(0, comment);
}

// One pair of enclosing double quotes: `"a b"` -> `a b`, but `"a" "b"`
// stays (its first quote closes before the end).
std::string_view strip_enclosing_quotes(std::string_view value)
{
    if (value.size() >= 2 && value.front() == '"') {
        size_t close = 1;
        while (close < value.size() && value[close] != '"') {
            if (value[close] == '\\')
                ++close;
            ++close;
        }
        if (close == value.size() - 1)
            return value.substr(1, value.size() - 2);
    }
    return value;
}

constexpr std::array target_fs_types { "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "minix", "virtiofs" };

constexpr std::array known_directives {
    "path", "core_collector", "raw", "nfs", "ssh", "sshkey", "ssh_port", "kdump_pre", "kdump_post", "extra_bins",
    "extra_modules", "failure_action", "default", "final_action", "disk_timeout", "force_rebuild",
    "force_no_rebuild", "auto_reset_crashkernel", "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "minix",
    "virtiofs",
};

struct Refused {
    std::string_view key;
    std::string_view message;
};

// kdumpctl's deprecated keys (and nfs4, older still), plus what kdumpbox
// cannot do. Each names what to write instead.
constexpr std::array refused_directives {
    Refused { "net", "'net' is deprecated; write `nfs HOST:/EXPORT` or `ssh USER@HOST` instead" },
    Refused { "nfs4", "'nfs4' is deprecated; write `nfs HOST:/EXPORT` instead" },
    Refused { "options", "'options' is deprecated; module options go on the capture kernel's command line: add MODULE.PARAM=VALUE to KDUMP_COMMANDLINE_APPEND in the settings file" },
    Refused { "blacklist", "'blacklist' is deprecated; add module_blacklist=MODULE[,MODULE...] to KDUMP_COMMANDLINE_APPEND in the settings file" },
    Refused { "link_delay", "'link_delay' is deprecated; remove it (the capture side waits for the network link itself)" },
    Refused { "debug_mem_level", "'debug_mem_level' is deprecated; remove it (it has no replacement)" },
    Refused { "dracut_args", "'dracut_args' is not supported: kdumpbox builds its initramfs without dracut; write a --mount as a target line (e.g. `xfs UUID=...`), drivers as extra_modules, files as extra_bins" },
    Refused { "fence_kdump_args", "'fence_kdump_args' is not supported by kdumpbox; remove it, and keep the cluster from fencing this node while it dumps (e.g. a longer fencing delay)" },
    Refused { "fence_kdump_nodes", "'fence_kdump_nodes' is not supported by kdumpbox; remove it, and keep the cluster from fencing this node while it dumps (e.g. a longer fencing delay)" },
};

struct ActionName {
    std::string_view name;
    FailureAction action;
};
constexpr std::array failure_action_names {
    ActionName { "reboot", FailureAction::Reboot },
    ActionName { "halt", FailureAction::Halt },
    ActionName { "poweroff", FailureAction::Poweroff },
    ActionName { "shell", FailureAction::Shell },
    ActionName { "dump_to_rootfs", FailureAction::DumpToRootfs },
};

struct ParseState {
    std::string_view file;
    KdumpConfig config;
    // The line each directive was first seen on; the dump target and the
    // failure action share a slot each.
    std::vector<std::pair<std::string, unsigned>> seen;
    unsigned failure_action_line { 0 };
    std::string failure_action_key;
    unsigned force_rebuild_line { 0 };
    unsigned force_no_rebuild_line { 0 };

    unsigned seen_line(std::string_view key) const
    {
        for (auto const& [name, line] : seen) {
            if (name == key)
                return line;
        }
        return 0;
    }
};

Result<std::string> parse_absolute_path(std::string_view key, std::string_view value, std::string_view file, unsigned line, std::string_view example)
{
    if (!value.starts_with('/'))
        return line_error(file, line, cat(key, ": '", value, "' is not an absolute path; write the full path, e.g. `", key, " ", example, "`"));
    return std::string(value);
}

bool is_uuid_shape(std::string_view text, std::initializer_list<size_t> group_lengths)
{
    size_t at = 0;
    bool first = true;
    for (size_t length : group_lengths) {
        if (!first) {
            if (at >= text.size() || text[at] != '-')
                return false;
            ++at;
        }
        first = false;
        for (size_t i = 0; i < length; ++i, ++at) {
            if (at >= text.size() || !is_hex(text[at]))
                return false;
        }
    }
    return at == text.size();
}

// The longest label each file system stores, in bytes.
size_t label_limit(std::string_view fs_type)
{
    if (fs_type == "xfs")
        return 12;
    if (fs_type == "vfat")
        return 11;
    if (fs_type == "btrfs")
        return 255;
    return 16; // ext2, ext3, ext4
}

Result<DeviceSpec> parse_device(std::string_view key, std::string_view value, std::string_view file, unsigned line)
{
    DeviceSpec device;
    if (key == "virtiofs") {
        if (value.find('=') != std::string_view::npos || value.starts_with('/'))
            return line_error(file, line, cat("virtiofs: '", value, "' is not a virtiofs tag; write the tag the host gave the device, e.g. `virtiofs myfs`"));
        device.value = std::string(value);
        return device;
    }
    auto split = DeviceSpec::split(value);
    if (!split)
        return line_error(file, line, cat(key, ": '", value, "' is not a device; write a /dev path, UUID=..., LABEL=... (`blkid` lists them)"));
    device = std::move(*split);
    if (device.kind == DeviceSpec::Kind::Path)
        return device;
    std::string_view name = device.value;
    std::string_view tag_name = device.tag_name();
    if (name.empty())
        return line_error(file, line, cat(key, ": ", tag_name, "= has no value; write the device's ", tag_name, " as `blkid` shows it"));
    bool raw = key == "raw";
    if (raw && (device.kind == DeviceSpec::Kind::Uuid || device.kind == DeviceSpec::Kind::Label))
        return line_error(file, line, cat("raw: a raw partition has no file system, so no ", tag_name, "; write its /dev path"));
    if (key == "minix" && (device.kind == DeviceSpec::Kind::Uuid || device.kind == DeviceSpec::Kind::Label))
        return line_error(file, line, cat("minix: minix file systems have no ", tag_name, "; write the /dev path"));
    switch (device.kind) {
    case DeviceSpec::Kind::Uuid:
        if (key == "vfat") {
            if (!is_uuid_shape(name, { 4, 4 }))
                return line_error(file, line, cat("vfat: UUID=", name, " is not a vfat volume ID; it looks like UUID=1234-ABCD (`blkid DEVICE` shows it)"));
        } else if (!is_uuid_shape(name, { 8, 4, 4, 4, 12 })) {
            return line_error(file, line, cat(key, ": UUID=", name, " is not a file system UUID; it looks like UUID=01234567-89ab-cdef-0123-456789abcdef (`blkid DEVICE` shows it)"));
        }
        break;
    case DeviceSpec::Kind::PartUuid:
        if (!is_uuid_shape(name, { 8, 4, 4, 4, 12 }) && !is_uuid_shape(name, { 8, 2 }))
            return line_error(file, line, cat(key, ": PARTUUID=", name, " is not a partition UUID; it looks like PARTUUID=01234567-89ab-cdef-0123-456789abcdef (GPT) or PARTUUID=0123abcd-01 (MBR)"));
        break;
    case DeviceSpec::Kind::Label:
        if (name.size() > label_limit(key))
            return line_error(file, line, cat(key, ": LABEL=", name, " is ", name.size(), " bytes, and ", key, " labels are at most ", label_limit(key), "; write the label `blkid DEVICE` shows"));
        break;
    case DeviceSpec::Kind::PartLabel:
    case DeviceSpec::Kind::Path:
        break;
    }
    return device;
}

// The host and export of an `nfs` line's value; errors without the FILE:LINE
// prefix, which parse_nfs adds.
Result<void> parse_nfs_value(std::string_view value, DumpTarget& target)
{
    constexpr std::string_view how = "write `nfs HOST:/EXPORT`, with IPv6 addresses in brackets: `nfs [fd00::1]:/export`";
    std::string_view host;
    std::string_view rest;
    if (value.starts_with('[')) {
        size_t close = value.find(']');
        if (close == std::string_view::npos)
            return Error::invalid(cat("nfs: '", value, "' has no closing ']'; ", how));
        host = value.substr(1, close - 1);
        rest = value.substr(close + 1);
        if (!rest.starts_with(':'))
            return Error::invalid(cat("nfs: '", value, "' has no ':' after the address; ", how));
    } else {
        size_t colon = value.find(':');
        if (colon == std::string_view::npos)
            return Error::invalid(cat("nfs: '", value, "' names no exported directory; ", how));
        host = value.substr(0, colon);
        rest = value.substr(colon);
        if (!rest.starts_with(":/") && rest.find(":/") != std::string_view::npos)
            return Error::invalid(cat("nfs: '", value, "' looks like an IPv6 address without brackets; ", how));
    }
    std::string_view exported = rest.substr(1);
    if (host.empty())
        return Error::invalid(cat("nfs: '", value, "' names no server; ", how));
    if (!exported.starts_with('/'))
        return Error::invalid(cat("nfs: the export in '", value, "' is not an absolute path; ", how));
    target.host = std::string(host);
    target.nfs_export = std::string(exported);
    return {};
}

Result<void> parse_nfs(std::string_view value, DumpTarget& target, std::string_view file, unsigned line)
{
    return parse_nfs_value(value, target).context(cat(file, ":", line));
}

Result<void> parse_ssh(std::string_view value, DumpTarget& target, std::string_view file, unsigned line)
{
    size_t at = value.find('@');
    if (at == std::string_view::npos)
        return line_error(file, line, cat("ssh: '", value, "' has no user; write `ssh USER@HOST`, e.g. `ssh root@", value, "`"));
    std::string_view user = value.substr(0, at);
    std::string_view host = value.substr(at + 1);
    if (user.empty() || host.empty())
        return line_error(file, line, cat("ssh: '", value, "' needs both a user and a host; write `ssh USER@HOST`"));
    if (host.find_first_of("@/ \t") != std::string_view::npos)
        return line_error(file, line, cat("ssh: '", host, "' is not a host name or address; write `ssh USER@HOST` (the directory goes in `path`)"));
    if (host.starts_with('[') != host.ends_with(']'))
        return line_error(file, line, cat("ssh: '", host, "' has unbalanced brackets; write IPv6 addresses as `ssh USER@[fd00::1]`"));
    target.ssh_user = std::string(user);
    target.host = std::string(host);
    return {};
}

// `path` as every user of it wants it: "//" and "/./" collapsed, no
// trailing '/', and no ".." (the dumper refuses to climb out of the
// target, so such a path would pass `kdump show` and fail every capture).
Result<std::string> normalise_dump_path(std::string_view value, std::string_view file, unsigned line)
{
    std::string normalised = value.starts_with('/') ? "/" : "";
    for (auto component : split(value, '/')) {
        if (component.empty() || component == ".")
            continue;
        if (component == "..")
            return line_error(file, line, cat("path: '", value, "' contains '..'; write the directory without it, e.g. `path /var/crash` (the dump never leaves its target file system)"));
        if (!normalised.empty() && !normalised.ends_with('/'))
            normalised += '/';
        normalised += component;
    }
    // "." (an ssh target's login directory) stays itself.
    return normalised.empty() ? std::string(".") : normalised;
}

Result<bool> parse_zero_one(std::string_view key, std::string_view value, std::string_view file, unsigned line)
{
    if (value == "0")
        return false;
    if (value == "1")
        return true;
    return line_error(file, line, cat(key, ": '", value, "' is not allowed; the allowed values are 0 and 1"));
}

Result<void> parse_conf_line(ParseState& state, unsigned line, std::string_view key, std::string_view value)
{
    std::string_view file = state.file;
    KdumpConfig& config = state.config;

    for (auto const& refused : refused_directives) {
        if (key == refused.key)
            return line_error(file, line, refused.message);
    }
    if (std::find(known_directives.begin(), known_directives.end(), key) == known_directives.end()) {
        std::string_view closest;
        size_t best = 3;
        for (std::string_view known : known_directives) {
            size_t distance = edit_distance(key, known);
            if (distance < best) {
                best = distance;
                closest = known;
            }
        }
        if (!closest.empty())
            return line_error(file, line, cat("unknown directive '", key, "'; did you mean '", closest, "'?"));
        return line_error(file, line, cat("unknown directive '", key, "'; remove it (the directives are listed in kdump.conf and conf/README.md)"));
    }
    if (value.empty())
        return line_error(file, line, cat("'", key, "' has no value; write `", key, " VALUE`, or remove the line"));

    bool is_target = key == "raw" || key == "nfs" || key == "ssh" || is_target_fs_type(key);
    bool is_failure_action = key == "failure_action" || key == "default";
    if (is_target) {
        if (config.target.kind != TargetKind::None)
            return line_error(file, line, cat("a second dump target '", key, "' (line ", config.target.line, " has '", config.target.directive(), "'); keep only one target line"));
    } else if (is_failure_action) {
        if (state.failure_action_line != 0) {
            if (state.failure_action_key == key)
                return line_error(file, line, cat("duplicate '", key, "' (first on line ", state.failure_action_line, "); keep only one"));
            return line_error(file, line, cat("both 'default' and 'failure_action' (lines ", state.failure_action_line, " and ", line, "); 'default' is the old name of failure_action: keep only the failure_action line"));
        }
    } else if (unsigned first = state.seen_line(key); first != 0) {
        return line_error(file, line, cat("duplicate '", key, "' (first on line ", first, "); keep only one"));
    }
    state.seen.emplace_back(std::string(key), line);

    if (is_target) {
        DumpTarget target;
        target.line = line;
        if (key == "nfs") {
            target.kind = TargetKind::Nfs;
            TRY(parse_nfs(value, target, file, line));
        } else if (key == "ssh") {
            target.kind = TargetKind::Ssh;
            TRY(parse_ssh(value, target, file, line));
        } else {
            target.kind = key == "raw" ? TargetKind::Raw : TargetKind::Filesystem;
            if (target.kind == TargetKind::Filesystem)
                target.fs_type = std::string(key);
            target.device = TRY(parse_device(key, value, file, line));
        }
        config.target = std::move(target);
    } else if (is_failure_action) {
        auto found = std::find_if(failure_action_names.begin(), failure_action_names.end(), [&](ActionName const& a) { return a.name == value; });
        if (found == failure_action_names.end()) {
            std::string_view hint = value == "mount_root_run_init" ? " (mount_root_run_init is now dump_to_rootfs)" : "";
            return line_error(file, line, cat(key, ": '", value, "' is not allowed; the allowed values are reboot, halt, poweroff, shell and dump_to_rootfs", hint));
        }
        config.failure_action = found->action;
        state.failure_action_line = line;
        state.failure_action_key = std::string(key);
        if (key == "default")
            config.warnings.push_back(line_text(file, line, cat("'default' is the old name of failure_action; write `failure_action ", value, "` instead")));
    } else if (key == "path") {
        config.path = TRY(normalise_dump_path(value, file, line));
    } else if (key == "core_collector") {
        auto words = split_command_words(value);
        if (!words.ok())
            return line_error(file, line, cat("core_collector: ", words.error().message(), "; close the quote"));
        if (words.value().empty())
            return line_error(file, line, "core_collector: no program given; write the command, e.g. `core_collector makedumpfile -l --message-level 7 -d 31`, or remove the line for the built-in collector");
        config.core_collector = CoreCollector { std::string(value), std::move(words).release_value(), line };
    } else if (key == "sshkey") {
        config.sshkey = TRY(parse_absolute_path(key, value, file, line, default_sshkey));
    } else if (key == "kdump_pre") {
        config.kdump_pre = TRY(parse_absolute_path(key, value, file, line, "/usr/local/sbin/kdump-pre.sh"));
    } else if (key == "kdump_post") {
        config.kdump_post = TRY(parse_absolute_path(key, value, file, line, "/usr/local/sbin/kdump-post.sh"));
    } else if (key == "extra_bins") {
        auto words = split_command_words(value);
        if (!words.ok())
            return line_error(file, line, cat("extra_bins: ", words.error().message(), "; close the quote"));
        config.extra_bins = std::move(words).release_value();
    } else if (key == "extra_modules") {
        for (auto word : split_cmdline(value)) {
            if (word.ends_with(".ko") || word.find(".ko.") != std::string_view::npos || word.find('/') != std::string_view::npos) {
                std::string_view name = word.substr(word.rfind('/') + 1);
                name = name.substr(0, name.find(".ko"));
                return line_error(file, line, cat("extra_modules: '", word, "' is not a module name; write the name without path or .ko suffix, e.g. '", name, "'"));
            }
            config.extra_modules.emplace_back(word);
        }
    } else if (key == "final_action") {
        // kdump-utils' three words only (power_action_from_name also
        // takes "power-off", the command's alias).
        if (auto action = power_action_from_name(value); action && value != "power-off") {
            config.final_action = *action;
        } else {
            std::string hint = value == "shell" || value == "dump_to_rootfs" ? cat(" (", value, " is a failure_action value, not a final_action one)") : std::string();
            return line_error(file, line, cat("final_action: '", value, "' is not allowed; the allowed values are reboot, halt and poweroff", hint));
        }
    } else if (key == "ssh_port") {
        auto port = parse_u64(value, "port");
        if (!port.ok() || *port == 0 || *port > 65535)
            return line_error(file, line, cat("ssh_port: '", value, "' is not a TCP port; write a number from 1 to 65535, e.g. `ssh_port 22`"));
        config.ssh_port = static_cast<uint16_t>(*port);
    } else if (key == "disk_timeout") {
        auto seconds = parse_u64(value, "seconds");
        if (!seconds.ok() || *seconds > 86400)
            return line_error(file, line, cat("disk_timeout: '", value, "' is not a number of seconds; write a whole number from 0 to 86400, e.g. `disk_timeout 180`"));
        config.disk_timeout_seconds = static_cast<unsigned>(*seconds);
    } else if (key == "force_rebuild") {
        config.force_rebuild = TRY(parse_zero_one(key, value, file, line));
        state.force_rebuild_line = line;
    } else if (key == "force_no_rebuild") {
        config.force_no_rebuild = TRY(parse_zero_one(key, value, file, line));
        state.force_no_rebuild_line = line;
    } else if (key == "auto_reset_crashkernel") {
        config.warnings.push_back(line_text(file, line, "'auto_reset_crashkernel' is ignored: kdumpbox never changes the crashkernel= reservation; remove the line"));
    }
    return {};
}

// Whether a value must be quoted to read back the same: a '#' that would
// start a comment, or enclosing quotes that would be stripped.
bool needs_conf_quotes(std::string_view value)
{
    return strip_conf_comment(value).size() != value.size() || strip_enclosing_quotes(value).size() != value.size();
}

std::string conf_value(std::string_view value)
{
    if (!needs_conf_quotes(value))
        return std::string(value);
    return cat("\"", value, "\"");
}

// A word split_command_words reads back as itself.
std::string quote_word(std::string_view word)
{
    bool plain = !word.empty() && word.find_first_of(" \t'\"\\#") == std::string_view::npos;
    if (plain)
        return std::string(word);
    std::string out = "\"";
    for (char c : word) {
        if (c == '"' || c == '\\')
            out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

} // namespace

std::string join_command_words(std::vector<std::string> const& words)
{
    std::vector<std::string> quoted;
    for (auto const& word : words)
        quoted.push_back(quote_word(word));
    return join(quoted, " ");
}

namespace {

// ---- Settings lines ----

struct SettingsState {
    std::string_view file;
    KdumpSettings settings;
    std::vector<std::pair<std::string, unsigned>> seen;
};

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

// The value after KEY=, as the shell would assign it, refusing anything the
// shell would expand or run.
Result<std::string> parse_settings_value(std::string_view text, std::string_view key, std::string_view file, unsigned line)
{
    constexpr std::string_view no_shell = "kdumpbox reads this file without a shell: write the value literally (in single quotes, '$' and '`' are plain characters)";
    std::string value;
    size_t at = 0;
    while (at < text.size() && !is_blank(text[at])) {
        char c = text[at];
        if (c == '\'') {
            size_t close = text.find('\'', at + 1);
            if (close == std::string_view::npos)
                return line_error(file, line, cat(key, ": unterminated single quote; close it on the same line"));
            value.append(text.substr(at + 1, close - at - 1));
            at = close + 1;
        } else if (c == '"') {
            ++at;
            while (true) {
                if (at >= text.size())
                    return line_error(file, line, cat(key, ": unterminated double quote; close it on the same line"));
                char inner = text[at];
                if (inner == '"')
                    break;
                if (inner == '$' || inner == '`')
                    return line_error(file, line, cat(key, ": '", inner, "' would be expanded by a shell; ", no_shell));
                if (inner == '\\' && at + 1 < text.size() && std::string_view("\"\\$`").find(text[at + 1]) != std::string_view::npos)
                    ++at;
                value.push_back(text[at]);
                ++at;
            }
            ++at;
        } else if (c == '$' || c == '`') {
            return line_error(file, line, cat(key, ": '", c, "' would be expanded by a shell; ", no_shell));
        } else if (std::string_view(";&|<>()").find(c) != std::string_view::npos) {
            return line_error(file, line, cat(key, ": '", c, "' is shell syntax; ", no_shell));
        } else if (c == '\\') {
            if (at + 1 >= text.size())
                return line_error(file, line, cat(key, ": a line continuation ('\\' at the end); write the value on one line"));
            value.push_back(text[at + 1]);
            at += 2;
        } else {
            value.push_back(c);
            ++at;
        }
    }
    std::string_view rest = trim(text.substr(at));
    if (!rest.empty() && !rest.starts_with('#'))
        return line_error(file, line, cat(key, ": unquoted blank in the value (a shell would run '", rest, "' as a command); put the whole value in double quotes"));
    return value;
}

Result<std::string> settings_absolute_path(std::string_view key, std::string value, std::string_view file, unsigned line)
{
    if (!value.empty() && !value.starts_with('/'))
        return line_error(file, line, cat(key, ": '", value, "' is not an absolute path; write the full path, or remove the line for the default"));
    return value;
}

Result<void> parse_settings_line(SettingsState& state, unsigned line, std::string_view text)
{
    std::string_view file = state.file;
    KdumpSettings& settings = state.settings;
    text = trim(text);
    if (text.empty() || text.starts_with('#'))
        return {};
    if (text.starts_with("export") && text.size() > 6 && is_blank(text[6]))
        text = trim(text.substr(6));
    size_t name_end = 0;
    while (name_end < text.size() && is_name_char(text[name_end]))
        ++name_end;
    if (name_end == 0 || !is_name_start(text[0]) || name_end == text.size() || text[name_end] != '=') {
        if (name_end > 0 && is_name_start(text[0]) && name_end < text.size() && is_blank(text[name_end]) && trim(text.substr(name_end)).starts_with('='))
            return line_error(file, line, cat("blank before '=' after ", text.substr(0, name_end), "; write KEY=\"value\" with no blanks around '='"));
        return line_error(file, line, cat("'", text, "' is not a KEY=\"value\" line; write one setting per line as KEY=\"value\""));
    }
    std::string_view key = text.substr(0, name_end);
    std::string value = TRY(parse_settings_value(text.substr(name_end + 1), key, file, line));

    auto previous = std::find_if(state.seen.begin(), state.seen.end(), [&](auto const& entry) { return entry.first == key; });
    if (previous != state.seen.end()) {
        settings.warnings.push_back(line_text(file, line, cat(key, " is set again (first on line ", previous->second, "); this later value wins, as in a shell: remove one of them")));
        previous->second = line;
    } else {
        state.seen.emplace_back(std::string(key), line);
    }

    auto no_slash = [&](std::string_view what) -> Result<void> {
        if (value.find('/') != std::string::npos)
            return line_error(file, line, cat(key, ": '", value, "' contains '/'; write ", what, " only"));
        return {};
    };
    if (key == "KDUMP_KERNELVER") {
        TRY(no_slash("a kernel release such as 6.1.0-18-amd64 (uname -r)"));
        settings.kernel_version = std::move(value);
    } else if (key == "KDUMP_COMMANDLINE") {
        settings.commandline = std::move(value);
    } else if (key == "KDUMP_COMMANDLINE_REMOVE") {
        settings.commandline_remove = std::move(value);
    } else if (key == "KDUMP_COMMANDLINE_APPEND") {
        settings.commandline_append = std::move(value);
    } else if (key == "KEXEC_ARGS") {
        settings.kexec_args = std::move(value);
        settings.kexec_args_line = line;
    } else if (key == "KDUMP_BOOTDIR") {
        settings.boot_dir = TRY(settings_absolute_path(key, std::move(value), file, line));
        if (settings.boot_dir.empty())
            settings.boot_dir = "/boot";
    } else if (key == "KDUMP_IMG") {
        TRY(no_slash("the image's name prefix, such as vmlinuz (the directory is KDUMP_BOOTDIR)"));
        settings.image = value.empty() ? "vmlinuz" : std::move(value);
    } else if (key == "KDUMP_IMG_EXT") {
        TRY(no_slash("the image's file name suffix, such as .efi"));
        settings.image_ext = std::move(value);
    } else if (key == "KDUMPBOX_KERNEL") {
        settings.kernel_path = TRY(settings_absolute_path(key, std::move(value), file, line));
    } else if (key == "KDUMPBOX_INITRD") {
        settings.initrd_path = TRY(settings_absolute_path(key, std::move(value), file, line));
    } else if (key == "KDUMPBOX_CONF") {
        settings.conf_path = TRY(settings_absolute_path(key, std::move(value), file, line));
        if (settings.conf_path.empty())
            settings.conf_path = std::string(default_kdump_conf_path);
    } else if (key == "KDUMP_NUM_DUMPS") {
        auto count = parse_u64(value.empty() ? std::string_view("0") : std::string_view(value), key);
        if (!count.ok() || count.value() > 100000)
            return line_error(file, line, cat(key, ": '", value, "' is not a number of dumps to keep; write 0 (keep all) or a count such as 3"));
        settings.num_dumps = static_cast<unsigned>(count.value());
    } else if (key == "KDUMPBOX_NOTIFY") {
        auto words = split_command_words(value);
        if (!words.ok())
            return line_error(file, line, cat(key, ": ", words.error().message()));
        if (!words.value().empty() && !words.value().front().starts_with('/'))
            return line_error(file, line, cat(key, ": '", words.value().front(), "' is not an absolute path; write the program's full path (it runs without a shell)"));
        settings.notify_command = std::move(value);
    } else if (key == "KDUMPBOX_HOOK_TIMEOUT" || key == "KDUMPBOX_COLLECTOR_TIMEOUT") {
        constexpr uint64_t week_seconds = 7 * 24 * 3600;
        auto seconds = parse_u64(value, key);
        if (!seconds.ok() || seconds.value() > week_seconds)
            return line_error(file, line, cat(key, ": '", value, "' is not a time in seconds; write a number such as 300 (0: no limit, at most ", week_seconds, ")"));
        (key == "KDUMPBOX_HOOK_TIMEOUT" ? settings.budgets.hook_seconds : settings.budgets.collector_seconds) = static_cast<unsigned>(seconds.value());
    } else if (key == "FADUMP_COMMANDLINE_APPEND") {
        if (!value.empty())
            settings.warnings.push_back(line_text(file, line, "FADUMP_COMMANDLINE_APPEND is ignored: kdumpbox does not do fadump; remove the line"));
    } else if (key == "KDUMP_STDLOGLVL" || key == "KDUMP_SYSLOGLVL" || key == "KDUMP_KMSGLOGLVL") {
        if (!value.empty())
            settings.warnings.push_back(line_text(file, line, cat(key, " is ignored: kdumpbox logs to stderr and, in the capture kernel, to /dev/kmsg; remove the line")));
    } else if (key == "VMCORE_CREATION_NOTIFICATION") {
        // kdump-utils' default sysconfig sets it; nothing to do with it.
    } else {
        return line_error(file, line, cat("unknown setting '", key, "'; the settings are KDUMP_KERNELVER, KDUMP_COMMANDLINE, KDUMP_COMMANDLINE_REMOVE, KDUMP_COMMANDLINE_APPEND, KEXEC_ARGS, KDUMP_BOOTDIR, KDUMP_IMG, KDUMP_IMG_EXT, KDUMPBOX_KERNEL, KDUMPBOX_INITRD, KDUMPBOX_CONF, KDUMP_NUM_DUMPS, KDUMPBOX_NOTIFY, KDUMPBOX_HOOK_TIMEOUT and KDUMPBOX_COLLECTOR_TIMEOUT"));
    }
    return {};
}

template<typename Config, typename Parse>
Result<Config> read_config_file(std::string const& path, IfMissing if_missing, Parse&& parse)
{
    auto text = read_text_file(path);
    if (!text.ok()) {
        if (text.error().errno_code() == ENOENT && if_missing == IfMissing::UseDefaults) {
            Config config;
            config.file_name = path;
            return config;
        }
        return std::move(text).error();
    }
    return parse(*text, path);
}

} // namespace

Result<DumpTarget> parse_nfs_target(std::string_view value)
{
    DumpTarget target;
    target.kind = TargetKind::Nfs;
    TRY(parse_nfs_value(value, target));
    return target;
}

// ---- Names ----

std::string_view failure_action_name(FailureAction action)
{
    for (auto const& entry : failure_action_names) {
        if (entry.action == action)
            return entry.name;
    }
    return "reboot";
}

std::string_view final_action_name(FinalAction action)
{
    return power_action_name(action);
}

std::string_view target_kind_name(TargetKind kind)
{
    switch (kind) {
    case TargetKind::None:
        return "none";
    case TargetKind::Raw:
        return "raw";
    case TargetKind::Filesystem:
        return "file system";
    case TargetKind::Nfs:
        return "nfs";
    case TargetKind::Ssh:
        return "ssh";
    }
    return "none";
}

bool is_target_fs_type(std::string_view word)
{
    return std::find(target_fs_types.begin(), target_fs_types.end(), word) != target_fs_types.end();
}

std::string DumpTarget::value_text() const
{
    switch (kind) {
    case TargetKind::None:
        return {};
    case TargetKind::Raw:
    case TargetKind::Filesystem:
        return device.text();
    case TargetKind::Nfs:
        if (host.find(':') != std::string::npos)
            return cat("[", host, "]:", nfs_export);
        return cat(host, ":", nfs_export);
    case TargetKind::Ssh:
        return cat(ssh_user, "@", host);
    }
    return {};
}

std::string DumpTarget::directive() const
{
    switch (kind) {
    case TargetKind::None:
        return {};
    case TargetKind::Raw:
        return "raw";
    case TargetKind::Filesystem:
        return fs_type;
    case TargetKind::Nfs:
        return "nfs";
    case TargetKind::Ssh:
        return "ssh";
    }
    return {};
}

// ---- kdump.conf ----

Result<std::vector<std::string>> split_command_words(std::string_view command)
{
    std::vector<std::string> words;
    size_t at = 0;
    while (true) {
        while (at < command.size() && is_blank(command[at]))
            ++at;
        if (at >= command.size())
            return words;
        std::string word;
        while (at < command.size() && !is_blank(command[at])) {
            char c = command[at];
            if (c == '\'') {
                size_t close = command.find('\'', at + 1);
                if (close == std::string_view::npos)
                    return Error::invalid("unterminated single quote");
                word.append(command.substr(at + 1, close - at - 1));
                at = close + 1;
            } else if (c == '"') {
                ++at;
                while (at < command.size() && command[at] != '"') {
                    if (command[at] == '\\' && at + 1 < command.size() && std::string_view("\"\\$`").find(command[at + 1]) != std::string_view::npos)
                        ++at;
                    word.push_back(command[at]);
                    ++at;
                }
                if (at >= command.size())
                    return Error::invalid("unterminated double quote");
                ++at;
            } else if (c == '\\' && at + 1 < command.size()) {
                word.push_back(command[at + 1]);
                at += 2;
            } else {
                word.push_back(c);
                ++at;
            }
        }
        words.push_back(std::move(word));
    }
}

Result<KdumpConfig> parse_kdump_conf(std::string_view text, std::string_view file_name)
{
    ParseState state;
    state.file = file_name;
    state.config.file_name = std::string(file_name);
    TRY(for_each_line(text, [&](unsigned number, std::string_view line) -> Result<void> {
        line = trim(strip_conf_comment(line));
        if (line.empty())
            return {};
        size_t key_end = 0;
        while (key_end < line.size() && !is_blank(line[key_end]))
            ++key_end;
        std::string_view key = line.substr(0, key_end);
        std::string_view value = strip_enclosing_quotes(trim(line.substr(key_end)));
        return parse_conf_line(state, number, key, value);
    }));
    if (state.config.force_rebuild && state.config.force_no_rebuild) {
        unsigned later = std::max(state.force_rebuild_line, state.force_no_rebuild_line);
        return line_error(file_name, later, cat("force_rebuild 1 (line ", state.force_rebuild_line, ") and force_no_rebuild 1 (line ", state.force_no_rebuild_line, ") contradict each other; set one of them to 0"));
    }
    return std::move(state.config);
}

Result<KdumpConfig> read_kdump_conf(std::string const& path, IfMissing if_missing)
{
    return read_config_file<KdumpConfig>(path, if_missing, parse_kdump_conf);
}

std::string format_effective_config(KdumpConfig const& config)
{
    std::string out = cat("# The effective kdump configuration", config.file_name.empty() ? "" : cat(" (", config.file_name, ")"),
        ", with the defaults filled in.\n");
    auto directive = [&](std::string_view key, std::string_view value) { out += cat(key, " ", conf_value(value), "\n"); };

    if (config.target.kind == TargetKind::None)
        out += cat("# no dump target: the dump goes to ", config.path, " on the file system that holds it (kdump start finds it)\n");
    else
        directive(config.target.directive(), config.target.value_text());
    directive("path", config.path);
    if (config.core_collector)
        directive("core_collector", config.core_collector->command);
    else
        out += "# core_collector not set: the built-in collector (makedumpfile -z -d 31 --num-threads=<CPUs>)\n";
    directive("sshkey", config.sshkey);
    if (config.target.kind == TargetKind::Ssh || config.ssh_port != 22)
        directive("ssh_port", cat(config.ssh_port));
    if (config.kdump_pre)
        directive("kdump_pre", *config.kdump_pre);
    else
        out += "# kdump_pre not set\n";
    if (config.kdump_post)
        directive("kdump_post", *config.kdump_post);
    else
        out += "# kdump_post not set\n";
    if (config.extra_bins.empty()) {
        out += "# extra_bins not set\n";
    } else {
        out += cat("extra_bins ", join_command_words(config.extra_bins), "\n");
    }
    if (config.extra_modules.empty())
        out += "# extra_modules not set\n";
    else
        directive("extra_modules", join(config.extra_modules, " "));
    directive("failure_action", failure_action_name(config.failure_action));
    directive("final_action", final_action_name(config.final_action));
    directive("disk_timeout", cat(config.disk_timeout_seconds));
    directive("force_rebuild", config.force_rebuild ? "1" : "0");
    directive("force_no_rebuild", config.force_no_rebuild ? "1" : "0");
    return out;
}

// ---- Settings ----

Result<KdumpSettings> parse_kdump_settings(std::string_view text, std::string_view file_name)
{
    SettingsState state;
    state.file = file_name;
    state.settings.file_name = std::string(file_name);
    TRY(for_each_line(text, [&](unsigned number, std::string_view line) { return parse_settings_line(state, number, line); }));
    return std::move(state.settings);
}

Result<KdumpSettings> read_kdump_settings(std::string const& path, IfMissing if_missing)
{
    return read_config_file<KdumpSettings>(path, if_missing, parse_kdump_settings);
}

std::string format_time_budgets(TimeBudgets const& budgets)
{
    return cat("KDUMPBOX_HOOK_TIMEOUT=", budgets.hook_seconds, "\nKDUMPBOX_COLLECTOR_TIMEOUT=", budgets.collector_seconds, "\n");
}

std::string format_effective_settings(KdumpSettings const& settings)
{
    std::string out = cat("# The effective kdumpbox settings", settings.file_name.empty() ? "" : cat(" (", settings.file_name, ")"),
        ", with the defaults filled in.\n");
    auto variable = [&](std::string_view key, std::string_view value) {
        // Single quotes keep everything literal; a single quote itself is
        // closed, written in double quotes, and reopened.
        std::string quoted = "'";
        for (char c : value) {
            if (c == '\'')
                quoted += "'\"'\"'";
            else
                quoted.push_back(c);
        }
        out += cat(key, "=", quoted, "'\n");
    };
    variable("KDUMP_KERNELVER", settings.kernel_version);
    variable("KDUMP_BOOTDIR", settings.boot_dir);
    variable("KDUMP_IMG", settings.image);
    variable("KDUMP_IMG_EXT", settings.image_ext);
    variable("KDUMPBOX_KERNEL", settings.kernel_path);
    variable("KEXEC_ARGS", settings.kexec_args);
    variable("KDUMPBOX_INITRD", settings.initrd_path);
    variable("KDUMPBOX_CONF", settings.conf_path);
    variable("KDUMP_NUM_DUMPS", cat(settings.num_dumps));
    variable("KDUMPBOX_NOTIFY", settings.notify_command);
    variable("KDUMPBOX_HOOK_TIMEOUT", cat(settings.budgets.hook_seconds));
    variable("KDUMPBOX_COLLECTOR_TIMEOUT", cat(settings.budgets.collector_seconds));
    variable("KDUMP_COMMANDLINE", settings.commandline);
    variable("KDUMP_COMMANDLINE_REMOVE", settings.commandline_remove);
    variable("KDUMP_COMMANDLINE_APPEND", settings.commandline_append);
    return out;
}

std::string capture_kernel_version(KdumpSettings const& settings, std::string_view running_release)
{
    return settings.kernel_version.empty() ? std::string(running_release) : settings.kernel_version;
}

std::string capture_kernel_path(KdumpSettings const& settings, std::string_view running_release)
{
    if (!settings.kernel_path.empty())
        return settings.kernel_path;
    return cat(settings.boot_dir, settings.boot_dir.ends_with('/') ? "" : "/", settings.image, "-",
        capture_kernel_version(settings, running_release), settings.image_ext);
}

std::string capture_initrd_path(KdumpSettings const& settings, std::string_view running_release)
{
    if (!settings.initrd_path.empty())
        return settings.initrd_path;
    return cat(default_initrd_directory, "/initramfs-", capture_kernel_version(settings, running_release), ".img");
}

std::string build_capture_cmdline(std::string_view proc_cmdline, KdumpSettings const& settings)
{
    std::string_view base = settings.commandline.empty() ? proc_cmdline : std::string_view(settings.commandline);
    // Never for a capture kernel, whatever the settings say: the boot
    // loader's note, a reservation inside the reservation, and turning the
    // first warning during the dump into a panic that loses it.
    std::vector<std::string> remove { "BOOT_IMAGE", "crashkernel", "panic_on_warn" };
    for (auto word : split_cmdline(settings.commandline_remove))
        remove.emplace_back(word);
    std::vector<std::string> append;
    if (!trim(settings.commandline_append).empty())
        append.emplace_back(settings.commandline_append);
    return edit_cmdline(base, remove, append);
}

} // namespace core
