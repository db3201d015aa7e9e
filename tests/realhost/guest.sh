#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The test's side inside a real Debian guest (tests/realhost/run.sh installs
# it as /usr/local/sbin/ktest, run by the ktest-*.service units). Lines for
# the host go to the console: "KTEST-RUN NAME rc=N" and "KTEST-OUT NAME:
# LINE" (tests/vm/lib.sh's vm_expect_run reads them), plus markers.
#
#   ktest crash     wait until kdump is armed, then crash through sysrq
#   ktest verify    look at the saved dump as an admin would; write it and
#                   the facts to the export disk as a tar; power off
#   ktest stripe    first boot: a striped LV over two disks, vg/crash (xfs)
#   ktest refused   LUKS, md RAID1 and an LVM thin LV as targets: kdump
#                   start and the unit must refuse each; then kdump.conf
#                   and settings mistakes kdump start must refuse; power off
set -u
PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

say() { echo "$*" >/dev/console; }
mark() { echo "$*" >/dev/kmsg; }
# run NAME COMMAND...: the command's output and exit status, for the host.
# (sh has no locals: run_* names are run's own)
run() {
	run_name=$1
	shift
	run_out=$("$@" 2>&1)
	run_rc=$?
	printf '%s\n' "$run_out" | sed "s|^|KTEST-OUT $run_name: |" >/dev/console
	say "KTEST-RUN $run_name rc=$run_rc"
}
disk() { echo "/dev/disk/by-id/virtio-$1"; }
wait_for() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 120 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	[ -e "$1" ]
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }

case ${1:-} in
crash)
	# kdumpbox.service is a oneshot ordered before this unit: when it
	# failed, kdump will not be armed however long we wait.
	i=0
	while [ "$(cat /sys/kernel/kexec_crash_loaded)" != 1 ] && [ $i -lt 60 ]; do
		systemctl -q is-active kdumpbox.service || break
		sleep 0.5
		i=$((i + 1))
	done
	run initramfs ls -l /var/lib/kdumpbox/
	run start-log journalctl -b -u kdumpbox.service --no-pager -o cat
	if [ "$(cat /sys/kernel/kexec_crash_loaded)" != 1 ]; then
		say "KTEST-NOT-ARMED after $(uptime_s) s"
		run service systemctl status --no-pager -l kdumpbox.service
		systemctl poweroff
		exit 1
	fi
	mark "KTEST-ARMED uptime=$(uptime_s)"
	run status kdumpbox kdump status
	# as an admin would: the unit's ExecReload, then kdump-config's dry run
	run reload systemctl reload kdumpbox.service
	run reloaded-status kdump status
	run config-test kdump-config test
	run unit-deps systemctl show -p Wants -p After kdumpbox.service
	if [ "$(cat /sys/kernel/kexec_crash_loaded)" != 1 ]; then
		say "KTEST-NOT-ARMED after the reload"
		systemctl poweroff
		exit 1
	fi
	sync
	echo c >/proc/sysrq-trigger
	;;
verify)
	out=/run/ktest-export
	mkdir -p "$out"
	where=/var/crash
	if [ -s /etc/ktest-dump-device ]; then
		# an explicit target that is not mounted at boot: mount it as an
		# admin would to look at the dump
		dev=$(cat /etc/ktest-dump-device)
		wait_for "$dev"
		mkdir -p /mnt/target
		mount -o ro "$dev" /mnt/target
		where=/mnt/target/var/crash
	fi
	# every directory there but a file system's lost+found is a dump
	dumps=$(ls -d "$where"/*/ 2>/dev/null | grep -v '/lost+found/$')
	dumpdir=$(printf '%s\n' "$dumps" | sort | tail -1)
	dumpdir=${dumpdir%/}
	# Debian makes no /var/crash: before a dump, the file system that
	# would hold it is the one holding its nearest existing parent
	varcrash=/var/crash
	while [ ! -e "$varcrash" ]; do varcrash=$(dirname "$varcrash"); done
	mkdir -p /mnt/rootbind
	mount --bind / /mnt/rootbind
	{
		echo "DUMPDIR=$dumpdir"
		echo "DUMPS=$(printf '%s' "$dumps" | grep -c .)"
		[ -n "$dumpdir" ] && echo "FINDMNT_DUMP=$(findmnt -n -r -o SOURCE,FSTYPE,TARGET,FSROOT --target "$dumpdir")"
		echo "FINDMNT_VARCRASH=$(findmnt -n -r -o SOURCE,FSTYPE,TARGET,FSROOT --target "$varcrash")"
		echo "FINDMNT_ROOT=$(findmnt -n -r -o SOURCE,FSTYPE,TARGET,FSROOT --target /)"
		echo "ROOTFS_VARCRASH=$(ls -A /mnt/rootbind/var/crash 2>/dev/null | tr '\n' ' ')"
		echo "SERVICE=$(systemctl is-active kdumpbox.service)"
		echo "KERNEL=$(uname -r)"
	} >"$out/facts.txt"
	ls -l /var/lib/kdumpbox/ >"$out/initramfs.txt" 2>&1
	# what kdump start told the admin about the dump at this boot
	kdumpbox kdump status >"$out/kdump-status.txt" 2>&1
	journalctl -b -p err -o cat --no-pager >"$out/journal-err.txt" 2>&1
	journalctl -b -p info -o cat --no-pager | grep -F 'crash dump: ' >"$out/journal-info.txt" 2>&1
	cp /var/lib/ktest-notified "$out/notified.txt" 2>/dev/null || : >"$out/notified.txt"
	[ -n "$dumpdir" ] && ls -l --full-time "$dumpdir" >"$out/dumpdir.txt" 2>&1
	sed 's/^/KTEST-OUT facts: /' "$out/facts.txt" >/dev/console
	# the facts, then the dump's files, all at the top of the archive
	# shellcheck disable=SC2046 # the file names have no blanks
	if [ -n "$dumpdir" ]; then
		tar -cf "$(disk export)" -C "$out" $(ls "$out") -C "$dumpdir" $(ls "$dumpdir")
	else
		tar -cf "$(disk export)" -C "$out" $(ls "$out")
	fi
	sync
	say "KTEST-VERIFIED"
	systemctl poweroff
	;;
stripe)
	[ -e /etc/ktest-stripe.done ] && exit 0
	udevadm settle
	wait_for "$(disk stripe0)" && wait_for "$(disk stripe1)" || { say "KTEST-STRIPE no disks"; exit 1; }
	a=$(readlink -f "$(disk stripe0)")
	b=$(readlink -f "$(disk stripe1)")
	run stripe sh -ec "pvcreate -q $a $b; vgcreate -q vg $a $b; lvcreate -q -y -i2 -I64k -L 1G -n crash vg; mkfs.xfs -q /dev/vg/crash; udevadm settle"
	touch /etc/ktest-stripe.done
	;;
refused)
	a=$(readlink -f "$(disk md0)")
	b=$(readlink -f "$(disk md1)")
	c=$(readlink -f "$(disk luks)")
	d=$(readlink -f "$(disk thin)")
	run make-md sh -ec "mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 $a $b; mkfs.ext4 -q /dev/md0"
	head -c 64 /dev/urandom >/root/luks.key
	run make-luks sh -ec "cryptsetup luksFormat -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /root/luks.key $c; cryptsetup open --key-file /root/luks.key $c secret; mkfs.ext4 -q /dev/mapper/secret"
	run make-thin sh -ec "pvcreate -q $d; vgcreate -q vgd $d; lvcreate -q -y -L 200M -T vgd/pool; lvcreate -q -y -V 300M -T vgd/pool -n data; mkfs.ext4 -q /dev/mapper/vgd-data"
	cp /etc/kdump.conf /root/kdump.conf.shipped
	# the devices' names do not name their layer: the message must
	for layer in md:/dev/md0 luks:/dev/mapper/secret thin:/dev/mapper/vgd-data; do
		layer_name=${layer%%:*}
		{ cat /root/kdump.conf.shipped; echo "ext4 ${layer#*:}"; } >/etc/kdump.conf
		run "start-$layer_name" kdumpbox kdump start
		run "unit-$layer_name" systemctl restart kdumpbox.service
		run "status-$layer_name" systemctl status --no-pager -l -n 20 kdumpbox.service
	done
	# configuration mistakes, each a kdump.conf line or a settings line
	# (run.sh has the message each must give)
	for variant in "collector|core_collector makedumpfile -l --bogus -d 31" \
		"external|core_collector /usr/local/bin/no-such-collector -z" \
		"kexecargs|"; do
		variant_name=${variant%%|*}
		{ grep -v '^core_collector' /root/kdump.conf.shipped; echo "${variant#*|}"; } >/etc/kdump.conf
		settings=/etc/sysconfig/kdumpbox
		[ -e $settings ] && cp $settings /root/settings.shipped
		if [ "$variant_name" = kexecargs ]; then
			mkdir -p /etc/sysconfig
			{ grep -v '^KEXEC_ARGS=' /root/settings.shipped 2>/dev/null; echo 'KEXEC_ARGS="-s --bogus"'; } >$settings.new
			mv $settings.new $settings
		fi
		run "start-$variant_name" kdumpbox kdump start
		if [ -e /root/settings.shipped ]; then mv /root/settings.shipped $settings; else rm -f $settings; fi
	done
	cp /root/kdump.conf.shipped /etc/kdump.conf
	say "KTEST-REFUSED-DONE"
	systemctl poweroff
	;;
*)
	echo "usage: ktest crash|verify|stripe|refused" >&2
	exit 2
	;;
esac
