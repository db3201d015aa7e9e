#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Debian package from a release build: `meson install --destdir`
# into a staging tree, then dpkg-deb --root-owner-group. No debhelper: the
# maintainer scripts below are plain sh with systemctl guarded so that they
# work in a chroot and on a running system alike.
#
# Usage: conf/make-deb.sh [BUILD_DIR [OUTPUT_DIR]]
#   BUILD_DIR   a static-musl build (default build/release; tests/build.sh
#               release makes it); its prefix is set to /usr if it is not
#   OUTPUT_DIR  where the .deb goes (default BUILD_DIR)
# Prints the path of the .deb it wrote.
#
# The package installs /usr/sbin/kdumpbox, its host links (kdump, kdumpctl, kdump-config,
# kexec, makedumpfile, vmcore-dmesg, collector, mount-and-save), the unit
# kdumpbox.service (alias kdump.service) and its generator, the man pages,
# and /etc/kdump.conf and /etc/sysconfig/kdumpbox as conffiles. It
# conflicts with and replaces kdump-tools, kexec-tools and makedumpfile,
# whose commands it ships.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build/release}" && pwd)
out=${2:-$build}
die() { echo "make-deb.sh: $*" >&2; exit 1; }

[[ -f $build/meson-info/intro-buildoptions.json ]] || die "$build is not a meson build directory (run: bash tests/build.sh release)"
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"
option() {
	python3 -c 'import json, sys
for o in json.load(open(sys.argv[1] + "/meson-info/intro-buildoptions.json")):
    if o["name"] == sys.argv[2]: print(o["value"])' "$build" "$1"
}
[[ $(option flavour) == static-musl ]] || die "$build is not the static-musl release build: the package ships only the static binary"
if [[ $(option prefix) != /usr ]]; then
	echo "make-deb.sh: setting $build's prefix to /usr (was $(option prefix))" >&2
	meson configure "$build" -Dprefix=/usr >/dev/null
fi
version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1] + "/meson-info/intro-projectinfo.json"))["version"])' "$build")
# The architecture from the binary's ELF header (e_machine; meson 1.0 cannot
# introspect the host machine).
machine=$(od -An -tu2 -j18 -N2 "$build/kdumpbox" | tr -d ' ')
case $machine in
62) arch=amd64 ;;
183) arch=arm64 ;;
*) die "no Debian architecture known for ELF machine ${machine:-?} of $build/kdumpbox" ;;
esac

stage=$(mktemp -d /tmp/kdumpbox-deb-XXXXXX)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
meson install -C "$build" --destdir "$root" --quiet >&2
# Debian compresses man pages (policy 12.1); -n keeps the package reproducible.
find "$root/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
mkdir -p "$root/DEBIAN"
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)

cat >"$root/DEBIAN/control" <<EOF
Package: kdumpbox
Version: $version
Architecture: $arch
Maintainer: kdumpbox developers <kdumpbox@localhost>
Installed-Size: $installed_kb
Section: admin
Priority: optional
Conflicts: kdump-tools, kexec-tools, makedumpfile
Replaces: kdump-tools, kexec-tools, makedumpfile
Provides: kexec-tools, makedumpfile
Description: kexec/kdump crash dumps from one static binary
 kdumpbox arms the crash kernel at boot (kdumpbox.service, also called
 kdump.service) with a capture initramfs it builds itself, and saves the
 crashed kernel's memory to a local file system, a raw partition, NFS or
 ssh. It replaces kexec-tools (kexec, vmcore-dmesg), makedumpfile and
 kdump-tools; kdumpctl and kdump.conf work as in kdump-utils.
EOF

# The unit is enabled on the first install, and again after a removal
# (prerm leaves a note), but an upgrade keeps an admin's `systemctl
# disable`. systemctl enable/disable work offline (in a chroot); starting,
# stopping and daemon-reload only where systemd runs.
cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
unit=kdumpbox.service
note=/var/lib/kdumpbox/enable-on-configure
if [ "$1" = configure ]; then
	mkdir -p /var/lib/kdumpbox
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
	if [ -z "$2" ] || [ -e "$note" ]; then
		systemctl enable "$unit" || echo "kdumpbox: could not enable $unit; run: systemctl enable $unit" >&2
		rm -f "$note"
		first=yes
	fi
	if [ -d /run/systemd/system ] && systemctl -q is-enabled "$unit" 2>/dev/null; then
		# arm now (or re-arm with the new binary); without crashkernel= the
		# unit's condition skips it, and `kdump status` says why
		if [ "${first:-}" = yes ]; then action=start; else action=try-restart; fi
		systemctl "$action" "$unit" || echo "kdumpbox: kdump start failed; see: systemctl status $unit" >&2
	fi
fi
exit 0
EOF

cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
unit=kdumpbox.service
if [ "$1" = remove ]; then
	if [ -d /run/systemd/system ]; then
		systemctl stop "$unit" || true
	fi
	if systemctl -q is-enabled "$unit" 2>/dev/null; then
		mkdir -p /var/lib/kdumpbox
		: >/var/lib/kdumpbox/enable-on-configure
	fi
	systemctl disable "$unit" >/dev/null 2>&1 || true
fi
exit 0
EOF

cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
	# the capture initramfs images and propagate's known_hosts; dumps in
	# /var/crash are the admin's and stay
	rm -rf /var/lib/kdumpbox
fi
exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb=$out/kdumpbox_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
