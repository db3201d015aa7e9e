#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# VM tests of the kexec applet on Debian's bookworm cloud kernel (QEMU TCG),
# with busybox as the guest's userland and Debian's kexec-tools beside ours
# for interoperability. Three boots (tests/vm/kexec-init.sh is their /init):
#   status   crashkernel=256M: -S, -p, -u and -p -u against
#            /sys/kernel/kexec_*loaded; kexec-tools seeing and unloading our
#            image and we theirs; a gzip-wrapped kernel (unwrapped into a
#            memfd after the kernel refuses it); an initrd too big for the
#            reservation; then -l with a marker and -e into a second boot.
#   panic    -p a capture kernel, sysrq-c: the capture kernel has /proc/vmcore.
#   nocrash  no crashkernel=: -p fails with the no-reservation message.
#   classic  -c (classic kexec_load, our purgatory): -p, kexec-tools -p -u of
#            our image, kexec-tools -c -p then our -c -p -u, -l and -e.
#   classic-panic  -c -p, sysrq-c: the capture kernel has /proc/vmcore.
# KEXEC_VM_ONLY=classic runs only the classic boots.
# Usage: tests/vm/kexec.sh PATH/TO/kdumpbox (the static release build)
set -euo pipefail

binary=$(readlink -f "${1:?usage: kexec.sh PATH/TO/kdumpbox}")
here=$(cd "$(dirname "$0")" && pwd)
VM_ME=vm-kexec
. "$here/lib.sh"
. "$here/../testlib.sh"
set +e # the checks below count failures instead of stopping

if ! file "$binary" | grep -q 'statically linked'; then
	fail "the binary is static (the guest has no C library for it)" "$(file "$binary")"
	finish vm-kexec
	exit
fi
vm_require_host_packages
vm_fetch_kernel bookworm
work=$(mktemp -d /tmp/kdumpbox-vm-kexec-XXXXXX)
# KEXEC_VM_KEEP=DIR keeps the guests' console logs there.
trap '[[ -n ${KEXEC_VM_KEEP:-} ]] && mkdir -p "$KEXEC_VM_KEEP" && cp "$work"/*.txt "$KEXEC_VM_KEEP"/; rm -rf "$work"' EXIT

# --- the guest's initramfs: busybox, kdumpbox, kexec-tools, the kernel -------
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,boot}
cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$here/kexec-init.sh" "$root/init"
install -m 0755 "$binary" "$root/usr/local/bin/kdumpbox"
ln -s kdumpbox "$root/usr/local/bin/kexec"
ln -s kdumpbox "$root/usr/local/bin/vmcore-dmesg"
vm_make_initramfs "$root" "$work/second.cpio.gz" # what the kexec'd kernels boot
tools_kexec=$(command -v kexec) || vm_die "Debian's kexec-tools is not installed (apt-get install kexec-tools)"
vm_install_binary "$root" "$tools_kexec"
[[ -e $root/usr/sbin/kexec ]] || ln -s "$tools_kexec" "$root/usr/sbin/kexec"
cp "$VM_VMLINUZ" "$root/boot/vmlinuz"
cp "$work/second.cpio.gz" "$root/boot/second.cpio.gz"
vm_make_initramfs "$root" "$work/first.cpio.gz"

# boot NAME APPEND: one guest; its console goes to $work/NAME.log.
boot() {
	local name=$1 append=$2 rc=0
	vm_run --log "$work/$name.log" --kernel "$VM_VMLINUZ" --initrd "$work/first.cpio.gz" \
		--append "console=ttyS0 panic=1 $append" --mem 1024 --smp 2 --timeout 600 || rc=$?
	tr -d '\r' <"$work/$name.log" >"$work/$name.txt"
	echo "# boot $name: qemu exited with status $rc"
}
expect_run() { vm_expect_run "$@"; }
# expect_sysfs LOG NAME LOADED CRASH: /sys/kernel/kexec_loaded and
# kexec_crash_loaded after the NAME step.
expect_sysfs() {
	local got
	got=$(grep -m1 "^KTEST-SYSFS $2 " "$1" | sed 's/^KTEST-SYSFS [^ ]* //')
	[[ $got == "loaded=$3 crash=$4" ]] && ok "$2: kexec_loaded=$3 kexec_crash_loaded=$4" \
		|| fail "$2: kexec_loaded=$3 kexec_crash_loaded=$4" "got: ${got:-nothing}"
}

only=${KEXEC_VM_ONLY:-}
if [[ $only != classic ]]; then
# --- status, interoperability, errors, then exec ------------------------------
boot status "crashkernel=256M ktest=status"
log=$work/status.txt
expect_run "$log" status-empty 0
expect_sysfs "$log" status-empty 0 0
expect_run "$log" load-panic 0
expect_sysfs "$log" load-panic 0 1
# kexec-tools' -S: 1 when loaded, 0 when not; the crash kernel by default.
expect_run "$log" status-panic 1
expect_run "$log" status-default 1
expect_run "$log" tools-status-panic 1
expect_run "$log" unload-panic 0
expect_sysfs "$log" unload-panic 0 0
expect_run "$log" status-after-unload 0
expect_run "$log" load-panic-again 0
expect_sysfs "$log" load-panic-again 0 1
expect_run "$log" tools-unload-panic 0
expect_sysfs "$log" tools-unload-panic 0 0
expect_run "$log" tools-load-panic 0
expect_sysfs "$log" tools-load-panic 0 1
expect_run "$log" status-tools-image 1
expect_run "$log" unload-tools-image 0
expect_sysfs "$log" unload-tools-image 0 0
# The kernel refuses the gzip file (ENOEXEC); the retry is from a memfd.
expect_run "$log" load-gzip 0 'gzip|memfd|unwrap|decompress'
expect_sysfs "$log" load-gzip 1 0
expect_run "$log" status-normal 1
expect_run "$log" unload-normal 0
expect_sysfs "$log" unload-normal 0 0
expect_run "$log" load-panic-too-big 255 'too small.*[0-9]+ MiB.*[0-9]+ MiB'
expect_sysfs "$log" load-panic-too-big 0 0
expect_run "$log" not-a-kernel 255 'not a kernel image'
expect_run "$log" load-exec 0
expect_sysfs "$log" load-exec 1 0
if grep -q '^KTEST: second boot: ktest_marker=kexec-42$' "$log"; then
	ok "kexec -e: the second kernel booted with the marker on its command line"
else
	fail "kexec -e: the second kernel booted with the marker on its command line" "$(grep -E '^KTEST' "$log" | tail -5)"
fi

# --- a real crash into the capture kernel ----------------------------------------
boot panic "crashkernel=256M ktest=panic"
log=$work/panic.txt
expect_run "$log" load-panic 0
expect_sysfs "$log" load-panic 0 1
if grep -Eq '^KTEST: capture kernel up: /proc/vmcore is [0-9]+ bytes$' "$log"; then
	ok "kexec -p then sysrq-c: the capture kernel boots and has /proc/vmcore"
else
	fail "kexec -p then sysrq-c: the capture kernel boots and has /proc/vmcore" "$(grep -E '^KTEST|Kernel panic' "$log" | tail -5)"
fi
lines=$(sed -n 's/^KTEST-DMESG-CRASH-LINES //p' "$log")
[[ ${lines:-0} -ge 1 ]] && ok "the capture kernel's vmcore-dmesg shows the sysrq crash" \
	|| fail "the capture kernel's vmcore-dmesg shows the sysrq crash" "lines: ${lines:-none}"

# --- no reservation ------------------------------------------------------------------
boot nocrash "ktest=nocrash"
log=$work/nocrash.txt
# kexec-tools dies (exit 1) before loading when no crash kernel memory is
# reserved (kexec/kexec.c: is_crashkernel_mem_reserved).
expect_run "$log" load-panic-unreserved 1 'crashkernel='
expect_sysfs "$log" load-panic-unreserved 0 0
fi

# --- classic kexec_load (-c): our bzImage loader and purgatory -------------------
boot classic "crashkernel=256M ktest=classic"
log=$work/classic.txt
expect_run "$log" c-load-panic 0 'kexec_load\(entry='
expect_sysfs "$log" c-load-panic 0 1
expect_run "$log" c-status-panic 1
expect_run "$log" c-tools-unload-panic 0
expect_sysfs "$log" c-tools-unload-panic 0 0
expect_run "$log" c-tools-load-panic 0
expect_sysfs "$log" c-tools-load-panic 0 1
expect_run "$log" c-unload-tools-image 0
expect_sysfs "$log" c-unload-tools-image 0 0
expect_run "$log" c-load-exec 0
expect_sysfs "$log" c-load-exec 1 0
if grep -q '^KTEST: second boot: ktest_marker=classic-42$' "$log"; then
	ok "kexec -c -l, -e: our purgatory started the second kernel with the marker on its command line"
else
	fail "kexec -c -l, -e: our purgatory started the second kernel with the marker on its command line" "$(grep -E '^KTEST' "$log" | tail -5)"
fi

boot classic-panic "crashkernel=256M ktest=classic-panic"
log=$work/classic-panic.txt
expect_run "$log" c-load-panic 0
expect_sysfs "$log" c-load-panic 0 1
if grep -Eq '^KTEST: capture kernel up: /proc/vmcore is [0-9]+ bytes$' "$log"; then
	ok "kexec -c -p then sysrq-c: the capture kernel boots from our ELF core header and has /proc/vmcore"
else
	fail "kexec -c -p then sysrq-c: the capture kernel boots from our ELF core header and has /proc/vmcore" "$(grep -E '^KTEST|Kernel panic' "$log" | tail -5)"
fi
lines=$(sed -n 's/^KTEST-DMESG-CRASH-LINES //p' "$log")
[[ ${lines:-0} -ge 1 ]] && ok "classic: vmcore-dmesg reads the crash through our ELF core header" \
	|| fail "classic: vmcore-dmesg reads the crash through our ELF core header" "lines: ${lines:-none}"

finish vm-kexec
