#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-CPU interoperability (#15): arm64 vmcores read on this x86_64 host.
# The fixtures are ELF vmcores of Debian's arm64 kernels: *.elf and
# *.vmcore in KDUMPBOX_ARM64_FIXTURES, else tests/arm64/make-fixture.sh's
# (QEMU's dump-guest-memory, in ~/.cache/kdumpbox/arm64/fixtures). For each: our collector filters it at -d 1
# and -d 31 with every kept page byte-identical to the vmcore, the kdump
# header says aarch64 with phys_base = PHYS_OFFSET (as makedumpfile writes
# it), libkdumpfile (which has its own aarch64 page-table walk) opens the
# result and finds the release through it, and vmcore-dmesg prints the log.
# Oracles where this host has them:
# - makedumpfile for arm64 (Debian's, run under qemu-aarch64-static from a
#   sysroot in KDUMPBOX_ARM64_ORACLE_ROOT, default
#   ~/.cache/kdumpbox/arm64/oracle): the -d 31 kept pages must be its;
#   Debian's amd64 makedumpfile is built for x86_64 dumps only;
# - kexec-tools' vmcore-dmesg (amd64) when it can read the fixture;
# - the aarch64 build (build/release-aarch64/kdumpbox or
#   KDUMPBOX_AARCH64_BINARY) under qemu-aarch64-static: its -d 31 dump and
#   its dmesg must equal the x86_64 build's byte for byte.
# Debian's crash is built for x86_64 dumps only, so it is not an oracle here.
# Usage: tests/interop/arm64.sh PATH/TO/kdumpbox PATH/TO/dumpcompare
set -uo pipefail

binary=$(readlink -f "${1:?usage: arm64.sh KDUMPBOX DUMPCOMPARE}")
dumpcompare=$(readlink -f "${2:?usage: arm64.sh KDUMPBOX DUMPCOMPARE}")
here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/kdumpbox-interop-arm64-XXXXXX)
trap 'rm -rf "$work"' EXIT
. "$here/../testlib.sh"

cache=${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}
fixture_dir=${KDUMPBOX_ARM64_FIXTURES:-$cache/arm64/fixtures}
oracle_root=${KDUMPBOX_ARM64_ORACLE_ROOT:-$cache/arm64/oracle}
aarch64_binary=${KDUMPBOX_AARCH64_BINARY:-$source_root/build/release-aarch64/kdumpbox}
qemu_user=$(command -v qemu-aarch64-static || true)
python_kdumpfile=/usr/bin/python3

ln -s "$binary" "$work/makedumpfile"
ln -s "$binary" "$work/vmcore-dmesg"
ours=$work/makedumpfile

shopt -s nullglob
fixtures=("$fixture_dir"/*.elf "$fixture_dir"/*.vmcore)
if [ ${#fixtures[@]} = 0 ] && [ -z "${KDUMPBOX_ARM64_FIXTURES:-}" ]; then
    # tests/arm64/make-fixture.sh boots Debian's arm64 kernels and prints
    # the fixtures' paths (cached: a second run is free).
    mapfile -t fixtures < <(bash "$source_root/tests/arm64/make-fixture.sh" 2>"$work/make-fixture.log")
fi
if [ ${#fixtures[@]} = 0 ]; then
    skip "arm64 fixtures" "none in $fixture_dir and tests/arm64/make-fixture.sh made none: $(tail -1 "$work/make-fixture.log" 2>/dev/null)"
    finish interop-arm64
    exit
fi

# vmcoreinfo_of FIXTURE: the VMCOREINFO text (the notes lie in the first MiB).
vmcoreinfo_of() { head -c 1048576 "$1" | strings -n 8 | grep -E '^[A-Z_]+(\(.*\))?='; }

# header_fields DUMP: "machine phys_base" from a kdump-compressed header
# (new_utsname at 12, the sub-header one block in; little-endian).
header_fields() {
    "$python_kdumpfile" - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(464)
    block_size = struct.unpack_from("<i", head, 428)[0]
    machine = head[12 + 4 * 65:12 + 5 * 65].split(b"\0")[0].decode()
    f.seek(block_size)
    phys_base = struct.unpack_from("<Q", f.read(8))[0]
print(machine, hex(phys_base))
PY
}

# libkdumpfile_reads DUMP FORMAT RELEASE: libkdumpfile opens DUMP and reads
# init_uts_ns's release through its own aarch64 page-table walk (KVADDR),
# not from VMCOREINFO's OSRELEASE.
libkdumpfile_reads() { "$python_kdumpfile" "$source_root/tests/arm64/libkdumpfile-reads.py" "$@"; }

pages_line() { # REPORT-LOG: "kept N, excluded M (zero Z, cache C, private P, user U, free F)"
    local field
    field() { local hex; hex=$(sed -n "s/^ *$1 *: 0x//p" "$2" | head -1); echo $((16#${hex:-0})); }
    echo "kept $(field 'Remaining pages' "$1"), excluded $(field 'Excluded pages' "$1") (zero $(field 'Pages filled with zero' "$1"),"\
        "cache $(field 'Non-private cache pages' "$1"), private $(field 'Private cache pages' "$1"), user $(field 'User process data pages' "$1"),"\
        "free $(field 'Free pages' "$1"))"
}

# normalize_elf VMCORE OUT: the same ELF with its program headers right
# after the ELF header and no section headers. QEMU's dump-guest-memory puts
# section headers there, and makedumpfile reads program headers from offset
# 64 whatever e_phoff says.
normalize_elf() {
    "$python_kdumpfile" - "$1" "$2" <<'PY'
import shutil, struct, sys
src = open(sys.argv[1], "rb")
ehdr = bytearray(src.read(64))
assert ehdr[:4] == b"\x7fELF" and ehdr[4] == 2 and ehdr[5] == 1, "not a little-endian ELF64"
phoff, = struct.unpack_from("<Q", ehdr, 32)
phnum, = struct.unpack_from("<H", ehdr, 56)
src.seek(phoff)
phdrs = [bytearray(src.read(56)) for _ in range(phnum)]
offset = 64 + 56 * phnum
layout = []
for ph in phdrs:
    old_offset, filesz = struct.unpack_from("<Q", ph, 8)[0], struct.unpack_from("<Q", ph, 32)[0]
    if struct.unpack_from("<I", ph, 0)[0] == 1:  # PT_LOAD: page-aligned data
        offset = (offset + 4095) & ~4095
    struct.pack_into("<Q", ph, 8, offset)
    layout.append((old_offset, offset, filesz))
    offset += filesz
struct.pack_into("<Q", ehdr, 32, 64)      # e_phoff
struct.pack_into("<Q", ehdr, 40, 0)       # e_shoff
struct.pack_into("<H", ehdr, 60, 0)       # e_shnum
struct.pack_into("<H", ehdr, 62, 0)       # e_shstrndx
with open(sys.argv[2], "wb") as out:
    out.write(ehdr)
    for ph in phdrs:
        out.write(ph)
    for old_offset, new_offset, filesz in layout:
        out.seek(new_offset)
        src.seek(old_offset)
        remaining = filesz
        while remaining:
            chunk = src.read(min(remaining, 1 << 24))
            assert chunk, "the vmcore is truncated"
            out.write(chunk)
            remaining -= len(chunk)
PY
}

mdf_arm64=""
if [ -n "$qemu_user" ] && [ -x "$oracle_root/usr/bin/makedumpfile" ]; then
    mdf_arm64="$qemu_user -L $oracle_root $oracle_root/usr/bin/makedumpfile"
fi

for fixture in "${fixtures[@]}"; do
    name=arm64-$(basename "${fixture%.*}")
    vmcoreinfo_of "$fixture" >"$work/vmcoreinfo"
    release=$(sed -n 's/^OSRELEASE=//p' "$work/vmcoreinfo" | head -1)
    phys_offset=$(sed -n 's/^NUMBER(PHYS_OFFSET)=//p' "$work/vmcoreinfo" | head -1)
    echo "# fixture $name ($release, PAGESIZE $(sed -n 's/^PAGESIZE=//p' "$work/vmcoreinfo"), VA_BITS $(sed -n 's/^NUMBER(VA_BITS)=//p' "$work/vmcoreinfo")," \
        "TCR_EL1_T1SZ $(sed -n 's/^NUMBER(TCR_EL1_T1SZ)=//p' "$work/vmcoreinfo"), PHYS_OFFSET $phys_offset)"

    # --- dmesg ------------------------------------------------------------------
    if "$work/vmcore-dmesg" "$fixture" >"$work/dmesg.ours" 2>"$work/dmesg.err" && grep -q 'Linux version' "$work/dmesg.ours"; then
        ok "$name: vmcore-dmesg prints the log ($(wc -l <"$work/dmesg.ours") lines)"
    else
        fail "$name: vmcore-dmesg prints the log" "$(cat "$work/dmesg.err")"
    fi
    if vmcore-dmesg "$fixture" >"$work/dmesg.theirs" 2>/dev/null && [ -s "$work/dmesg.theirs" ]; then
        cmp -s "$work/dmesg.theirs" "$work/dmesg.ours" && ok "$name: vmcore-dmesg text is byte-identical to kexec-tools'" \
            || fail "$name: vmcore-dmesg text is byte-identical to kexec-tools'" "$(diff "$work/dmesg.theirs" "$work/dmesg.ours" | head -5)"
    else
        skip "$name: kexec-tools' vmcore-dmesg" "the amd64 vmcore-dmesg cannot read this arm64 vmcore (it finds the log through PT_LOAD virtual addresses, which QEMU's dump leaves 0)"
    fi

    # --- the oracle's -d 31 -------------------------------------------------------
    have_theirs=0
    if [ -n "$mdf_arm64" ]; then
        normalize_elf "$fixture" "$work/normalized.vmcore"
        if $mdf_arm64 --message-level 31 -c -d 31 "$work/normalized.vmcore" "$work/theirs-31" >"$work/theirs.log" 2>&1; then
            have_theirs=1
            echo "# makedumpfile (arm64) -d 31: $(pages_line "$work/theirs.log")"
        elif grep -q 'VA Bits 52 not supported' "$work/theirs.log"; then
            # Debian's makedumpfile 1.7.2 predates 52-bit VAs with 4 and 16 KiB
            # pages (LPA2, Linux 6.9+), which trixie's arm64 kernels enable.
            skip "$name: makedumpfile (arm64) -d 31 as the oracle" "makedumpfile 1.7.2: $(grep -m1 'not supported' "$work/theirs.log")"
        else
            fail "$name: makedumpfile (arm64, under qemu-user) -d 31" "$(tail -5 "$work/theirs.log")"
        fi
        rm -f "$work/normalized.vmcore"
    else
        skip "$name: makedumpfile -d 31 as the oracle" "no arm64 makedumpfile in $oracle_root (Debian's amd64 one reads x86_64 dumps only)"
    fi

    for level in 1 31; do
        out=$work/ours-$level
        label="$name -d $level"
        if ! "$ours" --message-level 31 -c -d $level "$fixture" "$out" >"$work/ours.log" 2>&1; then
            fail "$label: collector succeeds" "$(tail -5 "$work/ours.log")"
            continue
        fi
        ok "$label: collector succeeds ($(stat -c %s "$out") bytes; $(pages_line "$work/ours.log"))"
        grep -q 'instead of' "$work/ours.log" && fail "$label: the dump level is applied, not a fallback" "$(grep 'instead of' "$work/ours.log")"
        check "$label: every kept page is byte-identical to the vmcore" "$dumpcompare" pages "$fixture" "$out"
        read -r machine phys_base < <(header_fields "$out")
        [ "$machine" = aarch64 ] && ok "$label: the header's machine is aarch64" || fail "$label: the header's machine is aarch64" "$machine"
        if [ -n "$phys_offset" ] && [ "$((phys_base))" = "$((phys_offset))" ]; then
            ok "$label: the header's phys_base is PHYS_OFFSET ($phys_base)"
        else
            fail "$label: the header's phys_base is PHYS_OFFSET" "header $phys_base, VMCOREINFO $phys_offset"
        fi
        check "$label: libkdumpfile reads init_uts_ns from it through its own aarch64 walk" libkdumpfile_reads "$out" diskdump "$release"
        if [ $level = 31 ]; then
            rm -f "$work/dmesg.fromdump"
            "$ours" --dump-dmesg "$out" "$work/dmesg.fromdump" >/dev/null 2>&1
            cmp -s "$work/dmesg.ours" "$work/dmesg.fromdump" && ok "$label: --dump-dmesg of the dump equals vmcore-dmesg of the vmcore" \
                || fail "$label: --dump-dmesg of the dump equals vmcore-dmesg of the vmcore"
            if [ $have_theirs = 1 ]; then
                check "$label: kept pages equal makedumpfile (arm64) -d 31's" "$dumpcompare" kept "$out" "$work/theirs-31"
            fi
            cp "$out" "$work/keep-31"
        fi
        rm -f "$out"
    done

    # --- cross-CPU: the aarch64 build gives the same bytes -----------------------
    if [ -z "$qemu_user" ] || [ ! -x "$aarch64_binary" ]; then
        if [ -z "$qemu_user" ]; then missing_piece="no qemu-aarch64-static"; else missing_piece="no aarch64 build at $aarch64_binary (tests/build.sh release-aarch64)"; fi
        skip "$name: the aarch64 build filters it identically" "$missing_piece"
    else
        if "$qemu_user" "$aarch64_binary" makedumpfile -c -d 31 "$fixture" "$work/aarch64-31" >"$work/aarch64.log" 2>&1; then
            cmp -s "$work/aarch64-31" "$work/keep-31" && ok "$name: the aarch64 build's -d 31 dump is byte-identical to the x86_64 build's" \
                || fail "$name: the aarch64 build's -d 31 dump is byte-identical to the x86_64 build's" "$(cmp "$work/aarch64-31" "$work/keep-31")"
        else
            fail "$name: the aarch64 build filters it (under qemu-aarch64-static)" "$(tail -5 "$work/aarch64.log")"
        fi
        "$qemu_user" "$aarch64_binary" vmcore-dmesg "$fixture" >"$work/dmesg.aarch64" 2>/dev/null
        cmp -s "$work/dmesg.aarch64" "$work/dmesg.ours" && ok "$name: the aarch64 build's vmcore-dmesg is byte-identical" \
            || fail "$name: the aarch64 build's vmcore-dmesg is byte-identical" "$(diff "$work/dmesg.ours" "$work/dmesg.aarch64" | head -5)"
        rm -f "$work/aarch64-31"
    fi
    rm -f "$work/keep-31" "$work/theirs-31"
done

finish interop-arm64
