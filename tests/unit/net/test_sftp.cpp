// SPDX-License-Identifier: GPL-2.0-or-later
// core/sftp against a real OpenSSH sshd on 127.0.0.1, started here with its
// own config, keys and authorized_keys in a temporary directory. Skipped
// (with a message) when sshd or ssh-keygen is not installed.
#include "core/net/sftp.h"

#include "core/dump/dump_output.h"
#include "core/net/ssh_key.h"
#include "core/net/ssh_target.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <doctest.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <optional>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr char const* sshd_path = "/usr/sbin/sshd";

bool have_ssh_keygen() { return !test_support::run_output("command -v ssh-keygen").empty(); }

bool run(std::string const& command) { return std::system(command.c_str()) == 0; }

std::string read_file(std::string const& path) { return core::read_text_file(path, 64 << 20).value_or(std::string()); }

bool write_file(std::string const& path, std::string const& text)
{
    auto fd = core::open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    return fd.ok() && core::write_all(fd->get(), text, path).ok() && fd->close_checked(path).ok();
}

uint16_t free_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

bool accepts(uint16_t port)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

// Parent pid of every process, from /proc/PID/stat.
std::map<pid_t, pid_t> parent_pids()
{
    std::map<pid_t, pid_t> parents;
    DIR* proc = ::opendir("/proc");
    if (!proc)
        return parents;
    while (auto* entry = ::readdir(proc)) {
        char* end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (pid <= 0 || *end)
            continue;
        auto stat = read_file(std::string("/proc/") + entry->d_name + "/stat");
        auto close_paren = stat.rfind(')');
        if (close_paren == std::string::npos || close_paren + 4 > stat.size())
            continue;
        // ") S PPID ..."
        parents[static_cast<pid_t>(pid)] = static_cast<pid_t>(std::strtol(stat.c_str() + close_paren + 4, nullptr, 10));
    }
    ::closedir(proc);
    return parents;
}

// One sshd for all tests in this file, stopped at exit.
class SshServer {
public:
    std::string dir;
    uint16_t port { 0 };
    pid_t pid { -1 };
    std::string host_ecdsa_pub; // "type base64 comment" lines
    std::string host_rsa_pub;
    std::string host_ecdsa_fingerprint;

    // nullptr when sshd or ssh-keygen is missing (reason says which).
    static SshServer* get(std::string& reason)
    {
        static std::unique_ptr<SshServer> server;
        static std::string why;
        static bool tried = false;
        if (!tried) {
            tried = true;
            if (::access(sshd_path, X_OK) != 0)
                why = "sshd (/usr/sbin/sshd) not installed";
            else if (!have_ssh_keygen())
                why = "ssh-keygen not installed";
            else {
                why = "FAILED: sshd could not be started (see the first sftp test's failure)";
                server = start();
                why.clear();
            }
        }
        reason = why;
        return server.get();
    }

    std::string path(std::string const& name) const { return dir + "/" + name; }

    std::string known_hosts_line(std::string const& pub_line) const { return "[127.0.0.1]:" + std::to_string(port) + " " + pub_line; }

    // A session as root with the ECDSA user key, the ECDSA host key known.
    std::unique_ptr<core::SftpSession> connect_ecdsa() const
    {
        auto known = core::KnownHosts::parse(known_hosts_line(host_ecdsa_pub), "kh");
        auto connect_options = options("user_ecdsa");
        connect_options.known_hosts = &known;
        auto connected = core::SftpSession::connect(connect_options);
        REQUIRE_MESSAGE(connected.ok(), (connected.ok() ? std::string() : connected.error().message()));
        return std::move(connected).value();
    }

    core::SftpConnectOptions options(std::string const& user_key) const
    {
        core::SftpConnectOptions options;
        options.host = "127.0.0.1";
        options.port = port;
        options.user = "root";
        options.private_key_path = path(user_key);
        options.public_key_path = path(user_key + ".pub");
        options.timeout_ms = 5000;
        options.connect_attempts = 1;
        return options;
    }

    // Kills the processes serving connections (not the listener): the
    // client's connection drops mid-transfer.
    void kill_sessions() const
    {
        auto parents = parent_pids();
        std::vector<pid_t> victims;
        std::vector<pid_t> frontier { pid };
        while (!frontier.empty()) {
            pid_t parent = frontier.back();
            frontier.pop_back();
            for (auto [child, its_parent] : parents) {
                if (its_parent == parent) {
                    victims.push_back(child);
                    frontier.push_back(child);
                }
            }
        }
        for (pid_t victim : victims)
            ::kill(victim, SIGKILL);
        MESSAGE("killed ", victims.size(), " sshd session process(es)");
    }

    ~SshServer()
    {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            auto start = Clock::now();
            while (::waitpid(pid, nullptr, WNOHANG) == 0) {
                if (Clock::now() - start > std::chrono::seconds(3)) {
                    ::kill(pid, SIGKILL);
                    ::waitpid(pid, nullptr, 0);
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        if (!dir.empty())
            (void)std::system(("rm -rf '" + dir + "'").c_str());
    }

private:
    static std::unique_ptr<SshServer> start()
    {
        auto server = std::make_unique<SshServer>();
        char name[] = "/tmp/kdumpbox-sshd-XXXXXX";
        REQUIRE(::mkdtemp(name) != nullptr);
        server->dir = name;
        auto const& d = server->dir;
        ::mkdir("/run/sshd", 0755); // privilege separation directory

        auto keygen = [&](std::string const& file, std::string const& args) {
            REQUIRE_MESSAGE(run("ssh-keygen -q -N '' -C kdumpbox-test " + args + " -f " + d + "/" + file + " >/dev/null 2>&1"), "ssh-keygen ", args);
        };
        keygen("host_ecdsa", "-t ecdsa -b 256");
        keygen("host_rsa", "-t rsa -b 2048");
        keygen("other_host_ecdsa", "-t ecdsa -b 256");
        keygen("user_rsa_pem", "-t rsa -b 2048 -m PEM");
        keygen("user_rsa_openssh", "-t rsa -b 2048");
        keygen("user_ecdsa", "-t ecdsa -b 384");
        keygen("user_ed25519", "-t ed25519");
        REQUIRE(run("cat " + d + "/user_*.pub > " + d + "/authorized_keys"));
        server->host_ecdsa_pub = std::string(core::trim(read_file(d + "/host_ecdsa.pub")));
        server->host_rsa_pub = std::string(core::trim(read_file(d + "/host_rsa.pub")));
        auto listed = test_support::run_output("ssh-keygen -l -E sha256 -f " + d + "/host_ecdsa.pub");
        auto at = listed.find("SHA256:");
        REQUIRE(at != std::string::npos);
        server->host_ecdsa_fingerprint = listed.substr(at, listed.find(' ', at) - at);

        server->port = free_port();
        std::string config = "Port " + std::to_string(server->port) + "\n"
            + "ListenAddress 127.0.0.1\n"
            + "HostKey " + d + "/host_ecdsa\n"
            + "HostKey " + d + "/host_rsa\n"
            + "AuthorizedKeysFile " + d + "/authorized_keys\n"
            + "StrictModes no\nUsePAM no\n"
            + "PidFile " + d + "/sshd.pid\n"
            + "Subsystem sftp internal-sftp\n"
            + "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            + "LogLevel VERBOSE\n";
        REQUIRE(write_file(d + "/sshd_config", config));

        std::string config_path = d + "/sshd_config";
        std::string log_path = d + "/sshd.log";
        pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (log >= 0) {
                ::dup2(log, 1);
                ::dup2(log, 2);
            }
            ::execl(sshd_path, sshd_path, "-D", "-e", "-f", config_path.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        server->pid = child;
        auto start_time = Clock::now();
        while (!accepts(server->port)) {
            int status = 0;
            if (::waitpid(child, &status, WNOHANG) == child) {
                server->pid = -1;
                FAIL("sshd exited at start: ", read_file(log_path));
            }
            if (Clock::now() - start_time > std::chrono::seconds(10))
                FAIL("sshd did not accept connections within 10 s: ", read_file(log_path));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return server;
    }
};

#define SSHD_OR_SKIP(server)                                          \
    std::string skip_reason;                                          \
    SshServer* server = SshServer::get(skip_reason);                  \
    if (!server) {                                                    \
        if (skip_reason.starts_with("FAILED"))                        \
            FAIL(skip_reason);                                        \
        SKIP_TEST("no sshd: " + skip_reason);                         \
    }

std::vector<uint8_t> pattern(size_t size, uint32_t seed)
{
    std::vector<uint8_t> bytes(size);
    uint32_t state = seed;
    for (auto& byte : bytes) {
        state = state * 1103515245u + 12345u;
        byte = static_cast<uint8_t>(state >> 16);
    }
    return bytes;
}

} // namespace

TEST_CASE("sftp: host key checked against known_hosts before authentication")
{
    SSHD_OR_SKIP(server);

    SUBCASE("the recorded ECDSA host key is accepted")
    {
        auto known = core::KnownHosts::parse(server->known_hosts_line(server->host_ecdsa_pub), "kh");
        auto options = server->options("user_ecdsa");
        options.known_hosts = &known;
        auto session = core::SftpSession::connect(options);
        REQUIRE_MESSAGE(session.ok(), (session.ok() ? std::string() : session.error().message()));
        CHECK((*session)->host_key_type() == "ecdsa-sha2-nistp256");
        CHECK((*session)->host_key_fingerprint() == server->host_ecdsa_fingerprint);
    }
    SUBCASE("an RSA-only entry makes the client ask for the RSA host key")
    {
        std::string file = server->path("known_hosts_rsa");
        REQUIRE(write_file(file, "# propagated\n" + server->known_hosts_line(server->host_rsa_pub) + "\n"));
        auto options = server->options("user_ecdsa");
        options.known_hosts_path = file;
        auto session = core::SftpSession::connect(options);
        REQUIRE_MESSAGE(session.ok(), (session.ok() ? std::string() : session.error().message()));
        CHECK((*session)->host_key_type() == "ssh-rsa");
    }
    SUBCASE("a hashed entry (ssh-keygen -H) is accepted")
    {
        std::string file = server->path("known_hosts_hashed");
        REQUIRE(write_file(file, server->known_hosts_line(server->host_ecdsa_pub) + "\n"));
        REQUIRE(run("ssh-keygen -q -H -f " + file + " >/dev/null 2>&1"));
        auto known = core::KnownHosts::load(file);
        REQUIRE(known.ok());
        REQUIRE(known->entries().size() == 1);
        CHECK(known->entries()[0].hashed);
        auto options = server->options("user_rsa_pem");
        options.known_hosts = &*known;
        auto session = core::SftpSession::connect(options);
        CHECK_MESSAGE(session.ok(), (session.ok() ? std::string() : session.error().message()));
    }
    SUBCASE("a different key is refused, naming the fingerprint")
    {
        auto other = std::string(core::trim(read_file(server->path("other_host_ecdsa.pub"))));
        auto known = core::KnownHosts::parse(server->known_hosts_line(other), "/etc/kdump/known_hosts");
        auto options = server->options("user_ecdsa");
        options.known_hosts = &known;
        auto session = core::SftpSession::connect(options);
        REQUIRE_FALSE(session.ok());
        auto const& message = session.error().message();
        CHECK(session.error().errno_code() == EPERM);
        CHECK(message.find("HOST KEY MISMATCH for [127.0.0.1]:" + std::to_string(server->port)) != std::string::npos);
        CHECK(message.find("ecdsa-sha2-nistp256 key " + server->host_ecdsa_fingerprint) != std::string::npos);
        CHECK(message.find("kdump propagate") != std::string::npos);
    }
    SUBCASE("no entry, or a plain entry (port 22 only), is refused")
    {
        for (std::string text : { std::string(), "127.0.0.1 " + server->host_ecdsa_pub + "\n" }) {
            auto known = core::KnownHosts::parse(text, "kh");
            auto options = server->options("user_ecdsa");
            options.known_hosts = &known;
            auto session = core::SftpSession::connect(options);
            REQUIRE_FALSE(session.ok());
            CHECK(session.error().errno_code() == EPERM);
            CHECK(session.error().message().find("is not known") != std::string::npos);
            CHECK(session.error().message().find(server->host_ecdsa_fingerprint) != std::string::npos);
            CHECK(session.error().message().find("never trusting a key on first use") != std::string::npos);
        }
    }
    SUBCASE("a missing known_hosts file is refused")
    {
        auto options = server->options("user_ecdsa");
        options.known_hosts_path = server->path("no_such_known_hosts");
        auto session = core::SftpSession::connect(options);
        REQUIRE_FALSE(session.ok());
        CHECK(session.error().errno_code() == ENOENT);
        CHECK(session.error().message().find("kdump propagate") != std::string::npos);
    }
}

TEST_CASE("sftp: user keys: RSA PEM and ECDSA work, Ed25519 is refused clearly")
{
    SSHD_OR_SKIP(server);
    auto known = core::KnownHosts::parse(server->known_hosts_line(server->host_ecdsa_pub), "kh");
    for (char const* key : { "user_rsa_pem", "user_ecdsa" }) {
        CAPTURE(key);
        auto options = server->options(key);
        options.known_hosts = &known;
        auto session = core::SftpSession::connect(options);
        CHECK_MESSAGE(session.ok(), (session.ok() ? std::string() : session.error().message()));
    }

    auto options = server->options("user_ed25519");
    options.known_hosts = &known;
    auto refused = core::SftpSession::connect(options);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == ENOTSUP);
    CHECK(refused.error().message().find("sshkey " + server->path("user_ed25519") + " is an Ed25519 key, which kdumpbox cannot use") != std::string::npos);
    CHECK(refused.error().message().find("ssh-keygen -t ecdsa") != std::string::npos);

    // An RSA key in OpenSSH's own format: libssh2+mbedTLS cannot read it;
    // if it fails, the error says how to convert it.
    options = server->options("user_rsa_openssh");
    options.known_hosts = &known;
    auto openssh_rsa = core::SftpSession::connect(options);
    MESSAGE("RSA key in OpenSSH format: ", (openssh_rsa.ok() ? std::string("accepted") : openssh_rsa.error().message()));
    if (!openssh_rsa.ok()) {
        CHECK(openssh_rsa.error().message().find(server->path("user_rsa_openssh")) != std::string::npos);
        CHECK(openssh_rsa.error().message().find("ssh-keygen -p -m PEM") != std::string::npos);
    }

    options = server->options("user_ecdsa");
    options.known_hosts = &known;
    options.public_key_path = server->path("missing.pub");
    auto missing = core::SftpSession::connect(options);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
    CHECK(missing.error().message().find("missing.pub") != std::string::npos);
}

TEST_CASE("sftp: connect retries a server that is down, within bounds")
{
    SSHD_OR_SKIP(server);
    auto known = core::KnownHosts::parse("", "kh");
    auto options = server->options("user_ecdsa");
    options.known_hosts = &known;
    options.port = free_port(); // nothing listens there
    options.connect_attempts = 3;
    options.retry_delay_ms = 100;
    options.retry_total_ms = 5000;
    auto start = Clock::now();
    auto session = core::SftpSession::connect(options);
    auto elapsed = Clock::now() - start;
    REQUIRE_FALSE(session.ok());
    CHECK(session.error().errno_code() == ECONNREFUSED);
    CHECK(session.error().message().find("gave up after 3 attempts") != std::string::npos);
    CHECK(elapsed >= std::chrono::milliseconds(200));
    CHECK(elapsed < std::chrono::seconds(5));

    options.retry_total_ms = 150; // time runs out before the third try
    session = core::SftpSession::connect(options);
    REQUIRE_FALSE(session.ok());
    CHECK(session.error().message().find("gave up after 2 attempts") != std::string::npos);

    // A server that takes the TCP connection but never speaks: the
    // handshake gives up after timeout_ms.
    int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(silent >= 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(silent, 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    options.port = ntohs(address.sin_port);
    options.connect_attempts = 1;
    options.timeout_ms = 500;
    start = Clock::now();
    session = core::SftpSession::connect(options);
    elapsed = Clock::now() - start;
    ::close(silent);
    REQUIRE_FALSE(session.ok());
    MESSAGE(session.error().message());
    CHECK(session.error().errno_code() == ETIMEDOUT);
    CHECK(session.error().message().find("SSH handshake failed: no answer within 500 ms") != std::string::npos);
    CHECK(elapsed < std::chrono::seconds(3));
}

TEST_CASE("sftp: mkdir -p, random-access SftpSink, posix_rename, stat, remove")
{
    SSHD_OR_SKIP(server);
    auto connected = server->connect_ecdsa();
    auto& session = *connected;

    std::string remote = server->path("crash/127.0.0.1-2026-12-01");
    REQUIRE(session.mkdir_p(remote).ok());
    REQUIRE(session.mkdir_p(remote + "/").ok()); // already there
    auto made = session.stat(remote);
    REQUIRE(made.ok());
    CHECK(made->is_directory());
    REQUIRE(write_file(server->path("plainfile"), "x"));
    auto through_file = session.mkdir_p(server->path("plainfile/sub"));
    REQUIRE_FALSE(through_file.ok());
    CHECK(through_file.error().errno_code() == ENOTDIR);

    // A 5 MiB file written in scrambled order, header patched last.
    constexpr size_t total = 5 * 1024 * 1024 + 12345;
    auto expected = pattern(total, 42);
    auto sink = session.open_for_write(remote + "/vmcore-incomplete");
    REQUIRE_MESSAGE(sink.ok(), (sink.ok() ? std::string() : sink.error().message()));
    CHECK((*sink)->can_rewrite());
    std::vector<std::pair<size_t, size_t>> pieces;
    for (size_t offset = 4096; offset < total; offset += 300001)
        pieces.emplace_back(offset, std::min<size_t>(300001, total - offset));
    for (size_t i = 0; i < pieces.size(); ++i) {
        auto [offset, length] = pieces[(i * 7) % pieces.size()]; // 7 is coprime to the count
        REQUIRE((*sink)->write_at(offset, std::span(expected).subspan(offset, length)).ok());
    }
    auto placeholder = pattern(4096, 7);
    REQUIRE((*sink)->write_at(0, placeholder).ok());
    REQUIRE((*sink)->write_at(0, std::span(expected).first(4096)).ok());
    CHECK((*sink)->bytes_written() == total);
    REQUIRE((*sink)->finish().ok());
    CHECK((*sink)->synced());
    CHECK_FALSE((*sink)->write_at(0, placeholder).ok()); // closed
    auto written = read_file(remote + "/vmcore-incomplete");
    CHECK(written.size() == total);
    CHECK((written == std::string(expected.begin(), expected.end())));
    struct stat local {};
    REQUIRE(::stat((remote + "/vmcore-incomplete").c_str(), &local) == 0);
    CHECK((local.st_mode & 0777) == 0600);
    auto remote_stat = session.stat(remote + "/vmcore-incomplete");
    REQUIRE(remote_stat.ok());
    CHECK(remote_stat->is_regular());
    CHECK(remote_stat->size == total);

    // Rename over an existing file (plain SFTP rename would refuse).
    {
        auto old = session.open_for_write(remote + "/vmcore");
        REQUIRE(old.ok());
        std::string text = "old dump";
        REQUIRE((*old)->write_at(0, std::span(reinterpret_cast<uint8_t const*>(text.data()), text.size())).ok());
        REQUIRE((*old)->finish().ok());
    }
    REQUIRE(session.posix_rename(remote + "/vmcore-incomplete", remote + "/vmcore").ok());
    CHECK((read_file(remote + "/vmcore") == std::string(expected.begin(), expected.end())));
    auto gone = session.stat(remote + "/vmcore-incomplete");
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().errno_code() == ENOENT);
    CHECK(gone.error().message().find("sftp stat root@[127.0.0.1]:") == 0);

    REQUIRE(session.remove(remote + "/vmcore").ok());
    auto again = session.remove(remote + "/vmcore");
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().errno_code() == ENOENT);

    auto denied = session.open_for_write(server->path("no/such/dir/file"));
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.error().errno_code() == ENOENT);
}

TEST_CASE("ssh target: a flattened stream becomes an ordinary file on the server; text files are renamed")
{
    SSHD_OR_SKIP(server);
    auto connected = server->connect_ecdsa();
    auto& session = *connected;
    std::string remote = server->path("stream/10.0.2.15-2026-01-01-00:00:00");
    REQUIRE(session.mkdir_p(remote).ok());

    auto text = core::sftp_write_file_safely(session, remote, "vmcore-dmesg.txt", "the log\n");
    REQUIRE_MESSAGE(text.ok(), (text.ok() ? std::string() : text.error().message()));
    CHECK(read_file(remote + "/vmcore-dmesg.txt") == "the log\n");
    CHECK(::access((remote + "/vmcore-dmesg.txt-incomplete").c_str(), F_OK) != 0);

    // Out of order and rewritten, as the collector's header patch at the end.
    constexpr size_t total = 3 * 1024 * 1024 + 77;
    auto expected = pattern(total, 7);
    auto saved = core::sftp_save_flattened_stream(session, remote, "vmcore", [&](int fd) -> core::Result<void> {
        auto sink = TRY(core::FlattenedSink::create(fd, "the test stream"));
        std::vector<uint8_t> zeros(4096, 0);
        TRY(sink->write_at(0, zeros));
        TRY(sink->write_at(total / 2, std::span(expected).subspan(total / 2)));
        TRY(sink->write_at(4096, std::span(expected).subspan(4096, total / 2 - 4096)));
        TRY(sink->write_at(0, std::span(expected).first(4096)));
        return sink->finish();
    });
    REQUIRE_MESSAGE(saved.ok(), (saved.ok() ? std::string() : saved.error().message()));
    CHECK(*saved == total);
    auto got = read_file(remote + "/vmcore");
    CHECK(got.size() == total);
    CHECK((got == std::string(expected.begin(), expected.end())));
    CHECK(::access((remote + "/vmcore-incomplete").c_str(), F_OK) != 0);

    SUBCASE("a producer that fails leaves NAME-incomplete and says so")
    {
        auto failed = core::sftp_save_flattened_stream(session, remote, "broken", [&](int fd) -> core::Result<void> {
            auto sink = TRY(core::FlattenedSink::create(fd, "the test stream"));
            TRY(sink->write_at(0, std::span(expected).first(8192)));
            return core::Error::with_code(EIO, "reading /proc/vmcore: Input/output error");
        });
        REQUIRE_FALSE(failed.ok());
        CHECK(failed.error().message().find("the dump is incomplete; what arrived is in root@[127.0.0.1]:") == 0);
        CHECK(failed.error().message().find("reading /proc/vmcore") != std::string::npos);
        CHECK(::access((remote + "/broken-incomplete").c_str(), F_OK) == 0);
        CHECK(::access((remote + "/broken").c_str(), F_OK) != 0);
    }
}

TEST_CASE("sftp: a server killed mid-transfer gives a clear write error")
{
    SSHD_OR_SKIP(server);
    auto known = core::KnownHosts::parse(server->known_hosts_line(server->host_ecdsa_pub), "kh");
    auto options = server->options("user_ecdsa");
    options.known_hosts = &known;
    options.timeout_ms = 3000;
    auto connected = core::SftpSession::connect(options);
    REQUIRE_MESSAGE(connected.ok(), (connected.ok() ? std::string() : connected.error().message()));
    auto& session = **connected;
    std::string path = server->path("killed-vmcore");
    auto sink = session.open_for_write(path);
    REQUIRE(sink.ok());
    auto chunk = pattern(1 << 20, 3);
    REQUIRE((*sink)->write_at(0, chunk).ok());

    server->kill_sessions();
    auto start = Clock::now();
    core::Result<void> result;
    uint64_t offset = chunk.size();
    for (int i = 0; i < 64 && result.ok(); ++i, offset += chunk.size())
        result = (*sink)->write_at(offset, chunk);
    REQUIRE_FALSE(result.ok());
    CHECK(Clock::now() - start < std::chrono::seconds(10));
    auto const& message = result.error().message();
    MESSAGE(message);
    CHECK((result.error().errno_code() == ECONNRESET || result.error().errno_code() == ETIMEDOUT));
    CHECK(message.find("sftp write to root@[127.0.0.1]:" + std::to_string(server->port) + ":" + path + " at offset 0x") == 0);
    CHECK((message.find("connection lost") != std::string::npos || message.find("timed out") != std::string::npos));

    // Everything after fails at once.
    auto later = Clock::now();
    CHECK_FALSE((*sink)->write_at(0, chunk).ok());
    CHECK_FALSE((*sink)->finish().ok());
    CHECK_FALSE(session.stat(path).ok());
    CHECK(Clock::now() - later < std::chrono::seconds(1));
}

TEST_CASE("kdump propagate: records the server's host key, installs the key, proves the login")
{
    SSHD_OR_SKIP(server);
    if (::access("/usr/bin/ssh-copy-id", X_OK) != 0 || ::access("/usr/bin/ssh-keyscan", X_OK) != 0) {
        SKIP_TEST("ssh-copy-id or ssh-keyscan not installed (openssh-client)");
    }
    // propagate writes the system's record (/var/lib/kdumpbox/known_hosts):
    // keep what was there and put it back.
    std::string recorded(core::propagated_known_hosts_path);
    auto before = core::read_text_file(recorded);
    struct Restore {
        std::string path;
        std::optional<std::string> text;
        ~Restore()
        {
            if (text)
                (void)core::write_text_atomically(path, *text);
            else
                ::unlink(path.c_str());
        }
    } restore { recorded, before.ok() ? std::optional<std::string>(before.value()) : std::nullopt };

    core::KdumpConfig config;
    config.target.kind = core::TargetKind::Ssh;
    config.target.host = "127.0.0.1";
    config.target.ssh_user = "root";
    config.ssh_port = server->port;
    // A key the server already has in authorized_keys: ssh-copy-id then
    // needs no password (it finds the key installed), so this runs unattended.
    config.sshkey = server->path("user_rsa_pem");

    // A fingerprint that is not the server's: refused before anything is
    // recorded or installed.
    auto before_refusal = core::read_text_file(recorded);
    auto mismatch = core::propagate_ssh_key(config, core::HostKeyTrust { std::string("SHA256:") + std::string(43, 'A'), {} });
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.error().message().find("is not SHA256:AAAA") != std::string::npos);
    CHECK(mismatch.error().message().find(server->host_ecdsa_fingerprint) != std::string::npos);
    CHECK(core::read_text_file(recorded).ok() == before_refusal.ok());
    // Asked, and told no.
    auto declined = core::propagate_ssh_key(config, core::HostKeyTrust { std::nullopt, [](std::vector<std::string> const&) -> core::Result<bool> { return false; } });
    REQUIRE_FALSE(declined.ok());
    CHECK(declined.error().message().find("was not trusted; nothing was recorded") != std::string::npos);

    auto report = core::propagate_ssh_key(config, core::HostKeyTrust { server->host_ecdsa_fingerprint, {} });
    REQUIRE_MESSAGE(report.ok(), (report.ok() ? std::string() : report.error().message()));
    std::string steps = core::join(report.value().steps, "\n");
    INFO(steps);
    CHECK(steps.find("recorded the host key") != std::string::npos);
    CHECK(steps.find(server->host_ecdsa_fingerprint) != std::string::npos);
    auto written = core::read_text_file(recorded);
    REQUIRE(written.ok());
    // What the capture side will check: the key whose fingerprint was
    // given, and only that one.
    CHECK(written.value().find(core::trim(core::split(server->host_ecdsa_pub, ' ')[1])) != std::string::npos);
    CHECK(written.value().find(core::trim(core::split(server->host_rsa_pub, ' ')[1])) == std::string::npos);
    auto session = core::connect_ssh_target(config, recorded);
    CHECK_MESSAGE(session.ok(), (session.ok() ? std::string() : session.error().message()));
}

TEST_CASE("kdump start's ssh check: logs in with the converted key and only the recorded host key, makes the dump directory")
{
    SSHD_OR_SKIP(server);
    core::KdumpConfig config;
    config.target.kind = core::TargetKind::Ssh;
    config.target.host = "127.0.0.1";
    config.target.ssh_user = "root";
    config.ssh_port = server->port;
    // ssh-keygen's default format, which libssh2 with mbedTLS cannot read
    // for RSA: the check logs in with its PEM conversion.
    config.sshkey = server->path("user_rsa_openssh");
    config.path = server->path("start-check/var/crash");
    core::SshCapturePlan plan;
    plan.known_hosts = server->known_hosts_line(server->host_ecdsa_pub) + "\n";
    plan.known_hosts_source = "recorded";
    plan.key = core::read_ssh_private_key(config.sshkey).value();
    REQUIRE(plan.key.file_format == core::SshKeyFileFormat::OpenSsh);

    auto checked = core::check_ssh_target_at_start(config, plan);
    REQUIRE_MESSAGE(checked.ok(), (checked.ok() ? std::string() : checked.error().message()));
    MESSAGE(checked.value());
    CHECK(checked.value().find("logged in to root@[127.0.0.1]:" + std::to_string(server->port) + ":" + config.path + " as the capture kernel will, in ") == 0);
    CHECK(checked.value().find("ssh-rsa, converted from the OpenSSH format to PEM; host key ecdsa-sha2-nistp256 " + server->host_ecdsa_fingerprint) != std::string::npos);
    struct stat made {};
    CHECK((::stat(config.path.c_str(), &made) == 0 && S_ISDIR(made.st_mode)));
    // Again, with the directory there: fine.
    CHECK(core::check_ssh_target_at_start(config, plan).ok());
    // An OpenSSH-format ECDSA key (P-384) too, and no converted copy left
    // behind in /tmp.
    auto ecdsa = config;
    ecdsa.sshkey = server->path("user_ecdsa");
    auto ecdsa_plan = plan;
    ecdsa_plan.key = core::read_ssh_private_key(ecdsa.sshkey).value();
    REQUIRE(ecdsa_plan.key.file_format == core::SshKeyFileFormat::OpenSsh);
    auto ecdsa_checked = core::check_ssh_target_at_start(ecdsa, ecdsa_plan);
    CHECK_MESSAGE(ecdsa_checked.ok(), (ecdsa_checked.ok() ? std::string() : ecdsa_checked.error().message()));
    CHECK(test_support::run_output("ls -d /tmp/kdumpbox-sshkey-* 2>/dev/null").empty());

    // The capture side's connect reads the key the same way.
    std::string known_hosts = server->path("start-check/known_hosts");
    REQUIRE(write_file(known_hosts, plan.known_hosts));
    auto capture_side = core::connect_ssh_target(config, known_hosts);
    CHECK_MESSAGE(capture_side.ok(), (capture_side.ok() ? std::string() : capture_side.error().message()));

    // Another host key recorded: refused, nothing authenticated.
    auto wrong_host = plan;
    wrong_host.known_hosts = server->known_hosts_line(std::string(core::trim(read_file(server->path("other_host_ecdsa.pub"))))) + "\n";
    auto mismatch = core::check_ssh_target_at_start(config, wrong_host);
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.error().message().find("HOST KEY MISMATCH") != std::string::npos);

    // A key the server does not authorize: refused with the server's answer.
    REQUIRE(run("ssh-keygen -q -N '' -t ecdsa -C stranger -f " + server->path("stranger") + " >/dev/null 2>&1"));
    auto stranger = config;
    stranger.sshkey = server->path("stranger");
    auto stranger_plan = plan;
    stranger_plan.key = core::read_ssh_private_key(stranger.sshkey).value();
    auto unauthorized = core::check_ssh_target_at_start(stranger, stranger_plan);
    REQUIRE_FALSE(unauthorized.ok());
    CHECK(unauthorized.error().errno_code() == EACCES);
    CHECK(unauthorized.error().message().find("logging in as the capture kernel will: ssh root@[127.0.0.1]:") == 0);
    CHECK(unauthorized.error().message().find("public key authentication as root with " + stranger.sshkey) != std::string::npos);
    CHECK(unauthorized.error().message().find("authorized_keys") != std::string::npos);
}
