// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/dump_status.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

std::string_view dump_outcome_name(DumpOutcome outcome)
{
    switch (outcome) {
    case DumpOutcome::Complete: return "complete";
    case DumpOutcome::Incomplete: return "incomplete";
    case DumpOutcome::Failed: return "failed";
    }
    return "failed";
}

std::optional<DumpOutcome> parse_dump_outcome(std::string_view name)
{
    for (auto outcome : { DumpOutcome::Complete, DumpOutcome::Incomplete, DumpOutcome::Failed }) {
        if (dump_outcome_name(outcome) == name)
            return outcome;
    }
    return std::nullopt;
}

namespace {

std::string utc_date(int64_t seconds)
{
    time_t when = static_cast<time_t>(seconds);
    struct tm fields {};
    ::gmtime_r(&when, &fields);
    char text[64];
    size_t length = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &fields);
    return std::string(text, length);
}

// One line, bounded: what a status value may hold.
std::string one_line(std::string_view text)
{
    std::string line(text.substr(0, dump_status_value_limit));
    for (char& c : line) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = ' ';
    }
    return line;
}

// The fields in file order, so the formatter and the parser agree.
struct TextField {
    std::string_view key;
    std::string DumpStatus::*member;
};
constexpr TextField text_fields[] = {
    { "reason", &DumpStatus::reason },
    { "target", &DumpStatus::target },
    { "directory", &DumpStatus::directory },
    { "kernel_release", &DumpStatus::kernel_release },
    { "panic", &DumpStatus::panic },
    { "collector", &DumpStatus::collector },
};
struct NumberField {
    std::string_view key;
    std::optional<uint64_t> DumpStatus::*member;
};
constexpr NumberField number_fields[] = {
    { "vmcore_bytes", &DumpStatus::vmcore_bytes },
    { "dmesg_bytes", &DumpStatus::dmesg_bytes },
    { "memory_bytes", &DumpStatus::memory_bytes },
    { "wait_target_ms", &DumpStatus::wait_target_ms },
    { "mount_ms", &DumpStatus::mount_ms },
    { "dmesg_ms", &DumpStatus::dmesg_ms },
    { "collector_ms", &DumpStatus::collector_ms },
    { "total_ms", &DumpStatus::total_ms },
};

constexpr size_t status_file_limit_bytes = 16 << 10;
constexpr size_t status_line_limit = 64;

} // namespace

std::string DumpStatus::summary() const
{
    std::string text = cat(dump_outcome_name(outcome), ", ", utc_date(time_seconds), ", ", directory.empty() ? std::string("(no directory)") : directory);
    if (vmcore_bytes)
        text += cat(", vmcore ", *vmcore_bytes, " bytes");
    if (!kernel_release.empty())
        text += cat(", kernel ", kernel_release);
    if (!reason.empty())
        text += cat(": ", reason);
    return text;
}

std::string format_dump_status(DumpStatus const& status)
{
    std::string out = "# kdumpbox: how this dump's save went; 'kdump start' reports it at the next boot\n";
    out += "format=1\n";
    out += cat("outcome=", dump_outcome_name(status.outcome), "\n");
    out += cat("time=", status.time_seconds, "\n");
    out += cat("date=", utc_date(status.time_seconds), "\n");
    for (auto const& field : text_fields)
        out += cat(field.key, "=", one_line(status.*field.member), "\n");
    for (auto const& field : number_fields) {
        if (auto const& value = status.*field.member)
            out += cat(field.key, "=", *value, "\n");
    }
    return out;
}

Result<DumpStatus> parse_dump_status(std::string_view text, std::string_view name)
{
    if (text.size() > status_file_limit_bytes)
        return Error::invalid(cat(name, ": ", text.size(), " bytes, more than a status file's ", status_file_limit_bytes));
    DumpStatus status;
    std::vector<std::string_view> seen;
    bool has_format = false, has_outcome = false;
    unsigned number = 0;
    auto lines = split(text, '\n');
    if (!lines.empty() && lines.back().empty())
        lines.pop_back();
    if (lines.size() > status_line_limit)
        return Error::invalid(cat(name, ": ", lines.size(), " lines, more than a status file's ", status_line_limit));
    for (auto line : lines) {
        ++number;
        auto fail = [&](std::string_view what) { return Error::invalid(cat(name, ":", number, ": ", what)); };
        if (line.empty() || line.starts_with('#'))
            continue;
        size_t equals = line.find('=');
        if (equals == std::string_view::npos || equals == 0)
            return fail("not a key=value line");
        std::string_view key = line.substr(0, equals);
        std::string_view value = line.substr(equals + 1);
        if (value.size() > dump_status_value_limit)
            return fail(cat(key, ": value longer than ", dump_status_value_limit, " bytes"));
        if (std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
            return fail(cat(key, ": control character in the value"));
        if (std::find(seen.begin(), seen.end(), key) != seen.end())
            return fail(cat(key, " is given twice"));
        seen.push_back(key);
        if (key == "format") {
            if (value != "1")
                return fail(cat("format ", value, " is not one this kdumpbox reads (1); a newer kdumpbox wrote it"));
            has_format = true;
        } else if (key == "outcome") {
            auto outcome = parse_dump_outcome(value);
            if (!outcome)
                return fail(cat("outcome '", value, "' is none of complete, incomplete, failed"));
            status.outcome = *outcome;
            has_outcome = true;
        } else if (key == "time") {
            auto seconds = parse_i64(value, "time");
            if (!seconds.ok())
                return fail(seconds.error().message());
            status.time_seconds = seconds.value();
        } else if (key == "date") {
            // For the reader's eyes: time= is what counts.
        } else if (auto text_field = std::find_if(std::begin(text_fields), std::end(text_fields), [&](auto const& field) { return field.key == key; });
                   text_field != std::end(text_fields)) {
            status.*text_field->member = std::string(value);
        } else if (auto number_field = std::find_if(std::begin(number_fields), std::end(number_fields), [&](auto const& field) { return field.key == key; });
                   number_field != std::end(number_fields)) {
            auto parsed = parse_u64(value, key);
            if (!parsed.ok())
                return fail(parsed.error().message());
            status.*number_field->member = parsed.value();
        } else {
            return fail(cat("unknown key '", key, "'"));
        }
    }
    if (!has_format)
        return Error::invalid(cat(name, ": no format= line; this is not a kdumpbox status file"));
    if (!has_outcome)
        return Error::invalid(cat(name, ": no outcome= line"));
    return status;
}

namespace {

// text cut at a line end to fit, then a comment line of blanks up to
// dump_status_reserved_bytes exactly.
std::string padded_status(std::string_view text)
{
    constexpr size_t room = dump_status_reserved_bytes - 2; // "#" and "\n"
    if (text.size() > room)
        text = text.substr(0, text.rfind('\n', room - 1) + 1);
    std::string out(text);
    out += '#';
    out.append(dump_status_reserved_bytes - 1 - out.size(), ' ');
    out += '\n';
    return out;
}

} // namespace

Result<std::string> reserve_status_file(DirectoryFd const& directory, DumpStatus status)
{
    status.outcome = DumpOutcome::Incomplete;
    status.reason = "the save did not finish: the capture kernel stopped before it wrote this file's last version";
    std::string name(dump_status_file_name);
    auto file = TRY(SafeFile::create_replacing(directory, name, 0600));
    TRY(file.write(padded_status(format_dump_status(status))));
    TRY(file.commit());
    return file.final_path();
}

Result<std::string> finish_status_file(DirectoryFd const& directory, DumpStatus const& status)
{
    std::string name(dump_status_file_name);
    std::string path = directory.path_of(name);
    std::string text = padded_status(format_dump_status(status));
    auto replaced = [&]() -> Result<void> {
        auto file = TRY(SafeFile::create_replacing(directory, name, 0600, SafeFile::Leftover::Remove));
        TRY(file.write(text));
        return file.commit();
    }();
    if (replaced.ok())
        return path;
    // Most likely the disk is full: the placeholder's own blocks take the
    // same number of bytes without allocating.
    auto fd = directory.open_file(name, O_WRONLY);
    if (!fd.ok())
        return Error::with_code(replaced.error().errno_code(), cat(replaced.error().message(), "; and the placeholder: ", fd.error().message()));
    if (::pwrite(fd.value().get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) || ::fsync(fd.value().get()) != 0)
        return Error::from_errno(cat("rewriting ", path, " in place (after: ", replaced.error().message(), ")"));
    TRY(fd.value().close_checked(path));
    return path;
}

namespace {

// A log line without its "[    1.234567] " stamp, trimmed and bounded.
std::string without_stamp(std::string_view line)
{
    line = trim(line);
    if (line.starts_with('[')) {
        size_t close = line.find(']');
        if (close != std::string_view::npos)
            line = trim(line.substr(close + 1));
    }
    return one_line(line);
}

} // namespace

std::string panic_line(std::string_view dmesg)
{
    std::string_view panic, other;
    for (auto line : split(dmesg, '\n')) {
        if (line.find("Kernel panic - not syncing") != std::string_view::npos)
            panic = line;
        else if (line.find("sysrq: Trigger a crash") != std::string_view::npos || line.find("BUG: ") != std::string_view::npos
            || line.find("Oops: ") != std::string_view::npos)
            other = line;
    }
    if (!panic.empty())
        return without_stamp(panic);
    return other.empty() ? std::string() : without_stamp(other);
}

std::string kernel_release_from_dmesg(std::string_view dmesg)
{
    constexpr std::string_view marker = "Linux version ";
    size_t at = dmesg.find(marker);
    if (at == std::string_view::npos)
        return {};
    std::string_view rest = dmesg.substr(at + marker.size());
    size_t end = rest.find_first_of(" \n");
    return one_line(rest.substr(0, std::min(end, size_t { 128 })));
}

// --- The dump directories -------------------------------------------------------

namespace {

constexpr size_t timestamp_length = 19; // YYYY-MM-DD-HH:MM:SS

bool is_timestamp(std::string_view text)
{
    if (text.size() != timestamp_length)
        return false;
    for (size_t at = 0; at < text.size(); ++at) {
        char c = text[at];
        bool ok = at == 4 || at == 7 || at == 10 ? c == '-'
            : at == 13 || at == 16               ? c == ':' || c == '-'
                                                 : c >= '0' && c <= '9';
        if (!ok)
            return false;
    }
    return true;
}

struct NameParts {
    std::string_view timestamp;
    unsigned suffix { 0 };
};

// HOST-TIMESTAMP or HOST-TIMESTAMP-N: the timestamp and N.
std::optional<NameParts> name_parts(std::string_view name)
{
    auto with_timestamp_at_end = [](std::string_view stem) -> std::optional<std::string_view> {
        // At least one character of HOST, then '-'.
        if (stem.size() < timestamp_length + 2)
            return std::nullopt;
        std::string_view timestamp = stem.substr(stem.size() - timestamp_length);
        if (stem[stem.size() - timestamp_length - 1] != '-' || !is_timestamp(timestamp))
            return std::nullopt;
        return timestamp;
    };
    if (auto timestamp = with_timestamp_at_end(name))
        return NameParts { *timestamp, 0 };
    size_t dash = name.rfind('-');
    if (dash == std::string_view::npos || dash + 1 == name.size() || name.size() - dash - 1 > 3)
        return std::nullopt;
    std::string_view digits = name.substr(dash + 1);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    auto timestamp = with_timestamp_at_end(name.substr(0, dash));
    if (!timestamp)
        return std::nullopt;
    unsigned suffix = 0;
    for (char c : digits)
        suffix = suffix * 10 + static_cast<unsigned>(c - '0');
    return NameParts { *timestamp, suffix };
}

// The timestamp with '-' for ':', so both spellings sort together.
std::string comparable(std::string_view timestamp)
{
    std::string text(timestamp);
    std::replace(text.begin(), text.end(), ':', '-');
    return text;
}

bool holds_a_dump(std::string const& directory)
{
    for (std::string_view name : { std::string_view("vmcore"), std::string_view("vmcore-incomplete"), dump_status_file_name })
        if (path_exists_no_follow(path_join(directory, name)))
            return true;
    return false;
}

// The directory's regular files removed, then the directory. Anything else
// inside (a subdirectory, a link) is not ours to remove: refused before
// anything is removed.
Result<void> remove_dump_directory(std::string const& directory)
{
    auto names = TRY(list_directory(directory));
    for (auto const& name : names) {
        struct stat status;
        std::string path = path_join(directory, name);
        if (::lstat(path.c_str(), &status) != 0)
            return Error::from_errno(cat("lstat ", path));
        if (!S_ISREG(status.st_mode))
            return Error::with_code(EEXIST, cat(path, " is not a regular file; not removing ", directory));
    }
    for (auto const& name : names) {
        std::string path = path_join(directory, name);
        if (::unlink(path.c_str()) != 0)
            return Error::from_errno(cat("removing ", path));
    }
    if (::rmdir(directory.c_str()) != 0)
        return Error::from_errno(cat("removing ", directory));
    return {};
}

} // namespace

bool is_dump_directory_name(std::string_view name) { return name_parts(name).has_value(); }

bool dump_directory_older(std::string_view left, std::string_view right)
{
    auto left_parts = name_parts(left);
    auto right_parts = name_parts(right);
    if (!left_parts || !right_parts)
        return left < right;
    auto left_key = comparable(left_parts->timestamp);
    auto right_key = comparable(right_parts->timestamp);
    if (left_key != right_key)
        return left_key < right_key;
    if (left_parts->suffix != right_parts->suffix)
        return left_parts->suffix < right_parts->suffix;
    return left < right;
}

time_t dump_directory_time(std::string_view name)
{
    auto parts = name_parts(name);
    if (!parts)
        return 0;
    std::string text = comparable(parts->timestamp);
    struct tm fields {};
    auto number = [&](size_t at, size_t length) {
        int value = 0;
        for (size_t i = at; i < at + length; ++i)
            value = value * 10 + (text[i] - '0');
        return value;
    };
    fields.tm_year = number(0, 4) - 1900;
    fields.tm_mon = number(5, 2) - 1;
    fields.tm_mday = number(8, 2);
    fields.tm_hour = number(11, 2);
    fields.tm_min = number(14, 2);
    fields.tm_sec = number(17, 2);
    return ::timegm(&fields);
}

Result<std::vector<std::string>> list_dump_directories(std::string const& parent)
{
    std::vector<std::string> dumps;
    for (auto& name : TRY(list_directory(parent))) {
        std::string path = path_join(parent, name);
        if (is_dump_directory_name(name) && is_directory(path) && holds_a_dump(path))
            dumps.push_back(std::move(name));
    }
    std::sort(dumps.begin(), dumps.end(), [](auto const& left, auto const& right) { return dump_directory_older(left, right); });
    return dumps;
}

Result<std::vector<std::string>> prune_dump_directories(std::string const& parent, unsigned keep, std::string_view current)
{
    auto dumps = TRY(list_dump_directories(parent));
    std::erase(dumps, current);
    std::vector<std::string> removed;
    if (dumps.size() <= keep)
        return removed;
    size_t excess = dumps.size() - keep;
    for (size_t index = 0; index < excess; ++index) {
        std::string path = path_join(parent, dumps[index]);
        if (auto gone = remove_dump_directory(path); !gone.ok()) {
            log::warn(cat("keeping ", path, ": ", gone.error().message()));
            continue;
        }
        removed.push_back(dumps[index]);
    }
    if (!removed.empty())
        TRY(fsync_directory(parent));
    return removed;
}

} // namespace core
