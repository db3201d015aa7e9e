#!/bin/bash
# tests/vm/make-fixture.sh: make a real ELF /proc/vmcore from a crashed
# Debian cloud kernel running under QEMU (TCG).
#
#   make-fixture.sh [--suite bookworm|trixie] [--mem MiB] [--kexec auto|load|file]
#                   [--crashkernel SIZE] [--cpu QEMU-CPU-MODEL] OUT.vmcore
#
# The guest fills its memory with a mix of anonymous pages (random, text,
# zeros), page cache, tmpfs files and free memory, loads the same kernel as a
# capture kernel with kexec -p, crashes with sysrq-c; the capture kernel
# copies /proc/vmcore to a raw virtio disk.  The default CPU model "max" has
# LA57, so the guest runs with 5-level page tables; "max,la57=off" gives the
# 4-level tables most real machines use.  The disk image, cut to the size
# the ELF program headers give, becomes OUT.vmcore.  Beside it:
#   OUT.vmcore.info         key=value lines (value to the end of the line)
#   OUT.vmcore.console.log  the guest's serial console
# Work files are kept under $KDUMPBOX_CACHE/vm/work/ (default cache
# ~/.cache/kdumpbox).  KDUMPBOX_VM_TIMEOUT overrides the guest time limit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VM_ME=make-fixture
. "$here/lib.sh"

usage() {
	sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

suite=bookworm mem=1024 kexec_mode=auto crashkernel=256M cpu=max out=""
while (($#)); do
	case $1 in
	--suite) suite=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--kexec) kexec_mode=${2:?}; shift 2 ;;
	--crashkernel) crashkernel=${2:?}; shift 2 ;;
	--cpu) cpu=${2:?}; shift 2 ;;
	-h | --help) usage ;;
	-*) vm_die "unknown option $1" ;;
	*) [[ -z $out ]] || usage; out=$1; shift ;;
	esac
done
[[ -n $out ]] || usage
if [[ ! $mem =~ ^[0-9]+$ ]] || ((mem < 512)); then
	vm_die "--mem must be a number of MiB, at least 512"
fi
case $kexec_mode in auto | load | file) ;; *) vm_die "--kexec must be auto, load or file" ;; esac
out=$(realpath -m "$out")
mkdir -p "$(dirname "$out")"

t_start=$SECONDS
stage() { # stage NAME: report the time the previous stage took (informational)
	local now=$SECONDS
	[[ -n ${stage_name:-} ]] && vm_log "stage $stage_name: $((now - stage_t))s"
	stage_name=$1 stage_t=$now
}

stage host-packages
vm_require_host_packages

stage kernel
vm_fetch_kernel "$suite"
vm_log "kernel $VM_KERNEL_PKG $VM_KERNEL_DEB_VERSION ($suite)"

work=$VM_CACHE/vm/work/$suite-$VM_KERNEL_RELEASE-${mem}M-${cpu//[^a-z0-9]/_}
mkdir -p "$work"
exec 7>"$work/.lock"
flock -n 7 || vm_die "another make-fixture.sh is using $work"

# --- the static memory-filling helper -------------------------------------------
stage memfill
build=$VM_CACHE/vm/build
mkdir -p "$build"
memfill_sum=$(sha256sum "$here/memfill.c" | cut -c1-16)
memfill=$build/memfill-$memfill_sum
if [[ ! -x $memfill ]]; then
	musl-gcc -static -O2 -Wall -o "$memfill.tmp" "$here/memfill.c" || vm_die "musl-gcc could not build memfill"
	strip "$memfill.tmp" 2>/dev/null || true
	mv "$memfill.tmp" "$memfill"
fi

# --- initramfs: capture image first, then the first kernel's image holding it --------
stage initramfs
root=$work/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mnt,etc,boot,lib/modules}
cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$here/fixture-init.sh" "$root/init"
install -m 0755 "$memfill" "$root/bin/memfill"
vm_install_modules "$VM_MODULES_DIR" "$root/lib/modules" virtio_pci virtio_blk
capture_append="console=ttyS0 reset_devices irqpoll nr_cpus=1 maxcpus=1 nousb panic=1"
printf '%s\n' "$capture_append" >"$root/etc/capture-cmdline"
vm_make_initramfs "$root" "$work/capture.cpio.gz"

kexec_bin=$(command -v kexec || true)
[[ -n $kexec_bin ]] || vm_die "kexec not found (install kexec-tools)"
vm_install_binary "$root" "$kexec_bin"
# the guest's PATH has /sbin and /usr/sbin: make kexec reachable whatever its host path
[[ -e $root/sbin/kexec ]] || ln -s "$kexec_bin" "$root/sbin/kexec"
cp "$VM_VMLINUZ" "$root/boot/vmlinuz"
cp "$work/capture.cpio.gz" "$root/boot/capture.cpio.gz"
vm_make_initramfs "$root" "$work/first.cpio.gz"
vm_log "initramfs: capture $(($(stat -c %s "$work/capture.cpio.gz") / 1024)) KiB, first $(($(stat -c %s "$work/first.cpio.gz") / 1024)) KiB"

# --- disks ---------------------------------------------------------------------------
# data disk: read by the first kernel into its page cache; about 20% of the
# guest, half pseudo-random bytes, half the host's own files (compressible).
stage disks
data_mib=$((mem * 20 / 100))
data=$VM_CACHE/vm/build/data-${data_mib}M.img
if [[ ! -e $data.stamp ]]; then
	half=$((data_mib / 2))
	{
		head -c "$((half << 20))" /dev/urandom
		(
			set +o pipefail
			find /usr/lib /usr/share -xdev -type f -size +16k -print0 2>/dev/null | LC_ALL=C sort -z |
				xargs -0 cat 2>/dev/null | head -c "$(((data_mib - half) << 20))"
		)
	} >"$data.tmp"
	truncate -s "$((data_mib << 20))" "$data.tmp"
	mv "$data.tmp" "$data"
	touch "$data.stamp"
fi
# dump disk: sparse, a little larger than the guest's memory
dump=$work/dump.img
rm -f "$dump"
truncate -s "$(((mem + 64) << 20))" "$dump"

# scratch disk: the first kernel makes an ext2 file system on it and writes files
scratch=$work/scratch.img
rm -f "$scratch"
truncate -s "$(((mem * 10 / 100 + 32) << 20))" "$scratch"

# --- the crash cycle ---------------------------------------------------------------------
stage guest
log=$work/console.log
append="console=ttyS0 crashkernel=$crashkernel panic=1 kdumpbox.kexec=$kexec_mode"
timeout=${KDUMPBOX_VM_TIMEOUT:-$((900 + mem * 600 / 1024))}
vm_log "booting the guest ($mem MiB, -cpu $cpu, crashkernel=$crashkernel); console: $log"
rc=0
vm_run --log "$log" --kernel "$VM_VMLINUZ" --initrd "$work/first.cpio.gz" \
	--append "$append" --mem "$mem" --smp 2 --cpu "$cpu" --timeout "$timeout" \
	--disk "$dump,serial=kdumpbox-dump,discard=unmap,detect-zeroes=unmap" \
	--disk "$data,serial=kdumpbox-data,readonly=on" \
	--disk "$scratch,serial=kdumpbox-scratch,discard=unmap" || rc=$?
rm -f "$scratch"

marker() { grep -a -m1 "KDUMPBOX-FIXTURE: $1" "$log" || true; }
if ((rc == 124 || rc == 137)); then
	how="qemu was stopped after the ${timeout}s limit (KDUMPBOX_VM_TIMEOUT)"
else
	how="qemu exited with status $rc"
fi
failed=$(marker FAILED)
[[ -z $failed ]] || vm_die "guest: ${failed#*FIXTURE: } (console: $log)"
[[ -n $(marker 'first kernel up') ]] || vm_die "the first kernel never ran /init; $how (console: $log)"
[[ -n $(marker 'memory ready') ]] || vm_die "the first kernel did not finish filling memory; $how (console: $log)"
[[ -n $(marker 'crash kernel loaded') ]] || vm_die "the capture kernel was not loaded; $how (console: $log)"
# "crashing" may be lost on the way out of the UART when the panic is quick:
# "capture start" is proof enough that the crash happened
if [[ -z $(marker 'capture start') ]]; then
	[[ -n $(marker 'crashing') ]] || vm_die "the first kernel never triggered the crash; $how (console: $log)"
	vm_die "the capture kernel never ran /init after the crash; $how (console: $log)"
fi
[[ -n $(marker 'capture done') ]] || vm_die "the capture kernel did not finish copying /proc/vmcore; $how (console: $log)"
((rc == 0)) || vm_die "$how after the capture (console: $log)"

# --- the fixture ------------------------------------------------------------------------------
stage fixture
size=$(vm_elf_core_size "$dump") || vm_die "the dump disk does not start with an ELF core header"
guest_size=$(marker 'vmcore-size' | awk '{ print $NF }' | tr -d '\r')
[[ $size == "$guest_size" ]] || vm_die "ELF headers give $size bytes but the guest's /proc/vmcore had $guest_size"
truncate -s "$size" "$dump"
mv "$dump" "$out.tmp"
mv "$out.tmp" "$out"
cp "$log" "$out.console.log"

banner=$(grep -a -m1 -o 'Linux version .*' "$log" | tr -d '\r' || true)
memory=$(marker 'memory ready' | sed 's/.*memory ready: //' | tr -d '\r')
loaded=$(marker 'crash kernel loaded' | sed 's/.*loaded: //' | tr -d '\r')
cat >"$out.info.tmp" <<EOF
format=elf-vmcore
suite=$suite
kernel_release=$VM_KERNEL_RELEASE
kernel_package=$VM_KERNEL_PKG
kernel_deb_version=$VM_KERNEL_DEB_VERSION
kernel_banner=$banner
vmlinuz=$VM_VMLINUZ
guest_mem_mib=$mem
qemu_cpu=$cpu
crashkernel=$crashkernel
kexec=$loaded
capture_cmdline=$capture_append
vmcore_size=$size
memory_before_crash=$memory
EOF
mv "$out.info.tmp" "$out.info"
stage ""
vm_log "wrote $out ($((size >> 20)) MiB) in $((SECONDS - t_start))s"
