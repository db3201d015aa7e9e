// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel image kexec is given: its header (bzImage, Image, ...), and a
// gzip or zstd wrapper unwrapped into a memfd.
#include "tests/fuzz/fuzz_support.h"

#include "core/kexec/kexec.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    fuzz::InputFile input(fuzz::bytes_of(data, size));
    auto probed = core::kexec::probe_image(input.fd(), "vmlinuz-fuzz");
    if (probed && probed->compression != core::StreamFormat::None)
        (void)core::kexec::unwrap_image(input.fd(), probed->compression, "vmlinuz-fuzz");
    return 0;
}
