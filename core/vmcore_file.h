// SPDX-License-Identifier: GPL-2.0-or-later
// An ELF vmcore (/proc/vmcore, or a copy of it) as PhysicalMemory. Reads go
// through mmap windows where the file allows it and pread otherwise.
#pragma once

#include "core/elf.h"
#include "core/fd.h"
#include "core/physical_memory.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace core {

class VmcoreFile final : public PhysicalMemory {
public:
    enum class Access { Auto, PreadOnly };
    static Result<std::unique_ptr<VmcoreFile>> open(std::string const& path, Access access = Access::Auto);

    Result<void> read(uint64_t paddr, std::span<uint8_t> out) const override;
    bool has_page(uint64_t pfn) const override;
    uint64_t page_size() const override { return m_page_size; }
    uint64_t pfn_limit() const override { return m_pfn_limit; }
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
    VmcoreFile() = default;
    std::string m_path;
    UniqueFd m_fd;
    elf::Header m_header {};
    std::vector<elf::LoadSegment> m_sorted_loads;
    std::vector<uint8_t> m_note_bytes;
    std::vector<elf::Note> m_notes;
    uint64_t m_page_size { 4096 };
    uint64_t m_pfn_limit { 0 };
    bool m_use_mmap { false };
};

} // namespace core
