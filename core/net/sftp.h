// SPDX-License-Identifier: GPL-2.0-or-later
// An SFTP client over libssh2 (mbedTLS backend) for ssh dump targets.
//
// connect() checks the server's host key against known_hosts (see
// core/known_hosts.h) before it authenticates, and never trusts a key on
// first use. SftpSink is an OutputSink over a remote file: writes go to
// any offset, so the collector writes an ordinary kdump-compressed file to
// the server instead of a flattened stream; a sequential writer (bytes in
// order) uses it the same way.
//
// What this build's libssh2 can do (OpenSSH 9.2 servers): RSA (rsa-sha2-*)
// and ECDSA host keys; ECDSA user keys in any format, RSA user keys in PEM
// or PKCS#8 only (core/net/ssh_key.h converts OpenSSH-format keys); no
// Ed25519 at all. The public key must be given: the mbedTLS backend cannot
// derive it from the private key.
#pragma once

#include "core/dump/dump_output.h"
#include "core/base/error.h"
#include "core/net/known_hosts.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace core {

struct SftpConnectOptions {
    std::string host;
    uint16_t port { 22 };
    std::string user { "root" };
    std::string private_key_path;
    std::string public_key_path;
    // When set, libssh2 reads the private key from this file instead (kdump
    // start's PEM conversion of an OpenSSH-format key, core/net/ssh_key.h);
    // private_key_path then only names the key in messages.
    std::string private_key_read_from;
    // The host key is checked against known_hosts if it is set, else
    // against the file at known_hosts_path (which must exist).
    KnownHosts const* known_hosts { nullptr };
    std::string known_hosts_path;
    // Bounds the TCP connect and then every blocking SSH/SFTP operation.
    int timeout_ms { 15000 };
    // "Server down" (refused, unreachable, timed out, reset during the
    // handshake) is retried, at most this many attempts in all and not
    // after retry_total_ms since the first; host key and authentication
    // failures are never retried.
    int connect_attempts { 3 };
    int retry_total_ms { 30000 };
    int retry_delay_ms { 1000 };
};

struct SftpStat {
    bool has_size { false };
    uint64_t size { 0 };
    bool has_mode { false };
    uint32_t mode { 0 }; // st_mode style: type and permission bits
    bool is_directory() const;
    bool is_regular() const;
};

class SftpSink;

namespace detail {
struct SshConnection;
}

class SftpSession {
public:
    static Result<std::unique_ptr<SftpSession>> connect(SftpConnectOptions const& options);
    ~SftpSession();
    SftpSession(SftpSession const&) = delete;
    SftpSession& operator=(SftpSession const&) = delete;

    // Creates path and its missing parents (relative paths start at the
    // user's home). An existing directory is fine; an existing non-directory
    // is ENOTDIR.
    Result<void> mkdir_p(std::string_view path, int mode = 0700);
    // Creates or truncates path (mode for a new file) and returns a sink
    // writing to it. The sink keeps the connection alive on its own.
    Result<std::unique_ptr<SftpSink>> open_for_write(std::string const& path, int mode = 0600);
    // posix-rename@openssh.com: replaces an existing `to` atomically (plain
    // SFTP rename refuses to).
    Result<void> posix_rename(std::string const& from, std::string const& to);
    // Follows symlinks. A missing path is an ENOENT error.
    Result<SftpStat> stat(std::string const& path);
    Result<void> remove(std::string const& path);

    // "user@host:path" ("user@[host]:port:path" off port 22), for messages.
    std::string location(std::string_view path) const;
    std::string const& host_key_type() const;
    std::string const& host_key_fingerprint() const;

private:
    explicit SftpSession(std::shared_ptr<detail::SshConnection> connection) : m_connection(std::move(connection)) { }
    std::shared_ptr<detail::SshConnection> m_connection;
};

// A remote file written at random offsets. Errors keep errno-like codes
// (ENOSPC, EACCES, ECONNRESET for a lost connection, ETIMEDOUT) and say
// what failed: "sftp write to root@host:/var/crash/vmcore at offset
// 0x200000: connection lost (...)". Once the connection is lost every later
// call fails at once. finish() asks the server to fsync (fsync@openssh.com,
// skipped when the server lacks it) and closes the file, which reports the
// server's last write errors.
class SftpSink final : public OutputSink {
public:
    ~SftpSink() override;
    SftpSink(SftpSink const&) = delete;
    SftpSink& operator=(SftpSink const&) = delete;

    Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override;
    Result<void> finish() override;
    bool can_rewrite() const override { return true; }
    uint64_t bytes_written() const override { return m_bytes_written; }
    // Whether finish() could fsync (false before finish, or if the server
    // has no fsync@openssh.com).
    bool synced() const { return m_synced; }

private:
    friend class SftpSession;
    SftpSink(std::shared_ptr<detail::SshConnection> connection, void* handle, std::string path);
    Result<void> check_usable(std::string_view what) const;

    std::shared_ptr<detail::SshConnection> m_connection;
    void* m_handle; // LIBSSH2_SFTP_HANDLE
    std::string m_path;
    uint64_t m_bytes_written { 0 };
    bool m_finished { false };
    bool m_synced { false };
};

} // namespace core
