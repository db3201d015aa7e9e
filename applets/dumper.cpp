// SPDX-License-Identifier: GPL-2.0-or-later
// dumper: /init of the capture initramfs. It reads kdump.conf, saves the
// crashed kernel's log and memory to the target, and runs the final or the
// failure action. As PID 1 it never exits: the kernel would panic and the
// dump be lost.
#include "applets/applet.h"

#include "core/base/log.h"
#include "core/capture/init.h"

#include <optional>

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

Reads /etc/kdump.conf, loads the modules listed in /lib/modules/load-order.
The save runs in a child process: PID 1 survives its faults and reports them.
A local target (no target line, a file system or raw line) is the one kdump
start recorded in /etc/kdumpbox/target: it activates the LVM logical volume
planned in /etc/kdumpbox/lvm if there is one, waits up to disk_timeout for
the device by its recorded name (UUID=, PARTUUID= or /dev/NAME), mounts it
with the recorded options (a btrfs subvol=) and creates
DIR/127.0.0.1-YYYY-MM-DD-HH:MM:SS/ under the recorded directory. For a network target
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
    // Only the capture initramfs's; on the host the init system's own.
    .on_host_path = OnHostPath::No,
};

namespace {

core::Result<int> dumper_main(Context& context, Arguments args)
{
    // As PID 1 the fatal path comes first: nothing below, option parsing
    // included, may end this process (the kernel would panic).
    if (context.is_pid1)
        core::install_pid1_fatal_path(core::PowerAction::Reboot);
    bool help = false, no_action = false; // --no-action: the default outside PID 1, kept for scripts
    std::optional<std::string> config_option;
    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    parser.value(0, "config", "FILE", &config_option, "read this kdump.conf (default /etc/kdump.conf)");
    parser.flag(0, "no-action", &no_action, "do not run final_action/failure_action (always so outside PID 1)");
    auto operands = parser.parse(args);
    if (help && !context.is_pid1) {
        print_help(dumper_applet, parser);
        return 0;
    }
    // PID 1 must go on whatever its command line says (--help included).
    if (!context.is_pid1 && !operands.ok())
        return std::move(operands).error();
    if (context.is_pid1 && (help || !operands.ok()))
        core::log::warn(operands.ok() ? std::string("--help is ignored as PID 1: the capture goes on") : operands.error().message() + "; ignored as PID 1: the capture goes on");
    core::DumperOptions options;
    options.config_path = config_option.value_or(std::string(core::default_kdump_conf_path));
    options.is_pid1 = context.is_pid1;
    options.run_action = !no_action;
    return core::run_dumper(options);
}

} // namespace
} // namespace applets
