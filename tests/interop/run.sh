#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Interoperability: our collector against real vmcores of crashed Debian
# kernels (made by tests/vm/fixtures.sh) and the real oracles from Debian's
# packages: makedumpfile 1.7.2, kexec-tools' vmcore-dmesg, crash 8.0.2 and
# libkdumpfile.
# Usage: tests/interop/run.sh PATH/TO/kdumpbox PATH/TO/dumpcompare
#
# Deliberate differences from the oracles, asserted as such below:
# - Debian's makedumpfile 1.7.2 has no zstd: with -z it silently writes
#   uncompressed pages, and it cannot read pages of our zstd dumps, so its
#   --dump-dmesg check runs on our zlib (-c) output.
# - crash 8.0.2 cannot open 6.12 dumps at all (it is older than the
#   kernel), so crash runs on the bookworm (6.1) fixtures only.
# - On 6.12, makedumpfile 1.7.2 keeps most user pages and drops some slab
#   pages; the excluded-page comparison there checks exactly that (below).
set -uo pipefail

binary=$(readlink -f "${1:?usage: run.sh KDUMPBOX DUMPCOMPARE}")
dumpcompare=$(readlink -f "${2:?usage: run.sh KDUMPBOX DUMPCOMPARE}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/kdumpbox-interop-XXXXXX)
trap 'umount "$work/small" 2>/dev/null; rm -rf "$work"' EXIT
. "$here/../testlib.sh"
info_get() { sed -n "s/^$1=//p" "$2" | head -1; }

ln -s "$binary" "$work/makedumpfile"
ln -s "$binary" "$work/vmcore-dmesg"
ours=$work/makedumpfile

mapfile -t fixtures < <(bash "$here/../vm/fixtures.sh")
if [ ${#fixtures[@]} = 0 ]; then
    fail "fixtures exist" "tests/vm/fixtures.sh produced none"
fi

python_kdumpfile=/usr/bin/python3
libkdumpfile_reads() { # PATH [FORMAT]: opens the dump, checks its format and release
    "$python_kdumpfile" - "$1" "${2:-diskdump}" <<'PY'
import sys, kdumpfile
k = kdumpfile.kdumpfile(sys.argv[1])
assert k.attr["file.format"] == sys.argv[2], k.attr["file.format"]
release = k.attr["linux.uts.release"]
assert release, "no release"
print("libkdumpfile:", k.attr["file.format"], release)
PY
}

# libkdumpfile_shared_pages SOURCE DUMP: an independent reader's view of
# page sharing. Walks DUMP's bitmap 2 and descriptor table itself, takes the
# non-zero pages whose descriptor points at bytes an earlier page already
# uses, and has libkdumpfile read each of them from DUMP and from SOURCE.
# Prints how many it compared; fails on any difference or if there are none.
libkdumpfile_shared_pages() {
    "$python_kdumpfile" - "$1" "$2" <<'PY'
import struct, sys, kdumpfile
source_path, dump_path = sys.argv[1], sys.argv[2]
with open(dump_path, "rb") as f:
    header = f.read(464)
    block_size, sub_blocks, bitmap_blocks = struct.unpack_from("<iii", header, 428)
    f.seek((1 + sub_blocks) * block_size)
    bitmaps = f.read(bitmap_blocks * block_size)
    dumpable = bitmaps[len(bitmaps) // 2:]
    pfns = [byte * 8 + bit for byte, value in enumerate(dumpable) if value for bit in range(8) if value >> bit & 1]
    f.seek((1 + sub_blocks + bitmap_blocks) * block_size)
    descs = f.read(24 * len(pfns))
seen, shared = set(), []
zero = bytes(block_size)
for index, pfn in enumerate(pfns):
    offset, size, flags = struct.unpack_from("<qII", descs, 24 * index)
    if (offset, size) in seen:
        shared.append(pfn)
    seen.add((offset, size))
source, dump = kdumpfile.kdumpfile(source_path), kdumpfile.kdumpfile(dump_path)
compared = 0
for pfn in shared:
    ours = dump.read(kdumpfile.KDUMP_MACHPHYSADDR, pfn * block_size, block_size)
    if ours == zero:
        continue
    theirs = source.read(kdumpfile.KDUMP_MACHPHYSADDR, pfn * block_size, block_size)
    assert ours == theirs, "pfn %#x differs" % pfn
    compared += 1
    if compared == 4000:
        break
assert compared, "no shared non-zero pages"
print("libkdumpfile: %d shared non-zero pages match the source" % compared)
PY
}

for fixture in "${fixtures[@]}"; do
    name=$(basename "$fixture" .vmcore)
    info=$fixture.info
    suite=$(info_get suite "$info")
    release=$(info_get kernel_release "$info")
    echo "# fixture $name ($release)"

    # --- dmesg: kexec-tools' vmcore-dmesg is the reference text -------------
    if vmcore-dmesg "$fixture" >"$work/dmesg.theirs" 2>"$work/dmesg.err"; then
        if "$work/vmcore-dmesg" "$fixture" >"$work/dmesg.ours" 2>"$work/dmesg.ours.err" && cmp -s "$work/dmesg.theirs" "$work/dmesg.ours"; then
            ok "$name: vmcore-dmesg text is byte-identical to kexec-tools' ($(wc -l <"$work/dmesg.ours") lines)"
        else
            fail "$name: vmcore-dmesg text is byte-identical to kexec-tools'" "$(cat "$work/dmesg.ours.err")" "$(diff "$work/dmesg.theirs" "$work/dmesg.ours" | head -5)"
        fi
        grep -q 'sysrq: Trigger a crash' "$work/dmesg.ours" && ok "$name: the log has the sysrq crash line" \
            || fail "$name: the log has the sysrq crash line" "$(tail -3 "$work/dmesg.ours")"
    else
        fail "$name: kexec-tools' vmcore-dmesg reads the fixture" "$(cat "$work/dmesg.err")"
    fi

    # --- makedumpfile's own result at -d 31, for the excluded-page set -----
    makedumpfile -d 31 "$fixture" "$work/theirs-31" >"$work/theirs.log" 2>&1 \
        || fail "$name: makedumpfile -d 31 (oracle)" "$(tail -5 "$work/theirs.log")"

    for level in 0 1 31; do
        for codec in z c; do
            out=$work/ours-$level-$codec
            label="$name -d $level -$codec"
            if ! "$ours" -$codec -d $level "$fixture" "$out" >"$work/ours.log" 2>&1; then
                fail "$label: collector succeeds" "$(tail -5 "$work/ours.log")"
                continue
            fi
            ok "$label: collector succeeds ($(stat -c %s "$out") bytes)"
            [ -e "$out-incomplete" ] && fail "$label: no -incomplete file is left" || ok "$label: no -incomplete file is left"
            check "$label: every kept page is byte-identical to the vmcore" "$dumpcompare" pages "$fixture" "$out"
            # Identical pages share one copy of their bytes; at -d 1 the page
            # cache holds copies of the test's files, so some must be shared.
            if [ $level = 1 ]; then
                check "$label: identical pages are stored once, and libkdumpfile reads them back as the vmcore has them" libkdumpfile_shared_pages "$fixture" "$out"
            fi
            if [ $level = 31 ] && [ "$suite" = bookworm ]; then
                # makedumpfile keeps zero pages in bitmap 2 too (they share one
                # descriptor), so the kept sets compare directly.
                check "$label: kept pages equal makedumpfile -d 31's" "$dumpcompare" kept "$out" "$work/theirs-31"
            elif [ $level = 31 ]; then
                # Deliberate differences: makedumpfile 1.7.2 predates 6.12's
                # page layout (page types in _mapcount, struct slab over
                # struct page). It keeps most user pages there, and it drops
                # some slab pages, reading a slab's list pointer as an
                # anonymous mapping. We keep every slab page (kernel data)
                # and drop the user pages; any other page we keep and it
                # drops is a failure.
                check "$label: pages kept beyond makedumpfile 1.7.2's are all slab pages it wrongly drops on $release" "$dumpcompare" slab-kept "$fixture" "$out" "$work/theirs-31"
                check "$label: makedumpfile 1.7.2 keeps pages we drop (it under-filters user pages on $release)" sh -c "! '$dumpcompare' kept-subset '$work/theirs-31' '$out'"
            fi
            if [ $codec = c ]; then
                check "$label: libkdumpfile opens it" libkdumpfile_reads "$out"
                if makedumpfile --dump-dmesg "$out" "$work/dmesg.mdf" >"$work/mdf.log" 2>&1; then
                    ok "$label: makedumpfile --dump-dmesg reads it"
                    # makedumpfile's text is the same log as vmcore-dmesg's.
                    grep -q 'sysrq: Trigger a crash' "$work/dmesg.mdf" && ok "$label: makedumpfile's dmesg has the crash line" \
                        || fail "$label: makedumpfile's dmesg has the crash line"
                    rm -f "$work/dmesg.mdf"
                else
                    fail "$label: makedumpfile --dump-dmesg reads it" "$(tail -5 "$work/mdf.log")"
                fi
            fi
            # Our own dmesg from our own dump equals the one from the vmcore.
            if [ -s "$work/dmesg.theirs" ] && [ $level = 31 ]; then
                "$ours" --dump-dmesg "$out" "$work/dmesg.fromdump" >/dev/null 2>&1
                cmp -s "$work/dmesg.theirs" "$work/dmesg.fromdump" && ok "$label: --dump-dmesg of our dump matches vmcore-dmesg" \
                    || fail "$label: --dump-dmesg of our dump matches vmcore-dmesg"
                rm -f "$work/dmesg.fromdump"
            fi
            [ $level = 31 ] && [ $codec = z ] && cp "$out" "$work/keep-31-z"
            [ $level = 31 ] && [ $codec = c ] && cp "$out" "$work/keep-31-c"
            rm -f "$out"
        done
    done

    # --- bitmaps too big to keep: the second pass filters again --------------
    if "$ours" -d 31 --cyclic-buffer 1 "$fixture" "$work/filtered-twice" >"$work/twice.log" 2>&1; then
        cmp -s "$work/filtered-twice" "$work/keep-31-z" && ok "$name: -d 31 filtering twice (--cyclic-buffer 1) gives the same dump byte for byte" \
            || fail "$name: -d 31 filtering twice (--cyclic-buffer 1) gives the same dump byte for byte" "$(cmp "$work/filtered-twice" "$work/keep-31-z")"
    else
        fail "$name: -d 31 --cyclic-buffer 1 succeeds" "$(tail -5 "$work/twice.log")"
    fi
    rm -f "$work/filtered-twice"

    # --- flattened streams -------------------------------------------------
    if "$ours" -F -d 31 "$fixture" >"$work/stream" 2>"$work/flat.log"; then
        "$ours" -R "$work/rebuilt-ours" <"$work/stream" >/dev/null 2>&1
        cmp -s "$work/rebuilt-ours" "$work/keep-31-z" && ok "$name: -F then our -R gives the direct dump byte for byte" \
            || fail "$name: -F then our -R gives the direct dump byte for byte"
        makedumpfile -R "$work/rebuilt-theirs" <"$work/stream" >/dev/null 2>&1
        cmp -s "$work/rebuilt-theirs" "$work/keep-31-z" && ok "$name: makedumpfile -R rebuilds our stream byte for byte" \
            || fail "$name: makedumpfile -R rebuilds our stream byte for byte"
        rm -f "$work/stream" "$work/rebuilt-ours" "$work/rebuilt-theirs"
    else
        fail "$name: -F writes a stream" "$(tail -5 "$work/flat.log")"
    fi
    makedumpfile -F -c -d 31 "$fixture" >"$work/their-stream" 2>/dev/null
    makedumpfile -R "$work/their-rebuilt" <"$work/their-stream" >/dev/null 2>&1
    "$ours" -R "$work/our-rebuilt" <"$work/their-stream" >/dev/null 2>&1
    cmp -s "$work/their-rebuilt" "$work/our-rebuilt" && ok "$name: our -R rebuilds makedumpfile's stream byte for byte" \
        || fail "$name: our -R rebuilds makedumpfile's stream byte for byte"
    rm -f "$work/their-stream" "$work/their-rebuilt" "$work/our-rebuilt"

    # --- ELF output (-E) ------------------------------------------------------
    if "$ours" -E -d 31 "$fixture" "$work/keep-31-elf" >"$work/elf.log" 2>&1; then
        ok "$name -E -d 31: collector succeeds ($(stat -c %s "$work/keep-31-elf") bytes)"
        check "$name -E -d 31: every kept page is byte-identical to the vmcore" "$dumpcompare" pages "$fixture" "$work/keep-31-elf"
        check "$name -E -d 31: libkdumpfile opens it as ELF" libkdumpfile_reads "$work/keep-31-elf" elf
        makedumpfile -E -d 31 "$fixture" "$work/theirs.elf" >/dev/null 2>&1
        if [ "$suite" = bookworm ]; then
            # Same kept pages and makedumpfile's PT_LOAD layout rule: the
            # same bytes.
            cmp -s "$work/keep-31-elf" "$work/theirs.elf" && ok "$name -E -d 31: byte-identical to makedumpfile -E -d 31's" \
                || fail "$name -E -d 31: byte-identical to makedumpfile -E -d 31's" "$(cmp "$work/keep-31-elf" "$work/theirs.elf")"
        else
            # As for the kdump format above: the extra pages are slab pages.
            check "$name -E -d 31: pages kept beyond makedumpfile 1.7.2's -E are all slab pages" "$dumpcompare" slab-kept "$fixture" "$work/keep-31-elf" "$work/theirs.elf"
        fi
        rm -f "$work/theirs.elf"
        if "$ours" -E -F -d 31 "$fixture" >"$work/elf-stream" 2>"$work/elf.log"; then
            makedumpfile -R "$work/elf-rebuilt" <"$work/elf-stream" >/dev/null 2>&1
            cmp -s "$work/elf-rebuilt" "$work/keep-31-elf" && ok "$name: -E -F, rebuilt by makedumpfile -R, is the direct -E dump byte for byte" \
                || fail "$name: -E -F, rebuilt by makedumpfile -R, is the direct -E dump byte for byte"
        else
            fail "$name: -E -F writes a stream" "$(tail -5 "$work/elf.log")"
        fi
        rm -f "$work/elf-stream" "$work/elf-rebuilt"
    else
        fail "$name -E -d 31: collector succeeds" "$(tail -5 "$work/elf.log")"
    fi

    # --- crash -----------------------------------------------------------------
    if [ "$suite" = bookworm ]; then
        vmlinux=$(
            VM_ME=interop
            . "$here/../vm/lib.sh"
            VM_KERNEL_DIR=$VM_CACHE/vm/kernels/$release VM_KERNEL_PKG=$(info_get kernel_package "$info")
            VM_KERNEL_DEB_VERSION=$(info_get kernel_deb_version "$info") VM_KERNEL_SUITE=$suite VM_KERNEL_RELEASE=$release
            vm_fetch_dbg_vmlinux >&2 && echo "$VM_DBG_VMLINUX"
        )
        if [ -f "$vmlinux" ]; then
            for codec in z c elf; do
                printf 'sys\nbt\nlog\nquit\n' | timeout 300 crash -s "$vmlinux" "$work/keep-31-$codec" >"$work/crash.out" 2>&1
                # sys names the release and the panic, bt shows the sysrq
                # path, log prints the kernel log.
                if grep -q "RELEASE: $release" "$work/crash.out" && grep -q 'PANIC: ' "$work/crash.out" \
                    && grep -q 'sysrq' "$work/crash.out" && grep -q 'sysrq: Trigger a crash' "$work/crash.out"; then
                    ok "$name -d 31 -$codec: crash runs sys, bt and log on it"
                else
                    fail "$name -d 31 -$codec: crash runs sys, bt and log on it" "$(head -40 "$work/crash.out")"
                fi
            done
        else
            fail "$name: the debug vmlinux for crash is available" "$vmlinux"
        fi
    else
        skip "$name: crash" "crash 8.0.2 cannot open kernels newer than itself ($release)"
    fi

    # --- bad input -------------------------------------------------------------
    head -c 3000000 "$fixture" >"$work/truncated.vmcore"
    "$ours" -d 31 "$work/truncated.vmcore" "$work/truncated.out" >"$work/trunc.log" 2>&1
    rc=$?
    if [ $rc = 1 ] && grep -q 'truncated' "$work/trunc.log" && [ ! -e "$work/truncated.out" ]; then
        ok "$name: a truncated vmcore is a one-line error, exit 1, no dump"
    else
        fail "$name: a truncated vmcore is a one-line error, exit 1, no dump" "exit $rc" "$(cat "$work/trunc.log")"
    fi
    rm -f "$work"/truncated* "$work"/keep-* "$work/theirs-31"
done

# --- a full disk: ENOSPC ----------------------------------------------------
# -d 0 of a 1 GiB guest into a 16 MiB tmpfs: the collector must fail with
# status 1, leave DUMPFILE-incomplete with the incomplete flag set and
# every page it did write readable, and never create DUMPFILE.
if [ ${#fixtures[@]} -gt 0 ] && mkdir "$work/small" && mount -t tmpfs -o size=16m kdumpbox-interop "$work/small" 2>"$work/mount.log"; then
    "$ours" -d 0 "${fixtures[0]}" "$work/small/vmcore" >"$work/enospc.log" 2>&1
    rc=$?
    if [ $rc = 1 ] && grep -q 'No space left on device' "$work/enospc.log" && grep -q 'the dump is incomplete; what was written is in .*vmcore-incomplete' "$work/enospc.log" \
        && [ ! -e "$work/small/vmcore" ] && [ -s "$work/small/vmcore-incomplete" ]; then
        ok "a full disk: exit 1, the error names ENOSPC and the -incomplete file, no DUMPFILE"
    else
        fail "a full disk: exit 1, the error names ENOSPC and the -incomplete file, no DUMPFILE" "exit $rc" "$(cat "$work/enospc.log")" "$(ls -l "$work/small")"
    fi
    check "a full disk: the -incomplete dump is flagged and what it holds reads back intact" "$dumpcompare" incomplete "${fixtures[0]}" "$work/small/vmcore-incomplete"
    umount "$work/small"
else
    fail "a 16 MiB tmpfs for the full-disk test can be mounted (the suite runs as root)" "$(cat "$work/mount.log" 2>/dev/null)"
fi

# --- options --------------------------------------------------------------
printf 'not a vmcore\n' >"$work/text"
"$ours" -d 31 "$work/text" "$work/out" >"$work/log" 2>&1
[ $? = 1 ] && grep -q 'neither an ELF vmcore nor a kdump-compressed file' "$work/log" && ok "a non-vmcore input is refused by name" \
    || fail "a non-vmcore input is refused by name" "$(cat "$work/log")"
"$ours" -d 32 "$work/text" "$work/out" >"$work/log" 2>&1
[ $? = 1 ] && grep -q 'dump level 32 is out of range' "$work/log" && ok "-d 32 is refused" || fail "-d 32 is refused" "$(cat "$work/log")"
"$ours" --split "$work/text" "$work/out" >"$work/log" 2>&1
[ $? = 1 ] && grep -q 'not supported by this makedumpfile: split dumps' "$work/log" && ok "--split is refused by name" || fail "--split is refused by name" "$(cat "$work/log")"
"$ours" --bogus "$work/text" "$work/out" >"$work/log" 2>&1
[ $? = 1 ] && grep -q "unknown option '--bogus'" "$work/log" && ok "unknown options are named" || fail "unknown options are named" "$(cat "$work/log")"
touch "$work/exists"
if [ ${#fixtures[@]} -gt 0 ]; then
    "$ours" -d 31 "${fixtures[0]}" "$work/exists" >"$work/log" 2>&1
    [ $? = 1 ] && grep -q 'already exists; remove it or add -f' "$work/log" && [ ! -s "$work/exists" ] && ok "an existing dump file is kept without -f" \
        || fail "an existing dump file is kept without -f" "$(cat "$work/log")"
fi

finish interop
