// SPDX-License-Identifier: GPL-2.0-or-later
// Cuts a real vmcore down to the bytes the readers touch, for the seed
// corpora (tests/fuzz/README.md, "Seeds"):
//   make_seeds VMCORE OUTDIR NAME
// runs VMCOREINFO, utsname and the printk log extraction on VMCORE, as the
// dumper does, and records every page read. It writes
//   OUTDIR/vmcoreinfo/NAME  the VMCOREINFO text;
//   OUTDIR/dmesg/NAME       the dmesg harness's input: VMCOREINFO, a NUL, the
//                           byte-order byte, the kernel virtual pages read;
//   OUTDIR/elf_vmcore/NAME  an ELF vmcore with the original notes and one
//                           PT_LOAD per run of physical pages read, from
//                           which the same log comes out.
// A test tool, not product code: it stops at the first problem.
#include "arch/dump_arch.h"
#include "core/base/bytes.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/vmcore/dmesg.h"
#include "core/vmcore/kernel_memory.h"
#include "core/vmcore/vmcore_file.h"
#include "core/vmcore/vmcoreinfo.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

[[noreturn]] void fail(std::string const& message)
{
    std::fprintf(stderr, "make_seeds: %s\n", message.c_str());
    std::exit(1);
}

class RecordingPhysical final : public core::PhysicalMemory {
public:
    explicit RecordingPhysical(core::PhysicalMemory const& inner) : m_inner(inner) { }
    core::Result<void> read(uint64_t paddr, std::span<uint8_t> out) const override
    {
        uint64_t page = m_inner.page_size();
        for (uint64_t at = paddr / page * page; at < paddr + out.size(); at += page)
            m_pfns.insert(at / page);
        return m_inner.read(paddr, out);
    }
    bool has_page(uint64_t pfn) const override { return m_inner.has_page(pfn); }
    uint64_t page_size() const override { return m_inner.page_size(); }
    uint64_t pfn_limit() const override { return m_inner.pfn_limit(); }
    core::Endian endian() const override { return m_inner.endian(); }
    std::set<uint64_t> const& pfns() const { return m_pfns; }

private:
    core::PhysicalMemory const& m_inner;
    mutable std::set<uint64_t> m_pfns;
};

constexpr uint64_t virtual_page_bytes = 4096;

class RecordingKernel final : public core::KernelMemory {
public:
    explicit RecordingKernel(core::KernelMemory const& inner) : m_inner(inner) { }
    core::Result<void> read(uint64_t vaddr, std::span<uint8_t> out) const override
    {
        auto result = m_inner.read(vaddr, out);
        if (result)
            for (uint64_t at = vaddr / virtual_page_bytes * virtual_page_bytes; at < vaddr + out.size(); at += virtual_page_bytes)
                m_pages.insert(at);
        return result;
    }
    core::Endian endian() const override { return m_inner.endian(); }
    std::set<uint64_t> const& pages() const { return m_pages; }

private:
    core::KernelMemory const& m_inner;
    mutable std::set<uint64_t> m_pages;
};

// Runs of consecutive keys: start -> count.
std::map<uint64_t, uint64_t> runs_of(std::set<uint64_t> const& keys, uint64_t step)
{
    std::map<uint64_t, uint64_t> runs;
    uint64_t start = 0, count = 0;
    for (uint64_t key : keys) {
        if (count && key == start + count * step) {
            ++count;
            continue;
        }
        if (count)
            runs[start] = count;
        start = key;
        count = 1;
    }
    if (count)
        runs[start] = count;
    return runs;
}

void write_seed(std::string const& directory, std::string const& name, std::span<uint8_t const> bytes)
{
    ::mkdir(directory.c_str(), 0755);
    std::string path = core::path_join(directory, name);
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() || std::fclose(file) != 0)
        fail("cannot write " + path);
    std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
}

std::span<uint8_t const> as_bytes(std::string const& text) { return { reinterpret_cast<uint8_t const*>(text.data()), text.size() }; }

} // namespace

int main(int argc, char** argv)
{
    if (argc != 4)
        fail("usage: make_seeds VMCORE OUTDIR NAME");
    std::string out_dir = argv[2], name = argv[3];
    auto opened = core::VmcoreFile::open(argv[1]);
    if (!opened)
        fail(opened.error().message());
    auto& vmcore = **opened;
    auto text = vmcore.vmcoreinfo_text();
    if (!text)
        fail("no VMCOREINFO");
    auto info = core::VmcoreInfo::parse(*text);
    if (!info)
        fail(info.error().message());
    auto arch = arch::dump_arch_for_elf_machine(vmcore.header().machine);
    if (!arch)
        fail(arch.error().message());
    RecordingPhysical physical(vmcore);
    auto translator = (*arch)->make_translator(*info, physical);
    if (!translator)
        fail(translator.error().message());
    auto real_kernel = core::make_kernel_memory(physical, **translator);
    RecordingKernel kernel(*real_kernel);
    (void)core::read_utsname(*info, kernel);
    auto log = core::extract_dmesg(*info, kernel);
    if (!log)
        fail(log.error().message());

    write_seed(core::path_join(out_dir, "vmcoreinfo"), name, as_bytes(std::string(*text)));

    // dmesg: VMCOREINFO, NUL, byte order, then [u64 address][u32 length][bytes].
    std::string dmesg_seed(*text);
    dmesg_seed += '\0';
    dmesg_seed += char(vmcore.endian() == core::Endian::Big ? 1 : 0);
    for (auto [start, count] : runs_of(kernel.pages(), virtual_page_bytes)) {
        std::vector<uint8_t> bytes(count * virtual_page_bytes);
        if (!real_kernel->read(start, bytes))
            fail("a recorded page does not read again");
        core::ByteWriter head(core::Endian::Little);
        head.put_u64(0, start);
        head.put_u32(8, uint32_t(bytes.size()));
        dmesg_seed += head.buffer();
        dmesg_seed.append(reinterpret_cast<char const*>(bytes.data()), bytes.size());
    }
    write_seed(core::path_join(out_dir, "dmesg"), name, as_bytes(dmesg_seed));

    // ELF64: header, PT_NOTE, PT_LOADs, the notes, the pages.
    auto runs = runs_of(physical.pfns(), 1);
    uint64_t page = vmcore.page_size();
    auto notes = vmcore.note_bytes();
    uint64_t phnum = 1 + runs.size();
    uint64_t notes_at = 64 + 56 * phnum;
    uint64_t data_at = (notes_at + notes.size() + page - 1) / page * page;
    core::ByteWriter elf(vmcore.endian());
    elf.put_bytes(0, std::vector<uint8_t> { 0x7f, 'E', 'L', 'F', 2, uint8_t(vmcore.endian() == core::Endian::Big ? 2 : 1), 1 });
    elf.put_u16(16, 4); // ET_CORE
    elf.put_u16(18, vmcore.header().machine);
    elf.put_u32(20, 1);
    elf.put_u64(32, 64);
    elf.put_u16(52, 64);
    elf.put_u16(54, 56);
    elf.put_u16(56, uint16_t(phnum));
    elf.put_u32(64, core::elf::segment_note);
    elf.put_u64(64 + 8, notes_at);
    elf.put_u64(64 + 32, notes.size());
    elf.put_u64(64 + 40, notes.size());
    elf.put_bytes(notes_at, notes);
    uint64_t header_at = 64 + 56, file_at = data_at;
    for (auto [start_pfn, count] : runs) {
        std::vector<uint8_t> bytes(count * page);
        if (!vmcore.read(start_pfn * page, bytes))
            fail("a recorded physical page does not read again");
        auto const* load = vmcore.load_for(start_pfn * page);
        uint64_t virt = load && load->virt_start ? load->virt_start + (start_pfn * page - load->phys_start) : 0;
        elf.put_u32(header_at, core::elf::segment_load);
        elf.put_u32(header_at + 4, 7);
        elf.put_u64(header_at + 8, file_at);
        elf.put_u64(header_at + 16, virt);
        elf.put_u64(header_at + 24, start_pfn * page);
        elf.put_u64(header_at + 32, bytes.size());
        elf.put_u64(header_at + 40, bytes.size());
        elf.put_bytes(file_at, bytes);
        header_at += 56;
        file_at += bytes.size();
    }
    write_seed(core::path_join(out_dir, "elf_vmcore"), name, elf.bytes());
    return 0;
}
