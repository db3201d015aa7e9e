// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/capture/save_process.h"

#include "core/base/clock.h"
#include "core/base/fd.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/base/strings.h"
#include "core/capture/init.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

namespace core {

namespace {

constexpr std::string_view outcome_magic = "kdumpbox-outcome";
// Far more than a path and a one-line reason need; a longer answer is not
// one the child meant to send.
constexpr size_t max_outcome_bytes = 64 * 1024;

// The child's report, read to EOF (every copy of the write end closed: the
// child sent it and ended, or died); more than the cap is refused. False
// when deadline_ms (0: none) passed first.
bool read_report(int fd, std::string& text, bool& too_long, uint64_t deadline_ms)
{
    char buffer[4096];
    too_long = false;
    for (;;) {
        int wait_ms = -1;
        if (deadline_ms) {
            uint64_t now = monotonic_ms();
            if (now >= deadline_ms)
                return false;
            wait_ms = static_cast<int>(std::min<uint64_t>(deadline_ms - now, 60'000));
        }
        struct pollfd ready { fd, POLLIN, 0 };
        int polled = ::poll(&ready, 1, wait_ms);
        if (polled < 0 && errno != EINTR)
            break;
        if (polled <= 0)
            continue;
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (text.size() + static_cast<size_t>(got) > max_outcome_bytes)
            too_long = true;
        else
            text.append(buffer, static_cast<size_t>(got));
    }
    return true;
}

// waitpid for at most grace_ms; false if the child is still there.
} // namespace

void inject_save_fault_if_asked()
{
    char const* fault = ::getenv("KDUMPBOX_FAULT");
    if (!fault)
        return;
    std::string_view which = fault;
    log::warn(cat("KDUMPBOX_FAULT=", which, ": injecting a fault into the save process (a test)"));
    if (which == "segv") {
        ::raise(SIGSEGV);
    } else if (which == "abort") {
        std::abort();
    } else if (which == "oom") {
        // Touched page by page, so that the memory is really taken; the
        // OOM killer must pick this process, never PID 1.
        size_t chunk_bytes = 16 << 20;
        for (;;) {
            auto* chunk = static_cast<volatile char*>(::malloc(chunk_bytes));
            if (!chunk && chunk_bytes == 4096)
                std::abort(); // refused rather than killed: still a death PID 1 sees
            if (!chunk) {
                chunk_bytes /= 2;
                continue;
            }
            for (size_t offset = 0; offset < chunk_bytes; offset += 4096)
                chunk[offset] = 1;
        }
    }
}

std::string encode_capture_outcome(CaptureOutcome const& outcome)
{
    std::string text(outcome_magic);
    text += '\0';
    text += outcome.saved ? '1' : '0';
    text += '\0';
    text += outcome.kdump_post_ran ? '1' : '0';
    text += '\0';
    text += outcome.dump_directory;
    text += '\0';
    text += outcome.failure;
    text += '\0';
    return text;
}

Result<CaptureOutcome> decode_capture_outcome(std::string_view text)
{
    std::vector<std::string_view> fields;
    while (!text.empty()) {
        size_t end = text.find('\0');
        if (end == std::string_view::npos)
            return Error::invalid("the save process's outcome is cut short");
        fields.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    if (fields.size() != 5 || fields[0] != outcome_magic || (fields[1] != "0" && fields[1] != "1") || (fields[2] != "0" && fields[2] != "1"))
        return Error::invalid("the save process's outcome is not in its format");
    CaptureOutcome outcome;
    outcome.saved = fields[1] == "1";
    outcome.kdump_post_ran = fields[2] == "1";
    outcome.dump_directory = std::string(fields[3]);
    outcome.failure = std::string(fields[4]);
    return outcome;
}

unsigned save_deadline_seconds(TimeBudgets const& budgets, unsigned disk_timeout_seconds)
{
    if (budgets.collector_seconds == 0)
        return 0;
    return budgets.collector_seconds + 2 * budgets.hook_seconds + disk_timeout_seconds + 15 * 60;
}

void detach_leftover_mounts(std::string const& mount_point)
{
    // Stacked mounts come off one at a time; EINVAL: nothing (more) there.
    for (int layer = 0; layer < 16; ++layer) {
        if (::umount2(mount_point.c_str(), MNT_DETACH) != 0)
            return;
        log::warn(cat("detached ", mount_point, ", left mounted by a save that did not finish"));
    }
}

CaptureOutcome run_save_in_child(std::string_view what, std::function<CaptureOutcome()> const& save, unsigned deadline_seconds)
{
    CaptureOutcome outcome;
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        outcome.failure = cat("a pipe for ", what, "'s process: ", std::strerror(errno));
        return outcome;
    }
    UniqueFd reader(report[0]);
    UniqueFd writer(report[1]);
    ::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        outcome.failure = cat("fork for ", what, ": ", std::strerror(errno), "; nothing was saved");
        return outcome;
    }
    if (pid == 0) {
        // The child: its faults must kill it, not reboot the machine.
        leave_pid1_fatal_path();
        reader.reset();
        inject_save_fault_if_asked();
        std::string text = encode_capture_outcome(save());
        Result<void> sent = write_all(writer.get(), text, "the save's outcome");
        ::fflush(nullptr);
        ::_exit(sent.ok() ? 0 : 2);
    }
    writer.reset();
    bool too_long = false;
    std::string text;
    uint64_t deadline_ms = deadline_seconds ? monotonic_ms() + uint64_t { deadline_seconds } * 1000 : 0;
    if (!read_report(reader.get(), text, too_long, deadline_ms)) {
        ::kill(pid, SIGKILL);
        auto waited = wait_for_exit(pid, process_kill_grace_ms, what);
        bool gone = !waited.ok() || waited.value().has_value();
        log::error(cat(what, " (process ", pid, ") ran past its deadline of ", deadline_seconds,
            " s (KDUMPBOX_COLLECTOR_TIMEOUT, twice KDUMPBOX_HOOK_TIMEOUT, disk_timeout and 15 min) and was killed",
            gone ? "" : "; it does not die (stuck in I/O) and is left behind", "; PID 1 goes on"));
        outcome.killed_by_signal = SIGKILL;
        outcome.failure = cat(what, " ran past its deadline of ", deadline_seconds, " s; what it wrote stays as *-incomplete");
        return outcome;
    }
    auto waited = wait_for_exit(pid, 0, what);
    ProcessStatus ended = waited.ok() ? ProcessStatus::from_wait_status(*waited.value()) : ProcessStatus {};
    auto decoded = too_long ? Result<CaptureOutcome>(Error::invalid("the save process's outcome is too long")) : decode_capture_outcome(text);
    if (ended.success() && decoded.ok()) {
        log::notice(cat(what, " (process ", pid, ") ended: ", ended.describe()));
        return std::move(decoded).value();
    }
    std::string how = !waited.ok() ? cat("could not be waited for (", waited.error().message(), ")")
        : ended.exited              ? cat(ended.describe(), " without saying how the save went")
                                    : ended.describe();
    if (!ended.exited && ended.signal == SIGKILL)
        how += " (the OOM killer, when memory ran out: see the kernel log, and raise crashkernel=)";
    if (!ended.exited && ended.signal == SIGALRM)
        how += " (the built-in collector ran past KDUMPBOX_COLLECTOR_TIMEOUT; raise it in /etc/sysconfig/kdumpbox, then kdump restart)";
    log::error(cat(what, " (process ", pid, ") died: ", how, "; PID 1 goes on"));
    outcome.killed_by_signal = ended.exited ? 0 : ended.signal;
    outcome.failure = cat(what, " died (", how, ") before it finished; what it wrote stays as *-incomplete");
    return outcome;
}

} // namespace core
