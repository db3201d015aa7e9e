// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/process.h"

#include "core/base/clock.h"

#include <doctest.h>

TEST_CASE("run_process: a time limit kills a child that runs too long")
{
    uint64_t started = core::monotonic_ms();
    core::ProcessOptions options;
    options.timeout_ms = 200;
    auto status = core::run_process({ "sleep", "10" }, options);
    REQUIRE(status.ok());
    CHECK(status.value().timed_out);
    CHECK(!status.value().success());
    CHECK(status.value().describe() == "killed after its time ran out");
    CHECK(core::monotonic_ms() - started < 5000);

    auto quick = core::run_process({ "true" }, options);
    REQUIRE(quick.ok());
    CHECK(quick.value().success());
    CHECK(!quick.value().timed_out);
}
