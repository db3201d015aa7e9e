// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/makedumpfile.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/safe_file.h"
#include "core/dump/collector.h"

#include <cerrno>
#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fcntl.h>
#include <string>

namespace {

using test_support::ScratchDir;

core::MakedumpfileRequest request_with(std::vector<std::string> operands)
{
    core::MakedumpfileRequest request;
    request.operands = std::move(operands);
    return request;
}

} // namespace

TEST_CASE("plan_makedumpfile: modes and their operands")
{
    auto dump = core::plan_makedumpfile(request_with({ "/proc/vmcore", "/var/crash/vmcore" }));
    REQUIRE(dump.ok());
    CHECK(dump->mode == core::MakedumpfileMode::Collect);
    CHECK(dump->options.format == core::DumpFormat::Kdump);
    CHECK(dump->options.codec == core::Codec::Zstd);
    CHECK(dump->options.message_level == core::message_level::standard);
    CHECK(dump->options.output_path == "/var/crash/vmcore");

    auto one = core::plan_makedumpfile(request_with({ "/proc/vmcore" }));
    REQUIRE_FALSE(one.ok());
    CHECK(one.error().message() == "expected VMCORE and DUMPFILE, got 1 operand (see --help)");

    auto rebuild = request_with({ "out" });
    rebuild.rearrange = true;
    auto rebuild_plan = core::plan_makedumpfile(rebuild);
    REQUIRE(rebuild_plan.ok());
    CHECK(rebuild_plan->mode == core::MakedumpfileMode::Rebuild);
    CHECK(rebuild_plan->options.output_path == "out");
    rebuild.operands.push_back("extra");
    CHECK(core::plan_makedumpfile(rebuild).error().message() == "usage: makedumpfile -R DUMPFILE < STREAM");

    auto dmesg = request_with({ "vmcore", "log" });
    dmesg.dump_dmesg = true;
    auto dmesg_plan = core::plan_makedumpfile(dmesg);
    REQUIRE(dmesg_plan.ok());
    CHECK(dmesg_plan->mode == core::MakedumpfileMode::DumpDmesg);
    CHECK(dmesg_plan->options.input_path == "vmcore");
    CHECK(dmesg_plan->options.output_path == "log");

    auto flatten = request_with({ "vmcore" });
    flatten.flatten = true;
    flatten.elf = true;
    flatten.stdout_is_terminal = true;
    auto to_terminal = core::plan_makedumpfile(flatten);
    REQUIRE_FALSE(to_terminal.ok());
    CHECK(to_terminal.error().message().find("-F writes a binary stream to standard output, which is a terminal") == 0);
    flatten.check_params = true;
    auto checked = core::plan_makedumpfile(flatten);
    REQUIRE(checked.ok());
    CHECK(checked->check_only);
    CHECK(checked->options.format == core::DumpFormat::ElfFlattened);
    CHECK(checked->options.output_path == "-");
}

TEST_CASE("plan_makedumpfile: codec fallback and message level")
{
    auto both = request_with({ "a", "b" });
    both.zlib = true;
    both.zstd = true;
    CHECK(core::plan_makedumpfile(both).error().message() == "-c, -l, -p and -z exclude each other; pick one compression");

    auto zlib = request_with({ "a", "b" });
    zlib.zlib = true;
    CHECK(core::plan_makedumpfile(zlib)->options.codec == core::Codec::Zlib);
    auto lzo = request_with({ "a", "b" });
    lzo.lzo = true;
    CHECK(core::plan_makedumpfile(lzo)->options.codec == core::Codec::Zstd);
    auto snappy = request_with({ "a", "b" });
    snappy.snappy = true;
    snappy.check_params = true;
    CHECK(core::plan_makedumpfile(snappy)->options.codec == core::Codec::Zstd);

    auto levels = request_with({ "a", "b" });
    levels.message_level = 1;
    levels.debug = true;
    levels.show_stats = true;
    CHECK(core::plan_makedumpfile(levels)->options.message_level == (1 | core::message_level::debug | core::message_level::report));
    core::log::set_threshold(core::log::Level::Info);
}

TEST_CASE("makedumpfile -R: a stream that stops early leaves DUMPFILE-incomplete, never DUMPFILE")
{
    ScratchDir dir("kdumpbox-makedumpfile");
    std::string stream_path = dir.path + "/stream";
    REQUIRE(core::write_text_atomically(stream_path, std::string("makedumpfile\0\0\0", 16)).ok());
    auto stream = core::open_file(stream_path, O_RDONLY).value();
    std::string output = dir.path + "/dumpfile";
    auto rebuilt = core::rebuild_flattened_file(stream.get(), "standard input", output, false);
    REQUIRE_FALSE(rebuilt.ok());
    CHECK(rebuilt.error().message().find("the dump is incomplete; what arrived is in " + output + "-incomplete") == 0);
    CHECK_FALSE(core::path_exists(output));
    CHECK(core::path_exists(output + "-incomplete"));

    // An existing DUMPFILE is kept without -f, before anything is read.
    REQUIRE(core::write_text_atomically(output, "keep").ok());
    auto kept = core::rebuild_flattened_file(stream.get(), "standard input", output, false);
    REQUIRE_FALSE(kept.ok());
    CHECK(kept.error().errno_code() == EEXIST);
    CHECK(kept.error().message() == output + " already exists; remove it or add -f to overwrite it");
    CHECK(core::read_text_file(output).value() == "keep");
}

TEST_CASE("makedumpfile --dump-dmesg: an unreadable vmcore leaves no LOGFILE")
{
    ScratchDir dir("kdumpbox-makedumpfile");
    std::string vmcore = dir.path + "/vmcore";
    REQUIRE(core::write_text_atomically(vmcore, "not an ELF file").ok());
    std::string log = dir.path + "/dmesg.txt";
    CHECK_FALSE(core::save_dmesg_file(vmcore, log, false).ok());
    CHECK_FALSE(core::path_exists(log));
    CHECK_FALSE(core::path_exists(log + "-incomplete"));
}

TEST_CASE("makedumpfile options: one declaration, refused options named with the reason")
{
    std::vector<std::string> args { "-c", "-d", "31", "--message-level", "7", "-F", "vmcore" };
    auto parsed = core::parse_makedumpfile_arguments(args);
    REQUIRE(parsed.ok());
    CHECK(parsed->zlib);
    CHECK(parsed->flatten);
    CHECK(parsed->options.dump_level == 31);
    CHECK(parsed->message_level == 7);
    CHECK(parsed->operands == std::vector<std::string> { "vmcore" });

    std::vector<std::string> split { "--split", "a", "b" };
    CHECK(core::parse_makedumpfile_arguments(split).error().message() == "--split: not supported by this makedumpfile: split dumps are not supported; --num-threads parallelises one dump instead");
}

TEST_CASE("core_collector: kdump-utils' -F rule, for makedumpfile only")
{
    using core::CollectorOutput;
    using Words = std::vector<std::string>;
    CHECK(core::collector_argv_for({ "makedumpfile", "-l", "-d", "31" }, CollectorOutput::Stream) == Words { "makedumpfile", "-F", "-l", "-d", "31" });
    CHECK(core::collector_argv_for({ "makedumpfile", "-F", "-l", "-F" }, CollectorOutput::Stream) == Words { "makedumpfile", "-F", "-l" });
    CHECK(core::collector_argv_for({ "makedumpfile", "-F", "-l", "-d", "31" }, CollectorOutput::File) == Words { "makedumpfile", "-l", "-d", "31" });
    CHECK(core::collector_argv_for({ "/usr/bin/cp", "-F" }, CollectorOutput::File) == Words { "/usr/bin/cp", "-F" });
    CHECK(core::runs_builtin_makedumpfile({ "makedumpfile" }));
    CHECK_FALSE(core::runs_builtin_makedumpfile({ "/usr/sbin/makedumpfile" }));
}

TEST_CASE("core_collector: checked as makedumpfile --check-params would, with the operands the dumper adds")
{
    using core::CollectorOutput;
    core::log::set_threshold(core::log::Level::Info);
    // kdump-utils' default and the common variants pass, either way.
    for (auto output : { CollectorOutput::File, CollectorOutput::Stream }) {
        for (auto const& line : std::vector<std::vector<std::string>> { { "makedumpfile", "-l", "--message-level", "7", "-d", "31" }, { "makedumpfile", "-c", "-d", "1" }, { "makedumpfile", "-E", "-d", "31" } }) {
            auto checked = core::check_makedumpfile_command(core::collector_argv_for(line, output), output);
            CHECK_MESSAGE(checked.ok(), (checked.ok() ? std::string() : checked.error().message()));
        }
    }
    auto error = [](std::vector<std::string> argv, CollectorOutput output = CollectorOutput::File) {
        auto checked = core::check_makedumpfile_command(argv, output);
        REQUIRE_FALSE(checked.ok());
        return checked.error().message();
    };
    CHECK(error({ "makedumpfile", "--bogus" }) == "unknown option '--bogus' (see --help); 'makedumpfile --help' lists the options kdumpbox's collector takes");
    CHECK(error({ "makedumpfile", "-x", "vmlinux" }).starts_with("-x: not supported by this makedumpfile: reading debug info from a vmlinux"));
    CHECK(error({ "makedumpfile", "-c", "-z" }) == "-c, -l, -p and -z exclude each other; pick one compression");
    CHECK(error({ "makedumpfile", "-R" }) == "-R rebuilds a flattened stream and writes no dump; remove it (vmcore-dmesg.txt is saved anyway)");
    CHECK(error({ "makedumpfile", "--dry-run" }) == "--dry-run writes no dump; remove it");
    CHECK(error({ "makedumpfile", "-v" }) == "-v prints the version and writes no dump; remove it");
    CHECK(error({ "makedumpfile", "-cF" }).starts_with("-F is bundled with other flags"));
    // A stray operand leaves the dumper's two in the wrong places.
    CHECK(error({ "makedumpfile", "-d", "31", "extra" }) == "expected VMCORE and DUMPFILE, got 3 operands (see --help)");
    CHECK(error({ "makedumpfile", "-F", "extra" }, CollectorOutput::Stream).starts_with("usage: makedumpfile -F"));
}
