// SPDX-License-Identifier: GPL-2.0-or-later
// The VMCOREINFO note's text, and every typed lookup of it.
#include "tests/fuzz/fuzz_support.h"

#include "core/vmcore/vmcoreinfo.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto info = core::VmcoreInfo::parse(fuzz::text_of(data, size));
    if (!info)
        return 0;
    (void)info->osrelease();
    (void)info->page_size();
    (void)info->kernel_offset();
    (void)info->crash_time();
    (void)info->symbol("prb");
    (void)info->size("page");
    (void)info->offset("page.flags");
    (void)info->length("mem_section");
    (void)info->number("NR_FREE_PAGES");
    (void)info->value("BUILD-ID");
    return 0;
}
