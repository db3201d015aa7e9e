// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/dhcp.h"

#include <doctest.h>
#include "tests/unit/test_support.h"

#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using core::Ipv4Address;
using core::MacAddress;
namespace dhcp = core::dhcp;

namespace {

Ipv4Address ip(char const* text) { return Ipv4Address::parse(text).value(); }

MacAddress const guest_mac { { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } };

void put32(std::vector<uint8_t>& packet, size_t offset, uint32_t value)
{
    for (int i = 0; i < 4; ++i)
        packet[offset + i] = static_cast<uint8_t>(value >> (24 - 8 * i));
}

void put_ip(std::vector<uint8_t>& options, Ipv4Address address)
{
    for (int i = 0; i < 4; ++i)
        options.push_back(static_cast<uint8_t>(address.value >> (24 - 8 * i)));
}

// A reply as a server (QEMU's slirp here) would build it: BOOTP header, then
// `options` after the cookie, padded to `total` bytes if that is larger.
std::vector<uint8_t> server_packet(uint32_t xid, Ipv4Address yiaddr, std::vector<uint8_t> const& options, size_t total = 0)
{
    std::vector<uint8_t> packet(240, 0);
    packet[0] = 2; // BOOTREPLY
    packet[1] = 1;
    packet[2] = 6;
    put32(packet, 4, xid);
    put32(packet, 16, yiaddr.value);
    put32(packet, 20, ip("10.0.2.2").value); // siaddr
    std::copy(guest_mac.bytes.begin(), guest_mac.bytes.end(), packet.begin() + 28);
    put32(packet, 236, 0x63825363);
    packet.insert(packet.end(), options.begin(), options.end());
    if (packet.size() < total)
        packet.resize(total, 0);
    return packet;
}

std::vector<uint8_t> slirp_options(uint8_t type)
{
    std::vector<uint8_t> options { 53, 1, type, 54, 4 };
    put_ip(options, ip("10.0.2.2"));
    options.insert(options.end(), { 51, 4, 0x00, 0x01, 0x51, 0x80 }); // 86400 s
    options.insert(options.end(), { 1, 4, 255, 255, 255, 0 });
    options.insert(options.end(), { 3, 4 });
    put_ip(options, ip("10.0.2.2"));
    options.insert(options.end(), { 6, 4 });
    put_ip(options, ip("10.0.2.3"));
    options.push_back(255);
    return options;
}

std::vector<uint8_t> slirp_reply(uint8_t type, uint32_t xid, size_t total = 548)
{
    return server_packet(xid, type == 6 ? Ipv4Address {} : ip("10.0.2.15"), slirp_options(type), total);
}

// The fixed BOOTP part every request of ours shares.
std::vector<uint8_t> expected_header(uint32_t xid, uint16_t secs)
{
    std::vector<uint8_t> packet(240, 0);
    packet[0] = 1;
    packet[1] = 1;
    packet[2] = 6;
    put32(packet, 4, xid);
    packet[8] = static_cast<uint8_t>(secs >> 8);
    packet[9] = static_cast<uint8_t>(secs);
    packet[10] = 0x80; // broadcast flag
    std::copy(guest_mac.bytes.begin(), guest_mac.bytes.end(), packet.begin() + 28);
    packet[236] = 99;
    packet[237] = 130;
    packet[238] = 83;
    packet[239] = 99;
    return packet;
}

} // namespace

TEST_CASE("DHCP: DISCOVER bytes: BOOTP header, cookie, options 53 61 55, end, padded to 300")
{
    auto expected = expected_header(0xdeadbeef, 3);
    expected.insert(expected.end(), {
        53, 1, 1,
        61, 7, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
        55, 7, 1, 3, 6, 15, 28, 51, 54,
        255 });
    expected.resize(300, 0);
    CHECK(dhcp::build_discover({ guest_mac, "" }, 0xdeadbeef, 3) == expected);
}

TEST_CASE("DHCP: REQUEST bytes: requested address 50, server id 54, hostname 12")
{
    auto expected = expected_header(0x01020304, 0);
    expected.insert(expected.end(), {
        53, 1, 3,
        61, 7, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
        50, 4, 10, 0, 2, 15,
        54, 4, 10, 0, 2, 2,
        12, 4, 'c', 'r', 's', 'h',
        55, 7, 1, 3, 6, 15, 28, 51, 54,
        255 });
    expected.resize(300, 0);
    CHECK(dhcp::build_request({ guest_mac, "crsh" }, 0x01020304, ip("10.0.2.15"), ip("10.0.2.2")) == expected);
}

TEST_CASE("DHCP: a slirp-style OFFER and ACK parse into a lease")
{
    auto offer = dhcp::parse_reply(slirp_reply(2, 42), 42, guest_mac);
    REQUIRE(offer.ok());
    CHECK(offer->type == dhcp::MessageType::Offer);
    CHECK(offer->your_address == ip("10.0.2.15"));
    CHECK(offer->server_id == ip("10.0.2.2"));

    auto ack = dhcp::parse_reply(slirp_reply(5, 42), 42, guest_mac);
    REQUIRE(ack.ok());
    CHECK(ack->type == dhcp::MessageType::Ack);
    CHECK(ack->subnet_mask == ip("255.255.255.0"));
    REQUIRE(ack->routers.size() == 1);
    CHECK(ack->routers[0] == ip("10.0.2.2"));
    REQUIRE(ack->dns_servers.size() == 1);
    CHECK(ack->dns_servers[0] == ip("10.0.2.3"));
    CHECK(ack->lease_seconds == 86400u);
    auto lease = dhcp::lease_from_ack(*ack, ip("10.0.2.2"));
    REQUIRE(lease.ok());
    CHECK(lease->prefix_length == 24);
    CHECK(lease->to_string() == "10.0.2.15/24 via 10.0.2.2 dns 10.0.2.3 from 10.0.2.2");
    CHECK_FALSE(dhcp::lease_from_ack(*offer, ip("10.0.2.2")).ok());

    auto nak = dhcp::parse_reply(server_packet(42, {}, { 53, 1, 6, 54, 4, 10, 0, 2, 2, 56, 3, 'n', 'o', 0, 255 }), 42, guest_mac);
    REQUIRE(nak.ok());
    CHECK(nak->type == dhcp::MessageType::Nak);
    CHECK(nak->message == "no");
}

TEST_CASE("DHCP: every truncation of an ACK is rejected")
{
    auto ack = slirp_reply(5, 7, 0); // no trailing padding: the end option is last
    REQUIRE(dhcp::parse_reply(ack, 7, guest_mac).ok());
    for (size_t length = 0; length < ack.size(); ++length) {
        CAPTURE(length);
        std::span<uint8_t const> cut(ack.data(), length);
        CHECK_FALSE(dhcp::parse_reply(cut, 7, guest_mac).ok());
    }
    CHECK(dhcp::parse_reply(std::span<uint8_t const>(ack.data(), 100), 7, guest_mac).error().message() == "DHCP packet: 100 bytes, below the 240 of the BOOTP header and cookie");
}

TEST_CASE("DHCP: wrong op, xid, MAC, cookie and bad options are refused with reasons")
{
    auto good = slirp_reply(5, 7);
    auto message = [&](std::vector<uint8_t> const& packet) {
        auto parsed = dhcp::parse_reply(packet, 7, guest_mac);
        REQUIRE_FALSE(parsed.ok());
        return parsed.error().message();
    };
    auto op = good;
    op[0] = 1;
    CHECK(message(op) == "DHCP packet: op 1 is not BOOTREPLY");
    CHECK(dhcp::parse_reply(good, 8, guest_mac).error().message() == "DHCP packet: transaction id 0x7 is not ours (0x8)");
    CHECK_FALSE(dhcp::parse_reply(good, 7, MacAddress { { 2, 0, 0, 0, 0, 1 } }).ok());
    auto cookie = good;
    cookie[239] = 0;
    CHECK(message(cookie) == "DHCP packet: magic cookie 0x63825300 is not 99.130.83.99");
    auto hardware = good;
    hardware[2] = 16;
    CHECK_FALSE(dhcp::parse_reply(hardware, 7, guest_mac).ok());

    // An option whose length runs past the packet.
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 1, 5, 6, 40, 10, 0, 2, 3 })) == "DHCP options: option 6 at offset 243 claims 40 bytes but only 4 remain");
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 1, 5, 3 })).find("has no length byte") != std::string::npos);
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 1, 5, 1, 3, 255, 255, 0, 255 })) == "DHCP option subnet mask (1) has 3 bytes, expected 4");
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 1, 5, 3, 6, 1, 2, 3, 4, 5, 6, 255 })).find("multiple of 4") != std::string::npos);
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 2, 5, 5, 255 })) == "DHCP packet: message type option has 2 bytes, expected 1");
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 1, 1, 255 })) == "DHCP packet: message type 1 is not OFFER, ACK or NAK");
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 255 })) == "DHCP packet: no message type option (53); a BOOTP reply, not DHCP");
    CHECK(message(server_packet(7, {}, { 53, 1, 5, 255 })) == "DHCP packet: DHCPACK offers no address (yiaddr 0.0.0.0)");
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 1, 2, 255 })) == "DHCP packet: DHCPOFFER has no server identifier (54)");
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 1, 5 })) == "DHCP packet: the options have no end option (255); the packet is truncated");
    CHECK(message(server_packet(7, ip("10.0.2.15"), { 53, 1, 5, 52, 1, 9, 255 })) == "DHCP packet: option overload (52) must be one byte of 1, 2 or 3");
    // A non-contiguous mask parses, but cannot become a lease.
    auto odd_mask = dhcp::parse_reply(server_packet(7, ip("10.0.2.15"), { 53, 1, 5, 1, 4, 255, 0, 255, 0, 255 }), 7, guest_mac);
    REQUIRE(odd_mask.ok());
    CHECK_FALSE(dhcp::lease_from_ack(*odd_mask, ip("10.0.2.2")).ok());
}

TEST_CASE("DHCP: option overload reads the file and sname fields; split options concatenate")
{
    // Main area: type and overload=3; file: the router; sname: the DNS server.
    auto packet = server_packet(9, ip("10.0.2.15"), { 53, 1, 5, 52, 1, 3, 54, 4, 10, 0, 2, 2, 255 });
    std::vector<uint8_t> file { 3, 4, 10, 0, 2, 2, 255 };
    std::vector<uint8_t> sname { 6, 4, 10, 0, 2, 3, 255 };
    std::copy(file.begin(), file.end(), packet.begin() + 108);
    std::copy(sname.begin(), sname.end(), packet.begin() + 44);
    auto reply = dhcp::parse_reply(packet, 9, guest_mac);
    REQUIRE(reply.ok());
    REQUIRE(reply->routers.size() == 1);
    CHECK(reply->routers[0] == ip("10.0.2.2"));
    REQUIRE(reply->dns_servers.size() == 1);
    CHECK(reply->dns_servers[0] == ip("10.0.2.3"));

    // An overloaded field without its end option is refused.
    auto unterminated = packet;
    std::fill(unterminated.begin() + 108, unterminated.begin() + 236, 0);
    CHECK(dhcp::parse_reply(unterminated, 9, guest_mac).error().message() == "DHCP packet: overloaded file field has no end option");

    // RFC 3396: two DNS option instances are one list.
    auto split = dhcp::parse_reply(server_packet(9, ip("10.0.2.15"), { 53, 1, 5, 6, 4, 1, 1, 1, 1, 6, 4, 8, 8, 8, 8, 255 }), 9, guest_mac);
    REQUIRE(split.ok());
    REQUIRE(split->dns_servers.size() == 2);
    CHECK(split->dns_servers[1] == ip("8.8.8.8"));
}

TEST_CASE("DHCP exchange: DISCOVER, OFFER, REQUEST, ACK binds")
{
    dhcp::Exchange exchange({ guest_mac, "" }, 100);
    auto step = exchange.start(5000);
    CHECK(step.action == dhcp::Action::Send);
    CHECK(step.deadline_ms == 6000);
    CHECK(step.packet == dhcp::build_discover({ guest_mac, "" }, 100, 0));
    CHECK(exchange.state() == dhcp::Exchange::State::Selecting);

    // Noise is ignored and keeps the deadline: another client's reply, an ACK while selecting.
    step = exchange.receive(slirp_reply(2, 99), 5100);
    CHECK(step.action == dhcp::Action::Wait);
    CHECK(step.deadline_ms == 6000);
    CHECK(exchange.last_ignored().find("transaction id") != std::string::npos);
    step = exchange.receive(slirp_reply(5, 100), 5100);
    CHECK(step.action == dhcp::Action::Wait);

    step = exchange.receive(slirp_reply(2, 100), 5200);
    CHECK(step.action == dhcp::Action::Send);
    CHECK(step.packet == dhcp::build_request({ guest_mac, "" }, 100, ip("10.0.2.15"), ip("10.0.2.2"), 0));
    CHECK(step.deadline_ms == 6200);
    CHECK(exchange.state() == dhcp::Exchange::State::Requesting);

    step = exchange.receive(slirp_reply(5, 100), 5300);
    CHECK(step.action == dhcp::Action::Bound);
    REQUIRE(exchange.lease().has_value());
    CHECK(exchange.lease()->to_string() == "10.0.2.15/24 via 10.0.2.2 dns 10.0.2.3 from 10.0.2.2");
    CHECK(exchange.timeout(99999).action == dhcp::Action::Bound);
}

TEST_CASE("DHCP exchange: NAK restarts from DISCOVER with a new xid, until restarts run out")
{
    dhcp::RetryPolicy policy;
    policy.max_restarts = 2;
    dhcp::Exchange exchange({ guest_mac, "" }, 500, policy);
    exchange.start(0);
    for (unsigned round = 0; round <= policy.max_restarts; ++round) {
        uint32_t xid = exchange.xid();
        CHECK(xid == 500 + round);
        REQUIRE(exchange.receive(slirp_reply(2, xid), 10).action == dhcp::Action::Send);
        // A NAK from some other server does not count.
        auto other = server_packet(xid, {}, { 53, 1, 6, 54, 4, 10, 0, 2, 99, 255 });
        CHECK(exchange.receive(other, 11).action == dhcp::Action::Wait);
        auto step = exchange.receive(slirp_reply(6, xid), 20);
        if (round < policy.max_restarts) {
            CHECK(step.action == dhcp::Action::Send);
            CHECK(exchange.state() == dhcp::Exchange::State::Selecting);
            CHECK(step.packet == dhcp::build_discover({ guest_mac, "" }, xid + 1, 0));
        } else {
            CHECK(step.action == dhcp::Action::Failed);
            REQUIRE(exchange.failure().has_value());
            CHECK(exchange.failure()->message() == "DHCP: server 10.0.2.2 refused 10.0.2.15 (DHCPNAK), and 2 restarts are used up");
        }
    }
    // A reply to the old transaction after a restart is ignored.
    dhcp::Exchange late({ guest_mac, "" }, 1);
    late.start(0);
    late.receive(slirp_reply(2, 1), 1);
    late.receive(slirp_reply(6, 1), 2);
    CHECK(late.receive(slirp_reply(2, 1), 3).action == dhcp::Action::Wait);
}

TEST_CASE("DHCP exchange: retransmits with exponential backoff, bounded tries and total time")
{
    dhcp::RetryPolicy policy; // 1 s doubling to 8 s, 4 tries, 30 s in all
    dhcp::Exchange exchange({ guest_mac, "" }, 7, policy);
    auto step = exchange.start(0);
    CHECK(step.deadline_ms == 1000);
    CHECK(exchange.timeout(500).action == dhcp::Action::Wait); // early: nothing to do
    step = exchange.timeout(1000);
    CHECK(step.action == dhcp::Action::Send);
    CHECK(step.deadline_ms == 3000);
    CHECK(step.packet[9] == 1); // secs
    step = exchange.timeout(3000);
    CHECK(step.deadline_ms == 7000);
    step = exchange.timeout(7000);
    CHECK(step.action == dhcp::Action::Send);
    CHECK(step.deadline_ms == 15000);
    step = exchange.timeout(15000);
    CHECK(step.action == dhcp::Action::Failed);
    CHECK(exchange.failure()->message() == "DHCP: no offer after 4 DHCPDISCOVERs");
    CHECK(exchange.failure()->errno_code() == ETIMEDOUT);

    // REQUEST timeouts fall back to DISCOVER; the total budget caps everything.
    dhcp::RetryPolicy tight;
    tight.total_timeout_ms = 5000;
    tight.attempts = 2;
    dhcp::Exchange stalled({ guest_mac, "" }, 70, tight);
    stalled.start(0);
    step = stalled.receive(slirp_reply(2, 70), 100);
    CHECK(step.deadline_ms == 1100);
    step = stalled.timeout(1100);
    CHECK(step.action == dhcp::Action::Send); // second REQUEST
    CHECK(step.deadline_ms == 3100);
    step = stalled.timeout(3100);
    CHECK(step.action == dhcp::Action::Send); // back to DISCOVER, new xid
    CHECK(stalled.state() == dhcp::Exchange::State::Selecting);
    CHECK(stalled.xid() == 71);
    CHECK(step.deadline_ms == 4100);
    step = stalled.timeout(4100);
    CHECK(step.deadline_ms == 5000); // clipped to the total budget
    step = stalled.timeout(5000);
    CHECK(step.action == dhcp::Action::Failed);
    CHECK(stalled.failure()->message() == "DHCP: no lease within 5000 ms");
}

TEST_CASE("DHCP: random and mutated packets never crash the parser or the exchange")
{
    std::mt19937 random(0x6b64756d);
    std::vector<std::vector<uint8_t>> seeds { slirp_reply(2, 3), slirp_reply(5, 3, 0), slirp_reply(6, 3, 0) };
    auto overloaded = server_packet(3, ip("10.0.2.15"), { 53, 1, 5, 52, 1, 3, 255 });
    overloaded[108] = 3;
    overloaded[109] = 4;
    seeds.push_back(overloaded);
    unsigned parsed = 0;
    dhcp::Exchange exchange({ guest_mac, "" }, 3);
    exchange.start(0);
    for (int round = 0; round < 30000; ++round) {
        std::vector<uint8_t> packet;
        if (round % 5 == 0) {
            // Random bytes behind a valid header, so the option parser gets them.
            packet = server_packet(3, ip("10.0.2.15"), {});
            packet.resize(240 + random() % 80);
            for (size_t i = 240; i < packet.size(); ++i)
                packet[i] = static_cast<uint8_t>(random() % 4 == 0 ? 255 : random());
        } else if (round % 5 == 1) {
            packet.resize(random() % 600);
            for (auto& byte : packet)
                byte = static_cast<uint8_t>(random());
        } else {
            packet = seeds[random() % seeds.size()];
            int flips = 1 + static_cast<int>(random() % 6);
            for (int i = 0; i < flips; ++i) {
                size_t at = 236 + random() % (packet.size() - 236); // mostly cookie and options
                if (random() % 4 == 0)
                    at = random() % packet.size();
                packet[at] = static_cast<uint8_t>(random());
            }
            if (random() % 3 == 0)
                packet.resize(random() % (packet.size() + 1));
        }
        auto reply = dhcp::parse_reply(packet, 3, guest_mac);
        if (reply.ok()) {
            ++parsed;
            (void)dhcp::lease_from_ack(*reply, ip("10.0.2.2"));
        }
        if (exchange.receive(packet, 1).action != dhcp::Action::Wait) {
            exchange = dhcp::Exchange({ guest_mac, "" }, 3);
            exchange.start(0);
        }
    }
    CHECK(parsed > 100);
}

namespace {

// A one-shot DHCP server on lo: answers one DISCOVER and one REQUEST by
// broadcast, as slirp does. Runs in a thread of the namespaced child.
void serve_once(int fd)
{
    std::vector<uint8_t> buffer(1500);
    for (uint8_t answer : { uint8_t(2), uint8_t(5) }) {
        pollfd waiting { fd, POLLIN, 0 };
        if (::poll(&waiting, 1, 3000) <= 0)
            return;
        ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (got < 240)
            return;
        uint32_t xid = static_cast<uint32_t>(core::load_uint(buffer.data() + 4, 4, core::Endian::Big));
        auto reply = slirp_reply(answer, xid);
        sockaddr_in to {};
        to.sin_family = AF_INET;
        to.sin_port = htons(dhcp::client_port);
        to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
        (void)::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
}

std::string lease_over_loopback()
{
    auto netlink = core::NetlinkSocket::open();
    if (!netlink.ok())
        return "FAIL " + netlink.error().message();
    if (auto up = netlink->set_link_up(1); !up.ok())
        return "FAIL " + up.error().message();
    int server = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int on = 1;
    ::setsockopt(server, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    ::setsockopt(server, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
    sockaddr_in local {};
    local.sin_family = AF_INET;
    local.sin_port = htons(dhcp::server_port);
    if (::bind(server, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
        return "FAIL binding the test server";
    std::thread thread(serve_once, server);
    dhcp::RetryPolicy policy;
    policy.initial_timeout_ms = 200;
    policy.total_timeout_ms = 4000;
    auto lease = dhcp::acquire_lease("lo", { guest_mac, "kdump" }, policy);
    thread.join();
    ::close(server);
    if (!lease.ok())
        return "FAIL " + lease.error().message();
    if (auto applied = dhcp::apply_lease(*netlink, 1, *lease); !applied.ok())
        return "FAIL " + applied.error().message();
    auto path = netlink->route_to(ip("10.0.2.3"));
    if (!path.ok() || !path->source)
        return "FAIL no route to the DNS server after apply_lease";
    return "OK " + lease->to_string() + " src " + path->source->to_string();
}

} // namespace

TEST_CASE("DHCP: acquire_lease and apply_lease for real (lo in a fresh namespace, a test server)")
{
    std::string report = test_support::run_in_new_network_namespace(lease_over_loopback);
    if (report.rfind("SKIP", 0) == 0) {
        SKIP_TEST("the DHCP socket test needs root: " + report);
    }
    CHECK(report == "OK 10.0.2.15/24 via 10.0.2.2 dns 10.0.2.3 from 10.0.2.2 src 10.0.2.15");
}
