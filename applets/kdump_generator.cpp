// SPDX-License-Identifier: GPL-2.0-or-later
// kdump-generator: the systemd generator meson installs as
// lib/systemd/system-generators/kdump-generator (a link to kdumpbox). It
// calls core/control/unit_generator; a configuration it cannot read never
// fails the boot: it logs one line and writes nothing.
#include "applets/applet.h"

#include "core/base/log.h"
#include "core/config/kdump_conf.h"
#include "core/control/unit_generator.h"

namespace applets {

namespace {

core::Result<int> kdump_generator_main(Context& context, Arguments args);

} // namespace

extern Applet const kdump_generator_applet = {
    .name = "kdump-generator",
    .aliases = {},
    .summary = "systemd generator: order kdumpbox.service after the network for nfs and ssh targets",
    .help = R"(Usage: kdump-generator [--settings FILE] NORMAL_DIR [EARLY_DIR LATE_DIR]

Run by systemd at boot and at every daemon-reload (systemd.generator(7)).
Reads the settings file and the kdump.conf it names; when the dump target
is nfs or ssh, writes NORMAL_DIR/kdumpbox.service.d/50-network.conf with
Wants= and After=network-online.target remote-fs.target. For any other
target it writes nothing. A settings file or kdump.conf with an error is
reported in one line (systemd puts it in the journal) and nothing is
written: kdumpbox.service then starts with its default ordering and
`kdump start` reports the error. Exits 0 unless called wrongly.
)",
    .main = kdump_generator_main,
    .on_host_path = OnHostPath::No,
};

namespace {

core::Result<int> kdump_generator_main(Context&, Arguments args)
{
    bool help = false;
    std::optional<std::string> settings;
    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    parser.value(0, "settings", "FILE", &settings, "read this settings file instead of /etc/sysconfig/kdumpbox");
    auto operands = TRY(parser.parse(args));
    if (help) {
        print_help(kdump_generator_applet, parser);
        return 0;
    }
    if (operands.size() != 1 && operands.size() != 3)
        return core::Error::invalid("give systemd's generator directories: NORMAL_DIR [EARLY_DIR LATE_DIR] (see --help)");
    auto written = core::run_unit_generator(settings.value_or(std::string(core::default_settings_path)), std::string(operands[0]));
    if (!written.ok()) {
        core::log::error(core::cat(written.error().message(), "; ", core::kdump_unit_name, " keeps its default ordering"));
        return 0;
    }
    if (written.value())
        core::log::info(core::cat("wrote ", *written.value()));
    return 0;
}

} // namespace
} // namespace applets
