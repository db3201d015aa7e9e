#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The aarch64 build's CLI checks, run on this (x86_64) machine under
# qemu-aarch64 user mode: dispatch by argv[0] (qemu's -0), the multiplexer's
# options, the arm64 host defaults and a refused load. tests/cli/run.sh
# covers the rest on the native build; it needs the binary to run directly.
# Usage: tests/arm64/cli-user.sh PATH/TO/aarch64/kdumpbox
set -uo pipefail
binary=$(readlink -f "${1:?usage: cli-user.sh PATH/TO/aarch64/kdumpbox}")
qemu=${KDUMPBOX_QEMU_AARCH64:-/usr/bin/qemu-aarch64-static}
. "$(dirname "$0")/../testlib.sh"
[ -x "$qemu" ] || { echo "cli-user.sh: $qemu not found (apt-get install qemu-user-static)" >&2; exit 1; }

# expect NAME RC PATTERN ARGV0 ARGS...: runs the binary as ARGV0 with ARGS.
expect() {
    local name=$1 want_rc=$2 pattern=$3 argv0=$4 output rc
    shift 4
    output=$("$qemu" -0 "$argv0" "$binary" "$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want_rc" ]; then
        fail "$name" "exit status $rc, wanted $want_rc" "command: $argv0 $*" "output: $output"
    elif ! grep -Eq -- "$pattern" <<<"$output"; then
        fail "$name" "output does not match /$pattern/" "command: $argv0 $*" "output: $output"
    else
        ok "$name"
    fi
}

check "the binary is a static aarch64 executable" sh -c "file -b '$binary' | grep -E 'ARM aarch64.*statically linked'"
expect "--version names our version and the CPU" 0 '^kdumpbox [0-9]+\.[0-9]+\.[0-9]+ \(.*aarch64' kdumpbox --version
for library in zlib zstd lz4 mbedTLS libssh2; do
    expect "--version shows the linked $library version" 0 "^$library [0-9]+\.[0-9]+(\.[0-9]+)?" kdumpbox --version
done
expect "--list names reboot with its aliases" 0 '^reboot halt poweroff$' kdumpbox --list
expect "unknown applet exits 127" 127 'applet not found: nosuch' nosuch
expect "argv[0] kexec runs the kexec applet" 0 'Usage: kexec' kexec --help
expect "arm64's default crashkernel" 0 '^1G-4G:256M,4G-64G:320M,64G-:576M$' kdumpbox kdump get-default-crashkernel
expect "a missing kernel image is named" 255 'no-such-vmlinuz' kexec -l /no-such-vmlinuz
finish cli-aarch64
