#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm-arm64, the classic kexec cases on Debian's arm64 cloud kernels (6.1,
# 6.12; both have KEXEC_FILE off, so only kexec_load exists):
#   exec:    `kexec -c -l` + `kexec -e` boots a second kernel
#   capture: `kdump start` arms kdump (its default, file load then classic,
#            falls back to classic), a sysrq panic boots the capture kernel
#            with kdumpbox's own initramfs, which saves the dump on an ext4
#            disk named by UUID; the host then reads the saved vmcore with
#            the x86_64 build (HOST_KDUMPBOX) and checks its dmesg
# Usage: tests/arm64/capture.sh AARCH64_KDUMPBOX [HOST_KDUMPBOX [SUITE...]]
set -euo pipefail
binary=$(readlink -f "${1:?usage: capture.sh AARCH64_KDUMPBOX HOST_KDUMPBOX [SUITE...]}")
# The saved dump is read back on this host by the x86_64 build when it has
# been built (tests/build.sh release), else by the aarch64 one under
# qemu-aarch64 user mode.
if [[ -x ${2:-} ]] && file -b "$2" | grep -q x86-64; then
	host_reader=("$(readlink -f "$2")")
else
	host_reader=(qemu-aarch64-static "$binary")
	echo "# ${2:-HOST_KDUMPBOX}: no x86_64 build; reading the dump with the aarch64 build under qemu-aarch64-static"
fi
shift 2 || shift $#
suites=("$@")
((${#suites[@]})) || suites=(bookworm trixie)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../testlib.sh"
. "$here/lib.sh"

arm64_require_host_packages
file -b "$binary" | grep -q 'ARM aarch64' || vm_die "$binary is not an aarch64 executable (build it: tests/build.sh release-aarch64)"
work=$(mktemp -d /tmp/kdumpbox-arm64-capture-XXXXXX)
trap 'umount "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
arm64_fetch_busybox

# show_console LOG: the console's tail, when a check of that boot failed.
show_console() {
	echo "# console ($1):"
	tail -n 80 "$1" | sed 's/^/#   /'
}

for suite in "${suites[@]}"; do
	arm64_fetch_kernel "$suite"
	release=$ARM64_KERNEL_RELEASE

	# --- exec: kexec -c -l + -e ------------------------------------------
	arm64_initramfs_root "$work/second" "$here/capture-init.sh" "$binary"
	arm64_make_initramfs "$work/second" "$work/second.gz"
	arm64_initramfs_root "$work/root" "$here/capture-init.sh" "$binary"
	arm64_add_file "$work/root" "$ARM64_VMLINUZ" "/boot/vmlinuz-$release"
	arm64_add_file "$work/root" "$work/second.gz" /boot/second.gz
	arm64_make_initramfs "$work/root" "$work/exec.gz"
	log=$work/exec-$suite.log
	failed_before=$failed
	start=$SECONDS rc=0
	# 6.12 on a CPU with LPA2 (-cpu max: 52-bit VAs, 5 levels) oopses inside
	# kexec_load itself, in trans_pgd_create_copy() while it copies the linear
	# map for the relocation (machine_kexec_post_load), whatever the segments;
	# kexec-tools meets the same. The -l case runs there on a 48-bit CPU
	# (the kernel falls back to 48-bit VAs); the crash load does not copy
	# and runs on -cpu max below.
	cpu=max
	[[ $suite == trixie ]] && cpu=cortex-a72
	ARM64_CPU=$cpu arm64_run --log "$log" --kernel "$ARM64_VMLINUZ" --initrd "$work/exec.gz" \
		--append "console=ttyAMA0 crashkernel=256M panic=1 ktest_stage=exec" --timeout 600 || rc=$?
	echo "# $release exec (-cpu $cpu): kexec -c -l, -e and the second kernel's boot took $((SECONDS - start)) s (qemu status $rc)"
	vm_expect_run "$log" load 0
	vm_expect_run "$log" loaded 0 '^1$'
	check "$suite: the second kernel started by kexec -e booted" grep -q '^KTEST: kernel up: .* stage=second' "$log"
	vm_expect_run "$log" second-cmdline 0 'ktest_stage=second'
	((failed == failed_before)) || show_console "$log"

	# --- capture: kdump start (classic), panic, saved --------------------
	root=$work/capture-root
	arm64_initramfs_root "$root" "$here/capture-init.sh" "$binary"
	for name in kdump kexec makedumpfile vmcore-dmesg; do ln -s kdumpbox "$root/usr/sbin/$name"; done
	mkdir -p "$root/boot" "$root/etc/sysconfig" "$root/var/lib/kdumpbox" "$root/tmp"
	arm64_add_file "$root" "$ARM64_VMLINUZ" "/boot/vmlinuz-$release"
	arm64_add_file "$root" "$ARM64_KERNEL_CONFIG" "/boot/config-$release"
	moddir=/lib/modules/$release
	mkdir -p "$root$moddir"
	cp "$ARM64_MODULES_DIR"/modules.builtin "$ARM64_MODULES_DIR"/modules.builtin.modinfo "$ARM64_MODULES_DIR"/modules.order "$root$moddir/"
	while IFS= read -r f; do
		[[ -n $f ]] || continue
		mkdir -p "$root$moddir/$(dirname "${f#"$ARM64_MODULES_DIR"/}")"
		cp "$f" "$root$moddir/${f#"$ARM64_MODULES_DIR"/}"
	done < <(vm_modules_closure "$ARM64_MODULES_DIR" virtio_pci virtio_blk)
	# A real install has modules.dep; 6.12's modules are xz-compressed, and
	# kdump start reads dependencies from modules.dep then.
	depmod -b "$root" "$release"
	vm_install_modules "$ARM64_MODULES_DIR" "$root/lib/first-modules" virtio_pci virtio_blk
	uuid=$(cat /proc/sys/kernel/random/uuid)
	printf '%s\n' "ext4 UUID=$uuid" "path /var/crash" "core_collector makedumpfile -l -d 31" \
		"final_action poweroff" >"$root/etc/kdump.conf"
	arm64_make_initramfs "$root" "$work/capture.gz"
	disk=$work/disk-$suite.img
	truncate -s 512M "$disk"
	mkfs.ext4 -q -F -U "$uuid" -L kdumparm64 "$disk"
	log=$work/capture-$suite.log
	failed_before=$failed
	start=$SECONDS rc=0
	arm64_run --log "$log" --kernel "$ARM64_VMLINUZ" --initrd "$work/capture.gz" \
		--append "console=ttyAMA0 crashkernel=256M panic=1 ktest_stage=capture" --timeout 900 \
		-- -drive "if=none,id=disk0,file=$disk,format=raw" -device virtio-blk-pci,drive=disk0 || rc=$?
	echo "# $release capture: kdump start, panic, capture kernel and save took $((SECONDS - start)) s (qemu status $rc)"
	sed -n 's/^KTEST-OUT start: /# kdump start: /p' "$log"
	vm_expect_run "$log" start 0 'with classic kexec_load'
	vm_expect_run "$log" crash-loaded 0 '^1$'
	check "$suite: the capture kernel ran kdumpbox's /init" grep -q 'kdumpbox' <(sed -n '/KTEST: crashing/,$p' "$log")
	mkdir -p "$work/mnt"
	mount -o loop,ro "$disk" "$work/mnt"
	vmcore=$(find "$work/mnt/var/crash" -name vmcore -type f | head -n 1)
	check "$suite: a vmcore was saved on the ext4 disk" test -n "$vmcore"
	if [[ -n $vmcore ]]; then
		dir=$(dirname "$vmcore")
		echo "# saved: $(ls -l "$dir" | tail -n +2 | awk '{print $NF " " $5}' | tr '\n' ' ')"
		check "$suite: vmcore-dmesg.txt has the sysrq panic" grep -q 'sysrq' "$dir/vmcore-dmesg.txt"
		"${host_reader[@]}" makedumpfile --dump-dmesg "$vmcore" "$work/dmesg-$suite.txt" >"$work/dump-dmesg.out" 2>&1 || true
		check "$suite: ${host_reader[0]##*/} on this host reads the arm64 dump's dmesg" grep -q 'sysrq' "$work/dmesg-$suite.txt"
		check "$suite: the dump header says aarch64" grep -q aarch64 <(head -c 4096 "$vmcore" | strings)
		check "$suite: libkdumpfile opens the saved dump and reads the kernel's release through its page tables" \
			/usr/bin/python3 "$here/libkdumpfile-reads.py" "$vmcore" diskdump "$release"
		echo "# vmcore: $(stat -c %s "$vmcore") bytes"
	fi
	umount "$work/mnt"
	((failed == failed_before)) || show_console "$log"
done
finish vm-arm64-capture
