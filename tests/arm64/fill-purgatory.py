#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# An independent fill of a purgatory blob's parameter block
# (purgatory/purgatory.h), for the arm64 tests that start the purgatory with
# QEMU's loader instead of kexec_load: the regions, their SHA-256 (hashlib),
# the registers.
#   fill-purgatory.py BLOB OUT PC X0 [--corrupt] ADDRESS=FILE...
import hashlib
import struct
import sys

args = sys.argv[1:]
corrupt = '--corrupt' in args
args = [a for a in args if a != '--corrupt']
blob, out, pc, x0 = args[0], args[1], int(args[2], 0), int(args[3], 0)
regions = [(int(a, 0), open(f, 'rb').read()) for a, f in (x.split('=', 1) for x in args[4:])]
b = bytearray(open(blob, 'rb').read())
if b[:8] != b'KDBXPURG':
    sys.exit('fill-purgatory.py: not a purgatory blob')
params = struct.unpack_from('<I', b, 16)[0]
digest = hashlib.sha256()
for i, (address, data) in enumerate(regions):
    digest.update(data)
    struct.pack_into('<QQ', b, params + 32 + 16 * i, address, len(data))
d = bytearray(digest.digest())
if corrupt:
    d[0] ^= 1
b[params:params + 32] = d
struct.pack_into('<QQ', b, params + 288, pc, x0)
open(out, 'wb').write(b)
