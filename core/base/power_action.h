// SPDX-License-Identifier: GPL-2.0-or-later
// The three ways to end a run (reboot, halt, power off), and the one map
// between them, the names that ask for them (the reboot/halt/poweroff
// commands, kdump.conf's final_action) and reboot(2)'s commands. Doing it is
// core/system/power.h.
#pragma once

#include <optional>
#include <string_view>

namespace core {

enum class PowerAction { Reboot, Halt, PowerOff };

// "reboot", "halt", "poweroff".
std::string_view power_action_name(PowerAction action);
// "reboot", "halt", "poweroff" (also "power-off"); anything else is nullopt.
std::optional<PowerAction> power_action_from_name(std::string_view name);
// reboot(2)'s command for action: RB_AUTOBOOT, RB_HALT_SYSTEM, RB_POWER_OFF.
// A table look-up, so a signal handler may call it.
int reboot_command(PowerAction action);
// The command's name, for messages: "RB_AUTOBOOT".
std::string_view reboot_command_name(PowerAction action);

} // namespace core
