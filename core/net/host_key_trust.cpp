// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/host_key_trust.h"

#include "core/base/strings.h"
#include "core/net/known_hosts.h"

#include <cerrno>

namespace core {

namespace {

constexpr std::string_view fingerprint_prefix = "SHA256:";
// base64 of 32 bytes, unpadded.
constexpr size_t fingerprint_base64_chars = 43;

constexpr std::string_view where_to_check = "check it on the server with ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub (or _rsa_)";

bool is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

} // namespace

Result<std::string> parse_host_key_fingerprint(std::string_view text)
{
    std::string_view body = text;
    bool prefixed = body.starts_with(fingerprint_prefix);
    if (prefixed)
        body.remove_prefix(fingerprint_prefix.size());
    if (body.ends_with('='))
        body.remove_suffix(1);
    bool valid = prefixed && body.size() == fingerprint_base64_chars;
    for (char c : body)
        valid = valid && is_base64_char(c);
    if (!valid)
        return Error::invalid(cat("host key fingerprint '", text, "' is not SHA256:<43 base64 characters>; give it as ssh-keygen -l prints it, e.g. SHA256:", std::string(fingerprint_base64_chars, 'x'),
            " (", where_to_check, ")"));
    return cat(fingerprint_prefix, body);
}

Result<std::string> trusted_host_keys(std::string_view lines, std::string_view what, HostKeyTrust const& trust)
{
    std::string accepted;
    std::vector<std::string> offered;
    for (auto line : split(lines, '\n')) {
        auto entry = parse_known_hosts_line(line);
        if (!entry.ok() || !entry.value())
            continue;
        std::string fingerprint = ssh_fingerprint_sha256(entry.value()->key_blob);
        offered.push_back(cat(entry.value()->key_type_name, " ", fingerprint));
        if (!trust.expected_fingerprint || fingerprint == *trust.expected_fingerprint)
            accepted += cat(line, "\n");
    }
    if (offered.empty())
        return Error::with_code(ENOENT, cat(what, " offered no host key"));
    if (trust.expected_fingerprint) {
        if (accepted.empty())
            return Error::with_code(EPERM, cat("the host key of ", what, " is not ", *trust.expected_fingerprint, ": it offers ", join(offered, ", "), "; nothing was trusted (",
                                               where_to_check, "; a different key may mean someone is in between)"));
        return accepted;
    }
    if (!trust.confirm)
        return Error::with_code(EPERM, cat("the host key of ", what, " (", join(offered, ", "), ") is not trusted without a check: give --host-key-fingerprint SHA256:... (",
                                           where_to_check, "), or run this on a terminal to be asked"));
    if (!TRY(trust.confirm(offered)))
        return Error::with_code(EPERM, cat("the host key of ", what, " was not trusted; nothing was recorded"));
    return accepted;
}

} // namespace core
