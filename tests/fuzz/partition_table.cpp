// SPDX-License-Identifier: GPL-2.0-or-later
// GPT and MBR partition tables on a disk image.
#include "tests/fuzz/fuzz_support.h"

#include "core/system/partition_table.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    fuzz::InputFile input(fuzz::bytes_of(data, size));
    (void)core::read_partition_table(input.fd(), "fuzzdisk");
    return 0;
}
