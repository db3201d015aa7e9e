// SPDX-License-Identifier: GPL-2.0-or-later
// File-system superblocks (blkid's job: type, UUID, label) on a device
// image.
#include "tests/fuzz/fuzz_support.h"

#include "core/system/blkid.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    fuzz::InputFile input(fuzz::bytes_of(data, size));
    (void)core::probe_filesystem(input.fd(), "fuzz device");
    return 0;
}
