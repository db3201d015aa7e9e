# shellcheck shell=bash
# tests/realhost/lib.sh: building and booting real Debian 12 installs with
# systemd for the vm-realhost suite (tests/realhost/run.sh). Source it after
# tests/vm/lib.sh, from a bash script running as root.
#
# Everything lands under $RH_CACHE (default $VM_CACHE/realhost, that is
# ~/.cache/kdumpbox/realhost): the debootstrapped root file system as a
# tarball named by a hash of its inputs, with the image's own vmlinuz and
# initramfs-tools initrd beside it.
#
# Functions (all prefixed rh_):
#   rh_rootfs                  build or reuse the rootfs; exports RH_ROOTFS_TAR,
#                              RH_VMLINUZ, RH_INITRD, RH_KERNEL_RELEASE
#   rh_chroot_mounts ROOT      bind /proc, /sys, /dev (and /dev/pts) into ROOT
#   rh_chroot_umounts ROOT     undo rh_chroot_mounts
#   rh_boot NAME DISKS APPEND  one QEMU run of the image's kernel and initrd

: "${RH_CACHE:=$VM_CACHE/realhost}"

# The packages of a Debian 12 machine with the storage layers the suite uses.
RH_SUITE=bookworm
RH_PACKAGES=systemd-sysv,udev,kmod,initramfs-tools,e2fsprogs,xfsprogs,btrfs-progs,lvm2,cryptsetup,mdadm,thin-provisioning-tools,util-linux,procps,tar
# The kernel comes last, from the updated sources, with every initramfs hook
# (lvm2, mdadm, btrfs) already installed.
RH_KERNEL_PACKAGE=linux-image-cloud-amd64
# Bump when the steps below change what the tarball holds.
RH_ROOTFS_RECIPE=1

rh_chroot_mounts() {
	local root=$1 d
	for d in proc sys dev dev/pts; do
		mkdir -p "$root/$d"
		mount --bind "/$d" "$root/$d"
	done
}

rh_chroot_umounts() {
	local root=$1 d
	for d in dev/pts dev sys proc; do
		umount "$root/$d" 2>/dev/null || umount -l "$root/$d" 2>/dev/null || true
	done
}

# rh_rootfs: debootstrap Debian 12 once, bring it up to date with the
# host's apt sources and install the kernel (so it is the one
# tests/vm/lib.sh's vm_fetch_kernel resolves, whose debug vmlinux crash
# needs; the kernel's postinst builds the initramfs-tools initrd in the
# chroot), and keep rootfs.tar, vmlinuz and initrd.img under
# $RH_CACHE/rootfs-<hash of the inputs>/. The .debs stay in $RH_CACHE/debs
# for the next build. Takes 10-20 min on 2 busy cores; a lock keeps two
# runs from building at once.
rh_rootfs() {
	local src=/etc/apt/sources.list.d/debian.sources mirror key dir root
	[[ -r $src ]] || vm_die "$src not found: it names the Debian mirror the image is built from"
	mirror=$(awk '/^URIs:/ { print $2; exit }' "$src")
	[[ -n $mirror ]] || vm_die "no URIs: line in $src"
	key=$( { echo "$RH_SUITE $RH_PACKAGES $RH_KERNEL_PACKAGE $RH_ROOTFS_RECIPE $mirror"; cat "$src"; } | sha256sum | cut -c1-16)
	dir=$RH_CACHE/rootfs-$key
	mkdir -p "$RH_CACHE/debs/partial"
	exec {lock}>"$RH_CACHE/rootfs.lock"
	flock "$lock"
	if [[ ! -e $dir/done.stamp ]]; then
		vm_log "building the Debian $RH_SUITE root file system with debootstrap (10-20 min; cached in $dir)"
		rm -rf "$dir"
		mkdir -p "$dir"
		root=$dir/root
		if ! debootstrap --variant=minbase --cache-dir="$RH_CACHE/debs" --include="$RH_PACKAGES" \
			"$RH_SUITE" "$root" "$mirror" >"$dir/debootstrap.log" 2>&1; then
			rh_chroot_umounts "$root"
			vm_die "debootstrap failed, see $dir/debootstrap.log"
		fi
		rm -f "$root/etc/apt/sources.list"
		cp "$src" "$root/etc/apt/sources.list.d/debian.sources"
		echo realhost >"$root/etc/hostname"
		printf '127.0.0.1 localhost\n127.0.1.1 realhost\n' >"$root/etc/hosts"
		rh_chroot_mounts "$root"
		mount --bind "$RH_CACHE/debs" "$root/var/cache/apt/archives"
		if ! chroot "$root" /bin/sh -ec "
			export DEBIAN_FRONTEND=noninteractive
			apt-get -q update
			apt-get -q -y dist-upgrade
			apt-get -q -y install --no-install-recommends $RH_KERNEL_PACKAGE
			passwd -d root" >"$dir/setup.log" 2>&1; then
			umount "$root/var/cache/apt/archives"
			rh_chroot_umounts "$root"
			vm_die "setting up the rootfs in a chroot failed, see $dir/setup.log"
		fi
		umount "$root/var/cache/apt/archives"
		rh_chroot_umounts "$root"
		local vmlinuz
		vmlinuz=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
		[[ -f $vmlinuz ]] || vm_die "the rootfs has no /boot/vmlinuz-*"
		[[ -f $root/boot/initrd.img-${vmlinuz##*/vmlinuz-} ]] || vm_die "the kernel's postinst built no initrd, see $dir/setup.log"
		cp "$vmlinuz" "$dir/vmlinuz"
		cp "$root/boot/initrd.img-${vmlinuz##*/vmlinuz-}" "$dir/initrd.img"
		echo "${vmlinuz##*/vmlinuz-}" >"$dir/release"
		tar -C "$root" --numeric-owner --xattrs -cf "$dir/rootfs.tar.tmp" .
		mv "$dir/rootfs.tar.tmp" "$dir/rootfs.tar"
		rm -rf "$root"
		touch "$dir/done.stamp"
	fi
	flock -u "$lock"
	exec {lock}>&-
	RH_ROOTFS_TAR=$dir/rootfs.tar
	RH_VMLINUZ=$dir/vmlinuz
	RH_INITRD=$dir/initrd.img
	RH_KERNEL_RELEASE=$(cat "$dir/release")
	export RH_ROOTFS_TAR RH_VMLINUZ RH_INITRD RH_KERNEL_RELEASE
}
