// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/elf_writer.h"

#include "core/base/strings.h"
#include "core/dump/lost_pages.h"

#include <algorithm>

namespace core {

namespace {

constexpr uint64_t elf_header_bytes = 64;
constexpr uint64_t program_header_bytes = 56;
constexpr uint64_t section_header_bytes = 64;
constexpr uint16_t type_core = 4;     // ET_CORE
constexpr uint32_t segment_load = 1;  // PT_LOAD
constexpr uint32_t segment_note = 4;  // PT_NOTE
// e_phnum's escape: the real count is in section header 0's sh_info.
constexpr uint64_t extended_numbering = 0xffff; // PN_XNUM
// Data is handed to the sink in pieces this big: few syscalls for a file,
// whole records for a flattened stream.
constexpr size_t write_chunk_bytes = 1 << 20;

bool keep_bit(std::span<uint8_t const> bitmap, uint64_t pfn)
{
    uint64_t byte_index = pfn >> 3;
    return byte_index < bitmap.size() && ((bitmap[byte_index] >> (pfn & 7)) & 1) != 0;
}

// How many pfns from `pfn` (below `limit`) have the keep bit `value`;
// whole bytes of equal bits are skipped at once.
uint64_t run_length(std::span<uint8_t const> bitmap, uint64_t pfn, uint64_t limit, bool value)
{
    uint8_t const uniform = value ? 0xff : 0x00;
    uint64_t cursor = pfn;
    while (cursor < limit) {
        uint64_t byte_index = cursor >> 3;
        if ((cursor & 7) == 0 && limit - cursor >= 8) {
            uint8_t byte = byte_index < bitmap.size() ? bitmap[byte_index] : 0;
            if (byte == uniform) {
                cursor += 8;
                continue;
            }
        }
        if (keep_bit(bitmap, cursor) != value)
            break;
        ++cursor;
    }
    return cursor - pfn;
}

// Why an output load ends: a long excluded run, or its input load's end.
enum class LoadEnd { Split, InputEnd };

// Builds the output loads of one input load, run by run.
class LoadSplitter {
public:
    LoadSplitter(ElfLoadInput const& input, ElfLoadPlan& plan)
        : m_input(input)
        , m_plan(plan)
        , m_load_start(input.phys_start)
    {
    }

    void kept(uint64_t paddr, uint64_t bytes)
    {
        if (m_excluded_pages >= elf_split_excluded_pages) {
            close(LoadEnd::Split);
            m_load_start = paddr;
        } else {
            m_file_bytes += m_excluded_bytes;
            m_plan.stored_excluded_pages += m_excluded_pages;
        }
        m_excluded_pages = 0;
        m_excluded_bytes = 0;
        m_file_bytes += bytes;
    }

    void excluded(uint64_t pages, uint64_t bytes)
    {
        m_excluded_pages += pages;
        m_excluded_bytes += bytes;
    }

    void close(LoadEnd reason)
    {
        ElfDumpLoad load;
        load.phys_start = m_load_start;
        load.virt_start = m_input.virt_start == 0 ? 0 : m_input.virt_start + (m_load_start - m_input.phys_start);
        load.file_size = m_file_bytes;
        load.mem_size = m_file_bytes + m_excluded_bytes;
        load.flags = m_input.flags;
        load.align = m_input.align;
        load.zero_file_offset = reason == LoadEnd::Split && m_file_bytes == 0;
        m_plan.loads.push_back(load);
        m_plan.dropped_pages += m_excluded_pages;
        m_file_bytes = 0;
    }

    uint64_t file_bytes() const { return m_file_bytes; }

private:
    ElfLoadInput const& m_input;
    ElfLoadPlan& m_plan;
    uint64_t m_load_start;
    uint64_t m_file_bytes { 0 };
    uint64_t m_excluded_pages { 0 };
    uint64_t m_excluded_bytes { 0 };
};

} // namespace

std::vector<ElfLoadInput> elf_load_inputs(std::span<elf::LoadSegment const> loads)
{
    std::vector<ElfLoadInput> inputs;
    inputs.reserve(loads.size());
    for (auto const& load : loads) {
        ElfLoadInput input;
        input.phys_start = load.phys_start;
        input.virt_start = load.virt_start;
        input.mem_size = load.mem_size;
        inputs.push_back(input);
    }
    return inputs;
}

Result<ElfLoadPlan> plan_elf_loads(std::span<ElfLoadInput const> inputs, uint64_t page_size, std::span<uint8_t const> keep_bitmap)
{
    if (page_size == 0 || (page_size & (page_size - 1)) != 0)
        return Error::invalid(cat("ELF dump: page size ", page_size, " is not a power of two"));
    if (inputs.empty())
        return Error::invalid("ELF dump: the input has no PT_LOAD, so there is no memory to dump");

    ElfLoadPlan plan;
    plan.page_size = page_size;
    for (size_t index = 0; index < inputs.size(); ++index) {
        ElfLoadInput const& input = inputs[index];
        if (input.mem_size == 0)
            continue;
        auto end = checked_add(input.phys_start, input.mem_size);
        if (!end || *end > UINT64_MAX - page_size)
            return Error::invalid(cat("ELF dump: input PT_LOAD #", index, " at ", hex(input.phys_start), " with size ", hex(input.mem_size), " runs past the end of the address space"));

        LoadSplitter splitter(input, plan);
        uint64_t paddr = input.phys_start;
        // A partial first page has no bit to test: it is always kept.
        if (paddr % page_size != 0) {
            uint64_t head_end = std::min(*end, align_up(paddr, page_size));
            splitter.kept(paddr, head_end - paddr);
            paddr = head_end;
        }
        uint64_t pfn_end = align_up(*end, page_size) / page_size; // a partial last page counts
        // Past the head fragment paddr is page-aligned, or the load ended
        // inside its first page.
        uint64_t pfn = paddr == *end ? pfn_end : paddr / page_size;
        while (pfn < pfn_end) {
            bool value = keep_bit(keep_bitmap, pfn);
            uint64_t pages = run_length(keep_bitmap, pfn, pfn_end, value);
            uint64_t run_start = pfn * page_size;
            uint64_t run_bytes = std::min(*end, (pfn + pages) * page_size) - run_start;
            if (value)
                splitter.kept(run_start, run_bytes);
            else
                splitter.excluded(pages, run_bytes);
            pfn += pages;
        }
        splitter.close(LoadEnd::InputEnd);
    }
    for (auto const& load : plan.loads) {
        auto sum = checked_add(plan.data_bytes, load.file_size);
        if (!sum)
            return Error::invalid("ELF dump: the PT_LOADs add up to more than 2^64 bytes");
        plan.data_bytes = *sum;
    }
    return plan;
}

Result<uint64_t> exclude_zero_pages(PhysicalMemory const& memory, std::span<uint8_t> keep_bitmap, uint64_t pfn_limit)
{
    uint64_t page_size = memory.page_size();
    std::vector<uint8_t> page(page_size);
    uint64_t cleared = 0;
    uint64_t limit = std::min<uint64_t>(pfn_limit, uint64_t(keep_bitmap.size()) * 8);
    for (uint64_t pfn = 0; pfn < limit;) {
        if (keep_bitmap[pfn >> 3] == 0 && (pfn & 7) == 0) {
            pfn += 8;
            continue;
        }
        if (keep_bit(keep_bitmap, pfn) && memory.read(pfn * page_size, page).ok()
            && std::all_of(page.begin(), page.end(), [](uint8_t byte) { return byte == 0; })) {
            keep_bitmap[pfn >> 3] = static_cast<uint8_t>(keep_bitmap[pfn >> 3] & ~(1u << (pfn & 7)));
            ++cleared;
        }
        ++pfn;
    }
    return cleared;
}

// --- ElfDumpWriter ------------------------------------------------------------

ElfDumpWriter::ElfDumpWriter(OutputSink& sink, ElfDumpHeaderInfo const& info, ElfLoadPlan plan)
    : m_sink(sink)
    , m_info(info)
    , m_plan(std::move(plan))
{
}

ByteWriter ElfDumpWriter::encode_elf_header(uint32_t flags) const
{
    ByteWriter header(m_info.endian);
    header.put_string(0, "\x7f"
                         "ELF");
    header.put_u8(4, 2);                                             // ELFCLASS64
    header.put_u8(5, m_info.endian == Endian::Little ? 1 : 2);      // ELFDATA2LSB / MSB
    header.put_u8(6, 1);                                             // EV_CURRENT
    header.put_u16(16, type_core);
    header.put_u16(18, m_info.machine);
    header.put_u32(20, 1);                                           // e_version
    header.put_u64(24, 0);                                           // e_entry
    header.put_u64(32, elf_header_bytes);                            // e_phoff
    header.put_u64(40, m_section_header_offset);                     // e_shoff
    header.put_u32(48, flags);
    header.put_u16(52, elf_header_bytes);
    header.put_u16(54, program_header_bytes);
    bool extended = m_section_header_offset != 0;
    header.put_u16(56, static_cast<uint16_t>(extended ? extended_numbering : m_program_headers));
    header.put_u16(58, extended ? section_header_bytes : 0);        // e_shentsize
    header.put_u16(60, extended ? 1 : 0);                            // e_shnum
    header.put_u16(62, 0);                                           // e_shstrndx: SHN_UNDEF
    return header;
}

Result<std::unique_ptr<ElfDumpWriter>> ElfDumpWriter::create(OutputSink& sink, ElfDumpHeaderInfo const& info, std::span<uint8_t const> note_bytes, ElfLoadPlan plan)
{
    uint64_t data_bytes = 0;
    for (auto const& load : plan.loads) {
        if (load.file_size > load.mem_size)
            return Error::invalid(cat("ELF dump: a planned PT_LOAD at ", hex(load.phys_start), " stores more bytes than it spans"));
        auto sum = checked_add(data_bytes, load.file_size);
        if (!sum)
            return Error::invalid("ELF dump: the PT_LOADs add up to more than 2^64 bytes");
        data_bytes = *sum;
    }
    if (data_bytes != plan.data_bytes)
        return Error::invalid("ELF dump: the plan's data size does not match its PT_LOADs");
    uint64_t program_headers = uint64_t(plan.loads.size()) + 1;
    if (program_headers > UINT32_MAX)
        return Error::invalid(cat("ELF dump: ", plan.loads.size(), " PT_LOADs are more than an ELF file can number"));

    std::unique_ptr<ElfDumpWriter> writer(new ElfDumpWriter(sink, info, std::move(plan)));
    writer->m_program_headers = program_headers;
    uint64_t note_offset = elf_header_bytes + program_headers * program_header_bytes;
    if (program_headers >= extended_numbering) {
        writer->m_section_header_offset = note_offset;
        note_offset += section_header_bytes;
    }
    auto data_offset = checked_add(note_offset, note_bytes.size());
    if (!data_offset || !checked_add(*data_offset, data_bytes))
        return Error::invalid("ELF dump: the file would be larger than 2^64 bytes");
    writer->m_data_offset = *data_offset;

    ByteWriter headers = writer->encode_elf_header(info.flags);
    uint64_t entry = elf_header_bytes;
    headers.put_u32(entry + 0, segment_note);
    headers.put_u32(entry + 4, 0);                 // p_flags
    headers.put_u64(entry + 8, note_offset);
    headers.put_u64(entry + 16, 0);                // p_vaddr
    headers.put_u64(entry + 24, 0);                // p_paddr
    headers.put_u64(entry + 32, note_bytes.size());
    headers.put_u64(entry + 40, note_bytes.size());
    headers.put_u64(entry + 48, info.note_align);
    uint64_t file_offset = writer->m_data_offset;
    for (auto const& load : writer->m_plan.loads) {
        entry += program_header_bytes;
        headers.put_u32(entry + 0, segment_load);
        headers.put_u32(entry + 4, load.flags);
        headers.put_u64(entry + 8, load.zero_file_offset ? 0 : file_offset);
        headers.put_u64(entry + 16, load.virt_start);
        headers.put_u64(entry + 24, load.phys_start);
        headers.put_u64(entry + 32, load.file_size);
        headers.put_u64(entry + 40, load.mem_size);
        headers.put_u64(entry + 48, load.align);
        file_offset += load.file_size;
    }
    if (writer->m_section_header_offset != 0) {
        // Section header 0 carries the real program header count (as the
        // kernel's and makedumpfile's cores do: sh_size = e_shnum).
        uint64_t section = writer->m_section_header_offset;
        headers.put_u64(section + 32, 1);                                        // sh_size
        headers.put_u32(section + 40, 0);                                        // sh_link
        headers.put_u32(section + 44, static_cast<uint32_t>(program_headers));   // sh_info
        headers.resize(section + section_header_bytes);
    }
    headers.put_bytes(note_offset, note_bytes);
    headers.resize(writer->m_data_offset);
    TRY(sink.write_at(0, headers.bytes()));
    writer->skip_empty_loads();
    return writer;
}

void ElfDumpWriter::skip_empty_loads()
{
    while (m_load_index < m_plan.loads.size() && m_load_consumed == m_plan.loads[m_load_index].file_size) {
        ++m_load_index;
        m_load_consumed = 0;
    }
}

uint64_t ElfDumpWriter::next_paddr() const
{
    if (m_load_index >= m_plan.loads.size())
        return 0;
    return m_plan.loads[m_load_index].phys_start + m_load_consumed;
}

uint64_t ElfDumpWriter::bytes_left_in_load() const
{
    if (m_load_index >= m_plan.loads.size())
        return 0;
    return m_plan.loads[m_load_index].file_size - m_load_consumed;
}

Result<void> ElfDumpWriter::flush()
{
    if (m_buffer.empty())
        return {};
    // Kept on failure, so mark_incomplete() can try once more.
    TRY(m_sink.write_at(m_data_offset + m_buffer_start, m_buffer));
    m_buffer_start += m_buffer.size();
    m_buffer.clear();
    return {};
}

Result<void> ElfDumpWriter::write(std::span<uint8_t const> bytes)
{
    if (m_finished)
        return Error::invalid("ELF dump: data written after the dump was finished");
    if (bytes.size() > m_plan.data_bytes - m_data_written)
        return Error::invalid(cat("ELF dump: ", bytes.size(), " bytes of data offered with only ", m_plan.data_bytes - m_data_written, " left to fill in the PT_LOADs"));
    while (!bytes.empty()) {
        size_t room = write_chunk_bytes - m_buffer.size();
        size_t taken = std::min(room, bytes.size());
        m_buffer.insert(m_buffer.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(taken));
        bytes = bytes.subspan(taken);
        m_data_written += taken;
        uint64_t advance = taken;
        while (advance > 0) {
            uint64_t step = std::min(advance, bytes_left_in_load());
            if (step == 0)
                break; // cannot happen: the size was checked against the plan
            m_load_consumed += step;
            advance -= step;
            skip_empty_loads();
        }
        if (m_buffer.size() == write_chunk_bytes)
            TRY(flush());
    }
    return {};
}

Result<void> ElfDumpWriter::copy_from(PhysicalMemory const& memory, std::function<void(uint64_t)> const& progress, std::vector<uint64_t>* lost_pfns)
{
    uint64_t page_size = m_plan.page_size;
    if (memory.page_size() != page_size)
        return Error::invalid(cat("ELF dump: planned with page size ", page_size, " but the memory has ", memory.page_size()));
    std::vector<uint8_t> chunk(std::max<uint64_t>(write_chunk_bytes, page_size));
    while (!done()) {
        uint64_t start = next_paddr();
        size_t length = static_cast<size_t>(std::min<uint64_t>(bytes_left_in_load(), chunk.size()));
        // Split at page boundaries where presence changes: present pieces
        // are read together, absent ones written as zeros.
        size_t piece_start = 0;
        while (piece_start < length) {
            uint64_t paddr = start + piece_start;
            bool present = memory.has_page(paddr / page_size);
            size_t piece_end = piece_start;
            while (piece_end < length) {
                uint64_t at = start + piece_end;
                if (memory.has_page(at / page_size) != present)
                    break;
                uint64_t page_end = (at / page_size + 1) * page_size;
                piece_end = static_cast<size_t>(std::min<uint64_t>(length, piece_end + (page_end - at)));
            }
            std::span<uint8_t> piece(chunk.data() + piece_start, piece_end - piece_start);
            if (present && lost_pfns)
                read_pages_keeping_lost(memory, paddr, piece, *lost_pfns);
            else if (present)
                TRY(memory.read(paddr, piece));
            else
                std::fill(piece.begin(), piece.end(), uint8_t(0));
            piece_start = piece_end;
        }
        TRY(write(std::span<uint8_t const>(chunk.data(), length)));
        if (progress)
            progress(m_data_written);
    }
    return {};
}

Result<void> ElfDumpWriter::finish()
{
    if (m_finished)
        return {};
    if (!done())
        return Error::invalid(cat("ELF dump: only ", m_data_written, " of the ", m_plan.data_bytes, " bytes the PT_LOADs hold were written"));
    TRY(flush());
    TRY(m_sink.finish());
    m_finished = true;
    return {};
}

Result<void> ElfDumpWriter::mark_incomplete()
{
    if (m_finished)
        return {};
    m_finished = true;
    bool flushed = flush().ok();
    // On a stream the flagged header is a second record, which -R applies
    // over the first. A stream cut short is left without its end record,
    // so that -R says so too; one whose data all came (pages lost) ends
    // normally.
    ByteWriter header = encode_elf_header(m_info.flags | incomplete_flag);
    TRY(m_sink.write_at(0, header.bytes()));
    if (!m_sink.can_rewrite() && !(flushed && done()))
        return {};
    return m_sink.finish();
}

} // namespace core
