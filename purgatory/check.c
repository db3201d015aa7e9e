/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The part of every purgatory that is not CPU-specific: the parameter
 * block core/kexec fills (purgatory/purgatory.h), and the check of the
 * loaded segments against its SHA-256. The CPU's entry code calls
 * purgatory_check() and, when it returns nonzero, parks the CPU. */
#include "purgatory/purgatory.h"
#include "purgatory/sha256.h"

/* In .data, not .bss: the blob must carry the block's bytes so that
 * core/kexec can fill them before the load. */
__attribute__((aligned(8), section(".data.purgatory_params"))) uint8_t purgatory_params[PURGATORY_PARAMS_BYTES] = { 1 };

int purgatory_check(void);

static uint64_t load_u64_le(uint8_t const* bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < 8; i++)
        value |= (uint64_t)bytes[i] << (8 * i);
    return value;
}

int purgatory_check(void)
{
    if (load_u64_le(purgatory_params + PURGATORY_PARAMS_FLAGS) & PURGATORY_FLAG_SKIP_CHECK)
        return 0;
    struct sha256_state state;
    sha256_init(&state);
    for (unsigned i = 0; i < PURGATORY_MAX_REGIONS; i++) {
        uint8_t const* region = purgatory_params + PURGATORY_PARAMS_REGIONS + i * PURGATORY_REGION_BYTES;
        uint64_t start = load_u64_le(region);
        uint64_t bytes = load_u64_le(region + 8);
        if (bytes == 0)
            break;
        /* Identity-mapped (x86_64) or MMU off (arm64): physical is virtual. */
        sha256_update(&state, (void const*)(uintptr_t)start, (size_t)bytes);
    }
    uint8_t digest[32];
    sha256_final(&state, digest);
    uint8_t difference = 0;
    for (unsigned i = 0; i < 32; i++)
        difference |= (uint8_t)(digest[i] ^ purgatory_params[PURGATORY_PARAMS_DIGEST + i]);
    return difference != 0;
}
