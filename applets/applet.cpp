// SPDX-License-Identifier: GPL-2.0-or-later
#include "applets/applet.h"

#include "core/base/fd.h"
#include "core/base/strings.h"

#include <unistd.h>

namespace applets {

void add_help_option(core::cli::OptionParser& parser, bool* help_requested)
{
    parser.flag('h', "help", help_requested, "show this help and exit");
}

void print_help(Applet const& applet, core::cli::OptionParser const& parser)
{
    std::string text = core::cat(applet.help, "\nOptions:\n", parser.option_help());
    if (!applet.aliases.empty()) {
        text += "\nAlso called as:";
        for (auto alias : applet.aliases)
            text += core::cat(' ', alias);
        text += '\n';
    }
    (void)core::write_all(STDOUT_FILENO, text, "stdout");
}

} // namespace applets
