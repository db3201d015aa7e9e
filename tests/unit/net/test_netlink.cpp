// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/netlink.h"
#include "core/base/strings.h"

#include <cstring>
#include <doctest.h>
#include "tests/unit/test_support.h"

#include <cerrno>
#include <random>
#include <sched.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using core::Ipv4Address;
using core::MacAddress;
namespace netlink = core::netlink;

namespace {

// The expected bytes below are written for a little-endian host (netlink is
// host order); on a big-endian host those checks are skipped.
constexpr bool little_host = netlink::host_endian == core::Endian::Little;

Ipv4Address ip(char const* text) { return Ipv4Address::parse(text).value(); }

std::vector<uint8_t> concat(std::vector<std::vector<uint8_t>> const& parts)
{
    std::vector<uint8_t> out;
    for (auto const& part : parts)
        out.insert(out.end(), part.begin(), part.end());
    return out;
}

std::vector<uint8_t> ifinfomsg(int index, uint32_t flags)
{
    std::vector<uint8_t> out(16, 0);
    core::store_uint(out.data() + 4, 4, static_cast<uint32_t>(index), netlink::host_endian);
    core::store_uint(out.data() + 8, 4, flags, netlink::host_endian);
    return out;
}

// A link as the kernel would report it in a dump.
std::vector<uint8_t> link_reply(uint32_t sequence, int index, std::string const& name, std::vector<uint8_t> const& mac, uint8_t operstate, uint8_t carrier, uint32_t flags)
{
    return netlink::MessageBuilder(netlink::NewLink, netlink::Multi, sequence)
        .fixed(ifinfomsg(index, flags))
        .attribute_string(3, name)
        .attribute(1, mac)
        .attribute_u32(4, 1500)
        .attribute(16, std::vector<uint8_t> { operstate })
        .attribute(33, std::vector<uint8_t> { carrier })
        .finish();
}

std::vector<uint8_t> route_reply(uint32_t sequence, int oif, Ipv4Address source, Ipv4Address gateway)
{
    std::vector<uint8_t> rtmsg { 2, 32, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0 };
    return netlink::MessageBuilder(netlink::NewRoute, 0, sequence)
        .fixed(rtmsg)
        .attribute_u32(15, 254)
        .attribute_ipv4(1, ip("192.0.2.7"))
        .attribute_u32(4, static_cast<uint32_t>(oif))
        .attribute_ipv4(7, source)
        .attribute_ipv4(5, gateway)
        .finish();
}

std::vector<uint8_t> error_reply(uint32_t sequence, int error, std::string const& extended = {})
{
    std::vector<uint8_t> body(20, 0);
    core::store_uint(body.data(), 4, static_cast<uint32_t>(-error), netlink::host_endian);
    core::store_uint(body.data() + 4, 4, 16, netlink::host_endian); // the echoed request header
    core::store_uint(body.data() + 12, 4, sequence, netlink::host_endian);
    uint16_t flags = netlink::Capped;
    netlink::MessageBuilder builder(netlink::ErrorMessage, 0, sequence);
    builder.fixed(body);
    if (!extended.empty()) {
        flags |= netlink::AckTlvs;
        builder.attribute_string(1, extended);
    }
    auto bytes = builder.finish();
    core::store_uint(bytes.data() + 6, 2, flags, netlink::host_endian);
    return bytes;
}

} // namespace

TEST_CASE("netlink: IPv4 and MAC addresses parse strictly and print back")
{
    CHECK(ip("10.0.2.15").value == 0x0a00020fu);
    CHECK(ip("10.0.2.15").to_string() == "10.0.2.15");
    CHECK(ip("255.255.255.255").value == 0xffffffffu);
    for (char const* bad : { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "01.2.3.4", "a.b.c.d", "1.2.3.4 " })
        CHECK_FALSE(Ipv4Address::parse(bad).ok());
    CHECK(core::prefix_length_of_mask(ip("255.255.255.0")).value() == 24);
    CHECK(core::prefix_length_of_mask(ip("0.0.0.0")).value() == 0);
    CHECK(core::prefix_length_of_mask(ip("255.255.255.255")).value() == 32);
    CHECK_FALSE(core::prefix_length_of_mask(ip("255.0.255.0")).ok());
    CHECK(core::mask_of_prefix_length(20).to_string() == "255.255.240.0");
    CHECK(core::mask_of_prefix_length(0).value == 0);

    auto mac = MacAddress::parse("52:54:00:12:34:5A").value();
    CHECK(mac.bytes == std::array<uint8_t, 6> { 0x52, 0x54, 0x00, 0x12, 0x34, 0x5a });
    CHECK(mac.to_string() == "52:54:00:12:34:5a");
    CHECK(MacAddress::parse("52-54-00-12-34-5a").ok());
    CHECK_FALSE(MacAddress::parse("52:54:00:12:34").ok());
    CHECK_FALSE(MacAddress::parse("52:54:00:12:34:5g").ok());
    CHECK_FALSE(MacAddress::parse("52:54:00:12:34:5a:").ok());
}

TEST_CASE("netlink: built requests match the uapi layout byte for byte")
{
    if constexpr (!little_host)
        return;
    SUBCASE("RTM_NEWLINK sets IFF_UP: nlmsghdr 16 + ifinfomsg 16")
    {
        std::vector<uint8_t> expected {
            32, 0, 0, 0, 16, 0, 0x05, 0x00, 7, 0, 0, 0, 0, 0, 0, 0, // len, RTM_NEWLINK, REQUEST|ACK, seq 7, pid 0
            0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,        // AF_UNSPEC, index 3, flags IFF_UP, change IFF_UP
        };
        CHECK(netlink::build_set_link_up(7, 3) == expected);
    }
    SUBCASE("RTM_GETLINK dump")
    {
        std::vector<uint8_t> expected {
            32, 0, 0, 0, 18, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        };
        CHECK(netlink::build_get_links(1) == expected);
    }
    SUBCASE("RTM_NEWADDR: ifaddrmsg 8, then IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST")
    {
        std::vector<uint8_t> expected {
            48, 0, 0, 0, 20, 0, 0x05, 0x05, 9, 0, 0, 0, 0, 0, 0, 0, // REQUEST|ACK|REPLACE|CREATE
            2, 24, 0, 0, 2, 0, 0, 0,                                // AF_INET /24 flags 0 scope universe, index 2
            8, 0, 2, 0, 10, 0, 2, 15,
            8, 0, 1, 0, 10, 0, 2, 15,
            8, 0, 4, 0, 10, 0, 2, 255,
        };
        CHECK(netlink::build_add_ipv4_address(9, 2, ip("10.0.2.15"), 24) == expected);
        // /32 has no broadcast; loopback addresses get host scope.
        auto host = netlink::build_add_ipv4_address(9, 1, ip("127.0.0.2"), 32);
        CHECK(host.size() == 40);
        CHECK(host[16 + 3] == 254);
    }
    SUBCASE("RTM_NEWROUTE default via gateway: rtmsg 12, RTA_GATEWAY, RTA_OIF")
    {
        std::vector<uint8_t> expected {
            44, 0, 0, 0, 24, 0, 0x05, 0x05, 4, 0, 0, 0, 0, 0, 0, 0,
            2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0, // AF_INET dst_len 0, main table, boot, universe, unicast
            8, 0, 5, 0, 10, 0, 2, 2,
            8, 0, 4, 0, 2, 0, 0, 0,
        };
        netlink::RouteSpec route;
        route.gateway = ip("10.0.2.2");
        route.ifindex = 2;
        CHECK(netlink::build_add_ipv4_route(4, route) == expected);
    }
    SUBCASE("RTM_NEWROUTE to an on-link prefix masks the destination")
    {
        netlink::RouteSpec route;
        route.destination = ip("192.168.7.99");
        route.prefix_length = 24;
        route.ifindex = 5;
        std::vector<uint8_t> expected {
            44, 0, 0, 0, 24, 0, 0x05, 0x05, 4, 0, 0, 0, 0, 0, 0, 0,
            2, 24, 0, 0, 254, 3, 253, 1, 0, 0, 0, 0, // link scope
            8, 0, 1, 0, 192, 168, 7, 0,
            8, 0, 4, 0, 5, 0, 0, 0,
        };
        CHECK(netlink::build_add_ipv4_route(4, route) == expected);
    }
    SUBCASE("RTM_GETROUTE, as ip route get")
    {
        std::vector<uint8_t> expected {
            36, 0, 0, 0, 26, 0, 0x05, 0x00, 11, 0, 0, 0, 0, 0, 0, 0,
            2, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            8, 0, 1, 0, 10, 0, 2, 2,
        };
        CHECK(netlink::build_get_route(11, ip("10.0.2.2")) == expected);
    }
    SUBCASE("attributes are padded to 4 bytes, their length excludes the padding")
    {
        auto bytes = netlink::MessageBuilder(netlink::NewLink, 0, 0).attribute_string(3, "eth0").attribute(1, std::vector<uint8_t> { 0xaa }).finish();
        std::vector<uint8_t> expected {
            36, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            9, 0, 3, 0, 'e', 't', 'h', '0', 0, 0, 0, 0,
            5, 0, 1, 0, 0xaa, 0, 0, 0,
        };
        CHECK(bytes == expected);
    }
}

TEST_CASE("netlink: replies parse into links, routes and errors")
{
    auto datagram = concat({
        link_reply(5, 1, "lo", { 0, 0, 0, 0, 0, 0 }, 0, 1, 0x10049),
        link_reply(5, 2, "eth0", { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, 6, 1, 0x11043),
        netlink::MessageBuilder(netlink::Done, netlink::Multi, 5).fixed(std::vector<uint8_t>(4, 0)).finish(),
    });
    auto messages = netlink::parse_messages(datagram);
    REQUIRE(messages.ok());
    REQUIRE(messages->size() == 3);
    CHECK((*messages)[2].type == netlink::Done);
    auto eth0 = netlink::parse_link((*messages)[1]);
    REQUIRE(eth0.ok());
    CHECK(eth0->ifindex == 2);
    CHECK(eth0->name == "eth0");
    REQUIRE(eth0->mac.has_value());
    CHECK(eth0->mac->to_string() == "52:54:00:12:34:56");
    CHECK(eth0->operstate == netlink::OperState::Up);
    CHECK(eth0->carrier == true);
    CHECK(eth0->mtu == 1500);
    CHECK(eth0->is_up());
    CHECK(eth0->has_carrier());
    auto lo = netlink::parse_link((*messages)[0]);
    REQUIRE(lo.ok());
    CHECK(lo->is_loopback());
    CHECK(lo->name == "lo");

    auto route_messages = netlink::parse_messages(route_reply(6, 2, ip("10.0.2.15"), ip("10.0.2.2")));
    REQUIRE(route_messages.ok());
    REQUIRE(route_messages->size() == 1);
    auto route = netlink::parse_route(route_messages->front());
    REQUIRE(route.ok());
    CHECK(route->ifindex == 2);
    CHECK(route->preferred_source == ip("10.0.2.15"));
    CHECK(route->gateway == ip("10.0.2.2"));
    CHECK(route->destination == ip("192.0.2.7"));
    CHECK(route->destination_prefix_length == 32);
    CHECK(route->table == 254);

    auto ack = netlink::parse_messages(error_reply(7, 0)).value();
    CHECK(netlink::parse_error(ack.front()).value().error == 0);
    auto eperm = netlink::parse_messages(error_reply(7, EPERM, "Permission denied by policy")).value();
    auto eperm_reply = netlink::parse_error(eperm.front());
    REQUIRE(eperm_reply.ok());
    CHECK(eperm_reply->error == EPERM);
    CHECK(eperm_reply->extended_message == "Permission denied by policy");
    CHECK_FALSE(netlink::parse_error(messages->front()).ok()); // not an error message
}

TEST_CASE("netlink: truncated and inconsistent replies are rejected with reasons")
{
    auto link = link_reply(5, 2, "eth0", { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, 6, 1, 0x11043);
    // Every truncation: the header, ifinfomsg or an attribute no longer fits.
    for (size_t length = 4; length < link.size(); ++length) {
        std::vector<uint8_t> cut(link.begin(), link.begin() + static_cast<long>(length));
        CAPTURE(length);
        CHECK_FALSE(netlink::parse_messages(cut).ok());
        // The same bytes with nlmsg_len fixed up: now the payload is short.
        if (length >= 16) {
            core::store_uint(cut.data(), 4, static_cast<uint32_t>(length), netlink::host_endian);
            auto messages = netlink::parse_messages(cut);
            REQUIRE(messages.ok());
            auto parsed = netlink::parse_link(messages->front());
            // Cutting exactly between attributes leaves a valid, shorter link.
            if (parsed.ok())
                CHECK(parsed->ifindex == 2);
        }
    }
    CHECK(netlink::parse_messages(std::vector<uint8_t> {}).value().empty());

    auto short_length = link;
    core::store_uint(short_length.data(), 4, 8, netlink::host_endian);
    auto error = netlink::parse_messages(short_length);
    REQUIRE_FALSE(error.ok());
    CHECK(error.error().message() == "netlink reply: message at offset 0 claims length 8, below the 16-byte header");

    auto long_length = link;
    core::store_uint(long_length.data(), 4, static_cast<uint32_t>(link.size() + 4), netlink::host_endian);
    CHECK(netlink::parse_messages(long_length).error().message().find("only") != std::string::npos);

    // An attribute whose length runs past the message; one below its header.
    auto bad_attribute = link;
    core::store_uint(bad_attribute.data() + 32, 2, 200, netlink::host_endian);
    auto parsed = netlink::parse_link(netlink::parse_messages(bad_attribute).value().front());
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message() == "netlink link message: attribute 3 at offset 0 claims length 200 but only 48 bytes remain");
    core::store_uint(bad_attribute.data() + 32, 2, 2, netlink::host_endian);
    CHECK_FALSE(netlink::parse_link(netlink::parse_messages(bad_attribute).value().front()).ok());

    // An RTA_OIF of the wrong size; an rtmsg cut short.
    std::vector<uint8_t> rtmsg { 2, 32, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0 };
    auto bad_oif = netlink::MessageBuilder(netlink::NewRoute, 0, 1).fixed(rtmsg).attribute(4, std::vector<uint8_t> { 1, 2 }).finish();
    CHECK(netlink::parse_route(netlink::parse_messages(bad_oif).value().front()).error().message() == "netlink route message: attribute 4 has 2 bytes, expected 4");
    auto short_rtmsg = netlink::MessageBuilder(netlink::NewRoute, 0, 1).fixed(std::vector<uint8_t>(8, 0)).finish();
    CHECK_FALSE(netlink::parse_route(netlink::parse_messages(short_rtmsg).value().front()).ok());
    std::vector<uint8_t> huge_prefix = rtmsg;
    huge_prefix[1] = 40;
    auto bad_prefix = netlink::MessageBuilder(netlink::NewRoute, 0, 1).fixed(huge_prefix).finish();
    CHECK_FALSE(netlink::parse_route(netlink::parse_messages(bad_prefix).value().front()).ok());

    // NLMSG_ERROR: too short, a positive code, an echoed length past the end.
    auto short_error = netlink::MessageBuilder(netlink::ErrorMessage, 0, 1).fixed(std::vector<uint8_t>(4, 0)).finish();
    CHECK_FALSE(netlink::parse_error(netlink::parse_messages(short_error).value().front()).ok());
    auto positive = error_reply(1, 0);
    core::store_uint(positive.data() + 16, 4, 5, netlink::host_endian);
    CHECK_FALSE(netlink::parse_error(netlink::parse_messages(positive).value().front()).ok());
    auto uncapped = error_reply(1, EPERM, "x");
    core::store_uint(uncapped.data() + 6, 2, netlink::AckTlvs, netlink::host_endian);
    core::store_uint(uncapped.data() + 20, 4, 4000, netlink::host_endian);
    CHECK_FALSE(netlink::parse_error(netlink::parse_messages(uncapped).value().front()).ok());
}

TEST_CASE("netlink: random and mutated replies never crash the parsers")
{
    std::mt19937 random(20261201);
    auto seeds = std::vector<std::vector<uint8_t>> {
        link_reply(5, 2, "eth0", { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, 6, 1, 0x11043),
        route_reply(6, 2, ip("10.0.2.15"), ip("10.0.2.2")),
        error_reply(7, EPERM, "nope"),
    };
    unsigned accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> data;
        if (round % 4 == 0) {
            data.resize(random() % 96);
            for (auto& byte : data)
                byte = static_cast<uint8_t>(random());
        } else {
            data = seeds[random() % seeds.size()];
            int flips = 1 + static_cast<int>(random() % 4);
            for (int i = 0; i < flips; ++i)
                data[random() % data.size()] = static_cast<uint8_t>(random());
            if (random() % 3 == 0)
                data.resize(random() % (data.size() + 1));
        }
        auto messages = netlink::parse_messages(data);
        if (!messages.ok())
            continue;
        for (auto const& message : *messages) {
            accepted += netlink::parse_link(message).ok();
            accepted += netlink::parse_route(message).ok();
            accepted += netlink::parse_error(message).ok();
        }
    }
    CHECK(accepted > 0);
}

namespace {

// Runs in a child inside a fresh network namespace; returns a report line.
std::string exercise_namespace()
{
    auto socket = core::NetlinkSocket::open();
    if (!socket.ok())
        return "FAIL " + socket.error().message();
    auto links = socket->list_links();
    if (!links.ok())
        return "FAIL " + links.error().message();
    int lo = 0;
    for (auto const& link : *links)
        if (link.name == "lo")
            lo = link.ifindex;
    if (lo == 0)
        return "FAIL no lo in the new namespace";
    if (auto up = socket->set_link_up(lo); !up.ok())
        return "FAIL " + up.error().message();
    if (auto carrier = socket->wait_for_carrier(lo, 2000); !carrier.ok())
        return "FAIL " + carrier.error().message();
    if (auto added = socket->add_ipv4_address(lo, ip("10.9.8.7"), 24); !added.ok())
        return "FAIL " + added.error().message();
    // Replacing the same address is not an error (DHCP renewals do this).
    if (auto again = socket->add_ipv4_address(lo, ip("10.9.8.7"), 24); !again.ok())
        return "FAIL " + again.error().message();
    if (auto route = socket->add_default_route(ip("10.9.8.1"), lo); !route.ok())
        return "FAIL " + route.error().message();
    auto by_name = socket->find_link_by_name("lo");
    if (!by_name.ok() || !by_name->is_up())
        return "FAIL lo is not up after set_link_up";
    auto loopback = socket->route_to(ip("127.0.0.1"));
    if (!loopback.ok())
        return "FAIL " + loopback.error().message();
    auto local = socket->route_to(ip("10.9.8.20"));
    if (!local.ok())
        return "FAIL " + local.error().message();
    auto remote = socket->route_to(ip("192.0.2.1"));
    if (!remote.ok())
        return "FAIL " + remote.error().message();
    auto missing = socket->find_link_by_mac(MacAddress::parse("02:00:00:00:00:99").value());
    auto unreachable = socket->add_default_route(ip("10.1.1.1"), 4242);
    return core::cat("OK ", loopback->ifname, ' ', loopback->source ? loopback->source->to_string() : "-",
        ' ', local->ifname, ' ', local->source ? local->source->to_string() : "-", ' ', local->gateway ? "gw" : "nogw",
        ' ', remote->ifname, ' ', remote->source ? remote->source->to_string() : "-", ' ', remote->gateway ? remote->gateway->to_string() : "-",
        ' ', missing.ok() ? "found" : "nomac", '|', unreachable.ok() ? "added" : unreachable.error().message());
}

} // namespace

TEST_CASE("netlink: a real namespace: lo up, address, default route, route lookups")
{
    std::string report = test_support::run_in_new_network_namespace(exercise_namespace);
    if (report.rfind("SKIP", 0) == 0) {
        SKIP_TEST("the namespace test needs root: " + report);
    }
    CAPTURE(report);
    // Through lo the kernel answers with a local route and no gateway.
    CHECK(report.rfind("OK lo 127.0.0.1 lo 10.9.8.7 nogw lo 10.9.8.7 - nomac|", 0) == 0);
    // Kernel errors name the operation, then errno, then the extended ACK.
    // strerror's own text: glibc "Network is unreachable", musl "Network unreachable".
    CHECK(report.find(std::string("|adding the default route via 10.1.1.1 dev link 4242: ") + std::strerror(ENETUNREACH)) != std::string::npos);
}
