// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/vmcore/elf.h"

#include "core/base/strings.h"

#include <algorithm>

namespace core::elf {

namespace {

constexpr uint8_t class_32 = 1;
constexpr uint8_t class_64 = 2;
constexpr uint8_t data_little = 1;
constexpr uint8_t data_big = 2;
constexpr uint32_t type_load = segment_load;
constexpr uint32_t type_note = segment_note;
// e_phnum's escape value: the real count is in section header 0's sh_info.
constexpr uint16_t program_header_count_escape = 0xffff;
// e_shstrndx's escape value: the real index is in section header 0's sh_link.
constexpr uint16_t section_index_escape = 0xffff;
constexpr uint32_t section_nobits = 8; // SHT_NOBITS: no bytes in the file
constexpr uint64_t ident_bytes = 16;
// Far more than any real executable or module has; bounds the loops on
// corrupt counts.
constexpr uint64_t max_object_table_entries = 1u << 20;

// The parts of the layout that depend on the ELF class.
struct ClassLayout {
    uint64_t ehdr_bytes;
    uint64_t phdr_bytes;
    uint64_t shdr_bytes;
    unsigned word_bytes; // Elf*_Addr, Elf*_Off
    uint64_t phoff_at;
    uint64_t shoff_at;
    uint64_t flags_at;
    uint64_t phentsize_at;
    uint64_t phnum_at;
    uint64_t shentsize_at;
    uint64_t sh_info_at; // within a section header
    uint64_t sh_offset_at;
    uint64_t sh_size_at;
    uint64_t sh_link_at;
};

constexpr ClassLayout layout_64 { 64, 56, 64, 8, 32, 40, 48, 54, 56, 58, 44, 24, 32, 40 };
constexpr ClassLayout layout_32 { 52, 32, 40, 4, 28, 32, 36, 42, 44, 46, 28, 16, 20, 24 };

// A limit on the header table so that a corrupt e_phnum cannot make us
// read gigabytes into memory; 64 MiB holds over a million PT_LOADs.
constexpr uint64_t max_header_bytes = 64ull << 20;

struct Ident {
    Endian endian;
    ClassLayout const* layout;
    bool is_64bit;
};

Result<Ident> decode_ident(std::span<uint8_t const> head)
{
    if (head.size() < ident_bytes)
        return Error::invalid(cat("ELF header: ", head.size(), " bytes is too short for an ELF identification (", ident_bytes, " bytes); the file is truncated or not ELF"));
    ByteReader reader(head.first(ident_bytes), Endian::Big, "ELF identification");
    if (TRY(reader.u32(0)) != 0x7f454c46)
        return Error::invalid("ELF header: no ELF magic (7f 45 4c 46) at offset 0; this is not an ELF vmcore");
    uint8_t elf_class = TRY(reader.u8(4));
    uint8_t data_encoding = TRY(reader.u8(5));
    uint8_t version = TRY(reader.u8(6));
    Ident ident {};
    switch (elf_class) {
    case class_64:
        ident.layout = &layout_64;
        ident.is_64bit = true;
        break;
    case class_32:
        ident.layout = &layout_32;
        ident.is_64bit = false;
        break;
    default:
        return Error::invalid(cat("ELF header: unknown EI_CLASS ", elf_class, " (expected 1 for ELF32 or 2 for ELF64)"));
    }
    switch (data_encoding) {
    case data_little:
        ident.endian = Endian::Little;
        break;
    case data_big:
        ident.endian = Endian::Big;
        break;
    default:
        return Error::invalid(cat("ELF header: unknown EI_DATA ", data_encoding, " (expected 1 for little-endian or 2 for big-endian)"));
    }
    if (version != 1)
        return Error::invalid(cat("ELF header: unknown EI_VERSION ", version, " (expected 1)"));
    return ident;
}

struct TableGeometry {
    uint64_t phoff;
    uint64_t phnum;        // 0 while section 0 (PN_XNUM) is not in head yet
    uint64_t bytes_needed; // through the program headers (or section 0)
};

Result<uint64_t> table_end(uint64_t phoff, uint64_t phnum, ClassLayout const& layout)
{
    auto table_bytes = checked_mul(phnum, layout.phdr_bytes);
    auto end = table_bytes ? checked_add(phoff, *table_bytes) : std::nullopt;
    if (!end)
        return Error::invalid(cat("ELF header: program header table (offset ", hex(phoff), ", ", phnum, " entries) is out of range"));
    return *end;
}

// Reads e_phoff/e_phnum, following PN_XNUM into section header 0 when head
// already contains it; otherwise bytes_needed says how far to read first.
Result<TableGeometry> decode_table_geometry(ByteReader const& reader, Ident const& ident)
{
    ClassLayout const& layout = *ident.layout;
    std::string_view class_name = ident.is_64bit ? "ELF64" : "ELF32";
    if (reader.size() < layout.ehdr_bytes)
        return Error::invalid(cat("ELF header: ", reader.size(), " bytes is too short for an ", class_name, " header (", layout.ehdr_bytes, " bytes); the file is truncated"));
    TableGeometry geometry {};
    geometry.phoff = TRY(reader.uint(layout.phoff_at, layout.word_bytes));
    uint64_t phentsize = TRY(reader.u16(layout.phentsize_at));
    geometry.phnum = TRY(reader.u16(layout.phnum_at));
    uint64_t minimum_bytes = layout.ehdr_bytes;
    if (geometry.phnum == program_header_count_escape) {
        uint64_t shoff = TRY(reader.uint(layout.shoff_at, layout.word_bytes));
        uint64_t shentsize = TRY(reader.u16(layout.shentsize_at));
        if (shoff == 0)
            return Error::invalid("ELF header: e_phnum is PN_XNUM (0xffff) but there is no section header 0 (e_shoff is 0) to hold the real count");
        if (shentsize != layout.shdr_bytes)
            return Error::invalid(cat("ELF header: e_shentsize is ", shentsize, ", but an ", class_name, " section header is ", layout.shdr_bytes, " bytes; the header is corrupt"));
        auto section_end = checked_add(shoff, layout.shdr_bytes);
        if (!section_end)
            return Error::invalid(cat("ELF header: e_shoff ", hex(shoff), " is out of range"));
        minimum_bytes = std::max(minimum_bytes, *section_end);
        if (reader.size() < *section_end) {
            geometry.phnum = 0;
            geometry.bytes_needed = minimum_bytes;
            return geometry;
        }
        geometry.phnum = TRY(reader.u32(shoff + layout.sh_info_at));
    }
    if (geometry.phnum != 0 && phentsize != layout.phdr_bytes)
        return Error::invalid(cat("ELF header: e_phentsize is ", phentsize, ", but an ", class_name, " program header is ", layout.phdr_bytes, " bytes; the header is corrupt"));
    geometry.bytes_needed = std::max(TRY(table_end(geometry.phoff, geometry.phnum, layout)), minimum_bytes);
    return geometry;
}

Result<void> check_header_size(uint64_t bytes_needed)
{
    if (bytes_needed > max_header_bytes)
        return Error::invalid(cat("ELF header: the program header table ends at ", hex(bytes_needed), ", beyond the ", max_header_bytes >> 20, " MiB this reader accepts; the header is corrupt"));
    return {};
}

std::string_view segment_kind(uint32_t type) { return type == type_load ? "PT_LOAD" : "PT_NOTE"; }

// One program header, every field, in either class (the field order
// differs: ELF64 moves p_flags up beside p_type).
struct RawProgramHeader {
    uint32_t type;
    uint64_t offset, virt, phys, file_bytes, mem_bytes, align;
};

Result<RawProgramHeader> decode_program_header(ByteReader const& table, uint64_t at, bool is_64bit)
{
    ByteCursor cursor(table, at);
    RawProgramHeader header {};
    header.type = cursor.u32();
    if (is_64bit) {
        cursor.u32(); // p_flags
        header.offset = cursor.u64();
        header.virt = cursor.u64();
        header.phys = cursor.u64();
        header.file_bytes = cursor.u64();
        header.mem_bytes = cursor.u64();
        header.align = cursor.u64();
    } else {
        header.offset = cursor.u32();
        header.virt = cursor.u32();
        header.phys = cursor.u32();
        header.file_bytes = cursor.u32();
        header.mem_bytes = cursor.u32();
        cursor.u32(); // p_flags
        header.align = cursor.u32();
    }
    TRY(cursor.status());
    return header;
}

} // namespace

// With PN_XNUM the count lives in section header 0, so from the ELF header
// alone this answers the end of that section header; called again with
// those bytes, it answers the end of the program headers.
Result<uint64_t> header_bytes_needed(std::span<uint8_t const> ehdr)
{
    auto ident = TRY(decode_ident(ehdr));
    ByteReader reader(ehdr, ident.endian, "ELF header");
    if (ehdr.size() < ident.layout->ehdr_bytes)
        return ident.layout->ehdr_bytes;
    auto geometry = TRY(decode_table_geometry(reader, ident));
    TRY(check_header_size(geometry.bytes_needed));
    return geometry.bytes_needed;
}

Result<Header> parse_header(std::span<uint8_t const> head, uint64_t file_size)
{
    auto ident = TRY(decode_ident(head));
    ClassLayout const& layout = *ident.layout;
    ByteReader reader(head, ident.endian, "ELF header");
    auto geometry = TRY(decode_table_geometry(reader, ident));
    TRY(check_header_size(geometry.bytes_needed));
    if (head.size() < geometry.bytes_needed)
        return Error::invalid(cat("ELF header: the headers need ", geometry.bytes_needed, " bytes but only ", head.size(), " were given"));
    if (geometry.bytes_needed > file_size)
        return Error::invalid(cat("ELF header: the program header table ends at ", hex(geometry.bytes_needed), ", past the end of the file (", hex(file_size), " bytes); the file is truncated"));

    Header header {};
    header.endian = ident.endian;
    header.is_64bit = ident.is_64bit;
    header.type = TRY(reader.u16(16));
    header.machine = TRY(reader.u16(18));
    header.flags = TRY(reader.u32(layout.flags_at));
    header.header_bytes = geometry.bytes_needed;

    ByteReader table(head, ident.endian, "ELF program headers");
    for (uint64_t index = 0; index < geometry.phnum; ++index) {
        auto [type, offset, virt, phys, file_bytes, mem_bytes, align] = TRY(decode_program_header(table, geometry.phoff + index * layout.phdr_bytes, ident.is_64bit));
        if (type != type_load && type != type_note)
            continue;
        // Segment numbers in messages count PT_LOADs (or PT_NOTEs) alone, as
        // readelf's listing of a vmcore is mostly PT_LOADs.
        uint64_t ordinal = type == type_load ? header.loads.size() : header.notes.size();
        if (!extent_within(offset, file_bytes, file_size))
            return Error::invalid(cat(segment_kind(type), ' ', ordinal, " (file offset ", hex(offset), ", ", hex(file_bytes), " bytes) runs past the end of the file (", hex(file_size), " bytes); the file is truncated"));
        if (type == type_note) {
            header.notes.push_back({ offset, file_bytes, align });
            continue;
        }
        if (file_bytes > mem_bytes)
            return Error::invalid(cat("PT_LOAD ", ordinal, " (physical ", hex(phys), "): p_filesz ", hex(file_bytes), " is larger than p_memsz ", hex(mem_bytes), "; the header is corrupt"));
        if (!checked_add(phys, mem_bytes))
            return Error::invalid(cat("PT_LOAD ", ordinal, ": physical range ", hex(phys), " + ", hex(mem_bytes), " bytes wraps around the address space; the header is corrupt"));
        header.loads.push_back({ phys, virt, offset, file_bytes, mem_bytes });
    }
    return header;
}

Result<std::vector<Note>> parse_notes(std::span<uint8_t const> note_bytes, Endian endian)
{
    constexpr uint64_t note_header_bytes = 12; // namesz, descsz, type: 4 bytes each on every class
    ByteReader reader(note_bytes, endian, "ELF note");
    std::vector<Note> notes;
    uint64_t offset = 0;
    while (offset < note_bytes.size()) {
        uint64_t remaining = note_bytes.size() - offset;
        if (remaining < note_header_bytes) {
            // Zero padding shorter than a header may end a segment.
            auto tail = TRY(reader.bytes(offset, remaining));
            if (std::all_of(tail.begin(), tail.end(), [](uint8_t byte) { return byte == 0; }))
                break;
            return Error::invalid(cat("ELF note at offset ", hex(offset), ": only ", remaining, " bytes left for a ", note_header_bytes, "-byte note header; the notes are truncated"));
        }
        ByteCursor cursor(reader, offset);
        uint64_t name_bytes = cursor.u32();
        uint64_t desc_bytes = cursor.u32();
        uint32_t type = cursor.u32();
        TRY(cursor.status());
        // An all-zero header ends the list: segments are often padded, and
        // the kernel itself stops at namesz 0.
        if (name_bytes == 0 && desc_bytes == 0 && type == 0)
            break;
        uint64_t name_at = offset + note_header_bytes;
        uint64_t desc_at = name_at + align_up(name_bytes, 4); // u32 sizes: no overflow in u64
        uint64_t next = desc_at + align_up(desc_bytes, 4);
        // The last note's padding may be missing; its data may not.
        if (!extent_within(desc_at, desc_bytes, note_bytes.size()))
            return Error::invalid(cat("ELF note at offset ", hex(offset), " (type ", type, "): name of ", name_bytes, " bytes and descriptor of ", desc_bytes, " bytes run past the end of the notes (", note_bytes.size(), " bytes); the notes are truncated or corrupt"));
        Note note {};
        note.type = type;
        note.name = TRY(reader.c_string(name_at, name_bytes));
        note.desc = TRY(reader.bytes(desc_at, desc_bytes));
        note.desc_offset = desc_at;
        notes.push_back(note);
        offset = std::min<uint64_t>(next, note_bytes.size());
    }
    return notes;
}

// ---- Executables, shared libraries and kernel modules ----

bool has_magic(std::span<uint8_t const> head)
{
    return head.size() >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F';
}

namespace {

Result<Identity> decode_identity(ByteReader const& reader, Ident const& ident)
{
    Identity identity {};
    identity.endian = ident.endian;
    identity.is_64bit = ident.is_64bit;
    identity.type = TRY(reader.u16(16));
    identity.machine = TRY(reader.u16(18));
    identity.flags = TRY(reader.u32(ident.layout->flags_at));
    return identity;
}

Result<std::vector<SectionHeader>> decode_section_headers(ByteReader const& reader, Ident const& ident, uint32_t& section_names_index)
{
    ClassLayout const& layout = *ident.layout;
    std::string_view what = reader.what();
    uint64_t shoff = TRY(reader.uint(layout.shoff_at, layout.word_bytes));
    uint64_t shentsize = TRY(reader.u16(layout.shentsize_at));
    uint64_t shnum = TRY(reader.u16(layout.shentsize_at + 2));
    section_names_index = TRY(reader.u16(layout.shentsize_at + 4));
    if (shoff == 0)
        return std::vector<SectionHeader>();
    if (shentsize != layout.shdr_bytes)
        return Error::invalid(cat(what, ": e_shentsize is ", shentsize, ", expected ", layout.shdr_bytes));
    // Section header 0 carries the real values when they overflow 16 bits.
    if (shnum == 0 || section_names_index == section_index_escape) {
        auto first = TRY(reader.sub(shoff, layout.shdr_bytes).context("section header 0"));
        if (shnum == 0)
            shnum = TRY(first.uint(layout.sh_size_at, layout.word_bytes));
        if (section_names_index == section_index_escape)
            section_names_index = TRY(first.u32(layout.sh_link_at));
    }
    if (shnum > max_object_table_entries)
        return Error::invalid(cat(what, ": ", shnum, " section headers is not a real ELF file"));
    auto table = TRY(reader.sub(shoff, shnum * layout.shdr_bytes).context("section header table"));
    std::vector<SectionHeader> headers;
    headers.reserve(static_cast<size_t>(shnum));
    for (uint64_t index = 0; index < shnum; ++index) {
        uint64_t at = index * layout.shdr_bytes;
        SectionHeader header {};
        header.name = TRY(table.u32(at));
        header.type = TRY(table.u32(at + 4));
        header.offset = TRY(table.uint(at + layout.sh_offset_at, layout.word_bytes));
        header.size = TRY(table.uint(at + layout.sh_size_at, layout.word_bytes));
        headers.push_back(header);
    }
    return headers;
}

std::vector<std::string> split_search_path(std::string_view text)
{
    std::vector<std::string> out;
    for (auto part : split(text, ':')) {
        if (!part.empty())
            out.emplace_back(part);
    }
    return out;
}

} // namespace

std::optional<Identity> identify(std::span<uint8_t const> head)
{
    if (!has_magic(head))
        return std::nullopt;
    auto ident = decode_ident(head);
    if (!ident.ok())
        return std::nullopt;
    auto identity = decode_identity(ByteReader(head, ident.value().endian, "ELF header"), ident.value());
    if (!identity.ok())
        return std::nullopt;
    return identity.value();
}

Result<Object> parse_object(std::span<uint8_t const> bytes, std::string_view what)
{
    if (!has_magic(bytes) || bytes.size() < ident_bytes)
        return Error::invalid(cat(what, ": not an ELF file"));
    auto ident = TRY(decode_ident(bytes).context(what));
    ClassLayout const& layout = *ident.layout;
    ByteReader reader(bytes, ident.endian, what);

    Object object {};
    object.bytes = bytes;
    object.what = std::string(what);
    object.identity = TRY(decode_identity(reader, ident).context("ELF header"));

    auto geometry = TRY(decode_table_geometry(reader, ident).context(what));
    if (geometry.bytes_needed > bytes.size())
        return Error::invalid(cat(what, ": the ELF headers end at ", hex(geometry.bytes_needed), ", past the end of the file (", hex(bytes.size()), " bytes)"));
    if (geometry.phnum > max_object_table_entries)
        return Error::invalid(cat(what, ": ", geometry.phnum, " program headers is not a real ELF file"));
    if (geometry.phnum != 0) {
        auto table = TRY(reader.sub(geometry.phoff, geometry.phnum * layout.phdr_bytes).context("program header table"));
        for (uint64_t index = 0; index < geometry.phnum; ++index) {
            auto raw = TRY(decode_program_header(table, index * layout.phdr_bytes, ident.is_64bit));
            object.program_headers.push_back({ raw.type, raw.offset, raw.virt, raw.file_bytes, raw.mem_bytes });
        }
    }
    object.section_headers = TRY(decode_section_headers(reader, ident, object.section_names_index));
    return object;
}

Result<std::optional<std::span<uint8_t const>>> find_section(Object const& object, std::string_view name)
{
    using Found = std::optional<std::span<uint8_t const>>;
    if (object.section_headers.empty())
        return Found();
    if (object.section_names_index >= object.section_headers.size())
        return Error::invalid(cat(object.what, ": e_shstrndx ", object.section_names_index, " is past the ", object.section_headers.size(), " section headers"));
    ByteReader reader(object.bytes, object.identity.endian, object.what);
    auto const& names_header = object.section_headers[object.section_names_index];
    auto names = TRY(reader.sub(names_header.offset, names_header.size).context("section name table"));
    for (auto const& section : object.section_headers) {
        if (section.name >= names.size())
            continue;
        if (TRY(names.c_string(section.name, names.size() - section.name)) != name)
            continue;
        if (section.type == section_nobits)
            return Found(std::span<uint8_t const>());
        return Found(TRY(reader.bytes(section.offset, section.size).context(cat("section ", name))));
    }
    return Found();
}

std::optional<uint64_t> file_offset_of(Object const& object, uint64_t address)
{
    for (auto const& header : object.program_headers) {
        if (header.type == segment_load && address >= header.vaddr && address - header.vaddr < header.file_size)
            return header.offset + (address - header.vaddr);
    }
    return std::nullopt;
}

Result<DynamicInfo> read_dynamic_info(Object const& object)
{
    constexpr uint64_t tag_null = 0;
    constexpr uint64_t tag_needed = 1;
    constexpr uint64_t tag_strtab = 5;
    constexpr uint64_t tag_strsz = 10;
    constexpr uint64_t tag_rpath = 15;
    constexpr uint64_t tag_runpath = 29;

    std::string_view what = object.what;
    ByteReader reader(object.bytes, object.identity.endian, what);
    DynamicInfo info {};
    std::optional<ProgramHeader> dynamic;
    for (auto const& header : object.program_headers) {
        if (header.type == segment_interp) {
            auto text = TRY(reader.c_string(header.offset, header.file_size).context("PT_INTERP"));
            info.interpreter = std::string(text);
        }
        if (header.type == segment_dynamic)
            dynamic = header;
    }
    if (!dynamic)
        return info;
    info.is_dynamic = true;

    unsigned word = object.identity.is_64bit ? 8 : 4;
    auto table = TRY(reader.sub(dynamic->offset, dynamic->file_size).context("PT_DYNAMIC"));
    std::optional<uint64_t> strtab, strsz;
    std::vector<uint64_t> needed, rpath, runpath;
    for (uint64_t offset = 0; offset + 2 * word <= table.size(); offset += 2 * word) {
        uint64_t tag = TRY(table.uint(offset, word));
        uint64_t value = TRY(table.uint(offset + word, word));
        if (tag == tag_null)
            break;
        switch (tag) {
        case tag_needed:
            needed.push_back(value);
            break;
        case tag_strtab:
            strtab = value;
            break;
        case tag_strsz:
            strsz = value;
            break;
        case tag_rpath:
            rpath.push_back(value);
            break;
        case tag_runpath:
            runpath.push_back(value);
            break;
        default:
            break;
        }
    }
    if (needed.empty() && rpath.empty() && runpath.empty())
        return info;
    if (!strtab)
        return Error::invalid(cat(what, ": the dynamic section has DT_NEEDED entries but no DT_STRTAB"));
    auto strtab_offset = file_offset_of(object, *strtab);
    if (!strtab_offset)
        return Error::invalid(cat(what, ": DT_STRTAB ", hex(*strtab), " is not inside any PT_LOAD"));
    uint64_t strtab_size = strsz.value_or(reader.size() - std::min<uint64_t>(*strtab_offset, reader.size()));
    auto strings = TRY(reader.sub(*strtab_offset, strtab_size).context("DT_STRTAB"));
    auto string_at = [&](uint64_t index) -> Result<std::string> {
        if (index >= strings.size())
            return Error::invalid(cat(what, ": a dynamic string offset ", index, " is past the ", strings.size(), "-byte string table"));
        return std::string(TRY(strings.c_string(index, strings.size() - index)));
    };
    for (auto index : needed)
        info.needed.push_back(TRY(string_at(index)));
    for (auto index : rpath) {
        for (auto& part : split_search_path(TRY(string_at(index))))
            info.rpath.push_back(std::move(part));
    }
    for (auto index : runpath) {
        for (auto& part : split_search_path(TRY(string_at(index))))
            info.runpath.push_back(std::move(part));
    }
    return info;
}

} // namespace core::elf
