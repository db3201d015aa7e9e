// SPDX-License-Identifier: GPL-2.0-or-later
// PID 1 survives the save: the save in a child, its end reported, kdump_post
// with the real status, the time budgets of hooks and an external
// core_collector, and no PID 1 fatal path left in the child.
#include "core/capture/save_process.h"

#include "core/base/clock.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "core/capture/init.h"
#include "tests/unit/synthetic_vmcore.h"
#include "tests/unit/test_support.h"

#include <csignal>
#include <cstdlib>
#include <doctest.h>
#include <exception>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using test_support::ScratchDir;

// dir/NAME, executable; returns its path.
std::string write_script(ScratchDir const& dir, std::string const& name, std::string_view body)
{
    std::string path = dir.write(name, core::cat("#!/bin/sh\n", body, "\n"));
    REQUIRE(::chmod(path.c_str(), 0755) == 0);
    return path;
}

std::string read_trimmed(std::string const& path)
{
    auto text = core::read_text_file(path);
    return text.ok() ? std::string(core::trim(text.value())) : std::string("(missing)");
}

} // namespace

TEST_CASE("run_save_in_child: the child's outcome comes back whole")
{
    auto outcome = core::run_save_in_child("the save", [] {
        core::CaptureOutcome sent;
        sent.saved = true;
        sent.dump_directory = "/kdumproot/var/crash/127.0.0.1-2026-01-01-00:00:00";
        sent.kdump_post_ran = true;
        return sent;
    });
    CHECK(outcome.saved);
    CHECK(outcome.kdump_post_ran);
    CHECK(outcome.killed_by_signal == 0);
    CHECK(outcome.dump_directory == "/kdumproot/var/crash/127.0.0.1-2026-01-01-00:00:00");

    auto failed = core::run_save_in_child("the save", [] {
        core::CaptureOutcome sent;
        sent.failure = "vmcore: no space left on device";
        return sent;
    });
    CHECK_FALSE(failed.saved);
    CHECK(failed.failure == "vmcore: no space left on device");
}

TEST_CASE("run_save_in_child: a child that dies (abort, terminate, a fault, a silent exit) is a failure, and the caller goes on")
{
    auto aborted = core::run_save_in_child("the save", []() -> core::CaptureOutcome { std::abort(); });
    CHECK_FALSE(aborted.saved);
    CHECK(aborted.killed_by_signal == SIGABRT);
    CHECK(aborted.failure.find("the save died (killed by signal 6") == 0);

    // An uncaught exception (std::bad_alloc with -fno-exceptions) ends in
    // std::terminate: in the child that is an abort, not PID 1's reboot.
    auto terminated = core::run_save_in_child("the save", []() -> core::CaptureOutcome { std::terminate(); });
    CHECK(terminated.killed_by_signal == SIGABRT);

    // The OOM killer's SIGKILL says where to look.
    auto killed = core::run_save_in_child("the save", []() -> core::CaptureOutcome {
        ::raise(SIGKILL);
        return {};
    });
    CHECK(killed.killed_by_signal == SIGKILL);
    CHECK(killed.failure.find("OOM killer") != std::string::npos);

    // A fault: ASan may turn it into an exit, so only "not saved, a reason".
    auto faulted = core::run_save_in_child("the save", []() -> core::CaptureOutcome {
        ::raise(SIGSEGV);
        return {};
    });
    CHECK_FALSE(faulted.saved);
    CHECK(faulted.failure.find("the save died") == 0);

    auto silent = core::run_save_in_child("dump_to_rootfs", []() -> core::CaptureOutcome { ::_exit(3); });
    CHECK_FALSE(silent.saved);
    CHECK(silent.killed_by_signal == 0);
    CHECK(silent.failure.find("dump_to_rootfs died (exit status 3 without saying how the save went)") == 0);
}

TEST_CASE("run_save_in_child: the built-in collector's alarm (KDUMPBOX_COLLECTOR_TIMEOUT) ends the save, and the line names the setting")
{
    // collect_within_budget arms alarm(); its default action ends the save
    // process even from a wait the collector cannot leave by itself.
    auto timed_out = core::run_save_in_child("the save", []() -> core::CaptureOutcome {
        ::alarm(1);
        for (;;)
            ::pause();
    });
    CHECK_FALSE(timed_out.saved);
    CHECK(timed_out.killed_by_signal == SIGALRM);
    CHECK(timed_out.failure.find("KDUMPBOX_COLLECTOR_TIMEOUT") != std::string::npos);
}

TEST_CASE("run_save_in_child: a save past its deadline is killed and PID 1 goes on; the deadline comes from the budgets")
{
    uint64_t started_ms = core::monotonic_ms();
    auto stuck = core::run_save_in_child("the save", []() -> core::CaptureOutcome {
        for (;;)
            ::pause();
    }, 1);
    CHECK(core::monotonic_ms() - started_ms < 30'000);
    CHECK_FALSE(stuck.saved);
    CHECK(stuck.killed_by_signal == SIGKILL);
    CHECK(stuck.failure.find("the save ran past its deadline of 1 s") == 0);

    core::TimeBudgets budgets;
    CHECK(core::save_deadline_seconds(budgets, 180) == 21600 + 2 * 300 + 180 + 900);
    budgets.collector_seconds = 0;
    CHECK(core::save_deadline_seconds(budgets, 180) == 0);
}

TEST_CASE("detach_leftover_mounts: a target a dead save left mounted comes off; nothing mounted is nothing done")
{
    ScratchDir dir;
    std::string mount_point = dir.path + "/mnt";
    REQUIRE(::mkdir(mount_point.c_str(), 0755) == 0);
    core::detach_leftover_mounts(mount_point); // not a mount point: no error, no effect
    if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m") != 0)
        SKIP_TEST("cannot mount a tmpfs here (not root?)");
    REQUIRE(::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=1m") == 0); // stacked
    dir.write("mnt/left", "x");
    core::detach_leftover_mounts(mount_point);
    CHECK_FALSE(core::path_exists(mount_point + "/left"));
    CHECK(::umount2(mount_point.c_str(), MNT_DETACH) != 0); // both layers gone
}

TEST_CASE("the save's outcome: encoded and decoded, bad text refused")
{
    core::CaptureOutcome outcome;
    outcome.saved = false;
    outcome.dump_directory = "/dir with spaces";
    outcome.failure = "vmcore: one line";
    auto back = core::decode_capture_outcome(core::encode_capture_outcome(outcome));
    REQUIRE(back.ok());
    CHECK(back.value().dump_directory == outcome.dump_directory);
    CHECK(back.value().failure == outcome.failure);
    std::string text = core::encode_capture_outcome(outcome);
    CHECK_FALSE(core::decode_capture_outcome(text.substr(0, text.size() - 1)).ok());
    CHECK_FALSE(core::decode_capture_outcome("").ok());
    CHECK_FALSE(core::decode_capture_outcome(std::string("kdumpbox-outcome\0" "2\0" "0\0" "\0" "\0", 23)).ok());
    CHECK_FALSE(core::decode_capture_outcome(text + text).ok());
}

TEST_CASE("PID 1's fatal path: its handlers run on an alternate stack; a child leaves them")
{
    // In a child: the handlers would reboot(2) on a fault, so nothing here
    // faults; it only looks at what install and leave set.
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        core::install_pid1_fatal_path(core::PowerAction::Reboot);
        // SIGABRT: the sanitizers leave it alone (they take SIGSEGV).
        stack_t current {};
        struct sigaction abort_action {};
        bool ok = ::sigaltstack(nullptr, &current) == 0 && current.ss_sp && current.ss_size == core::pid1_signal_stack_bytes
            && ::sigaction(SIGABRT, nullptr, &abort_action) == 0 && (abort_action.sa_flags & SA_ONSTACK) && abort_action.sa_handler != SIG_DFL;
        core::leave_pid1_fatal_path();
        ok = ok && ::sigaction(SIGABRT, nullptr, &abort_action) == 0 && abort_action.sa_handler == SIG_DFL;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("kdump_post gets the real status: 0, 1, or 128+N for a save process killed by signal N")
{
    ScratchDir dir;
    std::string post = write_script(dir, "post.sh", core::cat("echo \"$1\" > ", dir.path, "/post-status"));
    auto config = core::parse_kdump_conf(core::cat("kdump_post ", post, "\n"), "kdump.conf");
    REQUIRE(config.ok());
    core::CaptureEnvironment environment;
    core::CaptureOutcome outcome;
    outcome.killed_by_signal = SIGSEGV;
    core::run_kdump_post_once(config.value(), environment, outcome);
    CHECK(outcome.kdump_post_ran);
    CHECK(read_trimmed(dir.path + "/post-status") == "139");
    // Once only: the save may have run it already.
    ::unlink((dir.path + "/post-status").c_str());
    core::run_kdump_post_once(config.value(), environment, outcome);
    CHECK(read_trimmed(dir.path + "/post-status") == "(missing)");
    core::CaptureOutcome saved;
    saved.saved = true;
    core::run_kdump_post_once(config.value(), environment, saved);
    CHECK(read_trimmed(dir.path + "/post-status") == "0");
}

TEST_CASE("time budgets: read from the initramfs's file; a hook or core_collector past its budget is killed and named")
{
    ScratchDir dir;
    std::string budgets = dir.path + "/time-budgets";
    CHECK(core::read_time_budgets(budgets).hook_seconds == core::TimeBudgets {}.hook_seconds); // missing: defaults
    dir.write("time-budgets", core::format_time_budgets({ .hook_seconds = 1, .collector_seconds = 2 }));
    CHECK(core::read_time_budgets(budgets).hook_seconds == 1);
    CHECK(core::read_time_budgets(budgets).collector_seconds == 2);

    // A raw target whose core_collector hangs; kdump_post hangs too. The
    // dumper (not PID 1 here) gives up on each after its budget.
    test::SyntheticVmcore synthetic;
    synthetic.add_load(0, 1 << 20);
    auto vmcore = synthetic.write_file();
    std::string device = dir.path + "/raw-device";
    dir.write("raw-device", "");
    std::string collector = write_script(dir, "collector.sh", "sleep 60");
    std::string post = write_script(dir, "post.sh", core::cat("echo \"$1\" > ", dir.path, "/post-status; sleep 60"));
    std::string conf = dir.write("kdump.conf", core::cat("raw ", device, "\ncore_collector ", collector, "\nkdump_post ", post, "\ndisk_timeout 1\n"));
    core::DumperOptions options;
    options.config_path = conf;
    options.budgets_path = budgets;
    core::CaptureEnvironment environment;
    environment.vmcore_path = vmcore.path();
    environment.load_order_path = dir.path + "/no-load-order";
    environment.resolved_target_path = dir.path + "/no-target";
    uint64_t started_ms = core::monotonic_ms();
    CHECK(core::run_dumper(options, environment) == 1);
    uint64_t took_ms = core::monotonic_ms() - started_ms;
    CHECK(took_ms >= 2000);
    CHECK(took_ms < 20000);
    CHECK(read_trimmed(dir.path + "/post-status") == "1");

    // kdump_pre on a mounted target: covered by run_hook's budget the same
    // way; here the timed-out external collector as a message.
    auto config = core::parse_kdump_conf(core::cat("raw ", device, "\ncore_collector ", collector, "\ndisk_timeout 1\n"), "kdump.conf");
    REQUIRE(config.ok());
    environment.budgets.collector_seconds = 1;
    auto outcome = core::run_capture(config.value(), environment);
    CHECK_FALSE(outcome.saved);
    CHECK(outcome.failure.find("timed out: killed after KDUMPBOX_COLLECTOR_TIMEOUT=1 s; raise it in /etc/sysconfig/kdumpbox") != std::string::npos);
}
