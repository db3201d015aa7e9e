#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm-arm64, the boot case: each of Debian's arm64 cloud kernels (bookworm
# 6.1, trixie 6.12) boots under qemu-system-aarch64 (TCG) with
# crashkernel=256M and an initramfs of busybox and the aarch64 kdumpbox;
# the guest's /init (boot-init.sh) runs kdumpbox and prints what it said.
# Usage: tests/arm64/boot.sh PATH/TO/aarch64/kdumpbox [SUITE...]
set -euo pipefail
binary=$(readlink -f "${1:?usage: boot.sh PATH/TO/aarch64/kdumpbox [SUITE...]}")
shift
suites=("$@")
((${#suites[@]})) || suites=(bookworm trixie)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../testlib.sh"
. "$here/lib.sh"

arm64_require_host_packages
file -b "$binary" | grep -q 'ARM aarch64' || vm_die "$binary is not an aarch64 executable (build it: tests/build.sh release-aarch64)"
work=$(mktemp -d /tmp/kdumpbox-arm64-XXXXXX)
trap 'rm -rf "$work"' EXIT

arm64_fetch_busybox
arm64_initramfs_root "$work/root" "$here/boot-init.sh" "$binary"
arm64_make_initramfs "$work/root" "$work/initrd.gz"

for suite in "${suites[@]}"; do
	arm64_fetch_kernel "$suite"
	log=$work/console-$suite.log
	start=$SECONDS
	failed_before=$failed
	rc=0
	arm64_run --log "$log" --kernel "$ARM64_VMLINUZ" --initrd "$work/initrd.gz" \
		--append "console=ttyAMA0 crashkernel=256M panic=1" --timeout 600 || rc=$?
	echo "# $ARM64_KERNEL_RELEASE: booted, ran the checks and powered off in $((SECONDS - start)) s (qemu status $rc)"
	check "$suite: qemu exited by itself" test "$rc" = 0
	check "$suite: userspace came up on $ARM64_KERNEL_RELEASE" grep -q "^KTEST: userspace up: $ARM64_KERNEL_RELEASE aarch64" "$log"
	vm_expect_run "$log" version 0 '^kdumpbox [0-9]+\.[0-9]+\.[0-9]+ \(.*aarch64'
	vm_expect_run "$log" crash-size 0 '^268435456$'
	# kexec-tools' -S: 0 when nothing is loaded
	vm_expect_run "$log" status 0
	vm_expect_run "$log" crash-status 0
	vm_expect_run "$log" default-crashkernel 0 '^1G-4G:256M,4G-64G:320M,64G-:576M$'
	vm_expect_run "$log" list 0 '^kexec'
	if ((failed > failed_before)) || ! grep -q '^KTEST: done' "$log"; then
		echo "# console of $suite:"
		sed 's/^/#   /' "$log" | tail -n 60
	fi
done
finish vm-arm64
