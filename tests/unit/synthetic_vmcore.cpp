// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/unit/synthetic_vmcore.h"

#include "core/base/fd.h"
#include "core/base/strings.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <unistd.h>

namespace test {

namespace {

constexpr uint64_t elf_header_bytes = 64;
constexpr uint64_t program_header_bytes = 56;
constexpr uint64_t section_header_bytes = 64;
constexpr uint64_t load_alignment = 4096;
constexpr uint64_t prstatus_bytes = 336; // x86_64 struct elf_prstatus
constexpr uint64_t prstatus_pid_at = 32;

[[noreturn]] void misuse(std::string const& message) { throw std::invalid_argument(message); }

} // namespace

TempFile::~TempFile()
{
    if (!m_path.empty())
        ::unlink(m_path.c_str());
}

TempFile write_temp_file(std::span<uint8_t const> bytes)
{
    char const* directory = std::getenv("TMPDIR");
    std::string pattern = core::cat(directory && *directory ? directory : "/tmp", "/kdumpbox-test-XXXXXX");
    int fd = ::mkstemp(pattern.data());
    if (fd < 0)
        misuse(core::cat("mkstemp ", pattern, " failed"));
    core::UniqueFd owner(fd);
    TempFile file(pattern);
    auto written = core::write_all(fd, bytes, pattern);
    if (!written.ok())
        misuse(written.error().message());
    return file;
}

SyntheticVmcore::SyntheticVmcore(core::Endian endian, uint16_t machine)
    : m_endian(endian)
    , m_machine(machine)
{
    m_note_segments.emplace_back();
}

void SyntheticVmcore::add_load(uint64_t phys_start, uint64_t mem_bytes, std::optional<uint64_t> file_bytes, uint64_t virt_start)
{
    uint64_t stored = file_bytes.value_or(mem_bytes);
    if (stored > mem_bytes)
        misuse("add_load: file_bytes exceeds mem_bytes");
    m_loads.push_back({ phys_start, mem_bytes, virt_start, std::vector<uint8_t>(stored) });
}

std::span<uint8_t> SyntheticVmcore::stored_bytes(uint64_t paddr, uint64_t length)
{
    for (auto& load : m_loads) {
        if (paddr >= load.phys_start && core::extent_within(paddr - load.phys_start, length, load.stored.size()))
            return std::span(load.stored).subspan(paddr - load.phys_start, length);
    }
    misuse(core::cat(length, " bytes at physical ", core::hex(paddr), " are not stored in one PT_LOAD"));
}

std::span<uint8_t const> SyntheticVmcore::stored_bytes(uint64_t paddr, uint64_t length) const
{
    return const_cast<SyntheticVmcore*>(this)->stored_bytes(paddr, length);
}

void SyntheticVmcore::write(uint64_t paddr, std::span<uint8_t const> bytes)
{
    auto target = stored_bytes(paddr, bytes.size());
    if (!bytes.empty())
        std::memcpy(target.data(), bytes.data(), bytes.size());
}

void SyntheticVmcore::write_string(uint64_t paddr, std::string_view text)
{
    write(paddr, { reinterpret_cast<uint8_t const*>(text.data()), text.size() });
}

void SyntheticVmcore::write_u64(uint64_t paddr, uint64_t value) { core::store_uint(stored_bytes(paddr, 8).data(), 8, value, m_endian); }
void SyntheticVmcore::write_u32(uint64_t paddr, uint32_t value) { core::store_uint(stored_bytes(paddr, 4).data(), 4, value, m_endian); }
void SyntheticVmcore::write_u16(uint64_t paddr, uint16_t value) { core::store_uint(stored_bytes(paddr, 2).data(), 2, value, m_endian); }
uint64_t SyntheticVmcore::read_u64(uint64_t paddr) const { return core::load_uint(stored_bytes(paddr, 8).data(), 8, m_endian); }

void SyntheticVmcore::add_note(std::string_view name, uint32_t type, std::span<uint8_t const> desc)
{
    m_note_segments.back().push_back({ std::string(name), type, std::vector<uint8_t>(desc.begin(), desc.end()) });
}

void SyntheticVmcore::add_prstatus(uint32_t pid)
{
    std::vector<uint8_t> desc(prstatus_bytes);
    core::store_uint(desc.data() + prstatus_pid_at, 4, pid, m_endian);
    add_note("CORE", core::elf::note_prstatus, desc);
}

void SyntheticVmcore::set_vmcoreinfo(std::string_view text)
{
    std::vector<uint8_t> desc(text.begin(), text.end());
    for (auto& segment : m_note_segments) {
        for (auto& note : segment) {
            if (note.name == "VMCOREINFO") {
                note.desc = std::move(desc);
                return;
            }
        }
    }
    add_note("VMCOREINFO", core::elf::note_vmcoreinfo, desc);
}

void SyntheticVmcore::start_note_segment() { m_note_segments.emplace_back(); }

std::vector<uint8_t> SyntheticVmcore::build() const
{
    std::vector<std::vector<uint8_t>> segments;
    for (auto const& notes : m_note_segments) {
        if (notes.empty())
            continue;
        core::ByteWriter writer(m_endian);
        uint64_t at = 0;
        for (auto const& note : notes) {
            writer.put_u32(at, static_cast<uint32_t>(note.name.size() + 1));
            writer.put_u32(at + 4, static_cast<uint32_t>(note.desc.size()));
            writer.put_u32(at + 8, note.type);
            writer.put_string(at + 12, note.name);
            at += 12 + core::align_up(note.name.size() + 1, 4);
            writer.put_bytes(at, note.desc);
            at += core::align_up(note.desc.size(), 4);
            writer.resize(at); // zero padding
        }
        segments.emplace_back(writer.bytes().begin(), writer.bytes().end());
    }

    uint64_t phnum = segments.size() + m_loads.size();
    uint64_t offset = elf_header_bytes + phnum * program_header_bytes;
    uint64_t section_header_at = 0;
    if (m_program_header_escape) {
        section_header_at = offset;
        offset += section_header_bytes;
    }

    core::ByteWriter writer(m_endian);
    writer.put_bytes(0, std::array<uint8_t, 4> { 0x7f, 'E', 'L', 'F' });
    writer.put_u8(4, 2); // ELFCLASS64
    writer.put_u8(5, m_endian == core::Endian::Little ? 1 : 2);
    writer.put_u8(6, 1); // EV_CURRENT
    writer.put_u16(16, 4); // ET_CORE
    writer.put_u16(18, m_machine);
    writer.put_u32(20, 1);
    writer.put_u64(32, elf_header_bytes); // e_phoff
    writer.put_u64(40, section_header_at);
    writer.put_u16(52, elf_header_bytes);
    writer.put_u16(54, program_header_bytes);
    writer.put_u16(56, m_program_header_escape ? 0xffff : static_cast<uint16_t>(phnum));
    writer.put_u16(58, m_program_header_escape ? section_header_bytes : 0);
    writer.put_u16(60, m_program_header_escape ? 1 : 0);
    if (m_program_header_escape)
        writer.put_u32(section_header_at + 44, static_cast<uint32_t>(phnum)); // sh_info

    uint64_t phdr_at = elf_header_bytes;
    auto put_phdr = [&](uint32_t type, uint64_t file_offset, uint64_t virt, uint64_t phys, uint64_t file_bytes, uint64_t mem_bytes) {
        writer.put_u32(phdr_at, type);
        writer.put_u32(phdr_at + 4, type == 1 ? 7 : 0); // RWX, as the kernel writes
        writer.put_u64(phdr_at + 8, file_offset);
        writer.put_u64(phdr_at + 16, virt);
        writer.put_u64(phdr_at + 24, phys);
        writer.put_u64(phdr_at + 32, file_bytes);
        writer.put_u64(phdr_at + 40, mem_bytes);
        writer.put_u64(phdr_at + 48, 0);
        phdr_at += program_header_bytes;
    };
    for (auto const& segment : segments) {
        put_phdr(4, offset, 0, 0, segment.size(), 0);
        writer.put_bytes(offset, segment);
        offset += segment.size();
    }
    for (auto const& load : m_loads) {
        offset = core::align_up(offset, load_alignment);
        put_phdr(1, offset, load.virt_start, load.phys_start, load.stored.size(), load.mem_bytes);
        writer.put_bytes(offset, load.stored);
        offset += load.stored.size();
    }
    writer.resize(offset);
    return { writer.bytes().begin(), writer.bytes().end() };
}

X86_64PageTables::X86_64PageTables(SyntheticVmcore& vmcore, uint64_t table_area_paddr, uint64_t table_area_bytes, bool five_level)
    : m_vmcore(vmcore)
    , m_next_table_paddr(table_area_paddr)
    , m_table_area_end(table_area_paddr + table_area_bytes)
    , m_five_level(five_level)
{
    if (table_area_paddr % 4096 != 0)
        misuse("X86_64PageTables: the table area must be 4 KiB aligned");
    m_root_paddr = allocate_table();
}

uint64_t X86_64PageTables::allocate_table()
{
    if (m_next_table_paddr + 4096 > m_table_area_end)
        misuse("X86_64PageTables: the table area is full");
    uint64_t table = m_next_table_paddr;
    m_next_table_paddr += 4096;
    std::vector<uint8_t> zeros(4096);
    m_vmcore.write(table, zeros);
    return table;
}

unsigned X86_64PageTables::shift_at(unsigned depth) const
{
    unsigned levels = m_five_level ? 5 : 4;
    return 12 + 9 * (levels - 1 - depth);
}

uint64_t X86_64PageTables::table_at(uint64_t vaddr, unsigned depth)
{
    uint64_t table = m_root_paddr;
    for (unsigned level = 0; level < depth; ++level) {
        uint64_t entry_at = table + ((vaddr >> shift_at(level)) & 511) * 8;
        uint64_t entry = m_vmcore.read_u64(entry_at);
        if ((entry & 1) == 0 || (entry & 0x80) != 0) {
            uint64_t next = allocate_table();
            m_vmcore.write_u64(entry_at, next | 0x3);
            table = next;
        } else {
            table = entry & 0x000ffffffffff000;
        }
    }
    return table;
}

uint64_t X86_64PageTables::entry_paddr(uint64_t vaddr, unsigned depth) const
{
    uint64_t table = m_root_paddr;
    for (unsigned level = 0; level < depth; ++level) {
        uint64_t entry = m_vmcore.read_u64(table + ((vaddr >> shift_at(level)) & 511) * 8);
        if ((entry & 1) == 0)
            misuse(core::cat("entry_paddr: no table at depth ", level + 1, " for ", core::hex(vaddr)));
        table = entry & 0x000ffffffffff000;
    }
    return table + ((vaddr >> shift_at(depth)) & 511) * 8;
}

void X86_64PageTables::map_4k(uint64_t vaddr, uint64_t paddr)
{
    unsigned depth = m_five_level ? 4 : 3;
    m_vmcore.write_u64(table_at(vaddr, depth) + ((vaddr >> 12) & 511) * 8, (paddr & ~0xfffull) | 0x3);
}

void X86_64PageTables::map_2m(uint64_t vaddr, uint64_t paddr)
{
    if (vaddr % (2u << 20) != 0 || paddr % (2u << 20) != 0)
        misuse("map_2m: addresses must be 2 MiB aligned");
    unsigned depth = m_five_level ? 3 : 2;
    m_vmcore.write_u64(table_at(vaddr, depth) + ((vaddr >> 21) & 511) * 8, paddr | 0x83);
}

void X86_64PageTables::map_1g(uint64_t vaddr, uint64_t paddr)
{
    if (vaddr % (1u << 30) != 0 || paddr % (1u << 30) != 0)
        misuse("map_1g: addresses must be 1 GiB aligned");
    unsigned depth = m_five_level ? 2 : 1;
    m_vmcore.write_u64(table_at(vaddr, depth) + ((vaddr >> 30) & 511) * 8, paddr | 0x83);
}

void X86_64PageTables::map_range(uint64_t vaddr, uint64_t paddr, uint64_t bytes)
{
    if (vaddr % 4096 != 0 || paddr % 4096 != 0 || bytes % 4096 != 0)
        misuse("map_range: arguments must be 4 KiB aligned");
    for (uint64_t offset = 0; offset < bytes; offset += 4096)
        map_4k(vaddr + offset, paddr + offset);
}

std::string x86_64_vmcoreinfo(X86_64PageTables const& tables, int64_t phys_base)
{
    return core::cat("PAGESIZE=4096\n",
        "SYMBOL(init_top_pgt)=", core::hex(x86_64_image_vaddr(tables.root_paddr(), phys_base)).substr(2), "\n",
        "NUMBER(phys_base)=", phys_base, "\n",
        "NUMBER(pgtable_l5_enabled)=", tables.five_level() ? 1 : 0, "\n",
        "KERNELOFFSET=0\n",
        "NUMBER(KERNEL_IMAGE_SIZE)=1073741824\n");
}

} // namespace test
