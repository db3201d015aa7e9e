// SPDX-License-Identifier: GPL-2.0-or-later
// mount-and-save: the local-disk half of a capture. Finds the dump target
// (a device path, UUID=, LABEL=, PARTUUID= or PARTLABEL=), mounts it, makes the dump directory as
// kdump-utils names it, and saves each file there as NAME-incomplete,
// renamed to NAME once synced. An NFS export (HOST:/EXPORT) is mounted with
// core/nfs instead. The work is in core/blkid, core/nfs and core/target.
#include "applets/applet.h"

#include "core/system/blkid.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/net/nfs.h"
#include "core/base/strings.h"
#include "core/system/target.h"

#include <ctime>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace applets {

namespace {

core::Result<int> mount_and_save_main(Context& context, Arguments args);

} // namespace

extern Applet const mount_and_save_applet = {
    .name = "mount-and-save",
    .aliases = {},
    .summary = "find and mount the dump target, and save files into a new dump directory",
    .help = R"(Usage: mount-and-save [-t FSTYPE] [-o OPTIONS] [--timeout SECONDS] [--path DIR]
                      [--host-ip IP] [--mountpoint DIR] [--name NAME] TARGET FILE...

TARGET is a device (/dev/vda1), UUID=, LABEL=, PARTUUID= or PARTLABEL=..., as in kdump.conf.
Waits up to --timeout seconds for it to appear (the console then lists the
devices that were seen), mounts it (the type is read from the superblock
unless -t is given). TARGET may also be an NFS export, HOST:/EXPORT or
[IPV6]:/EXPORT (-t nfs, implied by the ':/'; -t nfs4 tries only 4.x):
the host is resolved here and mounted with the kernel's own options
(NFSv4.2, 4.1, 4.0, then 3 unless vers= says; -o port=,mountport=,
vers=,hard,timeo=,retrans= as in nfs(5); --host-ip is the clientaddr).
Then it creates PATH/IP-YYYY-MM-DD-HH:MM:SS (UTC) on it with
mode 0700, and copies each FILE into it as NAME-incomplete, renamed to NAME
once synced. FILE may be '-' (once) for standard input, named by --name:
  vmcore-dmesg /proc/vmcore | mount-and-save --name vmcore-dmesg.txt UUID=... -
Prints the dump directory (a path under the mountpoint) on standard output,
then unmounts. Nothing existing is overwritten.
Exit status: 0 saved, 1 failed (an -incomplete file may be left as evidence).
)",
    .main = mount_and_save_main,
};

namespace {

// The files to save, and the descriptors they own (standard input owns
// none).
struct Inputs {
    std::vector<core::StreamToSave> streams;
    std::vector<core::UniqueFd> open_files;
};

// Opens every input before the target is touched, so a typo fails at once
// rather than after a 90-second wait and a mount.
core::Result<Inputs> open_inputs(std::span<std::string_view const> files, std::optional<std::string> const& stdin_name)
{
    Inputs inputs;
    bool stdin_used = false;
    for (auto file : files) {
        core::StreamToSave input;
        input.source = std::string(file);
        if (file == "-") {
            if (stdin_used)
                return core::Error::invalid("'-' (standard input) can be given only once");
            if (!stdin_name)
                return core::Error::invalid("'-' (standard input) needs --name NAME for the file it becomes, e.g. --name vmcore");
            stdin_used = true;
            input.name = *stdin_name;
            input.source = "standard input";
            input.fd = STDIN_FILENO;
        } else {
            input.name = std::string(core::base_name(file));
            auto& opened = inputs.open_files.emplace_back(TRY(core::open_file(input.source, O_RDONLY)));
            input.fd = opened.get();
        }
        for (auto const& other : inputs.streams) {
            if (other.name == input.name)
                return core::Error::invalid(core::cat(other.source, " and ", input.source, " would both be saved as ", input.name, "; rename one"));
        }
        inputs.streams.push_back(std::move(input));
    }
    if (stdin_name && !stdin_used)
        return core::Error::invalid("--name names standard input, but no FILE is '-'");
    return inputs;
}

core::Result<int> mount_and_save_main(Context&, Arguments args)
{
    bool help = false;
    std::optional<std::string> fstype, options, path, host_ip, mountpoint, stdin_name;
    core::FindOptions find_options;

    core::cli::OptionParser parser;
    add_help_option(parser, &help);
    parser.value('t', "type", "FSTYPE", &fstype, "file system type (default: read from the superblock)");
    parser.value('o', "options", "OPTIONS", &options, "mount options, fstab style (noatime, ...)");
    parser.custom(0, "timeout", core::cli::Arity::Required, "SECONDS", [&](std::optional<std::string_view> value) -> core::Result<void> {
        auto seconds = TRY(core::parse_u64(*value, "timeout"));
        if (seconds > 86400)
            return core::Error::invalid(core::cat("timeout ", seconds, " s is out of range; use 0 to 86400"));
        find_options.timeout = std::chrono::seconds(seconds);
        return {};
    }, "wait this long for TARGET to appear (default 90)");
    parser.value(0, "path", "DIR", &path, "directory on the target for dumps (default /var/crash)");
    parser.value(0, "host-ip", "IP", &host_ip, "the address that starts the directory name (default 127.0.0.1)");
    static std::string const mountpoint_help = core::cat("where to mount TARGET (default ", core::capture_mount_point, ")");
    parser.value(0, "mountpoint", "DIR", &mountpoint, mountpoint_help);
    parser.value(0, "name", "NAME", &stdin_name, "the file name for '-' (standard input)");
    auto operands = TRY(parser.parse(args));
    if (help) {
        print_help(mount_and_save_applet, parser);
        return 0;
    }
    if (operands.size() < 2)
        return core::Error::invalid("expected TARGET and at least one FILE (see --help)");
    if (stdin_name && (stdin_name->empty() || stdin_name->find('/') != std::string::npos))
        return core::Error::invalid(core::cat("--name '", *stdin_name, "' must be a plain file name"));

    // An NFS export (HOST:/EXPORT), or a device as kdump.conf names it.
    bool nfs = fstype ? (*fstype == "nfs" || *fstype == "nfs4") : operands[0].find(":/") != std::string_view::npos;
    std::optional<core::NfsMount> nfs_mount;
    std::optional<core::DeviceSpec> spec;
    if (nfs) {
        auto nfs_target = TRY(core::parse_nfs_target(operands[0]));
        // -t nfs4 first, so that a vers= in -o still wins.
        auto nfs_options = core::cat(fstype == "nfs4" ? "vers=4," : "", options.value_or(""));
        nfs_mount = TRY(core::nfs_mount_from_target(nfs_target, nfs_options));
    } else {
        spec = TRY(core::DeviceSpec::parse(operands[0]));
        TRY(spec->check_findable());
    }
    auto inputs = TRY(open_inputs(std::span(operands).subspan(1), stdin_name));

    std::string where = mountpoint.value_or(std::string(core::capture_mount_point));
    auto target = nfs_mount ? TRY(core::mount_nfs(*nfs_mount, where, host_ip.value_or("")))
                            : TRY(core::find_and_mount_target(*spec, find_options, fstype.value_or(""), where, options.value_or("")));
    auto save = [&](core::DirectoryFd const& directory) -> core::Result<void> {
        TRY(core::save_streams(directory, inputs.streams));
        return core::write_all(STDOUT_FILENO, core::cat(directory.path(), '\n'), "standard output");
    };
    TRY(core::save_in_dump_directory(target, path.value_or("/var/crash"), host_ip.value_or("127.0.0.1"), ::time(nullptr), save));
    return 0;
}

} // namespace
} // namespace applets
