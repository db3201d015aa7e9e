// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/nfs.h"

#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <cerrno>
#include <doctest.h>
#include <string>
#include <sys/mount.h>

namespace {

using core::NfsVersion;

core::NfsMount mount_of(std::string_view target_text, std::string_view options = {})
{
    auto target = core::parse_nfs_target(target_text);
    REQUIRE_MESSAGE(target.ok(), (target.ok() ? std::string() : target.error().message()));
    auto mount = core::nfs_mount_from_target(*target, options);
    REQUIRE_MESSAGE(mount.ok(), (mount.ok() ? std::string() : mount.error().message()));
    return *mount;
}

std::string option_error(std::string_view options)
{
    auto target = core::parse_nfs_target("server:/dumps");
    REQUIRE(target.ok());
    auto mount = core::nfs_mount_from_target(*target, options);
    REQUIRE_FALSE(mount.ok());
    CHECK(mount.error().errno_code() == EINVAL);
    return mount.error().message();
}

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("nfs: the target text is kdump.conf's nfs value")
{
    auto target = core::parse_nfs_target("nfs.example.com:/export/dumps");
    REQUIRE(target.ok());
    CHECK(target->kind == core::TargetKind::Nfs);
    CHECK(target->host == "nfs.example.com");
    CHECK(target->nfs_export == "/export/dumps");

    auto v6 = core::parse_nfs_target("[fd00::1]:/exp");
    REQUIRE(v6.ok());
    CHECK(v6->host == "fd00::1");

    auto bad = core::parse_nfs_target("server");
    REQUIRE_FALSE(bad.ok());
    // The kdump.conf message, without a FILE:LINE prefix.
    CHECK(bad.error().message().starts_with("nfs: 'server' names no exported directory"));
}

TEST_CASE("nfs: defaults are soft, bounded, TCP, and try 4.2 down to 3")
{
    auto mount = mount_of("server:/dumps");
    CHECK(mount.versions == std::vector { NfsVersion::V4_2, NfsVersion::V4_1, NfsVersion::V4_0, NfsVersion::V3 });
    CHECK_FALSE(mount.hard);
    CHECK(mount.timeo_deciseconds == 100);
    CHECK(mount.retrans == 3);
    CHECK(mount.port == 0);
    CHECK(mount.flags == 0);
    CHECK(mount.kernel_options.empty());

    CHECK(core::nfs_mount_data(mount, NfsVersion::V4_2, "192.0.2.7", "192.0.2.50")
        == "vers=4.2,proto=tcp,addr=192.0.2.7,clientaddr=192.0.2.50,soft,timeo=100,retrans=3");
    // No client address known: the kernel picks one.
    CHECK(core::nfs_mount_data(mount, NfsVersion::V4_0, "192.0.2.7", "")
        == "vers=4.0,proto=tcp,addr=192.0.2.7,soft,timeo=100,retrans=3");
    // v3: mountd over TCP at the same address, and no statd.
    CHECK(core::nfs_mount_data(mount, NfsVersion::V3, "192.0.2.7", "192.0.2.50")
        == "vers=3,proto=tcp,addr=192.0.2.7,mountaddr=192.0.2.7,mountvers=3,mountproto=tcp,nolock,soft,timeo=100,retrans=3");

    CHECK(core::nfs_fs_type(NfsVersion::V3) == "nfs");
    CHECK(core::nfs_fs_type(NfsVersion::V4_1) == "nfs4");
    CHECK(core::nfs_mount_source(mount, "192.0.2.7") == "192.0.2.7:/dumps");
}

TEST_CASE("nfs: vers=, ports and timeouts from fstab-style options")
{
    CHECK(mount_of("s:/e", "vers=3").versions == std::vector { NfsVersion::V3 });
    CHECK(mount_of("s:/e", "nfsvers=4.1").versions == std::vector { NfsVersion::V4_1 });
    CHECK(mount_of("s:/e", "vers=4").versions == std::vector { NfsVersion::V4_2, NfsVersion::V4_1, NfsVersion::V4_0 });
    CHECK(mount_of("s:/e", "vers=4,minorversion=1").versions == std::vector { NfsVersion::V4_1 });
    // The last vers= wins, as in the kernel (mount-and-save -t nfs4 prepends vers=4).
    CHECK(mount_of("s:/e", "vers=4,vers=3").versions == std::vector { NfsVersion::V3 });

    auto mount = mount_of("s:/e", "vers=3,port=20490,mountport=20048,hard,timeo=600,retrans=2");
    CHECK(core::nfs_mount_data(mount, NfsVersion::V3, "127.0.0.1", "")
        == "vers=3,proto=tcp,addr=127.0.0.1,mountaddr=127.0.0.1,mountvers=3,mountproto=tcp,mountport=20048,port=20490,nolock,hard,timeo=600,retrans=2");
    CHECK(core::nfs_mount_data(mount_of("s:/e", "port=20490"), NfsVersion::V4_2, "10.0.2.2", "10.0.2.15")
        == "vers=4.2,proto=tcp,addr=10.0.2.2,clientaddr=10.0.2.15,port=20490,soft,timeo=100,retrans=3");
}

TEST_CASE("nfs: the host's mount options are cleaned as kdump-utils cleans them")
{
    // What findmnt shows for a host's NFSv4.2 mount.
    auto mount = mount_of("s:/e", "rw,relatime,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=192.168.1.5,local_lock=none,addr=192.168.1.2");
    CHECK(mount.versions == std::vector { NfsVersion::V4_2 });
    CHECK(mount.hard);
    CHECK(mount.flags == MS_RELATIME);
    CHECK(mount.kernel_options == std::vector<std::string> { "rsize=1048576", "wsize=1048576", "namlen=255", "sec=sys", "local_lock=none" });
    // The host's addresses are gone; ours are set.
    auto data = core::nfs_mount_data(mount, NfsVersion::V4_2, "10.0.0.2", "10.0.0.9");
    CHECK_FALSE(contains(data, "192.168"));
    CHECK(data == "vers=4.2,proto=tcp,addr=10.0.0.2,clientaddr=10.0.0.9,hard,timeo=600,retrans=2,rsize=1048576,wsize=1048576,namlen=255,sec=sys,local_lock=none");

    // fstab's and mount.nfs' own words are dropped; ro too (a dump target is written).
    auto fstab = mount_of("s:/e", "defaults,_netdev,nofail,x-systemd.automount,bg,retry=5,ro,noatime,nolock,lock,mountvers=3,mounthost=x");
    CHECK(fstab.flags == MS_NOATIME);
    CHECK(fstab.kernel_options.empty());
}

TEST_CASE("nfs: bad options are refused naming the option")
{
    CHECK(contains(option_error("vers=2"), "vers=2"));
    CHECK(contains(option_error("nfsvers=5"), "versions 3, 4, 4.0, 4.1 and 4.2"));
    CHECK(contains(option_error("proto=udp"), "TCP only"));
    CHECK(contains(option_error("mountproto=udp"), "TCP only"));
    CHECK(contains(option_error("udp"), "TCP only"));
    CHECK(contains(option_error("rdma"), "TCP only"));
    CHECK(contains(option_error("port=65536"), "not a port"));
    CHECK(contains(option_error("port=abc"), "port"));
    CHECK(contains(option_error("timeo=0"), "out of range"));
    CHECK(contains(option_error("retrans=1000"), "out of range"));

    core::DumpTarget disk;
    disk.kind = core::TargetKind::Filesystem;
    CHECK_FALSE(core::nfs_mount_from_target(disk, "").ok());
}

TEST_CASE("nfs: IPv6 servers are bracketed in the source only")
{
    auto mount = mount_of("[fd00::1]:/dumps", "vers=4.1");
    CHECK(core::nfs_mount_source(mount, "fd00::1") == "[fd00::1]:/dumps");
    CHECK(core::nfs_mount_data(mount, NfsVersion::V4_1, "fd00::1", "fd00::9") == "vers=4.1,proto=tcp,addr=fd00::1,clientaddr=fd00::9,soft,timeo=100,retrans=3");
}

TEST_CASE("nfs: server names resolve through core/network's resolver")
{
    // mount_nfs has no resolver of its own: resolve_ipv4 is the one both
    // network targets use.
    CHECK(core::resolve_ipv4("192.0.2.7").value().to_string() == "192.0.2.7");
    // /etc/hosts has localhost on every Debian system; getaddrinfo reads it
    // without a network.
    auto local = core::resolve_ipv4("localhost");
    REQUIRE_MESSAGE(local.ok(), (local.ok() ? std::string() : local.error().message()));
    CHECK(local.value().to_string().starts_with("127."));

    auto missing = core::resolve_ipv4("no-such-host.invalid", "NFS server");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().starts_with("NFS server no-such-host.invalid: cannot resolve"));
    CHECK(contains(missing.error().message(), "write its address in kdump.conf"));
}

TEST_CASE("nfs: mount errors say what to change, naming the server")
{
    auto mount = mount_of("nfs.example.com:/dumps", "port=20490");
    auto message = [&](int code, NfsVersion version = NfsVersion::V4_2) {
        auto error = core::nfs_mount_error(code, mount, version, "192.0.2.7", "/kdumproot");
        CHECK(error.errno_code() == code);
        auto text = error.message();
        CHECK(text.starts_with("mount NFSv"));
        CHECK(contains(text, "192.0.2.7:/dumps on /kdumproot"));
        return text;
    };
    auto enoent = message(ENOENT);
    CHECK(contains(enoent, "nfs.example.com (192.0.2.7) exports no /dumps to NFSv4.2"));
    CHECK(contains(enoent, "pseudo file system"));
    CHECK_FALSE(contains(message(ENOENT, NfsVersion::V3), "pseudo"));
    CHECK(contains(message(EACCES), "no_root_squash"));
    CHECK(contains(message(EPERM), "CAP_SYS_ADMIN"));
    CHECK(contains(message(ETIMEDOUT), "did not answer on TCP port 20490"));
    CHECK(contains(message(ETIMEDOUT, NfsVersion::V3), "rpcbind"));
    CHECK(contains(message(ECONNREFUSED), "nothing listens on nfs.example.com (192.0.2.7) TCP port 20490"));
    CHECK(contains(message(EHOSTUNREACH), "no route"));
    CHECK(contains(message(ENETUNREACH), "network is not up"));
    CHECK(contains(message(EPROTONOSUPPORT, NfsVersion::V4_1), "does not serve NFSv4.1"));
    CHECK(contains(message(ENODEV), "extra_modules nfsv4"));
    CHECK(contains(message(ENODEV, NfsVersion::V3), "extra_modules nfsv3"));
    CHECK(contains(message(EROFS), "read-only"));
    CHECK(contains(message(EINVAL), "options"));
    CHECK(contains(message(EIO), "server's log"));

    // A literal address is not repeated.
    auto literal = mount_of("192.0.2.7:/dumps");
    auto text = core::nfs_mount_error(ECONNREFUSED, literal, NfsVersion::V4_2, "192.0.2.7", "/mnt").message();
    CHECK(contains(text, "nothing listens on 192.0.2.7 TCP port 2049;"));
}

TEST_CASE("nfs: mount_nfs reports an unreachable server, resolving first")
{
    // No mount is tried for a name that does not resolve.
    auto mount = mount_of("no-such-host.invalid:/dumps");
    auto result = core::mount_nfs(mount, "/nonexistent-kdumpbox-test/mnt");
    REQUIRE_FALSE(result.ok());
    CHECK(contains(result.error().message(), "cannot resolve"));
}

TEST_CASE("nfs: the host's own mount of the export gives the options")
{
    constexpr std::string_view mounts = "/dev/vda1 / ext4 rw,relatime 0 0\n"
                                        "server:/other /mnt/o nfs4 rw,vers=4.1 0 0\n"
                                        "server:/dumps /var/crash nfs4 rw,relatime,vers=4.2,hard,proto=tcp,addr=192.0.2.7 0 0\n"
                                        "[fd00::1]:/dumps /mnt/v6 nfs rw,vers=3,addr=fd00::1 0 0\n";
    auto target = core::parse_nfs_target("server:/dumps").value();
    CHECK(core::nfs_options_from_mounts(mounts, target) == "rw,relatime,vers=4.2,hard,proto=tcp,addr=192.0.2.7");
    auto v6 = core::parse_nfs_target("[fd00::1]:/dumps").value();
    CHECK(core::nfs_options_from_mounts(mounts, v6) == "rw,vers=3,addr=fd00::1");
    auto absent = core::parse_nfs_target("server:/nowhere").value();
    CHECK_FALSE(core::nfs_options_from_mounts(mounts, absent).has_value());
    // The host's retry policy stays on the host: a dump mount is soft.
    CHECK(core::without_retry_policy("rw,relatime,vers=4.2,hard,timeo=600,retrans=2,proto=tcp,port=2049") == "rw,relatime,vers=4.2,proto=tcp,port=2049");
    CHECK(core::without_retry_policy("soft,softerr") == "");
    auto soft = core::nfs_mount_from_target(target, core::without_retry_policy("vers=4.2,hard,timeo=600,retrans=2")).value();
    CHECK_FALSE(soft.hard);
    CHECK(soft.timeo_deciseconds == core::default_nfs_timeo_deciseconds);
    // What it found, cleaned, is what the capture side mounts with.
    auto mount = core::nfs_mount_from_target(target, *core::nfs_options_from_mounts(mounts, target)).value();
    CHECK(mount.versions == std::vector { NfsVersion::V4_2 });
    CHECK(mount.hard);
}

TEST_CASE("nfs target planning: the network as for ssh, the host mount's options, the client modules")
{
    test_support::ScratchDir dir;
    core::KdumpConfig config = core::parse_kdump_conf("nfs backup:/dumps\n", "kdump.conf").value();
    core::NetworkPlan network;
    network.target_host = "backup";
    network.target_address = core::Ipv4Address::parse("192.168.7.9").value();
    network.interface_name = "eth0";
    network.mac = core::MacAddress::parse("52:54:00:12:34:56").value();
    network.address = core::Ipv4Address::parse("10.0.2.15").value();
    network.prefix_length = 24;
    core::NfsHostInputs inputs;
    inputs.network = network;
    inputs.sysfs = dir.path + "/nosys";
    inputs.proc_mounts_path = dir.path + "/mounts";
    auto paths_of = [](core::NfsCapturePlan const& plan) {
        std::vector<std::string> paths;
        for (auto const& file : plan.files)
            paths.push_back(file.path);
        return paths;
    };

    SUBCASE("mounted here: its options are recorded, vers= picks the client module")
    {
        REQUIRE(core::write_text_atomically(dir.path + "/mounts", "/dev/vda1 / ext4 rw 0 0\nbackup:/dumps /mnt nfs4 rw,relatime,vers=4.2,hard,port=20490,proto=tcp,clientaddr=10.0.2.15,addr=192.168.7.9 0 0\n").ok());
        auto plan = core::plan_nfs_capture(config, inputs);
        REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().message()));
        CHECK(plan->options_from_host_mount);
        // Without the host's "hard": see without_retry_policy.
        CHECK(plan->options == "rw,relatime,vers=4.2,port=20490,proto=tcp,clientaddr=10.0.2.15,addr=192.168.7.9");
        CHECK(plan->client_modules == std::vector<std::string> { "nfsv4" });
        CHECK(paths_of(*plan) == std::vector<std::string> { "/etc/kdumpbox/network", "/etc/hosts", "/etc/kdumpbox/nfs-options" });
        CHECK(plan->files[1].data == "192.168.7.9 backup\n");
        CHECK(plan->files[2].data == plan->options + "\n");
        CHECK(core::parse_network_plan(plan->files[0].data, "n").value() == network);
        REQUIRE(plan->notices.size() == 1);
        CHECK(contains(plan->notices[0], "with the options of its mount here"));
        // What the capture side makes of the recorded line.
        auto mount = core::nfs_mount_from_target(config.target, core::trim(plan->files[2].data)).value();
        CHECK(mount.port == 20490);
        CHECK_FALSE(mount.hard);
        CHECK(contains(plan->notices[0], "instead of hanging"));
    }
    SUBCASE("v3 mount: nfsv3 only")
    {
        REQUIRE(core::write_text_atomically(dir.path + "/mounts", "backup:/dumps /mnt nfs rw,vers=3,mountport=20048,addr=192.168.7.9 0 0\n").ok());
        auto plan = core::plan_nfs_capture(config, inputs);
        REQUIRE(plan.ok());
        CHECK(plan->client_modules == std::vector<std::string> { "nfsv3" });
    }
    SUBCASE("not mounted here: the defaults, said in a notice, both client modules")
    {
        REQUIRE(core::write_text_atomically(dir.path + "/mounts", "/dev/vda1 / ext4 rw 0 0\n").ok());
        auto plan = core::plan_nfs_capture(config, inputs);
        REQUIRE(plan.ok());
        CHECK_FALSE(plan->options_from_host_mount);
        CHECK(plan->options.empty());
        CHECK(plan->client_modules == std::vector<std::string> { "nfsv4", "nfsv3" });
        REQUIRE(plan->notices.size() == 1);
        CHECK(contains(plan->notices[0], "not mounted here"));
        CHECK(contains(plan->notices[0], "mount it before 'kdump start'"));
    }
    SUBCASE("a host mount over UDP is refused at kdump start, naming the option")
    {
        REQUIRE(core::write_text_atomically(dir.path + "/mounts", "backup:/dumps /mnt nfs rw,vers=3,proto=udp 0 0\n").ok());
        auto plan = core::plan_nfs_capture(config, inputs);
        REQUIRE_FALSE(plan.ok());
        CHECK(contains(plan.error().message(), "proto=udp"));
        CHECK(contains(plan.error().message(), "options from its mount in /proc/mounts"));
    }
    SUBCASE("an address target needs no /etc/hosts")
    {
        auto literal = core::parse_kdump_conf("nfs 192.168.7.9:/dumps\n", "kdump.conf").value();
        auto plan = core::plan_nfs_capture(literal, inputs);
        REQUIRE(plan.ok());
        CHECK(paths_of(*plan) == std::vector<std::string> { "/etc/kdumpbox/network", "/etc/kdumpbox/nfs-options" });
    }
}
