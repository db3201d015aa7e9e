/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 (FIPS 180-4), freestanding: no libc, no allocation. The one
 * implementation: compiled into every purgatory (which checks the loaded
 * segments with it) and into kdumpbox (which computes the digest the
 * purgatory compares against), so the two cannot disagree. */
#ifndef KDUMPBOX_PURGATORY_SHA256_H
#define KDUMPBOX_PURGATORY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sha256_state {
    uint32_t h[8];
    uint64_t total_bytes;
    uint8_t block[64];
    uint32_t block_used;
};

void sha256_init(struct sha256_state* state);
void sha256_update(struct sha256_state* state, void const* data, size_t length);
void sha256_final(struct sha256_state* state, uint8_t digest[32]);

#ifdef __cplusplus
}
#endif

#endif
