// SPDX-License-Identifier: GPL-2.0-or-later
// KEXEC_ARGS of the settings file, through kexec's own option declarations.
#include "tests/fuzz/fuzz_support.h"

#include "core/kexec/kexec_command.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    (void)core::kexec::parse_capture_kexec_args(fuzz::text_of(data, size));
    return 0;
}
