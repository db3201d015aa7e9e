// SPDX-License-Identifier: GPL-2.0-or-later
// The ssh target's planning on the host: the network plan file, the plan
// from the kernel's route/link/address answers (static or DHCP), the NIC
// drivers from sysfs, the recorded host keys and what goes into the
// initramfs. No sockets: the kernel's answers are given as values.
#include "core/net/network.h"

#include "core/base/fd.h"
#include "core/system/device_modules.h"
#include "core/net/ssh_target.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <cstdlib>
#include <cstring>
#include <doctest.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

struct Scratch : test_support::ScratchDir {
    Scratch() : ScratchDir("kdumpbox-network-test") { }
    void link(std::string const& target, std::string const& name) const { REQUIRE(::symlink(target.c_str(), (path + "/" + name).c_str()) == 0); }
    void mkdirs(std::string const& name) const { REQUIRE(std::system(("mkdir -p '" + path + "/" + name + "'").c_str()) == 0); }
};

core::Ipv4Address ip(char const* text) { return core::Ipv4Address::parse(text).value(); }

core::NetworkPlan sample_plan()
{
    core::NetworkPlan plan;
    plan.target_host = "backup.example";
    plan.target_address = ip("192.168.7.9");
    plan.interface_name = "enp1s0";
    plan.mac = core::MacAddress::parse("52:54:00:12:34:56").value();
    plan.mode = core::AddressMode::Dhcp;
    plan.address = ip("10.0.2.15");
    plan.prefix_length = 24;
    plan.gateway = ip("10.0.2.2");
    return plan;
}

// The kernel's answers for a host with eth0 (10.0.2.15/24) and lo.
struct KernelAnswers {
    core::RoutePath route;
    std::vector<core::netlink::LinkInfo> links;
    std::vector<core::netlink::AddressInfo> addresses;
    KernelAnswers()
    {
        route.ifindex = 2;
        route.ifname = "eth0";
        route.source = ip("10.0.2.15");
        core::netlink::LinkInfo lo;
        lo.ifindex = 1;
        lo.name = "lo";
        lo.flags = core::netlink::iff_loopback | core::netlink::iff_up;
        lo.mac = core::MacAddress {};
        core::netlink::LinkInfo eth;
        eth.ifindex = 2;
        eth.name = "eth0";
        eth.mac = core::MacAddress::parse("52:54:00:12:34:56").value();
        links = { lo, eth };
        core::netlink::AddressInfo other { .family = 2, .prefix_length = 16, .flags = core::netlink::ifa_f_permanent, .ifindex = 2, .local = ip("172.16.0.1") };
        core::netlink::AddressInfo main { .family = 2, .prefix_length = 24, .flags = core::netlink::ifa_f_permanent, .ifindex = 2, .local = ip("10.0.2.15") };
        addresses = { other, main };
    }
};

} // namespace

TEST_CASE("network plan: written and read back; damaged files are refused with the fix")
{
    auto plan = sample_plan();
    auto text = core::format_network_plan(plan);
    CHECK(text.find("mac 52:54:00:12:34:56\nmode dhcp\naddress 10.0.2.15/24\ngateway 10.0.2.2\n") != std::string::npos);
    auto back = core::parse_network_plan(text, "/etc/kdumpbox/network");
    REQUIRE_MESSAGE(back.ok(), (back.ok() ? std::string() : back.error().message()));
    CHECK((back.value() == plan));

    plan.gateway.reset();
    plan.mode = core::AddressMode::Static;
    auto without_gateway = core::parse_network_plan(core::format_network_plan(plan), "n");
    REQUIRE(without_gateway.ok());
    CHECK((without_gateway.value() == plan));

    struct Case {
        std::string text;
        std::string error;
    };
    for (auto const& bad : std::vector<Case> {
             { text + "colour blue\n", "n:10: colour: unknown key; run 'kdump rebuild' on the host to write it again" },
             { text + "mode static\n", "n:10: mode: given twice" },
             { "target_host h\ntarget_address 1.2.3.4\nmac 52:54:00:12:34:56\nmode static\n", "n: address is missing" },
             { "target_host h\ntarget_address 1.2.3.4\nmac 52:54:00:12:34\nmode static\naddress 1.2.3.5/8\n", "n:3: mac: " },
             { "target_host h\ntarget_address 1.2.3.4\nmac 52:54:00:12:34:56\nmode manual\naddress 1.2.3.5/8\n", "n:4: mode: 'manual' is neither static nor dhcp" },
             { "target_host h\ntarget_address 1.2.3.4\nmac 52:54:00:12:34:56\nmode static\naddress 1.2.3.5/33\n", "the prefix length is not 0 to 32" },
             { "target_host h\ntarget_address 1.2.3.4\nmac 52:54:00:12:34:56\nmode static\naddress 1.2.3.5\n", "has no /PREFIX" },
             { "target_host\n", "n:1: target_host: no value" },
         }) {
        auto parsed = core::parse_network_plan(bad.text, "n");
        REQUIRE_FALSE(parsed.ok());
        CHECK_MESSAGE(parsed.error().message().find(bad.error) != std::string::npos, parsed.error().message());
    }
}

TEST_CASE("network plan from the route: interface, MAC, source address and prefix, static or DHCP")
{
    KernelAnswers kernel;
    SUBCASE("a permanent address is static; the route's source is chosen over the first address")
    {
        auto plan = core::network_plan_from("10.0.2.2", ip("10.0.2.2"), kernel.route, kernel.links, kernel.addresses);
        REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().message()));
        CHECK(plan->interface_name == "eth0");
        CHECK(plan->mac.to_string() == "52:54:00:12:34:56");
        CHECK(plan->address.to_string() == "10.0.2.15");
        CHECK(plan->prefix_length == 24);
        CHECK(plan->mode == core::AddressMode::Static);
        CHECK_FALSE(plan->gateway);
    }
    SUBCASE("an address with a lifetime (a DHCP lease) is DHCP; the gateway is kept")
    {
        kernel.addresses[1].flags = 0;
        kernel.route.gateway = ip("10.0.2.1");
        auto plan = core::network_plan_from("backup", ip("192.168.7.9"), kernel.route, kernel.links, kernel.addresses);
        REQUIRE(plan.ok());
        CHECK(plan->mode == core::AddressMode::Dhcp);
        CHECK(plan->gateway->to_string() == "10.0.2.1");
        CHECK(plan->target_host == "backup");
        CHECK(plan->target_address.to_string() == "192.168.7.9");
    }
    SUBCASE("no source in the route: the interface's first address")
    {
        kernel.route.source.reset();
        auto plan = core::network_plan_from("h", ip("10.0.2.2"), kernel.route, kernel.links, kernel.addresses);
        REQUIRE(plan.ok());
        CHECK(plan->address.to_string() == "172.16.0.1");
        CHECK(plan->prefix_length == 16);
    }
    SUBCASE("refused: the target is this machine, no MAC, no address, an unknown interface")
    {
        auto local = kernel.route;
        local.ifindex = 1;
        auto refused = core::network_plan_from("127.0.0.1", ip("127.0.0.1"), local, kernel.links, kernel.addresses);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message().find("goes through lo: the target is this machine") != std::string::npos);

        kernel.links[1].mac.reset();
        auto tunnel = core::network_plan_from("h", ip("10.0.2.2"), kernel.route, kernel.links, kernel.addresses);
        REQUIRE_FALSE(tunnel.ok());
        CHECK(tunnel.error().message().find("eth0, which has no Ethernet MAC address") != std::string::npos);

        KernelAnswers fresh;
        auto no_address = core::network_plan_from("h", ip("10.0.2.2"), fresh.route, fresh.links, {});
        REQUIRE_FALSE(no_address.ok());
        CHECK(no_address.error().message().find("has no IPv4 address; configure the interface before 'kdump start'") != std::string::npos);

        fresh.route.ifindex = 9;
        CHECK_FALSE(core::network_plan_from("h", ip("10.0.2.2"), fresh.route, fresh.links, fresh.addresses).ok());
    }
}

TEST_CASE("resolve_ipv4: literals as they are, IPv6 refused by name")
{
    CHECK(core::resolve_ipv4("10.0.2.2").value().to_string() == "10.0.2.2");
    auto v6 = core::resolve_ipv4("[fd00::1]");
    REQUIRE_FALSE(v6.ok());
    CHECK(v6.error().message().find("IPv6 targets are not supported yet") != std::string::npos);
    CHECK(core::resolve_ipv4("localhost").ok()); // /etc/hosts
}

TEST_CASE("netlink: RTM_NEWADDR replies decode, IFA_FLAGS wins over the 8-bit flags")
{
    std::array<uint8_t, core::netlink::ifaddrmsg_size> header {};
    header[0] = 2;  // AF_INET
    header[1] = 24; // prefix
    header[2] = 0x80;
    header[4] = 3; // ifindex 3 (little-endian hosts; the test builds host order)
    core::netlink::MessageBuilder builder(core::netlink::NewAddress, 0, 1);
    uint32_t ifindex = 3;
    std::memcpy(header.data() + 4, &ifindex, 4);
    builder.fixed(header).attribute_ipv4(1, ip("10.0.2.99")).attribute_ipv4(2, ip("10.0.2.15")).attribute_u32(8, 0x100);
    auto bytes = builder.finish();
    auto messages = core::netlink::parse_messages(bytes);
    REQUIRE(messages.ok());
    REQUIRE(messages->size() == 1);
    auto address = core::netlink::parse_address(messages->front());
    REQUIRE(address.ok());
    CHECK(address->ifindex == 3);
    CHECK(address->prefix_length == 24);
    CHECK(address->local->to_string() == "10.0.2.15");
    CHECK_FALSE(address->is_permanent()); // IFA_FLAGS 0x100 replaced ifa_flags 0x80

    auto request = core::netlink::build_get_ipv4_addresses(7);
    REQUIRE(request.size() == core::netlink::header_size + core::netlink::ifaddrmsg_size);
    CHECK(request[core::netlink::header_size] == 2);

    // Truncated: shorter than struct ifaddrmsg.
    core::netlink::Message truncated { .type = core::netlink::NewAddress, .payload = { 2, 24, 0 } };
    CHECK_FALSE(core::netlink::parse_address(truncated).ok());
    core::netlink::Message wide { .type = core::netlink::NewAddress, .payload = { 2, 40, 0, 0, 3, 0, 0, 0 } };
    CHECK_FALSE(core::netlink::parse_address(wide).ok());
}

TEST_CASE("net_device_modules: the NIC's driver chain from sysfs")
{
    Scratch sys;
    sys.mkdirs("devices/pci0000:00/0000:00:03.0/virtio0/net/eth0");
    sys.mkdirs("module/virtio_net");
    sys.mkdirs("module/virtio_pci");
    sys.mkdirs("bus/virtio/drivers/virtio_net");
    sys.mkdirs("bus/pci/drivers/virtio-pci");
    sys.mkdirs("class/net");
    sys.link("../../../module/virtio_net", "bus/virtio/drivers/virtio_net/module");
    sys.link("../../../module/virtio_pci", "bus/pci/drivers/virtio-pci/module");
    sys.link(sys.path + "/bus/virtio/drivers/virtio_net", "devices/pci0000:00/0000:00:03.0/virtio0/driver");
    sys.link(sys.path + "/bus/pci/drivers/virtio-pci", "devices/pci0000:00/0000:00:03.0/driver");
    sys.link("../..", "devices/pci0000:00/0000:00:03.0/virtio0/net/eth0/device");
    sys.link("../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0", "class/net/eth0");
    sys.mkdirs("devices/virtual/net/lo");
    sys.link("../../devices/virtual/net/lo", "class/net/lo");

    auto modules = core::net_device_modules(sys.path, "eth0");
    REQUIRE_MESSAGE(modules.ok(), (modules.ok() ? std::string() : modules.error().message()));
    CHECK_MESSAGE(core::join(modules.value(), ",") == "virtio_net,virtio_pci", core::join(modules.value(), ","));
    auto virtual_link = core::net_device_modules(sys.path, "lo");
    REQUIRE(virtual_link.ok());
    CHECK(virtual_link->empty());
    auto missing = core::net_device_modules(sys.path, "eth9");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find("network interface 'eth9': not in") == 0);
}

TEST_CASE("the route's interface: bonds, bridges, VLANs and teams are refused by name, from sysfs")
{
    Scratch sys;
    // As the kernel lays them out: class/net/NAME links to a virtual device.
    auto interface = [&](std::string const& name, std::string const& uevent) {
        sys.mkdirs("devices/virtual/net/" + name);
        sys.write("devices/virtual/net/" + name + "/uevent", uevent);
        sys.mkdirs("class/net");
        sys.link("../../devices/virtual/net/" + name, "class/net/" + name);
        return sys.path + "/devices/virtual/net/" + name;
    };
    auto refusal = [&](std::string const& name) {
        auto checked = core::check_plain_interface(sys.path, name, "backup");
        REQUIRE_FALSE(checked.ok());
        CHECK(checked.error().errno_code() == ENOTSUP);
        return checked.error().message();
    };
    interface("eth0", "INTERFACE=eth0\nIFINDEX=2\n");
    CHECK(core::check_plain_interface(sys.path, "eth0", "backup").ok());
    CHECK(core::check_plain_interface(sys.path, "not-in-sysfs", "backup").ok());

    interface("bond0", "DEVTYPE=bond\nINTERFACE=bond0\n");
    sys.mkdirs("devices/virtual/net/bond0/bonding");
    CHECK(refusal("bond0") == "the route to backup goes through bond0, a bond; kdumpbox does not build bonds in the capture kernel yet: route backup through a plain Ethernet interface, or dump to a local target");
    interface("br0", "INTERFACE=br0\n");
    sys.mkdirs("devices/virtual/net/br0/bridge");
    CHECK(refusal("br0").starts_with("the route to backup goes through br0, a bridge; kdumpbox does not build bridges in the capture kernel yet"));
    interface("eth0.100", "DEVTYPE=vlan\nINTERFACE=eth0.100\n");
    CHECK(refusal("eth0.100").starts_with("the route to backup goes through eth0.100, a VLAN; kdumpbox does not build VLANs in the capture kernel yet"));
    // A team has no DEVTYPE; its ports show as lower_* links.
    interface("team0", "INTERFACE=team0\n");
    sys.link("../eth1", "devices/virtual/net/team0/lower_eth1");
    sys.link("../eth2", "devices/virtual/net/team0/lower_eth2");
    CHECK(refusal("team0").starts_with("the route to backup goes through team0, an interface stacked on eth1, eth2 (a team?); kdumpbox does not build teams or other stacked interfaces"));

    // The planning of both network targets goes through the check.
    auto plan = sample_plan();
    plan.interface_name = "bond0";
    auto refused = core::plan_target_network("backup.example", "ssh root@backup.example", plan, sys.path);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().starts_with("the route to backup.example goes through bond0, a bond"));
}

TEST_CASE("ssh target planning: host keys recorded, key pair present, files for the initramfs")
{
    Scratch dir;
    // ECDSA P-256 and Ed25519 public keys (valid blobs).
    std::string ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAnFoahv23XQQSm+zlgN29VqW6ONBv5QVZtA575uLgEpodTJdCE6tdtI6uFQsjTTaCWDaqhYgDCETN/Q0dR+MwI=";
    std::string ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINhXVHibDl3tmIxHRf+rwGMImKWmFj6l2ETfwm7s2VQp";
    core::KdumpConfig config = core::parse_kdump_conf("ssh kdump@backup\nssh_port 2222\nsshkey " + dir.path + "/id\n", "kdump.conf").value();
    core::SshHostInputs inputs;
    inputs.known_hosts_files = { dir.path + "/propagated", dir.path + "/root_known_hosts" };
    inputs.network = sample_plan();
    inputs.sysfs = dir.path + "/nosys";

    SUBCASE("no host key recorded: refused with 'kdump propagate'")
    {
        dir.write("root_known_hosts", "backup " + ecdsa + "\n"); // port 22 only
        auto refused = core::plan_ssh_capture(config, inputs);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message().find("no host key of [backup]:2222 is recorded") == 0);
        CHECK(refused.error().message().find("run 'kdump propagate' to record it") != std::string::npos);
    }
    SUBCASE("only an Ed25519 host key: ENOTSUP naming it")
    {
        dir.write("propagated", "[backup]:2222 " + ed25519 + "\n");
        auto refused = core::plan_ssh_capture(config, inputs);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().errno_code() == ENOTSUP);
        CHECK(refused.error().message().find("ssh-ed25519") != std::string::npos);
    }
    SUBCASE("recorded, but the key is missing: refused with the fix")
    {
        dir.write("propagated", "[backup]:2222 " + ecdsa + "\n");
        auto refused = core::plan_ssh_capture(config, inputs);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message().find("sshkey " + dir.path + "/id does not exist; run 'kdump propagate'") == 0);
        dir.write("id", "PRIVATE");
        auto no_public = core::plan_ssh_capture(config, inputs);
        REQUIRE_FALSE(no_public.ok());
        CHECK(no_public.error().message().find("ssh-keygen -y -f " + dir.path + "/id > " + dir.path + "/id.pub") != std::string::npos);
    }
    SUBCASE("everything there: the plan, the host's lines only, key files, /etc/hosts for a name")
    {
        dir.write("propagated", "other " + ecdsa + "\n[backup]:2222 " + ecdsa + " comment\n");
        dir.write("root_known_hosts", "[backup]:2222 " + ecdsa + "\n");
        // A key in ssh-keygen's default (OpenSSH) format: converted to PEM.
        if (test_support::run_output("command -v ssh-keygen").empty())
            SKIP_TEST("ssh-keygen not installed");
        REQUIRE(std::system(("ssh-keygen -q -t rsa -b 2048 -N '' -C kdump -f " + dir.path + "/id >/dev/null 2>&1").c_str()) == 0);
        auto plan = core::plan_ssh_capture(config, inputs);
        REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? std::string() : plan.error().message()));
        CHECK(plan->known_hosts_source == dir.path + "/propagated");
        CHECK(plan->known_hosts == "[backup]:2222 " + ecdsa + "\n");
        std::vector<std::string> paths;
        for (auto const& file : plan->files)
            paths.push_back(file.path);
        CHECK(paths == std::vector<std::string> { "/etc/kdumpbox/network", "/etc/hosts", "/etc/kdumpbox/known_hosts", dir.path + "/id", dir.path + "/id.pub" });
        CHECK(plan->files[3].permissions == 0600);
        CHECK(plan->files[3].source_path.empty());
        CHECK(plan->files[3].data.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        CHECK(plan->files[3].reason.find("converted from the OpenSSH format") != std::string::npos);
        CHECK(plan->key.file_format == core::SshKeyFileFormat::OpenSsh);
        CHECK(plan->files[4].source_path == dir.path + "/id.pub");
        CHECK(plan->files[1].data == "192.168.7.9 backup\n");
        CHECK(core::parse_network_plan(plan->files[0].data, "n").value() == sample_plan());
    }
    SUBCASE("an Ed25519 key, a key with a passphrase, a .pub of another key: refused at start")
    {
        if (test_support::run_output("command -v ssh-keygen").empty())
            SKIP_TEST("ssh-keygen not installed");
        dir.write("propagated", "[backup]:2222 " + ecdsa + "\n");
        std::string id = dir.path + "/id";
        auto keygen = [&](std::string const& args) { REQUIRE(std::system(("rm -f " + id + " " + id + ".pub; ssh-keygen -q -C kdump " + args + " -f " + id + " >/dev/null 2>&1").c_str()) == 0); };
        keygen("-t ed25519 -N ''");
        auto ed25519_key = core::plan_ssh_capture(config, inputs);
        REQUIRE_FALSE(ed25519_key.ok());
        CHECK(ed25519_key.error().message().find("sshkey " + id + " is an Ed25519 key, which kdumpbox cannot use") == 0);
        keygen("-t rsa -b 2048 -N secret");
        auto locked = core::plan_ssh_capture(config, inputs);
        REQUIRE_FALSE(locked.ok());
        CHECK(locked.error().message().find("sshkey " + id + " has a passphrase; the capture kernel cannot ask for it") == 0);
        keygen("-t ecdsa -N ''");
        dir.write("id.pub", ecdsa + " someone-else\n");
        auto other = core::plan_ssh_capture(config, inputs);
        REQUIRE_FALSE(other.ok());
        CHECK(other.error().message().find(id + ".pub is not the public half of sshkey " + id) == 0);
    }
    SUBCASE("a hashed entry is matched and written back plain")
    {
        std::string file = dir.write("propagated", "[backup]:2222 " + ecdsa + "\n");
        REQUIRE(std::system(("ssh-keygen -q -H -f " + file + " >/dev/null 2>&1").c_str()) == 0);
        REQUIRE(core::read_text_file(file).value().starts_with("|1|"));
        auto lines = core::recorded_host_keys("backup", 2222, { file });
        REQUIRE_MESSAGE(lines.ok(), (lines.ok() ? std::string() : lines.error().message()));
        CHECK(lines.value() == "[backup]:2222 " + ecdsa + "\n");
    }
}
