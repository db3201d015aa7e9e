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

ProcessStatus ProcessStatus::from_wait_status(int wait_status)
{
    ProcessStatus status;
    if (WIFEXITED(wait_status)) {
        status.exited = true;
        status.exit_code = WEXITSTATUS(wait_status);
    } else if (WIFSIGNALED(wait_status)) {
        status.signal = WTERMSIG(wait_status);
    }
    return status;
}

Result<std::optional<int>> wait_for_exit(pid_t pid, uint64_t limit_ms, std::string_view what)
{
    uint64_t give_up_ms = limit_ms ? monotonic_ms() + limit_ms : 0;
    for (;;) {
        int status = 0;
        pid_t done = ::waitpid(pid, &status, give_up_ms ? WNOHANG : 0);
        if (done == pid)
            return std::optional<int>(status);
        if (done < 0 && errno != EINTR)
            return Error::from_errno(cat("waiting for ", what));
        if (give_up_ms && monotonic_ms() >= give_up_ms)
            return std::optional<int>();
        if (give_up_ms)
            ::usleep(20000);
    }
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

    // With a time limit: wait that long, then kill its group and give it
    // process_kill_grace_ms to go.
    bool timed_out = false;
    std::optional<int> status = TRY(wait_for_exit(pid, options.timeout_ms, argv[0]));
    if (!status) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL); // in case it has not made its group yet
        timed_out = true;
        status = TRY(wait_for_exit(pid, process_kill_grace_ms, argv[0]));
        if (!status)
            return Error::with_code(ETIMEDOUT, cat(argv[0], " (pid ", pid, ") did not end within ", process_kill_grace_ms / 1000,
                " s of being killed after its time ran out; it is stuck in the kernel (a lost disk or server?)"));
    }
    if (got == sizeof exec_errno)
        return Error::with_code(exec_errno, cat("cannot run ", argv[0], ": ", std::strerror(exec_errno),
            exec_errno == ENOENT ? " (is it in the initramfs? add it with extra_bins)" : ""));
    ProcessStatus result = ProcessStatus::from_wait_status(*status);
    result.timed_out = timed_out;
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
