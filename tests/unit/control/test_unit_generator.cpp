// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/unit_generator.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <doctest.h>
#include <string>
#include <unistd.h>

namespace {

using test_support::ScratchDir;

// A settings file naming a kdump.conf with `conf_text`, and an empty
// generator output directory.
struct GeneratorHost {
    ScratchDir dir { "kdumpbox-generator-test" };
    std::string settings = dir / "settings";
    std::string output = dir / "generator";

    explicit GeneratorHost(std::string_view conf_text)
    {
        REQUIRE(core::write_text_atomically(settings, core::cat("KDUMPBOX_CONF=", dir / "kdump.conf", "\n")).ok());
        REQUIRE(core::write_text_atomically(dir / "kdump.conf", conf_text).ok());
        REQUIRE(core::make_directories(output).ok());
    }
    std::string dropin_path() const { return core::cat(output, '/', core::network_dropin_relative_path); }
};

} // namespace

TEST_CASE("generator: a local target needs no drop-in and gets none")
{
    for (std::string_view conf : { "", "ext4 UUID=03138356-5e61-4ab3-b58e-27507ac41937\n", "raw /dev/vdb1\npath /dump\n" }) {
        GeneratorHost host(conf);
        auto written = core::run_unit_generator(host.settings, host.output);
        REQUIRE_MESSAGE(written.ok(), written.error().message());
        CHECK(!written.value());
        CHECK(core::list_directory(host.output).value().empty());
    }
}

TEST_CASE("generator: an ssh target orders the unit after the network and remote file systems")
{
    GeneratorHost host("ssh kdump@backup.example.org\nsshkey /root/.ssh/kdump_id_rsa\n");
    auto written = core::run_unit_generator(host.settings, host.output);
    REQUIRE_MESSAGE(written.ok(), written.error().message());
    REQUIRE(written.value());
    CHECK(*written.value() == host.dropin_path());
    auto text = core::read_text_file(host.dropin_path());
    REQUIRE(text.ok());
    CHECK(text.value().find("[Unit]\nWants=network-online.target\nAfter=network-online.target remote-fs.target\n") != std::string::npos);
    CHECK(text.value().find("ssh target kdump@backup.example.org") != std::string::npos);
}

TEST_CASE("generator: an nfs target gets the same drop-in")
{
    GeneratorHost host("nfs 192.0.2.7:/export/crash\n");
    auto written = core::run_unit_generator(host.settings, host.output);
    REQUIRE_MESSAGE(written.ok(), written.error().message());
    auto text = core::read_text_file(host.dropin_path());
    REQUIRE(text.ok());
    CHECK(text.value().find("After=network-online.target remote-fs.target\n") != std::string::npos);
    CHECK(text.value().find("nfs target 192.0.2.7:/export/crash") != std::string::npos);
}

TEST_CASE("generator: a bad kdump.conf is an error naming its line, and nothing is written")
{
    GeneratorHost host("nfs 192.0.2.7:/export/crash\nbogus_directive 1\n");
    auto written = core::run_unit_generator(host.settings, host.output);
    REQUIRE(!written.ok());
    CHECK(written.error().message().find("kdump.conf:2:") != std::string::npos);
    CHECK(core::list_directory(host.output).value().empty());
}

TEST_CASE("generator: a bad settings file is an error, and nothing is written")
{
    GeneratorHost host("ssh kdump@backup.example.org\n");
    REQUIRE(core::write_text_atomically(host.settings, "KDUMP_BOGUS=1\n").ok());
    auto written = core::run_unit_generator(host.settings, host.output);
    REQUIRE(!written.ok());
    CHECK(written.error().message().find("KDUMP_BOGUS") != std::string::npos);
    CHECK(core::list_directory(host.output).value().empty());
}

TEST_CASE("generator: a missing kdump.conf means the defaults: a local target, no drop-in")
{
    GeneratorHost host("");
    REQUIRE(::unlink((host.dir / "kdump.conf").c_str()) == 0);
    auto written = core::run_unit_generator(host.settings, host.output);
    REQUIRE_MESSAGE(written.ok(), written.error().message());
    CHECK(!written.value());
}
