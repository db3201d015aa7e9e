// SPDX-License-Identifier: GPL-2.0-or-later
// kdump.conf's `ssh user@host`, end to end.
//
// Host side: `kdump start` plans what the capture initramfs needs (the
// network plan from the host's route, the recorded host key, the sshkey
// pair, the NIC drivers) and refuses a target whose host key is not
// recorded; `kdump propagate` makes the key pair, records the host key and
// installs the public key on the server.
//
// Capture side: the dumper connects with core/sftp (strict host key check,
// bounded retries) and writes each file as NAME-incomplete, then renames it.
// The vmcore arrives as a flattened stream (from the built-in collector or
// a `makedumpfile -F` core_collector) and is rebuilt into an ordinary
// kdump-compressed file on the server through SftpSink's random-access
// writes, so crash opens it without -R.
#pragma once

#include "core/base/error.h"
#include "core/net/host_key_trust.h"
#include "core/config/capture_image_file.h"
#include "core/config/kdump_conf.h"
#include "core/net/network.h"
#include "core/net/sftp.h"
#include "core/net/ssh_key.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace core {

// Where `kdump propagate` records host keys; read before the user's own.
constexpr std::string_view propagated_known_hosts_path = "/var/lib/kdumpbox/known_hosts";
constexpr std::string_view root_known_hosts_path = "/root/.ssh/known_hosts";

// The capture side's copy of kdump.conf's sshkey lives at the same path,
// and its public half (libssh2's mbedTLS backend cannot derive it) beside it.
std::string ssh_public_key_path(std::string const& private_key_path);

// ---- The host side ----

struct SshHostInputs {
    std::vector<std::string> known_hosts_files { std::string(propagated_known_hosts_path), std::string(root_known_hosts_path) };
    std::optional<NetworkPlan> network; // set by tests; otherwise plan_network asks the kernel
    std::string sysfs { "/sys" };
};

struct SshCapturePlan {
    NetworkPlan network;
    std::string known_hosts;        // the target's lines only
    std::string known_hosts_source; // the file they came from
    std::vector<std::string> nic_modules; // nearest first, as net_device_modules
    std::vector<CaptureImageFile> files;
    // sshkey as the image holds it (OpenSSH format converted to PEM): what
    // `kdump start` logs in with.
    SshPrivateKey key;
};

// The target's known_hosts lines (plain form; @revoked lines kept), from
// the first file that has any for host:port. ENOENT naming every file and
// `kdump propagate` when none has; ENOTSUP when only Ed25519 keys are
// recorded (this build's libssh2 cannot check them).
Result<std::string> recorded_host_keys(std::string_view host, uint16_t port, std::vector<std::string> const& files, std::string* source = nullptr);

// Everything `kdump start` adds to the initramfs for an ssh target. sshkey
// is read with core/net/ssh_key.h: an OpenSSH-format key goes into the
// image converted to PEM; Ed25519 keys, keys with a passphrase and a .pub
// that is not the key's public half are refused, saying what to do.
Result<SshCapturePlan> plan_ssh_capture(KdumpConfig const& config, SshHostInputs const& inputs);

// kdump start: logs in as the capture kernel will, with the key the image
// holds and only the host keys it records, and makes the dump directory
// (`path`) with mkdir -p, as kdumpctl does; a failed login refuses the
// start with the server's reason. Returns a line for the report, with the
// time the login took.
Result<std::string> check_ssh_target_at_start(KdumpConfig const& config, SshCapturePlan const& plan);

struct PropagateReport {
    std::vector<std::string> steps; // one line each, for the applet to print
};
// kdump propagate: makes the key pair if missing (ssh-keygen, RSA in PEM:
// the form mbedTLS reads) and refuses an existing key kdumpbox cannot use,
// records the server's host key in
// propagated_known_hosts_path (copied from root's known_hosts when it is
// there, else fetched with ssh-keyscan and trusted only as `trust` says:
// the fingerprint given, or the user's yes; core/net/host_key_trust.h),
// installs the public key with ssh-copy-id (which asks for the password),
// then logs in with kdumpbox's own SFTP client to prove the capture side
// will. A fingerprint given must also match root's known_hosts.
Result<PropagateReport> propagate_ssh_key(KdumpConfig const& config, HostKeyTrust const& trust);

// ---- The capture side ----

// Connects to the target (host key checked against known_hosts_path) with
// sshkey as read_ssh_private_key gives it. The retries are core/sftp's: 3
// attempts within 30 s for a server that is down.
Result<std::unique_ptr<SftpSession>> connect_ssh_target(KdumpConfig const& config, std::string const& known_hosts_path);

// NAME-incomplete written, synced and renamed to NAME in directory.
Result<std::string> sftp_write_file_safely(SftpSession& session, std::string const& directory, std::string const& name, std::string_view text);

// Runs `produce(fd)` on a thread, writing a flattened stream into fd, and
// rebuilds it into directory/NAME-incomplete, renamed to NAME when both
// sides succeeded. On failure NAME-incomplete stays (what arrived of it).
Result<uint64_t> sftp_save_flattened_stream(SftpSession& session, std::string const& directory, std::string const& name,
    std::function<Result<void>(int fd)> const& produce);

} // namespace core
