// SPDX-License-Identifier: GPL-2.0-or-later
// The kdump-compressed reader (re-filtering and --dump-dmesg of a saved
// dump): the headers, bitmaps and page descriptors, then page reads, which
// decompress each stored page.
#include "tests/fuzz/fuzz_support.h"

#include "core/dump/kdump_format.h"
#include "core/vmcore/vmcoreinfo.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    fuzz::InputFile input(fuzz::bytes_of(data, size));
    auto dump = core::KdumpFile::open(input.path());
    if (!dump)
        return 0;
    auto& memory = **dump;
    (void)memory.incomplete();
    if (auto text = memory.vmcoreinfo_text())
        (void)core::VmcoreInfo::parse(*text);
    uint64_t page_bytes = memory.page_size();
    if (page_bytes == 0 || page_bytes > (1 << 20))
        return 0;
    std::vector<uint8_t> page(page_bytes);
    // The first 64 pages present, wherever they are among the first million.
    size_t pages_read = 0;
    for (uint64_t pfn = 0; pfn < memory.pfn_limit() && pfn < (1 << 20) && pages_read < 64; ++pfn) {
        (void)memory.in_memory_map(pfn);
        if (!memory.has_page(pfn))
            continue;
        (void)memory.read(pfn * page_bytes, page);
        ++pages_read;
    }
    return 0;
}
