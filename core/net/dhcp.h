// SPDX-License-Identifier: GPL-2.0-or-later
// A DHCPv4 client (RFC 2131, options from RFC 2132), just enough to get an
// address, a router and DNS servers in the capture kernel. Three layers:
//  - packets: build DISCOVER/REQUEST, parse OFFER/ACK/NAK (pure, bounds-
//    checked, fuzzed in the unit tests);
//  - Exchange: the INIT -> SELECTING -> REQUESTING -> BOUND state machine,
//    driven by packets and timeouts the caller feeds in, with no I/O;
//  - acquire_lease(): the state machine over a UDP socket bound to the
//    interface, broadcasting, with bounded exponential backoff.
#pragma once

#include "core/base/error.h"
#include "core/net/netlink.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace core::dhcp {

constexpr uint16_t server_port = 67;
constexpr uint16_t client_port = 68;
constexpr size_t fixed_header_size = 236; // op .. file, before the cookie
constexpr size_t options_offset = 240;    // after the magic cookie
constexpr size_t minimum_packet_size = 300; // BOOTP's minimum; we pad to it
constexpr uint32_t magic_cookie = 0x63825363; // 99.130.83.99

enum class MessageType : uint8_t { Discover = 1, Offer = 2, Request = 3, Decline = 4, Ack = 5, Nak = 6, Release = 7, Inform = 8 };
char const* message_type_name(MessageType type);

// What the client says about itself.
struct ClientIdentity {
    MacAddress mac;
    std::string hostname; // option 12 when not empty (truncated to 255)
};

// The parameter request list sent in option 55.
constexpr uint8_t requested_parameters[] = { 1, 3, 6, 15, 28, 51, 54 };

// `secs` is seconds since the exchange began. Both set the broadcast flag:
// we cannot receive unicast before the address is configured.
std::vector<uint8_t> build_discover(ClientIdentity const& client, uint32_t xid, uint16_t secs = 0);
std::vector<uint8_t> build_request(ClientIdentity const& client, uint32_t xid, Ipv4Address requested, Ipv4Address server, uint16_t secs = 0);

// A decoded server reply. Multi-address options keep every address.
struct Reply {
    MessageType type { MessageType::Nak };
    uint32_t xid { 0 };
    Ipv4Address your_address;            // yiaddr
    Ipv4Address server_address;          // siaddr
    std::optional<Ipv4Address> server_id; // option 54
    std::optional<Ipv4Address> subnet_mask; // 1
    std::vector<Ipv4Address> routers;    // 3
    std::vector<Ipv4Address> dns_servers; // 6
    std::string domain_name;             // 15
    std::string host_name;               // 12
    std::optional<Ipv4Address> broadcast; // 28
    std::optional<uint16_t> mtu;         // 26
    std::optional<uint32_t> lease_seconds; // 51
    std::string message;                 // 56, mostly sent with NAK
};

// Rejects: packets shorter than 240 bytes, op other than BOOTREPLY, a
// hardware type/length other than Ethernet, an xid or chaddr not ours, a
// wrong cookie, options running past their area or lacking the end option,
// malformed option lengths, a missing or client-side message type.
// Option overload (52) is honoured: the file and then the sname field are
// read as further option areas (each must end with the end option).
// Split options (RFC 3396) are concatenated.
Result<Reply> parse_reply(std::span<uint8_t const> packet, uint32_t expected_xid, MacAddress const& expected_mac);

struct Lease {
    Ipv4Address address;
    uint8_t prefix_length { 24 };
    std::optional<Ipv4Address> router;
    std::vector<Ipv4Address> dns_servers;
    Ipv4Address server;
    std::string domain_name;
    std::optional<uint16_t> mtu;
    uint32_t lease_seconds { 0 }; // 0xffffffff: infinite
    std::string to_string() const; // "10.0.2.15/24 via 10.0.2.2 dns 10.0.2.3 from 10.0.2.2"
};
// An ACK (plus the OFFER's server id if the ACK lacks one) as a lease; the
// prefix comes from the mask, or the address class if there is none.
Result<Lease> lease_from_ack(Reply const& ack, Ipv4Address server);

struct RetryPolicy {
    uint32_t initial_timeout_ms { 1000 }; // doubled after each try ...
    uint32_t max_timeout_ms { 8000 };    // ... up to this
    unsigned attempts { 4 };              // sends per phase (DISCOVER, REQUEST)
    unsigned max_restarts { 3 };          // NAKs / REQUEST timeouts before giving up
    uint32_t total_timeout_ms { 30000 };  // the whole exchange, hard bound
};

enum class Action {
    Send,   // transmit `packet`, then wait until `deadline_ms`
    Wait,   // nothing to send; keep waiting until `deadline_ms`
    Bound,  // lease() holds the lease
    Failed, // failure() says why
};

struct Step {
    Action action { Action::Wait };
    std::vector<uint8_t> packet;
    uint64_t deadline_ms { 0 };
};

// Times are milliseconds on any monotonic clock the caller likes.
class Exchange {
public:
    enum class State { Init, Selecting, Requesting, Bound, Failed };

    Exchange(ClientIdentity client, uint32_t first_xid, RetryPolicy policy = {});

    Step start(uint64_t now_ms);
    // A datagram arrived. Packets not for us (other xid, MAC, wrong type for
    // the state, corrupt) are ignored: Wait with the current deadline, and
    // last_ignored() says why.
    Step receive(std::span<uint8_t const> packet, uint64_t now_ms);
    // Call at (or after) the deadline: retransmits with backoff, restarts a
    // stalled REQUEST from DISCOVER, or fails once the budget is spent.
    Step timeout(uint64_t now_ms);

    State state() const { return m_state; }
    uint32_t xid() const { return m_xid; }
    unsigned restarts() const { return m_restarts; }
    std::optional<Lease> const& lease() const { return m_lease; }
    std::optional<Error> const& failure() const { return m_failure; }
    std::string const& last_ignored() const { return m_last_ignored; }

private:
    Step send_discover(uint64_t now_ms, bool first_in_phase);
    Step send_request(uint64_t now_ms, bool first_in_phase);
    Step restart(uint64_t now_ms, std::string_view why);
    Step fail(Error error);
    Step wait() const;
    uint64_t next_deadline(uint64_t now_ms);
    uint16_t secs(uint64_t now_ms) const;

    ClientIdentity m_client;
    RetryPolicy m_policy;
    State m_state { State::Init };
    uint32_t m_xid;
    uint64_t m_started_ms { 0 };
    uint64_t m_deadline_ms { 0 };
    unsigned m_tries_in_phase { 0 };
    uint32_t m_current_timeout_ms { 0 };
    unsigned m_restarts { 0 };
    std::vector<uint8_t> m_last_sent;
    Ipv4Address m_offered;
    Ipv4Address m_server;
    std::optional<Lease> m_lease;
    std::optional<Error> m_failure;
    std::string m_last_ignored;
};

// Runs an Exchange on `ifname` (which must be up) over a broadcast UDP
// socket bound to the device (SO_BINDTODEVICE, port 68).
Result<Lease> acquire_lease(std::string const& ifname, ClientIdentity const& client, RetryPolicy policy = {});

// Configures a lease: address/prefix on ifindex, then the default route via
// the router, if any. DNS is left to the caller.
Result<void> apply_lease(NetlinkSocket& netlink, int ifindex, Lease const& lease);

} // namespace core::dhcp
