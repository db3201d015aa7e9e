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
# ssh-dhcp: a lease from QEMU's DHCP server instead (udhcpc, with the
# script the host wrote: the address gets the lease's lifetime, so kdump
# start records DHCP).
if [ -e /etc/ktest-dhcp ]; then
	ip link set lo up
	ip link set eth0 up
	udhcpc -i eth0 -q -n -t 5 -s /etc/ktest-dhcp >/tmp/udhcpc.out 2>&1 || say "udhcpc failed: $(cat /tmp/udhcpc.out)"
	say "network: $(ip -4 addr show dev eth0 | grep -A1 inet | tr -s ' \n' ' ')"
elif [ -e /etc/ktest-network ]; then
	ip link set lo up
	ip link set eth0 up
	ip addr add 10.0.2.15/24 dev eth0
	say "network: $(ip -4 addr show dev eth0 | grep inet)"
fi

# The nfs cases: the export is mounted here, as on a host that uses it, so
# that kdump start records the options of that mount (port= among them),
# as kdump-utils does. busybox mount passes -o to mount(2) as the kernel's
# text options (this busybox has no NFS code of its own), hence addr=.
if [ -e /etc/ktest-nfs ]; then
	mkdir -p /mnt/nfs
	if mount -t nfs4 -o "$(cat /etc/ktest-nfs)" 10.0.2.2:/export /mnt/nfs; then
		say "nfs mounted: $(grep ' /mnt/nfs ' /proc/mounts)"
	else
		say "nfs mount failed"
	fi
fi

run rebuild kdump rebuild --print-contents
run start kdump start
run status kdump status
run show kdump show
# kdump start has what it needs from the mount; nfs-down stops the server
# once the guest says it is crashing.
[ -e /etc/ktest-nfs ] && umount /mnt/nfs
# The 'absent' case: the target's identity disappears after kdump start, so
# the capture kernel cannot find it. kdump start recorded the UUID, so the
# UUID goes with the label (ext4's UUID and label sit at 1024 + 0x68, 32
# bytes together).
if grep -q 'LABEL=kdumpgone' /etc/kdump.conf; then
	dd if=/dev/zero of=/dev/vda bs=1 seek=1128 count=32 conv=notrunc 2>/dev/null
	sync
	say "UUID and label of /dev/vda wiped"
fi
say "crashing"
sync
kdump test --force
say "kdump test returned $?"
sleep 5
poweroff -f
