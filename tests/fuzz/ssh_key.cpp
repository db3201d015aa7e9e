// SPDX-License-Identifier: GPL-2.0-or-later
// The private key file of the ssh target (OpenSSH and PEM forms).
#include "tests/fuzz/fuzz_support.h"

#include "core/net/ssh_key.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto text = fuzz::text_of(data, size);
    (void)core::parse_ssh_private_key(text, "id_fuzz");
    (void)core::parse_openssh_private_key(text, "id_fuzz");
    return 0;
}
