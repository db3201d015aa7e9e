#!/bin/busybox sh
# /init of the first kernel in tests/vm/capture.sh: the test's userland is
# busybox; everything kdump does is kdumpbox (/usr/sbin/kdump). It loads
# the virtio drivers the test disk needs, arms kdump, and crashes through
# 'kdump test --force'. The capture kernel then boots kdumpbox's own
# initramfs, which saves the dump and runs final_action. Lines the host
# checks: "KTEST-RUN NAME rc=N", "KTEST-OUT NAME: ...", "KTEST: ...".

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/usr/sbin:/sbin:/bin:/usr/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

say() { echo "KTEST: $*"; }
run() {
	name=$1
	shift
	"$@" >/tmp/out 2>&1
	rc=$?
	sed "s/^/KTEST-OUT $name: /" /tmp/out
	echo "KTEST-RUN $name rc=$rc"
}

for m in $(cat /lib/first-modules/load-order); do
	insmod "/lib/first-modules/$m" || say "insmod $m failed"
done
mdev -s 2>/dev/null
say "first kernel up: $(uname -r)"
# The ssh cases: QEMU user networking's static address, set as a host's
# network service would (permanent, so kdump start records it as static).
if [ -e /etc/ktest-network ]; then
	ip link set lo up
	ip link set eth0 up
	ip addr add 10.0.2.15/24 dev eth0
	say "network: $(ip -4 addr show dev eth0 | grep inet)"
fi

run rebuild kdump rebuild --print-contents
run start kdump start
run status kdump status
run show kdump show
# The 'absent' case: the target's label disappears after kdump start, so
# the capture kernel cannot find it (ext4's label sits at 1024 + 0x78).
if grep -q 'LABEL=kdumpgone' /etc/kdump.conf; then
	dd if=/dev/zero of=/dev/vda bs=1 seek=1144 count=16 conv=notrunc 2>/dev/null
	sync
	say "label of /dev/vda wiped"
fi
say "crashing"
sync
kdump test --force
say "kdump test returned $?"
sleep 5
poweroff -f
