// SPDX-License-Identifier: GPL-2.0-or-later
// An ELF vmcore as the dumper and the collector open it: the ELF and
// program headers, the notes, VMCOREINFO, then the crashed kernel's memory
// through the dump CPU's page tables (utsname and the printk log), and a
// read of every page the file claims, up to a cap.
#include "tests/fuzz/fuzz_support.h"

#include "arch/dump_arch.h"
#include "core/vmcore/dmesg.h"
#include "core/vmcore/kernel_memory.h"
#include "core/vmcore/vmcore_file.h"
#include "core/vmcore/vmcoreinfo.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    fuzz::InputFile input(fuzz::bytes_of(data, size));
    auto vmcore = core::VmcoreFile::open(input.path(), core::VmcoreFile::Access::PreadOnly);
    if (!vmcore)
        return 0;
    auto& memory = **vmcore;
    (void)memory.cpu_count();
    // Every stored page the headers claim, at most 64 (the file is small;
    // the claims need not be).
    std::vector<uint8_t> page(memory.page_size() > 0 && memory.page_size() <= (1 << 16) ? memory.page_size() : 4096);
    size_t pages_read = 0;
    for (auto const& load : memory.header().loads) {
        for (uint64_t offset = 0; offset < load.mem_size && pages_read < 64; offset += page.size(), ++pages_read)
            (void)memory.read(load.phys_start + offset, page);
    }
    auto text = memory.vmcoreinfo_text();
    if (!text)
        return 0;
    auto info = core::VmcoreInfo::parse(*text);
    if (!info)
        return 0;
    auto arch = arch::dump_arch_for_elf_machine(memory.header().machine);
    if (!arch)
        return 0;
    auto translator = (*arch)->make_translator(*info, memory);
    if (!translator)
        return 0;
    auto kernel = core::make_kernel_memory(memory, **translator);
    (void)core::read_utsname(*info, *kernel);
    (void)core::extract_dmesg(*info, *kernel);
    return 0;
}
