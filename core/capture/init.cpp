// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/capture/init.h"

#include "core/config/kdump_conf.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/base/strings.h"
#include "core/capture/save_process.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <fcntl.h>
#include <string>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

namespace {

std::atomic<int> g_fatal_reboot_command { RB_AUTOBOOT };
int g_kmsg_fd = -1;


// Async-signal-safe: write(2) of a fixed text, sync, reboot.
[[noreturn]] void fatal_stop(char const* why)
{
    static char const prefix[] = "<2>dumper: fatal: ";
    static char const suffix[] = "; running the failure action\n";
    int fd = g_kmsg_fd >= 0 ? g_kmsg_fd : STDERR_FILENO;
    (void)!::write(fd, prefix, sizeof prefix - 1);
    (void)!::write(fd, why, ::strlen(why));
    (void)!::write(fd, suffix, sizeof suffix - 1);
    ::sync();
    ::reboot(g_fatal_reboot_command.load());
    for (;;)
        ::pause();
}

void on_fatal_signal(int signal)
{
    switch (signal) {
    case SIGSEGV:
        fatal_stop("segmentation fault");
    case SIGBUS:
        fatal_stop("bus error");
    case SIGILL:
        fatal_stop("illegal instruction");
    case SIGFPE:
        fatal_stop("arithmetic exception");
    default:
        fatal_stop("abort");
    }
}

void on_power_signal(int signal)
{
    ::sync();
    ::reboot(reboot_command(signal == SIGUSR1 ? PowerAction::Halt : signal == SIGUSR2 ? PowerAction::PowerOff : PowerAction::Reboot));
}

void mount_one(char const* source, char const* target, char const* type, unsigned long flags)
{
    ::mkdir(target, 0755);
    if (::mount(source, target, type, flags, nullptr) != 0 && errno != EBUSY)
        log::error(cat("mount ", type, " on ", target, ": ", std::strerror(errno)));
}

} // namespace

void mount_early_filesystems()
{
    mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID);
    mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV);
}

void install_pid1_fatal_path(PowerAction action)
{
    set_pid1_fatal_action(action);
    if (g_kmsg_fd < 0)
        g_kmsg_fd = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    // Static: the handlers must not need the heap, nor the stack that may
    // have overflowed.
    static char signal_stack[pid1_signal_stack_bytes];
    stack_t alternate {};
    alternate.ss_sp = signal_stack;
    alternate.ss_size = sizeof signal_stack;
    if (::sigaltstack(&alternate, nullptr) != 0)
        log::error(cat("sigaltstack: ", std::strerror(errno), "; a stack overflow will not reach the fatal path"));
    struct sigaction fatal {};
    fatal.sa_handler = on_fatal_signal;
    fatal.sa_flags = SA_RESETHAND | SA_ONSTACK;
    for (int signal : { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT })
        ::sigaction(signal, &fatal, nullptr);
    struct sigaction power {};
    power.sa_handler = on_power_signal;
    for (int signal : { SIGTERM, SIGUSR1, SIGUSR2 })
        ::sigaction(signal, &power, nullptr);
    std::set_terminate([] { fatal_stop("std::terminate"); });
}

void leave_pid1_fatal_path()
{
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal : { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGUSR1, SIGUSR2 })
        ::sigaction(signal, &default_action, nullptr);
    std::set_terminate([] { std::abort(); });
}

void set_pid1_fatal_action(PowerAction action)
{
    g_fatal_reboot_command.store(reboot_command(action));
}

PowerAction fatal_power_action(FailureAction action)
{
    switch (action) {
    case FailureAction::Halt:
        return PowerAction::Halt;
    case FailureAction::Poweroff:
        return PowerAction::PowerOff;
    case FailureAction::Reboot:
    case FailureAction::Shell:
    case FailureAction::DumpToRootfs:
        break;
    }
    return PowerAction::Reboot;
}

void perform_power_action(PowerAction action)
{
    log::notice(cat("final step: ", power_action_name(action)));
    PowerPlan plan;
    plan.action = action;
    plan.sync_first = true;
    plan.direct = true;
    auto done = execute_power_plan(plan);
    if (!done.ok())
        log::error(done.error().message());
}

void hang_forever()
{
    log::error("nothing more to do; waiting (PID 1 must not exit)");
    for (;;) {
        reap_children();
        ::pause();
    }
}

void run_rescue_shell()
{
    if (::access("/bin/sh", X_OK) == 0) {
        log::notice("failure_action shell: starting /bin/sh; exit it to go on");
        auto status = run_process({ "/bin/sh" }, { .environment = { "PS1=kdump:# " } });
        if (!status.ok())
            log::error(status.error().message());
        return;
    }
    log::notice("failure_action shell: no /bin/sh in the initramfs (add it with extra_bins); built-in prompt. "
                "Type a command (applets such as 'makedumpfile' or 'reboot -f', or a program path), 'exit' to go on.");
    std::string line;
    for (;;) {
        (void)!::write(STDOUT_FILENO, "kdump:# ", 8);
        line.clear();
        char c;
        ssize_t got;
        while ((got = ::read(STDIN_FILENO, &c, 1)) == 1 && c != '\n')
            line.push_back(c);
        if (got <= 0 && line.empty())
            return; // end of input
        auto words = split_command_words(line);
        if (!words.ok()) {
            log::error(words.error().message());
            continue;
        }
        if (words.value().empty())
            continue;
        if (words.value()[0] == "exit")
            return;
        // Applets run from this same binary, under their own name.
        auto argv = words.value();
        if (argv[0].find('/') == std::string::npos && ::access(cat("/bin/", argv[0]).c_str(), X_OK) == 0)
            argv[0] = cat("/bin/", argv[0]);
        auto status = run_process(argv);
        if (!status.ok())
            log::error(status.error().message());
        else if (!status.value().success())
            log::notice(status.value().describe());
        reap_children();
    }
}

void run_final_or_failure_action(KdumpConfig const& config, CaptureEnvironment const& environment, CaptureOutcome outcome)
{
    if (!outcome.saved) {
        log::error(cat("the dump was not saved: ", outcome.failure));
        switch (config.failure_action) {
        case FailureAction::Shell:
            run_rescue_shell();
            perform_power_action(PowerAction::Reboot);
            return;
        case FailureAction::DumpToRootfs:
            outcome = run_save_in_child("dump_to_rootfs", [&] { return run_capture_to_rootfs(config, environment); },
                save_deadline_seconds(environment.budgets, config.disk_timeout_seconds));
            run_kdump_post_once(config, environment, outcome);
            if (!outcome.saved) {
                log::error(cat("dump_to_rootfs failed too: ", outcome.failure));
                perform_power_action(PowerAction::Reboot);
                return;
            }
            break;
        case FailureAction::Halt:
        case FailureAction::Poweroff:
        case FailureAction::Reboot:
            perform_power_action(fatal_power_action(config.failure_action));
            return;
        }
    }
    log::notice(cat("the dump is saved in ", outcome.dump_directory));
    perform_power_action(config.final_action);
}

int run_dumper(DumperOptions const& options, CaptureEnvironment const& environment)
{
    if (options.is_pid1) {
        // Nothing below may end this process: errors are logged and lead
        // to an action.
        mount_early_filesystems();
        log::enable_kmsg();
        install_pid1_fatal_path(PowerAction::Reboot);
        log::notice("kdumpbox dumper: capture kernel up");
    }
    auto config = read_kdump_conf(options.config_path, IfMissing::UseDefaults);
    if (!config.ok()) {
        log::error(cat(config.error().message(), "; the dump cannot be saved without a valid configuration"));
        if (!options.is_pid1)
            return 1;
        perform_power_action(PowerAction::Reboot);
        hang_forever();
    }
    for (auto const& warning : config.value().warnings)
        log::warn(warning);
    set_pid1_fatal_action(fatal_power_action(config.value().failure_action));
    CaptureEnvironment budgeted = environment;
    if (!options.budgets_path.empty())
        budgeted.budgets = read_time_budgets(options.budgets_path);
    // The save in a child: whatever ends it, this process goes on.
    auto outcome = run_save_in_child("the save", [&] { return run_capture(config.value(), budgeted); },
        save_deadline_seconds(budgeted.budgets, config.value().disk_timeout_seconds));
    if (!outcome.saved && options.is_pid1)
        detach_leftover_mounts(budgeted.mount_point);
    run_kdump_post_once(config.value(), budgeted, outcome);
    if (!options.is_pid1) {
        // Rebooting is PID 1's business in the capture kernel: run by hand
        // (or by mistake on a host) the dumper only reports.
        if (!outcome.saved)
            log::error(outcome.failure);
        auto action = outcome.saved ? final_action_name(config.value().final_action) : failure_action_name(config.value().failure_action);
        log::notice(cat("not PID 1: ", outcome.saved ? "final_action " : "failure_action ", action, " is not run"));
        return outcome.saved ? 0 : 1;
    }
    if (options.run_action)
        run_final_or_failure_action(config.value(), budgeted, std::move(outcome));
    hang_forever();
}

} // namespace core
