// SPDX-License-Identifier: GPL-2.0-or-later
// The files kdump start records for the capture side: the resolved target
// and the network plan.
#include "tests/fuzz/fuzz_support.h"

#include "core/net/network.h"
#include "core/system/resolved_target.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto text = fuzz::text_of(data, size);
    if (auto target = core::parse_resolved_target(text, "resolved-target"))
        (void)core::format_resolved_target(*target);
    (void)core::parse_network_plan(text, "network-plan");
    return 0;
}
