#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the arm64 vmcore fixtures: each of Debian's arm64 cloud kernels
# (bookworm 6.1, trixie 6.12) boots under qemu-system-aarch64 with KASLR on
# (QEMU's virt machine gives the kernel a kaslr-seed) and 512 MiB, loads
# qemu_fw_cfg so the kernel hands VMCOREINFO to QEMU's vmcoreinfo device,
# and QEMU writes an ELF dump of the guest's memory (QMP dump-guest-memory,
# paging=false): PT_LOADs of physical memory and a VMCOREINFO note, as a
# /proc/vmcore copy has. Nothing of kdumpbox runs in the guest.
#
# Usage: tests/arm64/make-fixture.sh [SUITE...]     (default: bookworm trixie)
# Prints one line per fixture: its path. Fixtures are cached in
# ~/.cache/kdumpbox/arm64/fixtures/<kernel release>.elf (with .vmcoreinfo,
# the guest's /sys/kernel/vmcoreinfo and the VMCOREINFO text); KDUMPBOX_FIXTURE_FORCE=1 remakes them.
set -euo pipefail
suites=("$@")
((${#suites[@]})) || suites=(bookworm trixie)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

arm64_require_host_packages
out_dir=$ARM64_CACHE/fixtures
mkdir -p "$out_dir"
work=$(mktemp -d /tmp/kdumpbox-arm64-fixture-XXXXXX)
qemu_pid=""
cleanup() {
	[[ -z $qemu_pid ]] || kill "$qemu_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The oracle: libkdumpfile reads the kernel's utsname through the kernel's
# own page tables (KASLR included), as a dump reader must. Skipped with a
# note where python3-libkdumpfile is not installed.
arm64_check_with_libkdumpfile() {
	local file=$1 release=$2 got
	if ! "$VM_PY" -c 'import kdumpfile' 2>/dev/null; then
		vm_log "note: python3-libkdumpfile is not installed; $file not checked with it"
		return 0
	fi
	got=$("$VM_PY" - "$file" <<'PY'
import sys, kdumpfile
k = kdumpfile.kdumpfile(sys.argv[1])
k.attr["addrxlat.ostype"] = "linux"
print(k.attr["arch.name"], k.attr["linux.uts.machine"], k.attr["linux.uts.release"])
PY
	) || vm_die "libkdumpfile cannot read $file"
	[[ $got == "aarch64 aarch64 $release" ]] || vm_die "libkdumpfile reads $file as '$got', wanted 'aarch64 aarch64 $release'"
	vm_log "libkdumpfile: $got"
}

arm64_fetch_busybox
for suite in "${suites[@]}"; do
	arm64_fetch_kernel "$suite"
	fixture=$out_dir/$ARM64_KERNEL_RELEASE.elf
	if [[ -s $fixture && ${KDUMPBOX_FIXTURE_FORCE:-0} != 1 ]]; then
		printf '%s\n' "$fixture"
		continue
	fi
	root=$work/root-$suite
	# No kdumpbox in this guest: busybox stands in for the binary slot.
	arm64_initramfs_root "$root" "$here/fixture-init.sh" "$ARM64_BUSYBOX"
	vm_install_modules "$ARM64_MODULES_DIR" "$root/lib/modules" qemu_fw_cfg
	arm64_make_initramfs "$root" "$work/initrd-$suite.gz"
	log=$work/console-$suite.log
	qmp=$work/qmp-$suite.sock
	start=$SECONDS
	arm64_run --background --log "$log" --kernel "$ARM64_VMLINUZ" --initrd "$work/initrd-$suite.gz" \
		--append "console=ttyAMA0 panic=-1" --mem 512 --qmp "$qmp" --timeout 900 -- -device vmcoreinfo
	qemu_pid=$ARM64_QEMU_PID
	if ! arm64_wait_for "$log" '^KTEST: fixture-ready' 600 "$qemu_pid"; then
		tail -n 40 "$log" >&2
		vm_die "$ARM64_KERNEL_RELEASE: the guest did not come up (console above)"
	fi
	grep -q '^KTEST: fw_cfg: present' "$log" || vm_log "warning: $ARM64_KERNEL_RELEASE: no /sys/firmware/qemu_fw_cfg; the dump may lack VMCOREINFO"
	rm -f "$fixture.tmp"
	arm64_qmp "$qmp" "{\"execute\": \"dump-guest-memory\", \"arguments\": {\"paging\": false, \"protocol\": \"file:$fixture.tmp\"}}" >"$work/qmp.out" ||
		vm_die "dump-guest-memory failed: $(cat "$work/qmp.out")"
	arm64_qmp "$qmp" '{"execute": "quit"}' >/dev/null 2>&1 || true
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=""
	grep -aq 'VMCOREINFO' "$fixture.tmp" && grep -aq "OSRELEASE=$ARM64_KERNEL_RELEASE" "$fixture.tmp" ||
		vm_die "$fixture.tmp has no VMCOREINFO note of $ARM64_KERNEL_RELEASE"
	sed -n 's/^KTEST-VMCOREINFO //p' "$log" >"${fixture%.elf}.vmcoreinfo"
	arm64_check_with_libkdumpfile "$fixture.tmp" "$ARM64_KERNEL_RELEASE"
	chmod 0644 "$fixture.tmp"
	mv "$fixture.tmp" "$fixture"
	vm_log "$ARM64_KERNEL_RELEASE: $(stat -c %s "$fixture") bytes in $((SECONDS - start)) s"
	printf '%s\n' "$fixture"
done
