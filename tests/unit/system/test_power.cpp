// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/power.h"

#include <csignal>
#include <cstdlib>
#include <doctest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using core::InitProcess;
using core::InitSystem;
using core::PowerAction;
using core::PowerRequest;

TEST_CASE("action names map both ways")
{
    CHECK(core::power_action_from_name("halt") == PowerAction::Halt);
    CHECK(core::power_action_from_name("poweroff") == PowerAction::PowerOff);
    CHECK(core::power_action_from_name("power-off") == PowerAction::PowerOff);
    CHECK(core::power_action_from_name("reboot") == PowerAction::Reboot);
    CHECK_FALSE(core::power_action_from_name("kdumpbox").has_value());
    CHECK(core::power_action_name(PowerAction::PowerOff) == "poweroff");
}

TEST_CASE("-f acts directly and syncs unless -n")
{
    InitProcess systemd { InitSystem::Systemd, "systemd" };
    auto plan = core::plan_power_action(PowerRequest { PowerAction::PowerOff, true, false, false }, systemd).value();
    CHECK(plan.direct);
    CHECK(plan.sync_first);
    CHECK(core::describe_power_plan(plan) == "sync, then call reboot(2) with RB_POWER_OFF at once");

    auto no_sync = core::plan_power_action(PowerRequest { PowerAction::Halt, true, true, false }, systemd).value();
    CHECK_FALSE(no_sync.sync_first);
    CHECK(core::describe_power_plan(no_sync) == "without sync, call reboot(2) with RB_HALT_SYSTEM at once");
}

TEST_CASE("without -f the init system is asked with its own signal")
{
    InitProcess systemd { InitSystem::Systemd, "systemd" };
    auto reboot = core::plan_power_action(PowerRequest { PowerAction::Reboot, false, false, false }, systemd).value();
    CHECK_FALSE(reboot.direct);
    CHECK(reboot.signal == SIGRTMIN + 5);
    CHECK(core::describe_power_plan(reboot) == "send SIGRTMIN+5 to PID 1 (systemd) to reboot");
    CHECK(core::plan_power_action(PowerRequest { PowerAction::PowerOff, false, false, false }, systemd).value().signal == SIGRTMIN + 4);
    CHECK(core::plan_power_action(PowerRequest { PowerAction::Halt, false, false, false }, systemd).value().signal == SIGRTMIN + 3);

    InitProcess busybox { InitSystem::SignalInit, "init" };
    CHECK(core::plan_power_action(PowerRequest { PowerAction::Reboot, false, false, false }, busybox).value().signal == SIGTERM);
    CHECK(core::plan_power_action(PowerRequest { PowerAction::Halt, false, false, false }, busybox).value().signal == SIGUSR1);
    CHECK(core::plan_power_action(PowerRequest { PowerAction::PowerOff, false, false, false }, busybox).value().signal == SIGUSR2);
}

TEST_CASE("an unknown init is refused with the way out; PID 1 acts itself")
{
    InitProcess unknown { InitSystem::Unknown, "runit" };
    auto refused = core::plan_power_action(PowerRequest { PowerAction::Reboot, false, false, false }, unknown);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() == "PID 1 is 'runit', an init system this program cannot ask to reboot; use that init system's own command, or 'reboot -f' to act at once without a clean shutdown");
    CHECK(core::plan_power_action(PowerRequest { PowerAction::Reboot, false, false, true }, unknown).value().direct);
}

TEST_CASE("detect_init reads comm and exe under a proc root")
{
    char root[] = "/tmp/kdumpbox-proc-XXXXXX";
    REQUIRE(::mkdtemp(root) != nullptr);
    std::string proc = root;
    REQUIRE(::mkdir((proc + "/1").c_str(), 0755) == 0);
    auto write = [](std::string const& path, char const* text) {
        FILE* file = std::fopen(path.c_str(), "w");
        REQUIRE(file);
        std::fputs(text, file);
        std::fclose(file);
    };

    write(proc + "/1/comm", "systemd\n");
    CHECK(core::detect_init(proc).system == InitSystem::Systemd);

    write(proc + "/1/comm", "init\n");
    REQUIRE(::symlink("/bin/busybox", (proc + "/1/exe").c_str()) == 0);
    auto busybox = core::detect_init(proc);
    CHECK(busybox.system == InitSystem::SignalInit);
    CHECK(busybox.name == "init");

    ::unlink((proc + "/1/exe").c_str());
    REQUIRE(::symlink("/sbin/runit", (proc + "/1/exe").c_str()) == 0);
    write(proc + "/1/comm", "runit\n");
    CHECK(core::detect_init(proc).system == InitSystem::Unknown);

    std::system(("rm -rf '" + proc + "'").c_str());
}

TEST_CASE("privilege check reads CapEff")
{
    char root[] = "/tmp/kdumpbox-proc-XXXXXX";
    REQUIRE(::mkdtemp(root) != nullptr);
    std::string proc = root;
    REQUIRE(::mkdir((proc + "/self").c_str(), 0755) == 0);
    auto set_caps = [&](char const* mask) {
        FILE* file = std::fopen((proc + "/self/status").c_str(), "w");
        REQUIRE(file);
        std::fprintf(file, "Name:\tx\nCapEff:\t%s\n", mask);
        std::fclose(file);
    };
    core::PowerPlan direct;
    direct.direct = true;
    core::PowerPlan signal;
    signal.direct = false;

    set_caps("0000000000000000");
    auto refused = core::check_power_privilege(direct, proc);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == EPERM);
    CHECK(refused.error().message() == "cannot reboot: this needs CAP_SYS_BOOT; run it as root");
    CHECK(core::check_power_privilege(signal, proc).error().message() == "cannot reboot: this needs CAP_KILL; run it as root");

    set_caps("0000000000400000"); // CAP_SYS_BOOT only
    CHECK(core::check_power_privilege(direct, proc).ok());
    CHECK_FALSE(core::check_power_privilege(signal, proc).ok());

    set_caps("000001ffffffffff");
    CHECK(core::check_power_privilege(signal, proc).ok());
    std::system(("rm -rf '" + proc + "'").c_str());
}
