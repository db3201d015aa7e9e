// SPDX-License-Identifier: GPL-2.0-or-later
// kdumpbox's systemd generator (systemd.generator(7)): systemd runs it early
// at boot and at every daemon-reload, before any unit starts. It reads
// kdump.conf with the one parser and, when the target is nfs or ssh, orders
// kdumpbox.service after the network and remote file systems with a
// drop-in, so `kdump start` is not tried before the server can be reached.
// A local target needs nothing beyond the unit's own After=local-fs.target.
#pragma once

#include "core/base/error.h"
#include "core/config/kdump_conf.h"

#include <optional>
#include <string>
#include <string_view>

namespace core {

// The unit the drop-in is for (its alias kdump.service shares it).
constexpr std::string_view kdump_unit_name = "kdumpbox.service";
// Where in the generator's output directory the drop-in goes.
constexpr std::string_view network_dropin_relative_path = "kdumpbox.service.d/50-network.conf";

// The drop-in's text for this configuration: Wants= and After=
// network-online.target and remote-fs.target for an nfs or ssh target;
// nullopt for any other target.
std::optional<std::string> unit_network_dropin(KdumpConfig const& config);

// Reads the settings file at settings_path (missing: the defaults) and the
// kdump.conf it names (missing: the defaults), and writes the drop-in under
// output_directory when unit_network_dropin gives one. Returns the path
// written, or nullopt when nothing was needed. A parse error is returned
// with nothing written.
Result<std::optional<std::string>> run_unit_generator(std::string const& settings_path, std::string const& output_directory);

} // namespace core
