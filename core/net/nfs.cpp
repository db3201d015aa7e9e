// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/nfs.h"

#include "core/base/fd.h"
#include "core/base/log.h"
#include "core/net/network.h"
#include "core/base/strings.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <netdb.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace core {

namespace {

bool is_ipv6_literal(std::string_view host)
{
    in6_addr address;
    return ::inet_pton(AF_INET6, std::string(host).c_str(), &address) == 1;
}

Result<std::vector<NfsVersion>> parse_versions(std::string_view key, std::string_view value)
{
    using enum NfsVersion;
    if (value == "3")
        return std::vector { V3 };
    if (value == "4")
        return std::vector { V4_2, V4_1, V4_0 };
    if (value == "4.0")
        return std::vector { V4_0 };
    if (value == "4.1")
        return std::vector { V4_1 };
    if (value == "4.2")
        return std::vector { V4_2 };
    return Error::invalid(cat("nfs option ", key, "=", value, ": kdumpbox mounts NFS versions 3, 4, 4.0, 4.1 and 4.2; write e.g. ", key, "=4.2 or ", key, "=3"));
}

Result<uint16_t> parse_port(std::string_view key, std::string_view value)
{
    auto number = TRY(parse_u64(value, cat("nfs option ", key)));
    if (number > 65535)
        return Error::invalid(cat("nfs option ", key, "=", value, " is not a port; use 1 to 65535 (0: the default)"));
    return static_cast<uint16_t>(number);
}

Result<unsigned> parse_bounded(std::string_view key, std::string_view value, uint64_t low, uint64_t high)
{
    auto number = TRY(parse_u64(value, cat("nfs option ", key)));
    if (number < low || number > high)
        return Error::invalid(cat("nfs option ", key, "=", value, " is out of range; use ", low, " to ", high));
    return static_cast<unsigned>(number);
}

std::string port_text(NfsMount const& mount, NfsVersion version)
{
    if (mount.port != 0)
        return cat(mount.port);
    return version == NfsVersion::V3 ? std::string("2049 (or the one rpcbind names)") : std::string("2049");
}

std::string server_text(NfsMount const& mount, std::string_view server_address)
{
    if (mount.host == server_address)
        return mount.host;
    return cat(mount.host, " (", server_address, ")");
}

std::string nfs_advice(int errno_code, NfsMount const& mount, NfsVersion version, std::string_view server_address)
{
    auto server = server_text(mount, server_address);
    auto version_name = nfs_version_name(version);
    bool v3 = version == NfsVersion::V3;
    switch (errno_code) {
    case ENOENT:
        return cat(server, " exports no ", mount.export_path, " to NFSv", version_name, "; check the server's export list (exportfs -v)", v3 ? "" : ", and that for NFSv4 the path is the one in the server's pseudo file system");
    case EACCES:
        return cat(server, " refused this client access to ", mount.export_path, "; export it to this machine's address, read-write, with no_root_squash (the capture kernel writes as root)");
    case EPERM:
        return cat("mounting needs root (CAP_SYS_ADMIN), or ", server, " refused the security flavour; check the export's sec= and insecure options");
    case ETIMEDOUT:
        return cat(server, " did not answer on TCP port ", port_text(mount, version), v3 ? " (NFSv3 also needs rpcbind on port 111 and mountd, or mountport=)" : "", "; check that the server is up and that no firewall drops the traffic");
    case ECONNREFUSED:
        return cat("nothing listens on ", server, " TCP port ", port_text(mount, version), v3 ? " (or on its rpcbind or mountd port)" : "", "; start the NFS server, or give the port it uses with port=");
    case EHOSTUNREACH:
    case ENETUNREACH:
        return cat("no route to ", server, "; the network is not up, or the address is wrong");
    case EPROTONOSUPPORT:
        return cat(server, " does not serve NFSv", version_name, " (or this kernel has no NFSv", version_name, "); give a version it serves with vers=, or leave vers= out to try 4.2, 4.1, 4.0 and 3");
    case ENODEV:
        return cat("this kernel has no ", nfs_fs_type(version), " file system (see /proc/filesystems); if NFS is a module here, add it: extra_modules ", v3 ? "nfsv3" : "nfsv4");
    case EINVAL:
        return "the kernel refused the mount options; check the options given for the export";
    case EIO:
        return cat(server, " answered with an I/O error; see the server's log");
    case EROFS:
        return cat(server, " exports ", mount.export_path, " read-only; a dump target must be writable (export it rw)");
    case EBUSY:
        return "the mountpoint is in use; unmount what is there";
    case ESTALE:
        return cat(server, " no longer knows the export's file handle; re-export ", mount.export_path, " on the server");
    default:
        return cat("check that ", server, " is up and exports ", mount.export_path, " to this machine");
    }
}

} // namespace

std::string_view nfs_version_name(NfsVersion version)
{
    switch (version) {
    case NfsVersion::V3:
        return "3";
    case NfsVersion::V4_0:
        return "4.0";
    case NfsVersion::V4_1:
        return "4.1";
    case NfsVersion::V4_2:
        return "4.2";
    }
    return "?";
}

std::string_view nfs_fs_type(NfsVersion version)
{
    return version == NfsVersion::V3 ? "nfs" : "nfs4";
}

Result<NfsMount> nfs_mount_from_target(DumpTarget const& target, std::string_view options)
{
    if (target.kind != TargetKind::Nfs)
        return Error::invalid(cat("the dump target is ", target_kind_name(target.kind), ", not nfs"));
    NfsMount mount;
    mount.host = target.host;
    mount.export_path = target.nfs_export;

    // Words this file sets itself, or that only mount.nfs understands.
    static constexpr std::string_view dropped_keys[] = { "addr", "mountaddr", "clientaddr", "mountvers", "mounthost", "retry" };
    static constexpr std::string_view dropped_words[] = { "tcp", "bg", "fg", "lock", "nolock", "ro", "rw" };
    std::string rest;
    for (auto word : split(options, ',')) {
        word = trim(word);
        if (word.empty())
            continue;
        size_t equals = word.find('=');
        std::string_view key = word.substr(0, equals);
        std::string_view value = equals == std::string_view::npos ? std::string_view() : word.substr(equals + 1);
        bool has_value = equals != std::string_view::npos;
        auto in = [](auto const& list, std::string_view item) { return std::find(std::begin(list), std::end(list), item) != std::end(list); };

        if (has_value && (key == "vers" || key == "nfsvers")) {
            mount.versions = TRY(parse_versions(key, value));
        } else if (has_value && key == "minorversion") {
            mount.versions = TRY(parse_versions(key, cat("4.", value)));
        } else if (has_value && key == "port") {
            mount.port = TRY(parse_port(key, value));
        } else if (has_value && key == "mountport") {
            mount.mount_port = TRY(parse_port(key, value));
        } else if (has_value && (key == "proto" || key == "mountproto")) {
            if (value != "tcp" && value != "tcp6")
                return Error::invalid(cat("nfs option ", word, ": kdumpbox mounts NFS over TCP only; write ", key, "=tcp or leave it out"));
        } else if (!has_value && (key == "udp" || key == "rdma")) {
            return Error::invalid(cat("nfs option ", word, ": kdumpbox mounts NFS over TCP only; leave it out"));
        } else if (!has_value && (key == "hard" || key == "soft")) {
            mount.hard = key == "hard";
        } else if (has_value && key == "timeo") {
            // deciseconds; the kernel caps it at 600 s
            mount.timeo_deciseconds = TRY(parse_bounded(key, value, 1, 6000));
        } else if (has_value && key == "retrans") {
            mount.retrans = TRY(parse_bounded(key, value, 0, 100));
        } else if ((has_value && in(dropped_keys, key)) || (!has_value && in(dropped_words, key))) {
            continue;
        } else {
            if (!rest.empty())
                rest += ',';
            rest += word;
        }
    }
    auto parsed = parse_mount_options(rest);
    mount.flags = parsed.flags & ~static_cast<unsigned long>(MS_RDONLY);
    for (auto word : split(parsed.data, ','))
        if (!word.empty())
            mount.kernel_options.emplace_back(word);
    return mount;
}

std::optional<std::string> nfs_options_from_mounts(std::string_view proc_mounts, DumpTarget const& target)
{
    std::string plain = cat(target.host, ":", target.nfs_export);
    std::string bracketed = cat("[", target.host, "]:", target.nfs_export);
    for (auto line : split(proc_mounts, '\n')) {
        std::vector<std::string_view> fields;
        for (auto field : split(line, ' '))
            if (!field.empty())
                fields.push_back(field);
        if (fields.size() < 4 || (fields[2] != "nfs" && fields[2] != "nfs4"))
            continue;
        if (fields[0] == plain || fields[0] == bracketed)
            return std::string(fields[3]);
    }
    return std::nullopt;
}

std::string nfs_mount_data(NfsMount const& mount, NfsVersion version, std::string_view server_address, std::string_view client_address)
{
    std::string data = cat("vers=", nfs_version_name(version), ",proto=tcp,addr=", server_address);
    if (version == NfsVersion::V3) {
        data += cat(",mountaddr=", server_address, ",mountvers=3,mountproto=tcp");
        if (mount.mount_port != 0)
            data += cat(",mountport=", mount.mount_port);
    } else if (!client_address.empty()) {
        data += cat(",clientaddr=", client_address);
    }
    if (mount.port != 0)
        data += cat(",port=", mount.port);
    if (version == NfsVersion::V3)
        data += ",nolock";
    data += mount.hard ? ",hard" : ",soft";
    data += cat(",timeo=", mount.timeo_deciseconds, ",retrans=", mount.retrans);
    for (auto const& option : mount.kernel_options)
        data += cat(",", option);
    return data;
}

std::string nfs_mount_source(NfsMount const& mount, std::string_view server_address)
{
    if (is_ipv6_literal(server_address))
        return cat("[", server_address, "]:", mount.export_path);
    return cat(server_address, ":", mount.export_path);
}

Error nfs_mount_error(int errno_code, NfsMount const& mount, NfsVersion version, std::string_view server_address, std::string_view mountpoint)
{
    return Error::with_code(errno_code, cat("mount NFSv", nfs_version_name(version), " ", nfs_mount_source(mount, server_address), " on ", mountpoint, ": ", std::strerror(errno_code), "; ", nfs_advice(errno_code, mount, version, server_address)));
}

Result<MountedTarget> mount_nfs(NfsMount const& mount, std::string const& mountpoint, std::string_view client_address)
{
    if (mount.versions.empty())
        return Error::invalid("no NFS version to try");
    std::string server_address = mount.server_address;
    if (server_address.empty())
        server_address = is_ipv6_literal(mount.host) ? mount.host : TRY(resolve_ipv4(mount.host, "NFS server")).to_string();
    auto source = nfs_mount_source(mount, server_address);
    for (size_t i = 0; i < mount.versions.size(); ++i) {
        NfsVersion version = mount.versions[i];
        MountOptions options { mount.flags, nfs_mount_data(mount, version, server_address, client_address) };
        log::debug(cat("mount -t ", nfs_fs_type(version), " -o ", options.data, " ", source, " ", mountpoint));
        auto mounted = mount_source(source, std::string(nfs_fs_type(version)), mountpoint, options);
        if (mounted.ok()) {
            log::info(cat("mounted ", source, " (NFSv", nfs_version_name(version), ") on ", mountpoint));
            return mounted;
        }
        int errno_code = mounted.error().errno_code();
        // Not mount(2)'s answer: the mountpoint could not be made.
        if (struct stat status; ::stat(mountpoint.c_str(), &status) != 0 || !S_ISDIR(status.st_mode))
            return std::move(mounted).error();
        auto error = nfs_mount_error(errno_code, mount, version, server_address, mountpoint);
        if (errno_code != EPROTONOSUPPORT || i + 1 == mount.versions.size())
            return error;
        log::info(cat(error.message(), "; trying NFSv", nfs_version_name(mount.versions[i + 1])));
    }
    return Error::invalid("no NFS version to try");
}

std::vector<std::string> nfs_client_modules(NfsMount const& mount)
{
    std::vector<std::string> modules;
    bool v4 = std::any_of(mount.versions.begin(), mount.versions.end(), [](NfsVersion version) { return version != NfsVersion::V3; });
    bool v3 = std::find(mount.versions.begin(), mount.versions.end(), NfsVersion::V3) != mount.versions.end();
    if (v4)
        modules.emplace_back("nfsv4");
    if (v3)
        modules.emplace_back("nfsv3");
    return modules;
}

std::string without_retry_policy(std::string_view host_options)
{
    std::string kept;
    for (auto word : split(host_options, ',')) {
        bool policy = word == "hard" || word == "soft" || word == "softerr" || word.starts_with("timeo=") || word.starts_with("retrans=");
        if (policy || word.empty())
            continue;
        if (!kept.empty())
            kept += ',';
        kept += word;
    }
    return kept;
}

Result<NfsCapturePlan> plan_nfs_capture(KdumpConfig const& config, NfsHostInputs const& inputs)
{
    NfsCapturePlan plan;
    std::string target = cat("nfs ", config.target.value_text());
    auto mounts = read_text_file(inputs.proc_mounts_path);
    auto options = mounts.ok() ? nfs_options_from_mounts(mounts.value(), config.target) : std::nullopt;
    plan.options_from_host_mount = options.has_value();
    // The host's hard,timeo=600 suits a long-lived mount; in the capture
    // kernel a server that dies mid-dump would hang PID 1 for ever instead
    // of reaching failure_action, so the dump keeps its own soft defaults.
    plan.options = without_retry_policy(options.value_or(""));
    if (plan.options_from_host_mount)
        plan.notices.push_back(cat(target, ": the capture kernel mounts it with the options of its mount here (", plan.options, "), but soft,timeo=",
            default_nfs_timeo_deciseconds, ",retrans=", default_nfs_retrans, " so that a server that dies fails the dump instead of hanging it"));
    else
        plan.notices.push_back(cat(target, ": the export is not mounted here, so the capture kernel mounts it with the defaults (NFSv4.2, 4.1, 4.0, then 3; soft,timeo=",
            default_nfs_timeo_deciseconds, ",retrans=", default_nfs_retrans, "); mount it before 'kdump start' to use its options (port=, vers=, ...)"));
    auto mount = TRY(nfs_mount_from_target(config.target, plan.options).context(cat(target, plan.options_from_host_mount ? " (options from its mount in /proc/mounts)" : "")));
    plan.client_modules = nfs_client_modules(mount);
    plan.network = TRY(plan_target_network(config.target.host, target, inputs.network, inputs.sysfs));
    plan.files = plan.network.files;
    CaptureImageFile options_file;
    options_file.path = std::string(capture_nfs_options_path);
    options_file.data = plan.options + "\n";
    options_file.reason = plan.options_from_host_mount ? cat("mount options of ", target, " (from /proc/mounts)") : cat("mount options of ", target, " (defaults)");
    plan.files.push_back(std::move(options_file));
    return plan;
}

} // namespace core
