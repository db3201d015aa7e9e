/* SPDX-License-Identifier: GPL-2.0-or-later */
/* x86_64 purgatory entry. relocate_kernel jumps here in 64-bit mode with
 * an identity mapping of memory and interrupts off. We check the segments
 * (purgatory/check.c), then meet the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): a GDT with
 * flat __BOOT_CS (0x10) and __BOOT_DS (0x18), CS/DS/ES/SS loaded from it,
 * rsi = boot_params, and a jump to the kernel's 64-bit entry. Everything
 * is RIP-relative: the blob runs wherever it was loaded. */
#include "purgatory/purgatory.h"

    .section .purgatory.header, "a"
    .globl purgatory_header
purgatory_header:
    .ascii PURGATORY_MAGIC
    .long PURGATORY_VERSION
    .long purgatory_entry
    .long purgatory_params
    .long purgatory_memory_end

    .text
    .globl purgatory_entry
purgatory_entry:
    cli
    cld
    leaq stack_top(%rip), %rsp
    call purgatory_check
    testl %eax, %eax
    jnz corrupt

    /* The GDT's base is absolute: patch it where we run. */
    leaq gdt(%rip), %rax
    movq %rax, gdtr_base(%rip)
    lgdt gdtr(%rip)
    leaq reloaded_cs(%rip), %rax
    pushq $0x10
    pushq %rax
    lretq
reloaded_cs:
    movl $0x18, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs

    leaq purgatory_params(%rip), %rbx
    movq PURGATORY_PARAMS_REGISTERS+8(%rbx), %rsi
    movq PURGATORY_PARAMS_REGISTERS(%rbx), %rax
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    xorl %edi, %edi
    jmp *%rax

    /* A segment changed since it was loaded: never start it. */
corrupt:
    cli
    hlt
    jmp corrupt

    .section .data
    .balign 16
gdt:
    .quad 0                     /* null */
    .quad 0                     /* 0x08: unused */
    .quad 0x00af9a000000ffff    /* 0x10 __BOOT_CS: 64-bit code, execute/read */
    .quad 0x00cf92000000ffff    /* 0x18 __BOOT_DS: flat data, read/write */
gdt_end:
    .balign 8
gdtr:
    .word gdt_end - gdt - 1
gdtr_base:
    .quad 0

    .section .bss
    .balign 16
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
