#!/bin/busybox sh
# /init of the guests that tests/vm/kexec.sh boots. It runs kdumpbox's kexec
# applet (and Debian's kexec-tools, for interoperability) and reports every
# step on the console; the host script asserts on what it printed:
#   KTEST-RUN NAME rc=N        a command's exit status
#   KTEST-OUT NAME: LINE       its output (stdout and stderr)
#   KTEST-SYSFS NAME loaded=A crash=B   /sys/kernel/kexec_{,crash_}loaded after it
#   KTEST: ...                 milestones
# The scenario comes from the kernel command line (ktest=status|panic|
# nocrash|classic|classic-panic); the kernels kexec'd from here boot /boot/second.cpio.gz, which
# holds this same script and reports the marker or /proc/vmcore it finds.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

say() { echo "KTEST: $*"; }
off() {
	sync
	sleep 1 # let the UART send what is queued
	poweroff -f
	sleep 60
}
sysfs() {
	echo "KTEST-SYSFS $1 loaded=$(cat /sys/kernel/kexec_loaded) crash=$(cat /sys/kernel/kexec_crash_loaded)"
}
# run NAME COMMAND...: runs it, prints its output and status, then sysfs.
run() {
	name=$1
	shift
	"$@" >/tmp/out 2>&1
	rc=$?
	sed "s/^/KTEST-OUT $name: /" /tmp/out
	echo "KTEST-RUN $name rc=$rc"
	sysfs "$name"
}
cmdline_opt() {
	for w in $(cat /proc/cmdline); do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
}

# --- the kernels this script kexecs into --------------------------------------
if [ -e /proc/vmcore ]; then
	say "capture kernel up: /proc/vmcore is $(stat -c %s /proc/vmcore) bytes"
	echo "KTEST-DMESG-CRASH-LINES $(kdumpbox vmcore-dmesg /proc/vmcore | grep -c 'sysrq: Trigger a crash')"
	off
fi
marker=$(cmdline_opt ktest_marker)
if [ -n "$marker" ]; then
	say "second boot: ktest_marker=$marker"
	off
fi

second="/boot/second.cpio.gz"
capture_append="console=ttyS0 irqpoll nr_cpus=1 reset_devices panic=1"
say "first kernel up: $(uname -r), scenario $(cmdline_opt ktest)"
sysfs boot

case $(cmdline_opt ktest) in
status)
	run status-empty kexec -p -S
	run load-panic kexec -p /boot/vmlinuz --initrd=$second --append="$capture_append"
	run status-panic kexec -p -S
	run status-default kexec -S
	run tools-status-panic /usr/sbin/kexec -S -p
	run unload-panic kexec -p -u
	run status-after-unload kexec -p -S
	run load-panic-again kexec -p /boot/vmlinuz --initrd=$second --append="$capture_append"
	run tools-unload-panic /usr/sbin/kexec -p -u
	run tools-load-panic /usr/sbin/kexec -s -p /boot/vmlinuz --initrd=$second --append="$capture_append"
	run status-tools-image kexec -p -S
	run unload-tools-image kexec -p -u
	gzip -c /boot/vmlinuz >/tmp/vmlinuz.gz
	run load-gzip kexec -d -l /tmp/vmlinuz.gz --initrd=$second --append="console=ttyS0"
	run status-normal kexec -l -S
	run unload-normal kexec -u
	dd if=/dev/urandom of=/tmp/big.img bs=1M count=300 2>/dev/null
	run load-panic-too-big kexec -p /boot/vmlinuz --initrd=/tmp/big.img --append="$capture_append"
	rm -f /tmp/big.img
	run not-a-kernel kexec -l /bin/busybox
	run load-exec kexec -l /boot/vmlinuz --initrd=$second --reuse-cmdline --append="ktest_marker=kexec-42"
	say "exec"
	kexec -e
	say "kexec -e returned $?"
	;;
panic)
	run load-panic kexec -p /boot/vmlinuz --initrd=$second --append="$capture_append"
	say "crashing"
	sync
	echo c >/proc/sysrq-trigger
	;;
classic)
	# Classic kexec_load (-c): our loader and purgatory; kexec-tools unloads
	# what we loaded, and we unload what its classic loader loaded.
	run c-load-panic kexec -c -d -p /boot/vmlinuz --initrd=$second --append="$capture_append"
	run c-status-panic kexec -p -S
	run c-tools-unload-panic /usr/sbin/kexec -p -u
	run c-tools-load-panic /usr/sbin/kexec -c -p /boot/vmlinuz --initrd=$second --append="$capture_append"
	run c-unload-tools-image kexec -c -p -u
	run c-load-exec kexec -c -d -l /boot/vmlinuz --initrd=$second --reuse-cmdline --append="ktest_marker=classic-42"
	say "exec"
	kexec -e
	say "kexec -e returned $?"
	;;
classic-panic)
	run c-load-panic kexec -c -p /boot/vmlinuz --initrd=$second --append="$capture_append"
	say "crashing"
	sync
	echo c >/proc/sysrq-trigger
	;;
nocrash)
	run load-panic-unreserved kexec -p /boot/vmlinuz --initrd=$second --append="$capture_append"
	;;
*)
	say "unknown scenario"
	;;
esac
say "done"
off
