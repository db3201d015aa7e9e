// SPDX-License-Identifier: GPL-2.0-or-later
// Reboot, halt and power-off. Deciding what to do (plan_power_action) is
// separate from doing it (execute_power_plan), so the decision is testable
// without rebooting anything, and --dry-run prints the plan.
#pragma once

#include "core/base/error.h"
#include "core/base/power_action.h"

#include <optional>
#include <string>
#include <string_view>

namespace core {

// PowerAction and its names: core/base/power_action.h.

enum class InitSystem {
    Systemd,  // takes SIGRTMIN+3/+4/+5 (halt/poweroff/reboot target)
    SignalInit, // busybox init and our own dumper: SIGUSR1/SIGUSR2/SIGTERM
    Unknown,
};

struct InitProcess {
    InitSystem system { InitSystem::Unknown };
    std::string name; // what PID 1 calls itself, for messages
};

// Reads /proc/1/comm and /proc/1/exe (under proc_root, so tests can point
// it elsewhere) to learn which init system we would be asking.
InitProcess detect_init(std::string const& proc_root = "/proc");

struct PowerPlan {
    PowerAction action { PowerAction::Reboot };
    bool sync_first { true };
    // true: call reboot(2) ourselves. false: signal PID 1 with `signal`.
    bool direct { true };
    int signal { 0 };
    std::string init_name;
};

struct PowerRequest {
    PowerAction action { PowerAction::Reboot };
    bool force { false };   // -f: act now, without the init system
    bool no_sync { false }; // -n
    bool we_are_pid1 { false };
};

Result<PowerPlan> plan_power_action(PowerRequest const& request, InitProcess const& init);
// One line: what the plan does ("sync, then reboot(2) with RB_POWER_OFF").
std::string describe_power_plan(PowerPlan const& plan);
// The capability the plan needs, checked before acting, so a non-root caller
// gets a clear refusal instead of a bare EPERM.
Result<void> check_power_privilege(PowerPlan const& plan, std::string const& proc_root = "/proc");
// Does it. On a direct plan this only returns if reboot(2) failed.
Result<void> execute_power_plan(PowerPlan const& plan);

// sync, then sysrq-c through PROC/sysrq-trigger: the kernel panics at once
// (and a loaded crash kernel takes over). The trigger file works whatever
// kernel.sysrq says (that sysctl only gates the keyboard). Returns only if
// it did not.
Result<void> crash_through_sysrq(std::string const& proc_root = "/proc");

} // namespace core
