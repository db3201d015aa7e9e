// SPDX-License-Identifier: GPL-2.0-or-later
// An LVM physical volume: the label, the PV header, the metadata area
// headers and the metadata text they point at.
#include "tests/fuzz/fuzz_support.h"

#include "core/system/lvm.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    fuzz::InputFile input(fuzz::bytes_of(data, size));
    auto scan = core::read_lvm_pv(input.fd(), "fuzz pv");
    if (scan && *scan && !(*scan)->copies.empty())
        (void)core::choose_lvm_metadata(std::move((*scan)->copies), "");
    return 0;
}
