// SPDX-License-Identifier: GPL-2.0-or-later
// kexec: kexec-tools' command line over core/kexec: kexec_file_load, and
// classic kexec_load (-c, or when the kernel has no file load).
// The options are declared in core/kexec/kexec_command.h (KEXEC_ARGS go
// through the same declarations).
#include "applets/applet.h"

#include "core/base/fd.h"
#include "core/kexec/kexec.h"
#include "core/kexec/kexec_command.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/base/version.h"

#include <optional>
#include <unistd.h>

namespace applets {

namespace {

core::Result<int> kexec_main(Context& context, Arguments args);

using core::kexec::FailureKind;

constexpr int exit_ok = 0;

} // namespace

extern Applet const kexec_applet = {
    .name = "kexec",
    .aliases = {},
    .summary = "load, unload and start kernels with kexec_file_load or kexec_load (kexec-tools compatible)",
    .help = R"(Usage: kexec -l KERNEL [--initrd=FILE] [--append=TEXT] [--reuse-cmdline]
       kexec -p KERNEL [--initrd=FILE] [--append=TEXT] [--reuse-cmdline]
       kexec -e                   start the loaded kernel (sync, then reboot into it)
       kexec -f KERNEL [...]      load and start at once
       kexec -u [-p]              unload the kernel (-p: the crash kernel)
       kexec -S [-l|-p]           exit 1 if the crash kernel (-l: the kexec kernel)
                                  is loaded, 0 if not

Loads with kexec_file_load(2) by default: the kernel checks the image's
signature (lockdown, Secure Boot, IMA) and builds the boot parameters and,
for -p, the crash ELF header itself. gzip- and zstd-compressed images are
offered to the kernel as they are and decompressed into memory only if it
refuses them. When the kernel has no kexec_file_load (ENOSYS, EOPNOTSUPP:
built without CONFIG_KEXEC_FILE), the same load is made with classic
kexec_load(2), kdumpbox's own loader and purgatory (-a, the default).
-s uses only the file load, -c only classic kexec_load, which a locked-down
kernel refuses.
A failed -p load leaves no crash kernel loaded; the error says so.
-e does not run ifdown or shut services down: use 'systemctl kexec' for a
clean shutdown into the loaded kernel.

Exit status, as kexec-tools':
  0    done
  1    usage error, no crashkernel= reservation for -p, or -e with
       nothing loaded ("Nothing has been loaded!")
  253  with -s: the kernel has no kexec_file_load, or refused the image
       with EINVAL, ENOEXEC or ENOTSUP; with -c or -a: this build has no
       classic loader for this CPU
  255  the load, unload or exec failed
  -S   1 loaded, 0 not loaded, 255 cannot tell
)",
    .main = kexec_main,
    .failure_exit_code = core::kexec::exit_status(FailureKind::Usage),
};

namespace {

using Options = core::kexec::KexecCommand;

core::Result<void> write_stdout(std::string const& text) { return core::write_all(STDOUT_FILENO, std::string_view(text), "standard output"); }

// Prints the error as the dispatcher would, and exits as kexec-tools does.
int fail(FailureKind kind, core::Error const& error)
{
    core::log::error(error.message());
    return core::kexec::exit_status(kind);
}

// core's load sequence, with the command line the options ask for.
// Returns the exit status of a failure, nullopt on success.
std::optional<int> load_kernel(Options const& options, core::kexec::Target target, std::string_view kernel)
{
    core::kexec::LoadRequest request {
        .kernel_path = std::string(kernel),
        .initrd_path = options.initrd,
        .cmdline = {},
        .target = target,
        .kernel_debug = options.debug,
        .syscall = options.syscall,
    };
    core::kexec::CmdlineRequest cmdline { .target = target, .reuse_current = options.reuse_cmdline, .append = options.append };
    FailureKind kind = FailureKind::Failed;
    auto report = core::kexec::load_kernel(std::move(request), cmdline, options.dry_run ? core::kexec::DryRun::Yes : core::kexec::DryRun::No, &kind);
    if (!report.ok())
        return fail(kind, report.error());
    if (!report->outcome)
        core::log::notice(core::cat("dry run: would call ", report->description));
    else if (report->fallback_reason)
        core::log::info(core::cat("loaded ", kernel, " with classic kexec_load (", *report->fallback_reason, ")"));
    else if (report->outcome->unwrapped)
        core::log::info(core::cat("loaded ", kernel, " after decompressing it (the kernel does not take it compressed)"));
    return std::nullopt;
}

int status(core::kexec::Target target)
{
    auto loaded = core::kexec::is_loaded(target);
    if (!loaded.ok())
        core::log::error(loaded.error().message());
    else
        core::log::debug(core::cat(core::kexec::target_name(target), loaded.value() ? ": loaded" : ": not loaded"));
    return core::kexec::status_exit_status(loaded);
}

// -e, or the second half of -f: kexec-tools die()s when nothing is loaded,
// and returns -1 when reboot(2) comes back.
int exec_kernel(Options const& options, core::kexec::SyncFirst sync)
{
    FailureKind kind = FailureKind::Failed;
    auto result = core::kexec::exec_loaded(sync, options.dry_run ? core::kexec::DryRun::Yes : core::kexec::DryRun::No, &kind);
    if (!result.ok())
        return fail(kind, result.error());
    if (options.dry_run)
        core::log::notice(core::cat("dry run: would ", core::kexec::describe_exec(sync)));
    return exit_ok; // after a real exec not reached: the new kernel is running
}

core::Result<int> kexec_main(Context&, Arguments args)
{
    Options options;
    bool help = false;
    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    core::kexec::declare_kexec_options(parser, options);

    auto operands = TRY(parser.parse(args));
    if (help) {
        print_help(kexec_applet, parser);
        return exit_ok;
    }
    if (options.version) {
        TRY(write_stdout(core::cat("kexec (kdumpbox ", core::kdumpbox_version(), "), kexec_file_load and classic kexec_load\n")));
        return exit_ok;
    }
    if (options.debug)
        core::log::set_threshold(core::log::Level::Debug);
    if (options.print_reservation) {
        TRY(write_stdout(core::cat(TRY(core::kexec::crash_reservation_bytes()), '\n')));
        return exit_ok;
    }

    using core::kexec::Target;
    // -S outranks everything, as in kexec-tools; it asks about the crash
    // kernel unless -l says otherwise.
    if (options.status)
        return status(options.load && !options.panic ? Target::Reboot : Target::Panic);
    Target target = options.panic ? Target::Panic : Target::Reboot;
    if (options.unload) {
        if (!operands.empty())
            return core::Error::invalid(core::cat("-u takes no kernel, but '", operands.front(), "' was given"));
        if (options.dry_run) {
            core::log::notice(core::cat("dry run: would call ", core::kexec::describe_unload(target, options.syscall)));
            return exit_ok;
        }
        auto unloaded = core::kexec::unload(target, {}, core::kexec::real_kexec_file_load, options.syscall);
        if (!unloaded.ok())
            return fail(core::kexec::unload_failure_kind(unloaded.error().errno_code()), unloaded.error());
        return exit_ok;
    }
    if (int(options.load) + int(options.panic) + int(options.force) > 1)
        return core::Error::invalid("-l, -p and -f exclude each other; pick one");
    if (options.exec && options.panic)
        return core::Error::invalid("-e starts the kexec kernel; a crash kernel (-p) is started by a crash, not by -e");
    if (options.exec && options.load)
        return core::Error::invalid("-l and -e together: load with 'kexec -l KERNEL', then run 'kexec -e', or use 'kexec -f KERNEL' to do both at once");

    core::kexec::SyncFirst sync = options.no_sync ? core::kexec::SyncFirst::No : core::kexec::SyncFirst::Yes;
    bool loads = options.load || options.panic || options.force;
    if (!loads && !options.exec) {
        if (operands.size() == 1)
            return core::Error::unsupported(core::cat("'kexec ", operands.front(), "' without -l would load the kernel and run 'shutdown -r now', which this kexec does not do; use 'kexec -l ", operands.front(),
                "' and then 'systemctl kexec' or 'kexec -e', or 'kexec -f ", operands.front(), "' to load and start it at once"));
        return core::Error::invalid("nothing to do: give -l KERNEL, -p KERNEL, -f KERNEL, -e, -u or -S (see --help)");
    }
    if (loads) {
        if (operands.size() != 1)
            return core::Error::invalid(operands.empty() ? std::string("no kernel given: name the kernel image to load (for example /boot/vmlinuz-$(uname -r))")
                                                         : core::cat("expected one kernel image, got ", operands.size(), " operands (see --help)"));
        if (auto failed = load_kernel(options, target, operands.front()))
            return *failed;
        if (!options.force)
            return exit_ok;
        if (options.dry_run) {
            // Nothing was loaded, so there is nothing to check yet.
            core::log::notice(core::cat("dry run: would ", core::kexec::describe_exec(sync)));
            return exit_ok;
        }
    } else if (!operands.empty()) {
        return core::Error::invalid(core::cat("-e takes no kernel, but '", operands.front(), "' was given; load it with -l first, or use -f"));
    }
    return exec_kernel(options, sync);
}

} // namespace
} // namespace applets
