// SPDX-License-Identifier: GPL-2.0-or-later
// collector: a drop-in makedumpfile (the common options, unchanged) and
// vmcore-dmesg. The options are declared in core/dump/makedumpfile.h, where
// kdump start checks core_collector with them too; those makedumpfile has
// but we do not implement are refused by name, never silently ignored.
#include "applets/applet.h"

#include "core/dump/collector.h"
#include "core/dump/makedumpfile.h"
#include "core/base/fd.h"
#include "core/base/log.h"
#include "core/base/strings.h"

#include <thread>
#include <unistd.h>

namespace applets {

namespace {

constexpr std::string_view aliases[] = { "makedumpfile", "vmcore-dmesg" };

core::Result<int> collector_main(Context& context, Arguments args);

// makedumpfile's exit codes.
constexpr int exit_completed = 0;
constexpr int exit_failed = 1;

} // namespace

extern Applet const collector_applet = {
    .name = "collector",
    .aliases = aliases,
    .summary = "filter and compress a vmcore (makedumpfile), extract its log (vmcore-dmesg)",
    .help = R"(Usage: makedumpfile [-c|-l|-p|-z] [-d N] [-E] [-f] VMCORE DUMPFILE
       makedumpfile -F [-c|-l|-p|-z] [-d N] VMCORE > STREAM
       makedumpfile -R DUMPFILE < STREAM
       makedumpfile --dump-dmesg VMCORE LOGFILE
       vmcore-dmesg VMCORE

Reads an ELF vmcore (/proc/vmcore, or a saved copy) or a kdump-compressed
file and writes a kdump-compressed dump that crash and libkdumpfile open.
Pages are compressed one by one with zstd unless -c (zlib) is given; -l
(lzo) and -p (snappy) are accepted for existing configurations and write
zstd instead, with a warning. The dump is written as DUMPFILE-incomplete and
renamed to DUMPFILE when complete and synced; an existing DUMPFILE is kept
unless -f is given.

Dump level (-d, a sum): 1 zero pages, 2 non-private cache, 4 all cache,
8 user data, 16 free pages. Default 0 (keep everything).
Exit status: 0 done, 1 failed (including an incomplete dump).
)",
    .main = collector_main,
    .failure_exit_code = exit_failed,
};

namespace {

core::Result<int> vmcore_dmesg_main(Arguments args)
{
    bool help = false;
    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    auto operands = TRY(parser.parse(args));
    if (help) {
        print_help(collector_applet, parser);
        return 0;
    }
    if (operands.size() != 1)
        return core::Error::invalid("usage: vmcore-dmesg VMCORE (the log goes to standard output)");
    auto text = TRY(core::read_dmesg(std::string(operands[0])));
    TRY(core::write_all(STDOUT_FILENO, std::string_view(text), "standard output"));
    return 0;
}

core::Result<int> collector_main(Context& context, Arguments args)
{
    if (context.invoked_name == "vmcore-dmesg")
        return vmcore_dmesg_main(args);

    core::MakedumpfileRequest request;
    auto& options = request.options;
    options.thread_count = std::max(1u, std::thread::hardware_concurrency());
    bool help = false;

    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    core::declare_makedumpfile_options(parser, request);

    for (auto operand : TRY(parser.parse(args)))
        request.operands.emplace_back(operand);
    if (help) {
        print_help(collector_applet, parser);
        return exit_completed;
    }
    if (request.version) {
        std::string text = core::cat(context.invoked_name, ": kdumpbox collector, kdump-compressed format version 6, codecs zstd and zlib\n");
        TRY(core::write_all(STDOUT_FILENO, std::string_view(text), "standard output"));
        return exit_completed;
    }
    request.stdout_is_terminal = ::isatty(STDOUT_FILENO);
    auto plan = TRY(core::plan_makedumpfile(request));
    if (plan.check_only)
        return exit_completed;
    options = plan.options;
    switch (plan.mode) {
    case core::MakedumpfileMode::Rebuild:
        TRY(core::rebuild_flattened_file(STDIN_FILENO, "standard input", options.output_path, options.overwrite));
        return exit_completed;
    case core::MakedumpfileMode::DumpDmesg:
        TRY(core::save_dmesg_file(options.input_path, options.output_path, options.overwrite));
        core::log::notice(core::cat("The dmesg log is saved to ", options.output_path, "."));
        return exit_completed;
    case core::MakedumpfileMode::Collect:
        break;
    }

    auto report = TRY(core::collect(options));
    if (options.message_level & core::message_level::report)
        TRY(core::write_all(STDERR_FILENO, core::format_report(report), "standard error"));
    if (options.message_level & core::message_level::common) {
        if (options.dry_run)
            core::log::notice(core::cat("dry run: the dump would take ", report.output_bytes, " bytes"));
        else
            core::log::notice(core::cat("The dumpfile is saved to ", report.output_path, "."));
    }
    return exit_completed;
}

} // namespace
} // namespace applets
