// SPDX-License-Identifier: GPL-2.0-or-later
// The host CPU: what kexec and the capture command line need to know about
// the CPU kdumpbox itself runs on. Chosen at build time: meson compiles
// arch/<host cpu>/host_*.cpp, or arch/unsupported/ (no kexec on this host)
// where that CPU has none. Reading dumps is the dump CPU's business
// (arch/dump_arch.h), chosen at run time; see arch/README.md.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace arch {

// The name Linux uses for the host CPU (uname -m).
std::string_view host_name();
// Whether this build can load and configure a capture kernel on this host
// (kexec image formats, capture command-line defaults).
bool host_supported();

// kexec (arch/<cpu>/host_kexec.cpp): what core/kexec needs to know about
// this CPU's kexec_file_load(2) and the kernel image format it takes.

// The kexec_file_load system call number, or -1 where this CPU (or this
// build) has none; core/kexec then reports ENOSYS.
long kexec_file_load_syscall_number();

// What the probe learnt from an image's header.
struct KernelImage {
    std::string format;                          // "bzImage, boot protocol 2.15"
    std::optional<uint64_t> max_cmdline_bytes;   // the header's limit, NUL excluded
    uint64_t cmdline_reserve_bytes { 0 };        // kept by the kernel for elfcorehdr=
    uint64_t memory_bytes { 0 };                 // memory it needs to run (x86: init_size); 0 unknown
};

// How many leading bytes of the file probe_kernel_image wants to see.
size_t kernel_image_probe_bytes();
// Checks an uncompressed image's header against what this CPU's
// kexec_file_load accepts. ENOEXEC: not a kernel image of this CPU at all;
// ENOTSUP: a kernel image, but one the kernel's loader refuses (the message
// says why).
core::Result<KernelImage> probe_kernel_image(std::span<uint8_t const> head);
// Whether kexec_file_load failing with this errno means "image format not
// understood" (x86: ENOEXEC; arm64 says EINVAL), which is when a compressed
// image is unwrapped in user space and tried again.
bool is_image_format_rejection(int errno_code);
// Which kernel image the kernel's loader takes, for the advice after an
// ENOEXEC ("x86_64: a 64-bit bzImage ..."); empty where there is none.
std::string_view kernel_image_hint();

// Capture command-line defaults (arch/<cpu>/host_cmdline.cpp): the
// KDUMP_COMMANDLINE_REMOVE and KDUMP_COMMANDLINE_APPEND values kdumpbox uses
// when the settings file does not set them. Space-separated; a remove entry
// is a parameter name (it drops every word with that key), or a whole
// word with '=' (it drops only that word). Empty where the host is
// unsupported.
std::string_view capture_cmdline_remove_default();
std::string_view capture_cmdline_append_default();

// `kdump get-default-crashkernel`: the crashkernel= value to put on the
// kernel command line, in its ranges syntax (RAM range:reservation), as
// kdump-utils prints for the same command, sized for kdumpbox's capture
// (arch/<cpu>/host_cmdline.cpp says how). Empty where the host is
// unsupported.
std::string_view default_crashkernel();

} // namespace arch
