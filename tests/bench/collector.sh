#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: our collector against Debian's makedumpfile 1.7.2,
# measured in the same run on the same multi-GiB vmcore (page cache warm).
# Prints wall time, output size and peak RSS, and the ratios the goals are
# stated in. Nothing here asserts a time.
# Usage: tests/bench/collector.sh [PATH/TO/kdumpbox] [VMCORE]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
binary=$(readlink -f "${1:-$top/build/release/kdumpbox}")
fixture=${2:-}
if [ -z "$fixture" ]; then
    fixture=$(bash "$top/tests/vm/fixtures.sh" --bench | grep -- '-3g' | head -1)
fi
[ -f "$fixture" ] || { echo "bench: no fixture (tests/vm/fixtures.sh --bench makes one)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d /tmp/kdumpbox-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Called as makedumpfile, as core_collector would call it.
mkdir "$work/bin"
ln -s "$binary" "$work/bin/makedumpfile"
# kdump-utils runs `sync -f` on the dump after makedumpfile and before the
# rename: the time that counts in a capture kernel is the time until the
# dump is on the disk. Ours syncs before it exits; makedumpfile does not.
cat >"$work/bin/makedumpfile-then-sync" <<'SH'
#!/bin/bash
/usr/bin/makedumpfile "$@" && sync -f "${@: -1}"
SH
chmod +x "$work/bin/makedumpfile-then-sync"

# measure NAME COMMAND...: one run; records seconds, bytes and peak RSS.
declare -A seconds size rss
measure() {
    local name=$1 out=$work/out-$1
    shift
    rm -f "$out"
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" "$fixture" "$out" >/dev/null 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
    read -r seconds[$name] rss[$name] <"$work/time"
    size[$name]=$(stat -c %s "$out")
    rm -f "$out"
    printf '%-28s %8.2f s %12d bytes %8d KiB peak RSS\n' "$name" "${seconds[$name]}" "${size[$name]}" "${rss[$name]}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

cat "$fixture" >/dev/null # warm the page cache for everyone alike
echo "vmcore: $fixture ($(stat -c %s "$fixture") bytes), $(nproc) CPUs"
measure mdf-l-d31 makedumpfile -l -d 31
measure mdf-c-d31 makedumpfile -c -d 31
measure mdf-l-d1 makedumpfile -l -d 1
measure mdf-l-d31-sync "$work/bin/makedumpfile-then-sync" -l -d 31
measure mdf-l-d1-sync "$work/bin/makedumpfile-then-sync" -l -d 1
measure ours-d31 "$work/bin/makedumpfile" -d 31
measure ours-d1 "$work/bin/makedumpfile" -d 1
# Identical pages share one copy (makedumpfile shares zero pages only); how
# much that gives depends on the guest, so show the dump without it too.
measure ours-d1-unshared "$work/bin/makedumpfile" -d 1 --no-page-sharing
measure ours-d31-1thread "$work/bin/makedumpfile" -d 31 --num-threads 1
measure ours-d31-2threads "$work/bin/makedumpfile" -d 31 --num-threads 2
# mmap windows of the vmcore count in RSS although, on /proc/vmcore, they
# map the crashed kernel's memory and allocate nothing: read(2) shows what
# the collector itself allocates.
measure ours-d31-pread "$work/bin/makedumpfile" -d 31 --non-mmap
echo
echo "-d 31 time vs makedumpfile -l:    $(ratio "${seconds[ours-d31]}" "${seconds[mdf-l-d31]}")  (goal <= 0.5)"
echo "-d 31 size vs makedumpfile -c:    $(ratio "${size[ours-d31]}" "${size[mdf-c-d31]}")  (goal <= 1.0)"
echo "-d 1 time vs makedumpfile -l:     $(ratio "${seconds[ours-d1]}" "${seconds[mdf-l-d1]}")  (goal <= 0.5)"
echo "-d 1 size vs makedumpfile -l:     $(ratio "${size[ours-d1]}" "${size[mdf-l-d1]}")  (goal <= 0.95)"
echo "peak RSS -d 31, read(2) (KiB):    ${rss[ours-d31-pread]}  (goal <= 16384)"
echo "peak RSS -d 31, mmap (KiB):       ${rss[ours-d31]}  (includes mapped vmcore pages)"
echo "speedup 1 -> 2 threads (-d 31):   $(ratio "${seconds[ours-d31-1thread]}" "${seconds[ours-d31-2threads]}")  (goal >= 1.6)"
echo "-d 31 time vs makedumpfile -l, both until on disk (then sync -f, as kdump-utils): $(ratio "${seconds[ours-d31]}" "${seconds[mdf-l-d31-sync]}")"
echo "-d 1 time vs makedumpfile -l, both until on disk (then sync -f, as kdump-utils):  $(ratio "${seconds[ours-d1]}" "${seconds[mdf-l-d1-sync]}")"
echo "-d 1 size without page sharing:  $(ratio "${size[ours-d1-unshared]}" "${size[mdf-l-d1]}") of makedumpfile -l"

# The floor under the time goals: compressing the kept pages one by one,
# on one CPU, with each codec (tests/tools/page_codecs.cpp).
codecs=${KDUMPBOX_PAGE_CODECS:-$(dirname "$binary")/tests/page_codecs}
if [ -x "$codecs" ]; then
    "$work/bin/makedumpfile" -E -d 31 "$fixture" "$work/kept-31.elf" >/dev/null 2>&1
    echo
    echo "per-page codecs on the pages -d 31 keeps:"
    "$codecs" "$work/kept-31.elf"
    rm -f "$work/kept-31.elf"
fi
