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
// and its writer (inserts). Bounded: a fixed table of slot_count slots
// (4 MiB); once 7/8 full it stops taking entries. The first page stored
// with a hash keeps its slot, and entries are never replaced, so whether a
// page is shared depends only on the pages before it, not on thread timing.
class SharedPageIndex {
public:
    static constexpr size_t slot_count = size_t { 1 } << 17;

    struct Entry {
        uint64_t content_hash { 0 }; // 0: empty slot
        uint64_t pfn { 0 };          // the page stored first, to compare against
        StoredPage stored;
    };

    SharedPageIndex();

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
