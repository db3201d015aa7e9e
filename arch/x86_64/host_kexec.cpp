// SPDX-License-Identifier: GPL-2.0-or-later
// x86_64 kexec: the kexec_file_load number and the bzImage checks the
// kernel's own 64-bit bzImage loader makes, done here first so a refusal
// names the reason instead of a bare ENOEXEC. Offsets are those of the x86
// boot protocol (Documentation/arch/x86/boot.rst).
#include "arch/host.h"

#include "core/base/bytes.h"
#include "core/base/strings.h"

#include <cerrno>
#include <sys/syscall.h>

namespace arch {

namespace {

constexpr long syscall_kexec_file_load = 320;
#ifdef SYS_kexec_file_load
static_assert(SYS_kexec_file_load == syscall_kexec_file_load);
#endif

// Setup header fields.
constexpr uint64_t offset_boot_flag = 0x1fe;    // u16 0xaa55
constexpr uint64_t offset_header_magic = 0x202; // "HdrS"
constexpr uint64_t offset_version = 0x206;      // u16 major.minor
constexpr uint64_t offset_loadflags = 0x211;    // u8
constexpr uint64_t offset_xloadflags = 0x236;   // u16, protocol 2.12
constexpr uint64_t offset_cmdline_size = 0x238; // u32, protocol 2.06
constexpr uint64_t offset_init_size = 0x260;    // u32, protocol 2.10
constexpr uint64_t header_end_2_12 = 0x264;

constexpr uint16_t boot_flag = 0xaa55;
constexpr uint32_t header_magic = 0x53726448; // "HdrS", little-endian
constexpr uint16_t oldest_protocol = 0x020c;  // 2.12: xloadflags
constexpr uint8_t loaded_high = 1 << 0;
constexpr uint16_t xlf_kernel_64 = 1 << 0;
constexpr uint16_t xlf_can_be_loaded_above_4g = 1 << 1;

// The kernel writes "elfcorehdr=0x<address> " in front of a crash kernel's
// command line and keeps this much room for it.
constexpr uint64_t elfcorehdr_reserve_bytes = 30;

std::string protocol_text(uint16_t version) { return core::cat(version >> 8, '.', version & 0xff); }

core::Error not_a_bzimage(std::string_view why) { return core::Error::with_code(ENOEXEC, core::cat("not an x86 bzImage: ", why)); }

} // namespace

long kexec_file_load_syscall_number() { return syscall_kexec_file_load; }

size_t kernel_image_probe_bytes() { return 4096; }

core::Result<KernelImage> probe_kernel_image(std::span<uint8_t const> head)
{
    core::ByteReader reader(head, core::Endian::Little, "bzImage header");
    if (!core::extent_within(offset_version, 2, head.size()))
        return not_a_bzimage(core::cat("only ", head.size(), " bytes, too short for the boot header"));
    if (reader.u16(offset_boot_flag).value() != boot_flag)
        return not_a_bzimage(core::cat("no boot sector signature (0xaa55 at ", core::hex(offset_boot_flag), ")"));
    if (reader.u32(offset_header_magic).value() != header_magic)
        return not_a_bzimage(core::cat("no Linux boot header (\"HdrS\" at ", core::hex(offset_header_magic), ")"));

    uint16_t version = reader.u16(offset_version).value();
    if (version < oldest_protocol)
        return core::Error::unsupported(core::cat("bzImage boot protocol ", protocol_text(version), " is older than 2.12, the oldest 64-bit boot protocol kexec loads (kexec_file_load and kdumpbox -c alike); use a kernel from 3.8 or later"));
    if (head.size() < header_end_2_12)
        return not_a_bzimage(core::cat("the boot protocol ", protocol_text(version), " header is truncated (", head.size(), " bytes, it runs to ", core::hex(header_end_2_12), ")"));

    uint8_t loadflags = reader.u8(offset_loadflags).value();
    uint16_t xloadflags = reader.u16(offset_xloadflags).value();
    if (!(loadflags & loaded_high))
        return core::Error::unsupported("a zImage (loaded below 1 MiB), not a bzImage; kexec_file_load takes bzImages only");
    if (!(xloadflags & xlf_kernel_64))
        return core::Error::unsupported("a 32-bit kernel (XLF_KERNEL_64 is not set); kexec_file_load on x86_64 starts 64-bit kernels only");
    if (!(xloadflags & xlf_can_be_loaded_above_4g))
        return core::Error::unsupported("the kernel cannot be placed above 4 GiB (XLF_CAN_BE_LOADED_ABOVE_4G is not set), which kexec_file_load and kdumpbox -c both require");

    KernelImage image;
    image.format = core::cat("bzImage, boot protocol ", protocol_text(version));
    image.max_cmdline_bytes = reader.u32(offset_cmdline_size).value();
    image.cmdline_reserve_bytes = elfcorehdr_reserve_bytes;
    image.memory_bytes = reader.u32(offset_init_size).value();
    return image;
}

bool is_image_format_rejection(int errno_code) { return errno_code == ENOEXEC; }

std::string_view kernel_image_hint() { return "x86_64: a 64-bit bzImage built with 5-level paging support if this machine uses it"; }

} // namespace arch
