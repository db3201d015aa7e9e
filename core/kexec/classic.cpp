// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/kexec/classic.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "purgatory/purgatory.h"
#include "purgatory/sha256.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace core::kexec {

namespace {

constexpr uint64_t page_bytes = 4096;
// /proc/iomem of a big machine runs to a few thousand lines.
constexpr size_t max_iomem_bytes = 4 << 20;
// Linux has no more CPUs than this (NR_CPUS tops out at 8192).
constexpr size_t max_cpus = 8192;
// When crash_notes_size is missing (before 4.14): kexec-tools' MAX_NOTE_BYTES.
constexpr uint64_t fallback_note_bytes = 4096;
// /proc/kcore's ELF and program headers: a PT_LOAD per memory block, vmalloc
// and modules areas; a few hundred at most.
constexpr uint64_t max_kcore_header_bytes = 1 << 20;
constexpr uint64_t kcore_invalid_paddr = UINT64_MAX; // vmalloc, modules: no physical address

constexpr uint64_t elf_header_bytes = 64;
constexpr uint64_t elf_program_header_bytes = 56;
constexpr uint32_t pt_load = 1;
constexpr uint32_t pt_note = 4;
constexpr uint32_t pf_rwx = 7;

uint64_t pages_up(uint64_t bytes) { return align_up(bytes, page_bytes); }

Result<PhysicalRange> parse_range(std::string_view text, std::string_view what)
{
    size_t dash = text.find('-');
    if (dash == std::string_view::npos)
        return Error::invalid(cat(what, ": '", text, "' is not a start-end range"));
    uint64_t start = TRY(parse_u64(trim(text.substr(0, dash)), what, 16));
    uint64_t last = TRY(parse_u64(trim(text.substr(dash + 1)), what, 16));
    if (last < start)
        return Error::invalid(cat(what, ": '", text, "' ends before it starts"));
    return PhysicalRange { start, last };
}

bool is_ram_name(std::string_view name) { return name == "System RAM" || name.starts_with("System RAM ("); }

} // namespace

std::string classic_flags_text(unsigned long flags)
{
    std::vector<std::string> names;
    if (flags & classic_on_crash)
        names.push_back("KEXEC_ON_CRASH");
    unsigned long arch_bits = flags >> 16;
    if (arch_bits == 62)
        names.push_back("KEXEC_ARCH_X86_64");
    else if (arch_bits == 183)
        names.push_back("KEXEC_ARCH_AARCH64");
    else if (arch_bits != 0)
        names.push_back(cat("KEXEC_ARCH(", arch_bits, ")"));
    unsigned long other = flags & 0xfffe;
    if (other)
        names.push_back(hex(other));
    return names.empty() ? std::string("0") : join(names, "|");
}

// ---- The system call ----

int real_kexec_load(uint64_t entry, std::span<Segment const> segments, unsigned long flags)
{
    long number = arch::kexec_load_syscall_number();
    if (number < 0)
        return ENOSYS;
    // struct kexec_segment (linux/kexec.h): the kernel copies these in.
    struct KernelSegment {
        void const* buf;
        size_t bufsz;
        unsigned long mem;
        size_t memsz;
    };
    std::vector<KernelSegment> table;
    table.reserve(segments.size());
    for (auto const& segment : segments)
        table.push_back({ segment.bytes.data(), segment.bytes.size(), static_cast<unsigned long>(segment.dest_physical), static_cast<size_t>(segment.memory_bytes) });
    if (::syscall(number, static_cast<unsigned long>(entry), static_cast<unsigned long>(table.size()), table.empty() ? nullptr : table.data(), flags) == 0)
        return 0;
    return errno;
}

// ---- /proc/iomem ----

Result<std::vector<IomemEntry>> parse_iomem(std::string_view text)
{
    std::vector<IomemEntry> entries;
    bool any_nonzero = false;
    size_t line_number = 0;
    for (auto line : split(text, '\n')) {
        line_number++;
        if (trim(line).empty())
            continue;
        size_t indent = line.find_first_not_of(' ');
        size_t colon = line.find(" : ");
        std::string what = cat("/proc/iomem line ", line_number);
        if (colon == std::string_view::npos || colon < indent)
            return Error::invalid(cat(what, ": '", line, "' is not \"start-end : name\""));
        IomemEntry entry;
        entry.range = TRY(parse_range(line.substr(indent, colon - indent), what));
        entry.name = std::string(trim(line.substr(colon + 3)));
        entry.depth = static_cast<unsigned>(indent / 2);
        any_nonzero = any_nonzero || entry.range.last != 0;
        entries.push_back(std::move(entry));
    }
    if (entries.empty())
        return Error::invalid("/proc/iomem is empty");
    if (!any_nonzero)
        return Error::with_code(EPERM, "/proc/iomem shows only zero addresses, as it does to readers without CAP_SYS_ADMIN; run as root");
    return entries;
}

Result<std::vector<IomemEntry>> read_iomem(SystemPaths const& paths)
{
    std::string path = cat(paths.proc, "/iomem");
    auto text = TRY(read_text_file(path, max_iomem_bytes).context(path));
    return parse_iomem(text);
}

std::vector<PhysicalRange> iomem_ranges(std::span<IomemEntry const> iomem, std::string_view name)
{
    std::vector<PhysicalRange> ranges;
    for (auto const& entry : iomem)
        if (entry.name == name)
            ranges.push_back(entry.range);
    std::sort(ranges.begin(), ranges.end(), [](auto const& a, auto const& b) { return a.start < b.start; });
    return ranges;
}

std::vector<PhysicalRange> subtract_ranges(std::vector<PhysicalRange> ranges, std::span<PhysicalRange const> holes)
{
    for (auto const& hole : holes) {
        std::vector<PhysicalRange> kept;
        for (auto const& range : ranges) {
            if (hole.last < range.start || hole.start > range.last) {
                kept.push_back(range);
                continue;
            }
            if (hole.start > range.start)
                kept.push_back({ range.start, hole.start - 1 });
            if (hole.last < range.last)
                kept.push_back({ hole.last + 1, range.last });
        }
        ranges = std::move(kept);
    }
    std::sort(ranges.begin(), ranges.end(), [](auto const& a, auto const& b) { return a.start < b.start; });
    return ranges;
}

std::vector<PhysicalRange> crash_memory_ranges(std::span<IomemEntry const> iomem)
{
    // RAM at any depth (virtio-mem and dax/kmem add it below other
    // entries), but not RAM nested inside RAM, which would count twice.
    std::vector<PhysicalRange> ram;
    std::optional<unsigned> inside_ram_depth;
    for (auto const& entry : iomem) {
        if (inside_ram_depth && entry.depth > *inside_ram_depth)
            continue;
        inside_ram_depth.reset();
        if (is_ram_name(entry.name)) {
            ram.push_back(entry.range);
            inside_ram_depth = entry.depth;
        }
    }
    std::sort(ram.begin(), ram.end(), [](auto const& a, auto const& b) { return a.start < b.start; });
    auto excluded = iomem_ranges(iomem, "Crash kernel");
    for (auto const& range : arch::crash_dump_excluded_ranges())
        excluded.push_back(range);
    return subtract_ranges(std::move(ram), excluded);
}

// ---- Placing segments ----

HoleFinder::HoleFinder(std::vector<PhysicalRange> free_ranges, bool crash)
    : m_free(std::move(free_ranges))
    , m_crash(crash)
{
    std::sort(m_free.begin(), m_free.end(), [](auto const& a, auto const& b) { return a.start < b.start; });
}

Result<uint64_t> HoleFinder::find(arch::HoleRequest const& request)
{
    uint64_t alignment = std::max(request.alignment, page_bytes);
    if (request.bytes == 0 || (alignment & (alignment - 1)) != 0)
        return Error::invalid(cat("placing the ", request.what, ": ", request.bytes, " bytes aligned to ", alignment, " is not a valid request"));
    uint64_t bytes = pages_up(request.bytes);
    std::optional<uint64_t> best;
    uint64_t biggest_hole_bytes = 0;
    for (auto const& range : m_free) {
        uint64_t low = std::max(range.start, request.min_physical);
        uint64_t high = std::min(range.last, request.max_physical);
        if (range.bytes() > biggest_hole_bytes)
            biggest_hole_bytes = range.bytes();
        if (low > high || high - low + 1 < bytes)
            continue;
        uint64_t candidate;
        if (request.top_down) {
            candidate = (high - bytes + 1) / alignment * alignment;
            if (candidate < low)
                continue;
        } else {
            auto aligned = checked_add(low, alignment - 1);
            if (!aligned)
                continue;
            candidate = *aligned / alignment * alignment;
            if (candidate > high || high - candidate + 1 < bytes)
                continue;
        }
        if (!best || (request.top_down ? candidate > *best : candidate < *best))
            best = candidate;
    }
    if (!best) {
        std::string where = m_crash ? "the crash kernel reservation" : "System RAM";
        std::string message = cat("no room in ", where, " for the ", request.what, " (", bytes / 1024, " KiB aligned to ", alignment / 1024, " KiB, between ", hex(request.min_physical), " and ",
            hex(request.max_physical), "); the biggest free range left is ", biggest_hole_bytes / 1024, " KiB");
        if (m_crash)
            message += "; make crashkernel= bigger";
        return Error::with_code(m_crash ? EADDRNOTAVAIL : ENOMEM, message);
    }
    PhysicalRange taken { *best, *best + bytes - 1 };
    m_free = subtract_ranges(std::move(m_free), std::span(&taken, 1));
    return *best;
}

arch::FindHole HoleFinder::as_function()
{
    return [this](arch::HoleRequest const& request) { return find(request); };
}

// ---- The crash ELF core header ----

namespace {

Result<NoteLocation> read_cpu_note(std::string const& cpu_directory)
{
    std::string notes_path = cat(cpu_directory, "/crash_notes");
    auto address_text = TRY(read_text_file(notes_path, 64).context(notes_path));
    NoteLocation note;
    note.physical = TRY(parse_u64(trim(address_text), notes_path, 16));
    note.bytes = fallback_note_bytes;
    std::string size_path = cat(cpu_directory, "/crash_notes_size");
    if (path_exists(size_path)) {
        auto size_text = TRY(read_text_file(size_path, 64).context(size_path));
        note.bytes = TRY(parse_u64(trim(size_text), size_path, 10));
    }
    if (note.physical == 0 || note.bytes == 0 || note.bytes > 1 << 20)
        return Error::invalid(cat(notes_path, ": a note at ", hex(note.physical), " of ", note.bytes, " bytes is not usable"));
    return note;
}

// "0x000000007fe0b000 1024" (%pa %x), or "7fe0b000 1024" (older %lx %x).
Result<NoteLocation> read_vmcoreinfo_location(SystemPaths const& paths)
{
    std::string path = cat(paths.sysfs, "/kernel/vmcoreinfo");
    auto text = TRY(read_text_file(path, 128).context(path));
    auto words = split(trim(text), ' ');
    if (words.size() != 2)
        return Error::invalid(cat(path, ": '", trim(text), "' is not \"address size\""));
    NoteLocation note;
    note.physical = TRY(parse_u64(words[0], path, 16));
    note.bytes = TRY(parse_u64(words[1], path, 16));
    if (note.physical == 0 || note.bytes == 0 || note.bytes > 1 << 20)
        return Error::invalid(cat(path, ": a VMCOREINFO note at ", hex(note.physical), " of ", note.bytes, " bytes is not usable"));
    return note;
}

struct KcoreMapping {
    uint64_t virt_start;
    uint64_t phys_start;
    uint64_t bytes;
};

// /proc/kcore's PT_LOADs that have a physical address. Missing (no
// CONFIG_PROC_KCORE) or unreadable: none, and the header has no vaddrs.
// Read here rather than with core/vmcore/elf's parse_header, which rightly
// refuses what a vmcore must not have and kcore does: p_paddr -1.
std::vector<KcoreMapping> read_kcore_mappings(SystemPaths const& paths)
{
    std::string path = cat(paths.proc, "/kcore");
    auto fd = open_file(path, O_RDONLY);
    if (!fd.ok())
        return {};
    std::vector<uint8_t> head(elf_header_bytes);
    if (!pread_exact(fd.value().get(), head, 0, path).ok())
        return {};
    ByteReader elf(head, Endian::Little, "/proc/kcore ELF header");
    // ELF64 (class 2), in this machine's byte order: kcore is the running kernel.
    bool little = std::endian::native == std::endian::little;
    if (std::memcmp(head.data(), "\x7f" "ELF", 4) != 0 || head[4] != 2 || head[5] != (little ? 1 : 2))
        return {};
    elf.set_endian(little ? Endian::Little : Endian::Big);
    uint64_t phoff = elf.u64(32).value();
    uint64_t phentsize = elf.u16(54).value();
    uint64_t phnum = elf.u16(56).value();
    auto table_bytes = checked_mul(phentsize, phnum);
    if (phentsize < elf_program_header_bytes || !table_bytes || *table_bytes > max_kcore_header_bytes)
        return {};
    std::vector<uint8_t> table(*table_bytes);
    if (!pread_exact(fd.value().get(), table, phoff, path).ok())
        return {};
    ByteReader headers(table, elf.endian(), "/proc/kcore program headers");
    std::vector<KcoreMapping> mappings;
    for (uint64_t i = 0; i < phnum; i++) {
        uint64_t at = i * phentsize;
        if (headers.u32(at).value() != pt_load)
            continue;
        KcoreMapping mapping { headers.u64(at + 16).value(), headers.u64(at + 24).value(), headers.u64(at + 40).value() };
        if (mapping.phys_start != kcore_invalid_paddr && mapping.bytes > 0 && checked_add(mapping.phys_start, mapping.bytes))
            mappings.push_back(mapping);
    }
    return mappings;
}

} // namespace

Result<CrashHeaderFacts> read_crash_header_facts(std::span<IomemEntry const> iomem, SystemPaths const& paths)
{
    CrashHeaderFacts facts;
    facts.e_machine = arch::host_elf_machine();

    std::string cpu_root = cat(paths.sysfs, "/devices/system/cpu");
    auto names = TRY(list_directory(cpu_root).context(cpu_root));
    std::vector<std::pair<uint64_t, std::string>> cpus;
    for (auto const& name : names) {
        if (!name.starts_with("cpu") || name.size() == 3 || name.find_first_not_of("0123456789", 3) != std::string::npos)
            continue;
        auto number = parse_u64(std::string_view(name).substr(3), "CPU number");
        if (number.ok() && cpus.size() < max_cpus)
            cpus.emplace_back(number.value(), name);
    }
    std::sort(cpus.begin(), cpus.end());
    for (auto const& [number, name] : cpus) {
        std::string directory = cat(cpu_root, "/", name);
        // Only present CPUs have crash notes; a possible-but-absent one has no directory.
        if (!path_exists(cat(directory, "/crash_notes")))
            continue;
        facts.cpu_notes.push_back(TRY(read_cpu_note(directory)));
    }
    if (facts.cpu_notes.empty())
        return Error::with_code(ENOENT, cat(cpu_root, ": no CPU has crash_notes; this kernel was built without CONFIG_CRASH_DUMP, so it cannot be dumped"));
    facts.vmcoreinfo = TRY(read_vmcoreinfo_location(paths));
    facts.memory = crash_memory_ranges(iomem);
    if (facts.memory.empty())
        return Error::invalid("/proc/iomem has no System RAM outside the crash kernel reservation");

    // The linear map is the vaddr - paddr most of kcore's RAM shares; the
    // kernel text is the mapping of "Kernel code" that is not linear.
    auto mappings = read_kcore_mappings(paths);
    std::map<uint64_t, uint64_t> bytes_by_offset;
    for (auto const& mapping : mappings)
        bytes_by_offset[mapping.virt_start - mapping.phys_start] += mapping.bytes;
    if (!bytes_by_offset.empty()) {
        auto linear = std::max_element(bytes_by_offset.begin(), bytes_by_offset.end(), [](auto const& a, auto const& b) { return a.second < b.second; });
        facts.linear_map_offset = linear->first;
        auto code = iomem_ranges(iomem, "Kernel code");
        for (auto const& mapping : mappings) {
            bool holds_code = !code.empty() && code.front().start >= mapping.phys_start && code.front().start - mapping.phys_start < mapping.bytes;
            if (holds_code && mapping.virt_start - mapping.phys_start != linear->first) {
                facts.kernel_text_vaddr = mapping.virt_start;
                facts.kernel_text = PhysicalRange { mapping.phys_start, mapping.phys_start + mapping.bytes - 1 };
                break;
            }
        }
    }
    return facts;
}

uint64_t crash_header_bytes(CrashHeaderFacts const& facts)
{
    uint64_t headers = facts.cpu_notes.size() + 1 + (facts.kernel_text ? 1 : 0) + facts.memory.size();
    return pages_up(elf_header_bytes + headers * elf_program_header_bytes);
}

std::vector<uint8_t> build_crash_elf_header(CrashHeaderFacts const& facts)
{
    ByteWriter out(Endian::Little);
    uint64_t count = facts.cpu_notes.size() + 1 + (facts.kernel_text ? 1 : 0) + facts.memory.size();
    // e_ident: ELF magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE.
    out.put_bytes(0, std::span<uint8_t const>(reinterpret_cast<uint8_t const*>("\x7f" "ELF\x02\x01\x01"), 7));
    out.put_u16(16, 4); // ET_CORE
    out.put_u16(18, facts.e_machine);
    out.put_u32(20, 1); // EV_CURRENT
    out.put_u64(24, 0); // e_entry
    out.put_u64(32, elf_header_bytes);
    out.put_u64(40, 0); // e_shoff
    out.put_u32(48, 0); // e_flags
    out.put_u16(52, elf_header_bytes);
    out.put_u16(54, elf_program_header_bytes);
    out.put_u16(56, static_cast<uint16_t>(std::min<uint64_t>(count, 0xffff)));

    uint64_t at = elf_header_bytes;
    auto put = [&](uint32_t type, uint32_t flags, uint64_t physical, uint64_t virt, uint64_t bytes) {
        out.put_u32(at, type);
        out.put_u32(at + 4, flags);
        out.put_u64(at + 8, physical);  // p_offset: /proc/vmcore reads the old memory here
        out.put_u64(at + 16, virt);
        out.put_u64(at + 24, physical);
        out.put_u64(at + 32, bytes);
        out.put_u64(at + 40, bytes);
        out.put_u64(at + 48, 0);
        at += elf_program_header_bytes;
    };
    for (auto const& note : facts.cpu_notes)
        put(pt_note, 0, note.physical, 0, note.bytes);
    put(pt_note, 0, facts.vmcoreinfo.physical, 0, facts.vmcoreinfo.bytes);
    if (facts.kernel_text)
        put(pt_load, pf_rwx, facts.kernel_text->start, facts.kernel_text_vaddr.value_or(0), facts.kernel_text->bytes());
    for (auto const& range : facts.memory)
        put(pt_load, pf_rwx, range.start, facts.linear_map_offset ? *facts.linear_map_offset + range.start : 0, range.bytes());
    out.resize(crash_header_bytes(facts));
    auto bytes = out.bytes();
    return { bytes.begin(), bytes.end() };
}

// ---- The purgatory ----

Result<PurgatoryLayout> read_purgatory_layout(std::span<uint8_t const> blob)
{
    ByteReader reader(blob, Endian::Little, "purgatory header");
    auto magic = TRY(reader.bytes(PURGATORY_HEADER_MAGIC, 8));
    if (std::memcmp(magic.data(), PURGATORY_MAGIC, 8) != 0)
        return Error::invalid("the built-in purgatory has no KDBXPURG header; the build is broken");
    uint32_t version = TRY(reader.u32(PURGATORY_HEADER_VERSION));
    if (version != PURGATORY_VERSION)
        return Error::invalid(cat("the built-in purgatory is version ", version, ", this kdumpbox fills version ", PURGATORY_VERSION));
    PurgatoryLayout layout;
    layout.entry_offset = TRY(reader.u32(PURGATORY_HEADER_ENTRY_OFFSET));
    layout.params_offset = TRY(reader.u32(PURGATORY_HEADER_PARAMS_OFFSET));
    layout.memory_bytes = TRY(reader.u32(PURGATORY_HEADER_MEMORY_BYTES));
    if (layout.entry_offset >= blob.size() || !extent_within(layout.params_offset, PURGATORY_PARAMS_BYTES, blob.size()) || layout.params_offset % 8 != 0 || layout.memory_bytes < blob.size())
        return Error::invalid(cat("the built-in purgatory's header is inconsistent (entry ", hex(layout.entry_offset), ", parameters ", hex(layout.params_offset), ", ", layout.memory_bytes, " bytes, blob ",
            blob.size(), " bytes)"));
    return layout;
}

std::array<uint8_t, 32> segments_digest(std::span<Segment const> segments)
{
    sha256_state state;
    sha256_init(&state);
    for (auto const& segment : segments)
        sha256_update(&state, segment.bytes.data(), segment.bytes.size());
    std::array<uint8_t, 32> digest {};
    sha256_final(&state, digest.data());
    return digest;
}

Result<std::vector<uint8_t>> fill_purgatory(std::span<uint8_t const> blob, std::span<Segment const> verified, arch::PurgatoryRegisters const& registers, bool skip_check)
{
    auto layout = TRY(read_purgatory_layout(blob));
    if (verified.size() > PURGATORY_MAX_REGIONS)
        return Error::invalid(cat(verified.size(), " segments to check, the purgatory takes at most ", PURGATORY_MAX_REGIONS));
    std::vector<uint8_t> filled(blob.begin(), blob.end());
    uint8_t* params = filled.data() + layout.params_offset;
    std::memset(params, 0, PURGATORY_PARAMS_BYTES);
    auto digest = segments_digest(verified);
    std::memcpy(params + PURGATORY_PARAMS_DIGEST, digest.data(), digest.size());
    for (size_t i = 0; i < verified.size(); i++) {
        store_uint(params + PURGATORY_PARAMS_REGIONS + i * PURGATORY_REGION_BYTES, 8, verified[i].dest_physical, Endian::Little);
        store_uint(params + PURGATORY_PARAMS_REGIONS + i * PURGATORY_REGION_BYTES + 8, 8, verified[i].bytes.size(), Endian::Little);
    }
    for (size_t i = 0; i < registers.size(); i++)
        store_uint(params + PURGATORY_PARAMS_REGISTERS + i * 8, 8, registers[i], Endian::Little);
    store_uint(params + PURGATORY_PARAMS_FLAGS, 8, skip_check ? PURGATORY_FLAG_SKIP_CHECK : 0, Endian::Little);
    return filled;
}

// ---- The whole classic load ----

namespace {

// What the kernel's sanity_check_segment_list refuses, checked first so the
// error names the segment.
Result<void> check_segments(std::vector<Segment>& segments)
{
    if (segments.size() > classic_max_segments)
        return Error::invalid(cat(segments.size(), " segments, kexec_load takes at most ", classic_max_segments));
    std::sort(segments.begin(), segments.end(), [](auto const& a, auto const& b) { return a.dest_physical < b.dest_physical; });
    for (size_t i = 0; i < segments.size(); i++) {
        auto& segment = segments[i];
        segment.memory_bytes = pages_up(std::max<uint64_t>(segment.memory_bytes, segment.bytes.size()));
        if (segment.dest_physical % page_bytes != 0)
            return Error::invalid(cat("the ", segment.what, " segment at ", hex(segment.dest_physical), " is not page-aligned"));
        if (i > 0 && segments[i - 1].dest_physical + segments[i - 1].memory_bytes > segment.dest_physical)
            return Error::invalid(cat("the ", segments[i - 1].what, " and ", segment.what, " segments overlap"));
    }
    return {};
}

std::string describe_classic(ClassicPlan const& plan)
{
    std::vector<std::string> parts;
    for (auto const& segment : plan.segments)
        parts.push_back(cat(segment.what, " ", hex(segment.dest_physical), "+", hex(segment.memory_bytes)));
    return cat("kexec_load(entry=", hex(plan.entry), ", ", plan.segments.size(), " segments: ", join(parts, ", "), "; flags=", classic_flags_text(plan.flags), ")");
}

} // namespace

Result<ClassicPlan> plan_classic(ClassicLoadRequest request, SystemPaths const& paths)
{
    bool crash = request.target == Target::Panic;
    auto blob = arch::purgatory_blob();
    if (arch::kexec_load_syscall_number() < 0 || blob.empty())
        return Error::with_code(ENOSYS, cat("classic kexec_load is not supported on this architecture (", arch::host_name(), ") by this build"));
    auto layout = TRY(read_purgatory_layout(blob));

    auto iomem = TRY(read_iomem(paths));
    arch::ClassicLoadInput input;
    input.crash = crash;
    input.kernel = request.kernel;
    input.initrd = request.initrd;
    input.cmdline = request.cmdline;
    input.sysfs_root = paths.sysfs;
    input.proc_root = paths.proc;

    std::vector<PhysicalRange> free_ranges;
    if (crash) {
        input.crash_reservations = iomem_ranges(iomem, "Crash kernel");
        if (input.crash_reservations.empty())
            return Error::with_code(EADDRNOTAVAIL, "/proc/iomem has no \"Crash kernel\" range: no memory is reserved for a crash kernel; add crashkernel= to the kernel command line and reboot");
        // With crashkernel=X,high (or the kernel's own fallback to high
        // memory) there are two "Crash kernel" ranges; the kernel accepts
        // crash segments only inside crashk_res, the high one
        // (sanity_check_segment_list), so segments go there alone. Both
        // stay usable memory for the crash kernel.
        free_ranges = { input.crash_reservations.back() };
    } else {
        // Firmware's reservations inside System RAM (UEFI's memory map,
        // ACPI tables, GICv3 LPI tables on arm64) and the crash kernel
        // stay untouched: the new kernel or the loaded crash kernel needs them.
        std::vector<PhysicalRange> keep_out;
        for (auto const& entry : iomem) {
            if (entry.depth == 0 && is_ram_name(entry.name))
                free_ranges.push_back(entry.range);
            else if (entry.depth > 0 && (entry.name == "reserved" || entry.name == "Reserved" || entry.name == "Crash kernel"))
                keep_out.push_back(entry.range);
        }
        free_ranges = subtract_ranges(std::move(free_ranges), keep_out);
    }
    HoleFinder finder(std::move(free_ranges), crash);

    std::vector<Segment> segments;
    if (crash) {
        auto facts = TRY(read_crash_header_facts(iomem, paths));
        uint64_t header_bytes = crash_header_bytes(facts);
        uint64_t at = TRY(finder.find({ .bytes = header_bytes, .alignment = page_bytes, .top_down = true, .what = "ELF core header" }));
        input.elfcorehdr = PhysicalRange { at, at + header_bytes - 1 };
        input.crash_usable = subtract_ranges(input.crash_reservations, std::span(&*input.elfcorehdr, 1));
        segments.push_back({ build_crash_elf_header(facts), at, header_bytes, "elfcorehdr" });
    }
    input.iomem = std::move(iomem);

    auto arch_plan = TRY(arch::plan_classic_load(input, finder.as_function()));
    for (auto& segment : arch_plan.segments)
        segments.push_back(std::move(segment));

    uint64_t purgatory_at = TRY(finder.find({ .bytes = layout.memory_bytes, .alignment = page_bytes, .what = "purgatory" }));
    auto purgatory = TRY(fill_purgatory(blob, segments, arch_plan.registers, request.skip_check));
    segments.push_back({ std::move(purgatory), purgatory_at, layout.memory_bytes, "purgatory" });
    TRY(check_segments(segments));

    ClassicPlan plan;
    plan.segments = std::move(segments);
    plan.entry = purgatory_at + layout.entry_offset;
    plan.flags = arch::kexec_load_arch_flags() | (crash ? classic_on_crash : 0);
    plan.description = describe_classic(plan);
    if (!arch_plan.description.empty())
        plan.description += cat(" (", arch_plan.description, ")");
    return plan;
}

Result<void> execute_classic(ClassicPlan const& plan, ClassicLoadCall const& call)
{
    log::debug(plan.description);
    int code = call(plan.entry, plan.segments, plan.flags);
    if (code != 0)
        return Error::with_code(code, cat("kexec_load: ", std::strerror(code)));
    return {};
}

Result<void> classic_unload(Target target, ClassicLoadCall const& call)
{
    unsigned long flags = target == Target::Panic ? classic_on_crash : 0;
    int code = call(0, {}, flags);
    if (code != 0)
        return Error::with_code(code, cat("kexec_load(0, 0, NULL, ", classic_flags_text(flags), "): ", std::strerror(code)));
    return {};
}

} // namespace core::kexec

namespace core::kexec {

namespace {

constexpr uint64_t max_kernel_bytes = 1ull << 30;
// An initrd this big would not fit a crash reservation anyway; the cap
// keeps a wrong path from reading a disk image into memory.
constexpr uint64_t max_initrd_bytes = 2ull << 30;

Error classic_failed(FailureKind* failure_kind, FailureKind kind, Error error)
{
    if (failure_kind)
        *failure_kind = kind;
    return error;
}

// The kernel image's bytes as the classic loader needs them: uncompressed.
Result<std::vector<uint8_t>> read_kernel_image(std::string const& path, std::string& format)
{
    auto fd = TRY(open_file(path, O_RDONLY).context(path));
    auto probed = TRY(probe_image(fd.get(), path));
    if (probed.image) {
        format = probed.image->format;
        return read_file_bytes(fd.get(), path, max_kernel_bytes);
    }
    auto unwrapped = TRY(unwrap_image(fd.get(), probed.compression, path));
    auto bytes = TRY(read_file_bytes(unwrapped.get(), path, max_kernel_bytes));
    format = cat("decompressed from ", stream_format_name(probed.compression));
    return bytes;
}

} // namespace

Result<LoadReport> load_classic(LoadRequest const& request, DryRun dry_run, FailureKind* failure_kind, SystemPaths const& paths, ClassicLoadCall const& call)
{
    FailureFacts facts;
    facts.target = request.target;
    facts.syscall = LoadSyscall::Classic;
    facts.kernel_path = request.kernel_path;
    facts.initrd_path = request.initrd_path;
    facts.cmdline_bytes = request.cmdline.empty() ? 0 : request.cmdline.size() + 1;

    ClassicLoadRequest classic;
    classic.target = request.target;
    classic.cmdline = request.cmdline;
    auto kernel = read_kernel_image(request.kernel_path, facts.kernel_format);
    if (!kernel.ok())
        return classic_failed(failure_kind, FailureKind::Failed, std::move(kernel).error());
    classic.kernel = std::move(kernel).release_value();
    facts.kernel_memory_bytes = classic.kernel.size();
    if (request.initrd_path) {
        auto initrd = read_file_bytes(*request.initrd_path, max_initrd_bytes);
        if (!initrd.ok())
            return classic_failed(failure_kind, FailureKind::Failed, std::move(initrd).error().with_context(*request.initrd_path));
        if (initrd.value().empty())
            return classic_failed(failure_kind, FailureKind::Failed, Error::invalid(cat(*request.initrd_path, ": the initrd is empty; give a real one, or leave --initrd out")));
        classic.initrd = std::move(initrd).release_value();
        facts.initrd_bytes = classic.initrd.size();
    }
    if (request.target == Target::Panic) {
        auto reservation = crash_reservation_bytes(paths);
        if (reservation.ok())
            facts.crash_reservation_bytes = reservation.value();
        auto loaded = is_loaded(Target::Panic, paths);
        if (loaded.ok())
            facts.crash_loaded_before = loaded.value();
    }

    auto plan = plan_classic(std::move(classic), paths);
    if (!plan.ok()) {
        // Planning changed nothing: a crash kernel loaded before stays loaded.
        int code = plan.error().errno_code();
        if (code == EADDRNOTAVAIL && facts.crash_reservation_bytes)
            return classic_failed(failure_kind, FailureKind::Failed,
                Error::with_code(code, cat(plan.error().message(), " (", reservation_too_small_text(*facts.crash_reservation_bytes, facts.kernel_memory_bytes, facts.initrd_bytes), ")")));
        return classic_failed(failure_kind, code == ENOSYS ? FailureKind::FileLoadUnusable : FailureKind::Failed, std::move(plan).error());
    }
    LoadReport report;
    report.syscall_used = LoadSyscall::Classic;
    report.description = plan.value().description;
    if (dry_run == DryRun::Yes)
        return report;
    auto done = execute_classic(plan.value(), call);
    if (!done.ok()) {
        int code = done.error().errno_code();
        facts.flags = plan.value().flags;
        gather_permission_facts(facts, paths);
        if (request.target == Target::Panic) {
            auto loaded = is_loaded(Target::Panic, paths);
            if (loaded.ok())
                facts.crash_loaded_after = loaded.value();
        }
        return classic_failed(failure_kind, FailureKind::Failed, explain_load_failure(code, facts));
    }
    LoadOutcome outcome;
    outcome.flags = plan.value().flags;
    report.outcome = outcome;
    log::debug(cat("loaded ", request.kernel_path, " as the ", target_name(request.target), " with classic kexec_load"));
    return report;
}

} // namespace core::kexec
