// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/log.h"

#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/uio.h>
#include <unistd.h>

namespace core::log {

namespace {
// Plain globals: the logger must work before and after anything else (it is
// used on PID 1's fatal path), so it owns no heap state of its own.
char g_program[64] = "kdumpbox";
Level g_threshold = Level::Info;
int g_kmsg_fd = -1;
std::mutex g_write_mutex;

void write_all(int fd, std::string_view text)
{
    while (!text.empty()) {
        ssize_t written = ::write(fd, text.data(), text.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return; // Nowhere left to report a failure to log.
        text.remove_prefix(static_cast<size_t>(written));
    }
}

std::string_view level_prefix(Level level)
{
    switch (level) {
    case Level::Error: return "error: ";
    case Level::Warning: return "warning: ";
    default: return "";
    }
}
} // namespace

void set_program(std::string_view name)
{
    size_t length = std::min(name.size(), sizeof g_program - 1);
    name.copy(g_program, length);
    g_program[length] = '\0';
}

std::string_view program() { return g_program; }

void set_threshold(Level threshold) { g_threshold = threshold; }

bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(g_threshold); }

bool enable_kmsg()
{
    if (g_kmsg_fd >= 0)
        return true;
    g_kmsg_fd = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
    return g_kmsg_fd >= 0;
}

void set_kmsg_fd_for_testing(int fd) { g_kmsg_fd = fd; }

void write(Level level, std::string_view message)
{
    if (!enabled(level))
        return;
    // One write(2) per line keeps lines from different threads whole.
    std::string line = cat(g_program, ": ", level_prefix(level), message, '\n');
    std::lock_guard lock(g_write_mutex);
    write_all(STDERR_FILENO, line);
    if (g_kmsg_fd >= 0) {
        // kmsg takes one record per write; the priority prefix sets its level.
        write_all(g_kmsg_fd, cat('<', static_cast<int>(level), '>', "kdumpbox: ", line));
    }
}

} // namespace core::log
