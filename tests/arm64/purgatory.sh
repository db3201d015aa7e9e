#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The arm64 purgatory on its own, without kexec: QEMU's generic loader puts
# a Debian arm64 kernel Image, a DTB and our purgatory blob (its parameter
# block filled here by an independent Python implementation of
# purgatory/purgatory.h, hashlib for the SHA-256) into RAM and starts the CPU
# at the purgatory's entry with the MMU off, as machine_kexec does. With the
# right digest the kernel must boot with x0 = the DTB (its console shows our
# bootargs); with one digest bit flipped nothing may boot.
#   tests/arm64/purgatory.sh [bookworm|trixie ...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
top=$(cd "$ARM64_TESTS_DIR/../.." && pwd)
arm64_require_host_packages
vm_require_packages device-tree-compiler clang-16 lld llvm
work=$(mktemp -d /tmp/kdumpbox-arm64-purgatory.XXXXXX)
trap 'rm -rf "$work"' EXIT
suites=("$@")
((${#suites[@]})) || suites=(bookworm trixie)

bash "$top/arch/aarch64/purgatory/build.sh" "$top" "$work/purgatory.bin" clang-16 --target=aarch64-linux-gnu -fuse-ld=lld 2>/dev/null

qemu-system-aarch64 -M virt,dumpdtb="$work/virt.dtb" -cpu max -m 1024 -nographic >/dev/null 2>&1
dtc -q -I dtb -O dts "$work/virt.dtb" |
	sed 's|chosen {|chosen {\n\t\tbootargs = "console=ttyAMA0 panic=-1 kdumpbox.purgatory=ok";|' |
	dtc -q -I dts -O dtb -o "$work/boot.dtb"

kernel_at=0x40200000 dtb_at=0x48000000 purgatory_at=0x49000000
# fill OUT [--corrupt]: the regions (kernel, DTB), their digest, the registers.
fill() {
	python3 "$ARM64_TESTS_DIR/fill-purgatory.py" "$work/purgatory.bin" "$@" $kernel_at $dtb_at \
		"$kernel_at=$ARM64_VMLINUZ" "$dtb_at=$work/boot.dtb"
}

entry_at=$(python3 -c "import struct,sys; print(hex($purgatory_at + struct.unpack_from('<I', open(sys.argv[1],'rb').read(), 12)[0]))" "$work/purgatory.bin")
boot() { # boot LOG PURGATORY SECONDS
	timeout "$3" qemu-system-aarch64 -M virt -cpu max -m 1024 -nographic -no-reboot \
		-device loader,file="$ARM64_VMLINUZ",addr=$kernel_at,force-raw=on \
		-device loader,file="$work/boot.dtb",addr=$dtb_at,force-raw=on \
		-device loader,file="$2",addr=$purgatory_at,force-raw=on \
		-device loader,addr="$entry_at",cpu-num=0 >"$1" 2>&1 || true
}

for suite in "${suites[@]}"; do
	arm64_fetch_kernel "$suite"
	fill "$work/good.bin"
	fill "$work/bad.bin" --corrupt
	start=$(date +%s%N)
	boot "$work/good.log" "$work/good.bin" 120
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	grep -aq 'Kernel command line: console=ttyAMA0 panic=-1 kdumpbox.purgatory=ok' "$work/good.log" ||
		{ tail -20 "$work/good.log" >&2; vm_die "$ARM64_KERNEL_RELEASE: the purgatory did not start the kernel with our DTB"; }
	vm_log "$ARM64_KERNEL_RELEASE: purgatory checked the Image + DTB and started the kernel with x0 = DTB (boot to the root-mount panic: ${elapsed_ms} ms)"
	boot "$work/bad.log" "$work/bad.bin" 20
	if grep -aq 'Booting Linux\|Linux version' "$work/bad.log"; then
		vm_die "$ARM64_KERNEL_RELEASE: the purgatory started a kernel whose digest did not match"
	fi
	vm_log "$ARM64_KERNEL_RELEASE: a wrong digest stopped the purgatory (nothing booted in 20 s)"
done
echo "kdumpbox-test-summary: arm64-purgatory ${#suites[@]} 0 0"
