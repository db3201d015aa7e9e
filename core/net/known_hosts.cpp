// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/known_hosts.h"

#include "core/base/fd.h"
#include "core/base/strings.h"
#include "core/net/ssh_wire.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <mbedtls/md.h>

namespace core {

namespace {

constexpr std::string_view base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t sha1_bytes = 20;

struct KeyTypeInfo {
    SshKeyType type;
    std::string_view name;
};

constexpr std::array<KeyTypeInfo, 5> key_types { {
    { SshKeyType::Rsa, "ssh-rsa" },
    { SshKeyType::EcdsaNistp256, "ecdsa-sha2-nistp256" },
    { SshKeyType::EcdsaNistp384, "ecdsa-sha2-nistp384" },
    { SshKeyType::EcdsaNistp521, "ecdsa-sha2-nistp521" },
    { SshKeyType::Ed25519, "ssh-ed25519" },
} };

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view text)
{
    std::string out(text);
    for (auto& c : out)
        c = lower(c);
    return out;
}


bool hmac_sha1(std::span<uint8_t const> key, std::string_view message, std::array<uint8_t, sha1_bytes>& out)
{
    auto const* info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
    if (!info)
        return false;
    return mbedtls_md_hmac(info, key.data(), key.size(), reinterpret_cast<unsigned char const*>(message.data()), message.size(), out.data()) == 0;
}

// OpenSSH's wildcard match: '*' any run, '?' one character; case has been
// folded by the caller.
bool glob_match(std::string_view pattern, std::string_view text)
{
    size_t p = 0, t = 0;
    size_t star = std::string_view::npos, star_text = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_text = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++star_text;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

std::vector<std::string_view> fields_of(std::string_view line)
{
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        if (i == line.size())
            break;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t')
            ++i;
        fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

std::string describe_host(std::string_view host, uint16_t port) { return port == 22 ? std::string(host) : cat("[", host, "]:", port); }

} // namespace

std::optional<SshKeyType> ssh_key_type_from_name(std::string_view name)
{
    for (auto const& info : key_types) {
        if (info.name == name)
            return info.type;
    }
    return std::nullopt;
}

std::string_view ssh_key_type_name(SshKeyType type)
{
    for (auto const& info : key_types) {
        if (info.type == type)
            return info.name;
    }
    return "unknown";
}

bool ssh_key_type_supported(SshKeyType type) { return type != SshKeyType::Ed25519; }

Error unsupported_host_key_error(std::string_view key_type_name, std::string_view what)
{
    return Error::unsupported(cat(what, ": ", key_type_name, " keys are not supported by this build (libssh2 with mbedTLS has no Ed25519); "
        "give the server an ECDSA host key (ssh-keygen -t ecdsa -b 256 -N '' -f /etc/ssh/ssh_host_ecdsa_key, and a HostKey line for it in sshd_config) or let it offer its RSA key, then run `kdump propagate` again"));
}

Result<std::string> ssh_key_blob_type(std::span<uint8_t const> blob)
{
    SshWireReader reader(blob, "key blob");
    auto type_field = reader.string("the key type");
    if (!type_field || type_field.value().empty())
        return Error::invalid("key blob is truncated: no key type");
    std::string name(wire_text(type_field.value()));
    auto type = ssh_key_type_from_name(name);
    if (!type)
        return name;
    auto truncated = [&] { return Error::invalid(cat(name, " key blob is truncated or malformed")); };
    switch (*type) {
    case SshKeyType::Rsa: {
        auto exponent = reader.string("the exponent");
        auto modulus = reader.string("the modulus");
        if (!exponent || !modulus || exponent.value().empty() || modulus.value().size() < 64 || !reader.at_end())
            return truncated();
        break;
    }
    case SshKeyType::EcdsaNistp256:
    case SshKeyType::EcdsaNistp384:
    case SshKeyType::EcdsaNistp521: {
        std::string_view curve = std::string_view(name).substr(std::string_view("ecdsa-sha2-").size());
        size_t field_bytes = *type == SshKeyType::EcdsaNistp256 ? 32 : *type == SshKeyType::EcdsaNistp384 ? 48 : 66;
        auto curve_field = reader.string("the curve");
        auto point = reader.string("the point");
        if (!curve_field || !point || !reader.at_end())
            return truncated();
        if (wire_text(curve_field.value()) != curve)
            return Error::invalid(cat(name, " key blob names curve ", wire_text(curve_field.value())));
        if (point.value().size() != 1 + 2 * field_bytes || point.value()[0] != 0x04)
            return Error::invalid(cat(name, " key blob has a malformed point (", point.value().size(), " bytes)"));
        break;
    }
    case SshKeyType::Ed25519: {
        auto key = reader.string("the key");
        if (!key || key.value().size() != 32 || !reader.at_end())
            return truncated();
        break;
    }
    }
    return name;
}

std::string base64_encode(std::span<uint8_t const> data, bool pad)
{
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        uint32_t group = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8) | data[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6)
            out.push_back(base64_alphabet[(group >> shift) & 63]);
    }
    size_t rest = data.size() - i;
    if (rest > 0) {
        uint32_t group = uint32_t(data[i]) << 16;
        if (rest == 2)
            group |= uint32_t(data[i + 1]) << 8;
        out.push_back(base64_alphabet[(group >> 18) & 63]);
        out.push_back(base64_alphabet[(group >> 12) & 63]);
        if (rest == 2)
            out.push_back(base64_alphabet[(group >> 6) & 63]);
        if (pad)
            out.append(rest == 1 ? "==" : "=");
    }
    return out;
}

Result<std::vector<uint8_t>> base64_decode(std::string_view text, std::string_view what)
{
    if (text.empty() || text.size() % 4 != 0)
        return Error::invalid(cat(what, ": base64 text has ", text.size(), " characters, not a non-zero multiple of 4"));
    size_t padding = 0;
    while (padding < 2 && text.size() > padding && text[text.size() - 1 - padding] == '=')
        ++padding;
    std::vector<uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    uint32_t group = 0;
    size_t digits = 0;
    for (size_t i = 0; i < text.size() - padding; ++i) {
        auto position = base64_alphabet.find(text[i]);
        if (position == std::string_view::npos)
            return Error::invalid(cat(what, ": bad base64 character at position ", i));
        group = (group << 6) | static_cast<uint32_t>(position);
        if (++digits == 4) {
            out.push_back(static_cast<uint8_t>(group >> 16));
            out.push_back(static_cast<uint8_t>(group >> 8));
            out.push_back(static_cast<uint8_t>(group));
            group = 0;
            digits = 0;
        }
    }
    if (digits == 2) {
        if (group & 0xf)
            return Error::invalid(cat(what, ": base64 text has stray bits before its padding"));
        out.push_back(static_cast<uint8_t>(group >> 4));
    } else if (digits == 3) {
        if (group & 0x3)
            return Error::invalid(cat(what, ": base64 text has stray bits before its padding"));
        out.push_back(static_cast<uint8_t>(group >> 10));
        out.push_back(static_cast<uint8_t>(group >> 2));
    }
    return out;
}

std::string ssh_fingerprint_sha256(std::span<uint8_t const> blob)
{
    std::array<uint8_t, 32> digest {};
    auto const* info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (!info || mbedtls_md(info, blob.data(), blob.size(), digest.data()) != 0)
        return "SHA256:(unavailable)";
    return cat("SHA256:", base64_encode(digest, false));
}

std::string known_hosts_host_name(std::string_view host, uint16_t port) { return lowered(describe_host(host, port)); }

bool KnownHostsEntry::matches_host(std::string_view host, uint16_t port) const
{
    std::string name = known_hosts_host_name(host, port);
    if (hashed) {
        std::array<uint8_t, sha1_bytes> digest {};
        if (!hmac_sha1(salt, name, digest))
            return false;
        return std::equal(digest.begin(), digest.end(), hash.begin(), hash.end());
    }
    bool matched = false;
    for (auto const& pattern : patterns) {
        bool negated = !pattern.empty() && pattern[0] == '!';
        std::string folded = lowered(negated ? std::string_view(pattern).substr(1) : std::string_view(pattern));
        if (glob_match(folded, name)) {
            if (negated)
                return false;
            matched = true;
        }
    }
    return matched;
}

Result<std::optional<KnownHostsEntry>> parse_known_hosts_line(std::string_view line, size_t line_number)
{
    auto fail = [&](std::string message) -> Error {
        return Error::invalid(line_number ? cat("line ", line_number, ": ", message) : message);
    };
    if (!line.empty() && line.back() == '\n')
        line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos)
        return fail("NUL byte in line");
    auto fields = fields_of(line);
    if (fields.empty() || fields[0][0] == '#')
        return std::optional<KnownHostsEntry> {};

    KnownHostsEntry entry;
    entry.line_number = line_number;
    size_t next = 0;
    if (fields[0][0] == '@') {
        if (fields[0] == "@revoked")
            entry.marker = KnownHostsMarker::Revoked;
        else if (fields[0] == "@cert-authority")
            entry.marker = KnownHostsMarker::CertAuthority;
        else
            return fail(cat("unknown marker ", fields[0], " (known: @revoked, @cert-authority)"));
        next = 1;
    }
    if (fields.size() < next + 3)
        return fail("expected host patterns, a key type and a base64 key");
    std::string_view hosts = fields[next];
    std::string_view type_name = fields[next + 1];
    std::string_view key_text = fields[next + 2];
    for (size_t i = next + 3; i < fields.size(); ++i) {
        if (!entry.comment.empty())
            entry.comment.push_back(' ');
        entry.comment.append(fields[i]);
    }

    if (hosts.starts_with("|1|")) {
        auto parts = split(hosts.substr(3), '|');
        if (parts.size() != 2)
            return fail("hashed host entry is not |1|salt|hash");
        auto salt = base64_decode(parts[0], "hashed host salt");
        if (!salt)
            return fail(salt.error().message());
        auto hash = base64_decode(parts[1], "hashed host hash");
        if (!hash)
            return fail(hash.error().message());
        if (salt->size() != sha1_bytes || hash->size() != sha1_bytes)
            return fail(cat("hashed host entry has a ", salt->size(), "-byte salt and a ", hash->size(), "-byte hash, not 20 and 20"));
        entry.hashed = true;
        entry.salt = std::move(salt).release_value();
        entry.hash = std::move(hash).release_value();
    } else if (hosts.starts_with("|")) {
        return fail("unknown hashed host format (only |1| is defined)");
    } else {
        for (auto pattern : split(hosts, ',')) {
            if (pattern.empty() || pattern == "!")
                return fail(cat("empty host pattern in ", hosts));
            entry.patterns.emplace_back(pattern);
        }
    }

    auto blob = base64_decode(key_text, cat(type_name, " key"));
    if (!blob)
        return fail(blob.error().message());
    auto blob_type = ssh_key_blob_type(*blob);
    if (!blob_type)
        return fail(blob_type.error().message());
    if (*blob_type != type_name)
        return fail(cat("key type field says ", type_name, " but the key is ", *blob_type));
    entry.key_type_name = std::string(type_name);
    entry.key_type = ssh_key_type_from_name(type_name);
    entry.key_blob = std::move(blob).release_value();
    return std::optional<KnownHostsEntry> { std::move(entry) };
}

KnownHosts KnownHosts::parse(std::string_view text, std::string source_name)
{
    KnownHosts known;
    known.m_source_name = std::move(source_name);
    size_t line_number = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        ++line_number;
        auto parsed = parse_known_hosts_line(text.substr(start, end - start), line_number);
        if (!parsed)
            known.m_skipped.push_back(std::move(parsed).error().with_context(known.m_source_name));
        else if (parsed->has_value())
            known.m_entries.push_back(std::move(**parsed));
        start = end + 1;
    }
    return known;
}

Result<KnownHosts> KnownHosts::load(std::string const& path)
{
    auto text = read_text_file(path, 16 << 20);
    if (!text)
        return Error::with_code(text.error().errno_code(), cat("known_hosts ", text.error().message(), " (run `kdump propagate` to record the target's host key)"));
    return parse(*text, path);
}

HostKeyMatch KnownHosts::match(std::string_view host, uint16_t port, std::string_view key_type_name, std::span<uint8_t const> key_blob) const
{
    HostKeyMatch result;
    bool any_plain = false;
    bool any_cert_authority = false;
    size_t mismatch_line = 0;
    size_t match_line = 0;
    for (auto const& entry : m_entries) {
        if (!entry.matches_host(host, port))
            continue;
        bool same_key = entry.key_type_name == key_type_name && std::equal(entry.key_blob.begin(), entry.key_blob.end(), key_blob.begin(), key_blob.end());
        switch (entry.marker) {
        case KnownHostsMarker::Revoked:
            if (same_key) {
                result.status = HostKeyStatus::Revoked;
                result.line_number = entry.line_number;
                return result;
            }
            continue;
        case KnownHostsMarker::CertAuthority:
            any_cert_authority = true;
            continue;
        case KnownHostsMarker::None:
            break;
        }
        any_plain = true;
        if (std::find(result.known_key_types.begin(), result.known_key_types.end(), entry.key_type_name) == result.known_key_types.end())
            result.known_key_types.push_back(entry.key_type_name);
        if (same_key && !match_line)
            match_line = entry.line_number;
        else if (entry.key_type_name == key_type_name && !mismatch_line)
            mismatch_line = entry.line_number;
    }
    result.only_cert_authority = any_cert_authority && !any_plain;
    if (match_line) {
        result.status = HostKeyStatus::Match;
        result.line_number = match_line;
    } else if (mismatch_line) {
        result.status = HostKeyStatus::Mismatch;
        result.line_number = mismatch_line;
    }
    return result;
}

Result<void> KnownHosts::verify(std::string_view host, uint16_t port, std::span<uint8_t const> key_blob) const
{
    auto type_name = ssh_key_blob_type(key_blob);
    std::string where = describe_host(host, port);
    if (!type_name)
        return Error::invalid(cat("host key of ", where, ": ", type_name.error().message()));
    std::string fingerprint = ssh_fingerprint_sha256(key_blob);
    auto result = match(host, port, *type_name, key_blob);
    std::string key = cat(*type_name, " key ", fingerprint);
    switch (result.status) {
    case HostKeyStatus::Match:
        return {};
    case HostKeyStatus::Revoked:
        return Error::with_code(EPERM, cat("host key of ", where, " (", key, ") is marked @revoked in ", m_source_name, ":", result.line_number, "; refusing to connect"));
    case HostKeyStatus::Mismatch:
        return Error::with_code(EPERM,
            cat("HOST KEY MISMATCH for ", where, ": the server sent ", key, " but ", m_source_name, ":", result.line_number,
                " records a different key (someone may be intercepting the connection); if the host key really changed, run `kdump propagate` again"));
    case HostKeyStatus::NotFound:
        break;
    }
    std::string message = cat("host key of ", where, " is not known: the server sent ", key, ", and ", m_source_name);
    if (result.only_cert_authority) {
        message += cat(" has only @cert-authority lines for it, which this build cannot check (libssh2 has no host certificates)");
    } else if (!result.known_key_types.empty()) {
        message += " records only ";
        for (size_t i = 0; i < result.known_key_types.size(); ++i)
            message += cat(i ? ", " : "", result.known_key_types[i]);
        message += " keys for it";
        bool all_unusable = std::all_of(result.known_key_types.begin(), result.known_key_types.end(), [](auto const& name) {
            auto type = ssh_key_type_from_name(name);
            return !type || !ssh_key_type_supported(*type);
        });
        if (all_unusable)
            message += cat(", which this build cannot use (", unsupported_host_key_error(result.known_key_types[0], "").message().substr(2), ")");
    } else {
        message += " has no entry for it";
        if (port != 22)
            message += cat(" (a plain host entry is for port 22 only; port ", port, " needs [", host, "]:", port, ")");
    }
    if (!m_skipped.empty())
        message += cat("; ", m_skipped.size(), " malformed line(s) were skipped, the first: ", m_skipped.front().message());
    message += "; never trusting a key on first use: record it with `kdump propagate`";
    return Error::with_code(EPERM, std::move(message));
}

std::vector<std::string> KnownHosts::key_types_for(std::string_view host, uint16_t port) const
{
    std::vector<std::string> types;
    for (auto const& entry : m_entries) {
        if (entry.marker != KnownHostsMarker::None || !entry.matches_host(host, port))
            continue;
        if (std::find(types.begin(), types.end(), entry.key_type_name) == types.end())
            types.push_back(entry.key_type_name);
    }
    return types;
}

std::string format_known_hosts_entry(std::string_view host, uint16_t port, std::string_view key_type_name, std::span<uint8_t const> key_blob)
{
    return cat(describe_host(host, port), " ", key_type_name, " ", base64_encode(key_blob));
}

Result<std::string> format_hashed_known_hosts_entry(std::string_view host, uint16_t port, std::string_view key_type_name, std::span<uint8_t const> key_blob, std::span<uint8_t const> salt)
{
    if (salt.size() != sha1_bytes)
        return Error::invalid(cat("known_hosts salt must be 20 bytes, not ", salt.size()));
    std::array<uint8_t, sha1_bytes> digest {};
    if (!hmac_sha1(salt, known_hosts_host_name(host, port), digest))
        return Error::unsupported("HMAC-SHA1 is not available in this mbedTLS build");
    return cat("|1|", base64_encode(salt), "|", base64_encode(digest), " ", key_type_name, " ", base64_encode(key_blob));
}

} // namespace core
