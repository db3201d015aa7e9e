/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The arm64 purgatory's check: the SHA-256 of the loaded segments against
 * the digest kdumpbox computed when it loaded them (purgatory/purgatory.h).
 * The MMU is off, so memory is Device memory: built with -mstrict-align and
 * -mgeneral-regs-only, and physical addresses are used as pointers. */
#include "purgatory/purgatory.h"
#include "purgatory/sha256.h"

/* Filled by kdumpbox at load time; in .data so it is part of the blob. */
__attribute__((used, aligned(8), section(".data.params"))) uint8_t purgatory_params[PURGATORY_PARAMS_BYTES] = { 1 };

static uint64_t load_u64(uint8_t const* bytes)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | bytes[i];
    return value;
}

void purgatory_check(void)
{
    if (load_u64(purgatory_params + PURGATORY_PARAMS_FLAGS) & PURGATORY_FLAG_SKIP_CHECK)
        return;
    struct sha256_state state;
    sha256_init(&state);
    for (unsigned i = 0; i < PURGATORY_MAX_REGIONS; i++) {
        uint8_t const* region = purgatory_params + PURGATORY_PARAMS_REGIONS + i * PURGATORY_REGION_BYTES;
        uint64_t start = load_u64(region);
        uint64_t bytes = load_u64(region + 8);
        if (bytes == 0)
            break;
        sha256_update(&state, (void const*)(uintptr_t)start, (size_t)bytes);
    }
    uint8_t digest[32];
    sha256_final(&state, digest);
    uint8_t differs = 0;
    for (unsigned i = 0; i < 32; i++)
        differs |= digest[i] ^ purgatory_params[PURGATORY_PARAMS_DIGEST + i];
    if (differs) {
        /* A corrupt kernel must not run: stop here (the watchdog, if any, reboots). */
        for (;;)
            __asm__ volatile("wfe");
    }
}
