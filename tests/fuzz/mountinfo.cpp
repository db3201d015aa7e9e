// SPDX-License-Identifier: GPL-2.0-or-later
// /proc/self/mountinfo, and which mount holds a path.
#include "tests/fuzz/fuzz_support.h"

#include "core/system/mountinfo.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto mounts = core::parse_mountinfo(fuzz::text_of(data, size), "mountinfo");
    if (!mounts)
        return 0;
    (void)core::mount_holding_resolved(*mounts, "/var/crash/127.0.0.1-2026-01-01-00:00:00");
    for (auto const& mount : *mounts)
        (void)core::mount_option_value(mount.super_options, "subvol");
    return 0;
}
