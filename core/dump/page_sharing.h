// SPDX-License-Identifier: GPL-2.0-or-later
// Identical pages stored once. Memory holds many copies of the same bytes
// (a file in the page cache and in a reader's buffer, tmpfs copies, pages
// of one repeated pattern); the kdump format lets every descriptor point at
// any stored page, as zero pages always have, so later copies cost a
// descriptor instead of their bytes and their compression.
#pragma once

#include "core/dump/kdump_format.h"

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace core {

// A fast 64-bit hash of a page's bytes, never 0. Only a hint: sharing is
// decided by comparing the bytes.
uint64_t page_content_hash(std::span<uint8_t const> page);

// Stored pages by content hash, for the page pipeline's workers (lookups)
// and its writer (inserts). Bounded: a table of at most max_slot_count
// slots (4 MiB); once 7/8 full it stops taking entries. The first page
// stored with a hash keeps its slot, and entries are never replaced, so
// whether a page is shared depends only on the pages before it, not on
// thread timing.
//
// The table is sized for the pages the dump will store: a capture kernel
// at crashkernel=64M has a few MiB for the whole collector, and a -d 31
// dump of a 2 GiB guest stores some 30,000 pages. A table that holds every
// stored page never fills, so the dump is the same as with the largest.
class SharedPageIndex {
public:
    static constexpr size_t max_slot_count = size_t { 1 } << 17;
    static constexpr size_t min_slot_count = size_t { 1 } << 10;
    // The slots for expected_pages: room for all of them below 7/8 full,
    // a power of two, within [min_slot_count, max_slot_count].
    static size_t slot_count_for(uint64_t expected_pages);

    struct Entry {
        uint64_t content_hash { 0 }; // 0: empty slot
        uint64_t pfn { 0 };          // the page stored first, to compare against
        StoredPage stored;
    };

    explicit SharedPageIndex(uint64_t expected_pages = max_slot_count);
    size_t slot_count() const { return m_slots.size(); }

    std::optional<Entry> find(uint64_t content_hash) const;
    // Keeps an existing entry with the same hash; drops the entry when full.
    void insert(Entry const& entry);
    size_t size() const;

private:
    mutable std::mutex m_mutex;
    std::vector<Entry> m_slots;
    size_t m_used { 0 };
};

} // namespace core
