// SPDX-License-Identifier: GPL-2.0-or-later
// The ELF header parser and the note walker on bytes alone (no file), the
// fast path to the header and note checks: the first byte picks the byte
// order of the notes, the rest is both an ELF head and a note segment.
#include "tests/fuzz/fuzz_support.h"

#include "core/vmcore/elf.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    if (size < 1)
        return 0;
    auto endian = (data[0] & 1) ? core::Endian::Big : core::Endian::Little;
    auto bytes = fuzz::bytes_of(data + 1, size - 1);
    (void)core::elf::parse_notes(bytes, endian);
    (void)core::elf::header_bytes_needed(bytes);
    auto header = core::elf::parse_header(bytes, bytes.size());
    if (!header)
        return 0;
    for (auto const& note : header->notes) {
        if (note.file_offset > bytes.size() || note.file_size > bytes.size() - note.file_offset)
            continue;
        (void)core::elf::parse_notes(bytes.subspan(note.file_offset, note.file_size), header->endian);
    }
    return 0;
}
