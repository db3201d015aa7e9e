// SPDX-License-Identifier: GPL-2.0-or-later
// arm64 kexec: the kexec_file_load number and the Image header checks the
// kernel's own arm64 Image loader makes (arch/arm64/kernel/kexec_image.c),
// done here first so a refusal names the reason. The header layout is the
// arm64 boot protocol's (Documentation/arch/arm64/booting.rst): 64 bytes,
// little-endian whatever the kernel's own byte order.
#include "arch/host.h"

#include "core/base/bytes.h"
#include "core/base/strings.h"

#include <cerrno>
#include <sys/syscall.h>

namespace arch {

namespace {

// The generic system call table's number (include/uapi/asm-generic/unistd.h).
constexpr long syscall_kexec_file_load = 294;
#ifdef SYS_kexec_file_load
static_assert(SYS_kexec_file_load == syscall_kexec_file_load);
#endif

constexpr uint64_t offset_text_offset = 8;  // u64: where in a 2 MiB block the kernel runs
constexpr uint64_t offset_image_size = 16;  // u64: memory the kernel needs, bss included; 0 before 3.17
constexpr uint64_t offset_flags = 24;       // u64
constexpr uint64_t offset_magic = 56;       // u32 "ARM\x64"
constexpr uint64_t header_bytes = 64;

constexpr uint32_t image_magic = 0x644d5241; // "ARM\x64", little-endian
constexpr uint16_t pe_magic = 0x5a4d;        // "MZ": an EFI stub kernel is also a PE file
constexpr uint32_t zboot_magic = 0x676d697a; // "zimg" at offset 4: EFI zboot, compressed inside PE

// flags: bit 0 the kernel's byte order (1: big-endian); bits 1-2 its page
// size (0 unspecified, 1 4K, 2 16K, 3 64K).
constexpr uint64_t flag_big_endian = 1;
constexpr unsigned page_size_shift = 1;
constexpr uint64_t page_size_mask = 3;

// The arm64 boot protocol has no command-line limit in the header; the
// kernel's COMMAND_LINE_SIZE has been 2048 on arm64 since its first release.
constexpr uint64_t arm64_max_cmdline_bytes = 2047;

std::string_view page_size_text(uint64_t code)
{
    switch (code) {
    case 1: return "4K pages";
    case 2: return "16K pages";
    case 3: return "64K pages";
    default: return "page size unspecified";
    }
}

core::Error not_an_image(std::string_view why) { return core::Error::with_code(ENOEXEC, core::cat("not an arm64 Image: ", why)); }

} // namespace

long kexec_file_load_syscall_number() { return syscall_kexec_file_load; }

size_t kernel_image_probe_bytes() { return 4096; }

core::Result<KernelImage> probe_kernel_image(std::span<uint8_t const> head)
{
    core::ByteReader reader(head, core::Endian::Little, "arm64 Image header");
    if (head.size() < header_bytes)
        return not_an_image(core::cat("only ", head.size(), " bytes, too short for the 64-byte Image header"));
    bool efi_stub = reader.u16(0).value() == pe_magic;
    if (efi_stub && reader.u32(4).value() == zboot_magic)
        return core::Error::unsupported("an EFI zboot image (the kernel compressed inside a PE file), which kexec cannot start; load the Image it holds (the plain Image from the kernel build, or vmlinuz from a distribution that ships a gzip-compressed Image)");
    if (reader.u32(offset_magic).value() != image_magic)
        return not_an_image(core::cat("no \"ARM\\x64\" magic at ", core::hex(offset_magic)));

    uint64_t image_size = reader.u64(offset_image_size).value();
    uint64_t flags = reader.u64(offset_flags).value();
    if (image_size == 0)
        return core::Error::unsupported("the Image header has no image_size (a kernel older than 3.17), which kexec_file_load refuses");
    if (flags & flag_big_endian)
        return core::Error::unsupported("a big-endian kernel; this little-endian system's kexec_file_load refuses it");

    KernelImage image;
    image.format = core::cat("arm64 Image", efi_stub ? " with EFI stub" : "", ", ", page_size_text((flags >> page_size_shift) & page_size_mask),
        ", text_offset ", core::hex(reader.u64(offset_text_offset).value()));
    image.max_cmdline_bytes = arm64_max_cmdline_bytes;
    // A crash kernel learns of its elfcorehdr from the device tree, not the
    // command line: nothing to keep free there.
    image.cmdline_reserve_bytes = 0;
    image.memory_bytes = image_size;
    return image;
}

// arm64's loader says EINVAL for an image it does not understand where x86
// says ENOEXEC (older kernels passed the probe's EINVAL through).
bool is_image_format_rejection(int errno_code) { return errno_code == ENOEXEC || errno_code == EINVAL; }

std::string_view kernel_image_hint() { return "arm64: an uncompressed or gzip-compressed little-endian Image (Debian's vmlinuz), built for a page size this CPU supports"; }

} // namespace arch
