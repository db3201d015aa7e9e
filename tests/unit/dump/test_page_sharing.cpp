// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/page_sharing.h"

#include <doctest.h>

#include <bit>
#include <set>
#include <vector>

using core::SharedPageIndex;

namespace {

std::vector<uint8_t> page_of(uint64_t seed, size_t size = 4096)
{
    std::vector<uint8_t> page(size);
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (auto& byte : page) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        byte = static_cast<uint8_t>(state);
    }
    return page;
}

SharedPageIndex::Entry entry(uint64_t hash, uint64_t pfn)
{
    return { hash, pfn, core::StoredPage { 0x10000 + pfn * 100, 100, core::Codec::Zstd } };
}

} // namespace

TEST_CASE("the page hash is the same for the same bytes and differs for one changed bit")
{
    auto page = page_of(1);
    uint64_t hash = core::page_content_hash(page);
    CHECK(hash == core::page_content_hash(page_of(1)));
    CHECK(hash != 0);
    std::set<uint64_t> hashes { hash };
    // Every single-bit change in the first and last words, and in the middle.
    for (size_t byte : { size_t { 0 }, size_t { 7 }, size_t { 2049 }, size_t { 4095 } }) {
        for (int bit = 0; bit < 8; ++bit) {
            auto changed = page;
            changed[byte] ^= static_cast<uint8_t>(1 << bit);
            hashes.insert(core::page_content_hash(changed));
        }
    }
    CHECK(hashes.size() == 33);
    // Zero pages and pages of one repeated byte are common in memory.
    CHECK(core::page_content_hash(std::vector<uint8_t>(4096, 0)) != core::page_content_hash(std::vector<uint8_t>(4096, 0xff)));
    CHECK(core::page_content_hash(std::vector<uint8_t>(4096, 0)) != core::page_content_hash(std::vector<uint8_t>(8192, 0)));
    // Sizes that are not a multiple of 32 bytes hash their tail too.
    auto odd = page_of(2, 100);
    auto odd_changed = odd;
    odd_changed[99] ^= 1;
    CHECK(core::page_content_hash(odd) != core::page_content_hash(odd_changed));
}

TEST_CASE("the shared-page index keeps the first page stored with a hash")
{
    SharedPageIndex index;
    CHECK_FALSE(index.find(42).has_value());
    index.insert(entry(42, 7));
    index.insert(entry(42, 9)); // a later copy never replaces the first
    auto found = index.find(42);
    REQUIRE(found.has_value());
    CHECK(found->pfn == 7);
    CHECK(found->stored.data_offset == 0x10000 + 700);
    CHECK(found->stored.codec == core::Codec::Zstd);
    // Hashes that land on the same slot are kept apart.
    index.insert(entry(42 + SharedPageIndex::max_slot_count, 8));
    REQUIRE(index.find(42 + SharedPageIndex::max_slot_count).has_value());
    CHECK(index.find(42 + SharedPageIndex::max_slot_count)->pfn == 8);
    CHECK(index.find(42)->pfn == 7);
    CHECK_FALSE(index.find(43).has_value());
    CHECK(index.size() == 2);
    index.insert(entry(0, 1)); // 0 means "empty" and is never stored
    CHECK(index.size() == 2);
}

TEST_CASE("the shared-page index stops taking entries at 7/8 full, and finds stay bounded")
{
    SharedPageIndex index;
    size_t limit = SharedPageIndex::max_slot_count / 8 * 7;
    for (uint64_t pfn = 0; pfn < SharedPageIndex::max_slot_count; ++pfn)
        index.insert(entry(pfn * 2 + 1, pfn));
    CHECK(index.size() == limit);
    CHECK(index.find(1)->pfn == 0);
    CHECK(index.find((limit - 1) * 2 + 1)->pfn == limit - 1);
    CHECK_FALSE(index.find(limit * 2 + 1).has_value()); // dropped: the table was full
}

// Sized for the pages the dump stores (a capture kernel at 64M has a few
// MiB for the whole collector), and never so small that it fills: every
// stored page can be found, as in the largest table.
TEST_CASE("the shared-page index is sized for the pages the dump will store")
{
    CHECK(SharedPageIndex::slot_count_for(0) == SharedPageIndex::min_slot_count);
    CHECK(SharedPageIndex::slot_count_for(30000) == 65536); // a -d 31 dump of a 2 GiB guest: half the largest
    CHECK(SharedPageIndex::slot_count_for(1u << 20) == SharedPageIndex::max_slot_count);
    for (uint64_t pages : { 1ull, 896ull, 897ull, 28000ull, 28672ull, 28673ull, 114687ull, 114688ull }) {
        size_t slots = SharedPageIndex::slot_count_for(pages);
        CHECK(std::has_single_bit(slots));
        CHECK((pages < slots / 8 * 7 || slots == SharedPageIndex::max_slot_count));
    }
    SharedPageIndex index(28000);
    CHECK(index.slot_count() == 32768);
    for (uint64_t pfn = 0; pfn < 28000; ++pfn)
        index.insert(entry(pfn * 2 + 1, pfn));
    CHECK(index.size() == 28000); // none dropped
    CHECK(index.find(27999 * 2 + 1)->pfn == 27999);
    CHECK(SharedPageIndex().slot_count() == SharedPageIndex::max_slot_count);
}
