// SPDX-License-Identifier: GPL-2.0-or-later
// reboot / halt / poweroff. The capture initramfs calls "reboot -f" (sync,
// then reboot(2) at once); without -f the request goes to the running init
// system, as an admin on the host expects.
#include "applets/applet.h"

#include "core/base/log.h"
#include "core/system/power.h"

#include <unistd.h>

namespace applets {

namespace {

constexpr std::string_view aliases[] = { "reboot", "halt", "poweroff" };

core::Result<int> reboot_main(Context& context, Arguments args);

} // namespace

extern Applet const reboot_applet = {
    .name = "reboot",
    .aliases = aliases,
    .summary = "reboot, halt or power off, with sync",
    .help = R"(Usage: reboot|halt|poweroff [-f] [-n] [--dry-run]
       kdumpbox reboot [--halt|--poweroff] [-f] [-n] [--dry-run]

Without -f, asks the running init system (systemd, busybox init, kdumpbox's
dumper) to shut down cleanly, and refuses if PID 1 is none of those.
With -f, syncs file systems and calls reboot(2) at once; this is what the
capture initramfs uses. The action follows the name it is called by.
)",
    .main = reboot_main,
    // Only the capture initramfs's; on the host the init system's own.
    .on_host_path = OnHostPath::No,
};

namespace {

core::Result<int> reboot_main(Context& context, Arguments args)
{
    core::PowerRequest request;
    request.action = core::power_action_from_name(context.invoked_name).value_or(core::PowerAction::Reboot);
    bool help = false;
    bool dry_run = false;
    bool halt = false;
    bool poweroff = false;
    bool reboot = false;

    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    parser.flag('f', "force", &request.force, "act at once through reboot(2), without the init system");
    parser.flag('n', "no-sync", &request.no_sync, "do not sync file systems first");
    parser.flag(0, "dry-run", &dry_run, "print what would be done, and do nothing");
    parser.flag('p', "poweroff", &poweroff, "power off (as 'halt -p')");
    parser.flag(0, "halt", &halt, "halt");
    parser.flag(0, "reboot", &reboot, "reboot");
    auto operands = TRY(parser.parse(args));
    if (help) {
        print_help(reboot_applet, parser);
        return 0;
    }
    if (!operands.empty())
        return core::Error::invalid(core::cat("unexpected argument '", operands.front(), "' (see --help)"));
    if (int(halt) + int(poweroff) + int(reboot) > 1)
        return core::Error::invalid("--halt, --poweroff and --reboot exclude each other; pick one");
    if (halt)
        request.action = core::PowerAction::Halt;
    if (poweroff)
        request.action = core::PowerAction::PowerOff;
    if (reboot)
        request.action = core::PowerAction::Reboot;
    request.we_are_pid1 = context.is_pid1;

    auto plan = TRY(core::plan_power_action(request, core::detect_init()));
    TRY(core::check_power_privilege(plan));
    if (dry_run) {
        core::log::notice(core::cat("dry run: would ", core::describe_power_plan(plan)));
        return 0;
    }
    TRY(core::execute_power_plan(plan));
    // A signalled init takes over from here; a direct reboot never returns.
    return 0;
}

} // namespace
} // namespace applets
