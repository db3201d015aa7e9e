#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The arm64 classic loader on real kernels, before kexec_load is in the
# picture: loader_driver.cpp runs arch/aarch64/host_classic.cpp (compiled
# for this host) on each Debian arm64 Image with a busybox initrd and
# QEMU's own DTB as /sys/firmware/fdt; QEMU's generic loader then puts the
# segments and our purgatory where the plan says (what kexec_load would
# copy) and starts the purgatory. Checked on the console: the reboot plan
# boots to the initrd's /init with our bootargs; the crash plan also
# reserves the linux,elfcorehdr range and has only the 256 MiB
# linux,usable-memory-range as RAM.
#   tests/arm64/loader.sh [bookworm|trixie ...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
top=$(cd "$ARM64_TESTS_DIR/../.." && pwd)
arm64_require_host_packages
vm_require_packages clang-16 lld llvm g++
work=$(mktemp -d /tmp/kdumpbox-arm64-loader.XXXXXX)
trap 'rm -rf "$work"' EXIT
suites=("$@")
((${#suites[@]})) || suites=(bookworm trixie)

bash "$top/arch/aarch64/purgatory/build.sh" "$top" "$work/purgatory.bin" clang-16 --target=aarch64-linux-gnu -fuse-ld=lld 2>/dev/null
python3 "$top/purgatory/embed.py" "$work/purgatory.bin" "$work/purgatory.cpp" aarch64_purgatory
c++ -std=c++20 -O1 -I "$top" -o "$work/loader_driver" "$ARM64_TESTS_DIR/loader_driver.cpp" "$work/purgatory.cpp" \
	"$top/arch/aarch64/host_classic.cpp" "$top"/core/base/{fdt,fdt_chosen,bytes,strings,error,fd,fs,log,clock}.cpp

mkdir -p "$work/sysfs/firmware" "$work/root/bin" "$work/out"
qemu-system-aarch64 -M virt,dumpdtb="$work/sysfs/firmware/fdt" -cpu max -m 1024 -nographic >/dev/null 2>&1
arm64_fetch_busybox
cp "$ARM64_BUSYBOX" "$work/root/bin/busybox"
cat >"$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc 2>/dev/null || { /bin/busybox mkdir /proc; /bin/busybox mount -t proc proc /proc; }
echo "KDUMPBOX-LOADER-OK $(/bin/busybox cat /proc/cmdline)"
/bin/busybox grep MemTotal /proc/meminfo
/bin/busybox poweroff -f
INIT
chmod +x "$work/root/bin/busybox" "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null | gzip >"$work/initrd.gz")

purgatory_at=0x5fe00000
entry_at=$(python3 -c "import struct,sys; print(hex($purgatory_at + struct.unpack_from('<I', open(sys.argv[1],'rb').read(), 12)[0]))" "$work/purgatory.bin")
failures=0
for suite in "${suites[@]}"; do
	arm64_fetch_kernel "$suite"
	for mode in reboot crash; do
		"$work/loader_driver" "$ARM64_VMLINUZ" "$work/initrd.gz" "$work/sysfs" "$work/out" $mode >"$work/plan"
		loaders=() regions=()
		while read -r what address path; do
			[[ $what == registers ]] && { pc=$address x0=$path; continue; }
			loaders+=(-device "loader,file=$path,addr=$address,force-raw=on")
			regions+=("$address=$path")
		done <"$work/plan"
		python3 "$ARM64_TESTS_DIR/fill-purgatory.py" "$work/purgatory.bin" "$work/filled.bin" "$pc" "$x0" "${regions[@]}"
		start=$(date +%s%N)
		timeout 180 qemu-system-aarch64 -M virt -cpu max -m 1024 -nographic -no-reboot "${loaders[@]}" \
			-device loader,file="$work/filled.bin",addr=$purgatory_at,force-raw=on \
			-device loader,addr="$entry_at",cpu-num=0 >"$work/console" 2>&1 || true
		elapsed_ms=$((($(date +%s%N) - start) / 1000000))
		ok=1
		grep -aq 'KDUMPBOX-LOADER-OK console=ttyAMA0 panic=-1 rdinit=/init' "$work/console" || ok=0
		if [[ $mode == crash ]]; then
			grep -aq 'Reserving 4 KiB of memory at 0x5ff00000 for elfcorehdr' "$work/console" || ok=0
			total_kb=$(awk '/MemTotal:/ { print $2 }' "$work/console" | tr -d '\r')
			((${total_kb:-0} > 0 && ${total_kb:-0} <= 262144)) || ok=0
		fi
		if ((ok)); then
			vm_log "$ARM64_KERNEL_RELEASE $mode: booted through our purgatory to /init in ${elapsed_ms} ms ($(tr -d '\r' <"$work/console" | grep -a MemTotal | tr -s ' '))"
		else
			tail -25 "$work/console" >&2
			vm_log "FAIL: $ARM64_KERNEL_RELEASE $mode"
			failures=$((failures + 1))
		fi
	done
done
echo "kdumpbox-test-summary: arm64-loader $((${#suites[@]} * 2 - failures)) $failures 0"
((failures == 0))
