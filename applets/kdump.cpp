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

// kdump-config is Debian's kdump-tools command: its verbs are mapped onto
// ours (kdump_config_command), never its dry-run `test` onto our crash.
constexpr std::string_view aliases[] = { "kdumpctl", "kdump-config" };

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
  reload     unload and load again, rebuilding the initramfs only if its
             inputs changed (the unit's ExecReload)
  status     "Kdump is operational" or "Kdump is not operational", then
             why, and how the last dump went; exit 0 armed, 3 not
  rebuild    build the capture initramfs now (--print-contents: list what
             went in and why)
  show       print the effective kdump.conf, defaults filled in, the dump
             target as resolved (device, how the capture finds it, the
             directory inside it, and why), and the capture kernel,
             initramfs and command line
  test       crash the machine through sysrq to test the capture (asks
             first unless --force)
  propagate  for an ssh target: make sshkey if missing, record the server's
             host key (shows its fingerprint and asks, or takes
             --host-key-fingerprint SHA256:...; refused when neither), install
             the public key there (asks for the password) and log in as the
             capture kernel will
  estimate   the crashkernel= size the capture needs, and its parts; the
             dump's expected size
  showmem    the memory reserved for the crash kernel
  get-default-crashkernel
             the crashkernel= value to put on the kernel command line

As kdump-config (Debian's kdump-tools): show, status, load (start),
unload (stop), reload and propagate do what kdump's do; test is a dry run
of start (every check, nothing loaded, nothing crashed); savecore and
symlinks are refused with the reason.

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

// kdump propagate's question, as ssh asks it on a first login: the
// fingerprints, then yes or no from the terminal.
core::Result<bool> confirm_host_keys(std::vector<std::string> const& keys)
{
    std::string question = "kdump propagate: ssh-keyscan got these host keys; check them on the server (ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub):\n";
    for (auto const& key : keys)
        question += core::cat("  ", key, "\n");
    TRY(print(question + "Trust them and record them for the capture kernel? Type yes or no: "));
    char answer[16] = {};
    ssize_t got = ::read(STDIN_FILENO, answer, sizeof answer - 1);
    return got > 0 && core::trim(std::string_view(answer, static_cast<size_t>(got))) == "yes";
}

// Debian's kdump-config verbs, as our commands; an error for the verbs we
// do not take. Its `test` is a dry run there, so it maps to ours: "check".
core::Result<std::string_view> kdump_config_command(std::string_view verb)
{
    constexpr std::pair<std::string_view, std::string_view> same[] = {
        { "show", "show" }, { "status", "status" }, { "load", "start" }, { "unload", "stop" },
        { "reload", "reload" }, { "propagate", "propagate" }, { "test", "check" },
    };
    for (auto const& [theirs, ours] : same) {
        if (verb == theirs)
            return ours;
    }
    if (verb == "savecore")
        return core::Error::unsupported("kdump-config savecore: kdumpbox saves the dump in its own capture initramfs (the dumper), so there is nothing to run on the host; `kdump status` shows the last dump");
    if (verb == "symlinks")
        return core::Error::unsupported("kdump-config symlinks: kdumpbox loads the kernel named by KDUMP_KERNELVER or KDUMPBOX_KERNEL in /etc/sysconfig/kdumpbox and needs no /var/lib/kdump links");
    return core::Error::invalid(core::cat("kdump-config: unknown command '", verb, "'; kdumpbox takes show, status, load, unload, reload, propagate and test (a dry run)"));
}

core::Result<int> print_preview(core::ArmPreview const& preview)
{
    TRY(print(core::format_effective_config(preview.plan.config)));
    if (preview.plan.target)
        TRY(print(preview.plan.target->explanation));
    if (preview.plan.rootfs)
        TRY(print(preview.plan.rootfs->explanation));
    TRY(print(core::cat("initramfs: ", preview.rebuild_needed ? "would be built" : "kept", " (", preview.rebuild_reason, ")\n")));
    TRY(print(core::cat("would load: ", preview.load_description, "\n")));
    TRY(print("kdump: the configuration is ready; nothing was loaded (dry run)\n"));
    return 0;
}

core::Result<int> kdump_main(Context& context, Arguments args)
{
    bool help = false, force = false, print_contents = false;
    std::optional<std::string> settings, host_key_fingerprint;
    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    parser.flag('f', "force", &force, "test: do not ask; start/restart/rebuild: rebuild the initramfs");
    parser.flag(0, "print-contents", &print_contents, "rebuild: list every file in the image and why");
    parser.value(0, "settings", "FILE", &settings, "read this settings file instead of /etc/sysconfig/kdumpbox");
    parser.value(0, "host-key-fingerprint", "SHA256:...", &host_key_fingerprint, "propagate: trust only the ssh server's host key with this fingerprint (as ssh-keygen -l prints it) instead of asking");
    auto operands = TRY(parser.parse(args));
    if (help) {
        print_help(kdump_applet, parser);
        return 0;
    }
    if (operands.size() != 1)
        return core::Error::invalid("give one command: start, stop, restart, reload, status, rebuild, show, test, propagate, estimate, showmem or get-default-crashkernel (see --help)");
    core::HostPaths paths;
    if (settings)
        paths.settings_path = *settings;
    // One set of options for every command, so none drops --force.
    core::ArmOptions options { .force_rebuild = force, .applet_names = all_applet_names() };
    std::string_view command = operands[0];
    bool as_kdump_config = context.invoked_name == "kdump-config";
    if (as_kdump_config)
        command = TRY(kdump_config_command(command));
    core::HostKeyTrust trust;
    if (host_key_fingerprint) {
        if (command != "propagate")
            return core::Error::invalid(core::cat("--host-key-fingerprint is for propagate, not ", command));
        trust.expected_fingerprint = TRY(core::parse_host_key_fingerprint(*host_key_fingerprint));
    } else if (::isatty(STDIN_FILENO)) {
        trust.confirm = confirm_host_keys;
    }

    if (command == "start")
        return print_armed(TRY(core::arm(paths, options)));
    if (command == "stop") {
        TRY(core::disarm(paths));
        TRY(print("kdump: stopped\n"));
        return 0;
    }
    if (command == "restart")
        return print_armed(TRY(core::rearm(paths, options)));
    if (command == "reload")
        return print_armed(TRY(core::reload(paths, options)));
    if (command == "status") {
        auto status = core::armed_status(paths);
        TRY(print(status.text()));
        TRY(print(core::last_dump_line(paths.reported_record_path) + "\n"));
        return status.armed ? 0 : exit_not_armed;
    }
    // Reached only as kdump-config test: kdump's own `test` crashes.
    if (command == "check" && as_kdump_config)
        return print_preview(TRY(core::preview_arm(paths, options)));
    if (command == "get-default-crashkernel") {
        TRY(print(TRY(core::default_crashkernel()) + "\n"));
        return 0;
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
        auto report = TRY(core::propagate(paths, trust));
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
    return core::Error::invalid(core::cat("unknown command '", command, "'; use start, stop, restart, reload, status, rebuild, show, test, propagate, estimate, showmem or get-default-crashkernel"));
}

} // namespace
} // namespace applets
