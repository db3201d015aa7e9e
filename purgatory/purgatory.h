/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The contract between a purgatory blob and core/kexec, for every CPU: the
 * blob's header and its parameter block, as byte offsets (both are
 * little-endian; every purgatory CPU we build for is). Plain C macros, no
 * structs, so the freestanding purgatory and the C++ host read the same
 * numbers and neither depends on a compiler's struct layout.
 *
 * The blob is flat and position-independent: it runs wherever kexec_load
 * put it. It starts with the header; core/kexec copies it, fills the
 * parameter block at params_offset, and enters it at entry_offset. The
 * purgatory SHA-256s the regions in order, compares the digest (unless
 * flags has PURGATORY_FLAG_SKIP_CHECK) and, when they differ, loops forever
 * instead of starting a corrupt kernel. Then it sets the CPU's registers
 * from `registers` (arch/host.h PurgatoryRegisters says which) and jumps. */
#ifndef KDUMPBOX_PURGATORY_H
#define KDUMPBOX_PURGATORY_H

/* Header, at offset 0 of the blob. */
#define PURGATORY_MAGIC "KDBXPURG"          /* 8 bytes, no NUL */
#define PURGATORY_HEADER_MAGIC 0            /* char[8] */
#define PURGATORY_HEADER_VERSION 8          /* u32, PURGATORY_VERSION */
#define PURGATORY_HEADER_ENTRY_OFFSET 12    /* u32: where to enter, from the blob's start */
#define PURGATORY_HEADER_PARAMS_OFFSET 16   /* u32: the parameter block, from the blob's start */
#define PURGATORY_HEADER_MEMORY_BYTES 20    /* u32: the blob plus its bss and stack */
#define PURGATORY_HEADER_BYTES 24
#define PURGATORY_VERSION 1

/* Parameter block. */
#define PURGATORY_MAX_REGIONS 16            /* kexec_load takes at most 16 segments */
#define PURGATORY_PARAMS_DIGEST 0           /* u8[32]: SHA-256 of the regions, concatenated */
#define PURGATORY_PARAMS_REGIONS 32         /* {u64 start, u64 bytes}[16]; bytes 0 ends the list */
#define PURGATORY_REGION_BYTES 16
#define PURGATORY_PARAMS_REGISTERS 288      /* u64[8], the CPU's meaning (arch/host.h) */
#define PURGATORY_REGISTER_COUNT 8
#define PURGATORY_PARAMS_FLAGS 352          /* u64 */
#define PURGATORY_PARAMS_BYTES 360
#define PURGATORY_FLAG_SKIP_CHECK 1         /* kexec -i: no digest check */

#endif
