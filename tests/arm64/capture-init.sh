#!/bin/busybox sh
# /init of tests/arm64/capture.sh's first kernel (and of the second kernel
# that `kexec -e` starts): the aarch64 kdumpbox on a real arm64 kernel
# whose kexec_file_load does not exist, so every load is classic
# kexec_load. ktest_stage= on the command line says which step this is:
#   exec   (first kernel) kexec -c -l this kernel with /boot/second.gz, then -e
#   second (the kernel kexec -e started) says so and powers off
#   capture (first kernel) kdump start (auto: file load, then classic), then
#          a panic; kdumpbox's own capture initramfs saves the dump
. /lib/guest-lib.sh
stage=$(cmdline_opt ktest_stage)
say "kernel up: $(uname -r) $(uname -m) stage=$stage"
case $stage in
second)
	run second-cmdline cat /proc/cmdline
	say "done"
	off
	;;
exec)
	release=$(uname -r)
	run load kdumpbox kexec -c -l "/boot/vmlinuz-$release" --initrd=/boot/second.gz \
		--command-line="console=ttyAMA0 ktest_stage=second panic=1"
	run loaded cat /sys/kernel/kexec_loaded
	say "exec"
	kdumpbox kexec -e
	say "kexec -e returned $?"
	off
	;;
capture)
	for m in $(cat /lib/first-modules/load-order); do
		insmod "/lib/first-modules/$m" || say "insmod $m failed"
	done
	mdev -s 2>/dev/null
	run start kdump start
	run status kdump status
	run crash-loaded cat /sys/kernel/kexec_crash_loaded
	say "crashing"
	sync
	echo c >/proc/sysrq-trigger
	say "still alive after the panic"
	off
	;;
*)
	say "no ktest_stage"
	off
	;;
esac
