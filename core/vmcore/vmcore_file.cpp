// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/vmcore/vmcore_file.h"

#include "arch/dump_arch.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/vmcore/vmcoreinfo.h"

#include <algorithm>
#include <csetjmp>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>

namespace core {

namespace {

constexpr uint16_t elf_type_core = 4;
// makedumpfile's window size: on /proc/vmcore mmap() builds the page tables
// for the whole range at once, so a window must stay small enough for the
// capture kernel's memory (4 MiB costs 8 KiB of page tables).
constexpr uint64_t window_bytes = 4ull << 20;
// Enough for two collector threads plus the page filter's struct page and
// page-table reads to each keep their own window.
constexpr size_t max_cached_windows = 8;
// The notes are read into memory; this bounds a corrupt p_filesz. 8192 CPUs'
// NT_PRSTATUS notes take about 3.5 MiB.
constexpr uint64_t max_note_bytes = 64ull << 20;
constexpr uint64_t first_read_bytes = 4096;

Result<uint64_t> checked_page_size(uint64_t page_size, std::string const& path)
{
    if (page_size < 1024 || page_size > (1u << 20) || (page_size & (page_size - 1)) != 0)
        return Error::invalid(cat(path, ": VMCOREINFO PAGESIZE=", page_size, " is not a plausible page size (a power of two from 1 KiB to 1 MiB)"));
    return page_size;
}

// Without VMCOREINFO's PAGESIZE, the dumped CPU's only page size.
Result<uint64_t> dump_arch_page_size(uint16_t elf_machine, std::string const& path)
{
    auto const* dump_arch = TRY(arch::dump_arch_for_elf_machine(elf_machine).context(cat(path, ": the page size is unknown without VMCOREINFO PAGESIZE")));
    if (!dump_arch->fixed_page_size_bytes)
        return Error::invalid(cat(path, ": VMCOREINFO has no PAGESIZE, and ", dump_arch->name, " kernels have more than one page size"));
    return *dump_arch->fixed_page_size_bytes;
}

// --- Copies from a mapping that may fault ---------------------------------
// A page of /proc/vmcore the kernel cannot read (an I/O error, memory that
// vanished) raises SIGBUS on access through a mapping. During a copy, a
// SIGBUS handler of our own jumps back out of it, and the caller retries
// with pread, which reports the error as a value. The handler is installed
// only while a VmcoreFile reads through mmap (the first one opened
// installs it, the last one closed puts back whatever was there: PID 1's
// own handlers included), on the alternate stack if the process has one.
// A SIGBUS that is not a copy's puts the previous action back and returns,
// so the fault repeats and reaches it.

thread_local sigjmp_buf* t_copy_escape = nullptr;
std::mutex g_copy_guard_mutex;
unsigned g_copies_running = 0;
struct sigaction g_sigbus_before {};

void on_copy_sigbus(int, siginfo_t*, void*)
{
    if (sigjmp_buf* escape = t_copy_escape)
        siglongjmp(*escape, 1);
    ::sigaction(SIGBUS, &g_sigbus_before, nullptr);
}

class SigbusGuard {
public:
    SigbusGuard()
    {
        std::lock_guard lock(g_copy_guard_mutex);
        if (g_copies_running++ == 0) {
            struct sigaction action {};
            action.sa_sigaction = on_copy_sigbus;
            action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
            sigemptyset(&action.sa_mask);
            ::sigaction(SIGBUS, &action, &g_sigbus_before);
        }
    }
    ~SigbusGuard()
    {
        std::lock_guard lock(g_copy_guard_mutex);
        if (--g_copies_running == 0)
            ::sigaction(SIGBUS, &g_sigbus_before, nullptr);
    }
    SigbusGuard(SigbusGuard const&) = delete;
    SigbusGuard& operator=(SigbusGuard const&) = delete;
};

// memcpy that reports a SIGBUS as false. Nothing with a destructor lives
// between the sigsetjmp and the copy, so the jump skips no cleanup.
// The signal mask is not saved: the handler runs with SA_NODEFER and an
// empty sa_mask, so jumping out of it leaves the mask as it was, and saving
// it would cost an rt_sigprocmask call per copy (13,000 in a 4 GiB dump).
bool copy_catching_sigbus(uint8_t* to, uint8_t const* from, size_t bytes)
{
    sigjmp_buf escape;
    if (sigsetjmp(escape, 0) != 0) {
        t_copy_escape = nullptr;
        return false;
    }
    t_copy_escape = &escape;
    std::memcpy(to, from, bytes);
    t_copy_escape = nullptr;
    return true;
}

} // namespace

Result<std::unique_ptr<VmcoreFile>> VmcoreFile::open(std::string const& path, Access access, uint64_t assumed_page_size_bytes)
{
    std::unique_ptr<VmcoreFile> vmcore(new VmcoreFile());
    vmcore->m_path = path;
    vmcore->m_fd = TRY(open_file(path, O_RDONLY));
    struct stat status {};
    if (::fstat(vmcore->m_fd.get(), &status) != 0)
        return Error::from_errno(cat("stat ", path));
    if (status.st_size <= 0)
        return Error::invalid(cat(path, ": the file is empty (size ", static_cast<int64_t>(status.st_size), "); a vmcore has at least an ELF header"));
    vmcore->m_file_size = static_cast<uint64_t>(status.st_size);

    // The header tells how much more to read: the program headers, and with
    // PN_XNUM first section header 0. Three rounds cover both.
    std::vector<uint8_t> head(std::min(first_read_bytes, vmcore->m_file_size));
    TRY(pread_exact(vmcore->m_fd.get(), head, 0, path));
    for (int round = 0; round < 3; ++round) {
        uint64_t needed = TRY(elf::header_bytes_needed(head).context(path));
        if (needed <= head.size())
            break;
        if (needed > vmcore->m_file_size)
            return Error::invalid(cat(path, ": the ELF headers end at ", hex(needed), ", past the end of the file (", hex(vmcore->m_file_size), " bytes); the file is truncated"));
        head.resize(needed);
        TRY(pread_exact(vmcore->m_fd.get(), head, 0, path));
    }
    vmcore->m_header = TRY(elf::parse_header(head, vmcore->m_file_size).context(path));
    if (vmcore->m_header.type != elf_type_core)
        return Error::invalid(cat(path, ": ELF type ", vmcore->m_header.type, " is not a core file (ET_CORE, 4); is this a vmcore?"));
    if (vmcore->m_header.loads.empty())
        return Error::invalid(cat(path, ": the ELF core has no PT_LOAD segments, so it holds no memory"));

    TRY(vmcore->load_notes());
    std::optional<uint64_t> vmcoreinfo_page_size;
    if (auto text = vmcore->vmcoreinfo_text()) {
        // A VMCOREINFO that does not parse is reported by whoever needs it;
        // reading physical memory works without it.
        auto info = VmcoreInfo::parse(*text);
        if (info.ok())
            vmcoreinfo_page_size = info.value().page_size();
        else
            log::debug(cat(path, ": ", info.error().message(), "; taking the page size from the ELF machine"));
    }
    if (vmcoreinfo_page_size) {
        // A caller that can live with a guess (the collector's fallback)
        // takes the CPU's page size over an implausible PAGESIZE.
        auto checked = checked_page_size(*vmcoreinfo_page_size, path);
        if (checked.ok() || !assumed_page_size_bytes)
            vmcore->m_page_size = TRY(std::move(checked));
        else
            log::warn(cat(checked.error().message(), "; using the CPU's page size"));
    }
    if (vmcore->m_page_size == 0) {
        auto cpu_page_size = dump_arch_page_size(vmcore->m_header.machine, path);
        if (cpu_page_size.ok() || !assumed_page_size_bytes) {
            vmcore->m_page_size = TRY(std::move(cpu_page_size));
        } else {
            log::warn(cat(cpu_page_size.error().message(), "; assuming ", assumed_page_size_bytes, "-byte pages"));
            vmcore->m_page_size = TRY(checked_page_size(assumed_page_size_bytes, path));
        }
    }
    vmcore->index_loads();

    if (access == Access::Auto) {
        // Probe once: /proc/vmcore before Linux 3.11 cannot be mapped.
        auto probe = vmcore->window_for(0);
        vmcore->m_use_mmap = probe.ok();
        if (vmcore->m_use_mmap)
            vmcore->m_sigbus_guard = std::make_shared<SigbusGuard>();
        if (!probe.ok())
            log::debug(cat(path, ": ", probe.error().message(), "; reading with pread"));
    }
    return vmcore;
}

Result<void> VmcoreFile::load_notes()
{
    uint64_t total_bytes = 0;
    for (auto const& note : m_header.notes) {
        total_bytes = checked_add(total_bytes, note.file_size).value_or(UINT64_MAX);
        if (total_bytes > max_note_bytes)
            return Error::invalid(cat(m_path, ": the PT_NOTE segments hold more than ", max_note_bytes >> 20, " MiB; the header is corrupt"));
    }
    m_note_bytes.resize(total_bytes);
    uint64_t base = 0;
    for (auto const& note : m_header.notes) {
        TRY(pread_exact(m_fd.get(), std::span(m_note_bytes).subspan(base, note.file_size), note.file_offset, m_path));
        base += note.file_size;
    }
    // Parse each segment on its own (each may end in padding), with offsets
    // relative to the concatenation the kdump format copies.
    base = 0;
    for (size_t index = 0; index < m_header.notes.size(); ++index) {
        uint64_t size = m_header.notes[index].file_size;
        auto segment = std::span<uint8_t const>(m_note_bytes).subspan(base, size);
        auto parsed = elf::parse_notes(segment, m_header.endian);
        if (!parsed.ok()) {
            // The memory is still all there: a damaged note costs its
            // segment's notes (VMCOREINFO among them, and the collector
            // falls back to a level that needs none), not the dump. The
            // bytes still go verbatim into a kdump file's header.
            log::warn(cat(m_path, ": PT_NOTE ", index, ": ", parsed.error().message(), "; ignoring the notes in it"));
            base += size;
            continue;
        }
        for (auto& note : parsed.value()) {
            note.desc_offset += base;
            m_notes.push_back(note);
        }
        base += size;
    }
    return {};
}

void VmcoreFile::index_loads()
{
    for (auto const& load : m_header.loads) {
        if (load.mem_size != 0)
            m_sorted_loads.push_back(load);
    }
    std::stable_sort(m_sorted_loads.begin(), m_sorted_loads.end(), [](auto const& a, auto const& b) { return a.phys_start < b.phys_start; });
    uint64_t highest_end = 0;
    for (auto const& load : m_sorted_loads) {
        uint64_t end = load.phys_start + load.mem_size; // checked in parse_header
        highest_end = std::max(highest_end, end);
        m_load_end_prefix_max.push_back(highest_end);

        // Pages hold data only as far as p_filesz: in an ELF dump (-E) the
        // p_memsz beyond it stands for excluded pages. /proc/vmcore has
        // p_filesz == p_memsz.
        if (load.file_size == 0)
            continue;
        uint64_t data_end = load.phys_start + load.file_size;
        uint64_t start_pfn = load.phys_start / m_page_size;
        uint64_t end_pfn = data_end / m_page_size + (data_end % m_page_size != 0);
        if (!m_page_ranges.empty() && start_pfn <= m_page_ranges.back().end_pfn)
            m_page_ranges.back().end_pfn = std::max(m_page_ranges.back().end_pfn, end_pfn);
        else
            m_page_ranges.push_back({ start_pfn, end_pfn });
    }
    m_pfn_limit = highest_end / m_page_size + (highest_end % m_page_size != 0);
}

elf::LoadSegment const* VmcoreFile::load_for(uint64_t paddr) const
{
    auto after = std::upper_bound(m_sorted_loads.begin(), m_sorted_loads.end(), paddr, [](uint64_t address, auto const& load) { return address < load.phys_start; });
    size_t index = static_cast<size_t>(after - m_sorted_loads.begin());
    // Walk back over loads starting at or below paddr while one of them
    // could still reach it.
    while (index > 0 && m_load_end_prefix_max[index - 1] > paddr) {
        --index;
        auto const& load = m_sorted_loads[index];
        if (paddr - load.phys_start < load.mem_size)
            return &load;
    }
    return nullptr;
}

std::optional<uint64_t> VmcoreFile::next_load_start(uint64_t paddr) const
{
    auto after = std::upper_bound(m_sorted_loads.begin(), m_sorted_loads.end(), paddr, [](uint64_t address, auto const& load) { return address < load.phys_start; });
    if (after == m_sorted_loads.end())
        return std::nullopt;
    return after->phys_start;
}

uint64_t VmcoreFile::next_present_pfn(uint64_t pfn) const
{
    // The first load whose running highest end passes the page's start is
    // the first that reaches it: every load before it ends at or below.
    uint64_t address = checked_mul(pfn, m_page_size).value_or(UINT64_MAX);
    auto reaching = std::upper_bound(m_load_end_prefix_max.begin(), m_load_end_prefix_max.end(), address);
    if (reaching == m_load_end_prefix_max.end())
        return std::max(pfn, m_pfn_limit);
    auto const& load = m_sorted_loads[static_cast<size_t>(reaching - m_load_end_prefix_max.begin())];
    return std::max(pfn, load.phys_start / m_page_size);
}

bool VmcoreFile::has_page(uint64_t pfn) const
{
    // Callers scan pfns in order, so the range that answered last time
    // usually answers again.
    size_t hint = m_page_range_hint.load(std::memory_order_relaxed);
    if (hint < m_page_ranges.size() && pfn >= m_page_ranges[hint].start_pfn && pfn < m_page_ranges[hint].end_pfn)
        return true;
    auto after = std::upper_bound(m_page_ranges.begin(), m_page_ranges.end(), pfn, [](uint64_t value, PageRange const& range) { return value < range.start_pfn; });
    if (after == m_page_ranges.begin())
        return false;
    auto const& range = *(after - 1);
    if (pfn >= range.end_pfn)
        return false;
    m_page_range_hint.store(static_cast<size_t>(after - 1 - m_page_ranges.begin()), std::memory_order_relaxed);
    return true;
}

Result<void> VmcoreFile::read(uint64_t paddr, std::span<uint8_t> out) const
{
    if (!checked_add(paddr, out.size()))
        return Error::invalid(cat(m_path, ": read of ", out.size(), " bytes at physical address ", hex(paddr), " wraps around the address space"));
    uint64_t position = paddr;
    size_t done = 0;
    while (done < out.size()) {
        uint64_t remaining = out.size() - done;
        if (auto const* load = load_for(position)) {
            uint64_t into = position - load->phys_start;
            uint64_t chunk = std::min(remaining, load->mem_size - into);
            if (into < load->file_size) {
                chunk = std::min(chunk, load->file_size - into);
                TRY(read_file(load->file_offset + into, out.subspan(done, chunk)));
            } else {
                // p_memsz beyond p_filesz reads as zeros (the ELF rule).
                std::memset(out.data() + done, 0, chunk);
            }
            done += chunk;
            position += chunk;
            continue;
        }
        // A gap between PT_LOADs inside a page that a PT_LOAD partly covers
        // (RAM ranges need not be page-aligned) reads as zeros, as in
        // makedumpfile; a page no PT_LOAD touches is an error.
        uint64_t pfn = position / m_page_size;
        if (!has_page(pfn))
            return Error::invalid(cat(m_path, ": physical address ", hex(position), " (page frame ", hex(pfn), ") is in no PT_LOAD segment; the crashed machine had no RAM there or the dump excluded it"));
        uint64_t chunk = std::min(remaining, m_page_size - position % m_page_size);
        if (auto next = next_load_start(position))
            chunk = std::min(chunk, *next - position);
        std::memset(out.data() + done, 0, chunk);
        done += chunk;
        position += chunk;
    }
    return {};
}

Result<std::shared_ptr<VmcoreFile::Window const>> VmcoreFile::window_for(uint64_t file_offset) const
{
    {
        std::lock_guard lock(m_windows_mutex);
        for (size_t index = m_windows.size(); index-- > 0;) {
            auto const& window = m_windows[index];
            if (file_offset - window->file_offset < window->region.bytes().size()) {
                auto found = window;
                // Keep the list in least-recently-used order.
                m_windows.erase(m_windows.begin() + static_cast<ptrdiff_t>(index));
                m_windows.push_back(found);
                return found;
            }
        }
    }
    // Map outside the lock: another thread may read from its window
    // meanwhile. Two threads mapping the same window is harmless.
    uint64_t start = file_offset / window_bytes * window_bytes;
    uint64_t length = std::min(window_bytes, m_file_size - start);
    auto region = TRY(MappedRegion::map(m_fd.get(), start, length, PROT_READ, MAP_PRIVATE, m_path));
    auto window = std::make_shared<Window const>(Window { start, std::move(region) });
    std::lock_guard lock(m_windows_mutex);
    if (m_windows.size() >= max_cached_windows)
        m_windows.erase(m_windows.begin());
    m_windows.push_back(window);
    return window;
}

Result<void> VmcoreFile::read_file(uint64_t file_offset, std::span<uint8_t> out) const
{
    if (!extent_within(file_offset, out.size(), m_file_size))
        return Error::invalid(cat(m_path, ": ", out.size(), " bytes at file offset ", hex(file_offset), " run past the end of the file (", hex(m_file_size), " bytes); the file is truncated"));
    if (!m_use_mmap || m_mmap_failed.load(std::memory_order_relaxed))
        return pread_exact(m_fd.get(), out, file_offset, m_path);
    size_t done = 0;
    while (done < out.size()) {
        uint64_t position = file_offset + done;
        auto window = window_for(position);
        if (!window.ok()) {
            // Address space or memory ran out: carry on with pread.
            if (!m_mmap_failed.exchange(true))
                log::debug(cat(m_path, ": ", window.error().message(), "; reading with pread from now on"));
            return pread_exact(m_fd.get(), out.subspan(done), position, m_path);
        }
        auto bytes = window.value()->region.bytes();
        uint64_t into = position - window.value()->file_offset;
        size_t chunk = static_cast<size_t>(std::min<uint64_t>(out.size() - done, bytes.size() - into));
        if (!copy_catching_sigbus(out.data() + done, bytes.data() + into, chunk)) {
            // The mapping faulted: pread says what is wrong, as a value.
            log::debug(cat(m_path, ": SIGBUS reading file offset ", hex(position), " through mmap; reading it with pread"));
            TRY(pread_exact(m_fd.get(), out.subspan(done, chunk), position, m_path).context("after SIGBUS on the mapping"));
        }
        done += chunk;
    }
    return {};
}

std::optional<std::string_view> VmcoreFile::vmcoreinfo_text() const
{
    for (auto const& note : m_notes) {
        if (note.name == "VMCOREINFO" && note.type == elf::note_vmcoreinfo) {
            std::string_view text(reinterpret_cast<char const*>(note.desc.data()), note.desc.size());
            return text.substr(0, text.find('\0'));
        }
    }
    return std::nullopt;
}

size_t VmcoreFile::cpu_count() const
{
    return static_cast<size_t>(std::count_if(m_notes.begin(), m_notes.end(), [](elf::Note const& note) { return note.type == elf::note_prstatus && note.name == "CORE"; }));
}

} // namespace core
