// SPDX-License-Identifier: GPL-2.0-or-later
// x86_64 classic kexec_load: the system call, and the bzImage loader
// (64-bit boot protocol: the protected-mode kernel, boot_params with the
// e820 map, the initrd) whose segments core/kexec/classic.cpp loads with
// our purgatory (purgatory/, arch/x86_64/purgatory/).
#include "arch/host.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <sys/syscall.h>

namespace arch {

// Generated from arch/x86_64/purgatory/ by purgatory/embed.py.
extern uint8_t const x86_64_purgatory[];
extern size_t const x86_64_purgatory_bytes;

namespace {

constexpr long syscall_kexec_load = 246;
#ifdef SYS_kexec_load
static_assert(SYS_kexec_load == syscall_kexec_load);
#endif
constexpr uint16_t em_x86_64 = 62;

constexpr uint64_t page_bytes = 4096;
constexpr uint64_t mebibyte = 1024 * 1024;
constexpr uint64_t below_4g_last = 0xffffffff;

// The setup header inside the image and inside boot_params (same offsets:
// boot_params embeds it at 0x1f1). Documentation/arch/x86/boot.rst.
constexpr uint64_t offset_setup_sects = 0x1f1;  // u8, 0 means 4
constexpr uint64_t offset_setup_header = 0x1f1;
constexpr uint64_t offset_jump = 0x200;         // the header ends at 0x202 + this byte's value
constexpr uint64_t offset_type_of_loader = 0x210;
constexpr uint64_t offset_ramdisk_image = 0x218;
constexpr uint64_t offset_ramdisk_size = 0x21c;
constexpr uint64_t offset_cmd_line_ptr = 0x228;
constexpr uint64_t offset_kernel_alignment = 0x230;
constexpr uint64_t offset_relocatable = 0x234;
constexpr uint64_t offset_xloadflags = 0x236;   // u16
constexpr uint64_t offset_cmdline_size = 0x238;
constexpr uint64_t offset_hardware_subarch = 0x23c; // u32, then u64 hardware_subarch_data
constexpr uint64_t offset_pref_address = 0x258;
constexpr uint64_t offset_init_size = 0x260;
// boot_params outside the setup header (arch/x86/include/uapi/asm/bootparam.h).
constexpr uint64_t offset_screen_info_end = 0x40;
constexpr uint64_t offset_acpi_rsdp_addr = 0x70;
constexpr uint64_t offset_ext_ramdisk_image = 0xc0;
constexpr uint64_t offset_ext_ramdisk_size = 0xc4;
constexpr uint64_t offset_ext_cmd_line_ptr = 0xc8;
constexpr uint64_t offset_e820_entries = 0x1e8; // u8
constexpr uint64_t offset_e820_table = 0x2d0;   // {u64 addr, u64 size, u32 type}[128]
constexpr uint64_t e820_entry_bytes = 20;
constexpr size_t e820_max_entries = 128;        // more needs SETUP_E820_EXT setup_data
constexpr uint64_t boot_params_bytes = 4096;
constexpr uint64_t startup_64_offset = 0x200;   // the 64-bit entry, from the protected-mode kernel's start
constexpr uint8_t loader_undefined = 0xff;

enum E820Type : uint32_t { e820_ram = 1, e820_reserved = 2, e820_acpi = 3, e820_nvs = 4, e820_unusable = 5, e820_pmem = 7, e820_pram = 12, e820_soft_reserved = 0xefffffff };

struct E820Entry {
    uint64_t start;
    uint64_t bytes;
    uint32_t type;
};

// /sys/firmware/memmap's and /proc/iomem's names for the e820 types.
std::optional<uint32_t> e820_type_of(std::string_view name)
{
    if (name == "System RAM")
        return e820_ram;
    if (name == "Reserved" || name == "reserved")
        return e820_reserved;
    if (name == "ACPI Tables")
        return e820_acpi;
    if (name == "ACPI Non-volatile Storage")
        return e820_nvs;
    if (name == "Unusable memory")
        return e820_unusable;
    if (name == "Persistent Memory")
        return e820_pmem;
    if (name == "Persistent Memory (legacy)")
        return e820_pram;
    if (name == "Soft Reserved")
        return e820_soft_reserved;
    return std::nullopt;
}

E820Entry e820_of(PhysicalRange const& range, uint32_t type) { return { range.start, range.bytes(), type }; }

// For -l: the firmware's map as the running kernel got it, which
// /sys/firmware/memmap keeps unchanged; /proc/iomem's top level without it.
core::Result<std::vector<E820Entry>> boot_memory_map(ClassicLoadInput const& input)
{
    std::vector<E820Entry> map;
    std::string root = core::cat(input.sysfs_root, "/firmware/memmap");
    auto names = core::list_directory(root);
    if (names.ok() && !names.value().empty()) {
        for (auto const& name : names.value()) {
            std::string directory = core::cat(root, "/", name);
            auto start_text = TRY(core::read_text_file(core::cat(directory, "/start"), 64).context(directory));
            auto end_text = TRY(core::read_text_file(core::cat(directory, "/end"), 64).context(directory));
            auto type_text = TRY(core::read_text_file(core::cat(directory, "/type"), 128).context(directory));
            uint64_t start = TRY(core::parse_u64(core::trim(start_text), core::cat(directory, "/start"), 16));
            uint64_t last = TRY(core::parse_u64(core::trim(end_text), core::cat(directory, "/end"), 16));
            if (last < start)
                return core::Error::invalid(core::cat(directory, ": ends before it starts"));
            auto type = e820_type_of(core::trim(type_text));
            map.push_back(e820_of({ start, last }, type.value_or(e820_reserved)));
        }
    } else {
        for (auto const& entry : input.iomem)
            if (entry.depth == 0)
                if (auto type = e820_type_of(entry.name))
                    map.push_back(e820_of(entry.range, *type));
    }
    std::sort(map.begin(), map.end(), [](auto const& a, auto const& b) { return a.start < b.start; });
    return map;
}

// For -p: what the crash kernel may use and must know, as the kernel's
// own crash_setup_memmap_entries (arch/x86/kernel/crash.c) builds it: RAM
// below 1 MiB, the ACPI tables and NVS, reserved ranges, and the crash
// reservation(s) minus the ELF core header.
std::vector<E820Entry> crash_memory_map(ClassicLoadInput const& input)
{
    std::vector<E820Entry> map;
    for (auto const& entry : input.iomem) {
        // The kernel walks the whole resource tree by descriptor: a
        // reserved range is often nested (PCI MMCONFIG's "Reserved").
        auto type = e820_type_of(entry.name);
        if (entry.depth == 0 && type == e820_ram && entry.range.start < mebibyte)
            map.push_back(e820_of({ entry.range.start, std::min(entry.range.last, mebibyte - 1) }, e820_ram));
        else if (type == e820_acpi || type == e820_nvs || type == e820_reserved)
            map.push_back(e820_of(entry.range, *type));
    }
    for (auto const& range : input.crash_usable)
        map.push_back(e820_of(range, e820_ram));
    std::sort(map.begin(), map.end(), [](auto const& a, auto const& b) { return a.start < b.start; });
    return map;
}

// What the running kernel was given that a new one needs too: the console
// (screen_info), ACPI's RSDP, the platform. EFI's memory map and runtime
// services are not passed (no setup_data), so an EFI machine's capture
// kernel finds ACPI through acpi_rsdp_addr alone.
void copy_running_boot_params(std::string const& sysfs_root, std::vector<uint8_t>& params)
{
    auto running = core::read_file_bytes(core::cat(sysfs_root, "/kernel/boot_params/data"), boot_params_bytes);
    if (!running.ok() || running.value().size() < boot_params_bytes)
        return;
    auto const& bytes = running.value();
    std::copy(bytes.begin(), bytes.begin() + offset_screen_info_end, params.begin());
    std::copy(bytes.begin() + offset_acpi_rsdp_addr, bytes.begin() + offset_acpi_rsdp_addr + 8, params.begin() + offset_acpi_rsdp_addr);
    std::copy(bytes.begin() + offset_hardware_subarch, bytes.begin() + offset_hardware_subarch + 12, params.begin() + offset_hardware_subarch);
}

bool running_five_level_paging(std::string const& proc_root)
{
    auto cpuinfo = core::read_text_file(core::cat(proc_root, "/cpuinfo"), 16 << 20);
    if (!cpuinfo.ok())
        return false;
    for (auto line : core::split(cpuinfo.value(), '\n'))
        if (line.starts_with("flags") && (core::cat(line, " ").find(" la57 ") != std::string::npos))
            return true;
    return false;
}

void put_u32(std::vector<uint8_t>& bytes, uint64_t offset, uint32_t value) { core::store_uint(bytes.data() + offset, 4, value, core::Endian::Little); }
void put_u64(std::vector<uint8_t>& bytes, uint64_t offset, uint64_t value) { core::store_uint(bytes.data() + offset, 8, value, core::Endian::Little); }

} // namespace

long kexec_load_syscall_number() { return syscall_kexec_load; }

unsigned long kexec_load_arch_flags() { return static_cast<unsigned long>(em_x86_64) << 16; }

uint16_t host_elf_machine() { return em_x86_64; }

core::Result<ClassicLoadPlan> plan_classic_load(ClassicLoadInput const& input, FindHole const& find_hole)
{
    auto kernel = input.kernel;
    auto probed = TRY(probe_kernel_image(kernel.subspan(0, std::min<size_t>(kernel.size(), kernel_image_probe_bytes()))));
    core::ByteReader header(kernel, core::Endian::Little, "bzImage setup header");
    uint64_t setup_sects = TRY(header.u8(offset_setup_sects));
    uint64_t setup_bytes = ((setup_sects == 0 ? 4 : setup_sects) + 1) * 512;
    uint64_t header_end = 0x202 + TRY(header.u8(offset_jump + 1));
    if (setup_bytes >= kernel.size() || header_end > setup_bytes || header_end > offset_e820_table)
        return core::Error::with_code(ENOEXEC, core::cat("the bzImage's setup (", setup_bytes, " bytes, header to ", core::hex(header_end), ") does not fit its ", kernel.size(), " bytes"));
    // relocate_kernel leaves CR4.LA57 set on a machine in 5-level paging
    // (the kernel clears cpuinfo's la57 flag when it is not): a kernel
    // without XLF_5LEVEL then dies silently in startup_64.
    constexpr uint16_t xlf_5level = 1 << 5;
    if (!(TRY(header.u16(offset_xloadflags)) & xlf_5level) && running_five_level_paging(input.proc_root))
        return core::Error::with_code(ENOEXEC, "this machine runs 5-level paging (la57 in /proc/cpuinfo) and the bzImage cannot start under it (XLF_5LEVEL is not set); load a kernel built with CONFIG_X86_5LEVEL, or boot this one with no5lvl");
    uint64_t alignment = TRY(header.u32(offset_kernel_alignment));
    bool relocatable = TRY(header.u8(offset_relocatable)) != 0;
    uint64_t pref_address = TRY(header.u64(offset_pref_address));
    uint64_t init_size = TRY(header.u32(offset_init_size));
    uint64_t cmdline_max = TRY(header.u32(offset_cmdline_size));
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        alignment = 2 * mebibyte;

    std::string cmdline = input.cmdline;
    if (input.crash && input.elfcorehdr)
        cmdline += core::cat(cmdline.empty() ? "" : " ", "elfcorehdr=", input.elfcorehdr->start / 1024, "K");
    if (cmdline.size() > cmdline_max)
        return core::Error::invalid(core::cat("the command line is ", cmdline.size(), " bytes, but this bzImage takes at most ", cmdline_max, "; drop some parameters"));

    ClassicLoadPlan plan;

    // The protected-mode kernel: it decompresses itself in place, so it
    // needs init_size bytes from where it is loaded.
    auto protected_mode = kernel.subspan(setup_bytes);
    uint64_t kernel_memory = std::max<uint64_t>(init_size, protected_mode.size());
    // A relocatable kernel loaded below its pref_address (LOAD_PHYSICAL_ADDR)
    // still decompresses into [pref_address, +init_size) (head_64.S), over
    // memory this load never claimed: kexec's page tables may live there,
    // and the crashed kernel's memory does in a panic load. So not below it.
    HoleRequest kernel_hole { .bytes = kernel_memory, .alignment = alignment, .min_physical = std::max(mebibyte, pref_address), .what = "kernel" };
    if (!relocatable) {
        kernel_hole.min_physical = pref_address;
        kernel_hole.max_physical = pref_address + kernel_memory - 1;
    }
    uint64_t kernel_at = TRY(find_hole(kernel_hole));
    plan.segments.push_back({ std::vector<uint8_t>(protected_mode.begin(), protected_mode.end()), kernel_at, kernel_memory, "kernel" });

    std::optional<uint64_t> initrd_at;
    if (!input.initrd.empty()) {
        initrd_at = TRY(find_hole({ .bytes = input.initrd.size(), .alignment = page_bytes, .min_physical = mebibyte, .top_down = true, .what = "initrd" }));
        plan.segments.push_back({ std::vector<uint8_t>(input.initrd.begin(), input.initrd.end()), *initrd_at, input.initrd.size(), "initrd" });
    }

    std::vector<E820Entry> map = input.crash ? crash_memory_map(input) : TRY(boot_memory_map(input));
    if (map.size() > e820_max_entries)
        return core::Error::unsupported(core::cat("the memory map has ", map.size(), " entries; boot_params holds ", e820_max_entries, " and this loader does not pass the rest (SETUP_E820_EXT)"));

    // boot_params, then the command line in the same segment.
    uint64_t params_bytes = boot_params_bytes + cmdline.size() + 1;
    HoleRequest params_hole { .bytes = params_bytes, .alignment = page_bytes, .min_physical = mebibyte, .max_physical = below_4g_last, .what = "boot_params" };
    auto params_placed = find_hole(params_hole);
    if (!params_placed.ok()) {
        params_hole.max_physical = UINT64_MAX;
        params_placed = find_hole(params_hole);
    }
    uint64_t params_at = TRY(std::move(params_placed));
    std::vector<uint8_t> params(params_bytes, 0);
    std::copy(kernel.begin() + offset_setup_header, kernel.begin() + header_end, params.begin() + offset_setup_header);
    // After the image's setup header, which holds hardware_subarch too.
    copy_running_boot_params(input.sysfs_root, params);
    params[offset_type_of_loader] = loader_undefined;
    uint64_t cmdline_at = params_at + boot_params_bytes;
    std::copy(cmdline.begin(), cmdline.end(), params.begin() + boot_params_bytes);
    put_u32(params, offset_cmd_line_ptr, static_cast<uint32_t>(cmdline_at));
    put_u32(params, offset_ext_cmd_line_ptr, static_cast<uint32_t>(cmdline_at >> 32));
    if (initrd_at) {
        put_u32(params, offset_ramdisk_image, static_cast<uint32_t>(*initrd_at));
        put_u32(params, offset_ext_ramdisk_image, static_cast<uint32_t>(*initrd_at >> 32));
        put_u32(params, offset_ramdisk_size, static_cast<uint32_t>(input.initrd.size()));
        put_u32(params, offset_ext_ramdisk_size, static_cast<uint32_t>(input.initrd.size() >> 32));
    }
    params[offset_e820_entries] = static_cast<uint8_t>(map.size());
    for (size_t i = 0; i < map.size(); i++) {
        uint64_t at = offset_e820_table + i * e820_entry_bytes;
        put_u64(params, at, map[i].start);
        put_u64(params, at + 8, map[i].bytes);
        put_u32(params, at + 16, map[i].type);
    }
    plan.segments.push_back({ std::move(params), params_at, params_bytes, "boot_params" });

    plan.registers[0] = kernel_at + startup_64_offset;
    plan.registers[1] = params_at;
    plan.description = core::cat(probed.format, " at ", core::hex(kernel_at), ", boot_params at ", core::hex(params_at), " with ", map.size(), " e820 entries",
        initrd_at ? core::cat(", initrd at ", core::hex(*initrd_at)) : std::string(), ", entry ", core::hex(plan.registers[0]));
    return plan;
}

// The kernel reserves the low 1 MiB since 5.6 and its own crash header
// leaves it out (arch/x86/kernel/crash.c); so do we.
std::vector<PhysicalRange> crash_dump_excluded_ranges() { return { PhysicalRange { 0, mebibyte - 1 } }; }

std::span<uint8_t const> purgatory_blob() { return { x86_64_purgatory, x86_64_purgatory_bytes }; }

} // namespace arch
