// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/cli.h"

#include "core/base/strings.h"

#include <doctest.h>
#include <vector>

using core::cli::Arity;
using core::cli::OptionParser;

namespace {

struct Parsed {
    bool compress = false;
    bool elf = false;
    int verbose = 0;
    std::optional<std::string> dump_level;
    std::optional<std::string> append;
    std::vector<std::string> modules;
    std::optional<std::string> message_level;
    OptionParser parser;

    Parsed()
    {
        parser.flag('c', "", &compress, "zlib");
        parser.flag('E', "elf", &elf, "ELF");
        parser.counter('v', "verbose", &verbose, "more output");
        parser.value('d', "dump-level", "N", &dump_level, "dump level");
        parser.value(0, "append", "TEXT", &append, "append");
        parser.list('m', "module", "NAME", &modules, "module");
        parser.custom(0, "message-level", Arity::Required, "N", [this](std::optional<std::string_view> value) -> core::Result<void> {
            auto level = TRY(core::parse_u64(*value, "message level"));
            if (level > 31)
                return core::Error::invalid(core::cat("message level ", level, " is out of range 0-31"));
            message_level = std::string(*value);
            return {};
        }, "message level");
    }

    core::Result<std::vector<std::string_view>> parse(std::vector<std::string_view> const& args) { return parser.parse(args); }
};

} // namespace

TEST_CASE("short options bundle and take attached or separate values")
{
    Parsed p;
    auto operands = p.parse({ "-cd", "31", "/proc/vmcore", "-vv", "out" }).value();
    CHECK(p.compress);
    CHECK(p.dump_level == "31");
    CHECK(p.verbose == 2);
    REQUIRE(operands.size() == 2);
    CHECK(operands[0] == "/proc/vmcore");
    CHECK(operands[1] == "out");

    Parsed attached;
    (void)attached.parse({ "-d31" }).value();
    CHECK(attached.dump_level == "31");
}

TEST_CASE("long options take =VALUE or the next argument, and unique prefixes")
{
    Parsed p;
    (void)p.parse({ "--append=root=/dev/sda quiet", "--dump-level", "1", "--el" }).value();
    CHECK(p.append == "root=/dev/sda quiet");
    CHECK(p.dump_level == "1");
    CHECK(p.elf);

    Parsed empty_value;
    (void)empty_value.parse({ "--append=" }).value();
    CHECK(empty_value.append == "");
}

TEST_CASE("repeatable options collect every value")
{
    Parsed p;
    (void)p.parse({ "-m", "virtio_blk", "--module=xfs", "-mext4" }).value();
    CHECK(p.modules == std::vector<std::string> { "virtio_blk", "xfs", "ext4" });
}

TEST_CASE("-- ends options; a lone - is an operand")
{
    Parsed p;
    auto operands = p.parse({ "-", "--", "-c", "--elf" }).value();
    CHECK_FALSE(p.compress);
    REQUIRE(operands.size() == 3);
    CHECK(operands[0] == "-");
    CHECK(operands[1] == "-c");
}

TEST_CASE("bad options are errors that name the option")
{
    Parsed p;
    CHECK(p.parse({ "--bogus" }).error().message() == "unknown option '--bogus' (see --help)");
    CHECK(p.parse({ "-x" }).error().message() == "unknown option '-x' (see --help)");
    CHECK(p.parse({ "-cx" }).error().message() == "unknown option '-x' (see --help)");
    CHECK(p.parse({ "-d" }).error().message() == "option '--dump-level' needs a value (N)");
    CHECK(p.parse({ "--elf=1" }).error().message() == "option '--elf' takes no value");
    CHECK(p.parse({ "--message-level", "40" }).error().message() == "--message-level: message level 40 is out of range 0-31");
    CHECK(p.parse({ "--message-level=x" }).error().message() == "--message-level: message level: 'x' is not a decimal number");
}

TEST_CASE("ambiguous prefixes are refused")
{
    OptionParser parser;
    bool a = false, b = false;
    parser.flag(0, "reuse-cmdline", &a, "");
    parser.flag(0, "reuse-initrd", &b, "");
    CHECK(parser.parse(std::vector<std::string_view> { "--reuse" }).error().message() == "option '--reuse' is ambiguous; spell it out (see --help)");
    CHECK(parser.parse(std::vector<std::string_view> { "--reuse-c" }).ok());
    CHECK(a);
}

TEST_CASE("help lists every option with its value name")
{
    Parsed p;
    std::string help = p.parser.option_help();
    CHECK(help.find("-d, --dump-level=N") != std::string::npos);
    CHECK(help.find("-c ") != std::string::npos);
    CHECK(help.find("--append=TEXT") != std::string::npos);
    CHECK(help.find("-m, --module=NAME") != std::string::npos);
}
