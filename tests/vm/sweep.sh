#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Measurement, not a test: the smallest crashkernel= at which a guest still
# captures its dump with kdumpbox's initramfs (the ext4 case of capture.sh,
# every check included: the dump must open in crash and libkdumpfile).
# Prints one line per size and the smallest that worked, and the cycle
# time of each run.
# Usage: tests/vm/sweep.sh [PATH/TO/kdumpbox] [GUEST-MiB] [SIZES-MiB...]
# KDUMPBOX_VM_SUITE=bookworm|trixie picks the Debian kernel (6.1, the
# default, or 6.12; bullseye's 5.10 is no longer in the archive here).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=$(readlink -f "${1:-$here/../../build/release/kdumpbox}")
mem=${2:-2048}
shift 2 2>/dev/null
sizes=("$@")
((${#sizes[@]})) || sizes=(128 96 80 72 64 56 48)
smallest=""
echo "guest: $mem MiB; kernel: Debian ${KDUMPBOX_VM_SUITE:-bookworm}'s cloud kernel; kdumpbox: $binary ($(stat -c %s "$binary") bytes)"
for size in "${sizes[@]}"; do
	start=$SECONDS
	out=$(KDUMPBOX_VM_MEM=$mem KDUMPBOX_CRASHKERNEL=${size}M bash "$here/capture.sh" "$binary" ext4 2>&1)
	summary=$(grep '^kdumpbox-test-summary:' <<<"$out" | tail -1)
	read -r _ _ passed failed _ <<<"$summary"
	if [[ -n $summary && $failed == 0 && $passed -gt 0 ]]; then
		result="captured"
		smallest=$size
	else
		why=$(grep -m1 '^FAIL' <<<"$out" | cut -c1-100)
		result="failed (${why:-no summary})"
	fi
	cycle=$(sed -n 's/^# cycle time ext4: //p' <<<"$out")
	printf 'crashkernel=%4sM  %-60s cycle %s\n' "$size" "$result" "${cycle:-?}"
done
echo "smallest crashkernel= that captured a $mem MiB guest: ${smallest:-none}${smallest:+M}"
