// SPDX-License-Identifier: GPL-2.0-or-later
// The capture side: what the dumper (PID 1 of the capture initramfs) does
// between the capture kernel's boot and the final action. Load the modules,
// wait for and mount the target, remove the oldest dumps beyond
// KDUMP_NUM_DUMPS, run kdump_pre, save vmcore-dmesg.txt then vmcore, save
// the capture kernel's own log, run kdump_post, and last write the status
// file (core/system/dump_status.h) saying how it went. The applet
// wraps this with PID 1's duties (early mounts, signals, never exiting).
#pragma once

#include "core/base/error.h"
#include "core/config/kdump_conf.h"
#include "core/system/dump_status.h"
#include "core/system/resolved_target.h"
#include "core/system/target.h"

#include <ctime>
#include <string>

namespace core {

// Where things are; tests point these at a scratch tree.
struct CaptureEnvironment {
    std::string vmcore_path { "/proc/vmcore" };
    std::string load_order_path { "/lib/modules/load-order" };
    std::string proc_cmdline_path { "/proc/cmdline" };
    std::string sysfs_root { "/sys" };
    std::string dev_root { "/dev" };
    // Where the target (or the root file system) is mounted.
    std::string mount_point { capture_mount_point };
    // The host's address on the way to the target names the dump
    // directory; local targets use 127.0.0.1, as kdump-utils.
    std::string host_ip { "127.0.0.1" };
    // A network target's plan, an ssh target's host keys, as kdump start recorded
    // them (core/network.h); host_ip then comes from the route.
    std::string network_plan_path { "/etc/kdumpbox/network" };
    std::string known_hosts_path { "/etc/kdumpbox/known_hosts" };
    // An nfs target's mount options (core/nfs.h capture_nfs_options_path).
    std::string nfs_options_path { "/etc/kdumpbox/nfs-options" };
    // A local target as kdump start resolved it (core/system/
    // resolved_target.h), and its LVM plan when it is a logical volume.
    std::string resolved_target_path { capture_resolved_target_path };
    std::string lvm_volume_path { capture_lvm_volume_path };
    // The same for failure_action dump_to_rootfs.
    std::string rootfs_target_path { capture_rootfs_target_path };
    std::string rootfs_lvm_volume_path { capture_rootfs_lvm_volume_path };
    // KDUMP_NUM_DUMPS as kdump start recorded it (absent: keep every dump).
    std::string keep_dumps_path { capture_keep_dumps_path };
    // How long hooks, an external core_collector and an ssh stream may
    // take (run_dumper reads them from capture_time_budgets_path).
    TimeBudgets budgets;
    time_t now { 0 }; // 0: time(nullptr)
    unsigned cpu_count { 0 }; // 0: the CPUs online
};

struct CaptureOutcome {
    bool saved { false };
    std::string dump_directory; // empty when it was never made
    std::string failure;        // one line, when !saved
    bool kdump_post_ran { false };
    // The save process died of this signal (run_save_in_child); 0: it
    // reported this outcome itself.
    int killed_by_signal { 0 };
};

// Never throws and never exits: every failure becomes outcome.failure.
// A local target (no target line, a file system or raw line) is the one
// kdump start recorded at resolved_target_path: its LVM volume activated
// first when planned, then found by its recorded name, mounted with the
// recorded options and written under the recorded directory. Without that
// file (an initramfs built by hand) the kdump.conf line, or root=, is used
// as written, with a warning.
CaptureOutcome run_capture(KdumpConfig const& config, CaptureEnvironment const& environment);

// dump_to_rootfs: the same capture, to `path` on the root file system, as
// kdump start recorded it at rootfs_target_path; without that file, the
// one root= on the capture kernel's command line names.
CaptureOutcome run_capture_to_rootfs(KdumpConfig const& config, CaptureEnvironment const& environment);

// kdump_post, unless the save ran it (it reached the dump directory and
// lived): its argument is the status, 0 saved, 1 not, 128+N when the save
// process died of signal N (as a shell reports it), within
// KDUMPBOX_HOOK_TIMEOUT. Sets outcome.kdump_post_ran.
void run_kdump_post_once(KdumpConfig const& config, CaptureEnvironment const& environment, CaptureOutcome& outcome);

// The time budgets kdump start recorded at path (capture_time_budgets_path),
// the defaults when the file is missing or unreadable (with a warning).
TimeBudgets read_time_budgets(std::string const& path);

// The capture kernel's own log so far (klogctl), for kexec-dmesg.log.
Result<std::string> read_own_kernel_log();

} // namespace core
