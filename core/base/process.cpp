// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/process.h"

#include "core/base/clock.h"
#include "core/base/strings.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace core {

std::string ProcessStatus::describe() const
{
    if (timed_out)
        return "killed after its time ran out";
    if (exited)
        return cat("exit status ", exit_code);
    return cat("killed by signal ", signal, " (", ::strsignal(signal), ")");
}

Result<ProcessStatus> run_process(std::vector<std::string> const& argv, ProcessOptions const& options)
{
    if (argv.empty() || argv[0].empty())
        return Error::invalid("run_process: no program to run");
    // Everything the child needs is built before fork(): after it, only
    // async-signal-safe calls.
    std::vector<char*> arguments;
    for (auto const& argument : argv)
        arguments.push_back(const_cast<char*>(argument.c_str()));
    arguments.push_back(nullptr);
    std::vector<std::string> environment_strings;
    for (char** entry = environ; entry && *entry; ++entry)
        environment_strings.emplace_back(*entry);
    for (auto const& extra : options.environment)
        environment_strings.push_back(extra);
    std::vector<char*> environment;
    for (auto& entry : environment_strings)
        environment.push_back(entry.data());
    environment.push_back(nullptr);

    // The child reports an exec failure's errno through a close-on-exec
    // pipe: EOF means the exec worked.
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0)
        return Error::from_errno("pipe for running " + argv[0]);
    pid_t pid = ::fork();
    if (pid < 0) {
        int saved = errno;
        ::close(report[0]);
        ::close(report[1]);
        return Error::with_code(saved, cat("fork for running ", argv[0], ": ", std::strerror(saved)));
    }
    if (pid == 0) {
        ::close(report[0]);
        // A time-limited child leads its own group, so that killing the
        // group takes whatever it started too.
        if (options.timeout_ms)
            ::setpgid(0, 0);
        if (options.stdin_fd >= 0 && ::dup2(options.stdin_fd, STDIN_FILENO) < 0)
            ::_exit(127);
        if (options.stdout_fd >= 0 && ::dup2(options.stdout_fd, STDOUT_FILENO) < 0)
            ::_exit(127);
        if (options.working_directory_fd >= 0 && ::fchdir(options.working_directory_fd) != 0)
            ::_exit(127);
        ::signal(SIGPIPE, SIG_DFL);
        ::execvpe(arguments[0], arguments.data(), environment.data());
        int failure = errno;
        (void)!::write(report[1], &failure, sizeof failure);
        ::_exit(127);
    }
    // Both sides set the group: whichever runs first, the kill below finds it.
    if (options.timeout_ms)
        ::setpgid(pid, pid);
    ::close(report[1]);
    int exec_errno = 0;
    ssize_t got;
    do {
        got = ::read(report[0], &exec_errno, sizeof exec_errno);
    } while (got < 0 && errno == EINTR);
    ::close(report[0]);

    int status = 0;
    bool reaped = false, timed_out = false;
    // With a time limit: poll until it exits or the limit passes, then
    // kill its group and give it process_kill_grace_ms to go.
    uint64_t deadline = options.timeout_ms ? monotonic_ms() + options.timeout_ms : 0;
    while (deadline && !reaped) {
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done < 0 && errno != EINTR)
            return Error::from_errno("waiting for " + argv[0]);
        reaped = done == pid;
        if (reaped)
            break;
        if (monotonic_ms() >= deadline) {
            if (timed_out)
                return Error::with_code(ETIMEDOUT, cat(argv[0], " (pid ", pid, ") did not end within ", process_kill_grace_ms / 1000,
                    " s of being killed after its time ran out; it is stuck in the kernel (a lost disk or server?)"));
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL); // in case it has not made its group yet
            timed_out = true;
            deadline = monotonic_ms() + process_kill_grace_ms;
        }
        ::usleep(20000);
    }
    while (!reaped && ::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return Error::from_errno("waiting for " + argv[0]);
    }
    if (got == sizeof exec_errno)
        return Error::with_code(exec_errno, cat("cannot run ", argv[0], ": ", std::strerror(exec_errno),
            exec_errno == ENOENT ? " (is it in the initramfs? add it with extra_bins)" : ""));
    ProcessStatus result;
    result.timed_out = timed_out;
    if (WIFEXITED(status)) {
        result.exited = true;
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

int reap_children()
{
    int reaped = 0;
    int status;
    while (::waitpid(-1, &status, WNOHANG) > 0)
        ++reaped;
    return reaped;
}

} // namespace core
