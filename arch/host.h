// SPDX-License-Identifier: GPL-2.0-or-later
// The host CPU: what kexec and the capture command line need to know about
// the CPU kdumpbox itself runs on. Chosen at build time: meson compiles
// arch/<host cpu>/host_*.cpp, or arch/unsupported/ (no kexec on this host)
// where that CPU has none. Reading dumps is the dump CPU's business
// (arch/dump_arch.h), chosen at run time; see arch/README.md.
#pragma once

#include "core/base/error.h"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

// ---- Classic kexec_load(2) (arch/<cpu>/host_classic.cpp) ----
// core/kexec does the generic part (core/kexec/classic.h: /proc/iomem, the
// hole finder, the crash ELF core header, the purgatory's parameter block,
// the system call); the CPU builds its boot protocol's segments here.

// The kexec_load system call number (x86_64 246, arm64 104), or -1 where
// this CPU (or this build) has none; core/kexec then reports ENOSYS.
long kexec_load_syscall_number();
// KEXEC_ARCH_<cpu> (the host's ELF e_machine) in bits 16-31 of kexec_load's
// flags: x86_64 62 << 16, arm64 183 << 16.
unsigned long kexec_load_arch_flags();
// The host's ELF e_machine, for the crash ELF core header (EM_X86_64 62).
uint16_t host_elf_machine();

// A physical address range, both ends inclusive as /proc/iomem prints them
// (so a range can end at the top of the address space).
struct PhysicalRange {
    uint64_t start { 0 };
    uint64_t last { 0 };
    uint64_t bytes() const { return last - start + 1; } // 0 for the whole 2^64 space
    bool operator==(PhysicalRange const&) const = default;
};

// One /proc/iomem line; the tree is kept flat, in file order, with depth.
struct IomemEntry {
    PhysicalRange range;
    std::string name;  // "System RAM", "Crash kernel", "Kernel code", "ACPI Tables"...
    unsigned depth { 0 }; // 0 top level, 1 its children (two spaces each)...
};

// One piece of what kexec_load copies: `bytes` go to dest_physical, and the
// rest of memory_bytes is zero-filled. core/kexec rounds memory_bytes up to
// whole pages and checks page alignment and overlaps before the call.
struct ClassicSegment {
    std::vector<uint8_t> bytes;
    uint64_t dest_physical { 0 };
    uint64_t memory_bytes { 0 };
    std::string what; // "kernel", "initrd", "boot_params", "dtb", "elfcorehdr", "purgatory"
};

// Room for a segment: core/kexec's hole finder searches System RAM (-l) or
// the crash reservation (-p), lowest fitting address first unless top_down,
// and marks what it returns as taken.
struct HoleRequest {
    uint64_t bytes { 0 };
    uint64_t alignment { 4096 };
    uint64_t min_physical { 0 };
    uint64_t max_physical { UINT64_MAX }; // the last byte may be at most this
    bool top_down { false };
    std::string_view what; // for errors: "kernel", "initrd"
};
using FindHole = std::function<core::Result<uint64_t>(HoleRequest const&)>;

// Registers the purgatory sets before it jumps to the new kernel (the
// parameter block's `registers`, see core/kexec/README.md). x86_64: [0] the
// 64-bit entry (rip), [1] boot_params (rsi). arm64: [0] the entry (pc),
// [1] the DTB (x0).
using PurgatoryRegisters = std::array<uint64_t, 8>;

struct ClassicLoadInput {
    bool crash { false };                // -p: the crash kernel
    std::span<uint8_t const> kernel;     // the uncompressed image
    std::span<uint8_t const> initrd;     // empty: none
    std::string cmdline;                 // without elfcorehdr=; the CPU adds what its protocol needs
    std::vector<IomemEntry> iomem;       // /proc/iomem, all levels
    std::vector<PhysicalRange> crash_reservations; // -p: "Crash kernel" ranges
    std::optional<PhysicalRange> elfcorehdr;       // -p: where core/kexec put the ELF core header
    std::vector<PhysicalRange> crash_usable;       // -p: the reservations minus the ELF core header
    std::string sysfs_root { "/sys" };   // firmware/memmap, firmware/fdt, firmware/efi...
    std::string proc_root { "/proc" };
};

struct ClassicLoadPlan {
    std::vector<ClassicSegment> segments; // everything but the ELF core header and the purgatory
    PurgatoryRegisters registers {};
    std::string description;              // "bzImage at 0x..., boot_params at 0x..., initrd at 0x..."
};

// Builds the segments of this CPU's boot protocol (x86_64: bzImage +
// boot_params/e820 + initrd; arm64: Image + DTB + initrd), placing each with
// find_hole. ENOSYS where this CPU has no classic loader.
core::Result<ClassicLoadPlan> plan_classic_load(ClassicLoadInput const& input, FindHole const& find_hole);
// Ranges a crash dump leaves out besides the crash reservations (x86_64:
// the low 1 MiB, always reserved since 5.6, as the kernel's own header does).
std::vector<PhysicalRange> crash_dump_excluded_ranges();
// This CPU's flat purgatory blob (its header: core/kexec/README.md); empty
// where there is none.
std::span<uint8_t const> purgatory_blob();

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
