#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test (#16 "Scale"): Debian's makedumpfile 1.7.2 and our
# collector on synthetic vmcores of 16, 64 and 256 GiB of RAM
# (tests/tools/make-scale-vmcore.py: sparse files whose struct pages
# describe ~56-60% free, 20% page-cache, 10% anonymous, 5% slab pages and
# the rest reserved). Prints, per size and tool, wall and CPU seconds,
# seconds per GiB of RAM, peak RSS, output size and the pages the dump
# keeps (bitmap 2 of the kdump file, zero pages included as makedumpfile
# counts them; the bitmaps must match between the tools),
# then the goal lines: per-GiB cost linear in RAM, peak RSS <= 16 MiB.
# Nothing here asserts a time.
#
# Read(2) (--non-mmap) is the comparison that carries over to /proc/vmcore:
# mmap of a sparse file faults in page cache for the holes it touches
# (zero-filled, with fault-around), system time that mapping /proc/vmcore,
# the crashed kernel's memory, does not cost. The mmap rows are shown too.
#
# Usage: tests/bench/scale.sh [PATH/TO/kdumpbox]
#   KDUMPBOX_SCALE_GIB="16 64 256"  sizes in GiB (each at least 4)
#   KDUMPBOX_SCALE_RUNS=1           runs per tool and size; the fastest counts
# The vmcores are cached in ${KDUMPBOX_CACHE:-~/.cache/kdumpbox}/scale/ and
# reused: each is a sparse file of N+1 GiB apparent size that takes about
# 2.7% of N on disk (16 MiB of struct pages and ~11 MiB of data per GiB):
# 0.44 GiB for 16, 1.7 GiB for 64, 6.7 GiB for 256 (8.8 GiB in all; made in
# 1, 4 and 15 s). The dumps go to a temporary directory and are deleted.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
binary=$(readlink -f "${1:-$top/build/release/kdumpbox}")
[ -x "$binary" ] || { echo "scale: no kdumpbox binary at $binary" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "scale: needs GNU time (apt-get install time)" >&2; exit 1; }
command -v makedumpfile >/dev/null || { echo "scale: needs makedumpfile (apt-get install makedumpfile)" >&2; exit 1; }
sizes=${KDUMPBOX_SCALE_GIB:-16 64 256}
runs=${KDUMPBOX_SCALE_RUNS:-1}
cache=${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}/scale
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/kdumpbox-scale-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
ln -s "$binary" "$work/bin/makedumpfile" # called as makedumpfile, as core_collector calls it

# The vmcore for N GiB, made once (a new generator version makes new files).
generator=$top/tests/tools/make-scale-vmcore.py
generator_id=$(sha256sum "$generator" | cut -c1-12)
vmcore_for() {
    local file=$cache/vmcore-$1g-$generator_id
    if [ ! -f "$file" ]; then
        rm -f "$cache"/vmcore-"$1"g-*
        python3 "$generator" "$1" "$file.tmp" >&2
        sync -f "$file.tmp" # no writeback of it under the measurements
        mv "$file.tmp" "$file"
    fi
    echo "$file"
}

# Every run starts alike: the stored extents (SEEK_DATA) in the page cache,
# the holes not. A tool reads the holes of the pages it cannot exclude
# from struct pages alone (the zero pages), and the kernel fills page cache
# for them; dropping that (POSIX_FADV_DONTNEED, this file only) keeps the
# first tool from paying for the second, and reading holes then costs about
# what reading zero pages of /proc/vmcore does. No hundreds of GiB of holes
# are read here.
warm() {
    python3 - "$1" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
end = os.fstat(fd).st_size
at = 0
while at < end:
    try:
        data = os.lseek(fd, at, os.SEEK_DATA)
    except OSError:
        data = end
    if data > at:
        os.posix_fadvise(fd, at, data - at, os.POSIX_FADV_DONTNEED)
    if data >= end:
        break
    at = os.lseek(fd, data, os.SEEK_HOLE)
    while data < at:
        data += len(os.pread(fd, min(8 << 20, at - data), data))
PY
}

# kept DUMP: pages bitmap 2 of a kdump-compressed file keeps; also writes
# the bitmap's set bits (trailing zero bytes trimmed) to DUMP.bitmap.
kept() {
    python3 - "$1" <<'PY'
import struct, sys
path = sys.argv[1]
with open(path, 'rb') as f:
    header = f.read(464)
    assert header[:8] == b'KDUMP   ', path + ': not a kdump-compressed file'
    block_size, sub_header_blocks, bitmap_blocks = struct.unpack_from('<iiI', header, 428)
    half = bitmap_blocks // 2 * block_size
    f.seek((1 + sub_header_blocks) * block_size + half)
    bitmap = f.read(half).rstrip(b'\0')
print(int.from_bytes(bitmap, 'little').bit_count())
open(path + '.bitmap', 'wb').write(bitmap)
PY
}

declare -A wall cpu rss bytes pages
# measure KEY GIB VMCORE COMMAND...: the fastest of $runs runs.
measure() {
    local key=$1 gib=$2 vmcore=$3 out=$work/out
    shift 3
    local run best_wall= line
    for ((run = 0; run < runs; run++)); do
        rm -f "$out" "$out.bitmap"
        warm "$vmcore"
        /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" "$vmcore" "$out" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
        read -r w u s m <"$work/time"
        if [ -z "$best_wall" ] || awk -v a="$w" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
            best_wall=$w
            wall[$key]=$w
            cpu[$key]=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        fi
        # Peak RSS: the largest of the runs.
        [ -n "${rss[$key]:-}" ] && [ "${rss[$key]}" -ge "$m" ] || rss[$key]=$m
    done
    bytes[$key]=$(stat -c %s "$out")
    pages[$key]=$(kept "$out")
    mv "$out.bitmap" "$work/$key.bitmap"
    rm -f "$out"
    printf '%6s GiB  %-28s %8.2f %8.2f %9.3f %10d %13d %10d\n' "$gib" "${key#*:}" "${wall[$key]}" "${cpu[$key]}" \
        "$(awk -v w="${wall[$key]}" -v g="$gib" 'BEGIN { print w / g }')" "${rss[$key]}" "${bytes[$key]}" "${pages[$key]}"
}

echo "kdumpbox: $binary; $(makedumpfile -v 2>&1 | head -1); $(nproc) CPUs; vmcores in $cache"
for gib in $sizes; do vmcore_for "$gib" >/dev/null; done
printf '%10s  %-28s %8s %8s %9s %10s %13s %10s\n' RAM tool "wall s" "CPU s" "s/GiB" "RSS KiB" "output bytes" "bitmap-2 pages"
mismatch=0
for gib in $sizes; do
    vmcore=$(vmcore_for "$gib")
    measure "$gib:makedumpfile -l" "$gib" "$vmcore" makedumpfile -l -d 31
    measure "$gib:makedumpfile -l --non-mmap" "$gib" "$vmcore" makedumpfile -l -d 31 --non-mmap
    measure "$gib:ours" "$gib" "$vmcore" "$work/bin/makedumpfile" -d 31
    measure "$gib:ours --non-mmap" "$gib" "$vmcore" "$work/bin/makedumpfile" -d 31 --non-mmap
    for key in "$gib:makedumpfile -l --non-mmap" "$gib:ours" "$gib:ours --non-mmap"; do
        if ! cmp -s "$work/$gib:makedumpfile -l.bitmap" "$work/$key.bitmap"; then
            echo "           ${key#*:}: the kept pages differ from makedumpfile's" >&2
            mismatch=1
        fi
    done
done

echo
first=${sizes%% *}
last=${sizes##* }
per_gib() { awk -v t="$1" -v g="$2" 'BEGIN { print t / g }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v goal="$2" 'BEGIN { print (v != "n/a" && v <= goal) ? "met" : "not met" }'; }
for tool in "makedumpfile -l" "makedumpfile -l --non-mmap" ours "ours --non-mmap"; do
    wall_ratio=$(ratio "$(per_gib "${wall[$last:$tool]}" "$last")" "$(per_gib "${wall[$first:$tool]}" "$first")")
    cpu_ratio=$(ratio "$(per_gib "${cpu[$last:$tool]}" "$last")" "$(per_gib "${cpu[$first:$tool]}" "$first")")
    printf '%-28s per-GiB cost %s GiB vs %s GiB: wall %s, CPU %s\n' "$tool:" "$last" "$first" "$wall_ratio" "$cpu_ratio"
    [ "$tool" = "ours --non-mmap" ] && ours_ratio=$cpu_ratio
done
max_rss=0
for gib in $sizes; do
    [ "${rss[$gib:ours --non-mmap]}" -gt "$max_rss" ] && max_rss=${rss[$gib:ours --non-mmap]}
done
echo "goal: our per-GiB CPU cost (--non-mmap) at $last GiB vs $first GiB $ours_ratio (<= 1.2): $(verdict "$ours_ratio" 1.2)"
echo "goal: our peak RSS, --non-mmap, largest over all sizes $max_rss KiB (<= 16384): $(verdict "$max_rss" 16384)"
echo "kept pages the same as makedumpfile's at every size: $([ "$mismatch" = 0 ] && echo yes || echo NO)"
