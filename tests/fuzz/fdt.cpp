// SPDX-License-Identifier: GPL-2.0-or-later
// Flattened device trees (/sys/firmware/fdt, which the arm64 classic loader
// rewrites): parse, and for what parses, serialise and parse again, which
// must give the same blob back.
#include "tests/fuzz/fuzz_support.h"

#include "core/base/fdt.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto tree = core::fdt::parse({ data, size });
    if (!tree)
        return 0;
    auto blob = core::fdt::serialise(tree.value());
    auto again = core::fdt::parse(blob);
    if (!again || core::fdt::serialise(again.value()) != blob)
        abort(); // our own output must read back unchanged
    return 0;
}
