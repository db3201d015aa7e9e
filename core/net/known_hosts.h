// SPDX-License-Identifier: GPL-2.0-or-later
// OpenSSH known_hosts files: parsing, host matching and formatting.
//
// The capture kernel checks an ssh dump target's host key against the file
// `kdump propagate` recorded, before it authenticates: a key that is absent
// is refused like one that differs (never trust on first use). Matching
// follows OpenSSH, which is stricter than libssh2's own known_hosts code: a
// plain `host` entry is for port 22 only, any other port needs a
// `[host]:port` entry. Hashed entries (`|1|salt|hash`, ssh-keygen -H),
// comma lists, `*`/`?` wildcards and `!` negations are understood;
// `@revoked` keys are refused and `@cert-authority` lines are kept but never
// match (libssh2 cannot check host certificates).
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core {

enum class SshKeyType { Rsa, EcdsaNistp256, EcdsaNistp384, EcdsaNistp521, Ed25519 };

// "ssh-rsa", "ecdsa-sha2-nistp256", ...; nullopt for names this code does
// not know (ssh-dss, sk-* security keys, certificates).
std::optional<SshKeyType> ssh_key_type_from_name(std::string_view name);
std::string_view ssh_key_type_name(SshKeyType type);
// Whether this build's libssh2 (mbedTLS backend) can use keys of the type:
// everything but Ed25519.
bool ssh_key_type_supported(SshKeyType type);
// The ENOTSUP error for a host key type this build cannot use. `what` names
// the key ("host key of backup:22"); the text says how to give the server
// an ECDSA key. (A user key's refusal is core/net/ssh_key.h's.)
Error unsupported_host_key_error(std::string_view key_type_name, std::string_view what);

// Checks the wire format of a public key blob (RFC 4253 6.6 strings and
// mpints, RFC 5656 points, 32-byte Ed25519 keys) and returns the type name
// it starts with. Blobs of unknown types are only checked for that name.
Result<std::string> ssh_key_blob_type(std::span<uint8_t const> blob);

// "SHA256:" and unpadded base64 of the blob's SHA-256, as ssh-keygen -l and
// ssh print it.
std::string ssh_fingerprint_sha256(std::span<uint8_t const> blob);

// Standard base64 (RFC 4648) with '=' padding; decoding is strict (no
// whitespace, correct padding) and names `what` in its error.
std::string base64_encode(std::span<uint8_t const> data, bool pad = true);
Result<std::vector<uint8_t>> base64_decode(std::string_view text, std::string_view what);

// The name OpenSSH looks a host up by: "host" for port 22, "[host]:port"
// for any other port. Lower-cased, as OpenSSH does.
std::string known_hosts_host_name(std::string_view host, uint16_t port);

enum class KnownHostsMarker { None, Revoked, CertAuthority };

struct KnownHostsEntry {
    size_t line_number { 0 };
    KnownHostsMarker marker { KnownHostsMarker::None };
    // Hashed entries have salt and hash (HMAC-SHA1 of the host name keyed
    // with the salt); plain ones have their comma-separated patterns.
    bool hashed { false };
    std::vector<uint8_t> salt;
    std::vector<uint8_t> hash;
    std::vector<std::string> patterns;
    std::string key_type_name;
    // nullopt for a type this code does not know: such entries never match.
    std::optional<SshKeyType> key_type;
    std::vector<uint8_t> key_blob;
    std::string comment;

    // OpenSSH's rules: the host name is known_hosts_host_name(host, port);
    // a matching `!pattern` excludes the host whatever else matches.
    bool matches_host(std::string_view host, uint16_t port) const;
};

// One line of a known_hosts file. nullopt for blank lines and comments; an
// error (naming line_number when it is not 0) for a malformed line:
// missing fields, bad base64, a truncated key blob, a blob whose type is not
// the one named, an unknown @marker.
Result<std::optional<KnownHostsEntry>> parse_known_hosts_line(std::string_view line, size_t line_number = 0);

enum class HostKeyStatus {
    Match,    // an entry for the host has this key
    Mismatch, // the host has an entry of this key type, with another key
    NotFound, // no entry for the host with this key type
    Revoked,  // an @revoked line lists this key
};

struct HostKeyMatch {
    HostKeyStatus status { HostKeyStatus::NotFound };
    // The entry that matched, differed or revoked (0 for NotFound).
    size_t line_number { 0 };
    // Key types recorded for the host (any key), in file order.
    std::vector<std::string> known_key_types;
    // The host is only covered by @cert-authority lines.
    bool only_cert_authority { false };
};

class KnownHosts {
public:
    // Malformed lines are skipped, as OpenSSH does, and kept in skipped():
    // they can only make a host look unknown, never known.
    static KnownHosts parse(std::string_view text, std::string source_name);
    // A missing file is an error: with no known_hosts no host is trusted.
    static Result<KnownHosts> load(std::string const& path);

    HostKeyMatch match(std::string_view host, uint16_t port, std::string_view key_type_name, std::span<uint8_t const> key_blob) const;
    // match() turned into an error for anything but Match, naming the host,
    // key type, SHA256 fingerprint, the known_hosts line, and the fix
    // (`kdump propagate`).
    Result<void> verify(std::string_view host, uint16_t port, std::span<uint8_t const> key_blob) const;
    // Key types recorded for host:port that are neither revoked nor
    // cert-authority lines, in file order, without repeats.
    std::vector<std::string> key_types_for(std::string_view host, uint16_t port) const;

    std::vector<KnownHostsEntry> const& entries() const { return m_entries; }
    std::vector<Error> const& skipped() const { return m_skipped; }
    std::string const& source_name() const { return m_source_name; }

private:
    std::string m_source_name;
    std::vector<KnownHostsEntry> m_entries;
    std::vector<Error> m_skipped;
};

// A line for `kdump propagate` to record (no newline): "host type base64",
// or "[host]:port type base64" for ports other than 22.
std::string format_known_hosts_entry(std::string_view host, uint16_t port, std::string_view key_type_name, std::span<uint8_t const> key_blob);
// The same, hashed as `ssh-keygen -H` does; salt must be 20 bytes.
Result<std::string> format_hashed_known_hosts_entry(std::string_view host, uint16_t port, std::string_view key_type_name, std::span<uint8_t const> key_blob, std::span<uint8_t const> salt);

} // namespace core
