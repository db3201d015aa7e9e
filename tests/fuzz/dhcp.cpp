// SPDX-License-Identifier: GPL-2.0-or-later
// A DHCP server's reply. The expected xid and MAC come from the packet
// itself, so that the option parser past those checks gets fuzzed too.
#include "tests/fuzz/fuzz_support.h"

#include "core/net/dhcp.h"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    uint32_t xid = 0;
    core::MacAddress mac;
    if (size >= 8)
        xid = uint32_t(data[4]) << 24 | uint32_t(data[5]) << 16 | uint32_t(data[6]) << 8 | data[7];
    if (size >= 34)
        std::memcpy(mac.bytes.data(), data + 28, 6);
    auto reply = core::dhcp::parse_reply(fuzz::bytes_of(data, size), xid, mac);
    if (reply)
        (void)core::dhcp::lease_from_ack(*reply, reply->server_id.value_or(reply->server_address));
    return 0;
}
