// SPDX-License-Identifier: GPL-2.0-or-later
// What the host reads back from a dump directory: the status file, the
// report record, and the dmesg text's panic line and kernel release.
#include "tests/fuzz/fuzz_support.h"

#include "core/control/dump_report.h"
#include "core/system/dump_status.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto text = fuzz::text_of(data, size);
    (void)core::parse_dump_status(text, "status");
    (void)core::parse_report_record(text, "report");
    (void)core::panic_line(text);
    (void)core::kernel_release_from_dmesg(text);
    (void)core::is_dump_directory_name(text);
    (void)core::dump_directory_time(text);
    return 0;
}
