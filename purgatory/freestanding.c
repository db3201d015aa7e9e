/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The two libc functions a compiler may call on its own even in
 * freestanding code (for struct copies and zeroing loops). Only the
 * purgatory links this; kdumpbox and its tests have libc's. */
#include <stddef.h>
#include <stdint.h>

/* Compilers may turn loops into these calls even when freestanding. */
void* memset(void* destination, int value, size_t length);
void* memcpy(void* destination, void const* source, size_t length);

void* memset(void* destination, int value, size_t length)
{
    volatile uint8_t* out = (volatile uint8_t*)destination;
    while (length--)
        *out++ = (uint8_t)value;
    return destination;
}

void* memcpy(void* destination, void const* source, size_t length)
{
    volatile uint8_t* out = (volatile uint8_t*)destination;
    uint8_t const* in = (uint8_t const*)source;
    while (length--)
        *out++ = *in++;
    return destination;
}
