// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/log.h"

#include <doctest.h>
#include <string>
#include <unistd.h>

namespace {

std::string drain(int fd)
{
    std::string text;
    char buffer[512];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0)
        text.append(buffer, static_cast<size_t>(got));
    return text;
}

} // namespace

TEST_CASE("kmsg lines carry the syslog priority and respect the threshold")
{
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    core::log::set_program("dumper");
    core::log::set_kmsg_fd_for_testing(pipe_fds[1]);
    core::log::set_threshold(core::log::Level::Info);

    core::log::error("target missing");
    core::log::info("saving vmcore");
    core::log::debug("hidden");
    core::log::set_kmsg_fd_for_testing(-1);
    ::close(pipe_fds[1]);

    std::string kmsg = drain(pipe_fds[0]);
    ::close(pipe_fds[0]);
    CHECK(kmsg == "<3>kdumpbox: dumper: error: target missing\n<6>kdumpbox: dumper: saving vmcore\n");
    CHECK(core::log::enabled(core::log::Level::Info));
    CHECK_FALSE(core::log::enabled(core::log::Level::Debug));
    core::log::set_program("kdumpbox");
}

TEST_CASE("program names are truncated, not overflowed")
{
    core::log::set_program(std::string(200, 'x'));
    CHECK(core::log::program().size() == 63);
    core::log::set_program("kdumpbox");
}
