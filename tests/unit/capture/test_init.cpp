// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/capture/init.h"

#include <doctest.h>

TEST_CASE("PID 1's actions: final_action and the fatal path's failure_action")
{
    CHECK(core::fatal_power_action(core::FailureAction::Halt) == core::PowerAction::Halt);
    CHECK(core::fatal_power_action(core::FailureAction::Poweroff) == core::PowerAction::PowerOff);
    CHECK(core::fatal_power_action(core::FailureAction::Reboot) == core::PowerAction::Reboot);
    // A signal handler can start no shell and mount nothing: it reboots.
    CHECK(core::fatal_power_action(core::FailureAction::Shell) == core::PowerAction::Reboot);
    CHECK(core::fatal_power_action(core::FailureAction::DumpToRootfs) == core::PowerAction::Reboot);
}

TEST_CASE("the dumper outside PID 1 only reports: exit status 1 when nothing was saved")
{
    core::DumperOptions options;
    options.config_path = "/nonexistent/kdump.conf"; // all defaults
    core::CaptureEnvironment environment;
    environment.vmcore_path = "/nonexistent/vmcore";
    CHECK(core::run_dumper(options, environment) == 1);
}
