// SPDX-License-Identifier: GPL-2.0-or-later
// No kexec support for this CPU yet: loads report ENOSYS through core/kexec
// and image probing says plainly that this build cannot check the format.
#include "arch/host.h"

#include "core/base/strings.h"

#include <cerrno>

namespace arch {

long kexec_file_load_syscall_number() { return -1; }

size_t kernel_image_probe_bytes() { return 4096; }

core::Result<KernelImage> probe_kernel_image(std::span<uint8_t const>)
{
    return core::Error::unsupported(core::cat("loading kernels with kexec is not supported on this architecture (", host_name(), ") by this build"));
}

bool is_image_format_rejection(int errno_code) { return errno_code == ENOEXEC || errno_code == EINVAL; }

std::string_view kernel_image_hint() { return {}; }

} // namespace arch
