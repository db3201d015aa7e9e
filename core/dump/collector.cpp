// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/collector.h"

#include "arch/dump_arch.h"
#include "arch/elf_machine.h"
#include "core/vmcore/dmesg.h"
#include "core/dump/dump_output.h"
#include "core/vmcore/elf.h"
#include "core/dump/elf_writer.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/dump/kdump_format.h"
#include "core/dump/lost_pages.h"
#include "core/vmcore/kernel_memory.h"
#include "core/base/log.h"
#include "core/base/safe_file.h"
#include "core/dump/page_sharing.h"
#include "core/base/strings.h"
#include "core/vmcore/vmcore_file.h"
#include "core/vmcore/vmcoreinfo.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <fcntl.h>
#include <mutex>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace core {

int next_adaptive_level(int level, double waiting_seconds, double writing_seconds)
{
    auto const* levels = std::begin(adaptive_zstd_levels);
    auto const* end = std::end(adaptive_zstd_levels);
    auto const* at = std::find(levels, end, level);
    if (at == end)
        return adaptive_start_level;
    if (waiting_seconds > 2 * writing_seconds && at != levels)
        return *(at - 1);
    if (writing_seconds > 2 * waiting_seconds && at + 1 != end)
        return *(at + 1);
    return level;
}

namespace {

// --- Input ---------------------------------------------------------------

// What the collector needs from any input container.
struct DumpInput {
    std::unique_ptr<PhysicalMemory> memory;
    std::vector<uint8_t> note_bytes;
    uint64_t vmcoreinfo_offset_in_notes { 0 };
    uint64_t vmcoreinfo_size { 0 };
    std::optional<std::string> vmcoreinfo_text;
    int32_t cpu_count { 0 };
    std::string machine; // utsname.machine fallback; a kdump-compressed input's dump CPU
    // Bitmap 1: whether the pfn is RAM in the crashed machine.
    std::function<bool(uint64_t)> in_memory_map;
    // Whether the input holds the pfn's data (the seed of bitmap 2). Empty:
    // exactly the pfns of the memory map (an ELF vmcore).
    std::function<bool(uint64_t)> has_data;
    // ELF inputs only: what -E copies into its own headers.
    std::optional<elf::Header> elf_header;
    uint64_t elf_note_align { 0 };
    uint64_t file_bytes { 0 }; // the input's size: what caps derive from
};

// makedumpfile's rule for an ELF input: a PT_LOAD covers the pfns from its
// start rounded down to its end rounded down, so a page the segment only
// partly covers at its end is not dumped (the BIOS area's 0x9fc00 end).
std::function<bool(uint64_t)> elf_page_map(VmcoreFile const& vmcore)
{
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    uint64_t page_size = vmcore.page_size();
    for (auto const& load : vmcore.header().loads) {
        uint64_t end = load.phys_start + load.mem_size; // checked by the ELF reader
        uint64_t start_pfn = load.phys_start / page_size;
        uint64_t end_pfn = end / page_size;
        if (end_pfn > start_pfn)
            ranges.emplace_back(start_pfn, end_pfn);
    }
    // The kernel-text PT_LOAD overlaps the direct map's: merge them, so
    // that a lookup finds one range per pfn.
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (auto const& range : ranges) {
        if (!merged.empty() && range.first <= merged.back().second)
            merged.back().second = std::max(merged.back().second, range.second);
        else
            merged.push_back(range);
    }
    return [ranges = std::move(merged)](uint64_t pfn) {
        auto after = std::upper_bound(ranges.begin(), ranges.end(), std::pair<uint64_t, uint64_t>(pfn, UINT64_MAX));
        return after != ranges.begin() && pfn < std::prev(after)->second;
    };
}

// A damaged VMCOREINFO line costs its entry only; said once per input,
// and whatever needed the entry says so too.
void warn_damaged_vmcoreinfo(DumpInput const& input, std::string const& path)
{
    if (!input.vmcoreinfo_text)
        return;
    if (auto info = VmcoreInfo::parse(*input.vmcoreinfo_text); info.ok()) {
        // A note of garbage must not flood the console: the first 8, counted.
        auto const& warnings = info.value().warnings();
        for (size_t index = 0; index < warnings.size() && index < 8; ++index)
            log::warn(cat(path, ": ", warnings[index]));
        if (warnings.size() > 8)
            log::warn(cat(path, ": ", warnings.size() - 8, " more damaged VMCOREINFO lines skipped"));
    }
}

// assumed_page_size_bytes: see VmcoreFile::open (0 outside fallbacks).
Result<DumpInput> open_input(std::string const& path, bool pread_only, uint64_t assumed_page_size_bytes = 0)
{
    auto fd = TRY(open_file(path, O_RDONLY));
    uint8_t head[64] = {};
    size_t got = TRY(pread_full(fd.get(), head, 0, path));
    std::span<uint8_t const> head_bytes(head, got);
    struct stat file_status {};
    if (::fstat(fd.get(), &file_status) != 0)
        return Error::from_errno(cat("stat ", path));
    fd.reset();

    DumpInput input;
    input.file_bytes = static_cast<uint64_t>(std::max<off_t>(file_status.st_size, 0));
    if (got >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F') {
        auto vmcore = TRY(VmcoreFile::open(path, pread_only ? VmcoreFile::Access::PreadOnly : VmcoreFile::Access::Auto, assumed_page_size_bytes));
        input.note_bytes.assign(vmcore->note_bytes().begin(), vmcore->note_bytes().end());
        for (auto const& note : vmcore->notes()) {
            if (note.name == "VMCOREINFO") {
                input.vmcoreinfo_offset_in_notes = note.desc_offset;
                input.vmcoreinfo_size = note.desc.size();
                break;
            }
        }
        if (auto text = vmcore->vmcoreinfo_text())
            input.vmcoreinfo_text = std::string(*text);
        warn_damaged_vmcoreinfo(input, path);
        input.cpu_count = static_cast<int32_t>(vmcore->cpu_count());
        input.machine = std::string(arch::elf_machine_name(vmcore->header().machine));
        input.in_memory_map = elf_page_map(*vmcore);
        input.elf_header = vmcore->header();
        input.elf_note_align = vmcore->header().notes.empty() ? 0 : vmcore->header().notes.front().align;
        input.memory = std::move(vmcore);
        return input;
    }
    if (is_kdump_header(head_bytes)) {
        auto dump = TRY(KdumpFile::open(path));
        auto const& info = dump->info();
        input.note_bytes = info.note_bytes;
        input.vmcoreinfo_offset_in_notes = info.vmcoreinfo_offset_in_notes;
        input.vmcoreinfo_size = info.vmcoreinfo_size;
        if (auto text = dump->vmcoreinfo_text())
            input.vmcoreinfo_text = std::string(*text);
        warn_damaged_vmcoreinfo(input, path);
        input.cpu_count = info.cpu_count;
        input.machine = info.utsname[4];
        if (dump->incomplete())
            log::warn(cat(path, ": this dump is marked incomplete; pages it lost stay lost"));
        KdumpFile const* raw = dump.get();
        input.in_memory_map = [raw](uint64_t pfn) { return raw->in_memory_map(pfn); };
        input.has_data = [raw](uint64_t pfn) { return raw->has_page(pfn); };
        input.memory = std::move(dump);
        return input;
    }
    if (is_flattened_header(head_bytes))
        return Error::invalid(cat(path, ": this is a flattened dump stream; rebuild it first with 'makedumpfile -R FILE < ", path, "'"));
    return Error::invalid(cat(path, ": neither an ELF vmcore nor a kdump-compressed file"));
}

// The CPU the crashed kernel ran on: an ELF vmcore's e_machine, a
// kdump-compressed file's utsname machine.
Result<arch::DumpArch const*> dump_arch_of(DumpInput const& input)
{
    if (input.elf_header)
        return arch::dump_arch_for_elf_machine(input.elf_header->machine);
    return arch::dump_arch_for_machine_name(input.machine);
}

// The crashed kernel's view: VMCOREINFO, address translation, kernel reads.
struct KernelView {
    std::optional<VmcoreInfo> info;
    arch::DumpArch const* dump_arch { nullptr }; // set with translator
    std::unique_ptr<arch::AddressTranslator> translator;
    std::unique_ptr<KernelMemory> kernel;
};

// Needs only what the dump level needs: levels 0 and 1 work without
// VMCOREINFO, as in makedumpfile.
Result<KernelView> open_kernel_view(DumpInput const& input, bool required, std::string const& path)
{
    KernelView view;
    if (!input.vmcoreinfo_text) {
        if (required)
            return Error::invalid(cat(path, ": has no VMCOREINFO note, which dump levels above 1 need; use -d 0 or -d 1"));
        return view;
    }
    view.info = TRY(VmcoreInfo::parse(*input.vmcoreinfo_text).context(path));
    auto dump_arch = dump_arch_of(input);
    auto translator = dump_arch.ok() ? dump_arch.value()->make_translator(*view.info, *input.memory) : Result<std::unique_ptr<arch::AddressTranslator>>(dump_arch.error());
    if (!translator.ok()) {
        if (required)
            return std::move(translator).error().with_context(path);
        log::warn(cat(path, ": ", translator.error().message(), "; the header's utsname comes from VMCOREINFO only"));
        return view;
    }
    view.dump_arch = dump_arch.value();
    view.translator = std::move(translator).release_value();
    view.kernel = make_kernel_memory(*input.memory, *view.translator);
    return view;
}

KdumpHeaderInfo header_info(DumpInput const& input, KernelView const& view, CollectorOptions const& options)
{
    KdumpHeaderInfo header;
    header.endian = input.memory->endian();
    header.page_size = input.memory->page_size();
    header.cpu_count = input.cpu_count;
    header.dump_level = options.dump_level;
    header.codec = options.codec;
    header.note_bytes = input.note_bytes;
    header.vmcoreinfo_offset_in_notes = input.vmcoreinfo_offset_in_notes;
    header.vmcoreinfo_size = input.vmcoreinfo_size;
    header.utsname[0] = "Linux";
    header.utsname[4] = input.machine;
    if (view.info) {
        header.utsname[2] = std::string(view.info->osrelease());
        header.crash_time_seconds = view.info->crash_time().value_or(0);
        if (auto phys_base = view.info->number("phys_base"))
            header.phys_base = static_cast<uint64_t>(*phys_base);
    }
    if (view.translator)
        header.phys_base = view.translator->phys_base();
    if (view.kernel) {
        auto utsname = read_utsname(*view.info, *view.kernel);
        if (utsname.ok())
            header.utsname = utsname.value().fields;
        else
            log::warn(cat("cannot read the crashed kernel's utsname (", utsname.error().message(), "); using VMCOREINFO's release"));
    }
    return header;
}

// --- Bitmaps -------------------------------------------------------------

bool test_bit(std::span<uint8_t const> bitmap, uint64_t bit) { return (bitmap[bit >> 3] >> (bit & 7)) & 1; }
void set_bit(std::span<uint8_t> bitmap, uint64_t bit) { bitmap[bit >> 3] |= static_cast<uint8_t>(1u << (bit & 7)); }

uint64_t count_bits(std::span<uint8_t const> bitmap)
{
    uint64_t count = 0;
    for (uint8_t byte : bitmap)
        count += static_cast<uint64_t>(std::popcount(byte));
    return count;
}

// Bitmaps are built and consumed this many pfns at a time (a multiple of
// 8, so windows start on bitmap byte boundaries): 64 KiB of bitmaps
// whatever the dump size, like makedumpfile's cyclic mode.
constexpr uint64_t bitmap_window_pages = 1 << 18;

// Both bitmaps of one window: bit i is pfn start_pfn + i.
struct BitmapWindow {
    uint64_t start_pfn { 0 };
    uint64_t pfn_count { 0 };
    std::vector<uint8_t> present; // bitmap 1
    std::vector<uint8_t> keep;    // bitmap 2
};

// Walks [0, pfn_limit) window by window, in ascending order (the filter
// carries free and compound blocks across windows), and hands each
// window's bitmaps to `visit`.
Result<void> for_each_window(DumpInput const& input, PageFilter* filter, uint64_t pfn_limit, ExclusionCounts& counts, std::function<Result<void>(BitmapWindow const&)> const& visit)
{
    BitmapWindow window;
    for (uint64_t start = 0; start < pfn_limit; start += bitmap_window_pages) {
        // Holes of any size are jumped, not walked: a PT_LOAD at a huge
        // physical address costs one step, not one per pfn below it.
        uint64_t next_present = input.memory->next_present_pfn(start);
        if (next_present >= pfn_limit)
            break;
        start = std::max(start, next_present / bitmap_window_pages * bitmap_window_pages);
        window.start_pfn = start;
        window.pfn_count = std::min(bitmap_window_pages, pfn_limit - start);
        size_t bytes = static_cast<size_t>((window.pfn_count + 7) / 8);
        window.present.assign(bytes, 0);
        for (uint64_t index = 0; index < window.pfn_count; ++index) {
            if (input.in_memory_map(start + index))
                set_bit(window.present, index);
        }
        if (input.has_data) {
            window.keep.assign(bytes, 0);
            for (uint64_t index = 0; index < window.pfn_count; ++index) {
                if (input.has_data(start + index))
                    set_bit(window.keep, index);
            }
        } else {
            window.keep = window.present;
        }
        if (filter)
            TRY(filter->exclude(start, window.pfn_count, window.keep, counts));
        TRY(visit(window));
    }
    return {};
}

// --- Page pipeline -------------------------------------------------------

// A batch of kept pages, read and compressed by a worker, written in order
// by the writer thread.
struct PageBatch {
    uint64_t sequence { 0 };
    std::vector<uint64_t> pfns;
    struct Page {
        enum class Kind { Zero, Stored, Shared } kind;
        Codec codec;
        uint32_t offset;
        uint32_t size;
        uint64_t content_hash { 0 }; // Stored and Shared
        StoredPage shared {};         // Shared: the identical page's bytes
    };
    std::vector<Page> pages;
    std::vector<uint8_t> data;
    std::optional<Error> error;
    std::vector<uint64_t> lost_pfns; // unreadable, stored as zero pages
};

// 128 pages: each batch buffers its pages compressed (up to 0.5 MiB), and
// 2 x workers + 2 batches are in flight, so this is most of the collector's
// memory; fewer pages would only add locking.
constexpr size_t batch_pages = 128;

bool is_all_zero(std::span<uint8_t const> page)
{
    // Word-wise: this runs over every kept page.
    size_t words = page.size() / sizeof(uint64_t);
    uint64_t accumulated = 0;
    for (size_t index = 0; index < words; ++index) {
        uint64_t word;
        std::memcpy(&word, page.data() + index * sizeof word, sizeof word);
        accumulated |= word;
        if ((index & 63) == 63 && accumulated)
            return false;
    }
    for (size_t index = words * sizeof(uint64_t); index < page.size(); ++index)
        accumulated |= page[index];
    return accumulated == 0;
}

// The bytes `entry` stored, if they equal `page`: the hash only found the
// candidate. `scratch` (a page) receives the candidate's bytes.
std::optional<StoredPage> stored_if_identical(SharedPageIndex::Entry const& entry, PhysicalMemory const& memory, std::span<uint8_t const> page, std::span<uint8_t> scratch)
{
    if (!memory.read(entry.pfn * memory.page_size(), scratch).ok())
        return std::nullopt;
    if (std::memcmp(scratch.data(), page.data(), page.size()) != 0)
        return std::nullopt; // a hash collision: this page keeps its own bytes
    return entry.stored;
}

class PagePipeline {
public:
    // sharing: where stored pages are indexed by content, or null when
    // every page keeps its own bytes.
    // adaptive_level: the zstd level follows the bottleneck
    // (CollectorOptions::adaptive_level), decided here on the writer's
    // thread every adaptive_window_batches batches.
    PagePipeline(PhysicalMemory const& memory, Codec codec, bool exclude_zero, unsigned worker_count, SharedPageIndex const* sharing, bool adaptive_level)
        : m_memory(memory)
        , m_codec(codec)
        , m_exclude_zero(exclude_zero)
        , m_worker_count(std::max(1u, worker_count))
        , m_sharing(sharing)
        , m_adaptive(adaptive_level)
    {
    }

    // Feeds every kept pfn of one bitmap window (bit i: pfn base_pfn + i)
    // through the workers and hands finished batches, in pfn order, to
    // `consume` on this thread.
    Result<void> run(std::span<uint8_t const> keep, uint64_t base_pfn, uint64_t pfn_count, std::function<Result<void>(PageBatch&)> const& consume)
    {
        m_keep = keep;
        m_base_pfn = base_pfn;
        m_pfn_count = pfn_count;
        m_next_index = 0;
        m_next_sequence = 0;
        m_in_flight = 0;
        m_exhausted = false;
        m_stop = false;
        m_finished.clear();
        std::vector<std::thread> workers;
        for (unsigned index = 0; index < m_worker_count; ++index)
            workers.emplace_back([this] { worker(); });

        Result<void> outcome;
        uint64_t next_sequence = 0;
        using clock = std::chrono::steady_clock;
        clock::duration waiting {};
        clock::duration writing {};
        unsigned batches_measured = 0;
        while (true) {
            std::unique_lock lock(m_mutex);
            auto wait_start = clock::now();
            m_done_changed.wait(lock, [&] { return m_finished.count(next_sequence) || (m_exhausted && m_in_flight == 0 && m_finished.empty()); });
            waiting += clock::now() - wait_start;
            auto found = m_finished.find(next_sequence);
            if (found == m_finished.end())
                break;
            PageBatch batch = std::move(found->second);
            m_finished.erase(found);
            lock.unlock();
            m_slot_freed.notify_all();
            ++next_sequence;
            if (batch.error) {
                outcome = std::move(*batch.error);
                break;
            }
            auto write_start = clock::now();
            auto consumed = consume(batch);
            writing += clock::now() - write_start;
            if (!consumed.ok()) {
                outcome = std::move(consumed).error();
                break;
            }
            if (m_adaptive && ++batches_measured == adaptive_window_batches) {
                auto seconds = [](clock::duration span) { return std::chrono::duration<double>(span).count(); };
                m_zstd_level.store(next_adaptive_level(m_zstd_level.load(), seconds(waiting), seconds(writing)));
                waiting = writing = {};
                batches_measured = 0;
            }
            // Hand the buffers back: a fresh batch would allocate and
            // zero-fill half a megabyte for every 128 pages.
            std::lock_guard spare_lock(m_mutex);
            m_spare_batches.push_back(std::move(batch));
        }
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_slot_freed.notify_all();
        for (auto& worker_thread : workers)
            worker_thread.join();
        return outcome;
    }

private:
    // Claims the next batch of kept pfns; false when there are none left.
    bool claim(PageBatch& batch)
    {
        std::unique_lock lock(m_mutex);
        // Bound memory: at most two batches per worker wait for the writer.
        m_slot_freed.wait(lock, [&] { return m_stop || m_finished.size() + m_in_flight < 2 * m_worker_count + 2; });
        if (m_stop || m_next_index >= m_pfn_count) {
            m_exhausted = true;
            return false;
        }
        if (!m_spare_batches.empty()) {
            batch = std::move(m_spare_batches.back());
            m_spare_batches.pop_back();
        }
        batch.pfns.clear();
        batch.pages.clear();
        batch.error.reset();
        batch.lost_pfns.clear();
        while (m_next_index < m_pfn_count && batch.pfns.size() < batch_pages) {
            // Skip empty bitmap bytes quickly: most of a filtered dump is.
            if ((m_next_index & 7) == 0 && m_keep[m_next_index >> 3] == 0) {
                m_next_index += 8;
                continue;
            }
            if (test_bit(m_keep, m_next_index))
                batch.pfns.push_back(m_base_pfn + m_next_index);
            ++m_next_index;
        }
        if (batch.pfns.empty()) {
            m_exhausted = true;
            return false;
        }
        batch.sequence = m_next_sequence++;
        ++m_in_flight;
        return true;
    }

    void worker()
    {
        uint64_t page_size = m_memory.page_size();
        auto compressor = PageCompressor::create(m_codec, page_size);
        std::vector<uint8_t> input(batch_pages * page_size);
        std::vector<uint8_t> earlier_page(page_size);
        while (true) {
            PageBatch batch;
            if (!claim(batch))
                break;
            if (!compressor.ok())
                batch.error = compressor.error();
            else
                fill(batch, *compressor.value(), input, earlier_page);
            {
                std::lock_guard lock(m_mutex);
                --m_in_flight;
                m_finished.emplace(batch.sequence, std::move(batch));
            }
            m_done_changed.notify_all();
        }
        m_done_changed.notify_all();
    }

    void fill(PageBatch& batch, PageCompressor& compressor, std::vector<uint8_t>& input, std::vector<uint8_t>& earlier_page)
    {
        uint64_t page_size = m_memory.page_size();
        if (m_adaptive)
            compressor.set_level(m_zstd_level.load(std::memory_order_relaxed));
        // Read runs of consecutive pfns with one call each.
        size_t index = 0;
        while (index < batch.pfns.size()) {
            size_t run_end = index + 1;
            while (run_end < batch.pfns.size() && batch.pfns[run_end] == batch.pfns[run_end - 1] + 1)
                ++run_end;
            std::span<uint8_t> run(input.data() + index * page_size, (run_end - index) * page_size);
            read_pages_keeping_lost(m_memory, batch.pfns[index] * page_size, run, batch.lost_pfns);
            index = run_end;
        }
        size_t data_bytes = batch.pfns.size() * compressor.max_output_size();
        if (batch.data.size() < data_bytes)
            batch.data.resize(data_bytes);
        uint32_t data_used = 0;
        for (size_t page_index = 0; page_index < batch.pfns.size(); ++page_index) {
            std::span<uint8_t const> page(input.data() + page_index * page_size, page_size);
            if (m_exclude_zero && is_all_zero(page)) {
                batch.pages.push_back({ PageBatch::Page::Kind::Zero, Codec::None, 0, 0 });
                continue;
            }
            uint64_t content_hash = 0;
            if (m_sharing) {
                content_hash = page_content_hash(page);
                // A copy of a page already written skips compression. The
                // writer makes the same decision again (it may have stored
                // the first copy since), so timing cannot change the output.
                auto entry = m_sharing->find(content_hash);
                if (auto shared = entry ? stored_if_identical(*entry, m_memory, page, earlier_page) : std::nullopt) {
                    batch.pages.push_back({ PageBatch::Page::Kind::Shared, shared->codec, 0, 0, content_hash, *shared });
                    continue;
                }
            }
            std::span<uint8_t> out(batch.data.data() + data_used, compressor.max_output_size());
            auto compressed = compressor.compress(page, out);
            if (!compressed.ok()) {
                batch.error = std::move(compressed).error();
                return;
            }
            uint32_t size = static_cast<uint32_t>(compressed.value());
            Codec codec = m_codec;
            if (size == 0) {
                std::memcpy(out.data(), page.data(), page_size);
                size = static_cast<uint32_t>(page_size);
                codec = Codec::None;
            }
            batch.pages.push_back({ PageBatch::Page::Kind::Stored, codec, data_used, size, content_hash });
            data_used += size;
        }
    }

    PhysicalMemory const& m_memory;
    Codec m_codec;
    bool m_exclude_zero;
    unsigned m_worker_count;
    SharedPageIndex const* m_sharing;
    bool m_adaptive;
    // About 4 MiB of pages between decisions: long enough to average out
    // one slow write, short enough to settle within the first 100 MiB.
    static constexpr unsigned adaptive_window_batches = 8;
    std::atomic<int> m_zstd_level { adaptive_start_level };
    std::span<uint8_t const> m_keep;
    uint64_t m_base_pfn { 0 };
    uint64_t m_pfn_count { 0 };

    std::mutex m_mutex;
    std::condition_variable m_done_changed;
    std::condition_variable m_slot_freed;
    uint64_t m_next_index { 0 };
    uint64_t m_next_sequence { 0 };
    unsigned m_in_flight { 0 };
    bool m_exhausted { false };
    bool m_stop { false };
    std::map<uint64_t, PageBatch> m_finished;
    std::vector<PageBatch> m_spare_batches; // consumed, for claim() to reuse
};

// --- Progress ------------------------------------------------------------

class Progress {
public:
    Progress(bool enabled, uint64_t total) : m_enabled(enabled), m_total(total), m_start(std::chrono::steady_clock::now()) { }
    // A dump that stopped early leaves its last line open: close it, so
    // that the error message starts a line of its own.
    ~Progress()
    {
        if (m_line_open)
            (void)write_all(STDERR_FILENO, std::string_view("\n"), "stderr");
    }
    Progress(Progress const&) = delete;
    Progress& operator=(Progress const&) = delete;

    void update(uint64_t done)
    {
        if (!m_enabled || m_total == 0 || m_final_shown)
            return;
        auto now = std::chrono::steady_clock::now();
        if (done < m_total && now - m_last < std::chrono::milliseconds(500))
            return;
        m_last = now;
        double fraction = static_cast<double>(done) / static_cast<double>(m_total);
        double elapsed_seconds = std::chrono::duration<double>(now - m_start).count();
        uint64_t eta_seconds = fraction > 0 ? static_cast<uint64_t>(elapsed_seconds / fraction - elapsed_seconds) : 0;
        unsigned tenths = static_cast<unsigned>(fraction * 1000);
        std::string line = cat("\rCopying data                      : [", tenths / 10 < 100 ? " " : "", tenths / 10 < 10 ? " " : "", tenths / 10, '.', tenths % 10,
            " %] eta: ", eta_seconds, "s   ");
        if (done >= m_total) {
            line += '\n';
            m_final_shown = true;
        }
        m_line_open = !m_final_shown;
        (void)write_all(STDERR_FILENO, line, "stderr");
    }

private:
    bool m_enabled;
    uint64_t m_total;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last {};
    bool m_final_shown { false };
    bool m_line_open { false };
};

// --- Output --------------------------------------------------------------

// --dry-run: everything but the writing, so the size is still reported.
class CountingSink final : public OutputSink {
public:
    Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override
    {
        m_high_water = std::max(m_high_water, offset + data.size());
        return {};
    }
    Result<void> finish() override { return {}; }
    bool can_rewrite() const override { return true; }
    uint64_t bytes_written() const override { return m_high_water; }

private:
    uint64_t m_high_water { 0 };
};

struct OutputTarget {
    std::unique_ptr<OutputSink> sink;
    std::optional<SafeFile> file; // absent for streams and dry runs
    std::string final_path;
};

bool is_flattened(DumpFormat format) { return format == DumpFormat::KdumpFlattened || format == DumpFormat::ElfFlattened; }

Result<OutputTarget> open_output(CollectorOptions const& options)
{
    OutputTarget target;
    if (options.dry_run) {
        target.sink = std::make_unique<CountingSink>();
        return target;
    }
    if (is_flattened(options.format) && options.output_fd >= 0) {
        // A raw partition (or another stream the caller opened): written
        // from its start, never renamed.
        std::string name = options.output_path.empty() ? std::string("the output stream") : options.output_path;
        target.sink = TRY(FlattenedSink::create(options.output_fd, name));
        target.final_path = name;
        return target;
    }
    if (is_flattened(options.format) && (options.output_path.empty() || options.output_path == "-")) {
        target.sink = TRY(FlattenedSink::create(STDOUT_FILENO, "standard output"));
        target.final_path = "standard output";
        return target;
    }
    target.final_path = options.output_path;
    auto& file = target.file.emplace(TRY(create_dump_file(options.output_path, options.overwrite, options.output_directory)));
    if (is_flattened(options.format))
        target.sink = TRY(FlattenedSink::create(file.fd(), file.incomplete_path()));
    else
        target.sink = std::make_unique<FileSink>(file.fd(), file.incomplete_path());
    return target;
}

// The dump is complete and synced: give it its name, and make the rename
// itself durable.
Result<void> publish_output(OutputTarget& target)
{
    if (!target.file)
        return {};
    return target.file->commit();
}

// Creates the page filter for one pass over the windows (the filter keeps
// state from window to window, so each pass needs a fresh one).
Result<std::unique_ptr<PageFilter>> make_filter(KernelView const& view, DumpInput const& input, CollectorOptions const& options, bool report_warnings)
{
    if ((options.dump_level & ~dump_level::zero) == 0)
        return std::unique_ptr<PageFilter>();
    WarningSink warn = [](std::string const&) { };
    if (report_warnings)
        warn = [](std::string const& message) { log::warn(message); };
    return PageFilter::create(*view.info, view.dump_arch->sparsemem_defaults(*view.info), *view.kernel, *input.memory, options.dump_level, warn);
}

// The kdump format needs the number of kept pages before the first page
// (it fixes where page data starts), so a first pass filters every window
// to count. Up to options.bitmap_memory_bytes per bitmap (by default 16 Mi
// pages: 64 GiB of 4 KiB pages), the first pass keeps its bitmaps and the
// second writes from them in one pipeline run, without filtering again or
// draining the workers at each window. Larger machines filter twice, one
// window at a time, so memory stays bounded whatever the dump size.
Result<void> write_kdump(DumpInput const& input, KernelView const& view, KdumpHeaderInfo const& header, uint64_t pfn_limit, CollectorOptions const& options, OutputSink& sink, CollectorReport& report)
{
    uint64_t bitmap_bytes = (pfn_limit + 7) / 8;
    bool keep_bitmaps = bitmap_bytes <= options.bitmap_memory_bytes;
    std::vector<uint8_t> all_present;
    std::vector<uint8_t> all_keep;
    if (keep_bitmaps) {
        all_present.assign(static_cast<size_t>(bitmap_bytes), 0);
        all_keep.assign(static_cast<size_t>(bitmap_bytes), 0);
    }
    uint64_t kept_pages = 0;
    ExclusionCounts first_pass_excluded;
    {
        auto counting_filter = TRY(make_filter(view, input, options, true));
        TRY(for_each_window(input, counting_filter.get(), pfn_limit, first_pass_excluded, [&](BitmapWindow const& window) -> Result<void> {
            kept_pages += count_bits(window.keep);
            report.present_pages += count_bits(window.present);
            if (keep_bitmaps) {
                auto at = static_cast<std::ptrdiff_t>(window.start_pfn / 8);
                std::copy(window.present.begin(), window.present.end(), all_present.begin() + at);
                std::copy(window.keep.begin(), window.keep.end(), all_keep.begin() + at);
            }
            return {};
        }));
    }
    report.hole_pages = pfn_limit - report.present_pages;

    auto writer = TRY(KdumpWriter::create(sink, header, pfn_limit, kept_pages));
    auto written = [&]() -> Result<void> {
        Progress progress((options.message_level & message_level::progress) != 0, kept_pages);
        uint64_t done_pages = 0;
        std::unique_ptr<SharedPageIndex> sharing;
        if (!options.no_page_sharing)
            sharing = std::make_unique<SharedPageIndex>(kept_pages);
        PagePipeline pipeline(*input.memory, options.codec, (options.dump_level & dump_level::zero) != 0, options.thread_count, sharing.get(), options.adaptive_level);
        uint64_t page_size = input.memory->page_size();
        std::vector<uint8_t> this_page(page_size);
        std::vector<uint8_t> earlier_page(page_size);
        LostPageLog lost;
        auto consume = [&](PageBatch& batch) -> Result<void> {
            lost.record(batch.lost_pfns, page_size);
            report.lost_pages = lost.count();
            for (size_t index = 0; index < batch.pfns.size(); ++index) {
                auto const& page = batch.pages[index];
                uint64_t pfn = batch.pfns[index];
                if (page.kind == PageBatch::Page::Kind::Zero) {
                    TRY(writer->add_zero_page(pfn));
                    ++report.excluded.zero_pages;
                    continue;
                }
                std::optional<StoredPage> shared;
                if (page.kind == PageBatch::Page::Kind::Shared) {
                    shared = page.shared;
                } else if (auto entry = sharing ? sharing->find(page.content_hash) : std::nullopt) {
                    // The first copy may have been stored after the worker looked.
                    if (input.memory->read(pfn * page_size, this_page).ok())
                        shared = stored_if_identical(*entry, *input.memory, this_page, earlier_page);
                }
                if (shared) {
                    TRY(writer->add_shared_page(pfn, *shared));
                    ++report.shared_pages;
                    continue;
                }
                auto stored = TRY(writer->add_page(pfn, std::span<uint8_t const>(batch.data.data() + page.offset, page.size), page.codec));
                if (sharing)
                    sharing->insert({ page.content_hash, pfn, stored });
                ++report.written_pages;
            }
            done_pages += batch.pfns.size();
            progress.update(done_pages);
            return {};
        };
        if (keep_bitmaps) {
            report.excluded = first_pass_excluded;
            TRY(writer->write_bitmaps(0, pfn_limit, all_present, all_keep));
            all_present = {};
            TRY(pipeline.run(all_keep, 0, pfn_limit, consume));
        } else {
            auto filter = TRY(make_filter(view, input, options, false));
            TRY(for_each_window(input, filter.get(), pfn_limit, report.excluded, [&](BitmapWindow const& window) -> Result<void> {
                TRY(writer->write_bitmaps(window.start_pfn, window.pfn_count, window.present, window.keep));
                return pipeline.run(window.keep, window.start_pfn, window.pfn_count, consume);
            }));
        }
        if (done_pages != kept_pages)
            return Error::invalid(cat("the page filter kept ", done_pages, " pages on the second pass but ", kept_pages, " on the first; the vmcore changed while it was read"));
        progress.update(kept_pages);
        // Every page came, but some only as zeros: the dump is whole in
        // shape and marked incomplete in its header.
        if (report.lost_pages || report.memory_left_out)
            return writer->mark_incomplete();
        return writer->finish();
    }();
    if (!written.ok()) {
        (void)writer->mark_incomplete();
        return written;
    }
    return {};
}

// The least -E's keep bitmap may take whatever the input's size (512 Mi
// pfns: 2 TiB of 4 KiB pages).
constexpr uint64_t elf_bitmap_floor_bytes = 64ull << 20;

// -E: makedumpfile's ELF layout needs the whole keep bitmap to plan its
// PT_LOADs, so this path holds one bit per pfn (ELF output is for analysis
// machines; the capture kernel writes the kdump format).
Result<void> write_elf(DumpInput const& input, KernelView const& view, uint64_t pfn_limit, CollectorOptions const& options, OutputSink& sink, CollectorReport& report)
{
    if (!input.elf_header)
        return Error::unsupported(cat(options.input_path, ": ELF output (-E) needs an ELF vmcore as input; this is a kdump-compressed file (re-filter it without -E)"));
    // -E holds one bit per pfn: bounded by what the input holds.
    uint64_t keep_bytes = (pfn_limit + 7) / 8;
    uint64_t keep_cap_bytes = std::max(elf_bitmap_floor_bytes, input.file_bytes / input.memory->page_size());
    if (keep_bytes > keep_cap_bytes)
        return Error::invalid(cat(options.input_path, ": ELF output (-E) needs a bitmap of ", keep_bytes, " bytes over pfns up to ", hex(pfn_limit), ", more than the cap of ", keep_cap_bytes,
            " bytes (one byte per page the input holds, at least ", elf_bitmap_floor_bytes >> 20, " MiB); the memory map is sparse or corrupt: write the kdump format (no -E)"));
    std::vector<uint8_t> keep(static_cast<size_t>(keep_bytes), 0);
    auto filter = TRY(make_filter(view, input, options, true));
    TRY(for_each_window(input, filter.get(), pfn_limit, report.excluded, [&](BitmapWindow const& window) -> Result<void> {
        std::copy(window.keep.begin(), window.keep.end(), keep.begin() + static_cast<std::ptrdiff_t>(window.start_pfn / 8));
        report.present_pages += count_bits(window.present);
        return {};
    }));
    report.hole_pages = pfn_limit - report.present_pages;
    if (options.dump_level & dump_level::zero)
        report.excluded.zero_pages = TRY(exclude_zero_pages(*input.memory, keep, pfn_limit));

    uint64_t page_size = input.memory->page_size();
    auto load_inputs = elf_load_inputs(input.elf_header->loads);
    auto plan = TRY(plan_elf_loads(load_inputs, page_size, keep));
    keep = {};
    ElfDumpHeaderInfo header;
    header.endian = input.elf_header->endian;
    header.machine = input.elf_header->machine;
    header.flags = input.elf_header->flags;
    header.note_align = input.elf_note_align;
    uint64_t data_bytes = plan.data_bytes;
    report.written_pages = data_bytes / page_size;
    auto writer = TRY(ElfDumpWriter::create(sink, header, input.note_bytes, std::move(plan)));
    Progress progress((options.message_level & message_level::progress) != 0, data_bytes);
    std::vector<uint64_t> lost_pfns;
    auto written = [&]() -> Result<void> {
        TRY(writer->copy_from(*input.memory, [&](uint64_t done_bytes) { progress.update(done_bytes); }, &lost_pfns));
        progress.update(data_bytes);
        LostPageLog lost;
        lost.record(lost_pfns, page_size);
        report.lost_pages = lost.count();
        if (report.lost_pages || report.memory_left_out)
            return writer->mark_incomplete();
        return writer->finish();
    }();
    if (!written.ok()) {
        (void)writer->mark_incomplete();
        return written;
    }
    return {};
}

// When the dump's CPU gives no page size and VMCOREINFO has none, the
// fallback copies memory in pages of this size (any size copies it all).
constexpr uint64_t fallback_page_size_bytes = 4096;

// The levels to try, in order: the requested one, then -d 31, -d 1 (no
// VMCOREINFO needed) and an unfiltered copy.
std::vector<int> fallback_levels(int requested, bool allow_fallback)
{
    std::vector<int> levels { requested };
    if (!allow_fallback)
        return levels;
    for (int level : { dump_level::max, dump_level::zero, 0 }) {
        if (std::find(levels.begin(), levels.end(), level) == levels.end())
            levels.push_back(level);
    }
    return levels;
}

// Everything a dump level needs before the first byte is written: the
// kernel view and, above level 1, a page filter that starts.
struct PreparedLevel {
    KernelView view;
    uint64_t pfn_limit { 0 };
};

Result<PreparedLevel> prepare_level(DumpInput const& input, CollectorOptions const& options)
{
    PreparedLevel prepared;
    bool needs_page_walk = (options.dump_level & ~dump_level::zero) != 0;
    prepared.view = TRY(open_kernel_view(input, needs_page_walk, options.input_path));
    prepared.pfn_limit = input.memory->pfn_limit();
    // makedumpfile clamps max_mapnr to the last valid mem_section.
    if (needs_page_walk)
        prepared.pfn_limit = std::min(prepared.pfn_limit, TRY(make_filter(prepared.view, input, options, false))->pfn_limit());
    return prepared;
}

// Sets options.dump_level to the first level of the fallback order that
// can be applied, saying so on stderr and in the report.
Result<PreparedLevel> prepare_first_applicable_level(DumpInput const& input, CollectorOptions& options, CollectorReport& report)
{
    auto levels = fallback_levels(options.dump_level, options.allow_fallback);
    for (size_t index = 0;; ++index) {
        options.dump_level = levels[index];
        auto prepared = prepare_level(input, options);
        if (prepared.ok() || index + 1 == levels.size()) {
            if (prepared.ok())
                report.applied_dump_level = levels[index];
            if (prepared.ok() && index > 0)
                log::warn(cat("saving with dump level ", levels[index], " instead of ", levels.front(), ": ", report.fallback_reason));
            return prepared;
        }
        if (report.fallback_reason.empty())
            report.fallback_reason = cat("dump level ", levels[index], " cannot be applied: ", prepared.error().message());
        log::warn(cat("dump level ", levels[index], " cannot be applied (", prepared.error().message(), "); trying dump level ", levels[index + 1]));
    }
}

// The kdump format has two bitmaps over every pfn below the limit. Holes
// are skipped, but the bitmaps are still written whole, so the limit is
// capped by the input's size: bitmap_floor_bytes per bitmap (512 Mi pfns,
// 2 TiB of 4 KiB pages), or bitmap_bytes_per_input_page for each page the
// input file holds (holes up to 512 times the memory, bitmaps at most 3%
// of the input), whichever is more. Memory above the cap is left out and
// the dump is marked incomplete.
constexpr uint64_t bitmap_floor_bytes = 64ull << 20;
constexpr uint64_t bitmap_bytes_per_input_page = 64;

uint64_t clip_pfn_limit(DumpInput const& input, uint64_t pfn_limit, CollectorReport& report)
{
    uint64_t file_pages = input.file_bytes / input.memory->page_size();
    uint64_t cap_bytes = std::max(bitmap_floor_bytes, checked_mul(file_pages, bitmap_bytes_per_input_page).value_or(UINT64_MAX));
    uint64_t cap_pfns = checked_mul(cap_bytes, 8).value_or(UINT64_MAX);
    if (pfn_limit <= cap_pfns)
        return pfn_limit;
    log::warn(cat("pfn limit ", hex(pfn_limit), " would need bitmaps of ", (pfn_limit + 7) / 8, " bytes each, more than the cap of ", cap_bytes,
        " (from the input's size); memory from page frame ", hex(cap_pfns), " up is left out and the dump is marked incomplete"));
    report.memory_left_out = true;
    return cap_pfns;
}

} // namespace

Result<CollectorReport> collect(CollectorOptions const& requested)
{
    if (requested.dump_level < 0 || requested.dump_level > dump_level::max)
        return Error::invalid(cat("dump level ", requested.dump_level, " is out of range; use 0 to 31"));

    auto input = TRY(open_input(requested.input_path, requested.pread_only, requested.allow_fallback ? fallback_page_size_bytes : 0));
    CollectorReport report;
    report.requested_dump_level = requested.dump_level;
    CollectorOptions options = requested;
    auto prepared = TRY(prepare_first_applicable_level(input, options, report));
    KernelView view = std::move(prepared.view);
    uint64_t pfn_limit = prepared.pfn_limit;
    bool elf_output = options.format == DumpFormat::Elf || options.format == DumpFormat::ElfFlattened;
    // -E describes holes with its PT_LOADs; its in-memory bitmap has a cap
    // of its own (write_elf).
    if (!elf_output)
        pfn_limit = clip_pfn_limit(input, pfn_limit, report);
    report.pfn_limit = pfn_limit;
    report.page_size_bytes = input.memory->page_size();

    if (elf_output && !input.elf_header)
        return Error::unsupported(cat(options.input_path, ": ELF output (-E) needs an ELF vmcore as input; this is a kdump-compressed file (re-filter it without -E)"));
    auto target = TRY(open_output(options));
    Result<void> written = elf_output
        ? write_elf(input, view, pfn_limit, options, *target.sink, report)
        : write_kdump(input, view, header_info(input, view, options), pfn_limit, options, *target.sink, report);
    report.output_bytes = target.sink->bytes_written();
    if (!written.ok()) {
        if (target.file)
            return std::move(written).error().with_context(cat("the dump is incomplete; what was written is in ", target.file->incomplete_path()));
        return written.error();
    }
    TRY(publish_output(target));
    report.output_path = target.final_path;
    if (report.lost_pages)
        log::warn(cat(report.lost_pages, " pages could not be read and were saved as zeros; ", report.output_path, " is marked incomplete"));
    return report;
}

std::string collector_report_note(CollectorReport const& report)
{
    std::string note;
    if (report.applied_dump_level != report.requested_dump_level)
        note += cat("; dump level ", report.applied_dump_level, " applied instead of ", report.requested_dump_level, " (", report.fallback_reason, ")");
    if (report.lost_pages)
        note += cat("; ", report.lost_pages, " pages unreadable, saved as zeros (dump marked incomplete)");
    if (report.memory_left_out)
        note += cat("; memory from page frame ", hex(report.pfn_limit), " up left out (dump marked incomplete)");
    return note;
}

Result<SafeFile> create_dump_file(std::string const& output_path, bool overwrite, DirectoryFd const* directory)
{
    auto opened = directory ? directory->duplicate() : DirectoryFd::open(parent_directory(output_path));
    if (!opened.ok())
        return std::move(opened).error();
    std::string name(base_name(output_path));
    if (auto existing = opened->entry_status(name)) {
        if (S_ISLNK(existing->st_mode))
            return symlink_refused_error(output_path);
        if (!overwrite)
            return Error::with_code(EEXIST, cat(output_path, " already exists; remove it or add -f to overwrite it"));
    }
    // 0600: a dump holds all of the crashed machine's memory, secrets too.
    if (overwrite)
        return SafeFile::create_replacing(opened.value(), name, 0600);
    return SafeFile::create(opened.value(), name);
}

Result<void> rebuild_flattened_file(int input_fd, std::string const& input_name, std::string const& output_path, bool overwrite)
{
    auto file = TRY(create_dump_file(output_path, overwrite));
    TRY(rebuild_flattened(input_fd, input_name, file.fd(), file.incomplete_path())
            .context(cat("the dump is incomplete; what arrived is in ", file.incomplete_path())));
    return file.commit();
}

Result<void> save_dmesg_file(std::string const& input_path, std::string const& output_path, bool overwrite)
{
    auto text = TRY(read_dmesg(input_path));
    auto file = TRY(create_dump_file(output_path, overwrite));
    TRY(file.write(std::string_view(text)));
    return file.commit();
}

std::string format_report(CollectorReport const& report)
{
    auto row = [](std::string_view label, uint64_t value) {
        std::string hex_value = hex(value).substr(2);
        return cat(label, ": 0x", std::string(16 - std::min<size_t>(16, hex_value.size()), '0'), hex_value, '\n');
    };
    ExclusionCounts const& excluded = report.excluded;
    uint64_t excluded_total = excluded.total();
    uint64_t remaining = report.present_pages > excluded_total ? report.present_pages - excluded_total : 0;
    std::string out;
    out += row("Original pages  ", report.present_pages);
    out += row("  Excluded pages   ", excluded_total);
    out += row("    Pages filled with zero  ", excluded.zero_pages);
    out += row("    Non-private cache pages ", excluded.cache_pages);
    out += row("    Private cache pages     ", excluded.cache_private_pages);
    out += row("    User process data pages ", excluded.user_pages);
    out += row("    Free pages              ", excluded.free_pages);
    out += row("    Hwpoison pages          ", excluded.hwpoison_pages);
    out += row("    Offline pages           ", excluded.offline_pages);
    out += row("  Remaining pages  ", remaining);
    uint64_t percent = report.present_pages ? remaining * 100 / report.present_pages : 0;
    out += cat("  (The number of pages is reduced to ", percent, "%.)\n");
    out += row("Memory Hole     ", report.hole_pages);
    out += "--------------------------------------------------\n";
    out += row("Total pages     ", report.pfn_limit);
    out += cat("\nWrite bytes     : ", report.output_bytes, "\n");
    out += cat("Pages written   : ", report.written_pages, " (", report.written_pages * report.page_size_bytes / (1024 * 1024), " MiB before compression)\n");
    if (report.shared_pages)
        out += cat("Pages shared    : ", report.shared_pages, " (identical to a page written before; stored once)\n");
    return out;
}

Result<std::string> read_dmesg(std::string const& input_path)
{
    auto input = TRY(open_input(input_path, false));
    auto view = TRY(open_kernel_view(input, true, input_path));
    return TRY(extract_dmesg(*view.info, *view.kernel).context(input_path));
}

} // namespace core
