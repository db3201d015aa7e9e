// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/sftp.h"

#include "core/net/ssh_key.h"

#include "core/base/fd.h"
#include "core/base/log.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace core {

namespace detail {

// One SSH connection with its SFTP channel. Sessions and sinks share it, so
// either may be dropped first.
struct SshConnection {
    UniqueFd socket;
    LIBSSH2_SESSION* session { nullptr };
    LIBSSH2_SFTP* sftp { nullptr };
    std::string user;
    std::string host;
    uint16_t port { 22 };
    int timeout_ms { 0 };
    std::string host_key_type;
    std::string host_key_fingerprint;
    // Set once the connection has failed (socket error, timeout): later
    // calls fail at once with this errno instead of waiting again.
    int lost_errno { 0 };
    std::string lost_reason;

    SshConnection() = default;
    SshConnection(SshConnection const&) = delete;
    SshConnection& operator=(SshConnection const&) = delete;
    ~SshConnection()
    {
        if (sftp)
            libssh2_sftp_shutdown(sftp);
        if (session) {
            if (!lost_errno)
                libssh2_session_disconnect(session, "kdumpbox done");
            libssh2_session_free(session);
        }
    }

    std::string target() const { return port == 22 ? cat(user, "@", host) : cat(user, "@[", host, "]:", port); }
    std::string location(std::string_view path) const { return cat(target(), ":", path); }
};

} // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

int elapsed_ms(Clock::time_point since) { return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count()); }

Result<void> initialise_libssh2()
{
    static int const rc = libssh2_init(0);
    if (rc != 0)
        return Error::with_code(EIO, cat("libssh2_init failed (", rc, ")"));
    return {};
}

std::string last_session_message(LIBSSH2_SESSION* session, int* code_out = nullptr)
{
    char* message = nullptr;
    int length = 0;
    int code = libssh2_session_last_error(session, &message, &length, 0);
    if (code_out)
        *code_out = code;
    if (!message || length <= 0)
        return cat("libssh2 error ", code);
    return cat(std::string_view(message, static_cast<size_t>(length)), " (libssh2 ", code, ")");
}

struct StatusInfo {
    int errno_code;
    char const* text;
};

StatusInfo sftp_status_info(unsigned long status)
{
    switch (status) {
    case LIBSSH2_FX_EOF: return { EIO, "unexpected end of file" };
    case LIBSSH2_FX_NO_SUCH_FILE: return { ENOENT, "no such file" };
    case LIBSSH2_FX_PERMISSION_DENIED: return { EACCES, "permission denied" };
    case LIBSSH2_FX_FAILURE: return { EIO, "the server reported a failure" };
    case LIBSSH2_FX_BAD_MESSAGE: return { EPROTO, "bad SFTP message" };
    case LIBSSH2_FX_NO_CONNECTION: return { ENOTCONN, "no connection" };
    case LIBSSH2_FX_CONNECTION_LOST: return { ECONNRESET, "connection lost" };
    case LIBSSH2_FX_OP_UNSUPPORTED: return { ENOTSUP, "operation not supported by the server" };
    case LIBSSH2_FX_INVALID_HANDLE: return { EBADF, "invalid handle" };
    case LIBSSH2_FX_NO_SUCH_PATH: return { ENOENT, "no such path" };
    case LIBSSH2_FX_FILE_ALREADY_EXISTS: return { EEXIST, "file already exists" };
    case LIBSSH2_FX_WRITE_PROTECT: return { EROFS, "write protected" };
    case LIBSSH2_FX_NO_MEDIA: return { ENOMEDIUM, "no media" };
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return { ENOSPC, "no space left on the server's file system" };
    case LIBSSH2_FX_QUOTA_EXCEEDED: return { EDQUOT, "quota exceeded" };
    case LIBSSH2_FX_DIR_NOT_EMPTY: return { ENOTEMPTY, "directory not empty" };
    case LIBSSH2_FX_NOT_A_DIRECTORY: return { ENOTDIR, "not a directory" };
    case LIBSSH2_FX_INVALID_FILENAME: return { EINVAL, "invalid file name" };
    case LIBSSH2_FX_LINK_LOOP: return { ELOOP, "too many symbolic links" };
    default: return { EIO, "SFTP error" };
    }
}

bool is_connection_error(int code)
{
    switch (code) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_CHANNEL_CLOSED:
    case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
        return true;
    default:
        return false;
    }
}

// The error for the libssh2 call that just failed: `what` says what was
// being done. A lost connection is remembered on the connection.
Error connection_error(detail::SshConnection& connection, std::string const& what)
{
    if (connection.lost_errno)
        return Error::with_code(connection.lost_errno, cat(what, ": ", connection.lost_reason));
    int code = 0;
    std::string message = last_session_message(connection.session, &code);
    if (code == LIBSSH2_ERROR_SFTP_PROTOCOL && connection.sftp) {
        unsigned long status = libssh2_sftp_last_error(connection.sftp);
        auto info = sftp_status_info(status);
        return Error::with_code(info.errno_code, cat(what, ": ", info.text, " (SFTP status ", status, ")"));
    }
    if (is_connection_error(code)) {
        bool timed_out = code == LIBSSH2_ERROR_TIMEOUT || code == LIBSSH2_ERROR_SOCKET_TIMEOUT;
        connection.lost_errno = timed_out ? ETIMEDOUT : ECONNRESET;
        connection.lost_reason = timed_out ? cat("timed out after ", connection.timeout_ms, " ms (", message, ")") : cat("connection lost (", message, ")");
        return Error::with_code(connection.lost_errno, cat(what, ": ", connection.lost_reason));
    }
    if (code == LIBSSH2_ERROR_ALLOC)
        return Error::with_code(ENOMEM, cat(what, ": ", message));
    return Error::with_code(EIO, cat(what, ": ", message));
}

// TCP connect to every address of host in turn, bounded by timeout_ms in
// all. The socket is left blocking (libssh2's timeout bounds each call).
Result<UniqueFd> tcp_connect(std::string const& host, uint16_t port, int timeout_ms)
{
    addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* addresses = nullptr;
    std::string service = cat(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses);
    if (rc != 0) {
        int code = rc == EAI_AGAIN ? EAGAIN : rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
        return Error::with_code(code, cat("resolve ", host, ": ", ::gai_strerror(rc)));
    }
    auto start = Clock::now();
    Error last = Error::with_code(EHOSTUNREACH, cat("connect ", host, ": no address"));
    for (auto* address = addresses; address; address = address->ai_next) {
        UniqueFd fd(::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, address->ai_protocol));
        if (!fd.valid()) {
            last = Error::from_errno("socket");
            continue;
        }
        if (::connect(fd.get(), address->ai_addr, address->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                last = Error::from_errno(cat("connect to port ", port));
                continue;
            }
            int remaining = std::max(0, timeout_ms - elapsed_ms(start));
            pollfd waiting { fd.get(), POLLOUT, 0 };
            int ready;
            do
                ready = ::poll(&waiting, 1, remaining);
            while (ready < 0 && errno == EINTR);
            if (ready == 0) {
                last = Error::with_code(ETIMEDOUT, cat("connect to port ", port, ": no answer within ", timeout_ms, " ms"));
                break;
            }
            int so_error = 0;
            socklen_t length = sizeof so_error;
            if (ready < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &length) != 0) {
                last = Error::from_errno(cat("connect to port ", port));
                continue;
            }
            if (so_error != 0) {
                last = Error::from_errno(so_error, cat("connect to port ", port));
                continue;
            }
        }
        int flags = ::fcntl(fd.get(), F_GETFL);
        if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
            last = Error::from_errno("fcntl O_NONBLOCK");
            continue;
        }
        int one = 1;
        (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::freeaddrinfo(addresses);
        return fd;
    }
    ::freeaddrinfo(addresses);
    return last;
}

bool is_retryable(int errno_code)
{
    switch (errno_code) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EAGAIN:
        return true;
    default:
        return false;
    }
}

// The libssh2 host key algorithm list that puts the types known_hosts has
// for the host first, so a server with several host keys offers the one we
// can check (OpenSSH's client does the same).
std::string host_key_preference(std::vector<std::string> const& known_types)
{
    std::string preference;
    auto add = [&](std::string_view method) {
        if (preference.find(method) != std::string::npos)
            return;
        if (!preference.empty())
            preference.push_back(',');
        preference.append(method);
    };
    for (auto const& name : known_types) {
        auto type = ssh_key_type_from_name(name);
        if (!type || !ssh_key_type_supported(*type))
            continue;
        if (*type == SshKeyType::Rsa) {
            add("rsa-sha2-512");
            add("rsa-sha2-256");
        } else {
            add(name);
        }
    }
    return preference;
}

// The key type a public key file names ("ssh-rsa AAAA... comment").
Result<std::string> public_key_type(std::string const& path)
{
    auto text = read_text_file(path, 64 << 10);
    if (!text)
        return Error::with_code(text.error().errno_code(), cat("public key ", text.error().message()));
    auto line = trim(*text);
    auto space = line.find_first_of(" \t");
    if (line.empty() || space == std::string_view::npos)
        return Error::invalid(cat("public key ", path, ": not an OpenSSH public key line (type base64 [comment])"));
    return std::string(line.substr(0, space));
}

struct Attempt {
    Result<std::shared_ptr<detail::SshConnection>> result;
    bool retryable { false };
};

Attempt connect_once(SftpConnectOptions const& options, KnownHosts const& known_hosts, std::string const& key_type)
{
    auto connection = std::make_shared<detail::SshConnection>();
    connection->user = options.user;
    connection->host = options.host;
    connection->port = options.port;
    connection->timeout_ms = options.timeout_ms;
    auto fail = [&](Error error, bool retryable = false) -> Attempt {
        return { std::move(error).with_context(cat("ssh ", connection->target())), retryable };
    };

    auto socket = tcp_connect(options.host, options.port, options.timeout_ms);
    if (!socket) {
        bool retryable = is_retryable(socket.error().errno_code());
        return fail(std::move(socket).error(), retryable);
    }
    connection->socket = std::move(socket).release_value();

    connection->session = libssh2_session_init_ex(nullptr, nullptr, nullptr, nullptr);
    if (!connection->session)
        return fail(Error::with_code(ENOMEM, "libssh2_session_init failed"));
    libssh2_session_set_blocking(connection->session, 1);
    libssh2_session_set_timeout(connection->session, options.timeout_ms);
    auto preference = host_key_preference(known_hosts.key_types_for(options.host, options.port));
    if (!preference.empty() && libssh2_session_method_pref(connection->session, LIBSSH2_METHOD_HOSTKEY, preference.c_str()) != 0)
        log::debug(cat("ssh ", connection->target(), ": could not prefer host key types ", preference, ": ", last_session_message(connection->session)));

    if (libssh2_session_handshake(connection->session, connection->socket.get()) != 0) {
        int code = 0;
        std::string message = last_session_message(connection->session, &code);
        bool lost = is_connection_error(code);
        bool timed_out = code == LIBSSH2_ERROR_TIMEOUT || code == LIBSSH2_ERROR_SOCKET_TIMEOUT;
        int errno_code = timed_out ? ETIMEDOUT : lost ? ECONNRESET : EPROTO;
        if (timed_out)
            message = cat("no answer within ", options.timeout_ms, " ms (", message, ")");
        connection->lost_errno = errno_code;
        connection->lost_reason = message;
        return fail(Error::with_code(errno_code, cat("SSH handshake failed: ", message)), lost);
    }

    // The host key, checked before anything is sent that a fake server
    // could use: user name, key, data.
    size_t key_length = 0;
    int key_kind = 0;
    char const* key = libssh2_session_hostkey(connection->session, &key_length, &key_kind);
    if (!key || key_length == 0)
        return fail(Error::with_code(EPROTO, "the server sent no host key"));
    std::span<uint8_t const> blob { reinterpret_cast<uint8_t const*>(key), key_length };
    auto type_name = ssh_key_blob_type(blob);
    if (!type_name)
        return fail(Error::with_code(EPROTO, cat("host key: ", type_name.error().message())));
    connection->host_key_type = *type_name;
    connection->host_key_fingerprint = ssh_fingerprint_sha256(blob);
    if (auto verified = known_hosts.verify(options.host, options.port, blob); !verified)
        return fail(std::move(verified).error());

    std::string const& key_file = options.private_key_read_from.empty() ? options.private_key_path : options.private_key_read_from;
    int rc = libssh2_userauth_publickey_fromfile_ex(connection->session, options.user.c_str(), static_cast<unsigned>(options.user.size()), options.public_key_path.c_str(), key_file.c_str(), "");
    if (rc != 0) {
        int code = 0;
        std::string message = last_session_message(connection->session, &code);
        std::string hint;
        auto private_text = read_text_file(key_file, 64 << 10);
        bool openssh_format = private_text && private_text->find("-----BEGIN OPENSSH PRIVATE KEY-----") != std::string::npos;
        if (key_type == "ssh-rsa" && openssh_format)
            hint = cat("; this build reads RSA private keys only in PEM or PKCS#8 format: convert it with ssh-keygen -p -m PEM -f ", options.private_key_path, ", or use an ECDSA key");
        else if (code == LIBSSH2_ERROR_AUTHENTICATION_FAILED || code == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
            hint = cat("; is ", options.public_key_path, " in ", options.user, "'s authorized_keys on the server? `kdump propagate` installs it");
        bool lost = is_connection_error(code);
        return fail(Error::with_code(lost ? ECONNRESET : EACCES, cat("public key authentication as ", options.user, " with ", options.private_key_path, " (", key_type, ") failed: ", message, hint)), lost);
    }

    connection->sftp = libssh2_sftp_init(connection->session);
    if (!connection->sftp) {
        int code = 0;
        std::string message = last_session_message(connection->session, &code);
        return fail(Error::with_code(is_connection_error(code) ? ECONNRESET : EPROTO, cat("starting the SFTP subsystem failed: ", message, " (is `Subsystem sftp` set in the server's sshd_config?)")));
    }
    return { std::move(connection), false };
}

} // namespace

bool SftpStat::is_directory() const { return has_mode && LIBSSH2_SFTP_S_ISDIR(mode); }
bool SftpStat::is_regular() const { return has_mode && LIBSSH2_SFTP_S_ISREG(mode); }

Result<std::unique_ptr<SftpSession>> SftpSession::connect(SftpConnectOptions const& options)
{
    std::string target = options.port == 22 ? cat(options.user, "@", options.host) : cat(options.user, "@[", options.host, "]:", options.port);
    auto context = cat("ssh ", target);
    if (options.host.empty() || options.user.empty())
        return Error::invalid(cat(context, ": host and user must be set"));
    if (options.private_key_path.empty() || options.public_key_path.empty())
        return Error::invalid(cat(context, ": both the private and the public key file must be given (libssh2 with mbedTLS cannot derive the public key)"));
    TRY(initialise_libssh2());

    // The user key: refuse what this build cannot use before connecting.
    auto key_type = TRY(public_key_type(options.public_key_path).context(context));
    if (auto type = ssh_key_type_from_name(key_type); !type || !ssh_key_type_supported(*type))
        return unsupported_sshkey_error(options.private_key_path, key_type).with_context(context);
    std::string const& key_file = options.private_key_read_from.empty() ? options.private_key_path : options.private_key_read_from;
    if (::access(key_file.c_str(), R_OK) != 0)
        return Error::from_errno(cat(context, ": private key ", options.private_key_path));

    KnownHosts loaded;
    KnownHosts const* known_hosts = options.known_hosts;
    if (!known_hosts) {
        if (options.known_hosts_path.empty())
            return Error::invalid(cat(context, ": no known_hosts given; record the host key with `kdump propagate`"));
        loaded = TRY(KnownHosts::load(options.known_hosts_path).context(context));
        known_hosts = &loaded;
    }

    auto start = Clock::now();
    int attempts = std::max(1, options.connect_attempts);
    for (int attempt = 1;; ++attempt) {
        auto outcome = connect_once(options, *known_hosts, key_type);
        if (outcome.result)
            return std::unique_ptr<SftpSession>(new SftpSession(std::move(outcome.result).release_value()));
        bool out_of_time = elapsed_ms(start) + options.retry_delay_ms > options.retry_total_ms;
        if (!outcome.retryable || attempt >= attempts || out_of_time) {
            if (attempt == 1)
                return std::move(outcome.result).error();
            auto const& error = outcome.result.error();
            return Error::with_code(error.errno_code(), cat(error.message(), " (gave up after ", attempt, " attempts in ", elapsed_ms(start), " ms)"));
        }
        log::warn(cat(outcome.result.error().message(), "; retrying in ", options.retry_delay_ms, " ms (attempt ", attempt + 1, " of ", attempts, ")"));
        std::this_thread::sleep_for(std::chrono::milliseconds(options.retry_delay_ms));
    }
}

SftpSession::~SftpSession() = default;

std::string SftpSession::location(std::string_view path) const { return m_connection->location(path); }
std::string const& SftpSession::host_key_type() const { return m_connection->host_key_type; }
std::string const& SftpSession::host_key_fingerprint() const { return m_connection->host_key_fingerprint; }

Result<SftpStat> SftpSession::stat(std::string const& path)
{
    auto what = cat("sftp stat ", location(path));
    if (m_connection->lost_errno)
        return connection_error(*m_connection, what);
    LIBSSH2_SFTP_ATTRIBUTES attributes {};
    if (libssh2_sftp_stat_ex(m_connection->sftp, path.data(), static_cast<unsigned>(path.size()), LIBSSH2_SFTP_STAT, &attributes) != 0)
        return connection_error(*m_connection, what);
    SftpStat result;
    result.has_size = attributes.flags & LIBSSH2_SFTP_ATTR_SIZE;
    result.size = result.has_size ? attributes.filesize : 0;
    result.has_mode = attributes.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS;
    result.mode = result.has_mode ? static_cast<uint32_t>(attributes.permissions) : 0;
    return result;
}

Result<void> SftpSession::mkdir_p(std::string_view path, int mode)
{
    std::string prefix = path.starts_with('/') ? "/" : "";
    for (auto part : split(path, '/')) {
        if (part.empty() || part == ".")
            continue;
        if (!prefix.empty() && prefix.back() != '/')
            prefix.push_back('/');
        prefix.append(part);
        auto existing = stat(prefix);
        if (existing) {
            if (!existing->is_directory())
                return Error::with_code(ENOTDIR, cat("sftp mkdir -p ", location(path), ": ", prefix, " exists and is not a directory"));
            continue;
        }
        if (existing.error().errno_code() != ENOENT)
            return std::move(existing).error();
        if (libssh2_sftp_mkdir_ex(m_connection->sftp, prefix.data(), static_cast<unsigned>(prefix.size()), mode) != 0) {
            auto error = connection_error(*m_connection, cat("sftp mkdir ", location(prefix)));
            // Someone else may have made it meanwhile.
            if (auto again = stat(prefix); again && again->is_directory())
                continue;
            return error;
        }
    }
    return {};
}

Result<std::unique_ptr<SftpSink>> SftpSession::open_for_write(std::string const& path, int mode)
{
    auto what = cat("sftp open ", location(path), " for writing");
    if (m_connection->lost_errno)
        return connection_error(*m_connection, what);
    auto* handle = libssh2_sftp_open_ex(m_connection->sftp, path.data(), static_cast<unsigned>(path.size()), LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, mode, LIBSSH2_SFTP_OPENFILE);
    if (!handle)
        return connection_error(*m_connection, what);
    return std::unique_ptr<SftpSink>(new SftpSink(m_connection, handle, path));
}

Result<void> SftpSession::posix_rename(std::string const& from, std::string const& to)
{
    auto what = cat("sftp rename ", location(from), " to ", to);
    if (m_connection->lost_errno)
        return connection_error(*m_connection, what);
    if (libssh2_sftp_posix_rename_ex(m_connection->sftp, from.data(), from.size(), to.data(), to.size()) != 0)
        return connection_error(*m_connection, what);
    return {};
}

Result<void> SftpSession::remove(std::string const& path)
{
    auto what = cat("sftp remove ", location(path));
    if (m_connection->lost_errno)
        return connection_error(*m_connection, what);
    if (libssh2_sftp_unlink_ex(m_connection->sftp, path.data(), static_cast<unsigned>(path.size())) != 0)
        return connection_error(*m_connection, what);
    return {};
}

SftpSink::SftpSink(std::shared_ptr<detail::SshConnection> connection, void* handle, std::string path)
    : m_connection(std::move(connection))
    , m_handle(handle)
    , m_path(std::move(path))
{
}

SftpSink::~SftpSink()
{
    if (m_handle)
        libssh2_sftp_close_handle(static_cast<LIBSSH2_SFTP_HANDLE*>(m_handle));
}

Result<void> SftpSink::check_usable(std::string_view what) const
{
    if (m_finished || !m_handle)
        return Error::with_code(EBADF, cat(what, ": the file is already closed"));
    if (m_connection->lost_errno)
        return Error::with_code(m_connection->lost_errno, cat(what, ": ", m_connection->lost_reason));
    return {};
}

Result<void> SftpSink::write_at(uint64_t offset, std::span<uint8_t const> data)
{
    // Up to 1 MiB per call: libssh2 copies what it is given into packets,
    // and about 1 MiB gave the best loopback throughput.
    constexpr size_t max_call_bytes = 1 << 20;
    auto what = [&](uint64_t at) { return cat("sftp write to ", m_connection->location(m_path), " at offset ", hex(at)); };
    TRY(check_usable(what(offset)));
    auto* handle = static_cast<LIBSSH2_SFTP_HANDLE*>(m_handle);
    libssh2_sftp_seek64(handle, offset);
    size_t done = 0;
    int zero_writes = 0;
    while (done < data.size()) {
        size_t chunk = std::min(data.size() - done, max_call_bytes);
        ssize_t written = libssh2_sftp_write(handle, reinterpret_cast<char const*>(data.data() + done), chunk);
        if (written < 0)
            return connection_error(*m_connection, what(offset + done));
        if (written == 0) {
            if (++zero_writes > 3)
                return Error::with_code(EIO, cat(what(offset + done), ": the server accepted no data"));
            continue;
        }
        zero_writes = 0;
        done += static_cast<size_t>(written);
        m_bytes_written = std::max(m_bytes_written, offset + done);
    }
    return {};
}

Result<void> SftpSink::finish()
{
    auto location = m_connection->location(m_path);
    TRY(check_usable(cat("sftp finish ", location)));
    auto* handle = static_cast<LIBSSH2_SFTP_HANDLE*>(m_handle);
    if (libssh2_sftp_fsync(handle) == 0) {
        m_synced = true;
    } else {
        int code = libssh2_session_last_errno(m_connection->session);
        if (code == LIBSSH2_ERROR_SFTP_PROTOCOL && libssh2_sftp_last_error(m_connection->sftp) == LIBSSH2_FX_OP_UNSUPPORTED) {
            log::debug(cat("sftp ", location, ": the server has no fsync@openssh.com; closing without fsync"));
        } else {
            auto error = connection_error(*m_connection, cat("sftp fsync ", location));
            m_finished = true;
            m_handle = nullptr;
            libssh2_sftp_close_handle(handle);
            return error;
        }
    }
    m_finished = true;
    m_handle = nullptr;
    if (libssh2_sftp_close_handle(handle) != 0)
        return connection_error(*m_connection, cat("sftp close ", location));
    return {};
}

} // namespace core
