// SPDX-License-Identifier: GPL-2.0-or-later
// One logger for every applet. Lines go to stderr as "program: message";
// in PID 1 (the capture initramfs) they also go to /dev/kmsg, so they end up
// in the capture kernel's log (dmesg, kexec-dmesg.log). Each line reaches
// the console once: when the kernel already prints the kmsg copy on the
// console stderr is, stderr is skipped (see enable_kmsg). Under systemd,
// when stderr is the journal stream JOURNAL_STREAM names, each line starts
// with its "<N>" priority, which the journal takes as the line's priority.
#pragma once

#include "core/base/strings.h"

#include <string_view>

namespace core::log {

// syslog priorities, which /dev/kmsg understands as "<N>" prefixes.
enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

void set_program(std::string_view name);
std::string_view program();
// Messages above the threshold are dropped (default: Info).
void set_threshold(Level threshold);
bool enabled(Level level);
// Also write to /dev/kmsg (PID 1). Returns false if it could not be opened.
// It lifts /dev/kmsg's rate limit (kernel.printk_devkmsg=on). From then on
// a line the kernel will print on the console (its level below
// console_loglevel) goes to /dev/kmsg only when stderr is /dev/console and
// the rate limit is off; otherwise it goes to both.
bool enable_kmsg();
// For tests: write kmsg lines into this fd instead (-1 turns it off).
void set_kmsg_fd_for_testing(int fd);
// For tests: stderr is stderr_fd; with a printk_path, it is the console and
// console_loglevel is that file's first number. (STDERR_FILENO, nullptr)
// restores the defaults.
void set_console_for_testing(int stderr_fd, char const* printk_path);

void write(Level level, std::string_view message);

inline void error(std::string_view message) { write(Level::Error, message); }
inline void warn(std::string_view message) { write(Level::Warning, message); }
inline void notice(std::string_view message) { write(Level::Notice, message); }
inline void info(std::string_view message) { write(Level::Info, message); }
inline void debug(std::string_view message) { write(Level::Debug, message); }

} // namespace core::log
