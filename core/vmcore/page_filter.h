// SPDX-License-Identifier: GPL-2.0-or-later
// Dump levels: which page frames to leave out, with makedumpfile's exact
// semantics (see shared reference dump-format.md §2). The filter walks
// mem_section to find the struct page arrays, then classifies pages window
// by window, so memory stays bounded whatever the dump size.
#pragma once

#include "arch/dump_arch.h"
#include "core/base/error.h"
#include "core/vmcore/kernel_memory.h"
#include "core/vmcore/physical_memory.h"
#include "core/vmcore/vmcoreinfo.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

namespace core {

// makedumpfile's dump level bits.
namespace dump_level {
constexpr int zero = 1;
constexpr int cache = 2;         // non-private page cache
constexpr int cache_private = 4; // all page cache
constexpr int user = 8;          // anonymous and hugetlbfs
constexpr int free = 16;         // buddy (and unaccepted) free pages
constexpr int max = 31;
} // namespace dump_level

// Pages left out, by why. Zero pages are counted by the writer, which sees
// the contents; the filter counts the rest.
struct ExclusionCounts {
    uint64_t zero_pages { 0 };
    uint64_t cache_pages { 0 };
    uint64_t cache_private_pages { 0 };
    uint64_t user_pages { 0 };
    uint64_t free_pages { 0 };
    uint64_t hwpoison_pages { 0 };
    uint64_t offline_pages { 0 };
    uint64_t unaccepted_pages { 0 };
    ExclusionCounts& operator+=(ExclusionCounts const& other);
    uint64_t total() const;
};

// Non-fatal problems (a missing VMCOREINFO entry that forces keeping pages,
// a corrupt struct page): reported once each, and filtering goes on on the
// safe side (keep the page).
using WarningSink = std::function<void(std::string const&)>;

class PageFilter {
public:
    // dump_level 0..31. Bits 2..16 need the struct page walk; when a needed
    // VMCOREINFO entry is missing, create() still succeeds, warns naming the
    // entry, and keeps the pages it cannot classify. sparsemem_defaults: the
    // dumped CPU's (arch::DumpArch), for kernels that do not export them.
    static Result<std::unique_ptr<PageFilter>> create(VmcoreInfo const& info, std::optional<arch::SparsememDefaults> const& sparsemem_defaults, KernelMemory const& kernel, PhysicalMemory const& physical, int dump_level, WarningSink warn);
    virtual ~PageFilter() = default;

    // For pfns [start_pfn, start_pfn + pfn_count): clears the bit of every
    // page to leave out in `keep` (bit i = pfn start_pfn + i, LSB-first; the
    // caller sets bits for pfns present in the input first). Windows must be
    // visited in ascending order, each starting at or after the previous
    // one's end (a caller skips windows with nothing present); a free or
    // compound block that runs past a window's end is carried into the
    // next. Thread-compatible, not thread-safe.
    virtual Result<void> exclude(uint64_t start_pfn, uint64_t pfn_count, std::span<uint8_t> keep, ExclusionCounts& counts) = 0;

    // One past the highest pfn backed by a valid mem_section (makedumpfile
    // clamps max_mapnr to this, which handles mem=).
    virtual uint64_t pfn_limit() const = 0;
};

} // namespace core
