#!/bin/busybox sh
# /init of tests/arm64/boot.sh's guests: the aarch64 kdumpbox on a real
# arm64 kernel, without loading anything. The host asserts on the lines.
. /lib/guest-lib.sh
say "userspace up: $(uname -r) $(uname -m)"
run version kdumpbox --version
run crash-size cat /sys/kernel/kexec_crash_size
run status kdumpbox kexec --status
run crash-status kdumpbox kexec -p --status
run default-crashkernel kdumpbox kdump get-default-crashkernel
run list kdumpbox --list
say "done"
off
