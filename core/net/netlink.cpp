// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/netlink.h"

#include "core/base/clock.h"
#include "core/base/strings.h"

#include <cerrno>
#include <ctime>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace core {

// ---- addresses ----------------------------------------------------------

Result<Ipv4Address> Ipv4Address::parse(std::string_view text)
{
    auto parts = split(text, '.');
    if (parts.size() != 4)
        return Error::invalid(cat("'", text, "' is not an IPv4 address (expected four dotted numbers)"));
    uint32_t value = 0;
    for (auto part : parts) {
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
            return Error::invalid(cat("'", text, "' is not an IPv4 address"));
        auto number = parse_u64(part, "IPv4 address part");
        if (!number.ok() || *number > 255)
            return Error::invalid(cat("'", text, "' is not an IPv4 address"));
        value = value << 8 | static_cast<uint32_t>(*number);
    }
    return Ipv4Address { value };
}

Ipv4Address Ipv4Address::from_bytes(std::span<uint8_t const, 4> bytes)
{
    return Ipv4Address { static_cast<uint32_t>(load_uint(bytes.data(), 4, Endian::Big)) };
}

std::array<uint8_t, 4> Ipv4Address::bytes() const
{
    std::array<uint8_t, 4> out;
    store_uint(out.data(), 4, value, Endian::Big);
    return out;
}

std::string Ipv4Address::to_string() const
{
    return cat(value >> 24, '.', (value >> 16) & 0xff, '.', (value >> 8) & 0xff, '.', value & 0xff);
}

Result<uint8_t> prefix_length_of_mask(Ipv4Address mask)
{
    uint32_t inverted = ~mask.value;
    // A contiguous mask inverted is 2^n - 1: adding one clears every bit.
    if ((inverted & (inverted + 1)) != 0)
        return Error::invalid(cat("netmask ", mask.to_string(), " is not contiguous"));
    return static_cast<uint8_t>(32 - __builtin_popcount(inverted));
}

Ipv4Address mask_of_prefix_length(uint8_t prefix_length)
{
    if (prefix_length == 0)
        return {};
    if (prefix_length >= 32)
        return { 0xffffffffu };
    return { ~((uint32_t(1) << (32 - prefix_length)) - 1) };
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

Result<MacAddress> MacAddress::parse(std::string_view text)
{
    MacAddress mac;
    if (text.size() != 17)
        return Error::invalid(cat("'", text, "' is not a MAC address (expected xx:xx:xx:xx:xx:xx)"));
    for (size_t i = 0; i < 6; ++i) {
        int high = hex_digit(text[i * 3]);
        int low = hex_digit(text[i * 3 + 1]);
        char separator = i < 5 ? text[i * 3 + 2] : ':';
        if (high < 0 || low < 0 || (separator != ':' && separator != '-'))
            return Error::invalid(cat("'", text, "' is not a MAC address (expected xx:xx:xx:xx:xx:xx)"));
        mac.bytes[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return mac;
}

std::string MacAddress::to_string() const
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (i)
            out.push_back(':');
        out.push_back(digits[bytes[i] >> 4]);
        out.push_back(digits[bytes[i] & 15]);
    }
    return out;
}

namespace netlink {

// uapi values used below.
namespace {
constexpr uint8_t af_unspec = 0;
constexpr uint8_t af_inet = 2;
constexpr uint16_t ifla_address = 1;
constexpr uint16_t ifla_ifname = 3;
constexpr uint16_t ifla_mtu = 4;
constexpr uint16_t ifla_operstate = 16;
constexpr uint16_t ifla_carrier = 33;
constexpr uint16_t ifa_address = 1;
constexpr uint16_t ifa_local = 2;
constexpr uint16_t ifa_broadcast = 4;
constexpr uint16_t ifa_flags = 8;
constexpr uint16_t rta_dst = 1;
constexpr uint16_t rta_oif = 4;
constexpr uint16_t rta_gateway = 5;
constexpr uint16_t rta_prefsrc = 7;
constexpr uint16_t rta_table = 15;
constexpr uint8_t rt_table_main = 254;
constexpr uint8_t rtprot_boot = 3;
constexpr uint8_t rt_scope_universe = 0;
constexpr uint8_t rt_scope_link = 253;
constexpr uint8_t rt_scope_host = 254;
constexpr uint8_t rtn_unicast = 1;
constexpr uint16_t nla_type_mask = 0x3fff; // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
constexpr uint16_t nlmsgerr_attr_msg = 1;
} // namespace

MessageBuilder::MessageBuilder(uint16_t type, uint16_t flags, uint32_t sequence)
{
    m_writer.put_u32(0, header_size); // nlmsg_len, fixed by finish()
    m_writer.put_u16(4, type);
    m_writer.put_u16(6, flags);
    m_writer.put_u32(8, sequence);
    m_writer.put_u32(12, 0); // nlmsg_pid: 0 addresses the kernel
}

void MessageBuilder::pad()
{
    size_t aligned = align_up(m_size, alignment);
    if (aligned != m_size)
        m_writer.resize(aligned);
    m_size = aligned;
}

MessageBuilder& MessageBuilder::fixed(std::span<uint8_t const> bytes)
{
    m_writer.put_bytes(m_size, bytes);
    m_size += bytes.size();
    pad();
    return *this;
}

MessageBuilder& MessageBuilder::attribute(uint16_t type, std::span<uint8_t const> payload)
{
    m_writer.put_u16(m_size, static_cast<uint16_t>(attribute_header_size + payload.size()));
    m_writer.put_u16(m_size + 2, type);
    m_writer.put_bytes(m_size + attribute_header_size, payload);
    m_size += attribute_header_size + payload.size();
    pad();
    return *this;
}

MessageBuilder& MessageBuilder::attribute_u32(uint16_t type, uint32_t value)
{
    uint8_t bytes[4];
    store_uint(bytes, 4, value, host_endian);
    return attribute(type, bytes);
}

MessageBuilder& MessageBuilder::attribute_ipv4(uint16_t type, Ipv4Address address)
{
    auto bytes = address.bytes();
    return attribute(type, bytes);
}

MessageBuilder& MessageBuilder::attribute_string(uint16_t type, std::string_view text)
{
    std::vector<uint8_t> bytes(text.begin(), text.end());
    bytes.push_back(0);
    return attribute(type, bytes);
}

std::vector<uint8_t> MessageBuilder::finish()
{
    m_writer.resize(m_size);
    m_writer.put_u32(0, static_cast<uint32_t>(m_size));
    auto bytes = m_writer.bytes();
    return { bytes.begin(), bytes.end() };
}

static std::array<uint8_t, ifinfomsg_size> ifinfomsg(uint8_t family, int ifindex, uint32_t flags, uint32_t change)
{
    std::array<uint8_t, ifinfomsg_size> out {};
    out[0] = family; // ifi_family; [1] pad; [2..3] ifi_type
    store_uint(out.data() + 4, 4, static_cast<uint32_t>(ifindex), host_endian);
    store_uint(out.data() + 8, 4, flags, host_endian);
    store_uint(out.data() + 12, 4, change, host_endian);
    return out;
}

std::vector<uint8_t> build_get_links(uint32_t sequence)
{
    return MessageBuilder(GetLink, Request | Dump, sequence).fixed(ifinfomsg(af_unspec, 0, 0, 0)).finish();
}

std::vector<uint8_t> build_get_link(uint32_t sequence, int ifindex)
{
    return MessageBuilder(GetLink, Request | Ack, sequence).fixed(ifinfomsg(af_unspec, ifindex, 0, 0)).finish();
}

std::vector<uint8_t> build_set_link_up(uint32_t sequence, int ifindex)
{
    return MessageBuilder(NewLink, Request | Ack, sequence).fixed(ifinfomsg(af_unspec, ifindex, iff_up, iff_up)).finish();
}

std::vector<uint8_t> build_add_ipv4_address(uint32_t sequence, int ifindex, Ipv4Address address, uint8_t prefix_length)
{
    std::array<uint8_t, ifaddrmsg_size> header {};
    header[0] = af_inet;
    header[1] = prefix_length;
    header[2] = 0; // ifa_flags
    header[3] = (address.value >> 24) == 127 ? rt_scope_host : rt_scope_universe;
    store_uint(header.data() + 4, 4, static_cast<uint32_t>(ifindex), host_endian);
    MessageBuilder builder(NewAddress, Request | Ack | Create | Replace, sequence);
    builder.fixed(header).attribute_ipv4(ifa_local, address).attribute_ipv4(ifa_address, address);
    if (prefix_length < 31) {
        Ipv4Address broadcast { address.value | ~mask_of_prefix_length(prefix_length).value };
        builder.attribute_ipv4(ifa_broadcast, broadcast);
    }
    return builder.finish();
}

static std::array<uint8_t, rtmsg_size> rtmsg(uint8_t family, uint8_t dst_len, uint8_t table, uint8_t protocol, uint8_t scope, uint8_t type)
{
    std::array<uint8_t, rtmsg_size> out {};
    out[0] = family;
    out[1] = dst_len;
    out[2] = 0; // rtm_src_len
    out[3] = 0; // rtm_tos
    out[4] = table;
    out[5] = protocol;
    out[6] = scope;
    out[7] = type;
    // [8..11] rtm_flags = 0
    return out;
}

std::vector<uint8_t> build_add_ipv4_route(uint32_t sequence, RouteSpec const& route)
{
    uint8_t scope = route.gateway ? rt_scope_universe : rt_scope_link;
    MessageBuilder builder(NewRoute, Request | Ack | Create | Replace, sequence);
    builder.fixed(rtmsg(af_inet, route.prefix_length, rt_table_main, rtprot_boot, scope, rtn_unicast));
    if (route.prefix_length > 0) {
        Ipv4Address network { route.destination.value & mask_of_prefix_length(route.prefix_length).value };
        builder.attribute_ipv4(rta_dst, network);
    }
    if (route.gateway)
        builder.attribute_ipv4(rta_gateway, *route.gateway);
    if (route.preferred_source)
        builder.attribute_ipv4(rta_prefsrc, *route.preferred_source);
    if (route.ifindex > 0)
        builder.attribute_u32(rta_oif, static_cast<uint32_t>(route.ifindex));
    return builder.finish();
}

std::vector<uint8_t> build_get_route(uint32_t sequence, Ipv4Address destination)
{
    return MessageBuilder(GetRoute, Request | Ack, sequence)
        .fixed(rtmsg(af_inet, 32, 0, 0, 0, 0))
        .attribute_ipv4(rta_dst, destination)
        .finish();
}

// ---- parsing ------------------------------------------------------------

Result<std::vector<Message>> parse_messages(std::span<uint8_t const> datagram)
{
    ByteReader reader(datagram, host_endian, "netlink reply");
    std::vector<Message> messages;
    uint64_t offset = 0;
    while (offset < datagram.size()) {
        if (datagram.size() - offset < header_size) {
            // Trailing alignment padding is fine; anything longer is a torn header.
            if (datagram.size() - offset < alignment)
                break;
            return Error::invalid(cat("netlink reply: ", datagram.size() - offset, " bytes at offset ", offset, " are too short for a message header"));
        }
        uint32_t length = TRY(reader.u32(offset));
        if (length < header_size)
            return Error::invalid(cat("netlink reply: message at offset ", offset, " claims length ", length, ", below the 16-byte header"));
        if (!extent_within(offset, length, datagram.size()))
            return Error::invalid(cat("netlink reply: message at offset ", offset, " claims length ", length, " but only ", datagram.size() - offset, " bytes remain"));
        Message message;
        message.type = TRY(reader.u16(offset + 4));
        message.flags = TRY(reader.u16(offset + 6));
        message.sequence = TRY(reader.u32(offset + 8));
        message.port_id = TRY(reader.u32(offset + 12));
        auto payload = TRY(reader.bytes(offset + header_size, length - header_size));
        message.payload.assign(payload.begin(), payload.end());
        messages.push_back(std::move(message));
        offset += align_up(length, alignment);
    }
    return messages;
}

Result<std::vector<Attribute>> parse_attributes(std::span<uint8_t const> bytes, std::string_view what)
{
    ByteReader reader(bytes, host_endian, what);
    std::vector<Attribute> attributes;
    uint64_t offset = 0;
    while (offset < bytes.size()) {
        if (bytes.size() - offset < attribute_header_size)
            return Error::invalid(cat(what, ": ", bytes.size() - offset, " stray bytes at offset ", offset, " (an attribute header needs 4)"));
        uint16_t length = TRY(reader.u16(offset));
        uint16_t type = TRY(reader.u16(offset + 2));
        if (length < attribute_header_size)
            return Error::invalid(cat(what, ": attribute ", type & nla_type_mask, " at offset ", offset, " claims length ", length, ", below its 4-byte header"));
        if (!extent_within(offset, length, bytes.size()))
            return Error::invalid(cat(what, ": attribute ", type & nla_type_mask, " at offset ", offset, " claims length ", length, " but only ", bytes.size() - offset, " bytes remain"));
        auto payload = TRY(reader.bytes(offset + attribute_header_size, length - attribute_header_size));
        attributes.push_back({ static_cast<uint16_t>(type & nla_type_mask), payload });
        offset += align_up(length, alignment);
    }
    return attributes;
}

Result<ErrorReply> parse_error(Message const& message)
{
    if (message.type != ErrorMessage)
        return Error::invalid(cat("netlink: expected an error/ACK message, got type ", message.type));
    ByteReader reader(message.payload, host_endian, "netlink error message");
    // struct nlmsgerr: int error, then the request's nlmsghdr (and, unless
    // NLM_F_CAPPED, the rest of the request), then extended-ACK attributes.
    if (message.payload.size() < 4 + header_size)
        return Error::invalid(cat("netlink error message: ", message.payload.size(), " bytes, below the 20 of struct nlmsgerr"));
    int32_t code = static_cast<int32_t>(TRY(reader.u32(0)));
    if (code > 0 || code < -4095)
        return Error::invalid(cat("netlink error message: error code ", code, " is not a negative errno"));
    ErrorReply reply;
    reply.error = -code;
    if (!(message.flags & AckTlvs))
        return reply;
    uint64_t attributes_at = 4 + header_size;
    if (!(message.flags & Capped)) {
        uint32_t request_length = TRY(reader.u32(4));
        if (request_length < header_size || !extent_within(4, request_length, message.payload.size()))
            return Error::invalid(cat("netlink error message: echoed request length ", request_length, " does not fit in ", message.payload.size(), " bytes"));
        attributes_at = 4 + align_up(request_length, alignment);
        if (attributes_at > message.payload.size())
            attributes_at = message.payload.size();
    }
    auto tail = TRY(reader.bytes(attributes_at, message.payload.size() - attributes_at));
    auto attributes = TRY(parse_attributes(tail, "netlink extended ACK"));
    for (auto const& attribute : attributes) {
        if (attribute.type != nlmsgerr_attr_msg)
            continue;
        ByteReader text(attribute.payload, host_endian, "netlink extended ACK message");
        reply.extended_message = std::string(TRY(text.c_string(0, attribute.payload.size())));
    }
    return reply;
}

static Result<uint32_t> attribute_u32(Attribute const& attribute, std::string_view what)
{
    if (attribute.payload.size() != 4)
        return Error::invalid(cat(what, ": attribute ", attribute.type, " has ", attribute.payload.size(), " bytes, expected 4"));
    return static_cast<uint32_t>(load_uint(attribute.payload.data(), 4, host_endian));
}

static Result<uint8_t> attribute_u8(Attribute const& attribute, std::string_view what)
{
    if (attribute.payload.size() != 1)
        return Error::invalid(cat(what, ": attribute ", attribute.type, " has ", attribute.payload.size(), " bytes, expected 1"));
    return attribute.payload[0];
}

static Result<Ipv4Address> attribute_ipv4(Attribute const& attribute, std::string_view what)
{
    if (attribute.payload.size() != 4)
        return Error::invalid(cat(what, ": address attribute ", attribute.type, " has ", attribute.payload.size(), " bytes, expected 4"));
    return Ipv4Address::from_bytes(attribute.payload.first<4>());
}

Result<LinkInfo> parse_link(Message const& message)
{
    constexpr std::string_view what = "netlink link message";
    if (message.type != NewLink)
        return Error::invalid(cat(what, ": unexpected message type ", message.type));
    ByteReader reader(message.payload, host_endian, what);
    if (message.payload.size() < ifinfomsg_size)
        return Error::invalid(cat(what, ": ", message.payload.size(), " bytes, below the 16 of struct ifinfomsg"));
    LinkInfo link;
    link.ifindex = static_cast<int32_t>(TRY(reader.u32(4)));
    link.flags = TRY(reader.u32(8));
    auto attributes = TRY(parse_attributes(TRY(reader.bytes(ifinfomsg_size, message.payload.size() - ifinfomsg_size)), what));
    for (auto const& attribute : attributes) {
        switch (attribute.type) {
        case ifla_ifname: {
            ByteReader text(attribute.payload, host_endian, "IFLA_IFNAME");
            link.name = std::string(TRY(text.c_string(0, attribute.payload.size())));
            break;
        }
        case ifla_address:
            if (attribute.payload.size() == 6) {
                MacAddress mac;
                std::copy(attribute.payload.begin(), attribute.payload.end(), mac.bytes.begin());
                link.mac = mac;
            }
            break;
        case ifla_mtu:
            link.mtu = TRY(attribute_u32(attribute, what));
            break;
        case ifla_operstate: {
            uint8_t state = TRY(attribute_u8(attribute, what));
            link.operstate = state <= 6 ? static_cast<OperState>(state) : OperState::Unknown;
            break;
        }
        case ifla_carrier:
            link.carrier = TRY(attribute_u8(attribute, what)) != 0;
            break;
        default:
            break;
        }
    }
    if (link.ifindex <= 0)
        return Error::invalid(cat(what, ": interface index ", link.ifindex, " is not positive"));
    return link;
}

std::vector<uint8_t> build_get_ipv4_addresses(uint32_t sequence)
{
    std::array<uint8_t, ifaddrmsg_size> header {};
    header[0] = af_inet;
    return MessageBuilder(GetAddress, Request | Dump, sequence).fixed(header).finish();
}

Result<AddressInfo> parse_address(Message const& message)
{
    constexpr std::string_view what = "netlink address message";
    if (message.type != NewAddress)
        return Error::invalid(cat(what, ": unexpected message type ", message.type));
    if (message.payload.size() < ifaddrmsg_size)
        return Error::invalid(cat(what, ": ", message.payload.size(), " bytes, below the 8 of struct ifaddrmsg"));
    ByteReader reader(message.payload, host_endian, what);
    AddressInfo address;
    address.family = TRY(reader.u8(0));
    address.prefix_length = TRY(reader.u8(1));
    address.flags = TRY(reader.u8(2));
    address.ifindex = static_cast<int32_t>(TRY(reader.u32(4)));
    if (address.family == af_inet && address.prefix_length > 32)
        return Error::invalid(cat(what, ": IPv4 prefix length ", address.prefix_length, " is above 32"));
    std::optional<Ipv4Address> peer;
    auto attributes = TRY(parse_attributes(TRY(reader.bytes(ifaddrmsg_size, message.payload.size() - ifaddrmsg_size)), what));
    for (auto const& attribute : attributes) {
        bool ipv4 = address.family == af_inet;
        if (attribute.type == ifa_local && ipv4)
            address.local = TRY(attribute_ipv4(attribute, what));
        else if (attribute.type == ifa_address && ipv4)
            peer = TRY(attribute_ipv4(attribute, what));
        else if (attribute.type == ifa_flags)
            address.flags = TRY(attribute_u32(attribute, what));
    }
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on
    // point-to-point links and the same address elsewhere.
    if (!address.local)
        address.local = peer;
    return address;
}

Result<RouteInfo> parse_route(Message const& message)
{
    constexpr std::string_view what = "netlink route message";
    if (message.type != NewRoute)
        return Error::invalid(cat(what, ": unexpected message type ", message.type));
    ByteReader reader(message.payload, host_endian, what);
    if (message.payload.size() < rtmsg_size)
        return Error::invalid(cat(what, ": ", message.payload.size(), " bytes, below the 12 of struct rtmsg"));
    RouteInfo route;
    route.family = TRY(reader.u8(0));
    route.destination_prefix_length = TRY(reader.u8(1));
    route.table = TRY(reader.u8(4));
    route.type = TRY(reader.u8(7));
    if (route.family == af_inet && route.destination_prefix_length > 32)
        return Error::invalid(cat(what, ": IPv4 prefix length ", route.destination_prefix_length, " is above 32"));
    auto attributes = TRY(parse_attributes(TRY(reader.bytes(rtmsg_size, message.payload.size() - rtmsg_size)), what));
    for (auto const& attribute : attributes) {
        bool ipv4 = route.family == af_inet;
        switch (attribute.type) {
        case rta_dst:
            if (ipv4)
                route.destination = TRY(attribute_ipv4(attribute, what));
            break;
        case rta_gateway:
            if (ipv4)
                route.gateway = TRY(attribute_ipv4(attribute, what));
            break;
        case rta_prefsrc:
            if (ipv4)
                route.preferred_source = TRY(attribute_ipv4(attribute, what));
            break;
        case rta_oif:
            route.ifindex = static_cast<int32_t>(TRY(attribute_u32(attribute, what)));
            break;
        case rta_table:
            // The full table id; rtm_table saturates at 255.
            route.table = static_cast<uint8_t>(std::min<uint32_t>(TRY(attribute_u32(attribute, what)), 255));
            break;
        default:
            break;
        }
    }
    return route;
}

} // namespace netlink

// ---- socket -------------------------------------------------------------

Result<NetlinkSocket> NetlinkSocket::open()
{
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return Error::from_errno("opening a netlink route socket");
    UniqueFd owned(fd);
    sockaddr_nl local {};
    local.nl_family = AF_NETLINK;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
        return Error::from_errno("binding the netlink route socket");
    socklen_t length = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) < 0)
        return Error::from_errno("reading the netlink socket address");
    int on = 1;
    // Extended ACKs give the kernel's own reason; older kernels lack them.
    (void)::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
    (void)::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
    NetlinkSocket socket(std::move(owned));
    socket.m_port_id = local.nl_pid;
    // Distinct sequence numbers across sockets make stale replies obvious.
    socket.m_sequence = static_cast<uint32_t>(::time(nullptr));
    return socket;
}

Result<std::vector<netlink::Message>> NetlinkSocket::transact(std::span<uint8_t const> request, std::string_view what)
{
    ByteReader request_reader(request, netlink::host_endian, "netlink request");
    uint32_t sequence = TRY(request_reader.u32(8));
    uint16_t request_flags = TRY(request_reader.u16(6));
    bool dump = (request_flags & netlink::Dump) == netlink::Dump;

    sockaddr_nl kernel {};
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do
        sent = ::sendto(m_fd.get(), request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    while (sent < 0 && errno == EINTR);
    if (sent < 0)
        return Error::from_errno(cat(what, ": sending the netlink request"));
    if (static_cast<size_t>(sent) != request.size())
        return Error::with_code(EIO, cat(what, ": short netlink send"));

    std::vector<netlink::Message> replies;
    std::vector<uint8_t> buffer(64 * 1024);
    for (;;) {
        pollfd waiting { m_fd.get(), POLLIN, 0 };
        int ready = ::poll(&waiting, 1, m_reply_timeout_ms);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(cat(what, ": waiting for the netlink reply"));
        }
        if (ready == 0)
            return Error::with_code(ETIMEDOUT, cat(what, ": no netlink reply within ", m_reply_timeout_ms, " ms"));
        sockaddr_nl from {};
        socklen_t from_length = sizeof from;
        ssize_t received = ::recvfrom(m_fd.get(), buffer.data(), buffer.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &from_length);
        if (received < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(cat(what, ": receiving the netlink reply"));
        }
        if (static_cast<size_t>(received) > buffer.size())
            return Error::with_code(EMSGSIZE, cat(what, ": netlink reply of ", received, " bytes was truncated"));
        if (from.nl_pid != 0)
            continue; // not from the kernel
        auto messages = TRY(netlink::parse_messages({ buffer.data(), static_cast<size_t>(received) }).context(what));
        for (auto& message : messages) {
            if (message.sequence != sequence || (message.port_id != 0 && message.port_id != m_port_id))
                continue; // a stale reply to an earlier request
            if (message.type == netlink::ErrorMessage) {
                auto error = TRY(netlink::parse_error(message).context(what));
                if (error.error == 0)
                    return replies;
                if (error.extended_message.empty())
                    return Error::from_errno(error.error, std::string(what));
                // "what: strerror (the kernel's extended ACK text)"
                return Error::with_code(error.error, cat(Error::from_errno(error.error, std::string(what)).message(), " (", error.extended_message, ")"));
            }
            if (message.type == netlink::Done) {
                if (message.payload.size() >= 4) {
                    int32_t code = static_cast<int32_t>(load_uint(message.payload.data(), 4, netlink::host_endian));
                    if (code < 0 && code >= -4095)
                        return Error::from_errno(-code, std::string(what));
                }
                return replies;
            }
            if (message.type == netlink::Overrun)
                return Error::with_code(ENOBUFS, cat(what, ": netlink overrun"));
            if (message.type == netlink::Noop)
                continue;
            bool multi = message.flags & netlink::Multi;
            replies.push_back(std::move(message));
            // A dump, or a request with NLM_F_ACK, keeps going until DONE/ACK;
            // a single non-multipart reply to a request without ACK ends it.
            if (!dump && !multi && !(request_flags & netlink::Ack))
                return replies;
        }
    }
}

Result<std::vector<netlink::LinkInfo>> NetlinkSocket::list_links()
{
    auto messages = TRY(transact(netlink::build_get_links(next_sequence()), "listing network links"));
    std::vector<netlink::LinkInfo> links;
    for (auto const& message : messages) {
        if (message.type != netlink::NewLink)
            continue;
        links.push_back(TRY(netlink::parse_link(message)));
    }
    return links;
}

Result<netlink::LinkInfo> NetlinkSocket::get_link(int ifindex)
{
    auto what = cat("reading link ", ifindex);
    auto messages = TRY(transact(netlink::build_get_link(next_sequence(), ifindex), what));
    for (auto const& message : messages) {
        if (message.type == netlink::NewLink)
            return TRY(netlink::parse_link(message).context(what));
    }
    return Error::with_code(ENODEV, cat(what, ": the kernel sent no link"));
}

Result<netlink::LinkInfo> NetlinkSocket::find_link_by_mac(MacAddress const& mac)
{
    for (auto& link : TRY(list_links())) {
        if (link.mac == mac)
            return std::move(link);
    }
    return Error::with_code(ENODEV, cat("no network interface has MAC address ", mac.to_string()));
}

Result<netlink::LinkInfo> NetlinkSocket::find_link_by_name(std::string_view name)
{
    for (auto& link : TRY(list_links())) {
        if (link.name == name)
            return std::move(link);
    }
    return Error::with_code(ENODEV, cat("no network interface is called ", name));
}

std::string NetlinkSocket::link_label(int ifindex)
{
    auto link = get_link(ifindex);
    if (link.ok() && !link->name.empty())
        return link->name;
    return cat("link ", ifindex);
}

Result<void> NetlinkSocket::set_link_up(int ifindex)
{
    auto what = cat("setting ", link_label(ifindex), " up");
    TRY(transact(netlink::build_set_link_up(next_sequence(), ifindex), what));
    return {};
}

Result<void> NetlinkSocket::add_ipv4_address(int ifindex, Ipv4Address address, uint8_t prefix_length)
{
    if (prefix_length > 32)
        return Error::invalid(cat("IPv4 prefix length ", prefix_length, " is above 32"));
    auto what = cat("adding ", address.to_string(), '/', prefix_length, " to ", link_label(ifindex));
    TRY(transact(netlink::build_add_ipv4_address(next_sequence(), ifindex, address, prefix_length), what));
    return {};
}

Result<void> NetlinkSocket::add_route(netlink::RouteSpec const& route)
{
    if (route.prefix_length > 32)
        return Error::invalid(cat("IPv4 prefix length ", route.prefix_length, " is above 32"));
    std::string what = route.prefix_length == 0 ? std::string("adding the default route") : cat("adding a route to ", route.destination.to_string(), '/', route.prefix_length);
    if (route.gateway)
        what = cat(what, " via ", route.gateway->to_string());
    if (route.ifindex > 0)
        what = cat(what, " dev ", link_label(route.ifindex));
    TRY(transact(netlink::build_add_ipv4_route(next_sequence(), route), what));
    return {};
}

Result<void> NetlinkSocket::add_default_route(Ipv4Address gateway, int ifindex)
{
    netlink::RouteSpec route;
    route.gateway = gateway;
    route.ifindex = ifindex;
    return add_route(route);
}

Result<RoutePath> NetlinkSocket::route_to(Ipv4Address destination)
{
    auto what = cat("finding the route to ", destination.to_string());
    auto messages = TRY(transact(netlink::build_get_route(next_sequence(), destination), what));
    for (auto const& message : messages) {
        if (message.type != netlink::NewRoute)
            continue;
        auto route = TRY(netlink::parse_route(message).context(what));
        if (route.ifindex <= 0)
            return Error::with_code(ENETUNREACH, cat(what, ": the kernel's answer names no interface"));
        RoutePath path;
        path.ifindex = route.ifindex;
        path.source = route.preferred_source;
        path.gateway = route.gateway;
        path.ifname = link_label(route.ifindex);
        return path;
    }
    return Error::with_code(ENETUNREACH, cat(what, ": the kernel sent no route"));
}

Result<std::vector<netlink::AddressInfo>> NetlinkSocket::list_ipv4_addresses()
{
    auto messages = TRY(transact(netlink::build_get_ipv4_addresses(next_sequence()), "listing IPv4 addresses"));
    std::vector<netlink::AddressInfo> addresses;
    for (auto const& message : messages) {
        if (message.type == netlink::NewAddress)
            addresses.push_back(TRY(netlink::parse_address(message)));
    }
    return addresses;
}

Result<netlink::LinkInfo> NetlinkSocket::wait_for_carrier(int ifindex, int timeout_ms)
{
    uint64_t deadline = monotonic_ms() + static_cast<uint64_t>(timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        auto link = TRY(get_link(ifindex));
        if (link.has_carrier())
            return link;
        if (monotonic_ms() >= deadline)
            return Error::with_code(ETIMEDOUT, cat(link.name.empty() ? cat("link ", ifindex) : link.name, ": no carrier after ", timeout_ms, " ms"));
        ::usleep(100 * 1000);
    }
}

} // namespace core
