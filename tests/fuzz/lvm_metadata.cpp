// SPDX-License-Identifier: GPL-2.0-or-later
// LVM's metadata text (core/system/lvm_format), and the recorded volume
// file of the lvm target (parse_lvm_volume).
#include "tests/fuzz/fuzz_support.h"

#include "core/system/lvm.h"
#include "core/system/lvm_format.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto text = fuzz::text_of(data, size);
    (void)core::parse_lvm_metadata(text);
    (void)core::parse_lvm_volume(text, "fuzz volume");
    return 0;
}
