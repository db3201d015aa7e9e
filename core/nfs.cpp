// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/nfs.h"

#include "core/log.h"
#include "core/strings.h"

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

bool is_ip_literal(std::string_view host)
{
    in_addr address;
    return ::inet_pton(AF_INET, std::string(host).c_str(), &address) == 1 || is_ipv6_literal(host);
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

Result<std::string> resolve_nfs_server(std::string_view host)
{
    if (is_ip_literal(host))
        return std::string(host);
    addrinfo hints {};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::string name(host);
    int status = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
    if (status != 0 || found == nullptr) {
        if (found)
            ::freeaddrinfo(found);
        int code = status == EAI_SYSTEM ? errno : EHOSTUNREACH;
        return Error::with_code(code, cat("NFS server ", host, ": cannot resolve it to an IPv4 address (", status == 0 ? "no address" : ::gai_strerror(status), "); write its address in kdump.conf (nfs 192.0.2.1:/export), or make sure the name resolves on the host when kdump starts"));
    }
    char text[INET_ADDRSTRLEN] = {};
    auto* address = reinterpret_cast<sockaddr_in const*>(found->ai_addr);
    ::inet_ntop(AF_INET, &address->sin_addr, text, sizeof text);
    ::freeaddrinfo(found);
    return std::string(text);
}

Error nfs_mount_error(int errno_code, NfsMount const& mount, NfsVersion version, std::string_view server_address, std::string_view mountpoint)
{
    return Error::with_code(errno_code, cat("mount NFSv", nfs_version_name(version), " ", nfs_mount_source(mount, server_address), " on ", mountpoint, ": ", std::strerror(errno_code), "; ", nfs_advice(errno_code, mount, version, server_address)));
}

Result<MountedTarget> mount_nfs(NfsMount const& mount, std::string const& mountpoint, std::string_view client_address)
{
    if (mount.versions.empty())
        return Error::invalid("no NFS version to try");
    auto server_address = TRY(resolve_nfs_server(mount.host));
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

} // namespace core
