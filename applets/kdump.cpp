// SPDX-License-Identifier: GPL-2.0-or-later
// kdump (kdumpctl): host-side control. It parses the subcommand and its
// options and calls core/kdump_control.
#include "applets/applet.h"

#include "core/base/fd.h"
#include "core/base/strings.h"
#include "core/control/dump_report.h"
#include "core/control/kdump_control.h"

#include <functional>
#include <unistd.h>

namespace applets {

namespace {

constexpr std::string_view aliases[] = { "kdumpctl" };

core::Result<int> kdump_main(Context& context, Arguments args);

// kdumpctl status: 0 armed, 3 not (systemd's "inactive").
constexpr int exit_not_armed = 3;

} // namespace

extern Applet const kdump_applet = {
    .name = "kdump",
    .aliases = aliases,
    .summary = "host-side kdump control (kdumpctl): start, stop, status, rebuild, test",
    .help = R"(Usage: kdump COMMAND [OPTIONS]

Commands:
  start      check the crashkernel= reservation, build the capture initramfs
             if its inputs changed, and load the capture kernel (kexec -p);
             report the dumps saved since the last start (journal,
             KDUMPBOX_NOTIFY) and warn when the target is short of space
  stop       unload the capture kernel
  restart    stop, then start
  status     say whether kdump is armed and why not, and how the last dump
             went; exit 0 armed, 3 not
  rebuild    build the capture initramfs now (--print-contents: list what
             went in and why)
  show       print the effective kdump.conf, defaults filled in, the dump
             target as resolved (device, how the capture finds it, the
             directory inside it, and why), and the capture kernel,
             initramfs and command line
  test       crash the machine through sysrq to test the capture (asks
             first unless --force)
  propagate  for an ssh target: make sshkey if missing, record the server's
             host key, install the public key there (asks for the password)
             and log in as the capture kernel will
  estimate   the crashkernel= size the capture needs, and its parts; the
             dump's expected size
  showmem    the memory reserved for the crash kernel

Settings: /etc/sysconfig/kdumpbox (KDUMP_* variables, see conf/README.md);
configuration: /etc/kdump.conf.
)",
    .main = kdump_main,
};

namespace {

core::Result<void> print(std::string_view text) { return core::write_all(STDOUT_FILENO, text, "standard output"); }

core::Result<int> print_armed(core::ArmReport const& report)
{
    TRY(print(core::cat("initramfs: ", report.rebuild.rebuilt ? "built" : "kept", " (", report.rebuild.reason, ")",
        report.rebuild.rebuilt ? core::cat(", ", report.rebuild.image.compressed_bytes, " bytes") : std::string(), "\n")));
    TRY(print(core::cat("loaded: ", report.load_description, "\n")));
    for (auto const& note : report.notes)
        TRY(print(core::cat("note: ", note, "\n")));
    TRY(print("kdump: armed\n"));
    return 0;
}

// kdump test's question; --force skips it.
core::Result<void> confirm_crash()
{
    TRY(print("This crashes the machine now to test kdump; unsaved data is lost. Type YES to go on: "));
    char answer[8] = {};
    ssize_t got = ::read(STDIN_FILENO, answer, sizeof answer - 1);
    if (got < 3 || std::string_view(answer, 3) != "YES")
        return core::Error::invalid("not confirmed; nothing was done (use --force to skip the question)");
    return {};
}

core::Result<int> kdump_main(Context&, Arguments args)
{
    bool help = false, force = false, print_contents = false;
    std::optional<std::string> settings;
    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    parser.flag('f', "force", &force, "test: do not ask; start/restart/rebuild: rebuild the initramfs");
    parser.flag(0, "print-contents", &print_contents, "rebuild: list every file in the image and why");
    parser.value(0, "settings", "FILE", &settings, "read this settings file instead of /etc/sysconfig/kdumpbox");
    auto operands = TRY(parser.parse(args));
    if (help) {
        print_help(kdump_applet, parser);
        return 0;
    }
    if (operands.size() != 1)
        return core::Error::invalid("give one command: start, stop, restart, status, rebuild, show, test, propagate, estimate or showmem (see --help)");
    core::HostPaths paths;
    if (settings)
        paths.settings_path = *settings;
    // One set of options for every command, so none drops --force.
    core::ArmOptions options { .force_rebuild = force, .applet_names = all_applet_names() };
    std::string_view command = operands[0];

    if (command == "start")
        return print_armed(TRY(core::arm(paths, options)));
    if (command == "stop") {
        TRY(core::disarm(paths));
        TRY(print("kdump: stopped\n"));
        return 0;
    }
    if (command == "restart")
        return print_armed(TRY(core::rearm(paths, options)));
    if (command == "status") {
        auto status = core::armed_status(paths);
        TRY(print(status.explanation + "\n"));
        TRY(print(core::last_dump_line(paths.reported_record_path) + "\n"));
        return status.armed ? 0 : exit_not_armed;
    }
    if (command == "rebuild") {
        auto plan = TRY(core::plan_capture(paths, options));
        auto report = TRY(core::rebuild_initramfs(plan, true));
        TRY(print(core::cat(plan.initrd_path, ": ", report.image.compressed_bytes, " bytes (", report.image.uncompressed_bytes, " unpacked)\n")));
        if (print_contents)
            TRY(print(core::initramfs::format_manifest(report.image.manifest)));
        return 0;
    }
    if (command == "show") {
        auto plan = TRY(core::plan_capture(paths, options));
        TRY(print(core::format_effective_config(plan.config)));
        if (plan.target)
            TRY(print(plan.target->explanation));
        if (plan.rootfs)
            TRY(print(plan.rootfs->explanation));
        TRY(print(core::cat("# capture kernel: ", plan.kernel_path, "\n# capture initramfs: ", plan.initrd_path, "\n# capture command line: ", plan.cmdline, "\n")));
        return 0;
    }
    if (command == "test") {
        std::function<core::Result<void>()> confirm = confirm_crash;
        if (force)
            confirm = [] { return core::Result<void>(); };
        TRY(core::crash_for_test(paths, confirm));
        return 0; // not reached: the machine has crashed
    }
    if (command == "propagate") {
        auto report = TRY(core::propagate(paths));
        for (auto const& step : report.steps)
            TRY(print(core::cat("propagate: ", step, "\n")));
        return 0;
    }
    if (command == "estimate") {
        auto estimate = TRY(core::estimate_memory(paths, options));
        TRY(print(estimate.text()));
        return 0;
    }
    if (command == "showmem") {
        auto status = core::armed_status(paths);
        auto estimate = core::estimate_memory(paths, options);
        TRY(print(estimate.ok() ? estimate.value().text() : status.explanation + "\n"));
        return 0;
    }
    return core::Error::invalid(core::cat("unknown command '", command, "'; use start, stop, restart, status, rebuild, show, test, propagate, estimate or showmem"));
}

} // namespace
} // namespace applets
