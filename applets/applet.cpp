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

void add_refused_options(core::cli::OptionParser& parser, std::span<RefusedOption const> options, std::string_view tool)
{
    for (auto const& refused : options) {
        parser.custom(refused.short_name, refused.long_name, refused.arity, {}, [refused, tool](auto) -> core::Result<void> {
            return core::Error::unsupported(core::cat("not supported by this ", tool, ": ", refused.reason));
        }, "not supported (refused with the reason)");
    }
}

} // namespace applets
