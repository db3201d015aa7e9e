// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/log.h"

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

namespace core::log {

namespace {
// Plain globals: the logger must work before and after anything else (it is
// used on PID 1's fatal path), so it owns no heap state of its own.
char g_program[64] = "kdumpbox";
Level g_threshold = Level::Info;
int g_kmsg_fd = -1;
int g_stderr_fd = STDERR_FILENO;
// Set by enable_kmsg: stderr is /dev/console, and /dev/kmsg keeps every
// line (no rate limit). Then the kernel prints our kmsg lines on the very
// console stderr writes to.
bool g_stderr_is_console = false;
bool g_kmsg_unlimited = false;
char const* g_printk_path = "/proc/sys/kernel/printk";
std::mutex g_write_mutex;

bool write_all(int fd, std::string_view text)
{
    while (!text.empty()) {
        ssize_t written = ::write(fd, text.data(), text.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false; // Nowhere left to report a failure to log.
        text.remove_prefix(static_cast<size_t>(written));
    }
    return true;
}

// The first number of a small /proc file ("7\t4\t1\t7" for kernel.printk),
// or -1.
int read_first_number(char const* path)
{
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char text[32];
    ssize_t got = ::read(fd, text, sizeof text);
    ::close(fd);
    int value = -1;
    for (ssize_t at = 0; at < got && text[at] >= '0' && text[at] <= '9'; ++at)
        value = (value < 0 ? 0 : value * 10) + (text[at] - '0');
    return value;
}

// The kernel prints a record on its consoles when its level is below
// console_loglevel (kernel.printk's first number: 7 by default, 4 with
// `quiet`). When that console is our stderr, writing the line there too
// would show it twice.
bool kmsg_reaches_stderr(Level level)
{
    if (g_kmsg_fd < 0 || !g_stderr_is_console || !g_kmsg_unlimited)
        return false;
    return static_cast<int>(level) < read_first_number(g_printk_path);
}

bool is_dev_console(int fd)
{
    struct stat status;
    return ::fstat(fd, &status) == 0 && S_ISCHR(status.st_mode) && status.st_rdev == makedev(5, 1);
}

// /dev/kmsg drops a writer's lines beyond 10 in 5 seconds unless
// kernel.printk_devkmsg is "on" (a boot option can lock it). PID 1 of the
// capture kernel owns the machine and turns the limit off.
bool lift_kmsg_rate_limit()
{
    char const* path = "/proc/sys/kernel/printk_devkmsg";
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!::write(fd, "on\n", 3);
        ::close(fd);
    }
    fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char text[16] = {};
    ssize_t got = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    return got >= 2 && text[0] == 'o' && text[1] == 'n';
}

// systemd connects a service's stderr to the journal and says so in
// JOURNAL_STREAM ("DEVICE:INODE" of that socket); there a "<N>" prefix sets
// the line's priority (SyslogLevelPrefix=, on by default), so `journalctl
// -p err` finds our errors. Anywhere else the prefix would be noise.
bool stderr_is_journal()
{
    char const* stream = ::getenv("JOURNAL_STREAM");
    if (!stream || !*stream)
        return false;
    struct stat status;
    if (::fstat(g_stderr_fd, &status) != 0)
        return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2)
        return false;
    return device == static_cast<unsigned long long>(status.st_dev) && inode == static_cast<unsigned long long>(status.st_ino);
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
    if (g_kmsg_fd < 0)
        return false;
    g_stderr_is_console = is_dev_console(g_stderr_fd);
    g_kmsg_unlimited = lift_kmsg_rate_limit();
    return true;
}

void set_kmsg_fd_for_testing(int fd) { g_kmsg_fd = fd; }

void set_console_for_testing(int stderr_fd, char const* printk_path)
{
    g_stderr_fd = stderr_fd;
    g_stderr_is_console = printk_path != nullptr;
    g_kmsg_unlimited = printk_path != nullptr;
    g_printk_path = printk_path ? printk_path : "/proc/sys/kernel/printk";
}

void write(Level level, std::string_view message)
{
    if (!enabled(level))
        return;
    // One write(2) per line keeps lines from different threads whole.
    std::string line = cat(g_program, ": ", level_prefix(level), message, '\n');
    std::lock_guard lock(g_write_mutex);
    bool on_console = false;
    if (g_kmsg_fd >= 0) {
        // kmsg takes one record per write; the priority prefix sets its
        // level. A record it refuses (too long) still goes to stderr.
        bool recorded = write_all(g_kmsg_fd, cat('<', static_cast<int>(level), '>', "kdumpbox: ", line));
        on_console = recorded && kmsg_reaches_stderr(level);
    }
    if (!on_console)
        write_all(g_stderr_fd, stderr_is_journal() ? cat('<', static_cast<int>(level), '>', line) : line);
}

} // namespace core::log
