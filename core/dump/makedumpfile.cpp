// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/makedumpfile.h"

#include "core/base/log.h"
#include "core/base/strings.h"

#include <cerrno>

namespace core {

namespace {

// The message level's bits decide what reaches the log; errors always do,
// since they reach the exit status anyway.
void apply_message_level(int level)
{
    if (!(level & message_level::common))
        log::set_threshold(log::Level::Error);
    if (level & message_level::debug)
        log::set_threshold(log::Level::Debug);
    if (!(level & message_level::error))
        log::set_threshold(log::Level::Error);
}

// Options makedumpfile has that this collector does not implement, with why
// or what to use instead. Accepting and ignoring them would silently make
// a different dump than the admin asked for.
constexpr cli::RefusedOption refused_options[] = {
    { 'x', "", cli::Arity::Required, "reading debug info from a vmlinux is not supported; the VMCOREINFO note in the vmcore is used instead" },
    { 'i', "", cli::Arity::Required, "a separate VMCOREINFO file is not supported; the VMCOREINFO note in the vmcore is used instead" },
    { 'g', "", cli::Arity::Required, "generating a VMCOREINFO file is not supported" },
    { 'L', "", cli::Arity::Required, "a size limit is not supported; the dump is marked incomplete when the disk fills up" },
    { 'e', "", cli::Arity::None, "excluding unused vmemmap is not supported" },
    { 'X', "", cli::Arity::None, "Xen dumps are not supported" },
    { 0, "split", cli::Arity::None, "split dumps are not supported; --num-threads parallelises one dump instead" },
    { 0, "reassemble", cli::Arity::None, "split dumps are not supported" },
    { 0, "config", cli::Arity::Required, "erase filters (--config) are not supported" },
    { 0, "eppic", cli::Arity::Required, "eppic filters are not supported" },
    { 0, "mem-usage", cli::Arity::None, "--mem-usage is not supported; see 'kdump estimate'" },
    { 0, "work-dir", cli::Arity::Required, "memory is already bounded; no work directory is used" },
    { 0, "splitblock-size", cli::Arity::Required, "split dumps are not supported" },
    { 0, "non-cyclic", cli::Arity::None, "there is no cyclic mode to turn off" },
    { 0, "partial-dmesg", cli::Arity::None, "--partial-dmesg is not supported; --dump-dmesg prints the whole log" },
    { 0, "vtop", cli::Arity::Required, "--vtop is not supported" },
    { 0, "exclude-xen-dom", cli::Arity::None, "Xen dumps are not supported" },
    { 0, "dump-level-list", cli::Arity::None, "not supported" },
};

} // namespace

void declare_makedumpfile_options(cli::OptionParser& parser, MakedumpfileRequest& request)
{
    auto& options = request.options;
    parser.flag('v', "version", &request.version, "print the version and exit");
    parser.custom('d', "dump-level", cli::Arity::Required, "N", [&](std::optional<std::string_view> value) -> Result<void> {
        auto level = TRY(parse_u64(*value, "dump level"));
        if (level > 31)
            return Error::invalid(cat("dump level ", level, " is out of range; use 0 to 31 (a sum of 1, 2, 4, 8, 16)"));
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
    parser.flag(0, "adaptive-level", &options.adaptive_level, "zstd: a faster level while the CPUs are the limit, a smaller one while the target is");
    parser.custom(0, "message-level", cli::Arity::Required, "N", [&](std::optional<std::string_view> value) -> Result<void> {
        auto level = TRY(parse_u64(*value, "message level"));
        if (level > 31)
            return Error::invalid(cat("message level ", level, " is out of range; use 0 to 31 (1 progress, 2 common, 4 errors, 8 debug, 16 report)"));
        request.message_level = static_cast<int>(level);
        return {};
    }, "what to print: a sum of 1 progress, 2 common, 4 errors, 8 debug, 16 report (default 7)");
    parser.custom(0, "num-threads", cli::Arity::Required, "N", [&](std::optional<std::string_view> value) -> Result<void> {
        auto threads = TRY(parse_u64(*value, "thread count"));
        if (threads > 256)
            return Error::invalid(cat("thread count ", threads, " is out of range; use 0 to 256 (0: one per CPU)"));
        if (threads > 0)
            options.thread_count = static_cast<unsigned>(threads);
        return {};
    }, "compress with N threads (default: one per CPU online)");
    parser.custom('b', "", cli::Arity::Required, "ORDER", [&](std::optional<std::string_view> value) -> Result<void> {
        auto order = TRY(parse_u64(*value, "buffer order (-b)"));
        if (order > 14)
            return Error::invalid(cat("buffer order ", order, " is out of range; use 0 to 14"));
        return {}; // Our write buffers are sized already; the value is checked only.
    }, "accepted for compatibility: write buffers are sized automatically");
    parser.custom(0, "cyclic-buffer", cli::Arity::Required, "KIB", [&](std::optional<std::string_view> value) -> Result<void> {
        auto kib = TRY(parse_u64(*value, "cyclic buffer size (KiB)"));
        if (kib == 0 || kib > (uint64_t { 1 } << 30))
            return Error::invalid(cat("cyclic buffer size ", kib, " KiB is out of range; use 1 to 1073741824"));
        options.bitmap_memory_bytes = kib * 1024;
        return {};
    }, "memory for each whole-dump page bitmap (default 2048 KiB); bigger dumps filter twice, 1 GiB of RAM at a time");
    cli::add_refused_options(parser, refused_options, "makedumpfile");
}

Result<MakedumpfileRequest> parse_makedumpfile_arguments(std::span<std::string const> args)
{
    MakedumpfileRequest request;
    cli::OptionParser parser;
    declare_makedumpfile_options(parser, request);
    std::vector<std::string_view> views(args.begin(), args.end());
    for (auto operand : TRY(parser.parse(views)))
        request.operands.emplace_back(operand);
    return request;
}

Result<MakedumpfilePlan> plan_makedumpfile(MakedumpfileRequest const& request)
{
    MakedumpfilePlan plan;
    plan.options = request.options;
    auto& options = plan.options;
    auto const& operands = request.operands;
    options.message_level = request.message_level.value_or(message_level::standard) | (request.debug ? message_level::debug : 0) | (request.show_stats ? message_level::report : 0);
    if (!request.check_params)
        apply_message_level(options.message_level);

    if (int(request.zlib) + int(request.lzo) + int(request.snappy) + int(request.zstd) > 1)
        return Error::invalid("-c, -l, -p and -z exclude each other; pick one compression");
    if (request.zlib)
        options.codec = Codec::Zlib;
    if ((request.lzo || request.snappy) && !request.check_params)
        log::warn(cat(request.lzo ? "-l (lzo)" : "-p (snappy)", " is not built into kdumpbox; writing zstd-compressed pages instead (crash and libkdumpfile read both)"));

    plan.check_only = request.check_params;
    if (request.rearrange) {
        if (operands.size() != 1)
            return Error::invalid("usage: makedumpfile -R DUMPFILE < STREAM");
        plan.mode = MakedumpfileMode::Rebuild;
        options.output_path = operands[0];
        return plan;
    }
    if (request.dump_dmesg) {
        if (operands.size() != 2)
            return Error::invalid("usage: makedumpfile --dump-dmesg VMCORE LOGFILE");
        plan.mode = MakedumpfileMode::DumpDmesg;
        options.input_path = operands[0];
        options.output_path = operands[1];
        return plan;
    }
    if (request.flatten) {
        if (operands.size() != 1)
            return Error::invalid("usage: makedumpfile -F [OPTIONS] VMCORE > STREAM (the stream goes to standard output)");
        options.input_path = operands[0];
        options.output_path = "-";
        options.format = request.elf ? DumpFormat::ElfFlattened : DumpFormat::KdumpFlattened;
        if (request.stdout_is_terminal && !request.check_params)
            return Error::invalid("-F writes a binary stream to standard output, which is a terminal; redirect it to a file or a pipe");
    } else {
        if (operands.size() != 2)
            return Error::invalid(cat("expected VMCORE and DUMPFILE, got ", operands.size(), " operand", operands.size() == 1 ? "" : "s", " (see --help)"));
        options.input_path = operands[0];
        options.output_path = operands[1];
        options.format = request.elf ? DumpFormat::Elf : DumpFormat::Kdump;
    }
    return plan;
}

bool runs_builtin_makedumpfile(std::vector<std::string> const& argv)
{
    return !argv.empty() && argv.front() == "makedumpfile";
}

std::vector<std::string> collector_argv_for(std::vector<std::string> argv, CollectorOutput output)
{
    if (!runs_builtin_makedumpfile(argv))
        return argv;
    std::erase(argv, std::string("-F"));
    if (output == CollectorOutput::Stream)
        argv.insert(argv.begin() + 1, "-F");
    return argv;
}

Result<void> check_makedumpfile_command(std::vector<std::string> const& argv, CollectorOutput output)
{
    if (!runs_builtin_makedumpfile(argv))
        return Error::invalid(cat("'", argv.empty() ? std::string() : argv.front(), "' is not makedumpfile"));
    std::vector<std::string> args(argv.begin() + 1, argv.end());
    // What the dumper appends (the names only have to look right).
    args.push_back("/proc/vmcore");
    if (output == CollectorOutput::File)
        args.push_back("/var/crash/vmcore-incomplete");
    auto parsed = parse_makedumpfile_arguments(args);
    if (!parsed.ok()) {
        if (parsed.error().errno_code() == ENOTSUP)
            return std::move(parsed).error();
        return Error::invalid(cat(parsed.error().message(), "; 'makedumpfile --help' lists the options kdumpbox's collector takes"));
    }
    auto request = std::move(parsed).release_value();
    if (request.version)
        return Error::invalid("-v prints the version and writes no dump; remove it");
    if (request.rearrange || request.dump_dmesg)
        return Error::invalid(cat(request.rearrange ? "-R rebuilds a flattened stream" : "--dump-dmesg saves the log", " and writes no dump; remove it (vmcore-dmesg.txt is saved anyway)"));
    if (request.check_params || request.options.dry_run)
        return Error::invalid(cat(request.check_params ? "--check-params" : "--dry-run", " writes no dump; remove it"));
    if (request.flatten && output == CollectorOutput::File)
        return Error::invalid("-F is bundled with other flags; write it as a word of its own or drop it (kdumpbox adds -F for raw and ssh targets and removes it for the others, as kdump-utils does)");
    request.check_params = true;
    TRY(plan_makedumpfile(request));
    return {};
}

} // namespace core
