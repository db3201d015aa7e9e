/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The arm64 purgatory's header and entry (purgatory/purgatory.h is the
 * contract). machine_kexec enters it at entry_offset with the MMU and the
 * caches off, at EL1 or EL2; it runs wherever kexec_load put it, so every
 * address here is PC-relative. */
#include "purgatory/purgatory.h"

    .section .text.head, "ax"
    .globl purgatory_header
purgatory_header:
    .ascii PURGATORY_MAGIC
    .long PURGATORY_VERSION
    .long purgatory_entry - purgatory_header
    .long purgatory_params - purgatory_header
    .long purgatory_memory_end - purgatory_header

    .balign 8
purgatory_entry:
    adr x9, purgatory_stack_top
    mov sp, x9
    bl purgatory_check          /* purgatory/check.c: nonzero when a segment changed */
    cbnz w0, corrupt
    adr x9, purgatory_params
    ldr x10, [x9, #PURGATORY_PARAMS_REGISTERS]      /* registers[0]: the kernel's entry */
    ldr x0, [x9, #(PURGATORY_PARAMS_REGISTERS + 8)] /* registers[1]: the DTB */
    mov x1, xzr                 /* booting.rst: x1..x3 are reserved, zero */
    mov x2, xzr
    mov x3, xzr
    br x10

corrupt:                        /* a corrupt kernel must not run: park here */
    wfe
    b corrupt

    .section .bss.stack, "aw", %nobits
    .balign 16
    .space 4096
purgatory_stack_top:
