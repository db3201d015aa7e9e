// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/dhcp.h"

#include "core/base/bytes.h"
#include "core/base/clock.h"
#include "core/base/fd.h"
#include "core/base/log.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

namespace core::dhcp {

namespace {
constexpr uint8_t op_request = 1;
constexpr uint8_t op_reply = 2;
constexpr uint8_t htype_ethernet = 1;
constexpr uint8_t hlen_ethernet = 6;
constexpr uint16_t flag_broadcast = 0x8000;
constexpr size_t chaddr_offset = 28;
constexpr size_t sname_offset = 44;
constexpr size_t sname_size = 64;
constexpr size_t file_offset = 108;
constexpr size_t file_size = 128;

enum Option : uint8_t {
    Pad = 0,
    SubnetMask = 1,
    Router = 3,
    DnsServer = 6,
    HostName = 12,
    DomainName = 15,
    InterfaceMtu = 26,
    BroadcastAddress = 28,
    RequestedAddress = 50,
    LeaseTime = 51,
    Overload = 52,
    MessageTypeOption = 53,
    ServerId = 54,
    ParameterList = 55,
    MessageText = 56,
    ClientId = 61,
    End = 255,
};
} // namespace

char const* message_type_name(MessageType type)
{
    switch (type) {
    case MessageType::Discover: return "DHCPDISCOVER";
    case MessageType::Offer: return "DHCPOFFER";
    case MessageType::Request: return "DHCPREQUEST";
    case MessageType::Decline: return "DHCPDECLINE";
    case MessageType::Ack: return "DHCPACK";
    case MessageType::Nak: return "DHCPNAK";
    case MessageType::Release: return "DHCPRELEASE";
    case MessageType::Inform: return "DHCPINFORM";
    }
    return "DHCP message of unknown type";
}

// ---- building -----------------------------------------------------------

namespace {

class OptionWriter {
public:
    explicit OptionWriter(ByteWriter& writer) : m_writer(writer) { }
    void option(uint8_t code, std::span<uint8_t const> data)
    {
        m_writer.put_u8(m_offset, code);
        m_writer.put_u8(m_offset + 1, static_cast<uint8_t>(data.size()));
        m_writer.put_bytes(m_offset + 2, data);
        m_offset += 2 + data.size();
    }
    void option_ipv4(uint8_t code, Ipv4Address address)
    {
        auto bytes = address.bytes();
        option(code, bytes);
    }
    void end()
    {
        m_writer.put_u8(m_offset, End);
        m_offset += 1;
        if (m_offset < minimum_packet_size)
            m_writer.resize(minimum_packet_size); // zero = pad option
    }

private:
    ByteWriter& m_writer;
    size_t m_offset { options_offset };
};

std::vector<uint8_t> build_packet(ClientIdentity const& client, uint32_t xid, uint16_t secs, MessageType type, std::optional<Ipv4Address> requested, std::optional<Ipv4Address> server)
{
    ByteWriter writer(Endian::Big);
    writer.put_u8(0, op_request);
    writer.put_u8(1, htype_ethernet);
    writer.put_u8(2, hlen_ethernet);
    writer.put_u8(3, 0); // hops
    writer.put_u32(4, xid);
    writer.put_u16(8, secs);
    writer.put_u16(10, flag_broadcast);
    // ciaddr, yiaddr, siaddr, giaddr stay zero.
    writer.put_bytes(chaddr_offset, client.mac.bytes);
    writer.resize(fixed_header_size); // sname and file: zero
    writer.put_u32(fixed_header_size, magic_cookie);

    OptionWriter options(writer);
    uint8_t type_byte = static_cast<uint8_t>(type);
    options.option(MessageTypeOption, { &type_byte, 1 });
    uint8_t client_id[7] = { htype_ethernet };
    std::copy(client.mac.bytes.begin(), client.mac.bytes.end(), client_id + 1);
    options.option(ClientId, client_id);
    if (requested)
        options.option_ipv4(RequestedAddress, *requested);
    if (server)
        options.option_ipv4(ServerId, *server);
    if (!client.hostname.empty()) {
        std::string_view name = client.hostname;
        name = name.substr(0, 255);
        options.option(HostName, { reinterpret_cast<uint8_t const*>(name.data()), name.size() });
    }
    options.option(ParameterList, requested_parameters);
    options.end();
    auto bytes = writer.bytes();
    return { bytes.begin(), bytes.end() };
}

} // namespace

std::vector<uint8_t> build_discover(ClientIdentity const& client, uint32_t xid, uint16_t secs)
{
    return build_packet(client, xid, secs, MessageType::Discover, std::nullopt, std::nullopt);
}

std::vector<uint8_t> build_request(ClientIdentity const& client, uint32_t xid, Ipv4Address requested, Ipv4Address server, uint16_t secs)
{
    return build_packet(client, xid, secs, MessageType::Request, requested, server);
}

// ---- parsing ------------------------------------------------------------

namespace {

struct OptionSet {
    // Index by code; RFC 3396 says repeated codes concatenate.
    std::array<std::optional<std::vector<uint8_t>>, 256> values;
};

Result<void> read_option_area(ByteReader const& packet, uint64_t start, uint64_t size, std::string_view area, OptionSet& options, bool& saw_end)
{
    uint64_t offset = start;
    uint64_t limit = start + size;
    saw_end = false;
    while (offset < limit) {
        uint8_t code = TRY(packet.u8(offset));
        if (code == Pad) {
            offset += 1;
            continue;
        }
        if (code == End) {
            saw_end = true;
            return {};
        }
        if (limit - offset < 2)
            return Error::invalid(cat("DHCP ", area, ": option ", code, " at offset ", offset, " has no length byte"));
        uint8_t length = TRY(packet.u8(offset + 1));
        if (length > limit - offset - 2)
            return Error::invalid(cat("DHCP ", area, ": option ", code, " at offset ", offset, " claims ", length, " bytes but only ", limit - offset - 2, " remain"));
        auto data = TRY(packet.bytes(offset + 2, length));
        auto& slot = options.values[code];
        if (!slot)
            slot.emplace();
        slot->insert(slot->end(), data.begin(), data.end());
        offset += 2 + length;
    }
    return {};
}

Result<Ipv4Address> single_address(std::vector<uint8_t> const& data, std::string_view name)
{
    if (data.size() != 4)
        return Error::invalid(cat("DHCP option ", name, " has ", data.size(), " bytes, expected 4"));
    return Ipv4Address::from_bytes(std::span<uint8_t const, 4>(data.data(), 4));
}

Result<std::vector<Ipv4Address>> address_list(std::vector<uint8_t> const& data, std::string_view name)
{
    if (data.empty() || data.size() % 4 != 0)
        return Error::invalid(cat("DHCP option ", name, " has ", data.size(), " bytes, expected a non-empty multiple of 4"));
    std::vector<Ipv4Address> addresses;
    for (size_t i = 0; i < data.size(); i += 4)
        addresses.push_back(Ipv4Address::from_bytes(std::span<uint8_t const, 4>(data.data() + i, 4)));
    return addresses;
}

std::string text_option(std::vector<uint8_t> const& data)
{
    std::string text(data.begin(), data.end());
    // Some servers NUL-terminate; keep what precedes the NUL.
    auto nul = text.find('\0');
    if (nul != std::string::npos)
        text.resize(nul);
    return text;
}

} // namespace

Result<Reply> parse_reply(std::span<uint8_t const> bytes, uint32_t expected_xid, MacAddress const& expected_mac)
{
    ByteReader packet(bytes, Endian::Big, "DHCP packet");
    if (bytes.size() < options_offset)
        return Error::invalid(cat("DHCP packet: ", bytes.size(), " bytes, below the 240 of the BOOTP header and cookie"));
    uint8_t op = TRY(packet.u8(0));
    if (op != op_reply)
        return Error::invalid(cat("DHCP packet: op ", op, " is not BOOTREPLY"));
    uint8_t htype = TRY(packet.u8(1));
    uint8_t hlen = TRY(packet.u8(2));
    if (htype != htype_ethernet || hlen != hlen_ethernet)
        return Error::invalid(cat("DHCP packet: hardware type ", htype, "/length ", hlen, " is not Ethernet"));
    uint32_t xid = TRY(packet.u32(4));
    if (xid != expected_xid)
        return Error::invalid(cat("DHCP packet: transaction id ", hex(xid), " is not ours (", hex(expected_xid), ")"));
    auto chaddr = TRY(packet.bytes(chaddr_offset, 6));
    if (!std::equal(chaddr.begin(), chaddr.end(), expected_mac.bytes.begin()))
        return Error::invalid("DHCP packet: client hardware address is not ours");
    uint32_t cookie = TRY(packet.u32(fixed_header_size));
    if (cookie != magic_cookie)
        return Error::invalid(cat("DHCP packet: magic cookie ", hex(cookie), " is not 99.130.83.99"));

    Reply reply;
    reply.xid = xid;
    reply.your_address = { TRY(packet.u32(16)) };
    reply.server_address = { TRY(packet.u32(20)) };

    OptionSet options;
    bool saw_end = false;
    TRY(read_option_area(packet, options_offset, bytes.size() - options_offset, "options", options, saw_end));
    if (!saw_end)
        return Error::invalid("DHCP packet: the options have no end option (255); the packet is truncated");
    // Option overload (RFC 2132 9.3): file first, then sname.
    if (auto const& overload = options.values[Overload]) {
        if (overload->size() != 1 || (*overload)[0] < 1 || (*overload)[0] > 3)
            return Error::invalid("DHCP packet: option overload (52) must be one byte of 1, 2 or 3");
        uint8_t which = (*overload)[0];
        options.values[Overload].reset();
        if (which & 1) {
            TRY(read_option_area(packet, file_offset, file_size, "file field options", options, saw_end));
            if (!saw_end)
                return Error::invalid("DHCP packet: overloaded file field has no end option");
        }
        if (which & 2) {
            TRY(read_option_area(packet, sname_offset, sname_size, "sname field options", options, saw_end));
            if (!saw_end)
                return Error::invalid("DHCP packet: overloaded sname field has no end option");
        }
        if (options.values[Overload])
            return Error::invalid("DHCP packet: option overload inside an overloaded field");
    }

    auto const& type = options.values[MessageTypeOption];
    if (!type)
        return Error::invalid("DHCP packet: no message type option (53); a BOOTP reply, not DHCP");
    if (type->size() != 1)
        return Error::invalid(cat("DHCP packet: message type option has ", type->size(), " bytes, expected 1"));
    uint8_t type_value = (*type)[0];
    if (type_value != static_cast<uint8_t>(MessageType::Offer) && type_value != static_cast<uint8_t>(MessageType::Ack) && type_value != static_cast<uint8_t>(MessageType::Nak))
        return Error::invalid(cat("DHCP packet: message type ", type_value, " is not OFFER, ACK or NAK"));
    reply.type = static_cast<MessageType>(type_value);

    if (auto const& value = options.values[ServerId])
        reply.server_id = TRY(single_address(*value, "server identifier (54)"));
    if (auto const& value = options.values[SubnetMask])
        reply.subnet_mask = TRY(single_address(*value, "subnet mask (1)"));
    if (auto const& value = options.values[Router])
        reply.routers = TRY(address_list(*value, "router (3)"));
    if (auto const& value = options.values[DnsServer])
        reply.dns_servers = TRY(address_list(*value, "DNS server (6)"));
    if (auto const& value = options.values[BroadcastAddress])
        reply.broadcast = TRY(single_address(*value, "broadcast address (28)"));
    if (auto const& value = options.values[LeaseTime]) {
        if (value->size() != 4)
            return Error::invalid(cat("DHCP option lease time (51) has ", value->size(), " bytes, expected 4"));
        reply.lease_seconds = static_cast<uint32_t>(load_uint(value->data(), 4, Endian::Big));
    }
    if (auto const& value = options.values[InterfaceMtu]) {
        if (value->size() != 2)
            return Error::invalid(cat("DHCP option interface MTU (26) has ", value->size(), " bytes, expected 2"));
        reply.mtu = static_cast<uint16_t>(load_uint(value->data(), 2, Endian::Big));
    }
    if (auto const& value = options.values[DomainName])
        reply.domain_name = text_option(*value);
    if (auto const& value = options.values[HostName])
        reply.host_name = text_option(*value);
    if (auto const& value = options.values[MessageText])
        reply.message = text_option(*value);

    if (reply.type != MessageType::Nak && reply.your_address.value == 0)
        return Error::invalid(cat("DHCP packet: ", message_type_name(reply.type), " offers no address (yiaddr 0.0.0.0)"));
    if (reply.type == MessageType::Offer && !reply.server_id)
        return Error::invalid("DHCP packet: DHCPOFFER has no server identifier (54)");
    return reply;
}

static uint8_t classful_prefix(Ipv4Address address)
{
    uint8_t top = static_cast<uint8_t>(address.value >> 24);
    if (top < 128)
        return 8;
    if (top < 192)
        return 16;
    return 24;
}

Result<Lease> lease_from_ack(Reply const& ack, Ipv4Address server)
{
    if (ack.type != MessageType::Ack)
        return Error::invalid(cat("DHCP: expected DHCPACK, got ", message_type_name(ack.type)));
    Lease lease;
    lease.address = ack.your_address;
    lease.prefix_length = ack.subnet_mask ? TRY(prefix_length_of_mask(*ack.subnet_mask).context("DHCP subnet mask")) : classful_prefix(ack.your_address);
    if (!ack.routers.empty())
        lease.router = ack.routers.front();
    lease.dns_servers = ack.dns_servers;
    lease.server = ack.server_id.value_or(server);
    lease.domain_name = ack.domain_name;
    lease.mtu = ack.mtu;
    lease.lease_seconds = ack.lease_seconds.value_or(0);
    return lease;
}

std::string Lease::to_string() const
{
    std::string text = cat(address.to_string(), '/', prefix_length);
    if (router)
        text = cat(text, " via ", router->to_string());
    if (!dns_servers.empty()) {
        text += " dns";
        for (auto const& dns : dns_servers)
            text = cat(text, ' ', dns.to_string());
    }
    return cat(text, " from ", server.to_string());
}

// ---- state machine ------------------------------------------------------

Exchange::Exchange(ClientIdentity client, uint32_t first_xid, RetryPolicy policy)
    : m_client(std::move(client))
    , m_policy(policy)
    , m_xid(first_xid)
{
    if (m_policy.attempts == 0)
        m_policy.attempts = 1;
    if (m_policy.initial_timeout_ms == 0)
        m_policy.initial_timeout_ms = 1;
    if (m_policy.max_timeout_ms < m_policy.initial_timeout_ms)
        m_policy.max_timeout_ms = m_policy.initial_timeout_ms;
}

uint16_t Exchange::secs(uint64_t now_ms) const
{
    uint64_t elapsed = now_ms > m_started_ms ? (now_ms - m_started_ms) / 1000 : 0;
    return static_cast<uint16_t>(std::min<uint64_t>(elapsed, 0xffff));
}

uint64_t Exchange::next_deadline(uint64_t now_ms)
{
    if (m_tries_in_phase == 1)
        m_current_timeout_ms = m_policy.initial_timeout_ms;
    else
        m_current_timeout_ms = std::min<uint32_t>(m_policy.max_timeout_ms, m_current_timeout_ms > m_policy.max_timeout_ms / 2 ? m_policy.max_timeout_ms : m_current_timeout_ms * 2);
    return std::min(now_ms + m_current_timeout_ms, m_started_ms + m_policy.total_timeout_ms);
}

Step Exchange::send_discover(uint64_t now_ms, bool first_in_phase)
{
    m_state = State::Selecting;
    m_tries_in_phase = first_in_phase ? 1 : m_tries_in_phase + 1;
    m_last_sent = build_discover(m_client, m_xid, secs(now_ms));
    m_deadline_ms = next_deadline(now_ms);
    return { Action::Send, m_last_sent, m_deadline_ms };
}

Step Exchange::send_request(uint64_t now_ms, bool first_in_phase)
{
    m_state = State::Requesting;
    m_tries_in_phase = first_in_phase ? 1 : m_tries_in_phase + 1;
    m_last_sent = build_request(m_client, m_xid, m_offered, m_server, secs(now_ms));
    m_deadline_ms = next_deadline(now_ms);
    return { Action::Send, m_last_sent, m_deadline_ms };
}

Step Exchange::fail(Error error)
{
    m_state = State::Failed;
    m_failure = std::move(error);
    return { Action::Failed, {}, 0 };
}

Step Exchange::wait() const
{
    return { Action::Wait, {}, m_deadline_ms };
}

Step Exchange::restart(uint64_t now_ms, std::string_view why)
{
    if (m_restarts >= m_policy.max_restarts)
        return fail(Error::with_code(EAGAIN, cat("DHCP: ", why, ", and ", m_restarts, " restarts are used up")));
    ++m_restarts;
    ++m_xid; // a fresh transaction, so late replies to the old one are ignored
    return send_discover(now_ms, true);
}

Step Exchange::start(uint64_t now_ms)
{
    m_started_ms = now_ms;
    m_restarts = 0;
    m_lease.reset();
    m_failure.reset();
    return send_discover(now_ms, true);
}

Step Exchange::receive(std::span<uint8_t const> packet, uint64_t now_ms)
{
    if (m_state != State::Selecting && m_state != State::Requesting)
        return { m_state == State::Bound ? Action::Bound : m_state == State::Failed ? Action::Failed : Action::Wait, {}, m_deadline_ms };
    auto parsed = parse_reply(packet, m_xid, m_client.mac);
    if (!parsed.ok()) {
        m_last_ignored = parsed.error().message();
        return wait();
    }
    Reply const& reply = *parsed;
    if (m_state == State::Selecting) {
        if (reply.type != MessageType::Offer) {
            m_last_ignored = cat("DHCP: ignoring ", message_type_name(reply.type), " while selecting");
            return wait();
        }
        m_offered = reply.your_address;
        m_server = *reply.server_id;
        return send_request(now_ms, true);
    }
    // Requesting: only the chosen server's answer counts.
    if (reply.server_id && *reply.server_id != m_server) {
        m_last_ignored = cat("DHCP: ignoring ", message_type_name(reply.type), " from ", reply.server_id->to_string(), ", we requested from ", m_server.to_string());
        return wait();
    }
    if (reply.type == MessageType::Nak) {
        std::string why = cat("server ", m_server.to_string(), " refused ", m_offered.to_string(), " (DHCPNAK");
        why = reply.message.empty() ? cat(why, ")") : cat(why, ": ", reply.message, ")");
        return restart(now_ms, why);
    }
    if (reply.type != MessageType::Ack) {
        m_last_ignored = cat("DHCP: ignoring ", message_type_name(reply.type), " while requesting");
        return wait();
    }
    auto lease = lease_from_ack(reply, m_server);
    if (!lease.ok()) {
        m_last_ignored = lease.error().message();
        return wait();
    }
    m_lease = std::move(lease).release_value();
    m_state = State::Bound;
    return { Action::Bound, {}, 0 };
}

Step Exchange::timeout(uint64_t now_ms)
{
    if (m_state == State::Bound)
        return { Action::Bound, {}, 0 };
    if (m_state == State::Failed)
        return { Action::Failed, {}, 0 };
    if (m_state == State::Init)
        return start(now_ms);
    if (now_ms < m_deadline_ms)
        return wait();
    if (now_ms >= m_started_ms + m_policy.total_timeout_ms)
        return fail(Error::with_code(ETIMEDOUT, cat("DHCP: no lease within ", m_policy.total_timeout_ms, " ms")));
    if (m_tries_in_phase < m_policy.attempts)
        return m_state == State::Selecting ? send_discover(now_ms, false) : send_request(now_ms, false);
    if (m_state == State::Selecting)
        return fail(Error::with_code(ETIMEDOUT, cat("DHCP: no offer after ", m_tries_in_phase, " DHCPDISCOVERs")));
    return restart(now_ms, cat("no answer from ", m_server.to_string(), " after ", m_tries_in_phase, " DHCPREQUESTs"));
}

// ---- I/O ----------------------------------------------------------------

static uint32_t random_xid()
{
    uint32_t xid = 0;
    if (::getrandom(&xid, sizeof xid, GRND_NONBLOCK) != sizeof xid) {
        timespec now {};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        xid = static_cast<uint32_t>(now.tv_nsec) ^ static_cast<uint32_t>(::getpid()) << 16;
    }
    return xid;
}

static Result<UniqueFd> open_client_socket(std::string const& ifname)
{
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0)
        return Error::from_errno("DHCP: opening a UDP socket");
    UniqueFd owned(fd);
    int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        return Error::from_errno("DHCP: SO_REUSEADDR");
    if (::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) < 0)
        return Error::from_errno("DHCP: SO_BROADCAST");
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size() + 1)) < 0)
        return Error::from_errno(cat("DHCP: binding the socket to ", ifname));
    sockaddr_in local {};
    local.sin_family = AF_INET;
    local.sin_port = htons(client_port);
    local.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
        return Error::from_errno(cat("DHCP: binding UDP port ", client_port, " on ", ifname));
    return owned;
}

Result<Lease> acquire_lease(std::string const& ifname, ClientIdentity const& client, RetryPolicy policy)
{
    auto socket = TRY(open_client_socket(ifname));
    Exchange exchange(client, random_xid(), policy);
    sockaddr_in broadcast {};
    broadcast.sin_family = AF_INET;
    broadcast.sin_port = htons(server_port);
    broadcast.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    std::vector<uint8_t> buffer(1500);

    Step step = exchange.start(monotonic_ms());
    for (;;) {
        switch (step.action) {
        case Action::Bound:
            log::info(cat("DHCP on ", ifname, ": ", exchange.lease()->to_string()));
            return *exchange.lease();
        case Action::Failed:
            return Error(*exchange.failure()).with_context(ifname);
        case Action::Send: {
            ssize_t sent = ::sendto(socket.get(), step.packet.data(), step.packet.size(), 0, reinterpret_cast<sockaddr*>(&broadcast), sizeof broadcast);
            if (sent < 0 && errno != EINTR)
                log::warn(Error::from_errno(cat("DHCP on ", ifname, ": sending")).message()); // retried at the next timeout
            break;
        }
        case Action::Wait:
            break;
        }
        uint64_t now = monotonic_ms();
        if (now >= step.deadline_ms) {
            step = exchange.timeout(now);
            continue;
        }
        pollfd waiting { socket.get(), POLLIN, 0 };
        int ready = ::poll(&waiting, 1, static_cast<int>(std::min<uint64_t>(step.deadline_ms - now, 60000)));
        if (ready < 0 && errno != EINTR)
            return Error::from_errno(cat("DHCP on ", ifname, ": waiting for a reply"));
        if (ready <= 0) {
            step = { Action::Wait, {}, step.deadline_ms };
            continue;
        }
        ssize_t received = ::recv(socket.get(), buffer.data(), buffer.size(), 0);
        if (received < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return Error::from_errno(cat("DHCP on ", ifname, ": receiving"));
        }
        step = exchange.receive({ buffer.data(), static_cast<size_t>(received) }, monotonic_ms());
        if (step.action == Action::Wait && !exchange.last_ignored().empty())
            log::debug(exchange.last_ignored());
    }
}

Result<void> apply_lease(NetlinkSocket& netlink, int ifindex, Lease const& lease)
{
    TRY(netlink.add_ipv4_address(ifindex, lease.address, lease.prefix_length));
    if (lease.router)
        TRY(netlink.add_default_route(*lease.router, ifindex));
    return {};
}

} // namespace core::dhcp
