// SPDX-License-Identifier: GPL-2.0-or-later
// An rtnetlink reply datagram: its messages, and each as error, link,
// route and address.
#include "tests/fuzz/fuzz_support.h"

#include "core/net/netlink.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto messages = core::netlink::parse_messages(fuzz::bytes_of(data, size));
    if (!messages)
        return 0;
    for (auto const& message : *messages) {
        (void)core::netlink::parse_error(message);
        (void)core::netlink::parse_link(message);
        (void)core::netlink::parse_route(message);
        (void)core::netlink::parse_address(message);
        (void)core::netlink::parse_attributes(message.payload, "fuzz payload");
    }
    return 0;
}
