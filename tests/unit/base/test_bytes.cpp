// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/bytes.h"

#include <doctest.h>
#include <vector>

using core::ByteCursor;
using core::ByteReader;
using core::Endian;

TEST_CASE("extent checks never wrap")
{
    CHECK(core::extent_within(0, 10, 10));
    CHECK(core::extent_within(10, 0, 10));
    CHECK_FALSE(core::extent_within(11, 0, 10));
    CHECK_FALSE(core::extent_within(5, 6, 10));
    CHECK_FALSE(core::extent_within(8, UINT64_MAX, 10));
    CHECK_FALSE(core::extent_within(UINT64_MAX, 2, UINT64_MAX));
    CHECK(core::checked_add(1, 2) == 3u);
    CHECK_FALSE(core::checked_add(UINT64_MAX, 1).has_value());
    CHECK(core::checked_mul(1u << 20, 4096) == (uint64_t(1) << 32));
    CHECK_FALSE(core::checked_mul(UINT64_MAX / 2, 3).has_value());
    CHECK(core::align_up(4097, 4096) == 8192);
}

TEST_CASE("reads are endian-explicit")
{
    std::vector<uint8_t> data { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
    ByteReader little(data, Endian::Little, "test");
    ByteReader big(data, Endian::Big, "test");
    CHECK(little.u16(0).value() == 0x0201);
    CHECK(big.u16(0).value() == 0x0102);
    CHECK(little.u32(4).value() == 0x08070605u);
    CHECK(big.u32(4).value() == 0x05060708u);
    CHECK(little.u64(0).value() == 0x0807060504030201ull);
    CHECK(big.u64(0).value() == 0x0102030405060708ull);
    CHECK(big.uint(1, 2).value() == 0x0203);
    CHECK_FALSE(big.uint(0, 3).ok());
}

TEST_CASE("reads past the end are errors that name the data and the offset")
{
    std::vector<uint8_t> data(6, 0);
    ByteReader reader(data, Endian::Little, "ELF header");
    auto past = reader.u32(4);
    REQUIRE_FALSE(past.ok());
    CHECK(past.error().message() == "ELF header: 4 bytes at offset 0x4 run past its end (6 bytes); the data is truncated or corrupt");
    CHECK_FALSE(reader.u64(UINT64_MAX - 2).ok());
    CHECK_FALSE(reader.bytes(7, 0).ok());
    CHECK(reader.bytes(6, 0).value().empty());
    CHECK_FALSE(reader.sub(2, UINT64_MAX).ok());
}

TEST_CASE("sub-readers are bounded by their window")
{
    std::vector<uint8_t> data { 0xaa, 0x11, 0x22, 0xbb };
    ByteReader reader(data, Endian::Big, "note");
    auto window = reader.sub(1, 2).value();
    CHECK(window.size() == 2);
    CHECK(window.u16(0).value() == 0x1122);
    CHECK_FALSE(window.u8(2).ok());
}

TEST_CASE("c_string stops at NUL or the window end")
{
    std::string text("OSRELEASE=6.1\0junk", 18);
    ByteReader reader({ reinterpret_cast<uint8_t const*>(text.data()), text.size() }, Endian::Little, "vmcoreinfo");
    CHECK(reader.c_string(0, 18).value() == "OSRELEASE=6.1");
    CHECK(reader.c_string(0, 3).value() == "OSR");
    CHECK_FALSE(reader.c_string(10, 9).ok());
}

TEST_CASE("cursor errors are sticky")
{
    std::vector<uint8_t> data { 1, 0, 2, 0, 0, 0 };
    ByteReader reader(data, Endian::Little, "header");
    ByteCursor cursor(reader);
    CHECK(cursor.u16() == 1);
    CHECK(cursor.u32() == 2);
    CHECK(cursor.status().ok());
    CHECK(cursor.u8() == 0); // past the end
    CHECK_FALSE(cursor.status().ok());
    CHECK(cursor.u16() == 0); // still failed, offset unchanged
    CHECK(cursor.offset() == 6);

    ByteCursor skipping(reader);
    skipping.skip(7);
    CHECK_FALSE(skipping.status().ok());
}

TEST_CASE("writer stores in the chosen byte order and grows")
{
    core::ByteWriter little(Endian::Little);
    little.put_u32(2, 0x11223344);
    little.put_string(6, "KD");
    auto bytes = little.bytes();
    REQUIRE(bytes.size() == 8);
    CHECK(bytes[0] == 0);
    CHECK(bytes[2] == 0x44);
    CHECK(bytes[5] == 0x11);
    CHECK(bytes[6] == 'K');

    core::ByteWriter big(Endian::Big);
    big.put_u64(0, 1);
    CHECK(big.bytes()[7] == 1);
    ByteReader back(big.bytes(), Endian::Big, "round trip");
    CHECK(back.u64(0).value() == 1);
}
