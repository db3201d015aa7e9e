// SPDX-License-Identifier: GPL-2.0-or-later
// The NFS dump target: kdump.conf's `nfs host:/export`, mounted with mount(2)
// and the kernel's own text options, no mount.nfs, no rpcbind, no statd.
//
// The kernel's NFS client does not resolve names and does not negotiate the
// version the way mount.nfs does, so this file does both: the server is
// resolved here (a literal address as it is, else core/network's
// resolve_ipv4; the dumper passes the address kdump start recorded), and
// with no vers= the versions are tried 4.2, 4.1, 4.0, 3 until the server
// takes one. Option building is pure (nfs_mount_data) so it is unit-tested.
//
// Options come fstab-style, as kdump-utils takes them from the host's own
// mount of the export (findmnt): vers=/nfsvers=, port=, mountport=, hard or
// soft, timeo=, retrans= are understood; addr=, mountaddr= and clientaddr=
// are dropped (kdump-utils strips them too: they belong to the host's
// mount, and the address is resolved here); mount.nfs' own words (bg, fg,
// retry=) and fstab's (defaults, nofail, _netdev, x-...) are dropped; ro is
// dropped (a dump target is written); the rest goes to the kernel as it is
// (rsize=, wsize=, sec=, nconnect=, ...).
#pragma once

#include "core/base/error.h"
#include "core/config/capture_image_file.h"
#include "core/config/kdump_conf.h"
#include "core/net/network.h"
#include "core/system/target.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

enum class NfsVersion { V3, V4_0, V4_1, V4_2 };
std::string_view nfs_version_name(NfsVersion version); // "3", "4.0", "4.1", "4.2"
// The fs type mount(2) gets: "nfs" for v3, "nfs4" for v4.x.
std::string_view nfs_fs_type(NfsVersion version);

// Defaults for a dump: soft, so that a server that went away fails the
// write (the dump stays as vmcore-incomplete and failure_action runs)
// instead of hanging PID 1 for ever in an uninterruptible wait, as a hard
// mount would. With TCP's linear back-off, timeo=100 (10 s) and retrans=3
// give up on one request after about 10+20+30+40 = 100 s of silence: longer
// than a server reboot or a link flap, short enough to still reach
// failure_action. `hard` in the options restores kernel behaviour.
constexpr unsigned default_nfs_timeo_deciseconds = 100;
constexpr unsigned default_nfs_retrans = 3;

struct NfsMount {
    std::string host;        // as in kdump.conf: a name, IPv4, or IPv6 without brackets
    // The address to mount from; empty: mount_nfs resolves host. The dumper
    // sets the one kdump start recorded (the capture side has no DNS).
    std::string server_address;
    std::string export_path; // absolute, on the server
    // The versions to try, in order, until the server takes one. No vers=:
    // 4.2, 4.1, 4.0, 3 (what mount.nfs does); vers=4: 4.2, 4.1, 4.0;
    // vers=4.1 or vers=3: that one.
    std::vector<NfsVersion> versions { NfsVersion::V4_2, NfsVersion::V4_1, NfsVersion::V4_0, NfsVersion::V3 };
    uint16_t port { 0 };       // 0: the kernel's default (2049 for v4; rpcbind for v3)
    uint16_t mount_port { 0 }; // v3's mountd; 0: ask the server's rpcbind
    bool hard { false };
    unsigned timeo_deciseconds { default_nfs_timeo_deciseconds };
    unsigned retrans { default_nfs_retrans };
    unsigned long flags { 0 };         // mount(2) flags from words such as noatime
    std::vector<std::string> kernel_options; // passed through, in order
};

// The target (kind Nfs, as parse_kdump_conf or parse_nfs_target give it)
// with fstab-style options, checked: an unknown vers=, proto=udp (kdumpbox
// mounts over TCP only), a port out of range are EINVAL naming the option.
Result<NfsMount> nfs_mount_from_target(DumpTarget const& target, std::string_view options);

// The options of the host's own mount of the target's export in
// /proc/mounts text (the first line whose source is HOST:/EXPORT, or
// [HOST]:/EXPORT, and whose type is nfs or nfs4), for `kdump start` to
// record as kdump-utils does (it takes them from findmnt); nullopt when the
// export is not mounted here. Pure.
std::optional<std::string> nfs_options_from_mounts(std::string_view proc_mounts, DumpTarget const& target);

// Mount options without hard, soft, timeo= and retrans=: what kdump start
// records from the host's mount, so the capture uses the dump's own soft
// defaults (see default_nfs_timeo_deciseconds). Pure.
std::string without_retry_policy(std::string_view host_options);

// What mount(2) gets, pure. server_address is the resolved address (IPv4
// dotted, or IPv6); client_address, if known, becomes clientaddr= (v4.0's
// callback address; the kernel picks one when it is empty).
//   v4: vers=4.2,proto=tcp,addr=S[,clientaddr=C][,port=N],soft,timeo=100,retrans=3[,...]
//   v3: vers=3,proto=tcp,addr=S,mountaddr=S,mountvers=3,mountproto=tcp[,mountport=M][,port=N],
//       nolock,soft,timeo=100,retrans=3[,...]
// nolock for v3: the capture initramfs has no rpc.statd, and without
// nolock the kernel refuses the mount when it cannot reach one (the dump
// is written by one process, locks are not needed).
std::string nfs_mount_data(NfsMount const& mount, NfsVersion version, std::string_view server_address, std::string_view client_address);
// "10.0.2.2:/export", "[fd00::1]:/export".
std::string nfs_mount_source(NfsMount const& mount, std::string_view server_address);

// A failed mount(2) of an NFS export as one line: what the errno means for
// NFS and what to change. Pure.
Error nfs_mount_error(int errno_code, NfsMount const& mount, NfsVersion version, std::string_view server_address, std::string_view mountpoint);

// Resolves the server (unless mount.server_address is set: an IPv6
// literal as it is, else resolve_ipv4), creates the mountpoint and mounts the export there
// (trying mount.versions in order while the answer is EPROTONOSUPPORT, the
// kernel's word for "not this version"). The
// network must be up. client_address: the capture side's address on the
// route to the server, or empty.
Result<MountedTarget> mount_nfs(NfsMount const& mount, std::string const& mountpoint, std::string_view client_address = {});

// The kernel modules of the NFS client for the versions to try: nfsv4 for
// any 4.x, nfsv3 for 3 (each pulls in nfs, sunrpc, lockd, ... through the
// module resolution's dependencies).
std::vector<std::string> nfs_client_modules(NfsMount const& mount);

// ---- The host side (kdump start) ----

// The options the capture side mounts with, as kdump start recorded them:
// fstab-style, one line (empty: the defaults).
constexpr std::string_view capture_nfs_options_path = "/etc/kdumpbox/nfs-options";

struct NfsHostInputs {
    std::optional<NetworkPlan> network; // set by tests; otherwise plan_network asks the kernel
    std::string sysfs { "/sys" };
    std::string proc_mounts_path { "/proc/mounts" };
};

struct NfsCapturePlan {
    NetworkTargetPlan network;
    std::string options;           // recorded at capture_nfs_options_path
    bool options_from_host_mount { false };
    std::vector<std::string> client_modules; // nfs_client_modules
    std::vector<CaptureImageFile> files; // the network's, then the options
    std::vector<std::string> notices;        // for kdump start to print
};

// Everything `kdump start` adds to the initramfs for an nfs target: the
// network exactly as for ssh (plan_target_network: the route to the server,
// its address, the NIC drivers), the mount options of the host's own mount
// of the export in /proc/mounts, as kdump-utils takes them (findmnt), or
// the defaults with a notice when it is not mounted here; and the NFS
// client modules for the versions those options allow. The options are
// checked now (nfs_mount_from_target), so a bad vers= fails kdump start,
// not the dump.
Result<NfsCapturePlan> plan_nfs_capture(KdumpConfig const& config, NfsHostInputs const& inputs);

} // namespace core
