#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The NFS target against a real server: NFS-Ganesha (Debian's nfs-ganesha,
# userspace: this host's kernel has neither nfsd nor an NFS client) on
# 127.0.0.1, exporting a temporary directory, and a QEMU guest (Debian's
# bookworm cloud kernel, user networking: the host's 127.0.0.1 is 10.0.2.2)
# whose kdumpbox mount-and-save mounts it with core/nfs's in-kernel text
# options and saves files with the safe-write rules. tests/vm/nfs-init.sh is
# the guest's /init. Checked here: the files arrive whole, in
# PATH/10.0.2.15-DATE/ (mode 0700), mode 0600, no -incomplete left; NFSv4
# (negotiated, and 4.0 by -t nfs4), NFSv3 when rpcbind can run (Ganesha
# will not serve v3 unregistered); a missing export and a closed port fail
# with messages that say so.
# Usage: tests/vm/nfs.sh PATH/TO/kdumpbox (the static release build; a
# dynamic build works too: its libraries are copied into the guest, as the
# binary runs there as a program, not as PID 1)
set -euo pipefail

binary=$(readlink -f "${1:?usage: nfs.sh PATH/TO/kdumpbox}")
here=$(cd "$(dirname "$0")" && pwd)
VM_ME=vm-nfs
. "$here/lib.sh"
. "$here/ganesha.sh"
. "$here/../testlib.sh"
set +e # the checks below count failures instead of stopping

if [[ ! -x $binary ]]; then
	fail "the binary to test exists" "$binary is missing or not executable"
	finish vm-nfs
	exit
fi
vm_require_host_packages
vm_require_packages nfs-ganesha nfs-ganesha-vfs rpcbind
vm_fetch_kernel bookworm
work=$(mktemp -d /tmp/kdumpbox-vm-nfs-XXXXXX)
rpcbind_pid=""
cleanup() {
	ganesha_stop
	[[ -n $rpcbind_pid ]] && kill "$rpcbind_pid" 2>/dev/null && wait "$rpcbind_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# --- the server --------------------------------------------------------------
# NFSv3 needs Ganesha registered with rpcbind (it exits otherwise); NFSv4
# needs nothing but its TCP port. Use a running rpcbind, else start one.
protocols=4 v3=0
if listening 111; then
	protocols="3, 4" v3=1
elif command -v rpcbind >/dev/null; then
	mkdir -p /run/rpcbind
	rpcbind -f >"$work/rpcbind.log" 2>&1 &
	rpcbind_pid=$!
	for _ in $(seq 50); do listening 111 && break; sleep 0.1; done
	if listening 111; then protocols="3, 4" v3=1; else rpcbind_pid=""; fi
fi
closed=$(free_port)
mkdir -p "$work/export"
if ! ganesha_start "$work" "$work/export" "$protocols"; then
	fail "NFS-Ganesha listens on 127.0.0.1:$ganesha_port" "$(tail -5 $ganesha_log 2>&1)"
	finish vm-nfs
	exit
fi
port=$ganesha_port mountport=$ganesha_mountport
ok "NFS-Ganesha $(ganesha.nfsd -v 2>&1 | sed -n 's/.*Release = //p') serves /export on 127.0.0.1:$port (NFSv${protocols// /})"
((v3)) || skip "NFSv3" "no rpcbind could run, and Ganesha serves NFSv3 only registered"

# --- the guest -----------------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,mnt}
cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$here/nfs-init.sh" "$root/init"
if file -L "$binary" | grep -q 'statically linked'; then
	install -m 0755 "$binary" "$root/usr/local/bin/kdumpbox"
else
	vm_install_binary "$root" "$binary"
	ln -s "$binary" "$root/usr/local/bin/kdumpbox"
fi
vm_install_modules "$VM_MODULES_DIR" "$root/lib/test-modules" virtio_pci virtio_net nfsv3 nfsv4
vm_make_initramfs "$root" "$work/initrd.cpio.gz"

append="console=ttyS0 panic=1 ktest_port=$port ktest_mountport=$mountport ktest_closed_port=$closed ktest_v3=$v3"
rc=0
vm_run --log "$work/guest.log" --kernel "$VM_VMLINUZ" --initrd "$work/initrd.cpio.gz" \
	--append "$append" --mem 512 --smp 1 --timeout 600 \
	-- -netdev user,id=net0 -device virtio-net-pci,netdev=net0 || rc=$?
tr -d '\r' <"$work/guest.log" >"$work/guest.txt"
log=$work/guest.txt
echo "# guest: qemu exited with status $rc"
if ! grep -q '^KTEST: done$' "$log"; then
	fail "the guest ran every step" "$(grep -E '^KTEST|Kernel panic|error' "$log" | tail -8)"
fi

grep -E '^KTEST' "$log" | sed 's/^/# /'

expect_run() { vm_expect_run "$log" "$@"; }
# expect_saved NAME PATH FILE CONTENT: one dump directory under
# export/PATH named 10.0.2.15-DATE (or 127.0.0.1-DATE), mode 0700, holding
# FILE with CONTENT, mode 0600, and no -incomplete file.
expect_saved() {
	local name=$1 path=$2 file=$3 want=$4 prefix=${5:-127.0.0.1} dirs dir
	dirs=$(find "$work/export$path" -mindepth 1 -maxdepth 1 -type d -name "$prefix-*" 2>/dev/null)
	dir=$(head -1 <<<"$dirs")
	if [[ -z $dir || $(wc -l <<<"$dirs") != 1 ]]; then
		fail "$name: one dump directory $path/$prefix-DATE on the export" "found: $(find "$work/export" | sed "s|$work/export||" | tr '\n' ' ')"
		return
	fi
	if [[ $(basename "$dir") =~ ^$prefix-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}:[0-9]{2}:[0-9]{2}$ &&
		$(stat -c %a "$dir") == 700 && -f $dir/$file && $(stat -c %a "$dir/$file") == 600 &&
		$(cat "$dir/$file") == "$want" && -z $(find "$dir" -name '*-incomplete') ]]; then
		ok "$name: $path/$(basename "$dir")/$file arrived whole (0600, directory 0700, nothing -incomplete)"
	else
		fail "$name: $path/$(basename "$dir")/$file arrived whole (0600, directory 0700, nothing -incomplete)" \
			"$(ls -la "$dir" 2>&1)" "content: $(head -c 200 "$dir/$file" 2>&1)"
	fi
}

# Only the 64 hex digits: the kernel may print onto the same console line.
payload_sum=$(sed -n 's/^KTEST: payload sha256 \([0-9a-f]\{64\}\).*/\1/p' "$log")
payload_file=$(find "$work/export/var/crash" -name payload 2>/dev/null | head -1)
payload=$(cat "$payload_file" 2>/dev/null)
[[ -n $payload_sum && $(sha256sum <<<"$payload" | cut -d' ' -f1) == "$payload_sum" ]] &&
	ok "the payload's SHA-256 on the export is the guest's" ||
	fail "the payload's SHA-256 on the export is the guest's" "guest: ${payload_sum:-none}" "export: $(sha256sum <<<"$payload")"

expect_run v4 0 '^/mnt/v4/var/crash/10\.0\.2\.15-'
expect_saved "NFSv4 (negotiated)" /var/crash payload "$payload" 10.0.2.15
expect_run v4-stdin-name 0
expect_saved "NFSv4, --name for standard input" /stdin vmcore from-stdin 10.0.2.15
expect_run v4.0 0
expect_saved "NFSv4.0 (-t nfs4 -o vers=4.0)" /v40 payload "$payload"
if ((v3)); then
	expect_run v3 0
	expect_saved "NFSv3 (nolock, mountport=)" /v3 payload "$payload"
fi
grep -q "^KTEST-MOUNTS: " "$log" && fail "every NFS mount was unmounted" "$(grep '^KTEST-MOUNTS: ' "$log")" ||
	ok "every NFS mount was unmounted"
# Ganesha answers NFS4ERR_NOENT for a pseudo path it does not have.
expect_run no-export 1 'exports no /not-exported to NFSv4'
expect_run refused 1 "nothing listens on 10\.0\.2\.2 TCP port $closed"

finish vm-nfs
