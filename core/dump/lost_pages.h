// SPDX-License-Identifier: GPL-2.0-or-later
// Pages the input cannot give: a read error (EIO from /proc/vmcore, a page
// lost from an incomplete kdump file) costs that page only. It is written
// as zeros, counted, warned about, and the dump is marked incomplete,
// as makedumpfile does, instead of the whole dump stopping.
#pragma once

#include "core/vmcore/physical_memory.h"

#include <cstdint>
#include <span>
#include <vector>

namespace core {

// Reads [paddr, paddr + out.size()) (whole pages); when that fails, again
// page by page, zero-filling every page that still fails and appending its
// pfn to lost_pfns. Never fails: what could not be read is in lost_pfns.
void read_pages_keeping_lost(PhysicalMemory const& memory, uint64_t paddr, std::span<uint8_t> out, std::vector<uint64_t>& lost_pfns);

// Tells of lost pages as they are found: the first few by pfn, then one
// line saying further ones are only counted.
class LostPageLog {
public:
    void record(std::span<uint64_t const> pfns, uint64_t page_size);
    uint64_t count() const { return m_count; }

private:
    uint64_t m_count { 0 };
};

} // namespace core
