// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/unit_generator.h"

#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"

namespace core {

std::optional<std::string> unit_network_dropin(KdumpConfig const& config)
{
    if (config.target.kind != TargetKind::Nfs && config.target.kind != TargetKind::Ssh)
        return std::nullopt;
    // Wants= pulls network-online.target in (nothing does on a machine
    // without remote mounts); After= alone would not wait for it.
    return cat("# Written by kdumpbox's systemd generator: ", config.file_name, " names the ",
        target_kind_name(config.target.kind), " target ", config.target.value_text(),
        ",\n# so kdump start waits for the network and the remote file systems.\n"
        "[Unit]\n"
        "Wants=network-online.target\n"
        "After=network-online.target remote-fs.target\n");
}

Result<std::optional<std::string>> run_unit_generator(std::string const& settings_path, std::string const& output_directory)
{
    auto settings = TRY(read_kdump_settings(settings_path, IfMissing::UseDefaults));
    auto config = TRY(read_kdump_conf(settings.conf_path, IfMissing::UseDefaults));
    auto dropin = unit_network_dropin(config);
    if (!dropin)
        return std::optional<std::string> {};
    std::string path = cat(output_directory, '/', network_dropin_relative_path);
    TRY(make_parent_directories(path));
    TRY(write_text_atomically(path, *dropin));
    return std::optional<std::string> { path };
}

} // namespace core
