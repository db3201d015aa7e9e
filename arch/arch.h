// SPDX-License-Identifier: GPL-2.0-or-later
// The per-CPU interface. Each arch/<cpu>/ directory implements it; meson picks
// the directory from the host CPU family, and arch/unsupported/ answers
// "not supported" for the rest, so core/ never tests for a CPU itself.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace core {
class PhysicalMemory;
class VmcoreInfo;
}

namespace arch {

// The name Linux uses for this architecture (uname -m).
std::string_view name();
// Whether this build has the per-CPU parts kdump needs (page tables, kexec
// image formats, capture command-line defaults).
bool supported();

// Kernel virtual to physical addresses, for the crashed kernel.
class AddressTranslator {
public:
    virtual ~AddressTranslator() = default;
    virtual core::Result<uint64_t> to_physical(uint64_t vaddr) const = 0;
    // The value the kdump sub-header's phys_base field carries (x86_64: the
    // kernel's phys_base; arm64: PHYS_OFFSET).
    virtual uint64_t phys_base() const = 0;
};

// Builds the translator from VMCOREINFO (x86_64: init_top_pgt, phys_base,
// KERNELOFFSET, 4- or 5-level paging) reading page tables from physical.
// Missing VMCOREINFO entries are an error naming them.
core::Result<std::unique_ptr<AddressTranslator>> make_translator(core::VmcoreInfo const& info, core::PhysicalMemory const& physical);

// kexec (arch/<cpu>/kexec.cpp): what core/kexec needs to know about this
// CPU's kexec_file_load(2) and the kernel image format it takes.

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

} // namespace arch

namespace arch {

// Capture command-line defaults (arch/<cpu>/arch.cpp): the
// KDUMP_COMMANDLINE_REMOVE and KDUMP_COMMANDLINE_APPEND values kdumpbox uses
// when the settings file does not set them. Space-separated; a remove entry
// is a parameter name (it drops every word with that key), or a whole
// word with '=' (it drops only that word). Empty where the CPU is unsupported.
std::string_view capture_cmdline_remove_default();
std::string_view capture_cmdline_append_default();

} // namespace arch
