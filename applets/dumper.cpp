// SPDX-License-Identifier: GPL-2.0-or-later
// dumper: /init of the capture initramfs. It reads kdump.conf, saves the
// crashed kernel's log and memory to the target, and runs the final or the
// failure action. As PID 1 it never exits: the kernel would panic and the
// dump be lost.
#include "applets/applet.h"

#include "core/capture/dumper.h"
#include "core/capture/init.h"
#include "core/config/kdump_conf.h"
#include "core/base/log.h"

#include <optional>
#include <unistd.h>

namespace applets {

namespace {

constexpr std::string_view aliases[] = { "init" };

core::Result<int> dumper_main(Context& context, Arguments args);

} // namespace

extern Applet const dumper_applet = {
    .name = "dumper",
    .aliases = aliases,
    .summary = "PID 1 of the capture initramfs: save the dump, then reboot",
    .help = R"(Usage: init                      (as PID 1 of the capture initramfs)
       kdumpbox dumper [--config FILE] [--no-action]

Reads /etc/kdump.conf, loads the modules listed in /lib/modules/load-order,
waits up to disk_timeout for the target (device, UUID= or LABEL=), mounts it
and creates PATH/127.0.0.1-YYYY-MM-DD-HH:MM:SS/ there. For a network target
(ssh user@host, nfs host:/export) it first brings up the network kdump start
recorded in /etc/kdumpbox/network (the interface by MAC, the static address
or a DHCP lease, the route to the server, within disk_timeout), then writes
over SFTP or mounts the export, in PATH/SOURCE-IP-YYYY-MM-DD-HH:MM:SS/ on the
server; SOURCE-IP is the address the server sees. Runs kdump_pre, saves
vmcore-dmesg.txt, then vmcore (zstd, dump level 31, one thread per CPU, or
core_collector), then kexec-dmesg.log, runs kdump_post, and finally
final_action (saved) or failure_action (not saved). Files are written as
NAME-incomplete, synced, then renamed. Every step is logged to /dev/kmsg and
the console. Outside PID 1 it runs the same capture and exits 0 (saved) or 1:
only PID 1 reboots, halts or powers off.
)",
    .main = dumper_main,
};

namespace {

// Runs the action for the outcome; returns only where PID 1 must then wait.
void finish(core::KdumpConfig const& config, core::CaptureEnvironment const& environment, core::CaptureOutcome outcome)
{
    if (!outcome.saved) {
        core::log::error(core::cat("the dump was not saved: ", outcome.failure));
        switch (config.failure_action) {
        case core::FailureAction::Shell:
            core::run_rescue_shell();
            core::perform_power_action(core::PowerAction::Reboot);
            return;
        case core::FailureAction::DumpToRootfs:
            outcome = core::run_capture_to_rootfs(config, environment);
            if (!outcome.saved) {
                core::log::error(core::cat("dump_to_rootfs failed too: ", outcome.failure));
                core::perform_power_action(core::PowerAction::Reboot);
                return;
            }
            break;
        case core::FailureAction::Halt:
            core::perform_power_action(core::PowerAction::Halt);
            return;
        case core::FailureAction::Poweroff:
            core::perform_power_action(core::PowerAction::PowerOff);
            return;
        case core::FailureAction::Reboot:
            core::perform_power_action(core::PowerAction::Reboot);
            return;
        }
    }
    core::log::notice(core::cat("the dump is saved in ", outcome.dump_directory));
    core::perform_power_action(core::power_action_of(config.final_action));
}

core::Result<int> dumper_main(Context& context, Arguments args)
{
    bool help = false, no_action = false; // --no-action: the default outside PID 1, kept for scripts
    std::optional<std::string> config_option;
    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    parser.value(0, "config", "FILE", &config_option, "read this kdump.conf (default /etc/kdump.conf)");
    parser.flag(0, "no-action", &no_action, "do not run final_action/failure_action (always so outside PID 1)");
    auto operands = parser.parse(args);
    if (help) {
        print_help(dumper_applet, parser);
        return 0;
    }
    if (context.is_pid1) {
        // Nothing below may end this process: errors are logged and lead
        // to an action.
        core::mount_early_filesystems();
        core::log::enable_kmsg();
        core::install_pid1_fatal_path(core::PowerAction::Reboot);
        core::log::notice("kdumpbox dumper: capture kernel up");
    } else if (!operands.ok()) {
        return std::move(operands).error();
    }

    core::CaptureEnvironment environment;
    std::string config_path = config_option.value_or(std::string(core::default_kdump_conf_path));
    auto config = core::read_kdump_conf(config_path, core::IfMissing::UseDefaults);
    if (!config.ok()) {
        core::log::error(core::cat(config.error().message(), "; the dump cannot be saved without a valid configuration"));
        if (!context.is_pid1)
            return 1;
        core::perform_power_action(core::PowerAction::Reboot);
        core::hang_forever();
    }
    for (auto const& warning : config.value().warnings)
        core::log::warn(warning);
    core::set_pid1_fatal_action(config.value().failure_action == core::FailureAction::Halt       ? core::PowerAction::Halt
                                : config.value().failure_action == core::FailureAction::Poweroff ? core::PowerAction::PowerOff
                                                                                                  : core::PowerAction::Reboot);
    auto outcome = core::run_capture(config.value(), environment);
    if (!context.is_pid1) {
        // Rebooting is PID 1's business in the capture kernel: run by hand
        // (or by mistake on a host) the dumper only reports.
        if (!outcome.saved)
            core::log::error(outcome.failure);
        auto action = outcome.saved ? core::final_action_name(config.value().final_action) : core::failure_action_name(config.value().failure_action);
        core::log::notice(core::cat("not PID 1: ", outcome.saved ? "final_action " : "failure_action ", action, " is not run"));
        return outcome.saved ? 0 : 1;
    }
    if (!no_action)
        finish(config.value(), environment, std::move(outcome));
    core::hang_forever();
}

} // namespace
} // namespace applets
