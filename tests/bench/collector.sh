#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark, not a test: our collector against Debian's makedumpfile 1.7.2,
# measured in the same run on the same multi-GiB vmcore (page cache warm).
# Prints wall time (median of interleaved runs), output size and peak RSS,
# and the ratios issue #16's goals are stated in, each against its goal.
# Nothing here asserts a time.
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

# The cases, each "NAME CPUS COMMAND...": CPUS is the taskset list. The
# capture kernel runs nr_cpus=1, so every goal is measured on 1 CPU and on
# 2. Runs are interleaved (case 1, 2, ... then again) so that a slow spell
# of the machine's disk hits every case alike, and each figure is the
# median of KDUMPBOX_BENCH_RUNS runs (default 3).
runs=${KDUMPBOX_BENCH_RUNS:-3}
cases=(
    "mdf-l-d31 0-1 makedumpfile -l -d 31"
    "mdf-c-d31 0-1 makedumpfile -c -d 31"
    "mdf-l-d1 0-1 makedumpfile -l -d 1"
    "mdf-l-d31-sync 0-1 $work/bin/makedumpfile-then-sync -l -d 31"
    "mdf-l-d1-sync 0-1 $work/bin/makedumpfile-then-sync -l -d 1"
    "mdf-l-d31-1cpu 0 makedumpfile -l -d 31"
    "ours-d31 0-1 $work/bin/makedumpfile -d 31"
    "ours-d1 0-1 $work/bin/makedumpfile -d 1"
    "ours-d31-1cpu 0 $work/bin/makedumpfile -d 31"
    # Identical pages share one copy (makedumpfile shares zero pages only);
    # how much that gives depends on the guest, so show the dump without it.
    "ours-d1-unshared 0-1 $work/bin/makedumpfile -d 1 --no-page-sharing"
    "ours-d31-1thread 0-1 $work/bin/makedumpfile -d 31 --num-threads 1"
    "ours-d31-2threads 0-1 $work/bin/makedumpfile -d 31 --num-threads 2"
    # mmap windows of the vmcore count in RSS although, on /proc/vmcore,
    # they map the crashed kernel's memory and allocate nothing: read(2)
    # shows what the collector itself allocates.
    "ours-d31-pread 0-1 $work/bin/makedumpfile -d 31 --non-mmap"
)
declare -A seconds size rss samples
# measure NAME CPUS COMMAND...: one run; appends its seconds, keeps size and RSS.
measure() {
    local name=$1 cpus=$2 out=$work/out-$1 taken peak
    shift 2
    rm -f "$out"
    /usr/bin/time -f '%e %M' -o "$work/time" taskset -c "$cpus" "$@" "$fixture" "$out" >/dev/null 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
    read -r taken peak <"$work/time"
    samples[$name]+="$taken "
    size[$name]=$(stat -c %s "$out")
    [ "${rss[$name]:-0}" -ge "$peak" ] || rss[$name]=$peak
    rm -f "$out"
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
# goal NAME VALUE OP LIMIT: "VALUE (goal OP LIMIT: met|not met)"
goal() {
    local verdict
    verdict=$(awk -v v="$2" -v op="$3" -v l="$4" 'BEGIN { ok = (op == "<=") ? v <= l : v >= l; print ok ? "met" : "not met" }')
    printf '%-58s %s  (goal %s %s: %s)\n' "$1" "$2" "$3" "$4" "$verdict"
}

cat "$fixture" >/dev/null # warm the page cache for everyone alike
echo "vmcore: $fixture ($(stat -c %s "$fixture") bytes), $(nproc) CPUs, median of $runs runs, $(date -u +%Y-%m-%d)"
for ((run = 1; run <= runs; run++)); do
    for entry in "${cases[@]}"; do
        # shellcheck disable=SC2086 # the entry is words on purpose
        measure $entry
    done
done
for entry in "${cases[@]}"; do
    name=${entry%% *}
    seconds[$name]=$(median "${samples[$name]}")
    printf '%-20s %8.2f s %12d bytes %8d KiB peak RSS   (runs: %s)\n' "$name" "${seconds[$name]}" "${size[$name]}" "${rss[$name]}" "${samples[$name]% }"
done
echo
goal "-d 31 size vs makedumpfile -c" "$(ratio "${size[ours-d31]}" "${size[mdf-c-d31]}")" "<=" 1.0
goal "-d 31 time vs makedumpfile -l, 2 CPUs" "$(ratio "${seconds[ours-d31]}" "${seconds[mdf-l-d31]}")" "<=" 1.0
goal "-d 31 time vs makedumpfile -l, 1 CPU" "$(ratio "${seconds[ours-d31-1cpu]}" "${seconds[mdf-l-d31-1cpu]}")" "<=" 1.0
goal "-d 1 time vs makedumpfile -l" "$(ratio "${seconds[ours-d1]}" "${seconds[mdf-l-d1]}")" "<=" 0.5
goal "-d 1 size vs makedumpfile -l" "$(ratio "${size[ours-d1]}" "${size[mdf-l-d1]}")" "<=" 0.5
goal "peak RSS -d 31, read(2) (KiB)" "${rss[ours-d31-pread]}" "<=" 16384
echo "peak RSS -d 31, mmap (KiB):                                ${rss[ours-d31]}  (includes mapped vmcore pages)"
goal "speedup 1 -> 2 threads (-d 31)" "$(ratio "${seconds[ours-d31-1thread]}" "${seconds[ours-d31-2threads]}")" ">=" 1.6
echo "-d 31 time vs makedumpfile -l, both until on disk (then sync -f, as kdump-utils): $(ratio "${seconds[ours-d31]}" "${seconds[mdf-l-d31-sync]}")"
echo "-d 1 time vs makedumpfile -l, both until on disk (then sync -f, as kdump-utils):  $(ratio "${seconds[ours-d1]}" "${seconds[mdf-l-d1-sync]}")"
echo "-d 1 size without page sharing:  $(ratio "${size[ours-d1-unshared]}" "${size[mdf-l-d1]}") of makedumpfile -l"

# The end-to-end figure: the time until the last byte has reached a
# target that takes about 100 MB/s (a network, a slow disk) or 1 GB/s (a
# fast disk). Both tools write the flattened format (-F) into a pipe whose
# reader takes at most that rate, on 1 CPU as in the capture kernel.
cat >"$work/throttle.py" <<'PY'
import os, sys, time
rate = float(sys.argv[1])
start, received = time.monotonic(), 0
while chunk := os.read(0, 1 << 20):
    received += len(chunk)
    ahead = received / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
PY
declare -A throttled
for rate_mb in 100 1000; do
    for entry in "mdf-l makedumpfile -F -l -d 31" "mdf-c makedumpfile -F -c -d 31" "ours $work/bin/makedumpfile -F -d 31" \
        "ours-adaptive $work/bin/makedumpfile -F -d 31 --adaptive-level"; do
        name=${entry%% *}
        samples_here=""
        for ((run = 1; run <= runs; run++)); do
            /usr/bin/time -f '%e' -o "$work/time" bash -c 'set -o pipefail; taskset -c 0 "${@:3}" "$1" | /usr/bin/python3 "$2" '"${rate_mb}e6" \
                _ "$fixture" "$work/throttle.py" ${entry#* } 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
            samples_here+="$(cat "$work/time") "
        done
        throttled[$name-$rate_mb]=$(median "$samples_here")
        printf '%-34s %8.2f s   (runs: %s)\n' "$name -F -d 31 to ${rate_mb} MB/s" "${throttled[$name-$rate_mb]}" "${samples_here% }"
    done
    best_mdf=$(awk -v a="${throttled[mdf-l-$rate_mb]}" -v b="${throttled[mdf-c-$rate_mb]}" 'BEGIN { print (a < b) ? a : b }')
    goal "-d 31 to a ${rate_mb} MB/s target vs makedumpfile's faster of -l and -c" "$(ratio "${throttled[ours-$rate_mb]}" "$best_mdf")" "<=" 1.0
    goal "the same with --adaptive-level" "$(ratio "${throttled[ours-adaptive-$rate_mb]}" "$best_mdf")" "<=" 1.0
done

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
