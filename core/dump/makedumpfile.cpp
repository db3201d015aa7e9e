// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/makedumpfile.h"

#include "core/base/log.h"
#include "core/base/strings.h"

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

} // namespace

Result<MakedumpfilePlan> plan_makedumpfile(MakedumpfileRequest const& request)
{
    MakedumpfilePlan plan;
    plan.options = request.options;
    auto& options = plan.options;
    auto const& operands = request.operands;
    options.message_level = request.message_level.value_or(message_level::standard) | (request.debug ? message_level::debug : 0) | (request.show_stats ? message_level::report : 0);
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

} // namespace core
