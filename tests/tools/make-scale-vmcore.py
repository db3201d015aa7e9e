#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes a synthetic x86_64 vmcore of N GiB of RAM as a sparse file.

The file looks like /proc/vmcore of a Linux 6.1 kernel with
SPARSEMEM_VMEMMAP: an ELF64 core with one PT_NOTE (two NT_PRSTATUS and a
VMCOREINFO note) and one PT_LOAD per RAM range, p_vaddr in the direct map.
RAM is [0, 3 GiB) and [4 GiB, N+1 GiB): N GiB with the PCI hole between.

Only what the page filters read is written: the kernel's page tables
(direct map with 1 GiB pages, image map and vmemmap with 2 MiB pages), the
mem_section roots, init_uts_ns, the struct page array (64 bytes a page,
N x 16 MiB, at 4 GiB) and a small share of data pages (kernel image text,
parts of slab and reserved pages). Everything else is a hole and reads as
zeros: free, page-cache and anonymous pages are never written.

The struct pages describe, in 4 MiB blocks, about 60% free pages (order-10
and order-3/4 buddies: page_type PG_buddy in _mapcount, order in private),
20% page cache (PG_lru, an address_space mapping), 10% anonymous (PG_lru |
PG_swapbacked, mapping | PAGE_MAPPING_ANON), 5% slab (PG_slab) and 5%
reserved; the first 64 MiB and the struct page array itself are reserved.
Deterministic for a given size and seed. Prints the page counts by class.

Usage: make-scale-vmcore.py GIB OUTPUT [--seed N]
"""

import argparse
import os
import random
import struct
import sys
import time

PAGE = 4096
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
STRUCT_PAGE = 64
BLOCK_PAGES = 1024  # 4 MiB: the largest buddy (MAX_ORDER 11)
SLOT_PAGES = 16
SECTION_SHIFT = 27
PAGES_PER_SECTION = 1 << (SECTION_SHIFT - 12)
SECTIONS_PER_ROOT = PAGE // 16
SECTION_ROOTS = (1 << (46 - SECTION_SHIFT)) // SECTIONS_PER_ROOT  # 2048

PAGE_OFFSET = 0xffff888000000000
VMEMMAP_START = 0xffffea0000000000
IMAGE_MAP = 0xffffffff80000000  # __START_KERNEL_map, phys_base 0
HOLE_START, HOLE_END = 3 * GiB, 4 * GiB
MEM_MAP_PADDR = 4 * GiB
TABLES_PADDR = 0x3000000
MEM_SECTION_VAR = 0x3400000  # the `mem_section` pointer variable (image)
MEM_SECTION_ROOTS = 0x3401000  # its root array (2048 pointers)
MEM_SECTION_PAGES = 0x3410000  # one page of 256 sections per root
SECTION_USAGE = 0x3500000
UTS_NS = 0x3600000
IMAGE_TEXT = (0x1000000, 0x2800000)  # 24 MiB of "kernel text" written
RESERVED_LOW = 64 * MiB

# 6.1 page flag bits (Debian amd64: PG_arch_2 absent, PG_uncached present)
PG_referenced, PG_uptodate, PG_lru, PG_active = 1, 2, 4, 5
PG_slab, PG_reserved, PG_swapbacked, PG_hwpoison = 9, 12, 19, 23
BUDDY = -129  # page_type with PG_buddy (0x80) cleared
NO_TYPE = -1

PAGE_STRUCT = struct.Struct('<QQQQQQiIQ')  # flags lru.next lru.prev mapping index private _mapcount _refcount memcg_data
assert PAGE_STRUCT.size == STRUCT_PAGE

NT_PRSTATUS, NT_VMCOREINFO = 1, 0


def ram_ranges(gib):
    if gib < 4:
        sys.exit("make-scale-vmcore: at least 4 GiB")
    return [(0, HOLE_START), (HOLE_END, (gib + 1) * GiB)]


def vmemmap_paddr(pfn):
    """Physical address of pfn's struct page (the hole has none)."""
    offset = pfn * STRUCT_PAGE
    if pfn >= HOLE_END // PAGE:
        offset -= (HOLE_END - HOLE_START) // PAGE * STRUCT_PAGE
    return MEM_MAP_PADDR + offset


def bit(n):
    return 1 << n


class Pages:
    """Builds struct pages of one 4 MiB block; counts pages by class."""

    def __init__(self, rng):
        self.rng = rng
        self.records = []
        self.classes = []

    def add(self, cls, flags=0, lru=(0, 0), mapping=0, index=0, private=0, mapcount=NO_TYPE, refcount=0, memcg=0):
        self.records.append(PAGE_STRUCT.pack(flags, lru[0], lru[1], mapping, index, private, mapcount, refcount, memcg))
        self.classes.append(cls)

    def pointer(self, base=PAGE_OFFSET + 0x100000000):
        return base + (self.rng.randrange(1 << 24) << 6)

    def buddy(self, order):
        self.add('free', lru=(self.pointer(VMEMMAP_START), self.pointer(VMEMMAP_START)), index=self.rng.randrange(3), private=order, mapcount=BUDDY)
        for _ in range((1 << order) - 1):
            self.add('free')

    def cache(self, count):
        mapping = self.pointer() | 0x8
        memcg = self.pointer()
        first = self.rng.randrange(1 << 20)
        for i in range(count):
            flags = bit(PG_lru) | bit(PG_uptodate) | (bit(PG_referenced) if self.rng.random() < 0.5 else 0) | (bit(PG_active) if self.rng.random() < 0.3 else 0)
            mapped = self.rng.random() < 0.3
            self.add('cache', flags, (self.pointer(VMEMMAP_START), self.pointer(VMEMMAP_START)), mapping, first + i, 0, 0 if mapped else NO_TYPE, 2 if mapped else 1, memcg)

    def anon(self, count):
        anon_vma = self.pointer() | 0x1
        memcg = self.pointer()
        first = self.rng.randrange(1 << 35)
        for i in range(count):
            flags = bit(PG_lru) | bit(PG_uptodate) | bit(PG_swapbacked) | (bit(PG_active) if self.rng.random() < 0.6 else 0)
            self.add('anon', flags, (self.pointer(VMEMMAP_START), self.pointer(VMEMMAP_START)), anon_vma, first + i, 0, 0, 1, memcg)

    def slab(self, count):
        cache = self.pointer()
        for _ in range(count):
            # struct slab over struct page: slab_list, slab_cache, freelist, counters
            self.add('slab', bit(PG_slab), (self.pointer(VMEMMAP_START), self.pointer(VMEMMAP_START)), cache, self.pointer(), self.rng.randrange(1 << 32), NO_TYPE, 1)

    def reserved(self, count):
        for _ in range(count):
            self.add('reserved', bit(PG_reserved), refcount=1)

    def bytes(self):
        assert len(self.records) == BLOCK_PAGES
        return b''.join(self.records)


def mixed_pattern(rng):
    """One 4 MiB block of mixed use; returns (struct pages, class counts, data runs)."""
    pages = Pages(rng)
    runs = []
    kinds = ['cache'] * 8 + ['anon'] * 4 + ['slab'] * 2 + ['reserved'] * 2 + ['free'] * 4
    for slot in range(BLOCK_PAGES // SLOT_PAGES):
        start = slot * SLOT_PAGES
        kind = rng.choice(kinds)
        if kind == 'free':
            if rng.random() < 0.6:
                pages.buddy(4)
            else:
                pages.buddy(3)
                pages.cache(8)
        elif kind == 'cache':
            pages.cache(SLOT_PAGES)
        elif kind == 'anon':
            pages.anon(SLOT_PAGES)
        else:
            getattr(pages, kind)(SLOT_PAGES)
            # Some of these hold data; the rest are allocated but zero.
            written = rng.choice([0, 0, 1, 2, 3, 4])
            if written:
                runs.append((start, written))
    return pages.bytes(), count_classes(pages.classes), runs


def free_pattern(rng):
    pages = Pages(rng)
    pages.buddy(10)
    return pages.bytes(), count_classes(pages.classes), []


def reserved_pattern(rng):
    pages = Pages(rng)
    pages.reserved(BLOCK_PAGES)
    return pages.bytes(), count_classes(pages.classes), []


def count_classes(classes):
    counts = {}
    for cls in classes:
        counts[cls] = counts.get(cls, 0) + 1
    return counts


def make_corpus(rng, size):
    """Compressible bytes: words, small integers, pointers and zero runs."""
    words = [''.join(rng.choice('etaoinshrdlucmfwypvbgkqjxz_') for _ in range(rng.randrange(2, 10))) for _ in range(600)]
    parts = []
    total = 0
    while total < size:
        kind = rng.random()
        if kind < 0.5:
            piece = (' '.join(rng.choice(words) for _ in range(rng.randrange(4, 40))) + '\n').encode()
        elif kind < 0.75:
            base = PAGE_OFFSET + (rng.randrange(1 << 26) << 6)
            piece = b''.join(struct.pack('<Q', base + rng.randrange(64) * 64) for _ in range(rng.randrange(4, 64)))
        elif kind < 0.9:
            piece = b''.join(struct.pack('<I', rng.randrange(256)) for _ in range(rng.randrange(4, 64)))
        else:
            piece = bytes(rng.randrange(16, 512))
        parts.append(piece)
        total += len(piece)
    return b''.join(parts)[:size]


class Corpus:
    def __init__(self, rng):
        self.bytes = make_corpus(rng, 4 * MiB)

    def pages(self, pfn, count):
        out = []
        for p in range(pfn, pfn + count):
            at = (p * 2654435761) % (len(self.bytes) - PAGE)
            out.append(struct.pack('<Q', p) + self.bytes[at + 8:at + PAGE])
        return b''.join(out)


class PageTables:
    """x86_64 4-level tables, 4 KiB tables carved from TABLES_PADDR."""

    def __init__(self):
        self.tables = {}
        self.next = TABLES_PADDR
        self.root = self.allocate()

    def allocate(self):
        paddr = self.next
        self.next += PAGE
        self.tables[paddr] = bytearray(PAGE)
        return paddr

    def table(self, vaddr, depth):
        table = self.root
        for level in range(depth):
            index = (vaddr >> (39 - 9 * level)) & 511
            entry, = struct.unpack_from('<Q', self.tables[table], index * 8)
            if not entry & 1:
                new = self.allocate()
                struct.pack_into('<Q', self.tables[table], index * 8, new | 0x63)
                table = new
            else:
                table = entry & 0x000ffffffffff000
        return table

    def map_large(self, vaddr, paddr, size):
        depth = 1 if size == GiB else 2
        shift = 30 if size == GiB else 21
        assert vaddr % size == 0 and paddr % size == 0
        struct.pack_into('<Q', self.tables[self.table(vaddr, depth)], ((vaddr >> shift) & 511) * 8, paddr | 0xe3)


def note(name, note_type, desc):
    name_bytes = name.encode() + b'\0'
    pad = lambda b: b + bytes(-len(b) % 4)
    return struct.pack('<III', len(name_bytes), len(desc), note_type) + pad(name_bytes) + pad(desc)


def vmcoreinfo(gib, tables):
    lines = [
        'OSRELEASE=6.1.0-28-amd64',
        'BUILD-ID=5c6d3f1e2b9a8c7d6e5f40312a1b0c9d8e7f6a5b',
        'PAGESIZE=4096',
        f'SYMBOL(init_uts_ns)={IMAGE_MAP + UTS_NS:x}',
        'OFFSET(uts_namespace.name)=0',
        f'SYMBOL(mem_section)={IMAGE_MAP + MEM_SECTION_VAR:x}',
        f'LENGTH(mem_section)={SECTION_ROOTS}',
        'SIZE(mem_section)=16',
        'OFFSET(mem_section.section_mem_map)=0',
        f'NUMBER(SECTION_SIZE_BITS)={SECTION_SHIFT}',
        'NUMBER(MAX_PHYSMEM_BITS)=46',
        'SIZE(page)=64',
        'SIZE(list_head)=16',
        'OFFSET(page.flags)=0',
        'OFFSET(page._refcount)=52',
        'OFFSET(page.mapping)=24',
        'OFFSET(page.lru)=8',
        'OFFSET(page._mapcount)=48',
        'OFFSET(page.private)=40',
        'OFFSET(page.compound_dtor)=16',
        'OFFSET(page.compound_order)=17',
        'OFFSET(page.compound_head)=8',
        'LENGTH(zone.free_area)=11',
        'OFFSET(list_head.next)=0',
        'OFFSET(list_head.prev)=8',
        f'NUMBER(PG_lru)={PG_lru}',
        'NUMBER(PG_private)=13',
        'NUMBER(PG_swapcache)=10',
        f'NUMBER(PG_swapbacked)={PG_swapbacked}',
        f'NUMBER(PG_slab)={PG_slab}',
        f'NUMBER(PG_hwpoison)={PG_hwpoison}',
        'NUMBER(PG_head_mask)=65536',
        f'NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)={BUDDY}',
        'NUMBER(HUGETLB_PAGE_DTOR)=2',
        'NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-257',
        'NUMBER(phys_base)=0',
        f'SYMBOL(init_top_pgt)={IMAGE_MAP + tables.root:x}',
        'NUMBER(pgtable_l5_enabled)=0',
        'KERNELOFFSET=0',
        'NUMBER(KERNEL_IMAGE_SIZE)=1073741824',
        'NUMBER(sme_mask)=0',
        'CRASHTIME=1764806400',
    ]
    return ('\n'.join(lines) + '\n').encode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('gib', type=int)
    parser.add_argument('output')
    parser.add_argument('--seed', type=int, default=16)
    args = parser.parse_args()
    started = time.monotonic()
    rng = random.Random(args.seed)
    ranges = ram_ranges(args.gib)
    end_pfn = ranges[-1][1] // PAGE

    tables = PageTables()
    for offset in range(0, 512 * MiB, 2 * MiB):  # the kernel image mapping
        tables.map_large(IMAGE_MAP + offset, offset, 2 * MiB)
    for start, end in ranges:  # the direct map
        for paddr in range(start, end, GiB):
            tables.map_large(PAGE_OFFSET + paddr, paddr, GiB)
    for start, end in ranges:  # vmemmap
        for vm in range(start // PAGE * STRUCT_PAGE, end // PAGE * STRUCT_PAGE, 2 * MiB):
            tables.map_large(VMEMMAP_START + vm, vmemmap_paddr(vm // STRUCT_PAGE), 2 * MiB)

    # mem_section: the pointer variable, the root array, the roots' pages.
    small = dict(tables.tables)  # paddr -> page bytes, written last

    def put(paddr, data):
        page = paddr & ~(PAGE - 1)
        buf = small.setdefault(page, bytearray(PAGE))
        buf[paddr - page:paddr - page + len(data)] = data

    put(MEM_SECTION_VAR, struct.pack('<Q', PAGE_OFFSET + MEM_SECTION_ROOTS))
    for start, end in ranges:
        for nr in range(start // PAGE // PAGES_PER_SECTION, end // PAGE // PAGES_PER_SECTION):
            root, index = divmod(nr, SECTIONS_PER_ROOT)
            root_page = MEM_SECTION_PAGES + root * PAGE
            put(MEM_SECTION_ROOTS + root * 8, struct.pack('<Q', PAGE_OFFSET + root_page))
            put(root_page + index * 16, struct.pack('<QQ', VMEMMAP_START | 0xf, PAGE_OFFSET + SECTION_USAGE + nr * 32))
    uts = b''.join(s.encode().ljust(65, b'\0') for s in ['Linux', f'scale-{args.gib}g', '6.1.0-28-amd64', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)', 'x86_64', '(none)'])
    put(UTS_NS, uts)

    # The ELF headers and notes.
    notes = b''
    for cpu in range(2):
        prstatus = bytearray(336)
        struct.pack_into('<I', prstatus, 32, 1000 + cpu)
        notes += note('CORE', NT_PRSTATUS, bytes(prstatus))
    notes += note('VMCOREINFO', NT_VMCOREINFO, vmcoreinfo(args.gib, tables))
    phnum = 1 + len(ranges)
    notes_at = 64 + phnum * 56
    data_at = (notes_at + len(notes) + PAGE - 1) // PAGE * PAGE
    load_offsets = []
    at = data_at
    for start, end in ranges:
        load_offsets.append(at)
        at += end - start
    file_size = at
    header = bytearray(64)
    header[0:16] = b'\x7fELF\x02\x01\x01' + bytes(9)
    struct.pack_into('<HHIQQQIHHHHHH', header, 16, 4, 62, 1, 0, 64, 0, 0, 64, 56, phnum, 0, 0, 0)
    phdrs = struct.pack('<IIQQQQQQ', 4, 0, notes_at, 0, 0, len(notes), 0, 0)
    for (start, end), offset in zip(ranges, load_offsets):
        phdrs += struct.pack('<IIQQQQQQ', 1, 7, offset, PAGE_OFFSET + start, start, end - start, end - start, 0)

    def file_offset(paddr):
        for (start, end), offset in zip(ranges, load_offsets):
            if start <= paddr < end:
                return offset + paddr - start
        raise ValueError(f'{paddr:#x} is not RAM')

    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.ftruncate(fd, file_size)
    os.pwrite(fd, bytes(header) + phdrs + notes, 0)

    # Block patterns: 50% whole free order-10 buddies, 50% mixed use.
    mixed = [mixed_pattern(rng) for _ in range(256)]
    free = free_pattern(rng)
    reserved = reserved_pattern(rng)
    corpus = Corpus(rng)
    mem_map_end = vmemmap_paddr(end_pfn)
    counts = {}
    data_pages = 0
    buffer = bytearray()
    buffer_at = None

    def flush():
        nonlocal buffer, buffer_at
        if buffer:
            os.pwrite(fd, buffer, buffer_at)
        buffer = bytearray()
        buffer_at = None

    for start, end in ranges:
        for pfn in range(start // PAGE, end // PAGE, BLOCK_PAGES):
            paddr = pfn * PAGE
            choice = rng.random()
            if paddr < RESERVED_LOW or MEM_MAP_PADDR <= paddr < mem_map_end:
                pattern = reserved
            elif choice < 0.5:
                pattern = free
            else:
                pattern = mixed[rng.randrange(len(mixed))]
            records, classes, runs = pattern
            block = bytearray(records)
            for sub in range(0, BLOCK_PAGES, PAGE // STRUCT_PAGE):  # every mem_map page unique
                struct.pack_into('<Q', block, sub * STRUCT_PAGE + 32, pfn + sub)
            for cls, n in classes.items():
                counts[cls] = counts.get(cls, 0) + n
            at = file_offset(vmemmap_paddr(pfn))
            if buffer_at is None:
                buffer_at = at
            elif buffer_at + len(buffer) != at:
                flush()
                buffer_at = at
            buffer += block
            if len(buffer) >= 8 * MiB:
                flush()
            for first, count in runs:
                os.pwrite(fd, corpus.pages(pfn + first, count), file_offset((pfn + first) * PAGE))
                data_pages += count
    flush()
    text_start, text_end = IMAGE_TEXT
    for paddr in range(text_start, text_end, MiB):
        os.pwrite(fd, corpus.pages(paddr // PAGE, MiB // PAGE), file_offset(paddr))
    data_pages += (text_end - text_start) // PAGE
    for paddr, page in sorted(small.items()):
        os.pwrite(fd, page, file_offset(paddr))
    os.close(fd)

    total = sum(counts.values())
    mem_map_pages = (mem_map_end - MEM_MAP_PADDR) // PAGE
    print(f'{args.output}: {args.gib} GiB RAM, {total} pages, file {file_size} bytes, '
          f'{os.stat(args.output).st_blocks * 512} on disk, {time.monotonic() - started:.1f} s')
    print('pages by class: ' + ', '.join(f'{cls} {n} ({100 * n / total:.1f}%)' for cls, n in sorted(counts.items())))
    print(f'written: struct pages {mem_map_pages} pages, data {data_pages} pages, tables and mem_section {len(small)} pages')


if __name__ == '__main__':
    main()
