// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/network.h"

#include "core/net/dhcp.h"
#include "core/system/device_modules.h"
#include "core/base/clock.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/strings.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netdb.h>
#include <sys/socket.h>
#include <thread>

namespace core {

namespace {

constexpr std::array plan_keys { "target_host", "target_address", "interface", "mac", "mode", "address", "gateway" };

// "10.0.2.15/24".
Result<std::pair<Ipv4Address, uint8_t>> parse_address_with_prefix(std::string_view text)
{
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return Error::invalid(cat("'", text, "' has no /PREFIX"));
    auto address = TRY(Ipv4Address::parse(text.substr(0, slash)));
    auto prefix = parse_u64(text.substr(slash + 1), "prefix length");
    if (!prefix.ok() || *prefix > 32)
        return Error::invalid(cat("'", text, "': the prefix length is not 0 to 32"));
    return std::pair { address, static_cast<uint8_t>(*prefix) };
}

} // namespace

std::string format_network_plan(NetworkPlan const& plan)
{
    std::string out = "# The network the dumper sets up to reach the dump target, recorded by\n"
                      "# 'kdump start' from the host's route to it.\n";
    out += cat("target_host ", plan.target_host, "\n");
    out += cat("target_address ", plan.target_address.to_string(), "\n");
    out += cat("interface ", plan.interface_name, "\n");
    out += cat("mac ", plan.mac.to_string(), "\n");
    out += cat("mode ", plan.mode == AddressMode::Dhcp ? "dhcp" : "static", "\n");
    out += cat("address ", plan.address.to_string(), "/", plan.prefix_length, "\n");
    if (plan.gateway)
        out += cat("gateway ", plan.gateway->to_string(), "\n");
    return out;
}

Result<NetworkPlan> parse_network_plan(std::string_view text, std::string_view file_name)
{
    NetworkPlan plan;
    std::vector<std::string_view> seen;
    unsigned number = 0;
    for (auto raw : split(text, '\n')) {
        ++number;
        auto line = trim(raw);
        if (line.empty() || line.starts_with('#'))
            continue;
        auto blank = line.find_first_of(" \t");
        std::string_view key = line.substr(0, blank);
        std::string_view value = blank == std::string_view::npos ? std::string_view() : trim(line.substr(blank));
        auto fail = [&](std::string_view why) { return Error::invalid(cat(file_name, ":", number, ": ", key, ": ", why, "; run 'kdump rebuild' on the host to write it again")); };
        if (std::find(plan_keys.begin(), plan_keys.end(), key) == plan_keys.end())
            return fail("unknown key");
        if (std::find(seen.begin(), seen.end(), key) != seen.end())
            return fail("given twice");
        seen.push_back(key);
        if (value.empty() && key != "interface")
            return fail("no value");
        if (key == "target_host") {
            plan.target_host = std::string(value);
        } else if (key == "target_address") {
            auto address = Ipv4Address::parse(value);
            if (!address.ok())
                return fail(address.error().message());
            plan.target_address = address.value();
        } else if (key == "interface") {
            plan.interface_name = std::string(value);
        } else if (key == "mac") {
            auto mac = MacAddress::parse(value);
            if (!mac.ok())
                return fail(mac.error().message());
            plan.mac = mac.value();
        } else if (key == "mode") {
            if (value != "static" && value != "dhcp")
                return fail(cat("'", value, "' is neither static nor dhcp"));
            plan.mode = value == "dhcp" ? AddressMode::Dhcp : AddressMode::Static;
        } else if (key == "address") {
            auto address = parse_address_with_prefix(value);
            if (!address.ok())
                return fail(address.error().message());
            plan.address = address.value().first;
            plan.prefix_length = address.value().second;
        } else if (key == "gateway") {
            auto gateway = Ipv4Address::parse(value);
            if (!gateway.ok())
                return fail(gateway.error().message());
            plan.gateway = gateway.value();
        }
    }
    for (std::string_view required : { "target_host", "target_address", "mac", "mode", "address" }) {
        if (std::find(seen.begin(), seen.end(), required) == seen.end())
            return Error::invalid(cat(file_name, ": ", required, " is missing; run 'kdump rebuild' on the host to write it again"));
    }
    return plan;
}

Result<Ipv4Address> resolve_ipv4(std::string_view host, std::string_view what)
{
    if (host.starts_with('[') || host.find(':') != std::string_view::npos)
        return Error::unsupported(cat(what, " ", host, ": IPv6 targets are not supported yet (the capture side's network set-up is IPv4 only); use an IPv4 address or a name with an A record"));
    auto literal = Ipv4Address::parse(host);
    if (literal.ok())
        return literal.value();
    addrinfo hints {};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::string name(host);
    int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
    if (rc != 0 || !found) {
        if (found)
            ::freeaddrinfo(found);
        return Error::with_code(EHOSTUNREACH, cat(what, " ", host, ": cannot resolve it to an IPv4 address (", rc == 0 ? "no address" : ::gai_strerror(rc),
            "); write its address in kdump.conf, or make sure the name resolves on the host when kdump starts"));
    }
    auto const* address = reinterpret_cast<sockaddr_in const*>(found->ai_addr);
    Ipv4Address resolved { ntohl(address->sin_addr.s_addr) };
    ::freeaddrinfo(found);
    return resolved;
}

Result<NetworkPlan> network_plan_from(std::string_view host, Ipv4Address target, RoutePath const& route,
    std::vector<netlink::LinkInfo> const& links, std::vector<netlink::AddressInfo> const& addresses)
{
    std::string what = cat("the route to the dump target ", host, " (", target.to_string(), ")");
    auto link = std::find_if(links.begin(), links.end(), [&](auto const& candidate) { return candidate.ifindex == route.ifindex; });
    if (link == links.end())
        return Error::with_code(ENODEV, cat(what, " goes through interface ", route.ifindex, ", which the kernel does not list"));
    if (link->is_loopback())
        return Error::invalid(cat(what, " goes through ", link->name, ": the target is this machine; dump to a server the crashed host can reach"));
    if (!link->mac || *link->mac == MacAddress {})
        return Error::unsupported(cat(what, " goes through ", link->name, ", which has no Ethernet MAC address (a tunnel, bond or bridge?); the capture side can only set up a plain Ethernet interface"));
    NetworkPlan plan;
    plan.target_host = std::string(host);
    plan.target_address = target;
    plan.interface_name = link->name;
    plan.mac = *link->mac;
    plan.gateway = route.gateway;
    // The route's source is the address the server will see; without one,
    // the interface's first address is what the kernel would pick.
    netlink::AddressInfo const* chosen = nullptr;
    for (auto const& address : addresses) {
        if (address.ifindex != route.ifindex || !address.local)
            continue;
        if (!chosen || (route.source && *address.local == *route.source))
            chosen = &address;
    }
    if (!chosen)
        return Error::with_code(EADDRNOTAVAIL, cat(what, " goes through ", link->name, ", which has no IPv4 address; configure the interface before 'kdump start'"));
    plan.address = *chosen->local;
    plan.prefix_length = chosen->prefix_length;
    plan.mode = chosen->is_permanent() ? AddressMode::Static : AddressMode::Dhcp;
    return plan;
}

Result<NetworkPlan> plan_network(std::string_view host)
{
    auto target = TRY(resolve_ipv4(host));
    auto netlink = TRY(NetlinkSocket::open());
    auto route = TRY(netlink.route_to(target).context(cat("dump target ", host)));
    auto links = TRY(netlink.list_links());
    auto addresses = TRY(netlink.list_ipv4_addresses());
    return network_plan_from(host, target, route, links, addresses);
}

Result<void> check_plain_interface(std::string const& sysfs, std::string_view interface_name, std::string_view host)
{
    if (interface_name.empty() || interface_name.find('/') != std::string_view::npos)
        return {};
    std::string directory = path_join(sysfs, cat("class/net/", interface_name));
    if (!is_directory(directory))
        return {};
    std::string devtype;
    if (auto uevent = read_text_file(path_join(directory, "uevent"), 64 << 10); uevent.ok()) {
        for (auto line : split(uevent.value(), '\n')) {
            if (line.starts_with("DEVTYPE="))
                devtype = std::string(trim(line.substr(8)));
        }
    }
    std::string kind, kinds; // "a bond", "bonds"
    if (is_directory(path_join(directory, "bonding")) || devtype == "bond") {
        kind = "a bond";
        kinds = "bonds";
    } else if (is_directory(path_join(directory, "bridge")) || devtype == "bridge") {
        kind = "a bridge";
        kinds = "bridges";
    } else if (devtype == "vlan") {
        kind = "a VLAN";
        kinds = "VLANs";
    } else {
        std::vector<std::string> ports;
        if (auto entries = list_directory(directory); entries.ok()) {
            for (auto const& entry : entries.value()) {
                if (entry.starts_with("lower_"))
                    ports.push_back(entry.substr(6));
            }
        }
        if (ports.empty())
            return {};
        std::sort(ports.begin(), ports.end());
        kind = cat("an interface stacked on ", join(ports, ", "), devtype.empty() ? std::string(" (a team?)") : cat(" (", devtype, ")"));
        kinds = "teams or other stacked interfaces";
    }
    return Error::unsupported(cat("the route to ", host, " goes through ", interface_name, ", ", kind, "; kdumpbox does not build ", kinds,
        " in the capture kernel yet: route ", host, " through a plain Ethernet interface, or dump to a local target"));
}

Result<NetworkTargetPlan> plan_target_network(std::string_view host, std::string_view target_text, std::optional<NetworkPlan> const& given, std::string const& sysfs)
{
    NetworkTargetPlan plan;
    plan.network = given ? *given : TRY(plan_network(host));
    TRY(check_plain_interface(sysfs, plan.network.interface_name, host));
    // A NIC whose driver sysfs does not name (built in, or virtual) needs
    // no module; extra_modules covers what this cannot see.
    if (auto modules = net_device_modules(sysfs, plan.network.interface_name); modules.ok())
        plan.nic_modules = std::move(modules).value();
    CaptureImageFile plan_file;
    plan_file.path = std::string(network_plan_path);
    plan_file.data = format_network_plan(plan.network);
    plan_file.reason = cat("network set-up for ", target_text);
    plan.files.push_back(std::move(plan_file));
    if (!Ipv4Address::parse(host).ok()) {
        CaptureImageFile hosts;
        hosts.path = "/etc/hosts";
        hosts.data = cat(plan.network.target_address.to_string(), " ", host, "\n");
        hosts.reason = cat("address of ", host);
        plan.files.push_back(std::move(hosts));
    }
    return plan;
}

Result<Ipv4Address> bring_up_network(NetworkPlan const& plan, int timeout_ms)
{
    uint64_t deadline = monotonic_ms() + static_cast<uint64_t>(std::max(timeout_ms, 0));
    auto remaining_ms = [&] { return static_cast<int>(std::max<int64_t>(static_cast<int64_t>(deadline) - static_cast<int64_t>(monotonic_ms()), 0)); };
    auto netlink = TRY(NetlinkSocket::open());
    if (auto loopback = netlink.find_link_by_name("lo"); loopback.ok())
        (void)netlink.set_link_up(loopback.value().ifindex);

    // The driver's probe makes the interface; it may come a little after
    // the module is loaded.
    netlink::LinkInfo link;
    for (;;) {
        auto found = netlink.find_link_by_mac(plan.mac);
        if (found.ok()) {
            link = std::move(found).value();
            break;
        }
        if (remaining_ms() == 0) {
            std::vector<std::string> seen;
            if (auto links = netlink.list_links(); links.ok()) {
                for (auto const& other : links.value())
                    seen.push_back(cat(other.name, other.mac ? cat(" ", other.mac->to_string()) : std::string()));
            }
            return Error::with_code(ETIMEDOUT, cat("no network interface with MAC ", plan.mac.to_string(), " (", plan.interface_name, " on the host) appeared within ", timeout_ms / 1000,
                " s (interfaces: ", seen.empty() ? std::string("none") : join(seen, ", "), "); if its driver is missing, add it with extra_modules"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    log::notice(cat("network: ", link.name, " (", plan.mac.to_string(), ") found; bringing it up"));
    TRY(netlink.set_link_up(link.ifindex));
    TRY(netlink.wait_for_carrier(link.ifindex, remaining_ms()).context(cat("waiting up to ", timeout_ms / 1000, " s for the network link")));

    if (plan.mode == AddressMode::Dhcp) {
        dhcp::RetryPolicy policy;
        policy.total_timeout_ms = static_cast<uint32_t>(std::max(remaining_ms(), 1000));
        auto lease = TRY(dhcp::acquire_lease(link.name, { plan.mac, {} }, policy).context(cat("DHCP on ", link.name)));
        log::notice(cat("network: DHCP lease ", lease.to_string()));
        TRY(dhcp::apply_lease(netlink, link.ifindex, lease));
    } else {
        TRY(netlink.add_ipv4_address(link.ifindex, plan.address, plan.prefix_length));
        // A host route, not a default one: the target is all the capture
        // kernel talks to, and the host may route other traffic elsewhere.
        if (plan.gateway)
            TRY(netlink.add_route({ .destination = plan.target_address, .prefix_length = 32, .gateway = plan.gateway, .ifindex = link.ifindex, .preferred_source = plan.address }));
        log::notice(cat("network: ", link.name, " ", plan.address.to_string(), "/", plan.prefix_length, plan.gateway ? cat(" via ", plan.gateway->to_string()) : std::string()));
    }

    for (;;) {
        auto route = netlink.route_to(plan.target_address);
        if (route.ok() && route.value().ifindex == link.ifindex) {
            auto source = route.value().source.value_or(plan.address);
            log::notice(cat("network: ", plan.target_host, " (", plan.target_address.to_string(), ") is reached from ", source.to_string(), " on ", link.name));
            return source;
        }
        if (remaining_ms() == 0)
            return Error::with_code(ETIMEDOUT, cat("no route to ", plan.target_address.to_string(), " through ", link.name, " within ", timeout_ms / 1000, " s",
                route.ok() ? cat(" (the kernel routes it through interface ", route.value().ifindex, ")") : cat(" (", route.error().message(), ")")));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

} // namespace core
