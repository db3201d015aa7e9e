// SPDX-License-Identifier: GPL-2.0-or-later
// collector: a drop-in makedumpfile (the common options, unchanged) and
// vmcore-dmesg. Options makedumpfile has but we do not implement are refused
// by name, never silently ignored.
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

// Options makedumpfile has that this collector does not implement, with why
// or what to use instead. Accepting and ignoring them would silently make
// a different dump than the admin asked for.
constexpr RefusedOption refused_options[] = {
    { 'x', "", core::cli::Arity::Required, "reading debug info from a vmlinux is not supported; the VMCOREINFO note in the vmcore is used instead" },
    { 'i', "", core::cli::Arity::Required, "a separate VMCOREINFO file is not supported; the VMCOREINFO note in the vmcore is used instead" },
    { 'g', "", core::cli::Arity::Required, "generating a VMCOREINFO file is not supported" },
    { 'L', "", core::cli::Arity::Required, "a size limit is not supported; the dump is marked incomplete when the disk fills up" },
    { 'e', "", core::cli::Arity::None, "excluding unused vmemmap is not supported" },
    { 'X', "", core::cli::Arity::None, "Xen dumps are not supported" },
    { 0, "split", core::cli::Arity::None, "split dumps are not supported; --num-threads parallelises one dump instead" },
    { 0, "reassemble", core::cli::Arity::None, "split dumps are not supported" },
    { 0, "config", core::cli::Arity::Required, "erase filters (--config) are not supported" },
    { 0, "eppic", core::cli::Arity::Required, "eppic filters are not supported" },
    { 0, "mem-usage", core::cli::Arity::None, "--mem-usage is not supported; see 'kdump estimate'" },
    { 0, "work-dir", core::cli::Arity::Required, "memory is already bounded; no work directory is used" },
    { 0, "splitblock-size", core::cli::Arity::Required, "split dumps are not supported" },
    { 0, "non-cyclic", core::cli::Arity::None, "there is no cyclic mode to turn off" },
    { 0, "partial-dmesg", core::cli::Arity::None, "--partial-dmesg is not supported; --dump-dmesg prints the whole log" },
    { 0, "vtop", core::cli::Arity::Required, "--vtop is not supported" },
    { 0, "exclude-xen-dom", core::cli::Arity::None, "Xen dumps are not supported" },
    { 0, "dump-level-list", core::cli::Arity::None, "not supported" },
};

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
    bool help = false, version = false;

    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    parser.flag('v', "version", &version, "print the version and exit");
    parser.custom('d', "dump-level", core::cli::Arity::Required, "N", [&](std::optional<std::string_view> value) -> core::Result<void> {
        auto level = TRY(core::parse_u64(*value, "dump level"));
        if (level > 31)
            return core::Error::invalid(core::cat("dump level ", level, " is out of range; use 0 to 31 (a sum of 1, 2, 4, 8, 16)"));
        options.dump_level = static_cast<int>(level);
        return {};
    }, "leave out pages: a sum of 1 zero, 2 non-private cache, 4 all cache, 8 user, 16 free");
    parser.flag('c', "", &request.zlib, "compress pages with zlib");
    parser.flag('l', "", &request.lzo, "accepted for compatibility: lzo is not built in; writes zstd, with a warning");
    parser.flag('p', "", &request.snappy, "accepted for compatibility: snappy is not built in; writes zstd, with a warning");
    parser.flag('z', "", &request.zstd, "compress pages with zstd (the default)");
    parser.flag('E', "", &request.elf, "write an ELF dump");
    parser.flag('F', "", &request.flatten, "write a flattened stream to standard output");
    parser.flag('R', "", &request.rearrange, "rebuild a flattened stream from standard input into DUMPFILE");
    parser.flag('f', "force", &options.overwrite, "overwrite an existing DUMPFILE");
    parser.flag(0, "dump-dmesg", &request.dump_dmesg, "write the crashed kernel's log to LOGFILE");
    parser.flag(0, "dry-run", &options.dry_run, "do everything but write the dump; the report still shows its size");
    parser.flag(0, "check-params", &request.check_params, "only check the options and exit");
    parser.flag(0, "show-stats", &request.show_stats, "print the report of pages excluded and written");
    parser.flag('D', "", &request.debug, "print debugging messages (message level + 8)");
    parser.flag(0, "non-mmap", &options.pread_only, "read the vmcore with read(2), not mmap");
    parser.flag(0, "no-page-sharing", &options.no_page_sharing, "store every kept page on its own (no sharing of identical pages)");
    parser.custom(0, "message-level", core::cli::Arity::Required, "N", [&](std::optional<std::string_view> value) -> core::Result<void> {
        auto level = TRY(core::parse_u64(*value, "message level"));
        if (level > 31)
            return core::Error::invalid(core::cat("message level ", level, " is out of range; use 0 to 31 (1 progress, 2 common, 4 errors, 8 debug, 16 report)"));
        request.message_level = static_cast<int>(level);
        return {};
    }, "what to print: a sum of 1 progress, 2 common, 4 errors, 8 debug, 16 report (default 7)");
    parser.custom(0, "num-threads", core::cli::Arity::Required, "N", [&](std::optional<std::string_view> value) -> core::Result<void> {
        auto threads = TRY(core::parse_u64(*value, "thread count"));
        if (threads > 256)
            return core::Error::invalid(core::cat("thread count ", threads, " is out of range; use 0 to 256 (0: one per CPU)"));
        if (threads > 0)
            options.thread_count = static_cast<unsigned>(threads);
        return {};
    }, "compress with N threads (default: one per CPU online)");
    parser.custom('b', "", core::cli::Arity::Required, "ORDER", [&](std::optional<std::string_view> value) -> core::Result<void> {
        auto order = TRY(core::parse_u64(*value, "buffer order (-b)"));
        if (order > 14)
            return core::Error::invalid(core::cat("buffer order ", order, " is out of range; use 0 to 14"));
        return {}; // Our write buffers are sized already; the value is checked only.
    }, "accepted for compatibility: write buffers are sized automatically");
    parser.custom(0, "cyclic-buffer", core::cli::Arity::Required, "KIB", [&](std::optional<std::string_view> value) -> core::Result<void> {
        auto kib = TRY(core::parse_u64(*value, "cyclic buffer size (KiB)"));
        if (kib == 0 || kib > (uint64_t { 1 } << 30))
            return core::Error::invalid(core::cat("cyclic buffer size ", kib, " KiB is out of range; use 1 to 1073741824"));
        options.bitmap_memory_bytes = kib * 1024;
        return {};
    }, "memory for each whole-dump page bitmap (default 2048 KiB); bigger dumps filter twice, 1 GiB of RAM at a time");
    add_refused_options(parser, refused_options, "makedumpfile");

    for (auto operand : TRY(parser.parse(args)))
        request.operands.emplace_back(operand);
    if (help) {
        print_help(collector_applet, parser);
        return exit_completed;
    }
    if (version) {
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
