// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/error.h"

#include <doctest.h>
#include <string>

using core::Error;
using core::Result;

namespace {

Result<int> parse_positive(int value)
{
    if (value <= 0)
        return Error::invalid("not positive");
    return value;
}

Result<int> doubled(int value)
{
    int checked = TRY(parse_positive(value));
    return checked * 2;
}

Result<void> must_be_even(int value)
{
    if (value % 2)
        return Error::with_code(EDOM, "odd");
    return {};
}

Result<int> after_void_check(int value)
{
    TRY(must_be_even(value));
    return value;
}

} // namespace

TEST_CASE("Result carries a value or an error")
{
    auto good = parse_positive(3);
    REQUIRE(good.ok());
    CHECK(good.value() == 3);

    auto bad = parse_positive(-1);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().errno_code() == EINVAL);
    CHECK(bad.error().message() == "not positive");
    CHECK(bad.value_or(7) == 7);
}

TEST_CASE("TRY propagates errors and unwraps values")
{
    CHECK(doubled(4).value() == 8);
    CHECK(doubled(0).error().message() == "not positive");
    CHECK(after_void_check(4).value() == 4);
    CHECK(after_void_check(3).error().errno_code() == EDOM);
}

TEST_CASE("errno errors read as 'what: strerror' and keep the code")
{
    auto error = Error::from_errno(ENOENT, "open /nonexistent");
    CHECK(error.errno_code() == ENOENT);
    CHECK(error.message() == "open /nonexistent: No such file or directory");
}

TEST_CASE("context is prefixed while an error travels up")
{
    Result<int> failed = Error::invalid("bad magic");
    auto with_path = std::move(failed).context("/proc/vmcore");
    CHECK(with_path.error().message() == "/proc/vmcore: bad magic");

    Result<int> fine = 5;
    CHECK(std::move(fine).context("ignored").value() == 5);

    Result<void> void_failed = Error::invalid("x");
    CHECK(std::move(void_failed).context("kdump.conf:3").error().message() == "kdump.conf:3: x");
}

TEST_CASE("Result holds move-only values")
{
    struct MoveOnly {
        explicit MoveOnly(int v) : value(v) { }
        MoveOnly(MoveOnly&&) = default;
        MoveOnly& operator=(MoveOnly&&) = default;
        int value;
    };
    Result<MoveOnly> result = MoveOnly(9);
    MoveOnly taken = std::move(result).release_value();
    CHECK(taken.value == 9);
}
