// SPDX-License-Identifier: GPL-2.0-or-later
// ELF as /proc/vmcore and QEMU's dump-guest-memory write it: an ELF core
// file whose PT_LOADs map physical memory and whose PT_NOTEs hold one
// NT_PRSTATUS per CPU plus VMCOREINFO. Decoded field by field through
// ByteReader, for either byte order.
#pragma once

#include "core/base/bytes.h"
#include "core/base/error.h"

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace core::elf {

constexpr uint16_t machine_x86_64 = 62;
constexpr uint16_t machine_aarch64 = 183;
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

} // namespace core::elf
