// SPDX-License-Identifier: GPL-2.0-or-later
// What every applet declares, next to its own code: its name, its aliases,
// a one-line summary and its help text. The list of applets is the single
// `applet_names` array in meson.build, which generates applets.def.
#pragma once

#include "core/base/cli.h"
#include "core/base/error.h"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace applets {

struct Context {
    // The name the applet was called by (an alias such as "halt" or
    // "makedumpfile" selects behaviour).
    std::string_view invoked_name;
    bool is_pid1 { false };
};

using Arguments = std::span<std::string_view const>;
// An Error return is printed by the dispatcher as one line and turned into
// the applet's failure_exit_code; applets that have documented exit codes
// (kexec, makedumpfile) return them as values instead.
using MainFunction = core::Result<int> (*)(Context&, Arguments);

// Whether `kdumpbox --install DIR` (and `meson install`) puts an applet's
// names on the host's PATH. The capture initramfs links every name; the
// host gets none of reboot, halt, poweroff or init, which would shadow the
// init system's, nor the systemd generator, which systemd runs from its own
// directory. `--install --all` links them all.
enum class OnHostPath { Yes, No };

struct Applet {
    std::string_view name;
    std::span<std::string_view const> aliases;
    std::string_view summary;
    // Shown by --help above the option list: "Usage: ..." and a description.
    std::string_view help;
    MainFunction main;
    int failure_exit_code { 1 };
    OnHostPath on_host_path { OnHostPath::Yes };
};

// Every applet offers -h/--help through the same option.
void add_help_option(core::cli::OptionParser& parser, bool* help_requested);
// Prints the applet's declared help followed by the parser's option list.
void print_help(Applet const& applet, core::cli::OptionParser const& parser);

// Every applet's name and aliases (the capture initramfs links each to /init).
std::vector<std::string> all_applet_names();
// The names `kdumpbox --install DIR` links without --all: those of the
// applets that are OnHostPath::Yes.
std::vector<std::string> host_applet_names();

} // namespace applets
