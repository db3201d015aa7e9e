// SPDX-License-Identifier: GPL-2.0-or-later
// arm64 classic kexec_load: the system call, and the Image loader
// (Documentation/arch/arm64/booting.rst): the Image at a 2 MiB aligned base
// plus its text_offset, the initrd and the DTB above it (the running
// kernel's /sys/firmware/fdt with /chosen rewritten, core/base/fdt_chosen.h),
// entered through our purgatory (arch/aarch64/purgatory/) with x0 = the DTB.
#include "arch/host.h"

#include "core/base/bytes.h"
#include "core/base/fdt_chosen.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <sys/syscall.h>

namespace arch {

// Generated from arch/aarch64/purgatory/ by purgatory/embed.py.
extern uint8_t const aarch64_purgatory[];
extern size_t const aarch64_purgatory_bytes;

namespace {

constexpr long syscall_kexec_load = 104;
#if defined(__aarch64__) && defined(SYS_kexec_load)
static_assert(SYS_kexec_load == syscall_kexec_load);
#endif
constexpr uint16_t em_aarch64 = 183;

// The Image header (booting.rst): all fields little-endian.
constexpr uint64_t header_bytes = 64;
constexpr uint64_t text_offset_at = 8;
constexpr uint64_t image_size_at = 16;
constexpr uint64_t flags_at = 24;
constexpr uint64_t magic_at = 56;
constexpr uint32_t image_magic = 0x644d5241; // "ARM\x64"
constexpr uint64_t flag_big_endian = 1u << 0;
constexpr uint64_t flag_page_size_shift = 1;
constexpr uint64_t flag_page_size_mask = 3u << flag_page_size_shift;
// Bit 3 clear: the kernel cannot use memory below its 2 MiB aligned base,
// so the base goes as low in RAM as it can (the hole finder's lowest hole).
constexpr uint64_t flag_anywhere = 1u << 3;

constexpr uint64_t kernel_alignment = 2ull << 20;
constexpr uint64_t dtb_max_bytes = 2ull << 20;
constexpr uint64_t page_bytes = 4096;
// booting.rst: the kernel and initrd must lie within one 32 GiB window that
// starts at a 1 GiB boundary (the smallest linear map maps that much).
constexpr uint64_t one_gib = 1ull << 30;
constexpr uint64_t window_bytes = 32 * one_gib;

struct ImageHeader {
    uint64_t text_offset;
    uint64_t image_size;
    uint64_t flags;
};

core::Result<ImageHeader> read_image_header(std::span<uint8_t const> kernel)
{
    core::ByteReader reader(kernel, core::Endian::Little, "arm64 Image header");
    if (kernel.size() < header_bytes)
        return core::Error::with_code(ENOEXEC, "arm64 Image: " + std::to_string(kernel.size()) + " bytes, shorter than its 64-byte header");
    if (TRY(reader.u32(magic_at)) != image_magic)
        return core::Error::with_code(ENOEXEC, "arm64 Image: no \"ARM\\x64\" magic at offset 56; give an uncompressed Image (or a gzip/zstd-wrapped one)");
    ImageHeader header { TRY(reader.u64(text_offset_at)), TRY(reader.u64(image_size_at)), TRY(reader.u64(flags_at)) };
    if (header.image_size == 0)
        return core::Error::with_code(ENOEXEC, "arm64 Image: image_size is 0 (a kernel older than 3.17); its memory needs are unknown, so it is not loaded");
    if (header.flags & flag_big_endian)
        return core::Error::with_code(ENOEXEC, "arm64 Image: a big-endian kernel; this kdumpbox runs little-endian");
    if (header.text_offset % page_bytes != 0 || header.text_offset >= kernel_alignment)
        return core::Error::with_code(ENOEXEC, "arm64 Image: text_offset " + core::hex(header.text_offset) + " is not a page-aligned offset below 2 MiB");
    if (header.image_size > (1ull << 36))
        return core::Error::with_code(ENOEXEC, "arm64 Image: image_size " + core::hex(header.image_size) + " is implausible");
    return header;
}

std::string_view page_size_text(uint64_t flags)
{
    switch ((flags & flag_page_size_mask) >> flag_page_size_shift) {
    case 1:
        return "4K pages";
    case 2:
        return "16K pages";
    case 3:
        return "64K pages";
    }
    return "page size unspecified";
}

core::fdt::Range fdt_range(PhysicalRange const& range) { return { range.start, range.bytes() }; }

} // namespace

long kexec_load_syscall_number() { return syscall_kexec_load; }

unsigned long kexec_load_arch_flags() { return static_cast<unsigned long>(em_aarch64) << 16; }

uint16_t host_elf_machine() { return em_aarch64; }

core::Result<ClassicLoadPlan> plan_classic_load(ClassicLoadInput const& input, FindHole const& find_hole)
{
    ImageHeader header = TRY(read_image_header(input.kernel));
    uint64_t kernel_memory_bytes = core::align_up(std::max<uint64_t>(header.image_size, input.kernel.size()), page_bytes);
    if (input.crash && input.crash_reservations.empty())
        return core::Error::with_code(EADDRNOTAVAIL, "no \"Crash kernel\" range in /proc/iomem: reserve memory with crashkernel= on the kernel command line");

    // The kernel: [base, base + text_offset + image_size), base 2 MiB aligned.
    HoleRequest kernel_request;
    kernel_request.bytes = header.text_offset + kernel_memory_bytes;
    kernel_request.alignment = kernel_alignment;
    kernel_request.what = "kernel";
    uint64_t base = TRY(find_hole(kernel_request));
    uint64_t kernel_start = base + header.text_offset;
    uint64_t kernel_end = kernel_start + kernel_memory_bytes;

    ClassicLoadPlan plan;
    plan.segments.push_back(ClassicSegment { std::vector<uint8_t>(input.kernel.begin(), input.kernel.end()), kernel_start, kernel_memory_bytes, "kernel" });

    // The initrd, the DTB (and core/kexec's purgatory) go above the kernel.
    core::fdt::ChosenRequest chosen;
    chosen.cmdline = input.cmdline;
    std::string initrd_text;
    if (!input.initrd.empty()) {
        HoleRequest initrd_request;
        initrd_request.bytes = core::align_up(input.initrd.size(), page_bytes);
        initrd_request.min_physical = kernel_end;
        initrd_request.what = "initrd";
        uint64_t initrd_start = TRY(find_hole(initrd_request));
        uint64_t window_start = base / one_gib * one_gib;
        if (core::align_up(initrd_start + input.initrd.size(), one_gib) - window_start > window_bytes)
            return core::Error::with_code(ENOMEM, "arm64: the initrd at " + core::hex(initrd_start) + " lies more than 32 GiB above the kernel at " + core::hex(kernel_start) + "; the kernel cannot map it");
        plan.segments.push_back(ClassicSegment { std::vector<uint8_t>(input.initrd.begin(), input.initrd.end()), initrd_start, initrd_request.bytes, "initrd" });
        chosen.initrd = core::fdt::Range { initrd_start, input.initrd.size() };
        initrd_text = ", initrd at " + core::hex(initrd_start);
    }
    if (input.crash) {
        if (!input.elfcorehdr)
            return core::Error::invalid("arm64 crash load without an ELF core header");
        chosen.elfcorehdr = fdt_range(*input.elfcorehdr);
        for (auto const& range : input.crash_reservations)
            chosen.usable_memory.push_back(fdt_range(range));
    }

    std::vector<uint8_t> dtb = TRY(core::fdt::build_next_device_tree(input.sysfs_root, chosen));
    if (dtb.size() > dtb_max_bytes)
        return core::Error::with_code(E2BIG, "arm64: the device tree for the new kernel is " + std::to_string(dtb.size()) + " bytes, more than the 2 MiB the kernel accepts");
    HoleRequest dtb_request;
    dtb_request.bytes = core::align_up(dtb.size(), page_bytes);
    dtb_request.min_physical = kernel_end;
    dtb_request.what = "dtb";
    uint64_t dtb_start = TRY(find_hole(dtb_request));
    uint64_t dtb_memory_bytes = dtb_request.bytes;
    plan.segments.push_back(ClassicSegment { std::move(dtb), dtb_start, dtb_memory_bytes, "dtb" });

    plan.registers[0] = kernel_start; // pc
    plan.registers[1] = dtb_start;    // x0
    plan.description = core::cat("arm64 Image (", page_size_text(header.flags), (header.flags & flag_anywhere) ? ", placed anywhere" : ", near the start of RAM", ") at ", core::hex(kernel_start), initrd_text, ", dtb at ", core::hex(dtb_start));
    return plan;
}

// arm64's own crash header covers all of System RAM minus the reservation.
std::vector<PhysicalRange> crash_dump_excluded_ranges() { return {}; }

std::span<uint8_t const> purgatory_blob() { return { aarch64_purgatory, aarch64_purgatory_bytes }; }

} // namespace arch
