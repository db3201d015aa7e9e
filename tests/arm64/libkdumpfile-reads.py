#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# libkdumpfile-reads.py DUMP FORMAT RELEASE: libkdumpfile (Debian's
# python3-libkdumpfile, an oracle with its own aarch64 page-table walk)
# opens DUMP, checks its format ("elf", "diskdump") and CPU, and reads
# init_uts_ns's release through the page tables (KVADDR), not from
# VMCOREINFO's OSRELEASE. Used by tests/interop/arm64.sh and
# tests/arm64/capture.sh.
import sys, kdumpfile
k = kdumpfile.kdumpfile(sys.argv[1])
k.attr["addrxlat.ostype"] = "linux"
assert k.attr["file.format"] == sys.argv[2], k.attr["file.format"]
assert k.attr["arch.name"] == "aarch64", k.attr["arch.name"]
info = dict(line.partition("=")[::2] for line in bytes(k.attr["linux.vmcoreinfo.raw"]).decode().splitlines())
uts = int(info["SYMBOL(init_uts_ns)"], 16)
release_at = uts + int(info.get("OFFSET(uts_namespace.name)", "4")) + 2 * 65
release = k.read(kdumpfile.KDUMP_KVADDR, release_at, 65).split(b"\0")[0].decode()
assert release == sys.argv[3], (release, sys.argv[3])
print("libkdumpfile:", k.attr["file.format"], k.attr["arch.name"], release, "at", hex(release_at))
