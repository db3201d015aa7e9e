// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/lost_pages.h"

#include "core/base/log.h"
#include "core/base/strings.h"

#include <algorithm>

namespace core {

namespace {
// Enough lines to show a pattern (one bad DIMM, a run) on the console.
constexpr uint64_t lost_pages_named = 8;
} // namespace

void read_pages_keeping_lost(PhysicalMemory const& memory, uint64_t paddr, std::span<uint8_t> out, std::vector<uint64_t>& lost_pfns)
{
    if (memory.read(paddr, out).ok())
        return;
    uint64_t page_size = memory.page_size();
    for (size_t done = 0; done < out.size(); done += page_size) {
        auto page = out.subspan(done, std::min<size_t>(page_size, out.size() - done));
        if (memory.read(paddr + done, page).ok())
            continue;
        std::fill(page.begin(), page.end(), uint8_t(0));
        lost_pfns.push_back((paddr + done) / page_size);
    }
}

void LostPageLog::record(std::span<uint64_t const> pfns, uint64_t page_size)
{
    for (uint64_t pfn : pfns) {
        ++m_count;
        if (m_count <= lost_pages_named)
            log::warn(cat("page frame ", hex(pfn), " (physical address ", hex(pfn * page_size), ") cannot be read; saved as zeros and the dump is marked incomplete",
                m_count == lost_pages_named ? " (further unreadable pages are only counted)" : ""));
    }
}

} // namespace core
