// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/strings.h"

#include <doctest.h>

TEST_CASE("cat joins text and numbers")
{
    CHECK(core::cat("a", 1, '-', std::string_view("b"), std::string("c"), uint64_t(18446744073709551615ull)) == "a1-bc18446744073709551615");
    CHECK(core::cat(int64_t(-5), true) == "-5true");
    CHECK(core::hex(0x1f000) == "0x1f000");
    CHECK(core::hex(0) == "0x0");
}

TEST_CASE("parse_u64 takes whole decimal or hex numbers only")
{
    CHECK(core::parse_u64("31", "dump level").value() == 31);
    CHECK(core::parse_u64("0x10", "x", 0).value() == 16);
    CHECK(core::parse_u64("10", "x", 0).value() == 10);
    CHECK(core::parse_u64("ffffffff81000000", "x", 16).value() == 0xffffffff81000000ull);
    CHECK(core::parse_u64("18446744073709551615", "x").value() == UINT64_MAX);

    auto trailing = core::parse_u64("31x", "dump level");
    REQUIRE_FALSE(trailing.ok());
    CHECK(trailing.error().message() == "dump level: '31x' is not a decimal number");
    CHECK_FALSE(core::parse_u64("", "x").ok());
    CHECK_FALSE(core::parse_u64("-1", "x").ok());
    CHECK_FALSE(core::parse_u64(" 1", "x").ok());
    CHECK_FALSE(core::parse_u64("0x", "x", 0).ok());
    auto overflow = core::parse_u64("18446744073709551616", "x");
    REQUIRE_FALSE(overflow.ok());
    CHECK(overflow.error().message() == "x: '18446744073709551616' is out of range");
}

TEST_CASE("parse_i64 handles signs and limits")
{
    CHECK(core::parse_i64("-1", "x").value() == -1);
    CHECK(core::parse_i64("9223372036854775807", "x").value() == INT64_MAX);
    CHECK(core::parse_i64("-9223372036854775808", "x").value() == INT64_MIN);
    CHECK_FALSE(core::parse_i64("9223372036854775808", "x").ok());
    CHECK_FALSE(core::parse_i64("-", "x").ok());
}

TEST_CASE("trim and split")
{
    CHECK(core::trim("  a b \t\n") == "a b");
    CHECK(core::trim(" \t") == "");
    auto parts = core::split("a,,b", ',');
    REQUIRE(parts.size() == 3);
    CHECK(parts[0] == "a");
    CHECK(parts[1] == "");
    CHECK(parts[2] == "b");
    CHECK(core::split("", ',').size() == 1);
}
