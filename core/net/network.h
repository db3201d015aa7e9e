// SPDX-License-Identifier: GPL-2.0-or-later
// The network a capture kernel needs to reach a network dump target (ssh
// or nfs).
//
// `kdump start` asks the host's kernel how it reaches the target (the
// interface, its MAC, the source address and prefix, the gateway, and
// whether the address came from DHCP) and records the answer in the capture
// initramfs (network_plan_path). The dumper reads it back and repeats the
// configuration over rtnetlink, or runs the DHCP client, with no ip(8) or
// udhcpc: the interface is found by its MAC because names may differ in the
// capture kernel. IPv4 only, like core/netlink and core/dhcp.
#pragma once

#include "core/base/error.h"
#include "core/config/capture_image_file.h"
#include "core/net/netlink.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

enum class AddressMode { Static, Dhcp };

struct NetworkPlan {
    std::string target_host;    // as kdump.conf names it ("backup", "10.0.2.2")
    Ipv4Address target_address; // what it resolved to on the host
    std::string interface_name; // the host's name for it; messages only
    MacAddress mac;
    // Dhcp when the host's address has a lifetime (a DHCP lease); Static
    // otherwise, including when the host cannot tell: the address it has now
    // is then used as it is.
    AddressMode mode { AddressMode::Static };
    Ipv4Address address; // the host's source address towards the target
    uint8_t prefix_length { 32 };
    std::optional<Ipv4Address> gateway; // none: the target is on-link

    bool operator==(NetworkPlan const&) const = default;
};

// Where the initramfs keeps the plan (and the ssh and nfs files next to it).
constexpr std::string_view network_plan_path = "/etc/kdumpbox/network";
constexpr std::string_view capture_known_hosts_path = "/etc/kdumpbox/known_hosts";

// "KEY VALUE" lines, `#` comments; parse_network_plan reads back what
// format_network_plan writes and rejects unknown, repeated or missing keys,
// naming FILE:LINE.
std::string format_network_plan(NetworkPlan const& plan);
Result<NetworkPlan> parse_network_plan(std::string_view text, std::string_view file_name);

// ---- The host side (kdump start) ----

// An IPv4 literal as it is; a name through getaddrinfo (IPv4 only). IPv6
// targets are refused by name. The one resolver of both network targets
// (core/nfs uses it too): the error says to write the address in kdump.conf,
// as the capture side has no DNS. `what` starts the error ("NFS server").
Result<Ipv4Address> resolve_ipv4(std::string_view host, std::string_view what = "dump target");

// The plan from the kernel's answers, without a socket (the unit tests feed
// it): the route to the target, the links and the IPv4 addresses.
Result<NetworkPlan> network_plan_from(std::string_view host, Ipv4Address target, RoutePath const& route,
    std::vector<netlink::LinkInfo> const& links, std::vector<netlink::AddressInfo> const& addresses);
// resolve_ipv4, then route_to, links and addresses over rtnetlink.
Result<NetworkPlan> plan_network(std::string_view host);

// The capture side sets up one plain Ethernet interface. The interface
// the host routes to `host` through must be one: a bond, a bridge, a VLAN,
// or another interface stacked on ports (a team) is refused by name
// (ENOTSUP), from sysfs's class/net/NAME (bonding/, bridge/, uevent's
// DEVTYPE, lower_* links). An interface sysfs does not list passes.
Result<void> check_plain_interface(std::string const& sysfs, std::string_view interface_name, std::string_view host);

// What every network target adds to the capture initramfs, so that ssh and
// nfs plan their network one way: the plan (given, for tests, or from
// plan_network), the NIC's driver modules, and the files: the plan at
// network_plan_path and, for a host name, /etc/hosts with the address it
// has now (the capture side has no DNS). check_plain_interface refuses
// what the capture side cannot build.
struct NetworkTargetPlan {
    NetworkPlan network;
    std::vector<std::string> nic_modules; // nearest first, as net_device_modules
    std::vector<CaptureImageFile> files;
};
// target_text names the target in the files' reasons ("ssh root@backup").
Result<NetworkTargetPlan> plan_target_network(std::string_view host, std::string_view target_text, std::optional<NetworkPlan> const& given, std::string const& sysfs);

// ---- The capture side (the dumper) ----

// Brings the plan's interface up (waiting for it to appear and for
// carrier), configures it (the recorded address and a route to the target
// through the gateway, or a DHCP lease), and waits until the kernel routes
// to the target through it. Everything within timeout_ms; the error says
// which step ran out of time. Returns the source address the kernel uses
// towards the target: the <host-ip> of the dump directory.
Result<Ipv4Address> bring_up_network(NetworkPlan const& plan, int timeout_ms);

} // namespace core
