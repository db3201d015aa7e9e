#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo: build the static kdumpbox, boot Debian's kernel in QEMU with a
# busybox userland and kdumpbox as the whole kdump stack, run 'kdump start',
# crash the guest with 'kdump test --force', let the capture kernel save the
# dump with kdumpbox as its /init, and show what was saved.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash tests/setup.sh
bash tests/build.sh release
binary=build/release/kdumpbox
kept=${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}/demo
echo "== $(file -b "$binary" | cut -d, -f1-2), $(stat -c %s "$binary") bytes; applets:"
"$binary" --list | sed 's/^/   /'
echo
echo "== booting a VM, 'kdump start', crashing it, capturing (about a minute under TCG)"
KDUMPBOX_KEEP_DUMP=$kept bash tests/vm/capture.sh "$binary" ext4 | grep -E '^(ok|FAIL|#)' | grep -v '^# cycle' || true
[ -f "$kept/vmcore" ] || { echo "demo: no dump was saved; see the lines above" >&2; exit 1; }
echo
echo "== what the capture kernel printed"
grep -E 'kdumpbox: init: |Copying data' "$kept/.console.txt" | grep -v '^\[' | tr '\r' '\n' | grep -v '^$' | tail -12
echo
echo "== saved on the target disk in /var/crash/$(cat "$kept/.dump-directory")/ (copied to $kept)"
ls -l "$kept"
echo
echo "== the crashed kernel's last messages, read from the saved vmcore by kdumpbox's vmcore-dmesg"
"$binary" vmcore-dmesg "$kept/vmcore" | tail -12
