// SPDX-License-Identifier: GPL-2.0-or-later
// PID 1's duties in the capture initramfs: the early mounts, a fatal path
// for signals and std::terminate that logs to /dev/kmsg and runs the
// configured action (the kernel panics if PID 1 exits, losing the dump),
// the final and failure actions, and a minimal shell for failure_action
// shell when the initramfs ships none.
#pragma once

#include "core/base/error.h"
#include "core/capture/dumper.h"
#include "core/config/kdump_conf.h"
#include "core/system/power.h"

#include <string>

namespace core {

// proc, sysfs, devtmpfs (and /tmp as tmpfs); each failure is logged, not
// fatal: the capture may still work without one of them.
void mount_early_filesystems();

// From now on SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and std::terminate
// log to /dev/kmsg, sync and perform `action` with reboot(2). SIGTERM,
// SIGUSR1 and SIGUSR2 (what `reboot`, `halt`, `poweroff` send to init)
// reboot, halt or power off.
void install_pid1_fatal_path(PowerAction action);
// Changes the action the fatal path takes (once kdump.conf is read).
void set_pid1_fatal_action(PowerAction action);
// The handlers run on an alternate stack of this size, so that a stack
// overflow still reaches them.
inline constexpr size_t pid1_signal_stack_bytes = 64 * 1024;
// In a child of PID 1 (the save process): the default dispositions and
// std::terminate again, so that a fault ends the child, which PID 1 then
// reports, instead of rebooting the machine from the child.
void leave_pid1_fatal_path();

// What the fatal path does for a failure_action: halt and poweroff as
// written, reboot for the rest (a signal handler can start no shell and
// mount no root file system).
PowerAction fatal_power_action(FailureAction action);

// sync, then reboot(2) with the action. Returns only if reboot(2) failed;
// then it logs, and PID 1 must wait forever (hang_forever).
void perform_power_action(PowerAction action);
[[noreturn]] void hang_forever();

// failure_action shell: /bin/sh if the initramfs has one (extra_bins),
// else a built-in prompt that runs applets and programs. Returns when the
// shell exits.
void run_rescue_shell();

// After the capture, as PID 1: final_action when the dump was saved;
// otherwise failure_action (shell, then reboot; dump_to_rootfs, then
// final_action, or reboot if that failed too; halt, poweroff, reboot).
// Returns only where PID 1 must then wait forever.
void run_final_or_failure_action(KdumpConfig const& config, CaptureEnvironment const& environment, CaptureOutcome outcome);

struct DumperOptions {
    std::string config_path { default_kdump_conf_path };
    bool is_pid1 { false };
    bool run_action { true }; // --no-action clears it
    // The time budgets' file; empty: take CaptureEnvironment::budgets.
    std::string budgets_path { capture_time_budgets_path };
};
// The dumper: as PID 1, the early mounts, /dev/kmsg and the fatal path,
// then the capture in a child process (run_save_in_child), kdump_post with
// its real status, and the final or failure action; it never returns.
// Elsewhere the same capture and kdump_post, and the exit status: 0 saved,
// 1 not. The time budgets come from capture_time_budgets_path unless
// environment says otherwise (budgets_path empty: environment.budgets).
int run_dumper(DumperOptions const& options, CaptureEnvironment const& environment = {});

} // namespace core
