// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/power_action.h"

#include <sys/reboot.h>

namespace core {

namespace {

struct PowerActionEntry {
    PowerAction action;
    std::string_view name;
    int reboot_command;
    std::string_view reboot_command_name;
};
constexpr PowerActionEntry power_actions[] = {
    { PowerAction::Reboot, "reboot", static_cast<int>(RB_AUTOBOOT), "RB_AUTOBOOT" },
    { PowerAction::Halt, "halt", static_cast<int>(RB_HALT_SYSTEM), "RB_HALT_SYSTEM" },
    { PowerAction::PowerOff, "poweroff", static_cast<int>(RB_POWER_OFF), "RB_POWER_OFF" },
};

PowerActionEntry const& entry_of(PowerAction action)
{
    for (auto const& entry : power_actions) {
        if (entry.action == action)
            return entry;
    }
    return power_actions[0];
}

} // namespace

std::string_view power_action_name(PowerAction action) { return entry_of(action).name; }

std::optional<PowerAction> power_action_from_name(std::string_view name)
{
    if (name == "power-off")
        return PowerAction::PowerOff;
    for (auto const& entry : power_actions) {
        if (entry.name == name)
            return entry.action;
    }
    return std::nullopt;
}

int reboot_command(PowerAction action) { return entry_of(action).reboot_command; }

std::string_view reboot_command_name(PowerAction action) { return entry_of(action).reboot_command_name; }

} // namespace core
