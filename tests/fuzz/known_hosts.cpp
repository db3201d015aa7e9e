// SPDX-License-Identifier: GPL-2.0-or-later
// known_hosts: the file, each line, and a host key checked against it.
#include "tests/fuzz/fuzz_support.h"

#include "core/net/known_hosts.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto text = fuzz::text_of(data, size);
    auto hosts = core::KnownHosts::parse(text, "known_hosts");
    static uint8_t const key_blob[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 1, 42 };
    (void)hosts.match("dump.example.com", 22, "ssh-ed25519", key_blob);
    (void)hosts.verify("192.168.1.5", 2222, key_blob);
    (void)hosts.key_types_for("dump.example.com", 22);
    for (auto const& entry : hosts.entries())
        (void)entry.matches_host("[dump.example.com]:2222", 2222);
    (void)core::base64_decode(text, "fuzz input");
    return 0;
}
