// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/device_mapper.h"

#include "core/base/bytes.h"
#include "tests/unit/test_support.h"

#include <bit>
#include <doctest.h>
#include <string>
#include <vector>

namespace {

using test_support::ScratchDir;

// The dm_ioctl layout of linux/dm-ioctl.h, written out here so that the
// test does not share the encoder's source of truth.
constexpr uint64_t header_bytes = 312;
constexpr uint64_t name_offset = 48;
constexpr uint64_t uuid_offset = 176;
constexpr uint64_t spec_bytes = 40;

core::Endian host() { return std::endian::native == std::endian::little ? core::Endian::Little : core::Endian::Big; }

std::string text_at(std::vector<uint8_t> const& bytes, uint64_t offset)
{
    std::string out;
    while (offset < bytes.size() && bytes[offset] != 0)
        out += char(bytes[offset++]);
    return out;
}

} // namespace

TEST_CASE("device mapper: a create names the device and its uuid, version 4.0.0")
{
    auto bytes = core::encode_dm_ioctl(core::DmCommand::Create, "vg0-root", "LVM-abc");
    REQUIRE(bytes.ok());
    REQUIRE(bytes->size() == header_bytes);
    core::ByteReader reader(*bytes, host(), "dm ioctl");
    CHECK(*reader.u32(0) == 4);
    CHECK(*reader.u32(4) == 0);
    CHECK(*reader.u32(8) == 0);
    CHECK(*reader.u32(12) == header_bytes); // data_size
    CHECK(*reader.u32(16) == header_bytes); // data_start
    CHECK(*reader.u32(20) == 0);            // target_count
    CHECK(text_at(*bytes, name_offset) == "vg0-root");
    CHECK(text_at(*bytes, uuid_offset) == "LVM-abc");
}

TEST_CASE("device mapper: a table load packs 8-byte-aligned specs with NUL-ended parameters")
{
    std::vector<core::DmTarget> table = {
        { 0, 16384, "linear", "7:0 2048" },
        { 16384, 32768, "striped", "2 128 7:0 18432 7:1 2048" },
    };
    auto bytes = core::encode_dm_ioctl(core::DmCommand::TableLoad, "vg0-root", "", table);
    REQUIRE(bytes.ok());
    core::ByteReader reader(*bytes, host(), "dm ioctl");
    CHECK(*reader.u32(20) == 2);
    uint64_t first = header_bytes;
    CHECK(*reader.u64(first) == 0);
    CHECK(*reader.u64(first + 8) == 16384);
    CHECK(text_at(*bytes, first + 24) == "linear");
    CHECK(text_at(*bytes, first + spec_bytes) == "7:0 2048");
    uint32_t next = *reader.u32(first + 20);
    // 40 + strlen("7:0 2048") + 1 = 49, rounded up to 56.
    CHECK(next == 56);
    uint64_t second = first + next;
    CHECK(*reader.u64(second) == 16384);
    CHECK(*reader.u64(second + 8) == 32768);
    CHECK(text_at(*bytes, second + 24) == "striped");
    CHECK(text_at(*bytes, second + spec_bytes) == "2 128 7:0 18432 7:1 2048");
    uint64_t end = second + *reader.u32(second + 20);
    CHECK(end % 8 == 0);
    CHECK(*reader.u32(12) == end);
    CHECK(bytes->size() == end);
}

TEST_CASE("device mapper: a backslash in the parameters is doubled, as the kernel unescapes them")
{
    auto bytes = core::encode_dm_ioctl(core::DmCommand::TableLoad, "x", "", { { 0, 8, "error", "a\\b" } });
    REQUIRE(bytes.ok());
    CHECK(text_at(*bytes, header_bytes + spec_bytes) == "a\\\\b");
}

TEST_CASE("device mapper: names, uuids and targets the kernel would refuse are refused here")
{
    CHECK(!core::encode_dm_ioctl(core::DmCommand::Create, "a/b", "").ok());
    CHECK(!core::encode_dm_ioctl(core::DmCommand::Create, "", "").ok());
    CHECK(!core::encode_dm_ioctl(core::DmCommand::Create, std::string(128, 'x'), "").ok());
    CHECK(core::encode_dm_ioctl(core::DmCommand::Create, std::string(127, 'x'), std::string(128, 'u')).ok());
    CHECK(!core::encode_dm_ioctl(core::DmCommand::Create, "x", std::string(129, 'u')).ok());
    // The kernel looks a device up by uuid alone and refuses a name beside it.
    CHECK(!core::encode_dm_ioctl(core::DmCommand::Resume, "x", "LVM-abc").ok());
    CHECK(!core::encode_dm_ioctl(core::DmCommand::Create, "x", "", { { 0, 8, "linear", "7:0 0" } }).ok());
    CHECK(!core::encode_dm_ioctl(core::DmCommand::TableLoad, "x", "", { { 0, 8, "a-type-name-too-long", "" } }).ok());
    CHECK(!core::encode_dm_ioctl(core::DmCommand::TableLoad, "x", "", { { 0, 0, "linear", "7:0 0" } }).ok());
    CHECK(!core::encode_dm_ioctl(core::DmCommand::TableLoad, "x", "", { { 0, 8, "linear", std::string("7:0\0 0", 6) } }).ok());
}

TEST_CASE("device mapper: the reply's device number is the kernel's huge encoding")
{
    // huge_encode_dev(MKDEV(253, 3)) and MKDEV(253, 300).
    CHECK(core::decode_dm_device_number(0xfd03) == core::DmDeviceNumber { 253, 3 });
    CHECK(core::decode_dm_device_number((300 & 0xff) | (253 << 8) | (uint64_t(300 & ~0xff) << 12)) == core::DmDeviceNumber { 253, 300 });
    auto reply = core::encode_dm_ioctl(core::DmCommand::Resume, "x", "");
    REQUIRE(reply.ok());
    core::store_uint(reply->data() + 40, 8, 0xfd03, host());
    CHECK(*core::dm_reply_device_number(*reply) == core::DmDeviceNumber { 253, 3 });
}

TEST_CASE("device mapper: a table prints as dmsetup table does")
{
    CHECK(core::format_dm_table({ { 0, 16384, "linear", "7:0 2048" }, { 16384, 8, "striped", "2 128 7:0 0 7:1 0" } }) == "0 16384 linear 7:0 2048\n16384 8 striped 2 128 7:0 0 7:1 0\n");
}

TEST_CASE("device mapper: without device-mapper in the kernel, creating says so")
{
    ScratchDir dir("kdumpbox-dm");
    core::DmOptions options { dir / "dev", dir / "sys" };
    auto created = core::create_dm_device("vg0-root", "LVM-x", { { 0, 8, "linear", "7:0 0" } }, options);
    REQUIRE(!created.ok());
    CHECK(created.error().message().find("load dm_mod") != std::string::npos);
}
