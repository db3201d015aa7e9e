// SPDX-License-Identifier: GPL-2.0-or-later
// -E: the dump as an ELF64 core file, laid out as makedumpfile lays it out:
// the ELF header, one PT_NOTE, the PT_LOADs (plus a section header 0 when
// there are 65535 or more program headers, PN_XNUM), the notes verbatim,
// then every PT_LOAD's file data back to back, unaligned.
//
// Which memory goes in is planned first (plan_elf_loads), from the keep
// bitmap and the input's PT_LOADs, with makedumpfile's rule: a run of fewer
// than 256 excluded pages stays in the file with its contents (a new
// PT_LOAD would cost more than it saves); a longer run ends the PT_LOAD,
// whose p_memsz then covers the run past p_filesz (readers see those pages
// as absent), and the next kept page starts a new PT_LOAD. Excluded pages at
// the end of an input PT_LOAD never reach the file, however few.
//
// Zero pages: makedumpfile's -E drops them by clearing their keep bits
// before planning (exclude_zero_pages below), not by sharing one zero page
// as the kdump format does.
#pragma once

#include "core/base/bytes.h"
#include "core/dump/dump_output.h"
#include "core/vmcore/elf.h"
#include "core/base/error.h"
#include "core/vmcore/physical_memory.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace core {

// makedumpfile's PFN_EXCLUDED: runs of at least this many excluded pages
// split a PT_LOAD.
constexpr uint64_t elf_split_excluded_pages = 256;

// One PT_LOAD of the input, in program header order.
struct ElfLoadInput {
    uint64_t phys_start { 0 };
    uint64_t virt_start { 0 }; // 0: the input gave none
    uint64_t mem_size { 0 };
    uint32_t flags { 7 };      // PF_R | PF_W | PF_X, as /proc/vmcore has
    uint64_t align { 0 };
};

// The input loads of a parsed ELF vmcore (flags and align as /proc/vmcore
// sets them: core/elf.h does not keep them).
std::vector<ElfLoadInput> elf_load_inputs(std::span<elf::LoadSegment const> loads);

// One PT_LOAD of the output.
struct ElfDumpLoad {
    uint64_t phys_start { 0 };
    // The input's p_vaddr moved along with p_paddr, as makedumpfile does;
    // 0 when the input load had p_vaddr 0 (makedumpfile would invent an
    // address there; 0 keeps saying "unknown").
    uint64_t virt_start { 0 };
    uint64_t file_size { 0 }; // bytes stored, from phys_start on
    uint64_t mem_size { 0 };  // file_size plus the excluded bytes after it
    uint32_t flags { 7 };
    uint64_t align { 0 };
    // p_offset is written as 0: makedumpfile's choice for a load with no
    // file data that a split ended. The last load of an input PT_LOAD keeps
    // its place in the data area even when it is empty.
    bool zero_file_offset { false };
};

struct ElfLoadPlan {
    std::vector<ElfDumpLoad> loads; // in input program header order
    uint64_t page_size { 0 };
    uint64_t data_bytes { 0 };      // sum of file_size
    // Excluded pages that really are left out of the file (makedumpfile's
    // "Excluded pages ... in ELF format"); the rest of the excluded pages
    // are stored because their run was short.
    uint64_t dropped_pages { 0 };
    // Excluded pages stored anyway, inside short runs.
    uint64_t stored_excluded_pages { 0 };
};

// keep_bitmap: bit p (bit p & 7 of byte p >> 3) set means pfn p is kept;
// pfns past the bitmap count as excluded. A PT_LOAD's partial first page is
// always kept (as makedumpfile does: it has no bit of its own); a partial
// last page follows its bit. Input loads of size 0 are left out.
Result<ElfLoadPlan> plan_elf_loads(std::span<ElfLoadInput const> inputs, uint64_t page_size, std::span<uint8_t const> keep_bitmap);

// Clears the keep bit of every kept page below pfn_limit that reads as all
// zeros; returns how many it cleared. A page that cannot be read whole (a
// partial page at a load's end) is kept: the copy reports real errors.
Result<uint64_t> exclude_zero_pages(PhysicalMemory const& memory, std::span<uint8_t> keep_bitmap, uint64_t pfn_limit);

struct ElfDumpHeaderInfo {
    Endian endian { Endian::Little };
    uint16_t machine { 0 };      // e_machine, from the input
    uint32_t flags { 0 };        // e_flags, from the input
    uint64_t note_align { 0 };   // the input PT_NOTE's p_align (0 or 4)
};

class ElfDumpWriter {
public:
    // e_flags bit for a dump cut short, which crash reports (makedumpfile's
    // DUMP_ELF_INCOMPLETE).
    static constexpr uint32_t incomplete_flag = 1;

    // Writes the ELF header, program headers and notes at once.
    static Result<std::unique_ptr<ElfDumpWriter>> create(OutputSink& sink, ElfDumpHeaderInfo const& info, std::span<uint8_t const> note_bytes, ElfLoadPlan plan);

    // The load data goes in as one stream: plan.loads in order, each from
    // its phys_start for file_size bytes. The caller asks where the next
    // byte comes from and how much of its load is left.
    bool done() const { return m_data_written == m_plan.data_bytes; }
    uint64_t next_paddr() const;
    uint64_t bytes_left_in_load() const;
    // Appends load data; it may run on into the following loads. More than
    // the plan holds is an error.
    Result<void> write(std::span<uint8_t const> bytes);
    // Does all of the writing from memory: pages memory lacks (has_page
    // false, e.g. excluded in a kdump-compressed input) are written as
    // zeros. progress, if set, gets the data bytes written so far.
    // A page memory holds but cannot give (EIO) is written as zeros and its
    // pfn appended to lost_pfns (core/dump/lost_pages.h); the caller then
    // ends with mark_incomplete().
    Result<void> copy_from(PhysicalMemory const& memory, std::function<void(uint64_t)> const& progress = {}, std::vector<uint64_t>* lost_pfns = nullptr);

    // Checks that all planned data came, flushes, and finishes the sink.
    Result<void> finish();
    // After an error (ENOSPC), or with all data written but some pages
    // lost: flush what can be, then set incomplete_flag in e_flags and
    // finish the sink (fsync). A stream gets the flagged header as a later
    // record, which -R applies; one cut short is not finished (no end
    // record), so -R also reports it as incomplete. Best effort; no calls
    // after it.
    Result<void> mark_incomplete();

    ElfLoadPlan const& plan() const { return m_plan; }
    uint64_t data_offset() const { return m_data_offset; }
    uint64_t data_written() const { return m_data_written; }

private:
    ElfDumpWriter(OutputSink& sink, ElfDumpHeaderInfo const& info, ElfLoadPlan plan);
    ByteWriter encode_elf_header(uint32_t flags) const;
    void skip_empty_loads();
    Result<void> flush();

    OutputSink& m_sink;
    ElfDumpHeaderInfo m_info;
    ElfLoadPlan m_plan;
    uint64_t m_program_headers { 0 }; // PT_NOTE + PT_LOADs
    uint64_t m_section_header_offset { 0 }; // 0: no section header
    uint64_t m_data_offset { 0 };
    uint64_t m_data_written { 0 };
    size_t m_load_index { 0 };
    uint64_t m_load_consumed { 0 };
    std::vector<uint8_t> m_buffer;
    uint64_t m_buffer_start { 0 }; // data offset of m_buffer[0]
    bool m_finished { false };
};

} // namespace core
