// SPDX-License-Identifier: GPL-2.0-or-later
// kdump.conf and the settings file (/etc/default/kdump): the one parser,
// and what is derived from the settings (the capture command line,
// KEXEC_ARGS). The same text goes through both.
#include "tests/fuzz/fuzz_support.h"

#include "core/config/kdump_conf.h"
#include "core/kexec/kexec_command.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto text = fuzz::text_of(data, size);
    (void)core::parse_kdump_conf(text, "kdump.conf");
    (void)core::split_command_words(text);
    auto settings = core::parse_kdump_settings(text, "kdump");
    if (settings)
        (void)core::build_capture_cmdline("root=/dev/sda1 ro quiet crashkernel=256M", *settings);
    return 0;
}
