#!/bin/busybox sh
# /init of the guest tests/vm/nfs.sh boots: loads the NIC and NFS modules,
# sets QEMU user networking's static address (10.0.2.15/24; the host's
# 127.0.0.1 is 10.0.2.2), then runs kdumpbox mount-and-save against the
# host's NFS server and reports every step on the console:
#   KTEST-RUN NAME rc=N        a command's exit status
#   KTEST-OUT NAME: LINE       its output (stdout and stderr)
#   KTEST: ...                 milestones
# The server's ports come from the kernel command line (ktest_port=,
# ktest_mountport=; ktest_v3=1 when the server serves NFSv3).

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
export ASAN_OPTIONS=detect_leaks=0 # for a sanitizer build; no ptrace for LSan here

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
run() {
	name=$1
	shift
	"$@" >/tmp/out 2>&1
	rc=$?
	sed "s/^/KTEST-OUT $name: /" /tmp/out
	echo "KTEST-RUN $name rc=$rc"
}
cmdline_opt() {
	for w in $(cat /proc/cmdline); do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
}

while read -r module; do
	insmod "/lib/test-modules/$module" || say "insmod $module failed"
done </lib/test-modules/load-order
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
say "network: $(ip -4 addr show dev eth0 | grep inet)"
grep -q nfs4 /proc/filesystems && say "nfs4 file system registered"

port=$(cmdline_opt ktest_port)
mountport=$(cmdline_opt ktest_mountport)
closed=$(cmdline_opt ktest_closed_port)
echo "payload from the guest $(cat /proc/sys/kernel/random/uuid)" >/tmp/payload
say "payload sha256 $(sha256sum /tmp/payload | cut -d' ' -f1)"

# NFSv4, the version negotiated (4.2 first); a file, then standard input.
run v4 kdumpbox mount-and-save -o port=$port --host-ip 10.0.2.15 --path /var/crash --mountpoint /mnt/v4 10.0.2.2:/export /tmp/payload
run v4-stdin-name sh -c "echo from-stdin | kdumpbox mount-and-save -o port=$port --host-ip 10.0.2.15 --path /stdin --name vmcore 10.0.2.2:/export -"
# -t nfs4 with a minor version.
run v4.0 kdumpbox mount-and-save -t nfs4 -o vers=4.0,port=$port --path /v40 10.0.2.2:/export /tmp/payload
if [ "$(cmdline_opt ktest_v3)" = 1 ]; then
	run v3 kdumpbox mount-and-save -t nfs -o vers=3,port=$port,mountport=$mountport --path /v3 10.0.2.2:/export /tmp/payload
fi
# Failures: an export the server does not have; a port nothing listens on.
run no-export kdumpbox mount-and-save -o port=$port --path /x 10.0.2.2:/not-exported /tmp/payload
run refused kdumpbox mount-and-save -o port=$closed,vers=4.2 --path /x 10.0.2.2:/export /tmp/payload
grep ' nfs' /proc/mounts | sed 's/^/KTEST-MOUNTS: /'
say "done"
off
