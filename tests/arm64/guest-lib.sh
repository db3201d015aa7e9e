#!/bin/busybox sh
# The guest side of tests/arm64: /init scripts source /lib/guest-lib.sh.
# It sets up busybox, /proc, /sys and /dev, and gives the helpers whose
# console lines the host asserts on (vm_expect_run in tests/vm/lib.sh):
#   KTEST-RUN NAME rc=N        a command's exit status
#   KTEST-OUT NAME: LINE       its output (stdout and stderr)
#   KTEST: ...                 milestones (say)
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

say() { echo "KTEST: $*"; }
# off: power the guest off once the console has sent everything.
off() {
	sync
	sleep 1
	poweroff -f
	sleep 60
}
# run NAME COMMAND...: runs it, prints its output and its exit status.
run() {
	name=$1
	shift
	"$@" >/tmp/out 2>&1
	rc=$?
	sed "s/^/KTEST-OUT $name: /" /tmp/out
	echo "KTEST-RUN $name rc=$rc"
}
# cmdline_opt NAME: the value of NAME= on the kernel command line.
cmdline_opt() {
	for w in $(cat /proc/cmdline); do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
}
