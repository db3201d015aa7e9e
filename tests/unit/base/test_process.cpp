// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/process.h"

#include "core/base/clock.h"

#include <cstdio>
#include <doctest.h>
#include <string>
#include <unistd.h>

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

TEST_CASE("run_process: a time limit kills the child's whole process group")
{
    // The child starts a grandchild and waits for it: killing the child
    // alone would leave the grandchild running.
    char pid_file[] = "/tmp/kdumpbox-test-pgroup-XXXXXX";
    int fd = ::mkstemp(pid_file);
    REQUIRE(fd >= 0);
    ::close(fd);
    core::ProcessOptions options;
    options.timeout_ms = 300;
    auto status = core::run_process({ "sh", "-c", std::string("sleep 30 & echo $! > ") + pid_file + "; wait" }, options);
    REQUIRE(status.ok());
    CHECK(status.value().timed_out);
    FILE* file = ::fopen(pid_file, "r");
    REQUIRE(file);
    int grandchild = 0;
    CHECK(::fscanf(file, "%d", &grandchild) == 1);
    ::fclose(file);
    ::unlink(pid_file);
    REQUIRE(grandchild > 0);
    // Gone, or a zombie waiting for its new parent to reap it.
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        FILE* stat = ::fopen(("/proc/" + std::to_string(grandchild) + "/stat").c_str(), "r");
        if (!stat) {
            gone = true;
            break;
        }
        char state = 0;
        int ignored_pid = 0;
        char name[64];
        gone = ::fscanf(stat, "%d %63s %c", &ignored_pid, name, &state) == 3 && state == 'Z';
        ::fclose(stat);
        if (!gone)
            ::usleep(20000);
    }
    CHECK(gone);
}

TEST_CASE("wait_for_exit: a limit returns nullopt while the child runs; the status once it ends")
{
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::usleep(400'000);
        ::_exit(7);
    }
    auto early = core::wait_for_exit(pid, 50, "the test child");
    REQUIRE(early.ok());
    CHECK(!early.value().has_value());
    auto late = core::wait_for_exit(pid, 0, "the test child");
    REQUIRE(late.ok());
    REQUIRE(late.value().has_value());
    auto status = core::ProcessStatus::from_wait_status(*late.value());
    CHECK(status.exited);
    CHECK(status.exit_code == 7);
    // Reaped already: waiting again is an error naming what.
    auto again = core::wait_for_exit(pid, 0, "the test child");
    REQUIRE(!again.ok());
    CHECK(again.error().message().find("the test child") != std::string::npos);
}
