// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/raw_handled.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "core/net/known_hosts.h"

#include <fcntl.h>
#include <optional>
#include <vector>

namespace core {

namespace {

constexpr size_t identity_bytes = 1 << 20;

// A record line's device: the text before its one blank.
std::string_view line_device(std::string_view line)
{
    return trim(line).substr(0, trim(line).find(' '));
}

// "DEVICE IDENTITY" lines; anything else is skipped.
std::optional<std::string> recorded_identity(std::string_view text, std::string const& device)
{
    for (auto line : split(text, '\n')) {
        auto trimmed = trim(line);
        size_t blank = trimmed.find(' ');
        if (blank != std::string_view::npos && trimmed.substr(0, blank) == device)
            return std::string(trim(trimmed.substr(blank + 1)));
    }
    return std::nullopt;
}

} // namespace

Result<std::string> raw_stream_identity(std::string const& device)
{
    auto fd = TRY(open_file(device, O_RDONLY));
    std::vector<uint8_t> head(identity_bytes);
    size_t got = TRY(pread_full(fd.get(), head, 0, device));
    // The same digest and text as an ssh key's fingerprint.
    return ssh_fingerprint_sha256(std::span<uint8_t const>(head.data(), got));
}

bool raw_stream_handled(std::string const& record_path, std::string const& device, std::string const& identity)
{
    auto text = read_text_file(record_path);
    return text.ok() && recorded_identity(text.value(), device) == identity;
}

Result<void> record_raw_stream_handled(std::string const& record_path, std::string const& device, std::string const& identity)
{
    if (device.find_first_of(" \t\n") != std::string::npos)
        return Error::invalid(cat("device path '", device, "' has blanks; it cannot be recorded in ", record_path));
    std::string kept;
    if (auto old = read_text_file(record_path); old.ok()) {
        for (auto line : split(old.value(), '\n')) {
            if (trim(line).empty() || line_device(line) == device)
                continue;
            kept += cat(line, "\n");
        }
    }
    TRY(make_parent_directories(record_path));
    return write_text_atomically(record_path, cat(kept, device, " ", identity, "\n"), 0644);
}

} // namespace core
