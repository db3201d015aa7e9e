// SPDX-License-Identifier: GPL-2.0-or-later
// The host side of kdump, as kdumpctl: arm the crash kernel (check the
// reservation, build the capture initramfs when its inputs changed, build
// the capture command line, load it), disarm it, say whether it is armed
// and why not, rebuild, estimate the memory the capture needs, crash on
// purpose. The `kdump` applet parses options and calls these.
#pragma once

#include "core/base/error.h"
#include "initramfs/initramfs.h"
#include "core/config/kdump_conf.h"
#include "core/kexec/kexec.h"
#include "core/kexec/kexec_command.h"
#include "core/net/nfs.h"
#include "core/net/ssh_target.h"
#include "core/system/lvm.h"
#include "core/system/resolved_target.h"

#include <functional>
#include <string>
#include <vector>

namespace core {

// Where things are on the host; tests point them at scratch trees.
struct HostPaths {
    std::string settings_path { default_settings_path };
    std::string sysfs { "/sys" };
    std::string proc { "/proc" };
    // Block device nodes (/dev/vda1, /dev/mapper/..., /dev/disk/by-*).
    std::string dev { "/dev" };
    std::string modules_root { "/lib/modules" };
    std::string self_binary; // empty: /proc/self/exe
    // An ssh target's known_hosts files and network; tests give the plan.
    SshHostInputs ssh;
    // An nfs target's network (tests give the plan); its sysfs and
    // /proc/mounts come from sysfs and proc above.
    std::optional<NetworkPlan> nfs_network;
    // The kexec_file_load system call; tests give a fake.
    kexec::FileLoadCall kexec_file_load { kexec::real_kexec_file_load };
    // The classic kexec_load system call (KEXEC_ARGS -c, or the fallback); tests give a fake.
    kexec::ClassicLoadCall kexec_load { kexec::real_kexec_load };
    // Where a core_collector named without a path is looked for (systemd's
    // PATH for services).
    std::string program_search_path { "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
    // The last dump kdump start reported (core/control/dump_report.h).
    std::string reported_record_path { "/var/lib/kdumpbox/reported" };
    // The raw target's streams rebuilt once, incomplete (core/control/raw_handled.h).
    std::string raw_handled_record_path { "/var/lib/kdumpbox/raw-handled" };
};

struct ArmOptions {
    bool force_rebuild { false };
    // The applet names the initramfs links to /init (the applet table
    // lives with the applets, not in core/).
    std::vector<std::string> applet_names;
};

// A local dump target (a file system or raw device) as `kdump start`
// resolved it: with no target line, the file system holding `path`
// (findmnt --target, as kdump-utils does); otherwise the line's device.
struct TargetResolution {
    ResolvedTarget target;      // what the capture initramfs records
    std::string host_device;    // the node on the host: "/dev/mapper/vg0-root"
    std::string host_name;      // the kernel's name: "dm-3"
    std::optional<LvmVolume> lvm;
    // "# target: ..." lines for `kdump show`: what was derived and why.
    std::string explanation;
    std::vector<std::string> warnings;
};

// Resolves the local target of config (nullopt for nfs, ssh and virtiofs):
// finds the kernel device, refuses layers the capture cannot build
// (check_storage_stack), and picks the name the capture finds it by
// (stable_identity). With no target line the mount holding `path` in
// paths.proc/self/mountinfo gives the device, type, btrfs subvolume and
// the directory inside the file system; a network or device-less file
// system there is refused, saying what to write instead.
Result<std::optional<TargetResolution>> resolve_local_target(KdumpConfig const& config, HostPaths const& paths);
// With failure_action dump_to_rootfs, the root file system (the mount
// holding /, which root= named) resolved the same way, its directory being
// `path` there; nullopt otherwise.
Result<std::optional<TargetResolution>> resolve_rootfs_target(KdumpConfig const& config, HostPaths const& paths);

// Everything `kdump start` decided, for its report and for `show`.
struct CapturePlan {
    KdumpSettings settings;
    KdumpConfig config;
    std::string kernel_release;
    std::string kernel_path;
    std::string initrd_path;
    std::string cmdline;
    initramfs::InitramfsSpec spec;
    std::optional<TargetResolution> target;
    std::optional<TargetResolution> rootfs; // failure_action dump_to_rootfs
    kexec::CaptureKexecArgs kexec_args;     // KEXEC_ARGS, as start_checks.h applies them
    std::optional<SshCapturePlan> ssh;      // an ssh target: for the login at start
};

// Reads the settings and kdump.conf and works out the kernel, initramfs
// contents (modules under the target's disk) and command line.
Result<CapturePlan> plan_capture(HostPaths const& paths, ArmOptions const& options);

struct RebuildReport {
    bool rebuilt { false };     // false: the inputs' digest matched
    std::string reason;         // why it was (or was not) rebuilt
    initramfs::InitramfsResult image;
};
// Builds the initramfs unless an image with the same inputs exists (the
// digest is kept beside it as PATH.digest), force_rebuild/force_no_rebuild
// as kdump.conf says.
Result<RebuildReport> rebuild_initramfs(CapturePlan const& plan, bool force);

struct ArmReport {
    RebuildReport rebuild;
    std::string load_description;
    std::vector<std::string> notes; // sysrq and panic settings, raw dumps rebuilt
};
// kdump start.
Result<ArmReport> arm(HostPaths const& paths, ArmOptions const& options);
// kdump stop.
Result<void> disarm(HostPaths const& paths);
// kdump restart: disarm (a failure there is only a warning: there may be
// nothing loaded), then arm with the same options.
Result<ArmReport> rearm(HostPaths const& paths, ArmOptions const& options);
// kdump reload (kdumpctl reload): unload, then arm again, rebuilding the
// initramfs only if its inputs changed; a note says when nothing was armed
// before (kdumpctl warns "Kdump was not running").
Result<ArmReport> reload(HostPaths const& paths, ArmOptions const& options);

// kdump-config test: what `kdump start` would do, doing nothing: every
// check of start (the reservation, the configuration, the target), whether
// the image would be rebuilt, and the load it would make (kexec's dry run).
struct ArmPreview {
    CapturePlan plan;
    bool rebuild_needed { false };
    std::string rebuild_reason;
    std::string load_description;
};
Result<ArmPreview> preview_arm(HostPaths const& paths, ArmOptions const& options);

// kdump get-default-crashkernel: the crashkernel= value for this CPU
// (arch::default_crashkernel); an error where kdumpbox cannot arm.
Result<std::string> default_crashkernel();

// kdump propagate: the ssh target's key and host key (core/ssh_target.h).
Result<PropagateReport> propagate(HostPaths const& paths, HostKeyTrust const& trust);

struct ArmedStatus {
    bool armed { false };
    std::string explanation; // one line: what is loaded, or why nothing is
    // kdumpctl's "Kdump is operational" or "Kdump is not operational", then
    // the explanation.
    std::string text() const;
};
ArmedStatus armed_status(HostPaths const& paths);

// kdump estimate: the reservation the capture needs, and its parts.
struct MemoryEstimate {
    uint64_t kernel_bytes { 0 };    // the image's init_size, or its file size
    uint64_t initramfs_bytes { 0 }; // compressed and unpacked
    uint64_t runtime_bytes { 0 };   // the capture kernel and the collector at work
    uint64_t total_bytes { 0 };
    uint64_t reserved_bytes { 0 };  // /sys/kernel/kexec_crash_size
    // The next dump's expected size on the target (dump_report.h
    // estimate_dump_size), and how it was worked out; 0 when unknown.
    uint64_t dump_bytes { 0 };
    std::string dump_basis;
    std::string text() const;
};
Result<MemoryEstimate> estimate_memory(HostPaths const& paths, ArmOptions const& options);

// The raw target's waiting dump, if any: rebuilt into PATH/127.0.0.1-DATE/
// vmcore on the root file system, and its stream header cleared. Returns
// the new file's path, or empty when the device holds no dump. A stream
// that stops early or is damaged is rebuilt once, as vmcore-incomplete
// (the error says so), and recorded in handled_record_path
// (core/control/raw_handled.h): empty at the next start, until a new
// capture writes a new stream.
Result<std::string> collect_raw_dump(KdumpConfig const& config, std::string const& device, std::string const& handled_record_path);

// The seed's "Prepare for crashdump", changing nothing: a kernel.sysrq
// that keeps Alt-SysRq-c off the keyboard (kdump test does not need it),
// panic_on_oops and unknown_nmi_panic at 0. Returns one line per setting.
std::vector<std::string> prepare_crash_settings(std::string const& proc_root);

// kdump test: refuses unless kdump is armed; then asks `confirm` (the
// applet's question, skipped by --force), and crashes the machine through
// sysrq. Returns only when something stopped it.
Result<void> crash_for_test(HostPaths const& paths, std::function<Result<void>()> const& confirm);

} // namespace core
