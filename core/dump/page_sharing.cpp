// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/page_sharing.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace core {

namespace {

constexpr uint64_t multiplier_a = 0x9E3779B97F4A7C15ull;
constexpr uint64_t multiplier_b = 0xC2B2AE3D27D4EB4Full;

uint64_t rotate_left(uint64_t value, int bits) { return (value << bits) | (value >> (64 - bits)); }

uint64_t load_word(uint8_t const* bytes)
{
    // The hash is only compared within one run, so host order is fine.
    uint64_t word;
    std::memcpy(&word, bytes, sizeof word);
    return word;
}

// The last mixing step of MurmurHash3: every input bit reaches every output bit.
uint64_t finalize(uint64_t value)
{
    value ^= value >> 33;
    value *= 0xFF51AFD7ED558CCDull;
    value ^= value >> 33;
    value *= 0xC4CEB9FE1A85EC53ull;
    value ^= value >> 33;
    return value;
}

} // namespace

uint64_t page_content_hash(std::span<uint8_t const> page)
{
    // Four independent lanes keep the multiplies in flight: this runs over
    // every kept page, so it has to cost far less than compressing one.
    uint64_t lanes[4] = { multiplier_a, multiplier_b, ~multiplier_a, ~multiplier_b };
    size_t at = 0;
    for (; at + 32 <= page.size(); at += 32) {
        for (size_t lane = 0; lane < 4; ++lane)
            lanes[lane] = rotate_left(lanes[lane] + load_word(page.data() + at + 8 * lane) * multiplier_b, 31) * multiplier_a;
    }
    uint64_t hash = page.size();
    for (uint64_t lane : lanes)
        hash = rotate_left(hash ^ finalize(lane), 27) * multiplier_a;
    for (; at < page.size(); ++at)
        hash = (hash ^ page[at]) * multiplier_b;
    hash = finalize(hash);
    return hash != 0 ? hash : 1;
}

size_t SharedPageIndex::slot_count_for(uint64_t expected_pages)
{
    uint64_t wanted = expected_pages / 7 * 8 + 8; // over 7/8 of the slots stay free
    if (wanted >= max_slot_count)
        return max_slot_count;
    return std::max(min_slot_count, std::bit_ceil(static_cast<size_t>(wanted)));
}

SharedPageIndex::SharedPageIndex(uint64_t expected_pages)
    : m_slots(slot_count_for(expected_pages))
{
}

std::optional<SharedPageIndex::Entry> SharedPageIndex::find(uint64_t content_hash) const
{
    std::lock_guard lock(m_mutex);
    // Linear probing; the table never fills past 7/8, so an empty slot ends every search.
    size_t mask = m_slots.size() - 1;
    for (size_t slot = content_hash & mask;; slot = (slot + 1) & mask) {
        Entry const& entry = m_slots[slot];
        if (entry.content_hash == 0)
            return std::nullopt;
        if (entry.content_hash == content_hash)
            return entry;
    }
}

void SharedPageIndex::insert(Entry const& entry)
{
    if (entry.content_hash == 0)
        return;
    std::lock_guard lock(m_mutex);
    if (m_used >= m_slots.size() / 8 * 7)
        return;
    size_t mask = m_slots.size() - 1;
    for (size_t slot = entry.content_hash & mask;; slot = (slot + 1) & mask) {
        Entry& existing = m_slots[slot];
        if (existing.content_hash == entry.content_hash)
            return;
        if (existing.content_hash == 0) {
            existing = entry;
            ++m_used;
            return;
        }
    }
}

size_t SharedPageIndex::size() const
{
    std::lock_guard lock(m_mutex);
    return m_used;
}

} // namespace core
