// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/power.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"

#include <csignal>
#include <fcntl.h>
#include <sys/reboot.h>
#include <unistd.h>

namespace core {

namespace {
// Linux capability numbers (linux/capability.h).
constexpr int capability_kill = 5;
constexpr int capability_sys_boot = 22;

int init_signal(InitSystem system, PowerAction action)
{
    if (system == InitSystem::Systemd) {
        // systemd(1): SIGRTMIN+3 halt.target, +4 poweroff.target, +5 reboot.target.
        switch (action) {
        case PowerAction::Halt: return SIGRTMIN + 3;
        case PowerAction::PowerOff: return SIGRTMIN + 4;
        case PowerAction::Reboot: return SIGRTMIN + 5;
        }
    }
    switch (action) {
    case PowerAction::Halt: return SIGUSR1;
    case PowerAction::PowerOff: return SIGUSR2;
    case PowerAction::Reboot: return SIGTERM;
    }
    return SIGTERM;
}

std::string signal_name(int signal)
{
    if (signal >= SIGRTMIN && signal <= SIGRTMAX)
        return cat("SIGRTMIN+", signal - SIGRTMIN);
    switch (signal) {
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGTERM: return "SIGTERM";
    }
    return cat("signal ", signal);
}

// CapEff from /proc/self/status; nullopt when /proc is not there.
std::optional<uint64_t> effective_capabilities(std::string const& proc_root)
{
    auto status = read_text_file(proc_root + "/self/status");
    if (!status.ok())
        return std::nullopt;
    for (auto line : split(status.value(), '\n')) {
        if (line.starts_with("CapEff:")) {
            auto mask = parse_u64(trim(line.substr(7)), "CapEff", 16);
            if (mask.ok())
                return mask.value();
        }
    }
    return std::nullopt;
}
} // namespace

InitProcess detect_init(std::string const& proc_root)
{
    InitProcess init;
    auto comm = read_text_file(proc_root + "/1/comm");
    init.name = comm.ok() ? std::string(trim(comm.value())) : std::string("?");
    auto exe = read_symlink(proc_root + "/1/exe").value_or(std::string());
    std::string_view exe_name = base_name(exe);

    if (init.name == "systemd" || exe_name == "systemd")
        init.system = InitSystem::Systemd;
    else if (exe_name == "busybox" || exe_name.starts_with("kdumpbox"))
        init.system = InitSystem::SignalInit;
    return init;
}

Result<PowerPlan> plan_power_action(PowerRequest const& request, InitProcess const& init)
{
    PowerPlan plan;
    plan.action = request.action;
    plan.sync_first = !request.no_sync;
    plan.init_name = init.name;
    // As PID 1 there is nobody to ask: act directly, as busybox does.
    if (request.force || request.we_are_pid1) {
        plan.direct = true;
        return plan;
    }
    if (init.system == InitSystem::Unknown) {
        return Error::unsupported(cat("PID 1 is '", init.name, "', an init system this program cannot ask to ", power_action_name(request.action),
            "; use that init system's own command, or '", power_action_name(request.action), " -f' to act at once without a clean shutdown"));
    }
    plan.direct = false;
    plan.signal = init_signal(init.system, request.action);
    // The init system syncs during its own shutdown.
    plan.sync_first = false;
    return plan;
}

std::string describe_power_plan(PowerPlan const& plan)
{
    if (plan.direct)
        return cat(plan.sync_first ? "sync, then " : "without sync, ", "call reboot(2) with ", reboot_command_name(plan.action), " at once");
    return cat("send ", signal_name(plan.signal), " to PID 1 (", plan.init_name, ") to ", power_action_name(plan.action));
}

Result<void> check_power_privilege(PowerPlan const& plan, std::string const& proc_root)
{
    int needed = plan.direct ? capability_sys_boot : capability_kill;
    std::string_view needed_name = plan.direct ? "CAP_SYS_BOOT" : "CAP_KILL";
    auto capabilities = effective_capabilities(proc_root);
    bool allowed = capabilities ? ((*capabilities >> needed) & 1) != 0 : ::geteuid() == 0;
    if (!allowed)
        return Error::with_code(EPERM, cat("cannot ", power_action_name(plan.action), ": this needs ", needed_name, "; run it as root"));
    return {};
}

Result<void> execute_power_plan(PowerPlan const& plan)
{
    if (plan.sync_first)
        ::sync();
    if (!plan.direct) {
        if (::kill(1, plan.signal) != 0)
            return Error::from_errno(cat("send ", signal_name(plan.signal), " to PID 1 (", plan.init_name, ")"));
        return {};
    }
    if (::reboot(reboot_command(plan.action)) != 0)
        return Error::from_errno(cat("reboot(2) with ", reboot_command_name(plan.action)));
    return {};
}

Result<void> crash_through_sysrq(std::string const& proc_root)
{
    std::string trigger_path = cat(proc_root, "/sysrq-trigger");
    auto trigger = TRY(open_file(trigger_path, O_WRONLY | O_CLOEXEC));
    ::sync();
    TRY(write_all(trigger.get(), std::string_view("c"), trigger_path));
    return Error::invalid(cat("the crash through ", trigger_path, " did not happen"));
}

} // namespace core
