// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/ssh_target.h"

#include "core/dump/dump_output.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/net/known_hosts.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/base/strings.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace core {

namespace {

// The host as known_hosts and libssh2 want it: IPv6 without brackets.
std::string bare_host(std::string const& host)
{
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        return host.substr(1, host.size() - 2);
    return host;
}

// The lines for host:port from one known_hosts text, re-written in plain
// form (a hashed entry cannot be matched by another name, and the capture
// side needs only this host).
std::string lines_for_host(KnownHosts const& known, std::string_view host, uint16_t port, std::vector<std::string>& unsupported)
{
    std::string out;
    for (auto const& entry : known.entries()) {
        if (entry.marker == KnownHostsMarker::CertAuthority || !entry.matches_host(host, port))
            continue;
        if (entry.key_type && !ssh_key_type_supported(*entry.key_type)) {
            unsupported.push_back(entry.key_type_name);
            continue;
        }
        if (entry.marker == KnownHostsMarker::Revoked)
            out += "@revoked ";
        out += format_known_hosts_entry(host, port, entry.key_type_name, entry.key_blob) + "\n";
    }
    return out;
}

CaptureImageFile text_file(std::string path, std::string data, std::string reason)
{
    CaptureImageFile file;
    file.path = std::move(path);
    file.data = std::move(data);
    file.reason = std::move(reason);
    return file;
}

CaptureImageFile copied_file(std::string const& path, uint32_t permissions, std::string reason)
{
    CaptureImageFile file;
    file.path = path;
    file.source_path = path;
    file.permissions = permissions;
    file.reason = std::move(reason);
    return file;
}

ProcessOptions stdout_to(int fd)
{
    ProcessOptions options;
    options.stdout_fd = fd;
    return options;
}

std::string first_word(std::string_view text)
{
    auto line = trim(text);
    return std::string(line.substr(0, line.find_first_of(" \t")));
}

} // namespace

std::string ssh_public_key_path(std::string const& private_key_path) { return private_key_path + ".pub"; }

Result<std::string> recorded_host_keys(std::string_view host, uint16_t port, std::vector<std::string> const& files, std::string* source)
{
    std::vector<std::string> unsupported;
    for (auto const& file : files) {
        auto text = read_text_file(file);
        if (!text.ok())
            continue;
        auto lines = lines_for_host(KnownHosts::parse(text.value(), file), host, port, unsupported);
        if (!lines.empty()) {
            if (source)
                *source = file;
            return lines;
        }
    }
    std::string name = known_hosts_host_name(host, port);
    if (!unsupported.empty())
        return unsupported_host_key_error(unsupported.front(), cat("host key of ", name));
    return Error::with_code(ENOENT, cat("no host key of ", name, " is recorded (looked in ", join(files, ", "),
        "); run 'kdump propagate' to record it: the capture kernel never trusts a host key it has not seen"));
}

Result<SshCapturePlan> plan_ssh_capture(KdumpConfig const& config, SshHostInputs const& inputs)
{
    SshCapturePlan plan;
    std::string host = bare_host(config.target.host);
    plan.known_hosts = TRY(recorded_host_keys(host, config.ssh_port, inputs.known_hosts_files, &plan.known_hosts_source));

    std::string public_key = ssh_public_key_path(config.sshkey);
    if (!path_exists(config.sshkey))
        return Error::with_code(ENOENT, cat("sshkey ", config.sshkey, " does not exist; run 'kdump propagate' to create it and install it on ", config.target.value_text()));
    if (!path_exists(public_key))
        return Error::with_code(ENOENT, cat(public_key, " does not exist (the capture side needs the public key beside sshkey); write it with: ssh-keygen -y -f ", config.sshkey, " > ", public_key));
    auto public_text = TRY(read_text_file(public_key));
    if (auto type = ssh_key_type_from_name(first_word(public_text)); type && !ssh_key_type_supported(*type))
        return unsupported_sshkey_error(config.sshkey, first_word(public_text));
    plan.key = TRY(read_ssh_private_key(config.sshkey));
    TRY(check_ssh_public_key_matches(plan.key, public_text, config.sshkey, public_key));

    std::string target = config.target.value_text();
    auto network = TRY(plan_target_network(host, cat("ssh ", target), inputs.network, inputs.sysfs));
    plan.network = network.network;
    plan.nic_modules = std::move(network.nic_modules);
    plan.files = std::move(network.files);
    plan.files.push_back(text_file(std::string(capture_known_hosts_path), plan.known_hosts, cat("host key of ", target, " from ", plan.known_hosts_source)));
    CaptureImageFile private_key = text_file(config.sshkey, plan.key.pem,
        plan.key.file_format == SshKeyFileFormat::OpenSsh ? "sshkey, converted from the OpenSSH format to PEM (what libssh2 with mbedTLS reads)" : "sshkey");
    private_key.permissions = 0600;
    plan.files.push_back(std::move(private_key));
    plan.files.push_back(copied_file(public_key, 0644, "sshkey's public key"));
    return plan;
}

namespace {

SftpConnectOptions target_options(KdumpConfig const& config)
{
    SftpConnectOptions options;
    options.host = bare_host(config.target.host);
    options.port = config.ssh_port;
    options.user = config.target.ssh_user;
    options.private_key_path = config.sshkey;
    options.public_key_path = ssh_public_key_path(config.sshkey);
    return options;
}

// Connects with key as sshkey's file holds it. A converted (OpenSSH-format)
// key is handed to libssh2 as a file too, as the capture side reads it:
// libssh2 1.11.1 reads an ECDSA key from memory without the NUL that
// mbedTLS needs after PEM text. The file is 0600 in a 0700 directory of
// its own, removed once the login is done.
Result<std::unique_ptr<SftpSession>> connect_with_key(SftpConnectOptions options, SshPrivateKey const& key)
{
    if (key.file_format == SshKeyFileFormat::Pem)
        return SftpSession::connect(options);
    char directory[] = "/tmp/kdumpbox-sshkey-XXXXXX";
    if (!::mkdtemp(directory))
        return Error::from_errno(cat("a private directory for the PEM form of sshkey ", options.private_key_path));
    options.private_key_read_from = cat(directory, "/sshkey.pem");
    Result<std::unique_ptr<SftpSession>> session = Error::invalid("not connected");
    {
        auto file = open_file(options.private_key_read_from, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        Result<void> written = file.ok() ? write_all(file->get(), key.pem, options.private_key_read_from) : Result<void>(std::move(file).error());
        if (written.ok() && file.ok())
            written = file->close_checked(options.private_key_read_from);
        session = written.ok() ? SftpSession::connect(options) : Result<std::unique_ptr<SftpSession>>(std::move(written).error());
    }
    ::unlink(options.private_key_read_from.c_str());
    ::rmdir(directory);
    return session;
}

} // namespace

Result<std::unique_ptr<SftpSession>> connect_ssh_target(KdumpConfig const& config, std::string const& known_hosts_path)
{
    auto key = TRY(read_ssh_private_key(config.sshkey));
    auto options = target_options(config);
    options.known_hosts_path = known_hosts_path;
    return connect_with_key(options, key);
}

Result<std::string> check_ssh_target_at_start(KdumpConfig const& config, SshCapturePlan const& plan)
{
    auto started = std::chrono::steady_clock::now();
    auto known = KnownHosts::parse(plan.known_hosts, plan.known_hosts_source);
    auto options = target_options(config);
    options.known_hosts = &known;
    auto session = TRY(connect_with_key(options, plan.key).context("logging in as the capture kernel will"));
    // The dumper makes its dump's directory under path; kdumpctl makes
    // path itself at start (ssh ... mkdir -p), and so does this.
    std::string directory = config.path.empty() ? std::string(".") : config.path;
    TRY(session->mkdir_p(directory).context("making the dump directory as the capture kernel will"));
    auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    return cat("logged in to ", session->location(directory), " as the capture kernel will, in ", elapsed_ms, " ms (sshkey ", config.sshkey, ": ",
        ssh_key_type_name(plan.key.type), plan.key.file_format == SshKeyFileFormat::OpenSsh ? ", converted from the OpenSSH format to PEM" : ", PEM",
        "; host key ", session->host_key_type(), " ", session->host_key_fingerprint(), "); the dump directory exists");
}

Result<std::string> sftp_write_file_safely(SftpSession& session, std::string const& directory, std::string const& name, std::string_view text)
{
    std::string final_path = cat(directory, "/", name);
    std::string incomplete = final_path + "-incomplete";
    auto sink = TRY(session.open_for_write(incomplete, 0600));
    TRY(sink->write_at(0, std::span(reinterpret_cast<uint8_t const*>(text.data()), text.size())));
    TRY(sink->finish());
    TRY(session.posix_rename(incomplete, final_path));
    return session.location(final_path);
}

Result<uint64_t> sftp_save_flattened_stream(SftpSession& session, std::string const& directory, std::string const& name,
    std::function<Result<void>(int fd)> const& produce)
{
    std::string final_path = cat(directory, "/", name);
    std::string incomplete = final_path + "-incomplete";
    auto sink = TRY(session.open_for_write(incomplete, 0600));
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return Error::from_errno("pipe for the dump stream");
    UniqueFd reader(pipe_fds[0]);
    UniqueFd writer(pipe_fds[1]);
    // A lost connection closes the reading end early: the producer must get
    // EPIPE, not die of SIGPIPE (the dumper is PID 1). libssh2's own sends
    // on a reset socket need the same.
    ::signal(SIGPIPE, SIG_IGN);
    Result<void> produced = Error::invalid("the dump stream's producer did not run");
    std::thread producer([&] {
        produced = produce(writer.get());
        writer.reset();
    });
    auto rebuilt = rebuild_flattened_into(reader.get(), "the dump stream", *sink, session.location(incomplete));
    reader.reset(); // a producer still writing gets EPIPE now
    producer.join();
    // The side that failed first names the cause: a lost connection makes
    // the producer's next write EPIPE, a failed producer cuts the stream.
    std::string context = cat("the dump is incomplete; what arrived is in ", session.location(incomplete));
    if (!rebuilt.ok() && (produced.ok() || produced.error().errno_code() == EPIPE))
        return std::move(rebuilt).error().with_context(context);
    if (!produced.ok())
        return std::move(produced).error().with_context(context);
    if (!rebuilt.ok())
        return std::move(rebuilt).error().with_context(context);
    TRY(sink->finish());
    TRY(session.posix_rename(incomplete, final_path));
    return sink->bytes_written();
}

Result<PropagateReport> propagate_ssh_key(KdumpConfig const& config, HostKeyTrust const& trust)
{
    if (config.target.kind != TargetKind::Ssh)
        return Error::invalid(cat(config.file_name, ": the dump target is not ssh; 'kdump propagate' is for `ssh USER@HOST` targets"));
    PropagateReport report;
    std::string host = bare_host(config.target.host);
    std::string public_key = ssh_public_key_path(config.sshkey);
    std::string port = cat(config.ssh_port);
    auto run = [](std::vector<std::string> const& argv, ProcessOptions const& options = {}) -> Result<void> {
        auto status = TRY(run_process(argv, options));
        if (!status.success())
            return Error::invalid(cat(argv[0], " failed (", status.describe(), ")"));
        return {};
    };

    // libssh2 cannot make keys; ssh-keygen is on any host that has ssh.
    // RSA in PEM: mbedTLS reads no OpenSSH-format RSA key, and has no
    // Ed25519 at all.
    if (!path_exists(config.sshkey)) {
        std::string key_directory = parent_directory(config.sshkey);
        if (!path_exists(key_directory))
            TRY(make_directories(key_directory, 0700).context("the sshkey's directory"));
        TRY(run({ "ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-m", "PEM", "-N", "", "-C", "kdumpbox", "-f", config.sshkey }).context(cat("making the key ", config.sshkey)));
        report.steps.push_back(cat("made the key pair ", config.sshkey, " (RSA 3072, PEM)"));
    } else if (!path_exists(public_key)) {
        TRY(read_ssh_private_key(config.sshkey));
        auto out = TRY(open_file(public_key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        TRY(run({ "ssh-keygen", "-y", "-f", config.sshkey }, stdout_to(out.get())).context(cat("writing ", public_key)));
        report.steps.push_back(cat("wrote the public key ", public_key));
    } else {
        auto key = TRY(read_ssh_private_key(config.sshkey));
        TRY(check_ssh_public_key_matches(key, TRY(read_text_file(public_key)), config.sshkey, public_key));
        report.steps.push_back(cat("using the existing key ", config.sshkey));
    }

    // The host key: what root already accepted, else what the server says
    // now (shown with its fingerprint so that it can be checked).
    std::string recorded;
    std::string propagated(propagated_known_hosts_path);
    auto known = recorded_host_keys(host, config.ssh_port, { std::string(root_known_hosts_path) });
    std::string server = cat(host, " port ", port);
    if (known.ok()) {
        recorded = known.value();
        // Root trusts these already; a fingerprint given must still match.
        if (trust.expected_fingerprint)
            recorded = TRY(trusted_host_keys(recorded, server, HostKeyTrust { trust.expected_fingerprint, {} }).context(cat("root's ", root_known_hosts_path)));
        report.steps.push_back(cat("host key of ", known_hosts_host_name(host, config.ssh_port), " taken from ", root_known_hosts_path));
    } else {
        std::string scanned_path = propagated + ".scan";
        TRY(make_parent_directories(propagated));
        {
            auto out = TRY(open_file(scanned_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
            TRY(run({ "ssh-keyscan", "-p", port, "-t", "rsa,ecdsa", host }, stdout_to(out.get())).context(cat("fetching the host key of ", host)));
        }
        auto scanned = read_text_file(scanned_path);
        ::unlink(scanned_path.c_str());
        if (!scanned.ok())
            return std::move(scanned).error();
        std::vector<std::string> unsupported;
        recorded = lines_for_host(KnownHosts::parse(scanned.value(), "ssh-keyscan"), host, config.ssh_port, unsupported);
        if (recorded.empty())
            return Error::with_code(ENOENT, cat("ssh-keyscan got no RSA or ECDSA host key from ", host, " port ", port, "; is sshd running there?"));
        // ssh-keyscan proves nothing: the user's check decides.
        recorded = TRY(trusted_host_keys(recorded, server, trust));
        auto lines = KnownHosts::parse(recorded, "ssh-keyscan");
        for (auto const& entry : lines.entries())
            report.steps.push_back(cat("recorded the host key ", entry.key_type_name, " ", ssh_fingerprint_sha256(entry.key_blob), trust.expected_fingerprint ? " (the fingerprint given)" : " (confirmed)"));
    }
    // Other hosts' lines stay; this host's are replaced.
    std::string kept;
    if (auto old = read_text_file(propagated); old.ok()) {
        for (auto line : split(old.value(), '\n')) {
            auto entry = parse_known_hosts_line(line);
            if (trim(line).empty() || (entry.ok() && entry.value() && entry.value()->matches_host(host, config.ssh_port)))
                continue;
            kept += cat(line, "\n");
        }
    }
    TRY(make_parent_directories(propagated));
    TRY(write_text_atomically(propagated, kept + recorded));
    report.steps.push_back(cat("wrote ", propagated));

    // ssh-copy-id makes its temporary files in ~/.ssh and fails when there
    // is none, as on a host where root never used ssh.
    if (char const* home = std::getenv("HOME"); home && *home) {
        std::string ssh_dir = cat(home, "/.ssh");
        TRY(make_directories(ssh_dir, 0700).context("ssh-copy-id needs ~/.ssh"));
    }
    std::string login = cat(config.target.ssh_user, "@", host);
    std::string known_option = cat("UserKnownHostsFile=", propagated);
    TRY(run({ "ssh-copy-id", "-i", public_key, "-p", port, "-o", known_option, "-o", "StrictHostKeyChecking=yes", login }).context(cat("installing ", public_key, " on ", login)));
    report.steps.push_back(cat("installed ", public_key, " in ", login, "'s authorized_keys"));

    auto session = TRY(connect_ssh_target(config, propagated).context("checking the login as the capture kernel will"));
    report.steps.push_back(cat("kdumpbox's SFTP client logs in to ", session->location(config.path), " with ", config.sshkey, " (host key ", session->host_key_type(), " ", session->host_key_fingerprint(), ")"));
    return report;
}

} // namespace core
