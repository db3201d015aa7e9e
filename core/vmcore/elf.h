// SPDX-License-Identifier: GPL-2.0-or-later
// kdumpbox's one ELF reader, decoded field by field through ByteReader for
// either class and byte order:
// - vmcores, as /proc/vmcore and QEMU's dump-guest-memory write them: an
//   ELF core file whose PT_LOADs map physical memory and whose PT_NOTEs
//   hold one NT_PRSTATUS per CPU plus VMCOREINFO (parse_header, from the
//   first bytes of a file too large to read whole);
// - executables, shared libraries and kernel modules, read whole: their
//   program and section headers, a named section (.modinfo), and the
//   dynamic section's loader search inputs (parse_object).
#pragma once

#include "core/base/bytes.h"
#include "core/base/error.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core::elf {

// e_machine values (the ELF gABI's EM_* registry) kdumpbox names.
constexpr uint16_t machine_386 = 3;
constexpr uint16_t machine_ppc = 20;
constexpr uint16_t machine_ppc64 = 21;
constexpr uint16_t machine_s390 = 22;
constexpr uint16_t machine_arm = 40;
constexpr uint16_t machine_x86_64 = 62;
constexpr uint16_t machine_aarch64 = 183;
constexpr uint16_t machine_riscv = 243;
constexpr uint16_t machine_loongarch = 258;
constexpr uint32_t note_prstatus = 1;
constexpr uint32_t note_vmcoreinfo = 0; // name "VMCOREINFO", type 0

struct LoadSegment {
    uint64_t phys_start;
    uint64_t virt_start;
    uint64_t file_offset;
    uint64_t file_size;
    uint64_t mem_size;
};

struct NoteSegment {
    uint64_t file_offset;
    uint64_t file_size;
    uint64_t align; // p_align: -E copies it
};

struct Header {
    Endian endian;
    bool is_64bit;
    uint16_t type;    // ET_CORE = 4
    uint16_t machine; // EM_*
    uint32_t flags;
    std::vector<LoadSegment> loads;  // file order
    std::vector<NoteSegment> notes;  // PT_NOTE segments, file order
    uint64_t header_bytes;           // through the end of the program headers
};

// Decodes the ELF header and program headers from the first bytes of the
// file (pass at least ehdr + phdrs; if too short, the error says how many
// bytes are needed). file_size lets it check every segment's extent.
Result<Header> parse_header(std::span<uint8_t const> head, uint64_t file_size);
// How many leading bytes parse_header needs, from the ELF header alone.
Result<uint64_t> header_bytes_needed(std::span<uint8_t const> ehdr);

struct Note {
    uint32_t type;
    std::string_view name;          // without the trailing NUL
    std::span<uint8_t const> desc;
    uint64_t desc_offset;           // of desc within the note bytes
};

// Walks a note segment's bytes (4-byte aligned name and desc), checking
// every size against what remains.
Result<std::vector<Note>> parse_notes(std::span<uint8_t const> note_bytes, Endian endian);

// ---- Executables, shared libraries and kernel modules ----

// What a file is built for: enough to tell one architecture's copy of a
// library from another's.
struct Identity {
    Endian endian;
    bool is_64bit;
    uint16_t type;    // ET_REL = 1, ET_EXEC = 2, ET_DYN = 3
    uint16_t machine; // EM_*
    uint32_t flags;   // e_flags (the ARM float ABI, for one)
};

// From the first bytes of a file (52 are enough for either class): nullopt
// when it is not ELF or its class, byte order or version is unknown.
std::optional<Identity> identify(std::span<uint8_t const> head);
// The four magic bytes, 7f 'E' 'L' 'F'.
bool has_magic(std::span<uint8_t const> head);

constexpr uint32_t segment_load = 1;    // PT_LOAD
constexpr uint32_t segment_dynamic = 2; // PT_DYNAMIC
constexpr uint32_t segment_interp = 3;  // PT_INTERP
constexpr uint32_t segment_note = 4;    // PT_NOTE

struct ProgramHeader {
    uint32_t type;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t file_size;
    uint64_t mem_size;
};

struct SectionHeader {
    uint32_t name; // offset in the section name table
    uint32_t type;
    uint64_t offset;
    uint64_t size;
};

// A whole ELF file in memory with its header tables decoded. `bytes` is
// borrowed: it must outlive the Object. `what` (a path) names it in errors.
struct Object {
    Identity identity;
    std::vector<ProgramHeader> program_headers;
    std::vector<SectionHeader> section_headers;
    uint32_t section_names_index; // e_shstrndx, escapes resolved
    std::span<uint8_t const> bytes;
    std::string what;
};

// Every table entry is bounds-checked against the file; counts past
// escape values (PN_XNUM, SHN_XINDEX) come from section header 0, and
// implausible counts (over a million) are refused.
Result<Object> parse_object(std::span<uint8_t const> bytes, std::string_view what);

// The contents of the first section with this name (empty for SHT_NOBITS),
// or nullopt when there is none. A name table or section outside the file
// is an error.
Result<std::optional<std::span<uint8_t const>>> find_section(Object const& object, std::string_view name);

// A virtual address's file offset, through the PT_LOAD that maps it.
std::optional<uint64_t> file_offset_of(Object const& object, uint64_t address);

// What ld.so reads to load a dynamic executable or library.
struct DynamicInfo {
    std::optional<std::string> interpreter; // PT_INTERP: "/lib64/ld-linux-x86-64.so.2"
    std::vector<std::string> needed;        // DT_NEEDED, in order
    std::vector<std::string> rpath;         // DT_RPATH, split at ':', empty parts dropped
    std::vector<std::string> runpath;       // DT_RUNPATH, likewise
    bool is_dynamic { false };              // has a PT_DYNAMIC
};

// Strings come from DT_STRTAB, found through the PT_LOAD mapping it and
// bounded by DT_STRSZ; an offset past it is an error.
Result<DynamicInfo> read_dynamic_info(Object const& object);

} // namespace core::elf
