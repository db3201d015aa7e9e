// SPDX-License-Identifier: GPL-2.0-or-later
// rtnetlink (NETLINK_ROUTE) without ip(8): bring a link up, give it an IPv4
// address, add routes, and ask the kernel which interface and source address
// reach a host ("ip route get"). Messages are built and parsed as plain bytes
// (see the uapi headers linux/netlink.h and linux/rtnetlink.h for the
// layouts), so every encoder and decoder is testable without a socket.
#pragma once

#include "core/base/bytes.h"
#include "core/base/error.h"
#include "core/base/fd.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// An IPv4 address; `value` is in host order (10.0.2.15 == 0x0a00020f).
struct Ipv4Address {
    uint32_t value { 0 };

    static Result<Ipv4Address> parse(std::string_view text);
    // From / to the four wire bytes (network order).
    static Ipv4Address from_bytes(std::span<uint8_t const, 4> bytes);
    std::array<uint8_t, 4> bytes() const;
    std::string to_string() const;
    bool operator==(Ipv4Address const&) const = default;
};

// Prefix length of a contiguous netmask (255.255.255.0 -> 24); an error for
// masks like 255.0.255.0.
Result<uint8_t> prefix_length_of_mask(Ipv4Address mask);
Ipv4Address mask_of_prefix_length(uint8_t prefix_length);

struct MacAddress {
    std::array<uint8_t, 6> bytes {};

    // "52:54:00:12:34:56" (also accepts '-' separators), case-insensitive.
    static Result<MacAddress> parse(std::string_view text);
    std::string to_string() const;
    bool operator==(MacAddress const&) const = default;
};

namespace netlink {

// Netlink is in host byte order; addresses inside attributes are not.
constexpr Endian host_endian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? Endian::Little : Endian::Big;

// Sizes of the fixed uapi structures.
constexpr size_t header_size = 16;      // struct nlmsghdr
constexpr size_t ifinfomsg_size = 16;   // struct ifinfomsg
constexpr size_t ifaddrmsg_size = 8;    // struct ifaddrmsg
constexpr size_t rtmsg_size = 12;       // struct rtmsg
constexpr size_t attribute_header_size = 4; // struct rtattr / nlattr
constexpr size_t alignment = 4;         // NLMSG_ALIGNTO, RTA_ALIGNTO

enum MessageType : uint16_t {
    Noop = 1,
    ErrorMessage = 2,
    Done = 3,
    Overrun = 4,
    NewLink = 16,
    GetLink = 18,
    NewAddress = 20,
    GetAddress = 22,
    NewRoute = 24,
    GetRoute = 26,
};

enum Flags : uint16_t {
    Request = 0x1,
    Multi = 0x2,
    Ack = 0x4,
    Dump = 0x300, // NLM_F_ROOT | NLM_F_MATCH
    Replace = 0x100,
    Exclusive = 0x200,
    Create = 0x400,
    // On NLMSG_ERROR replies:
    Capped = 0x100,
    AckTlvs = 0x200,
};

// Interface flags (IFF_*) and operational states (IF_OPER_*) we look at.
constexpr uint32_t iff_up = 0x1;
constexpr uint32_t iff_loopback = 0x8;
constexpr uint32_t iff_running = 0x40;
constexpr uint32_t iff_lower_up = 0x10000;
enum class OperState : uint8_t { Unknown = 0, NotPresent = 1, Down = 2, LowerLayerDown = 3, Testing = 4, Dormant = 5, Up = 6 };

// Appends one message: header, fixed part, attributes; finish() writes
// nlmsg_len. Attributes are padded to 4 bytes as the kernel expects.
class MessageBuilder {
public:
    MessageBuilder(uint16_t type, uint16_t flags, uint32_t sequence);

    // The fixed family header (ifinfomsg, ifaddrmsg, rtmsg), as bytes.
    MessageBuilder& fixed(std::span<uint8_t const> bytes);
    MessageBuilder& attribute(uint16_t type, std::span<uint8_t const> payload);
    MessageBuilder& attribute_u32(uint16_t type, uint32_t value);
    MessageBuilder& attribute_ipv4(uint16_t type, Ipv4Address address);
    MessageBuilder& attribute_string(uint16_t type, std::string_view text); // NUL-terminated

    std::vector<uint8_t> finish();

private:
    void pad();
    ByteWriter m_writer { host_endian };
    size_t m_size { header_size };
};

// Requests. `sequence` goes into nlmsg_seq; NetlinkSocket picks one.
std::vector<uint8_t> build_get_links(uint32_t sequence);
std::vector<uint8_t> build_get_link(uint32_t sequence, int ifindex);
std::vector<uint8_t> build_set_link_up(uint32_t sequence, int ifindex);
// Creates or replaces addr/prefix on ifindex (IFA_LOCAL, IFA_ADDRESS and,
// below /31, IFA_BROADCAST). 127/8 gets host scope, others universe.
std::vector<uint8_t> build_add_ipv4_address(uint32_t sequence, int ifindex, Ipv4Address address, uint8_t prefix_length);

struct RouteSpec {
    Ipv4Address destination {}; // ignored when prefix_length is 0
    uint8_t prefix_length { 0 }; // 0: the default route
    std::optional<Ipv4Address> gateway; // none: on-link (link scope)
    int ifindex { 0 };
    std::optional<Ipv4Address> preferred_source;
};
// Creates or replaces a unicast route in the main table.
std::vector<uint8_t> build_add_ipv4_route(uint32_t sequence, RouteSpec const& route);
// "ip route get destination".
std::vector<uint8_t> build_get_route(uint32_t sequence, Ipv4Address destination);
// "ip -4 address show": a dump of every IPv4 address.
std::vector<uint8_t> build_get_ipv4_addresses(uint32_t sequence);

// One decoded message; payload is everything after the 16-byte header.
struct Message {
    uint16_t type { 0 };
    uint16_t flags { 0 };
    uint32_t sequence { 0 };
    uint32_t port_id { 0 };
    std::vector<uint8_t> payload;
};

// Splits a datagram into messages, rejecting lengths below the header size
// or past the end. Padding after the last message is allowed.
Result<std::vector<Message>> parse_messages(std::span<uint8_t const> datagram);

struct Attribute {
    uint16_t type { 0 }; // NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off
    std::span<uint8_t const> payload;
};
// Attributes from `bytes` (a message payload after its fixed part).
Result<std::vector<Attribute>> parse_attributes(std::span<uint8_t const> bytes, std::string_view what);

struct ErrorReply {
    int error { 0 }; // 0 is an ACK; otherwise a positive errno
    std::string extended_message; // NLMSGERR_ATTR_MSG, if the kernel sent one
};
Result<ErrorReply> parse_error(Message const& message);

struct LinkInfo {
    int ifindex { 0 };
    std::string name;
    std::optional<MacAddress> mac; // absent or not 6 bytes long: none
    uint32_t flags { 0 };
    OperState operstate { OperState::Unknown };
    std::optional<bool> carrier;
    uint32_t mtu { 0 };

    bool is_up() const { return flags & iff_up; }
    bool is_loopback() const { return flags & iff_loopback; }
    // IFLA_CARRIER if the kernel sent it, else IFF_LOWER_UP.
    bool has_carrier() const { return carrier.value_or((flags & iff_lower_up) != 0); }
};
Result<LinkInfo> parse_link(Message const& message);

struct RouteInfo {
    uint8_t family { 0 };
    uint8_t destination_prefix_length { 0 };
    uint8_t table { 0 };
    uint8_t type { 0 };
    std::optional<Ipv4Address> destination;
    std::optional<Ipv4Address> gateway;
    std::optional<Ipv4Address> preferred_source;
    int ifindex { 0 };
};
Result<RouteInfo> parse_route(Message const& message);

// IFA_F_PERMANENT: set on addresses configured without a lifetime (ip addr
// add, static configurations); DHCP clients give theirs the lease's
// lifetime, so the flag's absence is how the host tells DHCP from static.
constexpr uint32_t ifa_f_permanent = 0x80;

struct AddressInfo {
    uint8_t family { 0 };
    uint8_t prefix_length { 0 };
    uint32_t flags { 0 }; // IFA_FLAGS if sent (32 bits), else ifa_flags
    int ifindex { 0 };
    std::optional<Ipv4Address> local; // IFA_LOCAL, else IFA_ADDRESS
    bool is_permanent() const { return flags & ifa_f_permanent; }
};
Result<AddressInfo> parse_address(Message const& message);

} // namespace netlink

// "How do I reach this host": the answer to ip route get.
struct RoutePath {
    int ifindex { 0 };
    std::string ifname;
    std::optional<Ipv4Address> source;
    std::optional<Ipv4Address> gateway;
};

class NetlinkSocket {
public:
    static Result<NetlinkSocket> open();

    // Sends `request` (its nlmsg_seq must come from next_sequence()) and
    // collects the replies: for a dump until NLMSG_DONE, otherwise until the
    // ACK or error for that sequence. A kernel error becomes
    // "what: strerror" (plus the kernel's extended message, if any).
    Result<std::vector<netlink::Message>> transact(std::span<uint8_t const> request, std::string_view what);
    uint32_t next_sequence() { return ++m_sequence; }
    // How long one reply may take before transact gives up.
    void set_reply_timeout_ms(int timeout_ms) { m_reply_timeout_ms = timeout_ms; }

    Result<std::vector<netlink::LinkInfo>> list_links();
    Result<netlink::LinkInfo> get_link(int ifindex);
    Result<netlink::LinkInfo> find_link_by_mac(MacAddress const& mac);
    Result<netlink::LinkInfo> find_link_by_name(std::string_view name);
    Result<void> set_link_up(int ifindex);
    Result<void> add_ipv4_address(int ifindex, Ipv4Address address, uint8_t prefix_length);
    Result<void> add_route(netlink::RouteSpec const& route);
    Result<void> add_default_route(Ipv4Address gateway, int ifindex);
    Result<RoutePath> route_to(Ipv4Address destination);
    Result<std::vector<netlink::AddressInfo>> list_ipv4_addresses();
    // Polls the link until it has carrier; ETIMEDOUT error after timeout_ms.
    Result<netlink::LinkInfo> wait_for_carrier(int ifindex, int timeout_ms);

private:
    explicit NetlinkSocket(UniqueFd fd) : m_fd(std::move(fd)) { }
    std::string link_label(int ifindex);

    UniqueFd m_fd;
    uint32_t m_sequence { 0 };
    uint32_t m_port_id { 0 };
    int m_reply_timeout_ms { 5000 };
};

} // namespace core
