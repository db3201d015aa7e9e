// SPDX-License-Identifier: GPL-2.0-or-later
// The crashed machine's physical memory, whatever holds it: an ELF
// /proc/vmcore (core/vmcore_file.h) or a kdump-compressed file
// (core/kdump_reader.h). The collector, the page filter and dmesg extraction
// only see this interface.
#pragma once

#include "core/base/bytes.h"
#include "core/base/error.h"

#include <cstdint>
#include <span>

namespace core {

class PhysicalMemory {
public:
    virtual ~PhysicalMemory() = default;

    // Reads exactly out.size() bytes starting at paddr. Any byte that is not
    // in the container (a hole, an excluded page) makes it an error that
    // names the address. Must be safe to call from several threads at once.
    virtual Result<void> read(uint64_t paddr, std::span<uint8_t> out) const = 0;
    // Whether the page frame is in the container (inside a PT_LOAD, or set
    // in a kdump file's bitmap 2).
    virtual bool has_page(uint64_t pfn) const = 0;
    virtual uint64_t page_size() const = 0;
    // One past the highest page frame number the container describes.
    virtual uint64_t pfn_limit() const = 0;
    // The lowest pfn at or after `pfn` that the container holds or maps
    // (has_page, or inside its memory map), pfn_limit() when none: loops over
    // pfns jump over holes of any size with it instead of walking them. No
    // pfn in [pfn, result) is present. The default cannot tell, so it skips
    // nothing.
    virtual uint64_t next_present_pfn(uint64_t pfn) const { return pfn; }
    // The crashed machine's byte order.
    virtual Endian endian() const = 0;
};

} // namespace core
