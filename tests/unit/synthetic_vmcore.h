// SPDX-License-Identifier: GPL-2.0-or-later
// Small synthetic vmcores for unit tests: an ELF64 core laid out as
// /proc/vmcore is, with chosen physical memory, NT_PRSTATUS notes and a
// VMCOREINFO note, plus x86_64 page tables that map chosen kernel virtual
// ranges onto pages of that memory. Test helpers: misuse throws
// std::invalid_argument (doctest reports it), unlike product code.
//
// Typical use:
//     test::SyntheticVmcore vmcore;
//     vmcore.add_load(0, 8 << 20);                       // 8 MiB of RAM at 0
//     test::X86_64PageTables tables(vmcore, 0x100000, 0x100000);
//     tables.map_range(0xffff888000000000, 0, 8 << 20);   // a direct map
//     vmcore.set_vmcoreinfo(test::x86_64_vmcoreinfo(tables, 0) + "SYMBOL(x)=...\n");
//     auto file = vmcore.write_file();
//     auto memory = core::VmcoreFile::open(file.path());
#pragma once

#include "core/base/bytes.h"
#include "core/vmcore/elf.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace test {

// A temporary file, deleted when this goes away.
class TempFile {
public:
    explicit TempFile(std::string path) : m_path(std::move(path)) { }
    TempFile(TempFile&& other) noexcept : m_path(std::move(other.m_path)) { other.m_path.clear(); }
    TempFile& operator=(TempFile&&) = delete;
    TempFile(TempFile const&) = delete;
    ~TempFile();
    std::string const& path() const { return m_path; }

private:
    std::string m_path;
};

// Writes bytes to a new temporary file.
TempFile write_temp_file(std::span<uint8_t const> bytes);

class SyntheticVmcore {
public:
    explicit SyntheticVmcore(core::Endian endian = core::Endian::Little, uint16_t machine = core::elf::machine_x86_64);

    // Physical memory [phys_start, phys_start + mem_bytes), zero-filled. Only
    // the first file_bytes (default: all) are stored in the file; the rest
    // reads as zeros (p_filesz < p_memsz). virt_start goes into p_vaddr.
    void add_load(uint64_t phys_start, uint64_t mem_bytes, std::optional<uint64_t> file_bytes = std::nullopt, uint64_t virt_start = 0);

    // Reads and writes the stored bytes of physical memory; every byte must
    // lie in the stored part of some PT_LOAD. Values in the vmcore's byte order.
    void write(uint64_t paddr, std::span<uint8_t const> bytes);
    void write_string(uint64_t paddr, std::string_view text); // without a NUL
    void write_u64(uint64_t paddr, uint64_t value);
    void write_u32(uint64_t paddr, uint32_t value);
    void write_u16(uint64_t paddr, uint16_t value);
    uint64_t read_u64(uint64_t paddr) const;

    // Notes, in call order. Each new note segment becomes its own PT_NOTE.
    void add_note(std::string_view name, uint32_t type, std::span<uint8_t const> desc);
    // An x86_64 NT_PRSTATUS ("CORE", 336 bytes) with pr_pid at offset 32.
    void add_prstatus(uint32_t pid);
    // The "VMCOREINFO" note; a second call replaces the text in place.
    void set_vmcoreinfo(std::string_view text);
    void start_note_segment();

    // Store the program-header count PN_XNUM-style: e_phnum = 0xffff and
    // the real count in section header 0's sh_info.
    void set_program_header_escape(bool enabled) { m_program_header_escape = enabled; }

    // The file: ELF header; program headers at offset 64 (PT_NOTEs first,
    // then PT_LOADs in add_load order); [section header 0]; notes; then
    // each PT_LOAD's stored bytes at a 4096-aligned offset.
    std::vector<uint8_t> build() const;
    TempFile write_file() const { auto bytes = build(); return write_temp_file(bytes); }

    core::Endian endian() const { return m_endian; }

private:
    struct Load {
        uint64_t phys_start;
        uint64_t mem_bytes;
        uint64_t virt_start;
        std::vector<uint8_t> stored;
    };
    struct Note {
        std::string name;
        uint32_t type;
        std::vector<uint8_t> desc;
    };
    std::span<uint8_t> stored_bytes(uint64_t paddr, uint64_t length);
    std::span<uint8_t const> stored_bytes(uint64_t paddr, uint64_t length) const;

    core::Endian m_endian;
    uint16_t m_machine;
    std::vector<Load> m_loads;
    std::vector<std::vector<Note>> m_note_segments;
    bool m_program_header_escape { false };
};

// x86_64 page tables (4- or 5-level) built inside a SyntheticVmcore. Tables
// are carved, 4 KiB at a time, from [table_area_paddr, + table_area_bytes),
// which must be stored PT_LOAD memory. Entries are present+writable; large
// pages also set PSE. Mapping over an existing entry replaces it.
class X86_64PageTables {
public:
    X86_64PageTables(SyntheticVmcore& vmcore, uint64_t table_area_paddr, uint64_t table_area_bytes, bool five_level = false);

    uint64_t root_paddr() const { return m_root_paddr; }
    bool five_level() const { return m_five_level; }

    void map_4k(uint64_t vaddr, uint64_t paddr);
    void map_2m(uint64_t vaddr, uint64_t paddr); // both 2 MiB aligned
    void map_1g(uint64_t vaddr, uint64_t paddr); // both 1 GiB aligned
    // 4 KiB pages for [vaddr, vaddr + bytes); page-aligned arguments.
    void map_range(uint64_t vaddr, uint64_t paddr, uint64_t bytes);
    // Physical address of the entry that maps vaddr at depth (0 = root), to
    // corrupt it in tests. Throws if a table above it is missing.
    uint64_t entry_paddr(uint64_t vaddr, unsigned depth) const;

private:
    uint64_t allocate_table();
    // The table at depth for vaddr, creating the tables above it as needed.
    uint64_t table_at(uint64_t vaddr, unsigned depth);
    unsigned shift_at(unsigned depth) const;

    SyntheticVmcore& m_vmcore;
    uint64_t m_next_table_paddr;
    uint64_t m_table_area_end;
    bool m_five_level;
    uint64_t m_root_paddr;
};

// The x86_64 kernel image mapping (__START_KERNEL_map), and where a physical
// address appears in it for a given phys_base.
constexpr uint64_t x86_64_kernel_image_map = 0xffffffff80000000;
constexpr uint64_t x86_64_image_vaddr(uint64_t paddr, int64_t phys_base) { return paddr - static_cast<uint64_t>(phys_base) + x86_64_kernel_image_map; }

// The VMCOREINFO lines an x86_64 kernel exports for address translation:
// PAGESIZE, SYMBOL(init_top_pgt) (the tables' root seen through the image
// mapping), NUMBER(phys_base), NUMBER(pgtable_l5_enabled), KERNELOFFSET and
// NUMBER(KERNEL_IMAGE_SIZE) (1 GiB). Append your own lines to it.
std::string x86_64_vmcoreinfo(X86_64PageTables const& tables, int64_t phys_base);

} // namespace test
