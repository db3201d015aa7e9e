// SPDX-License-Identifier: GPL-2.0-or-later
// An ELF vmcore (/proc/vmcore, or a copy of it) as PhysicalMemory. Reads go
// through mmap windows where the file allows it and pread otherwise.
#pragma once

#include "core/vmcore/elf.h"
#include "core/base/fd.h"
#include "core/vmcore/physical_memory.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace core {

class VmcoreFile final : public PhysicalMemory {
public:
    enum class Access { Auto, PreadOnly };
    // assumed_page_size_bytes: the page size when neither VMCOREINFO's
    // PAGESIZE nor the dump's CPU gives one (a CPU this build has no
    // translator for, without VMCOREINFO); 0 makes that an error. The
    // collector's fallback passes 4096, with a warning: a copy of the memory
    // in 4 KiB pages is still the whole memory.
    static Result<std::unique_ptr<VmcoreFile>> open(std::string const& path, Access access = Access::Auto, uint64_t assumed_page_size_bytes = 0);

    Result<void> read(uint64_t paddr, std::span<uint8_t> out) const override;
    bool has_page(uint64_t pfn) const override;
    uint64_t page_size() const override { return m_page_size; }
    uint64_t pfn_limit() const override { return m_pfn_limit; }
    uint64_t next_present_pfn(uint64_t pfn) const override;
    Endian endian() const override { return m_header.endian; }

    elf::Header const& header() const { return m_header; }
    // All PT_NOTE contents, concatenated verbatim (the kdump format copies
    // these bytes into its sub-header area).
    std::span<uint8_t const> note_bytes() const { return { m_note_bytes.data(), m_note_bytes.size() }; }
    std::vector<elf::Note> const& notes() const { return m_notes; }
    // VMCOREINFO text, if the notes have it.
    std::optional<std::string_view> vmcoreinfo_text() const;
    size_t cpu_count() const; // NT_PRSTATUS notes
    std::string const& path() const { return m_path; }
    int fd() const { return m_fd.get(); }

    // The PT_LOAD holding paddr, if any (sorted by phys_start).
    elf::LoadSegment const* load_for(uint64_t paddr) const;

private:
    // One mmap'd slice of the file; shared so that a reader keeps it mapped
    // while another thread evicts it from the cache.
    struct Window {
        uint64_t file_offset;
        MappedRegion region;
    };
    struct PageRange {
        uint64_t start_pfn;
        uint64_t end_pfn; // exclusive
    };

    VmcoreFile() = default;
    Result<void> load_notes();
    void index_loads();
    Result<void> read_file(uint64_t file_offset, std::span<uint8_t> out) const;
    Result<std::shared_ptr<Window const>> window_for(uint64_t file_offset) const;
    std::optional<uint64_t> next_load_start(uint64_t paddr) const;

    std::string m_path;
    UniqueFd m_fd;
    elf::Header m_header {};
    std::vector<elf::LoadSegment> m_sorted_loads;
    // m_load_end_prefix_max[i]: highest phys end among m_sorted_loads[0..i],
    // so lookups stay logarithmic even where PT_LOADs overlap (the kernel
    // text PT_LOAD overlaps a RAM one in every /proc/vmcore).
    std::vector<uint64_t> m_load_end_prefix_max;
    std::vector<PageRange> m_page_ranges; // pages touched by a PT_LOAD, merged
    mutable std::atomic<size_t> m_page_range_hint { 0 };
    std::vector<uint8_t> m_note_bytes;
    std::vector<elf::Note> m_notes;
    uint64_t m_page_size { 0 }; // VMCOREINFO PAGESIZE, else the dumped CPU's
    uint64_t m_pfn_limit { 0 };
    uint64_t m_file_size { 0 };
    bool m_use_mmap { false };
    // While mmap is used: catches SIGBUS in copies (vmcore_file.cpp).
    std::shared_ptr<void> m_sigbus_guard;
    mutable std::atomic<bool> m_mmap_failed { false };
    mutable std::mutex m_windows_mutex;
    mutable std::vector<std::shared_ptr<Window const>> m_windows; // least recently used first
};

} // namespace core
