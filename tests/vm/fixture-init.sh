#!/bin/busybox sh
# /init of the guest that tests/vm/make-fixture.sh boots.  Two roles in one
# script:
#   first kernel   (no /proc/vmcore): fill memory with a realistic mix, load
#                  the capture kernel with kexec -p, crash with sysrq-c;
#   capture kernel (/proc/vmcore exists): copy /proc/vmcore to the disk whose
#                  serial is kdumpbox-dump, power off.
# Every step prints a "KDUMPBOX-FIXTURE: " line on the console; the host
# checks for them.  Options come from the kernel command line:
#   kdumpbox.kexec=auto|load|file   kexec_load (-p), kexec_file_load (-s -p),
#                                   or load first and file as a fallback
# The capture kernel's command line is in /etc/capture-cmdline.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /mnt
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

say() { echo "KDUMPBOX-FIXTURE: $*"; }

fail() {
	say "FAILED: $*"
	sync
	sleep 1 # let the UART send the line above
	poweroff -f
	sleep 60
}

cmdline_opt() { # cmdline_opt NAME DEFAULT
	v=$2
	# shellcheck disable=SC2013 # the command line is split into words on purpose
	for w in $(cat /proc/cmdline); do
		case $w in "$1="*) v=${w#*=} ;; esac
	done
	echo "$v"
}

load_modules() {
	[ -f /lib/modules/load-order ] || return 0
	while read -r m; do
		[ -n "$m" ] || continue
		if ! insmod "/lib/modules/$m" 2>/tmp/insmod.err; then
			grep -q "^${m%.ko} " /proc/modules || fail "insmod $m: $(cat /tmp/insmod.err)"
		fi
	done </lib/modules/load-order
}

# wait_disk SERIAL: print /dev/vdX of the virtio disk with that serial
wait_disk() {
	i=0
	while [ $i -lt 120 ]; do
		for d in /sys/block/vd*; do
			[ -e "$d/serial" ] || continue
			if [ "$(cat "$d/serial")" = "$1" ] && [ -b "/dev/${d##*/}" ]; then
				echo "/dev/${d##*/}"
				return 0
			fi
		done
		sleep 1
		i=$((i + 1))
	done
	return 1
}

meminfo_kib() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

meminfo_line() {
	awk '$1 ~ /^(MemTotal|MemFree|Cached|Buffers|Shmem|AnonPages|AnonHugePages|Dirty|Slab):$/ {
		printf "%s%s=%dMiB", sep, substr($1, 1, length($1) - 1), $2 / 1024; sep = " " }
		END { print "" }' /proc/meminfo
}

capture() {
	say "capture start: $(uname -r)"
	load_modules
	dump=$(wait_disk kdumpbox-dump) || fail "no virtio disk with serial kdumpbox-dump"
	size=$(stat -c %s /proc/vmcore)
	say "vmcore-size $size"
	disk=$(($(cat "/sys/block/${dump#/dev/}/size") * 512))
	[ "$size" -le "$disk" ] || fail "/proc/vmcore ($size bytes) is larger than $dump ($disk bytes)"
	dd if=/proc/vmcore of="$dump" bs=1M conv=fsync 2>/tmp/dd.err || fail "dd /proc/vmcore to $dump: $(tail -n 1 /tmp/dd.err)"
	sync
	say "capture done"
	sleep 1 # let the UART send the line above
	poweroff -f
	sleep 60
}

first() {
	say "first kernel up: $(uname -r)"
	load_modules
	data=$(wait_disk kdumpbox-data) || fail "no virtio disk with serial kdumpbox-data"
	wait_disk kdumpbox-dump >/dev/null || fail "no virtio disk with serial kdumpbox-dump"
	wait_disk kdumpbox-scratch >/dev/null || fail "no virtio disk with serial kdumpbox-scratch"

	# The memory mix, as shares of MemTotal (what the crashkernel= left):
	#   anonymous random 12%, anonymous text 8%, anonymous zeros 8%,
	#   tmpfs files 5%, ext4 files 5%, page cache of the data disk (all of
	#   it, sized by the host at about 20% of the guest), the rest stays free.
	total=$(($(meminfo_kib MemTotal) / 1024))
	say "memtotal ${total}MiB"
	memfill random $((total * 12 / 100)) /tmp/ready.random &
	memfill text $((total * 8 / 100)) /tmp/ready.text &
	memfill zero $((total * 8 / 100)) /tmp/ready.zero &

	# page cache: read the whole data disk through the block device.  The
	# kernel drops a block device's page cache when its last opener closes
	# it, so this shell (pid 1, alive until the crash) keeps fd 8 open.
	exec 8<"$data" || fail "opening $data"
	dd if="$data" of=/dev/null bs=1M 2>/dev/null || fail "reading $data"

	# tmpfs: files written, then read back
	tmpfs_mib=$((total * 5 / 100))
	mkdir -p /mnt/tmpfs
	mount -t tmpfs -o size=$((tmpfs_mib + 16))m tmpfs /mnt/tmpfs || fail "mount tmpfs"
	n=0
	while [ $((n * 8)) -lt "$tmpfs_mib" ]; do
		dd if="$data" of="/mnt/tmpfs/file$n" bs=1M count=8 skip=$((n * 8)) 2>/dev/null || fail "writing tmpfs"
		n=$((n + 1))
	done
	cat /mnt/tmpfs/file* >/dev/null

	# file page cache with buffer heads (makedumpfile's "private cache"):
	# files on an ext2 file system (the ext4 driver) on the scratch disk,
	# most of them written back, the last one left dirty
	scratch=$(wait_disk kdumpbox-scratch) || fail "no virtio disk with serial kdumpbox-scratch"
	mke2fs -q "$scratch" >/dev/null 2>&1 || fail "mke2fs $scratch"
	mkdir -p /mnt/ext
	mount -t ext4 "$scratch" /mnt/ext || fail "mount $scratch"
	ext_mib=$((total * 5 / 100))
	n=0
	while [ $((n * 8)) -lt "$ext_mib" ]; do
		dd if="$data" of="/mnt/ext/file$n" bs=1M count=8 skip=$((n * 8 + 4)) 2>/dev/null || fail "writing ext4"
		n=$((n + 1))
	done
	sync
	dd if="$data" of=/mnt/ext/dirty bs=1M count=4 skip=1 2>/dev/null || fail "writing ext4"

	i=0
	while [ ! -e /tmp/ready.random ] || [ ! -e /tmp/ready.text ] || [ ! -e /tmp/ready.zero ]; do
		[ $i -lt 600 ] || fail "memfill did not finish"
		sleep 1
		i=$((i + 1))
	done
	say "memory ready: $(meminfo_line)"

	append=$(cat /etc/capture-cmdline)
	mode=$(cmdline_opt kdumpbox.kexec auto)
	loaded=""
	if [ "$mode" != file ]; then
		if kexec -p /boot/vmlinuz --initrd=/boot/capture.cpio.gz --append="$append" 2>/tmp/kexec.err; then
			loaded=kexec_load
		else
			say "kexec -p failed: $(tail -n 1 /tmp/kexec.err)"
		fi
	fi
	if [ -z "$loaded" ] && [ "$mode" != load ]; then
		if kexec -s -p /boot/vmlinuz --initrd=/boot/capture.cpio.gz --append="$append" 2>/tmp/kexec.err; then
			loaded=kexec_file_load
		else
			say "kexec -s -p failed: $(tail -n 1 /tmp/kexec.err)"
		fi
	fi
	[ -n "$loaded" ] || fail "could not load the capture kernel"
	[ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] || fail "kexec_crash_loaded is not 1"
	say "crash kernel loaded: $loaded"
	sync
	say "crashing"
	sleep 1 # let the UART send the lines above before the panic
	echo c >/proc/sysrq-trigger
	sleep 10
	fail "still running after sysrq-c"
}

if [ -e /proc/vmcore ]; then
	capture
else
	first
fi
