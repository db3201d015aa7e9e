// SPDX-License-Identifier: GPL-2.0-or-later
// Running other programs: kdump_pre/kdump_post hooks, an external
// core_collector, the failure shell. The dumper is PID 1, so a child is
// waited for by its own pid (never waitpid(-1), which could take another
// child's status) and reap_children() collects orphans it inherits.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace core {

struct ProcessStatus {
    bool exited { false }; // false: killed by a signal
    int exit_code { 0 };   // when exited
    int signal { 0 };      // when killed
    bool timed_out { false }; // killed because ProcessOptions::timeout_ms ran out
    bool success() const { return exited && exit_code == 0; }
    // "exit status 3" or "killed by signal 9 (Killed)".
    std::string describe() const;
    // From a waitpid(2) status word.
    static ProcessStatus from_wait_status(int wait_status);
};

struct ProcessOptions {
    int stdin_fd { -1 };  // -1: inherit
    int stdout_fd { -1 }; // -1: inherit
    // -1: inherit; else the child runs there (fchdir(2)), so that names
    // relative to a directory held open stay in it.
    int working_directory_fd { -1 };
    // Extra environment entries (NAME=value) on top of ours.
    std::vector<std::string> environment;
    // 0: wait as long as it runs. Otherwise the child leads a process
    // group of its own and the whole group (a hook's own children too) is
    // killed (SIGKILL) after this long; the status says so (timed_out).
    unsigned timeout_ms { 0 };
};

// How long run_process waits for a killed child to go: one stuck in the
// kernel (I/O to a vanished disk) cannot die before that I/O ends, and
// the caller must go on (its failure action) rather than wait with it.
inline constexpr unsigned process_kill_grace_ms = 10000;

// Waits for the child pid to end, retrying EINTR: at most limit_ms, or
// without limit when limit_ms is 0. The waitpid(2) status word, or nullopt
// when it is still running at the limit; an error (naming what) when it
// cannot be waited for.
Result<std::optional<int>> wait_for_exit(pid_t pid, uint64_t limit_ms, std::string_view what);

// Forks and execs argv[0] (searched in PATH when it has no '/'), waits for
// it. An exec failure (no such program) is an error naming the program, not
// an exit status; so is a timed-out child that does not end within
// process_kill_grace_ms of its SIGKILL (reap_children collects it later).
Result<ProcessStatus> run_process(std::vector<std::string> const& argv, ProcessOptions const& options = {});

// Collects every exited child without blocking (PID 1 inherits orphans).
// Returns how many it reaped.
int reap_children();

} // namespace core
