// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/vmcore/elf.h"

#include "core/base/bytes.h"
#include "core/base/strings.h"
#include "tests/unit/synthetic_vmcore.h"

#include <doctest.h>

#include <string>
#include <vector>

using core::Endian;
namespace elf = core::elf;

namespace {

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

test::SyntheticVmcore two_load_vmcore(Endian endian = Endian::Little)
{
    test::SyntheticVmcore vmcore(endian);
    vmcore.add_prstatus(1);
    vmcore.add_prstatus(2);
    vmcore.set_vmcoreinfo("OSRELEASE=6.1.0\nPAGESIZE=4096\n");
    vmcore.add_load(0x1000, 0x3000);
    vmcore.add_load(0x100000, 0x2000, 0x1000, 0xffff888000100000);
    return vmcore;
}

// Program header i of a 64-bit file starts here.
constexpr uint64_t phdr_at(uint64_t index) { return 64 + index * 56; }

} // namespace

TEST_CASE("elf: parses the headers of a little-endian vmcore")
{
    auto bytes = two_load_vmcore().build();
    auto needed = elf::header_bytes_needed(std::span(bytes).first(64));
    REQUIRE(needed.ok());
    CHECK(needed.value() == 64 + 3 * 56);

    auto header = elf::parse_header(bytes, bytes.size());
    REQUIRE(header.ok());
    CHECK(header->endian == Endian::Little);
    CHECK(header->is_64bit);
    CHECK(header->type == 4);
    CHECK(header->machine == elf::machine_x86_64);
    CHECK(header->header_bytes == 64 + 3 * 56);
    REQUIRE(header->notes.size() == 1);
    REQUIRE(header->loads.size() == 2);
    CHECK(header->loads[0].phys_start == 0x1000);
    CHECK(header->loads[0].file_size == 0x3000);
    CHECK(header->loads[0].mem_size == 0x3000);
    CHECK(header->loads[0].file_offset % 4096 == 0);
    CHECK(header->loads[1].phys_start == 0x100000);
    CHECK(header->loads[1].virt_start == 0xffff888000100000);
    CHECK(header->loads[1].file_size == 0x1000);
    CHECK(header->loads[1].mem_size == 0x2000);

    auto note_span = std::span<uint8_t const>(bytes).subspan(header->notes[0].file_offset, header->notes[0].file_size);
    auto notes = elf::parse_notes(note_span, Endian::Little);
    REQUIRE(notes.ok());
    REQUIRE(notes->size() == 3);
    CHECK((*notes)[0].name == "CORE");
    CHECK((*notes)[0].type == elf::note_prstatus);
    CHECK((*notes)[0].desc.size() == 336);
    CHECK((*notes)[0].desc_offset == 12 + 8);
    CHECK(core::load_uint((*notes)[1].desc.data() + 32, 4, Endian::Little) == 2);
    CHECK((*notes)[2].name == "VMCOREINFO");
    CHECK((*notes)[2].type == elf::note_vmcoreinfo);
    std::string_view text(reinterpret_cast<char const*>((*notes)[2].desc.data()), (*notes)[2].desc.size());
    CHECK(text == "OSRELEASE=6.1.0\nPAGESIZE=4096\n");
    // desc_offset locates the descriptor inside the note bytes.
    CHECK(note_span.data() + (*notes)[2].desc_offset == (*notes)[2].desc.data());
}

TEST_CASE("elf: parses a big-endian vmcore field by field")
{
    auto bytes = two_load_vmcore(Endian::Big).build();
    auto header = elf::parse_header(bytes, bytes.size());
    REQUIRE(header.ok());
    CHECK(header->endian == Endian::Big);
    REQUIRE(header->loads.size() == 2);
    CHECK(header->loads[1].phys_start == 0x100000);
    CHECK(header->loads[1].virt_start == 0xffff888000100000);
    auto notes = elf::parse_notes(std::span<uint8_t const>(bytes).subspan(header->notes[0].file_offset, header->notes[0].file_size), Endian::Big);
    REQUIRE(notes.ok());
    REQUIRE(notes->size() == 3);
    CHECK(core::load_uint((*notes)[0].desc.data() + 32, 4, Endian::Big) == 1);
}

TEST_CASE("elf: PN_XNUM takes the program header count from section header 0")
{
    auto vmcore = two_load_vmcore();
    vmcore.set_program_header_escape(true);
    auto bytes = vmcore.build();
    // From the ELF header alone, only section 0's extent is known.
    auto first = elf::header_bytes_needed(std::span(bytes).first(64));
    REQUIRE(first.ok());
    uint64_t section_end = 64 + 3 * 56 + 64;
    CHECK(first.value() == section_end);
    auto short_parse = elf::parse_header(std::span(bytes).first(64), bytes.size());
    REQUIRE_FALSE(short_parse.ok());
    CHECK(contains(short_parse.error().message(), "need"));
    auto second = elf::header_bytes_needed(std::span(bytes).first(first.value()));
    REQUIRE(second.ok());
    CHECK(second.value() == section_end);

    auto header = elf::parse_header(bytes, bytes.size());
    REQUIRE(header.ok());
    CHECK(header->loads.size() == 2);
    CHECK(header->notes.size() == 1);

    // e_shoff 0 with PN_XNUM has nowhere to keep the count.
    core::store_uint(bytes.data() + 40, 8, 0, Endian::Little);
    auto broken = elf::parse_header(bytes, bytes.size());
    REQUIRE_FALSE(broken.ok());
    CHECK(contains(broken.error().message(), "PN_XNUM"));
}

TEST_CASE("elf: a truncated file names the segment and the sizes")
{
    auto bytes = two_load_vmcore().build();
    auto header = elf::parse_header(bytes, bytes.size()).value();
    uint64_t cut = header.loads[1].file_offset + 0x800;
    auto truncated = elf::parse_header(std::span(bytes).first(cut), cut);
    REQUIRE_FALSE(truncated.ok());
    std::string message = truncated.error().message();
    CHECK(contains(message, "PT_LOAD 1"));
    CHECK(contains(message, core::hex(header.loads[1].file_offset)));
    CHECK(contains(message, "0x1000 bytes"));
    CHECK(contains(message, core::hex(cut)));
    CHECK(contains(message, "truncated"));

    // The program header table itself cut short.
    auto no_table = elf::parse_header(std::span(bytes).first(100), 100);
    REQUIRE_FALSE(no_table.ok());
    CHECK(contains(no_table.error().message(), "need"));
    auto table_past_end = elf::parse_header(bytes, 100);
    REQUIRE_FALSE(table_past_end.ok());
    CHECK(contains(table_past_end.error().message(), "truncated"));
}

TEST_CASE("elf: corrupt identification and header fields are clear errors")
{
    auto good = two_load_vmcore().build();
    SUBCASE("too short for an identification")
    {
        auto result = elf::header_bytes_needed(std::span(good).first(8));
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "too short"));
    }
    SUBCASE("ELF header shorter than its class needs")
    {
        auto needed = elf::header_bytes_needed(std::span(good).first(40));
        REQUIRE(needed.ok());
        CHECK(needed.value() == 64);
        auto result = elf::parse_header(std::span(good).first(40), 40);
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "too short"));
    }
    SUBCASE("no magic")
    {
        auto bytes = good;
        bytes[1] = 'X';
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "not an ELF"));
    }
    SUBCASE("bad class")
    {
        auto bytes = good;
        bytes[4] = 3;
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "EI_CLASS"));
    }
    SUBCASE("bad byte order")
    {
        auto bytes = good;
        bytes[5] = 0;
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "EI_DATA"));
    }
    SUBCASE("bad version")
    {
        auto bytes = good;
        bytes[6] = 2;
        CHECK_FALSE(elf::parse_header(bytes, bytes.size()).ok());
    }
    SUBCASE("wrong e_phentsize")
    {
        auto bytes = good;
        core::store_uint(bytes.data() + 54, 2, 32, Endian::Little);
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "e_phentsize is 32"));
    }
    SUBCASE("program header table offset near 2^64")
    {
        auto bytes = good;
        core::store_uint(bytes.data() + 32, 8, ~0ull - 10, Endian::Little);
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "out of range"));
        CHECK_FALSE(elf::header_bytes_needed(bytes).ok());
    }
    SUBCASE("huge PN_XNUM count")
    {
        auto vmcore = two_load_vmcore();
        vmcore.set_program_header_escape(true);
        auto bytes = vmcore.build();
        core::store_uint(bytes.data() + 64 + 3 * 56 + 44, 4, 0xffffffff, Endian::Little);
        auto result = elf::header_bytes_needed(bytes);
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "MiB"));
    }
    SUBCASE("p_filesz larger than p_memsz")
    {
        auto bytes = good;
        core::store_uint(bytes.data() + phdr_at(1) + 40, 8, 0x1000, Endian::Little); // p_memsz below p_filesz
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "p_filesz"));
    }
    SUBCASE("physical range wraps")
    {
        auto bytes = good;
        core::store_uint(bytes.data() + phdr_at(1) + 24, 8, ~0ull - 0x1000, Endian::Little);
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "wraps"));
    }
    SUBCASE("segment offset wraps")
    {
        auto bytes = good;
        core::store_uint(bytes.data() + phdr_at(1) + 8, 8, ~0ull - 0x10, Endian::Little);
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "PT_LOAD 0"));
    }
    SUBCASE("note segment past the end")
    {
        auto bytes = good;
        core::store_uint(bytes.data() + phdr_at(0) + 32, 8, bytes.size(), Endian::Little);
        auto result = elf::parse_header(bytes, bytes.size());
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "PT_NOTE 0"));
    }
}

TEST_CASE("elf: ELF32 headers decode with their own layout")
{
    core::ByteWriter writer(Endian::Little);
    writer.put_bytes(0, std::array<uint8_t, 7> { 0x7f, 'E', 'L', 'F', 1, 1, 1 });
    writer.put_u16(16, 4);
    writer.put_u16(18, 3); // EM_386
    writer.put_u32(28, 52); // e_phoff
    writer.put_u16(42, 32);
    writer.put_u16(44, 1);
    // One PT_LOAD: type, offset, vaddr, paddr, filesz, memsz, flags, align.
    writer.put_u32(52, 1);
    writer.put_u32(56, 0x100);
    writer.put_u32(60, 0xc0001000);
    writer.put_u32(64, 0x1000);
    writer.put_u32(68, 0x80);
    writer.put_u32(72, 0x100);
    writer.resize(0x180);
    auto bytes = writer.bytes();
    auto needed = elf::header_bytes_needed(bytes);
    REQUIRE(needed.ok());
    CHECK(needed.value() == 52 + 32);
    auto header = elf::parse_header(bytes, bytes.size());
    REQUIRE(header.ok());
    CHECK_FALSE(header->is_64bit);
    CHECK(header->machine == 3);
    REQUIRE(header->loads.size() == 1);
    CHECK(header->loads[0].file_offset == 0x100);
    CHECK(header->loads[0].virt_start == 0xc0001000);
    CHECK(header->loads[0].phys_start == 0x1000);
    CHECK(header->loads[0].file_size == 0x80);
    CHECK(header->loads[0].mem_size == 0x100);
}

TEST_CASE("elf: note walking checks every size")
{
    core::ByteWriter writer(Endian::Little);
    // "CORE" note with a 5-byte descriptor (padded to 8), then "ab" type 7.
    writer.put_u32(0, 5);
    writer.put_u32(4, 5);
    writer.put_u32(8, 1);
    writer.put_string(12, "CORE");
    writer.put_string(20, "hello");
    writer.put_u32(28, 3);
    writer.put_u32(32, 0);
    writer.put_u32(36, 7);
    writer.put_string(40, "ab");
    writer.resize(44);
    std::vector<uint8_t> notes(writer.bytes().begin(), writer.bytes().end());

    auto parsed = elf::parse_notes(notes, Endian::Little);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->size() == 2);
    CHECK((*parsed)[0].name == "CORE");
    CHECK((*parsed)[0].desc.size() == 5);
    CHECK((*parsed)[0].desc_offset == 20);
    CHECK((*parsed)[1].name == "ab");
    CHECK((*parsed)[1].type == 7);
    CHECK((*parsed)[1].desc.empty());

    SUBCASE("zero padding after the last note is accepted")
    {
        auto padded = notes;
        padded.resize(notes.size() + 64, 0);
        auto result = elf::parse_notes(padded, Endian::Little);
        REQUIRE(result.ok());
        CHECK(result->size() == 2);
        auto short_pad = notes;
        short_pad.resize(notes.size() + 5, 0);
        CHECK(elf::parse_notes(short_pad, Endian::Little).ok());
    }
    SUBCASE("the last descriptor may lack its padding")
    {
        auto result = elf::parse_notes(std::span(notes).first(25), Endian::Little);
        REQUIRE(result.ok());
        REQUIRE(result->size() == 1);
        CHECK((*result)[0].desc.size() == 5);
    }
    SUBCASE("a descriptor past the end")
    {
        auto result = elf::parse_notes(std::span(notes).first(24), Endian::Little);
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "offset 0x0"));
        CHECK(contains(result.error().message(), "truncated"));
    }
    SUBCASE("a huge descsz")
    {
        auto bad = notes;
        core::store_uint(bad.data() + 4, 4, 0xfffffff0, Endian::Little);
        auto result = elf::parse_notes(bad, Endian::Little);
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "4294967280"));
    }
    SUBCASE("a partial header that is not padding")
    {
        auto bad = notes;
        bad.push_back(1);
        auto result = elf::parse_notes(bad, Endian::Little);
        REQUIRE_FALSE(result.ok());
        CHECK(contains(result.error().message(), "note header"));
    }
    SUBCASE("big-endian sizes")
    {
        core::ByteWriter big(Endian::Big);
        big.put_u32(0, 5);
        big.put_u32(4, 4);
        big.put_u32(8, 1);
        big.put_string(12, "CORE");
        big.put_u32(20, 0x01020304);
        auto result = elf::parse_notes(big.bytes(), Endian::Big);
        REQUIRE(result.ok());
        REQUIRE(result->size() == 1);
        CHECK(core::load_uint((*result)[0].desc.data(), 4, Endian::Big) == 0x01020304);
    }
}

TEST_CASE("elf: corrupted headers never crash the parser")
{
    auto good = two_load_vmcore().build();
    auto header = elf::parse_header(good, good.size()).value();
    uint64_t head_bytes = header.loads[0].file_offset;
    // Deterministic pseudo-random byte flips over the headers and notes.
    uint64_t state = 0x9e3779b97f4a7c15;
    auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    size_t failures = 0;
    for (int round = 0; round < 3000; ++round) {
        auto bytes = std::vector<uint8_t>(good.begin(), good.begin() + static_cast<ptrdiff_t>(head_bytes));
        int flips = 1 + static_cast<int>(next() % 4);
        for (int flip = 0; flip < flips; ++flip)
            bytes[next() % bytes.size()] = static_cast<uint8_t>(next());
        uint64_t claimed_size = next() % 2 ? good.size() : next() % good.size();
        auto parsed = elf::parse_header(bytes, claimed_size);
        (void)elf::header_bytes_needed(bytes);
        if (!parsed.ok()) {
            ++failures;
            CHECK_FALSE(parsed.error().message().empty());
            continue;
        }
        for (auto const& note : parsed->notes) {
            if (core::extent_within(note.file_offset, note.file_size, bytes.size()))
                (void)elf::parse_notes(std::span<uint8_t const>(bytes).subspan(note.file_offset, note.file_size), parsed->endian);
        }
    }
    CHECK(failures > 0);
}

// ---- Executables, shared libraries and kernel modules ----

namespace {

struct DynamicSpec {
    bool is_64bit { true };
    Endian endian { Endian::Little };
    uint16_t machine { 62 };
    bool with_dynamic { true };
    bool with_strtab { true };
    bool strtab_in_load { true };
    uint64_t strsz_override { 0 };
    std::string interpreter { "/lib64/ld-linux-x86-64.so.2" };
    std::vector<std::string> needed { "libfoo.so.1", "libc.so.6" };
    std::string rpath { "$ORIGIN/../lib::/opt/lib" };
    std::string runpath { "/run/lib" };
};

constexpr uint64_t load_base = 0x400000;

// An ET_DYN file: PT_LOAD over the whole file, PT_INTERP, PT_DYNAMIC with
// DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_STRTAB and DT_STRSZ.
std::vector<uint8_t> dynamic_object(DynamicSpec const& spec)
{
    core::ByteWriter writer(spec.endian);
    bool wide = spec.is_64bit;
    unsigned word = wide ? 8 : 4;
    uint64_t ehdr = wide ? 64 : 52;
    uint64_t phdr = wide ? 56 : 32;
    unsigned phnum = spec.with_dynamic ? 3 : 2;
    uint64_t interp_at = ehdr + phnum * phdr;
    uint64_t strings_at = interp_at + spec.interpreter.size() + 1;
    std::string strings(1, '\0');
    auto add_string = [&](std::string const& text) {
        uint64_t at = strings.size();
        strings += text;
        strings.push_back('\0');
        return at;
    };
    std::vector<std::pair<uint64_t, uint64_t>> entries;
    for (auto const& name : spec.needed)
        entries.push_back({ 1, add_string(name) });
    if (!spec.rpath.empty())
        entries.push_back({ 15, add_string(spec.rpath) });
    if (!spec.runpath.empty())
        entries.push_back({ 29, add_string(spec.runpath) });
    if (spec.with_strtab)
        entries.push_back({ 5, spec.strtab_in_load ? load_base + strings_at : 0x900000 });
    entries.push_back({ 10, spec.strsz_override ? spec.strsz_override : strings.size() });
    entries.push_back({ 0, 0 });
    uint64_t dynamic_at = core::align_up(strings_at + strings.size(), 8);
    uint64_t end = dynamic_at + entries.size() * 2 * word;

    writer.put_bytes(0, std::vector<uint8_t> { 0x7f, 'E', 'L', 'F', static_cast<uint8_t>(wide ? 2 : 1), static_cast<uint8_t>(spec.endian == Endian::Little ? 1 : 2), 1 });
    writer.put_u16(16, 3);
    writer.put_u16(18, spec.machine);
    writer.put_u32(20, 1);
    writer.put_uint(wide ? 32 : 28, word, ehdr); // e_phoff
    writer.put_u32(wide ? 48 : 36, 0x12);        // e_flags
    writer.put_u16(wide ? 52 : 40, static_cast<uint16_t>(ehdr));
    writer.put_u16(wide ? 54 : 42, static_cast<uint16_t>(phdr));
    writer.put_u16(wide ? 56 : 44, static_cast<uint16_t>(phnum));
    auto program_header = [&](unsigned index, uint32_t type, uint64_t offset, uint64_t size) {
        uint64_t at = ehdr + index * phdr;
        writer.put_u32(at, type);
        if (wide) {
            writer.put_u64(at + 8, offset);
            writer.put_u64(at + 16, load_base + offset);
            writer.put_u64(at + 32, size);
            writer.put_u64(at + 40, size);
        } else {
            writer.put_u32(at + 4, static_cast<uint32_t>(offset));
            writer.put_u32(at + 8, static_cast<uint32_t>(load_base + offset));
            writer.put_u32(at + 16, static_cast<uint32_t>(size));
            writer.put_u32(at + 20, static_cast<uint32_t>(size));
        }
    };
    program_header(0, 1, 0, end);
    program_header(1, 3, interp_at, spec.interpreter.size() + 1);
    if (spec.with_dynamic)
        program_header(2, 2, dynamic_at, end - dynamic_at);
    writer.put_string(interp_at, spec.interpreter);
    writer.put_string(strings_at, strings);
    for (size_t index = 0; index < entries.size(); ++index) {
        writer.put_uint(dynamic_at + index * 2 * word, word, entries[index].first);
        writer.put_uint(dynamic_at + index * 2 * word + word, word, entries[index].second);
    }
    writer.resize(end);
    auto bytes = writer.bytes();
    return { bytes.begin(), bytes.end() };
}

struct SectionSpec {
    bool is_64bit { true };
    Endian endian { Endian::Little };
    bool counts_in_section_zero { false }; // e_shnum 0 and e_shstrndx SHN_XINDEX
    uint16_t names_index { 3 };
    uint64_t modinfo_offset_override { 0 };
};

// An ET_REL file with .modinfo (PROGBITS), .bss (NOBITS) and .shstrtab.
std::vector<uint8_t> sectioned_object(SectionSpec const& spec, std::string const& modinfo)
{
    core::ByteWriter writer(spec.endian);
    bool wide = spec.is_64bit;
    unsigned word = wide ? 8 : 4;
    uint64_t ehdr = wide ? 64 : 52;
    uint64_t shdr = wide ? 64 : 40;
    std::string names("\0.modinfo\0.bss\0.shstrtab\0", 25);
    uint64_t modinfo_at = ehdr;
    uint64_t names_at = modinfo_at + modinfo.size();
    uint64_t shoff = core::align_up(names_at + names.size(), 8);
    constexpr unsigned count = 4;

    writer.put_bytes(0, std::vector<uint8_t> { 0x7f, 'E', 'L', 'F', static_cast<uint8_t>(wide ? 2 : 1), static_cast<uint8_t>(spec.endian == Endian::Little ? 1 : 2), 1 });
    writer.put_u16(16, 1);
    writer.put_u16(18, 183);
    writer.put_u32(20, 1);
    writer.put_uint(wide ? 40 : 32, word, shoff);
    writer.put_u16(wide ? 52 : 40, static_cast<uint16_t>(ehdr));
    writer.put_u16(wide ? 58 : 46, static_cast<uint16_t>(shdr));
    writer.put_u16(wide ? 60 : 48, spec.counts_in_section_zero ? 0 : count);
    writer.put_u16(wide ? 62 : 50, spec.counts_in_section_zero ? 0xffff : spec.names_index);
    auto section = [&](unsigned index, uint32_t name, uint32_t type, uint64_t offset, uint64_t size, uint32_t link = 0) {
        uint64_t at = shoff + index * shdr;
        writer.put_u32(at, name);
        writer.put_u32(at + 4, type);
        writer.put_uint(at + (wide ? 24 : 16), word, offset);
        writer.put_uint(at + (wide ? 32 : 20), word, size);
        writer.put_u32(at + (wide ? 40 : 24), link);
    };
    if (spec.counts_in_section_zero)
        section(0, 0, 0, 0, count, spec.names_index);
    else
        section(0, 0, 0, 0, 0);
    section(1, 1, 1, spec.modinfo_offset_override ? spec.modinfo_offset_override : modinfo_at, modinfo.size());
    section(2, 10, 8, 0, 0x1000);
    section(3, 15, 3, names_at, names.size());
    writer.put_string(modinfo_at, modinfo);
    writer.put_string(names_at, names);
    writer.resize(shoff + count * shdr);
    auto bytes = writer.bytes();
    return { bytes.begin(), bytes.end() };
}

std::string text_of(std::span<uint8_t const> bytes) { return std::string(reinterpret_cast<char const*>(bytes.data()), bytes.size()); }

} // namespace

TEST_CASE("elf objects: PT_INTERP, DT_NEEDED, DT_RPATH and DT_RUNPATH in both classes and byte orders")
{
    for (bool wide : { true, false }) {
        for (Endian endian : { Endian::Little, Endian::Big }) {
            CAPTURE(wide);
            CAPTURE(endian == Endian::Little);
            DynamicSpec spec;
            spec.is_64bit = wide;
            spec.endian = endian;
            auto bytes = dynamic_object(spec);
            auto object = elf::parse_object(bytes, "/usr/bin/tool");
            REQUIRE(object.ok());
            CHECK(object.value().identity.is_64bit == wide);
            CHECK(object.value().identity.endian == endian);
            CHECK(object.value().identity.type == 3);
            CHECK(object.value().identity.machine == 62);
            CHECK(object.value().identity.flags == 0x12);
            CHECK(object.value().program_headers.size() == 3);
            CHECK(object.value().section_headers.empty());
            auto info = elf::read_dynamic_info(object.value());
            REQUIRE(info.ok());
            CHECK(info.value().is_dynamic);
            CHECK(info.value().interpreter == "/lib64/ld-linux-x86-64.so.2");
            CHECK(info.value().needed == std::vector<std::string> { "libfoo.so.1", "libc.so.6" });
            CHECK(info.value().rpath == std::vector<std::string> { "$ORIGIN/../lib", "/opt/lib" });
            CHECK(info.value().runpath == std::vector<std::string> { "/run/lib" });
            CHECK(elf::file_offset_of(object.value(), load_base + 10) == 10u);
            CHECK_FALSE(elf::file_offset_of(object.value(), 0x10).has_value());
        }
    }
}

TEST_CASE("elf objects: a static file has no dynamic section; identify reads the first bytes only")
{
    DynamicSpec spec;
    spec.with_dynamic = false;
    auto bytes = dynamic_object(spec);
    auto object = elf::parse_object(bytes, "static");
    REQUIRE(object.ok());
    auto info = elf::read_dynamic_info(object.value());
    REQUIRE(info.ok());
    CHECK_FALSE(info.value().is_dynamic);
    CHECK(info.value().needed.empty());

    auto identity = elf::identify(std::span<uint8_t const>(bytes).first(64));
    REQUIRE(identity.has_value());
    CHECK(identity->machine == 62);
    CHECK(identity->is_64bit);
    CHECK_FALSE(elf::identify(std::span<uint8_t const>(bytes).first(20)).has_value()); // e_flags not reached
    CHECK(elf::has_magic(bytes));
    std::vector<uint8_t> bad_class = bytes;
    bad_class[4] = 3;
    CHECK_FALSE(elf::identify(bad_class).has_value());
    std::vector<uint8_t> text { 'a', 'b', 'c' };
    CHECK_FALSE(elf::has_magic(text));
    CHECK_FALSE(elf::identify(text).has_value());
}

TEST_CASE("elf objects: broken dynamic sections and headers are errors, never out-of-bounds reads")
{
    SUBCASE("not ELF")
    {
        std::vector<uint8_t> text(100, 'x');
        auto object = elf::parse_object(text, "junk.ko");
        REQUIRE_FALSE(object.ok());
        CHECK(object.error().message() == "junk.ko: not an ELF file");
    }
    SUBCASE("DT_NEEDED without DT_STRTAB")
    {
        DynamicSpec spec;
        spec.with_strtab = false;
        auto bytes = dynamic_object(spec);
        auto info = elf::read_dynamic_info(elf::parse_object(bytes, "tool").value());
        REQUIRE_FALSE(info.ok());
        CHECK(info.error().message() == "tool: the dynamic section has DT_NEEDED entries but no DT_STRTAB");
    }
    SUBCASE("DT_STRTAB outside every PT_LOAD")
    {
        DynamicSpec spec;
        spec.strtab_in_load = false;
        auto bytes = dynamic_object(spec);
        auto info = elf::read_dynamic_info(elf::parse_object(bytes, "tool").value());
        REQUIRE_FALSE(info.ok());
        CHECK(contains(info.error().message(), "is not inside any PT_LOAD"));
    }
    SUBCASE("a string offset past DT_STRSZ")
    {
        DynamicSpec spec;
        spec.strsz_override = 4;
        auto bytes = dynamic_object(spec);
        auto info = elf::read_dynamic_info(elf::parse_object(bytes, "tool").value());
        REQUIRE_FALSE(info.ok());
        CHECK(contains(info.error().message(), "is past the 4-byte string table"));
    }
    SUBCASE("wrong e_phentsize")
    {
        auto bytes = dynamic_object({});
        core::store_uint(bytes.data() + 54, 2, 32, Endian::Little);
        auto object = elf::parse_object(bytes, "tool");
        REQUIRE_FALSE(object.ok());
        CHECK(contains(object.error().message(), "e_phentsize is 32"));
    }
    SUBCASE("every truncation")
    {
        auto bytes = dynamic_object({});
        for (size_t size = 0; size < bytes.size(); ++size) {
            std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
            auto object = elf::parse_object(cut, "cut");
            if (object.ok())
                (void)elf::read_dynamic_info(object.value());
            else
                CHECK_FALSE(object.error().message().empty());
        }
        // Cut inside the program headers, it is refused.
        std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + 100);
        CHECK_FALSE(elf::parse_object(cut, "cut").ok());
    }
}

TEST_CASE("elf objects: sections by name, NOBITS, escapes through section 0, bad tables")
{
    std::string modinfo("license=GPL\0depends=virtio\0", 27);
    for (bool wide : { true, false }) {
        for (Endian endian : { Endian::Little, Endian::Big }) {
            CAPTURE(wide);
            SectionSpec spec;
            spec.is_64bit = wide;
            spec.endian = endian;
            auto bytes = sectioned_object(spec, modinfo);
            auto object = elf::parse_object(bytes, "virtio.ko");
            REQUIRE(object.ok());
            CHECK(object.value().identity.machine == 183);
            CHECK(object.value().section_headers.size() == 4);
            CHECK(object.value().program_headers.empty());
            auto found = elf::find_section(object.value(), ".modinfo");
            REQUIRE(found.ok());
            REQUIRE(found.value().has_value());
            CHECK(text_of(*found.value()) == modinfo);
            auto bss = elf::find_section(object.value(), ".bss");
            REQUIRE(bss.ok());
            REQUIRE(bss.value().has_value());
            CHECK(bss.value()->empty());
            auto missing = elf::find_section(object.value(), ".text");
            REQUIRE(missing.ok());
            CHECK_FALSE(missing.value().has_value());
            auto info = elf::read_dynamic_info(object.value());
            REQUIRE(info.ok());
            CHECK_FALSE(info.value().is_dynamic);
        }
    }
    SUBCASE("e_shnum and e_shstrndx escaped into section header 0")
    {
        SectionSpec spec;
        spec.counts_in_section_zero = true;
        auto bytes = sectioned_object(spec, modinfo);
        auto object = elf::parse_object(bytes, "big.ko");
        REQUIRE(object.ok());
        CHECK(object.value().section_headers.size() == 4);
        CHECK(object.value().section_names_index == 3);
        auto found = elf::find_section(object.value(), ".modinfo");
        REQUIRE(found.ok());
        CHECK(text_of(found.value().value()) == modinfo);
    }
    SUBCASE("e_shstrndx past the table")
    {
        SectionSpec spec;
        spec.names_index = 9;
        auto bytes = sectioned_object(spec, modinfo);
        auto found = elf::find_section(elf::parse_object(bytes, "odd.ko").value(), ".modinfo");
        REQUIRE_FALSE(found.ok());
        CHECK(found.error().message() == "odd.ko: e_shstrndx 9 is past the 4 section headers");
    }
    SUBCASE("a section past the end of the file")
    {
        SectionSpec spec;
        spec.modinfo_offset_override = 0x100000;
        auto bytes = sectioned_object(spec, modinfo);
        auto found = elf::find_section(elf::parse_object(bytes, "odd.ko").value(), ".modinfo");
        REQUIRE_FALSE(found.ok());
        CHECK(contains(found.error().message(), "section .modinfo"));
    }
    SUBCASE("a section header table cut short")
    {
        auto bytes = sectioned_object({}, modinfo);
        bytes.resize(bytes.size() - 10);
        auto object = elf::parse_object(bytes, "cut.ko");
        REQUIRE_FALSE(object.ok());
        CHECK(contains(object.error().message(), "section header table"));
    }
}
