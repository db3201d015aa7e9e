// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/log.h"

#include <cstdlib>
#include <doctest.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
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

TEST_CASE("on the console, a line goes once: to /dev/kmsg when the kernel prints it there, else to stderr")
{
    char printk_path[] = "/tmp/kdumpbox-printk-XXXXXX";
    int printk_fd = ::mkstemp(printk_path);
    REQUIRE(printk_fd >= 0);
    auto set_console_loglevel = [&](std::string_view text) {
        REQUIRE(::ftruncate(printk_fd, 0) == 0);
        REQUIRE(::pwrite(printk_fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
    };
    int kmsg[2], console[2];
    REQUIRE(::pipe(kmsg) == 0);
    REQUIRE(::pipe(console) == 0);
    core::log::set_program("dumper");
    core::log::set_threshold(core::log::Level::Debug);
    core::log::set_kmsg_fd_for_testing(kmsg[1]);
    core::log::set_console_for_testing(console[1], printk_path);

    set_console_loglevel("7\t4\t1\t7\n"); // the default: levels 0-6 are printed
    core::log::error("disk full");
    core::log::notice("saving vmcore");
    core::log::debug("detail"); // level 7: the kernel keeps it off the console
    set_console_loglevel("4\t4\t1\t7\n"); // `quiet`: only errors are printed
    core::log::notice("saved");
    core::log::error("failed");
    // A record /dev/kmsg refuses still reaches the console.
    int refusing = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    core::log::set_kmsg_fd_for_testing(refusing);
    core::log::error("too long for kmsg");

    core::log::set_kmsg_fd_for_testing(-1);
    core::log::set_console_for_testing(STDERR_FILENO, nullptr);
    core::log::set_threshold(core::log::Level::Info);
    core::log::set_program("kdumpbox");
    ::close(refusing);
    ::close(kmsg[1]);
    ::close(console[1]);
    ::close(printk_fd);
    ::unlink(printk_path);

    CHECK(drain(kmsg[0]) == "<3>kdumpbox: dumper: error: disk full\n<5>kdumpbox: dumper: saving vmcore\n<7>kdumpbox: dumper: detail\n"
                            "<5>kdumpbox: dumper: saved\n<3>kdumpbox: dumper: error: failed\n");
    CHECK(drain(console[0]) == "dumper: detail\ndumper: saved\ndumper: error: too long for kmsg\n");
    ::close(kmsg[0]);
    ::close(console[0]);
}

TEST_CASE("program names are truncated, not overflowed")
{
    core::log::set_program(std::string(200, 'x'));
    CHECK(core::log::program().size() == 63);
    core::log::set_program("kdumpbox");
}

TEST_CASE("under systemd, stderr lines carry their priority for the journal")
{
    int journal[2];
    REQUIRE(::pipe2(journal, O_CLOEXEC) == 0);
    struct stat status;
    REQUIRE(::fstat(journal[1], &status) == 0);
    char const* previous = ::getenv("JOURNAL_STREAM");
    std::string saved = previous ? previous : "";
    core::log::set_console_for_testing(journal[1], nullptr);
    core::log::set_program("kdump");

    ::setenv("JOURNAL_STREAM", core::cat(status.st_dev, ":", status.st_ino).c_str(), 1);
    core::log::error("dump incomplete");
    core::log::notice("dump complete");
    // Another stream (the admin's terminal under a service's environment): plain.
    ::setenv("JOURNAL_STREAM", core::cat(status.st_dev, ":", status.st_ino + 1).c_str(), 1);
    core::log::error("plain");

    if (previous)
        ::setenv("JOURNAL_STREAM", saved.c_str(), 1);
    else
        ::unsetenv("JOURNAL_STREAM");
    core::log::set_console_for_testing(STDERR_FILENO, nullptr);
    core::log::set_program("kdumpbox");
    ::close(journal[1]);
    CHECK(drain(journal[0]) == "<3>kdump: error: dump incomplete\n<5>kdump: dump complete\nkdump: error: plain\n");
    ::close(journal[0]);
}
