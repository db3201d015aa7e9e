// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/config/device_spec.h"

#include "core/config/kdump_conf.h"

#include <cerrno>
#include <doctest.h>
#include <string>

using core::DeviceSpec;

TEST_CASE("DeviceSpec: one parser for kdump.conf, kdump start, the dumper and mount-and-save")
{
    auto path = DeviceSpec::parse("/dev/vda1");
    REQUIRE(path.ok());
    CHECK(path->kind == DeviceSpec::Kind::Path);
    CHECK(path->text() == "/dev/vda1");
    CHECK(path->tag_name().empty());

    auto single_quoted = DeviceSpec::parse("LABEL='my dumps'");
    REQUIRE(single_quoted.ok());
    CHECK(single_quoted->kind == DeviceSpec::Kind::Label);
    CHECK(single_quoted->value == "my dumps");
    CHECK(single_quoted->text() == "LABEL=my dumps");

    auto partlabel = DeviceSpec::parse("PARTLABEL=crash");
    REQUIRE(partlabel.ok());
    CHECK(partlabel->kind == DeviceSpec::Kind::PartLabel);
    CHECK(partlabel->text() == "PARTLABEL=crash");

    CHECK_FALSE(DeviceSpec::split("uuid=abc").has_value());
    CHECK_FALSE(DeviceSpec::split("ID=abc").has_value());
    CHECK(DeviceSpec::split("UUID=").has_value()); // split never refuses a known tag
    auto empty = DeviceSpec::parse("UUID=");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message() == "dump target 'UUID=' has an empty value");
    auto relative = DeviceSpec::parse("vda1");
    REQUIRE_FALSE(relative.ok());
    CHECK(relative.error().message() == "dump target 'vda1' is neither a device path (/dev/...) nor UUID=, LABEL=, PARTUUID= or PARTLABEL=...");
}

TEST_CASE("DeviceSpec: every tag can be looked for; a virtiofs tag cannot")
{
    for (auto text : { "/dev/vda1", "UUID=0123", "LABEL=crash", "PARTUUID=0123abcd-05", "PARTLABEL=crash" })
        CHECK_MESSAGE(DeviceSpec::parse(text)->check_findable().ok(), text);
    // A virtiofs tag is held as a Path, and is no device to look for.
    DeviceSpec tag;
    tag.value = "myfs";
    auto refused = tag.check_findable();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().find("'myfs' is neither a device path") != std::string::npos);
}

TEST_CASE("DeviceSpec: kdump.conf's target holds the same type, with the same text")
{
    auto config = core::parse_kdump_conf("raw PARTUUID=0123abcd-05\n", "/etc/kdump.conf");
    REQUIRE(config.ok());
    CHECK(config->target.device == DeviceSpec::parse("PARTUUID=0123abcd-05").value());
    auto quoted = core::parse_kdump_conf("ext4 UUID=\"03138356-5e61-4ab3-b58e-27507ac41937\"\n", "/etc/kdump.conf");
    REQUIRE(quoted.ok());
    CHECK(quoted->target.device == DeviceSpec::parse("UUID=03138356-5e61-4ab3-b58e-27507ac41937").value());
}
