#!/bin/busybox sh
# /init of tests/arm64/make-fixture.sh's guests: load qemu_fw_cfg (the
# driver writes VMCOREINFO into QEMU's vmcoreinfo device, which puts it into
# dump-guest-memory's ELF), say where the kernel keeps VMCOREINFO, and wait
# for the host to take the dump.
. /lib/guest-lib.sh
if [ -f /lib/modules/load-order ]; then
	while read -r module; do
		insmod "/lib/modules/$module" || say "insmod $module failed"
	done </lib/modules/load-order
fi
say "userspace up: $(uname -r) $(uname -m)"
echo "KTEST-VMCOREINFO $(cat /sys/kernel/vmcoreinfo)"
[ -d /sys/firmware/qemu_fw_cfg ] && say "fw_cfg: present" || say "fw_cfg: missing"
say "fixture-ready"
while true; do sleep 60; done
