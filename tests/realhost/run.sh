#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm-realhost: kdumpbox on real Debian 12 installs with systemd, the way a
# user gets it. The image is debootstrapped once (tests/realhost/lib.sh);
# the Debian package is built once from the release build
# (conf/make-deb.sh) and its install, reinstall, remove and purge are
# checked in a copy of the image (no boot); each case lays out disks as a
# distribution installer would, installs the package with the README's
# "Installing" steps, and boots the image's own
# kernel and initramfs-tools initrd under QEMU TCG with crashkernel=256M:
#   1. crash boot: kdumpbox.service arms kdump; ktest-crash.service waits
#      for /sys/kernel/kexec_crash_loaded and crashes through sysrq; the
#      capture kernel saves the dump and reboots (QEMU exits).
#   2. verify boot: ktest-verify.service looks at the dump as an admin
#      would (findmnt --target), tars it and the facts to an export disk,
#      and powers off. The host opens the vmcore in crash and libkdumpfile.
#
# Usage: tests/realhost/run.sh BUILD_DIR/kdumpbox [CASE...]
# (the binary of a static-musl meson build: the package is made from that
# build directory)
# Cases: explicit (ext4 root, `ext4 UUID=<root>` named in kdump.conf),
#        partuuid (a: GPT, ext4 root by root=PARTUUID=),
#        lvm (b: /boot plus an xfs root LV, root=/dev/mapper/vg0-root),
#        varcrash (c: /var/crash on its own file system),
#        btrfs (d: root in the subvolume "root"),
#        stripe (e: `xfs /dev/mapper/vg-crash`, striped over two disks),
#        refused (f: LUKS, md RAID1 and a thin LV must be refused; so must
#        a bad core_collector option, a missing collector, bad KEXEC_ARGS),
#        ssh (g: `ssh root@10.0.2.2` to an sshd on this host, with an RSA
#        key in ssh-keygen's default OpenSSH format; the vmcore arrives
#        here over SFTP, so no verify boot).
set -euo pipefail

binary=$(readlink -f "${1:?usage: run.sh PATH/TO/kdumpbox [CASE...]}")
shift
cases=("$@")
((${#cases[@]})) || cases=(explicit partuuid lvm varcrash btrfs stripe refused ssh)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
VM_ME=vm-realhost
. "$here/../vm/lib.sh"
. "$here/../vm/sshd.sh"
. "$here/lib.sh"
. "$here/../testlib.sh"
set +e
tier_started=$SECONDS

if [[ $(id -u) != 0 ]]; then
	skip "vm-realhost" "needs root for loop devices and chroot"
	finish vm-realhost
	exit
fi
if ! file "$binary" | grep -q 'statically linked'; then
	fail "the binary is static" "$(file "$binary")"
	finish vm-realhost
	exit
fi
vm_require_packages qemu-system-x86 debootstrap lvm2 e2fsprogs xfsprogs btrfs-progs fdisk crash python3-libkdumpfile
export LVM_SUPPRESS_FD_WARNINGS=1

work=$(mktemp -d /tmp/kdumpbox-realhost-XXXXXX)
# LVM's backups and archives of the test VGs stay out of the host's /etc/lvm.
export LVM_SYSTEM_DIR=$work/lvm
mkdir -p "$LVM_SYSTEM_DIR" "$work/mnt"
: >"$LVM_SYSTEM_DIR/lvm.conf"
: >"$work/loops"
cleanup() {
	local dev
	sshd_stop
	rh_chroot_umounts "$work/mnt" 2>/dev/null
	umount -R "$work/mnt" 2>/dev/null
	while read -r dev; do losetup -d "$dev" 2>/dev/null; done <"$work/loops"
	rm -rf "$work"
}
trap cleanup EXIT

rh_rootfs || exit 1
vm_log "image kernel $RH_KERNEL_RELEASE, rootfs $RH_ROOTFS_TAR"

# The package, once per run, from the build directory the binary is in.
if ! deb=$(bash "$top/conf/make-deb.sh" "$(dirname "$binary")" "$work/deb" 2>"$work/make-deb.log"); then
	fail "conf/make-deb.sh builds the package from $(dirname "$binary")" "$(tail -15 "$work/make-deb.log")"
	finish vm-realhost
	exit
fi
ok "conf/make-deb.sh builds ${deb##*/} ($(stat -c %s "$deb") bytes)"
vmlinux=""
if vm_fetch_kernel bookworm >&2 && [[ $VM_KERNEL_RELEASE == "$RH_KERNEL_RELEASE" ]] && vm_fetch_dbg_vmlinux >&2; then
	vmlinux=$VM_DBG_VMLINUX
fi

# --- disks -------------------------------------------------------------------

# loop_for FILE OFFSET_BYTES SIZE_BYTES: a loop device over that range,
# detached at exit.
loop_for() {
	local dev
	dev=$(losetup -f --show -o "$2" --sizelimit "$3" "$1") || return 1
	echo "$dev" >>"$work/loops"
	echo "$dev"
}
# part_loop FILE N: a loop device over partition N of the disk image FILE.
part_loop() {
	local range
	range=$(sfdisk -J "$1" | "$VM_PY" -c '
import json, sys
t = json.load(sys.stdin)["partitiontable"]
p = t["partitions"][int(sys.argv[1]) - 1]
ss = t.get("sectorsize", 512)
print(p["start"] * ss, p["size"] * ss)' "$2") || return 1
	loop_for "$1" "${range% *}" "${range#* }"
}
new_uuid() { cat /proc/sys/kernel/random/uuid; }
fs_uuid() { blkid -p -s UUID -o value "$1"; }

# The README's "Installing" commands (the code lines before the section's
# first subsection), run as they are in the image's chroot, from a tree
# holding the package where they expect it (build/release/).
readme_install_commands() {
	awk '/^## Installing/ { on = 1; next } on && /^#/ { exit } on && /^    / { sub(/^    /, ""); print }' "$top/README.md"
}

# fill_root MNT FSTAB: the image's files, kdumpbox installed as the README
# says, the test's units, and FSTAB as /etc/fstab. MNT is the root mount,
# with any separate file systems already mounted below it.
fill_root() {
	local mnt=$1 fstab=$2 src=/root/kdumpbox-src cmds
	tar -C "$mnt" --numeric-owner --xattrs -xf "$RH_ROOTFS_TAR" || return 1
	printf '%s\n' "$fstab" >"$mnt/etc/fstab"
	mkdir -p "$mnt$src/build/release"
	cp "$deb" "$mnt$src/build/release/"
	cmds=$(readme_install_commands)
	[[ -n $cmds ]] || { echo "README.md has no Installing commands"; return 1; }
	# a running system has /proc, /sys and /dev: so has the chroot
	rh_chroot_mounts "$mnt"
	chroot "$mnt" /usr/bin/env DEBIAN_FRONTEND=noninteractive /bin/sh -exc "cd $src; $cmds" </dev/null >>"$work/install.log" 2>&1 ||
		{ rh_chroot_umounts "$mnt"; echo "the README's Installing steps failed in the chroot:"; tail -20 "$work/install.log"; return 1; }
	rh_chroot_umounts "$mnt"
	rm -rf "$mnt$src"
	install -m 0755 "$here/guest.sh" "$mnt/usr/local/sbin/ktest"
	# No login prompt on the console: it would run into the test's lines.
	ln -sf /dev/null "$mnt/etc/systemd/system/serial-getty@ttyS0.service"
	local mode after
	for mode in crash verify stripe refused; do
		after="After=kdumpbox.service"
		[[ $mode == stripe ]] && after="After=local-fs.target systemd-udevd.service
Before=kdumpbox.service"
		cat >"$mnt/etc/systemd/system/ktest-$mode.service" <<-UNIT
			[Unit]
			Description=kdumpbox test: $mode
			ConditionKernelCommandLine=ktest.$mode
			$after
			[Service]
			Type=oneshot
			ExecStart=/usr/local/sbin/ktest $mode
			StandardOutput=journal+console
			StandardError=journal+console
			[Install]
			WantedBy=multi-user.target
		UNIT
		ln -sf "/etc/systemd/system/ktest-$mode.service" "$mnt/etc/systemd/system/multi-user.target.wants/ktest-$mode.service"
	done
	# The admin's notification command: kdump start runs it for each new dump.
	printf '#!/bin/sh\necho "$1 $KDUMPBOX_DUMP_OUTCOME" >>/var/lib/ktest-notified\n' >"$mnt/usr/local/sbin/ktest-notify"
	chmod 0755 "$mnt/usr/local/sbin/ktest-notify"
	mkdir -p "$mnt/etc/sysconfig"
	echo 'KDUMPBOX_NOTIFY="/usr/local/sbin/ktest-notify"' >>"$mnt/etc/sysconfig/kdumpbox"
}

# ext4_root_disk FILE: GPT, one ext4 partition holding the root; sets
# root_partuuid and root_uuid.
ext4_root_disk() {
	local file=$1 dev
	truncate -s 4G "$file"
	root_partuuid=$(new_uuid)
	printf 'label: gpt\nsize=+, type=linux, uuid=%s\n' "$root_partuuid" | sfdisk -q "$file" || return 1
	dev=$(part_loop "$file" 1) || return 1
	mkfs.ext4 -q -L root "$dev" || return 1
	root_uuid=$(fs_uuid "$dev")
	mount "$dev" "$work/mnt" || return 1
}

# --- one case per layout: build_<case> makes the disks in $work/<case>/,
# sets disks (vm_run --disk values, the export disk comes last) and append
# (the kernel command line's layout part). ---------------------------------

build_explicit() {
	local d=$1
	ext4_root_disk "$d/system.img" || return 1
	fill_root "$work/mnt" "UUID=$root_uuid / ext4 errors=remount-ro 0 1" || return 1
	echo "ext4 UUID=$root_uuid" >>"$work/mnt/etc/kdump.conf"
	disks=("$d/system.img,serial=system")
	append="root=UUID=$root_uuid ro"
}

build_partuuid() {
	local d=$1
	ext4_root_disk "$d/system.img" || return 1
	fill_root "$work/mnt" "PARTUUID=$root_partuuid / ext4 errors=remount-ro 0 1" || return 1
	disks=("$d/system.img,serial=system")
	append="root=PARTUUID=$root_partuuid ro"
}

build_varcrash() {
	local d=$1 dev crash_uuid
	truncate -s 6G "$d/system.img"
	printf 'label: gpt\nsize=4GiB, type=linux\nsize=+, type=linux\n' | sfdisk -q "$d/system.img" || return 1
	dev=$(part_loop "$d/system.img" 1) || return 1
	mkfs.ext4 -q -L root "$dev" && root_uuid=$(fs_uuid "$dev") && mount "$dev" "$work/mnt" || return 1
	dev=$(part_loop "$d/system.img" 2) || return 1
	mkfs.ext4 -q -L crash "$dev" && crash_uuid=$(fs_uuid "$dev") || return 1
	mkdir -p "$work/mnt/var/crash" && mount "$dev" "$work/mnt/var/crash" || return 1
	fill_root "$work/mnt" "UUID=$root_uuid / ext4 errors=remount-ro 0 1
UUID=$crash_uuid /var/crash ext4 defaults 0 2" || return 1
	disks=("$d/system.img,serial=system")
	append="root=UUID=$root_uuid ro"
}

build_btrfs() {
	local d=$1 dev
	truncate -s 4G "$d/system.img"
	printf 'label: gpt\nsize=+, type=linux\n' | sfdisk -q "$d/system.img" || return 1
	dev=$(part_loop "$d/system.img" 1) || return 1
	mkfs.btrfs -q -L fedora "$dev" >/dev/null && root_uuid=$(fs_uuid "$dev") || return 1
	mount "$dev" "$work/mnt" && btrfs -q subvolume create "$work/mnt/root" && umount "$work/mnt" || return 1
	mount -o subvol=root "$dev" "$work/mnt" || return 1
	fill_root "$work/mnt" "UUID=$root_uuid / btrfs subvol=root 0 0" || return 1
	disks=("$d/system.img,serial=system")
	append="root=UUID=$root_uuid rootflags=subvol=root ro"
}

# lvm_linear_lv FILE PARTITION VG LV SIZE: a VG on that partition and a
# linear LV, written with --driverloaded n (this host has no device-mapper);
# prints a loop device over the LV's extents.
lvm_linear_lv() {
	local file=$1 pv vg=$3 lv=$4 pe_start extent first
	pv=$(part_loop "$file" "$2") || return 1
	{ pvcreate -q -y --devices "$pv" "$pv" &&
		vgcreate -q --devices "$pv" "$vg" "$pv" &&
		lvcreate -q --devices "$pv" --driverloaded n -Zn -Wn -y -L "$5" -n "$lv" "$vg"; } >&2 2> >(grep -v WARNING >&2) || return 1
	pe_start=$(pvs --devices "$pv" -o pe_start --units b --noheadings --nosuffix "$pv" | tr -d ' ')
	extent=$(vgs --devices "$pv" -o vg_extent_size --units b --noheadings --nosuffix "$vg" | tr -d ' ')
	first=$(lvs --devices "$pv" -o seg_pe_ranges --noheadings "$vg/$lv" | sed 's/.*:\([0-9]*\)-.*/\1/')
	local part_offset
	part_offset=$(losetup -n -O OFFSET "$pv" | tr -d ' ')
	loop_for "$file" $((part_offset + pe_start + first * extent)) \
		"$(lvs --devices "$pv" -o lv_size --units b --noheadings --nosuffix "$vg/$lv" | tr -d ' ')"
}

build_lvm() {
	local d=$1 dev boot_uuid
	truncate -s 6G "$d/system.img"
	printf 'label: gpt\nsize=512MiB, type=linux\nsize=+, type=lvm\n' | sfdisk -q "$d/system.img" || return 1
	dev=$(lvm_linear_lv "$d/system.img" 2 vg0 root 4G) || return 1
	mkfs.xfs -q "$dev" && mount "$dev" "$work/mnt" || return 1
	dev=$(part_loop "$d/system.img" 1) || return 1
	mkfs.ext4 -q -L boot "$dev" && boot_uuid=$(fs_uuid "$dev") || return 1
	mkdir -p "$work/mnt/boot" && mount "$dev" "$work/mnt/boot" || return 1
	fill_root "$work/mnt" "/dev/mapper/vg0-root / xfs defaults 0 0
UUID=$boot_uuid /boot ext4 defaults 0 2" || return 1
	disks=("$d/system.img,serial=system")
	append="root=/dev/mapper/vg0-root ro"
}

build_stripe() {
	local d=$1
	ext4_root_disk "$d/system.img" || return 1
	fill_root "$work/mnt" "UUID=$root_uuid / ext4 errors=remount-ro 0 1" || return 1
	echo "xfs /dev/mapper/vg-crash" >>"$work/mnt/etc/kdump.conf"
	echo /dev/mapper/vg-crash >"$work/mnt/etc/ktest-dump-device"
	truncate -s 1G "$d/stripe0.img" "$d/stripe1.img"
	disks=("$d/system.img,serial=system" "$d/stripe0.img,serial=stripe0" "$d/stripe1.img,serial=stripe1")
	append="root=UUID=$root_uuid ro ktest.stripe"
}

build_refused() {
	local d=$1
	ext4_root_disk "$d/system.img" || return 1
	fill_root "$work/mnt" "UUID=$root_uuid / ext4 errors=remount-ro 0 1" || return 1
	truncate -s 512M "$d/md0.img" "$d/md1.img" "$d/luks.img" "$d/thin.img"
	disks=("$d/system.img,serial=system" "$d/md0.img,serial=md0" "$d/md1.img,serial=md1"
		"$d/luks.img,serial=luks" "$d/thin.img,serial=thin")
	append="root=UUID=$root_uuid ro"
}

# ssh: the guest is set up as `kdump propagate` leaves a host (the key
# pair, the server's host key recorded) with a static address on QEMU's
# user network, brought up by systemd-networkd before kdumpbox.service.
ssh_dir=$work/sshd
build_ssh() {
	local d=$1 mnt=$work/mnt
	ext4_root_disk "$d/system.img" || return 1
	fill_root "$mnt" "UUID=$root_uuid / ext4 errors=remount-ro 0 1" || return 1
	mkdir -p "$ssh_dir"
	rm -f "$ssh_dir"/kdump_id_rsa*
	ssh-keygen -q -N '' -t rsa -b 3072 -f "$ssh_dir/kdump_id_rsa" -C ktest-realhost || return 1
	grep -q -- '-----BEGIN OPENSSH PRIVATE KEY-----' "$ssh_dir/kdump_id_rsa" || { echo "ssh-keygen did not write the OpenSSH format"; return 1; }
	cp "$ssh_dir/kdump_id_rsa.pub" "$ssh_dir/authorized_keys"
	[[ -e $ssh_dir/host_ecdsa ]] || ssh-keygen -q -N '' -t ecdsa -b 256 -f "$ssh_dir/host_ecdsa" -C ktest-host || return 1
	ssh_port=$("$VM_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	install -d -m 0700 "$mnt/root/.ssh"
	install -m 0600 "$ssh_dir/kdump_id_rsa" "$mnt/root/.ssh/kdump_id_rsa"
	install -m 0644 "$ssh_dir/kdump_id_rsa.pub" "$mnt/root/.ssh/kdump_id_rsa.pub"
	mkdir -p "$mnt/var/lib/kdumpbox"
	echo "[10.0.2.2]:$ssh_port $(cut -d' ' -f1,2 "$ssh_dir/host_ecdsa.pub")" >"$mnt/var/lib/kdumpbox/known_hosts"
	printf 'ssh root@10.0.2.2\nssh_port %s\npath %s\n' "$ssh_port" "$ssh_dir/dumps" >>"$mnt/etc/kdump.conf"
	printf '[Match]\nType=ether\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n' >"$mnt/etc/systemd/network/20-ktest.network"
	chroot "$mnt" systemctl -q enable systemd-networkd.service systemd-networkd-wait-online.service || return 1
	# No drop-in of the test's own: the package's generator (kdump-generator)
	# must order kdumpbox.service after the network for this kdump.conf.
	disks=("$d/system.img,serial=system")
	append="root=UUID=$root_uuid ro"
	boot_extra=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0)
}

# build CASE: the case's disks; unmounts and detaches everything after.
build() {
	local name=$1 d=$work/$1 rc=0 dev
	mkdir -p "$d"
	: >"$work/install.log"
	disks=() append="" boot_extra=()
	"build_$name" "$d" >"$d/build.log" 2>&1 || rc=1
	sync
	umount -R "$work/mnt" 2>/dev/null
	while read -r dev; do losetup -d "$dev" 2>/dev/null; done <"$work/loops"
	: >"$work/loops"
	if ((rc)); then
		fail "$name: the image builds" "$(tail -20 "$d/build.log")"
		return 1
	fi
	truncate -s 1G "$d/export.img"
	disks+=("$d/export.img,serial=export")
}

# boot CASE STEP TIMEOUT: one QEMU run; the console (CR stripped) in
# $work/CASE/STEP.txt, kept in $VM_CACHE/realhost/logs/.
boot() {
	local name=$1 step=$2 timeout=$3 rc=0 started=$SECONDS spec
	local -a args=()
	for spec in "${disks[@]}"; do args+=(--disk "$spec"); done
	local try
	for try in 1 2; do
		rc=0
		vm_run --log "$work/$name/$step.log" --kernel "$RH_VMLINUZ" --initrd "$RH_INITRD" \
			--append "console=ttyS0 crashkernel=256M $append ktest.$step" --mem 2048 --smp 2 \
			--timeout "$timeout" "${args[@]}" ${boot_extra[@]:+-- "${boot_extra[@]}"} || rc=$?
		# QEMU 7.2's multi-threaded TCG has crashed (SIGSEGV) early in a
		# boot, rarely: that is not the guest's doing, so boot once more.
		((rc == 139 || rc == 134)) || break
		echo "# $name/$step: qemu died with status $rc; booting once more"
	done
	tr -d '\r' <"$work/$name/$step.log" >"$work/$name/$step.txt"
	mkdir -p "$RH_CACHE/logs"
	cp "$work/$name/$step.txt" "$RH_CACHE/logs/$name-$step.txt"
	boot_rc=$rc
	boot_seconds=$((SECONDS - started))
	echo "# $name/$step: qemu exited with status $rc after $boot_seconds s; console: $RH_CACHE/logs/$name-$step.txt"
}

console_tail() { tail -n "${2:-40}" "$1" | sed 's/^/| /'; }

# printk time of the first console line matching PATTERN after line FROM.
printk_time() {
	awk -v from="${3:-0}" -v pat="$2" 'NR > from && $0 ~ pat {
		if (match($0, /\[ *[0-9]+\.[0-9]+\]/)) { printf "%.1f\n", substr($0, RSTART + 1, RLENGTH - 2); exit } }' "$1"
}

declare -A row_result row_armed row_saved row_initramfs row_cycle

# opens VMCORE: libkdumpfile reads it and its vmcoreinfo names the image's
# kernel; crash's `sys` shows that release when the debug vmlinux is at hand.
check_vmcore() {
	local name=$1 vmcore=$2 out
	if out=$("$VM_PY" - "$vmcore" <<-'PY' 2>&1
		import sys, kdumpfile
		k = kdumpfile.kdumpfile(sys.argv[1])
		k.attr["addrxlat.ostype"] = "linux"
		print(k.attr["file.format"], k.attr["linux.uts.release"])
		PY
	) && grep -q "$RH_KERNEL_RELEASE" <<<"$out"; then
		ok "$name: libkdumpfile opens the vmcore ($out)"
	else
		fail "$name: libkdumpfile opens the vmcore and it is $RH_KERNEL_RELEASE" "$out"
	fi
	if [[ -z $vmlinux ]]; then
		skip "$name: crash opens the vmcore" "no debug vmlinux for $RH_KERNEL_RELEASE"
		return
	fi
	out=$(printf 'sys\nquit\n' | timeout 300 crash -s "$vmlinux" "$vmcore" 2>&1)
	if grep -Eq "RELEASE: +$RH_KERNEL_RELEASE" <<<"$out" && grep -q 'PANIC: .*sysrq' <<<"$out"; then
		ok "$name: crash opens the vmcore (sys: $RH_KERNEL_RELEASE, sysrq panic)"
	else
		fail "$name: crash opens the vmcore" "$(tail -15 <<<"$out")"
	fi
}

# crash_boot CASE SAVED_PATTERN: the crash boot: kdumpbox.service arms
# kdump, and the capture kernel's console says SAVED_PATTERN after the
# crash; fills the case's row. Returns 1 when either is missing.
crash_boot() {
	local name=$1 d=$work/$1 log armed saved from
	boot "$name" crash 900
	log=$d/crash.txt
	row_cycle[$name]=$boot_seconds
	row_initramfs[$name]=$(sed -n 's/^KTEST-OUT initramfs: .* \([0-9][0-9]*\) [A-Z][a-z][a-z] .*initramfs-.*\.img$/\1/p' "$log" | head -1)
	armed=$(printk_time "$log" 'KTEST-ARMED')
	if [[ -z $armed ]]; then
		fail "$name: kdumpbox.service arms kdump" "qemu status $boot_rc after $boot_seconds s; console tail:" "$(grep -E '^KTEST-(OUT (service|start-log)|NOT-ARMED)' "$log" | tail -25)" "$(console_tail "$log" 15)"
		return 1
	fi
	row_armed[$name]=$armed
	ok "$name: kdumpbox.service arms kdump (${armed} s after boot)"
	# kdumpctl's status line, systemctl reload, kdump-config's dry run
	vm_expect_run "$log" status 0 '^Kdump is operational$'
	vm_expect_run "$log" reload 0
	vm_expect_run "$log" reloaded-status 0 '^Kdump is operational$'
	vm_expect_run "$log" config-test 0 'nothing was loaded \(dry run\)'
	# the generator's ordering: after the network for ssh, not for a disk
	local deps
	deps=$(sed -n 's/^KTEST-OUT unit-deps: //p' "$log")
	if [[ $name == ssh ]]; then
		grep -Eq '^Wants=.*network-online.target' <<<"$deps" && grep -Eq '^After=.*network-online.target' <<<"$deps" &&
			ok "$name: kdump-generator orders kdumpbox.service after network-online.target" ||
			fail "$name: kdump-generator orders kdumpbox.service after network-online.target" "$deps"
	elif grep -Eq '^Wants=.*network-online.target' <<<"$deps"; then
		fail "$name: a local target does not wait for the network" "$deps"
	else
		ok "$name: a local target does not wait for the network"
	fi
	from=$(grep -n 'sysrq: Trigger a crash' "$log" | head -1 | cut -d: -f1)
	saved=$(printk_time "$log" "$2" "${from:-0}")
	if [[ -z $saved ]]; then
		fail "$name: the capture kernel saves the dump" "qemu status $boot_rc after $boot_seconds s; the capture kernel's kdumpbox lines and the console tail:" \
			"$(tail -n +"${from:-1}" "$log" | grep 'kdumpbox: ' | tail -15)" "$(console_tail "$log" 8)"
		return 1
	fi
	row_saved[$name]=$saved
	ok "$name: the capture kernel saves the dump ($saved s after the crash kernel started)"
}

# A crash case: crash boot, verify boot, checks.
run_crash_case() {
	local name=$1 d=$work/$1 log facts dumpdir
	row_result[$name]=FAIL
	build "$name" || return
	crash_boot "$name" 'kdumpbox: init: the dump is saved in' || return

	boot "$name" verify 600
	log=$d/verify.txt
	mkdir -p "$d/export"
	if ! grep -q 'KTEST-VERIFIED' "$log" || ! tar -xf "$d/export.img" -C "$d/export" 2>/dev/null; then
		fail "$name: the verify boot exports the dump" "qemu status $boot_rc after $boot_seconds s; console tail:" "$(console_tail "$log" 40)"
		return
	fi
	facts=$(cat "$d/export/facts.txt")
	echo "$facts" | sed "s/^/# $name: /"
	fact() { sed -n "s/^$1=//p" <<<"$facts"; }
	dumpdir=$(fact DUMPDIR)
	if [[ -n $dumpdir && -s $d/export/vmcore && $(fact DUMPS) == 1 ]]; then
		ok "$name: one dump, with a vmcore, at $dumpdir"
	else
		fail "$name: one dump, with a vmcore, where the admin looks" "$facts" "$(cat "$d/export/dumpdir.txt" 2>/dev/null)"
		return
	fi
	local want_fs
	want_fs=$(fact FINDMNT_VARCRASH)
	[[ $name == stripe ]] && want_fs="/dev/mapper/vg-crash xfs /mnt/target /"
	if [[ $(fact FINDMNT_DUMP) == "$want_fs" ]]; then
		ok "$name: the dump is on the file system that holds /var/crash ($want_fs)"
	else
		fail "$name: the dump is on the file system that holds /var/crash" "dump: $(fact FINDMNT_DUMP)" "wanted: $want_fs"
	fi
	if grep -qx 'outcome=complete' "$d/export/kdumpbox-status" 2>/dev/null; then
		ok "$name: kdumpbox-status beside the dump says complete"
	else
		fail "$name: kdumpbox-status beside the dump says complete" "$(grep -v '^#' "$d/export/kdumpbox-status" 2>&1)"
	fi
	case $name in
	varcrash)
		# After the reboot the admin is told: journal, kdump status, notify.
		if grep -q "crash dump: complete, .*$dumpdir" "$d/export/journal-info.txt" && ! grep -q 'crash dump: ' "$d/export/journal-err.txt"; then
			ok "$name: kdump start reported the dump in the journal at notice, not err"
		else
			fail "$name: kdump start reported the dump in the journal at notice, not err" "info: $(cat "$d/export/journal-info.txt")" "err: $(cat "$d/export/journal-err.txt")"
		fi
		grep -q "^last dump: complete, .*$dumpdir" "$d/export/kdump-status.txt" && ok "$name: kdump status shows the last dump" \
			|| fail "$name: kdump status shows the last dump" "$(cat "$d/export/kdump-status.txt")"
		grep -qx "$dumpdir complete" "$d/export/notified.txt" && ok "$name: KDUMPBOX_NOTIFY ran with the dump directory" \
			|| fail "$name: KDUMPBOX_NOTIFY ran with the dump directory" "$(cat "$d/export/notified.txt" 2>&1)"
		if [[ -z $(fact ROOTFS_VARCRASH) ]]; then
			ok "$name: the root file system's own /var/crash (under the mount) is empty"
		else
			fail "$name: the root file system's own /var/crash (under the mount) is empty" "it holds: $(fact ROOTFS_VARCRASH)"
		fi
		;;
	btrfs)
		if [[ $(fact FINDMNT_DUMP) == *" /root" ]]; then
			ok "$name: the dump is in the subvolume root"
		else
			fail "$name: the dump is in the subvolume root" "$(fact FINDMNT_DUMP)"
		fi
		;;
	esac
	check_vmcore "$name" "$d/export/vmcore"
	row_result[$name]=ok
	# the dump is on the test's disks only; drop them early
	rm -f "$d"/*.img
}

# The refused layers: built in the guest, each named as the target.
run_refused() {
	local name=refused d=$work/refused log layer pattern
	row_result[$name]=FAIL
	build refused || return
	boot refused refused 900
	log=$d/refused.txt
	row_cycle[$name]=$boot_seconds
	if ! grep -q 'KTEST-REFUSED-DONE' "$log"; then
		fail "refused: the guest builds the layers and tries them" "qemu status $boot_rc after $boot_seconds s; console tail:" "$(console_tail "$log" 40)"
		return
	fi
	local failed_before=$failed
	vm_expect_run "$log" make-md 0
	vm_expect_run "$log" make-luks 0
	vm_expect_run "$log" make-thin 0
	for layer in md:'RAID' luks:'LUKS|dm-crypt' thin:'thin'; do
		pattern=${layer#*:}
		layer=${layer%%:*}
		local out lines
		out=$(sed -n "s/^KTEST-OUT start-$layer: //p" "$log")
		lines=$(grep -c . <<<"$out")
		if grep -q "^KTEST-RUN start-$layer rc=0" "$log" || [[ $lines != 1 ]] || ! grep -Eiq -- "$pattern" <<<"$out"; then
			fail "refused: kdump start refuses $layer in one line naming the layer" "$(grep "^KTEST-RUN start-$layer" "$log")" "$out"
			out="(kdump start gave no one-line refusal to look for)"
		else
			ok "refused: kdump start refuses $layer: $out"
		fi
		vm_expect_run "$log" "unit-$layer" 1
		if sed -n "s/^KTEST-OUT status-$layer: //p" "$log" | grep -qF -- "$out"; then
			ok "refused: systemctl status kdumpbox shows the $layer message"
		else
			fail "refused: systemctl status kdumpbox shows the $layer message" "$(sed -n "s/^KTEST-OUT status-$layer: //p" "$log" | tail -8)"
		fi
	done
	# Configuration mistakes (guest.sh writes each): one line naming the
	# line and what is wrong with it.
	local check
	for check in "collector|kdump.conf:[0-9]+: core_collector makedumpfile -l --bogus -d 31: unknown option '--bogus'" \
		"external|kdump.conf:[0-9]+: core_collector /usr/local/bin/no-such-collector -z: '/usr/local/bin/no-such-collector' does not exist on this host" \
		"kexecargs|kdumpbox:[0-9]+: KEXEC_ARGS '-s --bogus': unknown option '--bogus'"; do
		layer=${check%%|*}
		pattern=${check#*|}
		local out lines
		out=$(sed -n "s/^KTEST-OUT start-$layer: //p" "$log")
		lines=$(grep -c . <<<"$out")
		if grep -q "^KTEST-RUN start-$layer rc=0" "$log" || [[ $lines != 1 ]] || ! grep -Eq -- "$pattern" <<<"$out"; then
			fail "refused: kdump start refuses the $layer mistake in one line" "$(grep "^KTEST-RUN start-$layer" "$log")" "$out"
		else
			ok "refused: kdump start refuses the $layer mistake: $out"
		fi
	done
	((failed == failed_before)) && row_result[$name]=ok
	rm -f "$d"/*.img
}

# --- the package, in a copy of the image, without booting -------------------

# pkg_files ROOT: every path in ROOT but the package manager's own records,
# logs and caches and the chroot's mounts, with type and link target.
pkg_files() {
	(cd "$1" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./var/lib/dpkg -o -path ./var/log \
		-o -path ./var/cache -o -path ./tmp -o -path ./run \) -prune -o -printf '%y %p %l\n' | sort)
}

# check_package: dpkg -i, -i again over a changed kdump.conf, -r, --purge.
check_package() {
	local root=$work/pkgroot before after name found in_chroot
	mkdir -p "$root"
	tar -C "$root" --numeric-owner --xattrs -xf "$RH_ROOTFS_TAR" || { fail "package: unpack the image" ""; return; }
	pkg_files "$root" >"$work/pkg-before.txt"
	cp "$deb" "$root/tmp/"
	rh_chroot_mounts "$root"
	in_chroot() { chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin "$@" </dev/null 2>&1; }
	local pkg=/tmp/${deb##*/} out
	if out=$(in_chroot dpkg -i "$pkg"); then
		ok "package: dpkg -i installs it in the image"
	else
		fail "package: dpkg -i installs it in the image" "$out"
		rh_chroot_umounts "$root"
		return
	fi
	cmp -s "$root/usr/sbin/kdumpbox" "$binary" && ok "package: /usr/sbin/kdumpbox is the binary under test" \
		|| fail "package: /usr/sbin/kdumpbox is the binary under test" "$(ls -l "$root/usr/sbin/kdumpbox")"
	out=$(in_chroot sh -c 'systemctl is-enabled kdumpbox.service; readlink /etc/systemd/system/kdump.service; ls /etc/systemd/system/multi-user.target.wants/')
	if grep -qx enabled <<<"$out" && grep -q 'kdumpbox.service$' <<<"$out" && grep -qx kdumpbox.service <<<"$out"; then
		ok "package: the unit is enabled, with the alias kdump.service"
	else
		fail "package: the unit is enabled, with the alias kdump.service" "$out"
	fi
	# no reboot, halt, poweroff or init of ours anywhere on PATH
	found=$(in_chroot sh -c 'for d in $(echo "$PATH" | tr : " "); do for n in reboot halt poweroff init shutdown; do
		[ -e "$d/$n" ] && readlink -f "$d/$n"; done; done' | grep kdumpbox)
	found+=$(in_chroot dpkg -L kdumpbox | grep -E '/(reboot|halt|poweroff|init|shutdown)$')
	[[ -z $found ]] && ok "package: no reboot, halt, poweroff or init of ours is on PATH" \
		|| fail "package: no reboot, halt, poweroff or init of ours is on PATH" "$found"
	out=$(in_chroot kdumpctl --help | head -1)
	grep -q 'Usage: kdump' <<<"$out" && ok "package: kdumpctl runs from PATH" || fail "package: kdumpctl runs from PATH" "$out"
	found=$(cd "$root" && ls usr/share/man/man8/kdumpbox.8.gz usr/share/man/man8/kdump.8.gz usr/share/man/man5/kdump.conf.5.gz 2>&1)
	[[ $(grep -c '\.gz$' <<<"$found") == 3 ]] && ok "package: the man pages are installed" || fail "package: the man pages are installed" "$found"

	echo "path /var/crash/kept-by-upgrade" >>"$root/etc/kdump.conf"
	if out=$(in_chroot dpkg -i "$pkg") && grep -q kept-by-upgrade "$root/etc/kdump.conf" && in_chroot systemctl -q is-enabled kdumpbox.service; then
		ok "package: dpkg -i over itself keeps a changed /etc/kdump.conf and the unit enabled"
	else
		fail "package: dpkg -i over itself keeps a changed /etc/kdump.conf and the unit enabled" "$out" "$(tail -3 "$root/etc/kdump.conf")"
	fi

	# A newer version over this one (the same files, the version bumped),
	# after the admin disabled the unit: the upgrade keeps both choices.
	local newer=$work/newer/kdumpbox_upgrade.deb version
	mkdir -p "$work/newer"
	if dpkg-deb -R "$deb" "$work/newer/tree" && sed -i 's/^Version: .*/&+upgrade1/' "$work/newer/tree/DEBIAN/control" &&
		dpkg-deb --root-owner-group -b "$work/newer/tree" "$newer" >/dev/null; then
		cp "$newer" "$root/tmp/"
		in_chroot systemctl disable kdumpbox.service >/dev/null
		out=$(in_chroot dpkg -i "/tmp/${newer##*/}")
		version=$(in_chroot dpkg-query -W -f='${Version}' kdumpbox)
		if [[ $version == *+upgrade1 ]] && grep -q kept-by-upgrade "$root/etc/kdump.conf" && ! in_chroot systemctl -q is-enabled kdumpbox.service; then
			ok "package: an upgrade keeps a changed /etc/kdump.conf and a disabled unit disabled"
		else
			fail "package: an upgrade keeps a changed /etc/kdump.conf and a disabled unit disabled" "version $version" "$out" \
				"$(in_chroot systemctl is-enabled kdumpbox.service)"
		fi
		rm -f "$root/tmp/${newer##*/}"
		in_chroot systemctl enable kdumpbox.service >/dev/null
	else
		fail "package: repack the .deb with a newer version" "$(ls -l "$work/newer" 2>&1)"
	fi

	out=$(in_chroot dpkg -r kdumpbox)
	found=""
	for name in /usr/sbin/kdumpbox /usr/sbin/kdump /usr/sbin/kdumpctl /usr/sbin/kexec /usr/sbin/makedumpfile /usr/sbin/vmcore-dmesg \
		/usr/lib/systemd/system/kdumpbox.service /usr/lib/systemd/system-generators/kdump-generator \
		/etc/systemd/system/kdump.service /etc/systemd/system/multi-user.target.wants/kdumpbox.service; do
		[[ -e $root$name || -L $root$name ]] && found+=" $name"
	done
	if [[ -z $found && -f $root/etc/kdump.conf && -f $root/etc/sysconfig/kdumpbox ]] && grep -q kept-by-upgrade "$root/etc/kdump.conf"; then
		ok "package: dpkg -r removes the binary, links, unit and its enablement, and keeps the conffiles"
	else
		fail "package: dpkg -r removes the binary, links, unit and its enablement, and keeps the conffiles" "$out" "left:$found" "$(ls -l "$root/etc/kdump.conf" "$root/etc/sysconfig" 2>&1)"
	fi

	out=$(in_chroot dpkg --purge kdumpbox)
	rh_chroot_umounts "$root"
	rm -f "$root/tmp/${deb##*/}"
	pkg_files "$root" >"$work/pkg-after.txt"
	if diff -u "$work/pkg-before.txt" "$work/pkg-after.txt" >"$work/pkg-diff.txt"; then
		ok "package: dpkg --purge leaves the image as it was before dpkg -i"
	else
		fail "package: dpkg --purge leaves the image as it was before dpkg -i" "$out" "$(grep '^[-+][^-+]' "$work/pkg-diff.txt" | head -20)"
	fi
	rm -rf "$root"
}
check_package

# ssh: the crash boot only; kdump start logs in to the host's sshd and
# makes the dump directory, the capture kernel sends the vmcore over SFTP,
# and it is checked here.
run_ssh_case() {
	local name=ssh d=$work/ssh log booted login dumpdir
	row_result[$name]=FAIL
	build ssh || return
	rm -rf "$ssh_dir/dumps"
	if ! sshd_start "$ssh_dir" "$ssh_port"; then
		fail "ssh: sshd listens on 127.0.0.1:$ssh_port" "$(tail -5 "$ssh_dir/sshd.log")"
		return
	fi
	crash_boot ssh 'kdumpbox: init: the dump is saved in root@\[10\.0\.2\.2\]'
	booted=$?
	sshd_stop
	log=$d/crash.txt
	login=$(sed -n "s/^KTEST-OUT start-log: note: \(logged in to root@\[10\.0\.2\.2\]:$ssh_port:.* as the capture kernel will, in [0-9]* ms .*converted from the OpenSSH format.*\)/\1/p" "$log" | head -1)
	if [[ -n $login && -d $ssh_dir/dumps ]]; then
		ok "ssh: kdump start logged in with the converted key and made the dump directory: $login"
	else
		fail "ssh: kdump start logs in with the converted key and makes the dump directory" "$(grep '^KTEST-OUT start-log' "$log" | tail -10)" "$(tail -5 "$ssh_dir/sshd.log")"
	fi
	((booted == 0)) || return
	dumpdir=$(ls -d "$ssh_dir"/dumps/10.0.2.15-* 2>/dev/null | head -1)
	if [[ -n $dumpdir && -s $dumpdir/vmcore && -s $dumpdir/vmcore-dmesg.txt && ! -e $dumpdir/vmcore-incomplete ]]; then
		ok "ssh: vmcore and vmcore-dmesg.txt are on the server in ${dumpdir##*/}"
	else
		fail "ssh: vmcore and vmcore-dmesg.txt are on the server" "$(ls -la "$ssh_dir/dumps" "$dumpdir" 2>&1)"
		return
	fi
	if grep -qx 'outcome=complete' "$dumpdir/kdumpbox-status" 2>/dev/null; then
		ok "ssh: kdumpbox-status on the server says complete"
	else
		fail "ssh: kdumpbox-status on the server says complete" "$(cat "$dumpdir/kdumpbox-status" 2>&1)"
	fi
	check_vmcore "$name" "$dumpdir/vmcore"
	row_result[$name]=ok
	rm -rf "$d"/*.img "$ssh_dir/dumps"
}

for name in "${cases[@]}"; do
	case $name in
	explicit | partuuid | lvm | varcrash | btrfs | stripe) run_crash_case "$name" ;;
	refused) run_refused ;;
	ssh) run_ssh_case ;;
	*) fail "known case '$name'" "cases: explicit partuuid lvm varcrash btrfs stripe refused ssh" ;;
	esac
done

echo "#"
echo "# case      result  boot->armed  crash->saved  capture initramfs  crash boot"
for name in "${cases[@]}"; do
	printf '# %-9s %-7s %-12s %-13s %-18s %s\n' "$name" "${row_result[$name]:-?}" \
		"${row_armed[$name]:+${row_armed[$name]} s}" "${row_saved[$name]:+${row_saved[$name]} s}" \
		"${row_initramfs[$name]:+${row_initramfs[$name]} B}" "${row_cycle[$name]:+${row_cycle[$name]} s}"
done
echo "# vm-realhost took $((SECONDS - tier_started)) s"
finish vm-realhost
