# shellcheck shell=bash
# tests/arm64/lib.sh: the arm64 tier's helpers: Debian's arm64 cloud kernels
# and busybox under qemu-system-aarch64 (TCG), with the aarch64 kdumpbox in
# the initramfs.  Source it from a bash script running with
# `set -euo pipefail`; it sources tests/vm/lib.sh and reuses its apt, module,
# initramfs and assertion helpers (vm_apt, vm_modules_closure,
# vm_install_modules, vm_make_initramfs, vm_expect_run, vm_log, vm_die).
#
# Downloads land under $VM_CACHE/arm64 (default ~/.cache/kdumpbox/arm64):
# apt/<suite>/ private arm64 package lists (apt checks the signed Release
# and the Packages index the .debs are checked against), kernels/<release>/,
# busybox/.  A second run reuses them.
#
# Functions (all prefixed arm64_):
#   arm64_require_host_packages   qemu-system-arm, cpio, python3 ... are installed
#   arm64_fetch_kernel SUITE      linux-image-*-cloud-arm64 of SUITE (bookworm: 6.1,
#                                 trixie: 6.12); exports ARM64_KERNEL_{RELEASE,DIR,
#                                 CONFIG,SUITE}, ARM64_VMLINUZ, ARM64_MODULES_DIR
#   arm64_fetch_busybox           busybox-static:arm64 of bookworm; exports ARM64_BUSYBOX
#   arm64_initramfs_root DIR INIT KDUMPBOX
#                                 a guest root in DIR: busybox at /bin/busybox, INIT
#                                 as /init, KDUMPBOX at /usr/sbin/kdumpbox
#   arm64_add_file DIR SRC DEST   copy SRC to DIR/DEST (parents made; a kernel,
#                                 a second initramfs, a config file ...)
#   arm64_make_initramfs DIR OUT  gzip newc cpio of DIR (vm_make_initramfs)
#   arm64_run --log FILE --kernel IMAGE [--initrd INITRD] [--append CMDLINE]
#             [--mem MiB] [--smp N] [--timeout S] [--qmp SOCKET] [--background]
#             [-- EXTRA-QEMU-ARGS...]
#                                 boot qemu-system-aarch64 -M virt -cpu max; the
#                                 console goes to FILE; returns qemu's status
#                                 (124: timeout), or with --background sets
#                                 ARM64_QEMU_PID and returns at once
#   arm64_wait_for LOG REGEX SECONDS [PID]
#                                 wait until a console line matches (0), the
#                                 time is up (1) or qemu PID exited (2)
#   arm64_strip_cr LOG             drop the console's CRs (arm64_run does it itself,
#                                 except with --background)
#   arm64_qmp SOCKET COMMAND-JSON...  run QMP commands, print the replies
#   arm64_guest_init_lib          path of guest-lib.sh, the guest side's
#                                 say/run/off helpers (sourced by /init scripts)

ARM64_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../vm/lib.sh
. "$ARM64_TESTS_DIR/../vm/lib.sh"
ARM64_CACHE=$VM_CACHE/arm64

ARM64_HOST_PACKAGES=(qemu-system-arm cpio python3 gzip xz-utils)
arm64_require_host_packages() { vm_require_packages "${ARM64_HOST_PACKAGES[@]}"; }

# The arm64 package lists live apart from tests/vm's amd64 ones: the same
# private source list (vm__apt_setup), other lists and cache folders, and
# arm64 as apt's only architecture.
arm64__apt() {
	local suite=$1 d
	shift
	d=$ARM64_CACHE/apt/$suite
	local -a opts=(
		-o "Dir::Etc::SourceList=/dev/null"
		-o "Dir::Etc::SourceParts=$d/sources.list.d"
		-o "Dir::State::Lists=$d/lists"
		-o "Dir::Cache=$d/cache"
		-o "Dir::Cache::pkgcache="
		-o "Dir::Cache::srcpkgcache="
		-o "Dir::State::Status=/dev/null"
		-o "APT::Sandbox::User=root"
		-o "APT::Architecture=arm64"
		-o "APT::Architectures=arm64"
	)
	local stamp=$d/updated.stamp age max=${KDUMPBOX_APT_MAX_AGE:-21600}
	if [[ ! -e $stamp ]] || (($(date +%s) - $(stat -c %Y "$stamp") >= max)); then
		# vm__apt_setup writes the suite's source list into tests/vm's folder; copy it.
		vm__apt_setup "$suite"
		mkdir -p "$d/sources.list.d" "$d/lists/partial" "$d/cache/archives/partial"
		cp "$(vm__apt_dir "$suite")/sources.list.d/debian.sources" "$d/sources.list.d/debian.sources"
		if apt-get "${opts[@]}" -q update >"$d/update.log" 2>&1; then
			touch "$stamp"
		elif ! compgen -G "$d/lists/*_Packages*" >/dev/null; then
			vm_die "apt-get update (arm64, $suite) failed, see $d/update.log"
		else
			vm_log "warning: apt-get update (arm64, $suite) failed; using the lists from before"
		fi
	fi
	"${ARM64__APT_TOOL:-apt-get}" "${opts[@]}" "$@"
}
arm64__apt_cache() { ARM64__APT_TOOL=apt-cache arm64__apt "$@"; }

# arm64__download SUITE PKG DEST: apt-get download PKG (its .deb is checked
# against the signed Packages index) and unpack it into DEST/root.
arm64__download() { vm_fetch_deb arm64__apt "$@"; }

arm64_fetch_kernel() {
	local suite=${1:?arm64_fetch_kernel SUITE} pkg top kdir s
	top=$ARM64_CACHE/kernels
	mkdir -p "$top"
	pkg=$(arm64__apt_cache "$suite" depends linux-image-cloud-arm64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-arm64$/ { print $2; exit }') || pkg=""
	if [[ -z $pkg ]]; then
		for s in "$top"/*/suite; do # offline: the newest cached kernel of SUITE
			[[ -e $s && $(cat "$s") == "$suite" && -e ${s%/suite}/unpacked.stamp ]] && pkg=$(cat "${s%/suite}/package")
		done
		[[ -n $pkg ]] || vm_die "cannot resolve linux-image-cloud-arm64 in $suite and no cached kernel for it"
		vm_log "warning: package lists unavailable; using cached $pkg"
	fi
	ARM64_KERNEL_RELEASE=${pkg#linux-image-}
	kdir=$top/$ARM64_KERNEL_RELEASE
	if [[ ! -e $kdir/unpacked.stamp ]]; then
		vm_log "downloading $pkg (arm64) from $suite"
		arm64__download "$suite" "$pkg" "$kdir"
	fi
	ARM64_KERNEL_SUITE=$suite
	ARM64_KERNEL_DIR=$kdir
	ARM64_VMLINUZ=$kdir/root/boot/vmlinuz-$ARM64_KERNEL_RELEASE
	ARM64_KERNEL_CONFIG=$kdir/root/boot/config-$ARM64_KERNEL_RELEASE
	ARM64_MODULES_DIR=$kdir/root/lib/modules/$ARM64_KERNEL_RELEASE
	[[ -d $ARM64_MODULES_DIR ]] || ARM64_MODULES_DIR=$kdir/root/usr/lib/modules/$ARM64_KERNEL_RELEASE
	[[ -f $ARM64_VMLINUZ ]] || vm_die "$pkg has no boot/vmlinuz-$ARM64_KERNEL_RELEASE"
	export ARM64_KERNEL_RELEASE ARM64_KERNEL_SUITE ARM64_KERNEL_DIR ARM64_VMLINUZ ARM64_KERNEL_CONFIG ARM64_MODULES_DIR
}

arm64_fetch_busybox() {
	local dir=$ARM64_CACHE/busybox
	[[ -e $dir/unpacked.stamp ]] || arm64__download bookworm busybox-static "$dir"
	ARM64_BUSYBOX=$dir/root/bin/busybox
	[[ -x $ARM64_BUSYBOX ]] || vm_die "busybox-static (arm64) has no bin/busybox"
	export ARM64_BUSYBOX
}

arm64_initramfs_root() {
	local dir=$1 init=$2 kdumpbox=$3
	[[ -n ${ARM64_BUSYBOX:-} ]] || arm64_fetch_busybox
	rm -rf "$dir"
	mkdir -p "$dir/bin" "$dir/usr/sbin" "$dir/lib"
	cp "$ARM64_BUSYBOX" "$dir/bin/busybox"
	install -m 0755 "$init" "$dir/init"
	cp "$ARM64_TESTS_DIR/guest-lib.sh" "$dir/lib/guest-lib.sh"
	install -m 0755 "$kdumpbox" "$dir/usr/sbin/kdumpbox"
}

arm64_add_file() {
	local dir=$1 src=$2 dest=$3
	mkdir -p "$dir$(dirname "$dest")"
	cp -L "$src" "$dir$dest"
}

arm64_make_initramfs() { vm_make_initramfs "$@"; }

arm64_run() {
	local log="" kernel="" initrd="" append="console=ttyAMA0" mem=2048 smp=2 qmp="" background=0
	local timeout=${KDUMPBOX_VM_TIMEOUT:-900}
	local -a extra=()
	while (($#)); do
		case $1 in
		--log) log=$2; shift 2 ;;
		--kernel) kernel=$2; shift 2 ;;
		--initrd) initrd=$2; shift 2 ;;
		--append) append=$2; shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--smp) smp=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		--qmp) qmp=$2; shift 2 ;;
		--background) background=1; shift ;;
		--) shift; extra=("$@"); break ;;
		*) vm_die "arm64_run: unknown option $1" ;;
		esac
	done
	[[ -n $log && -n $kernel ]] || vm_die "arm64_run: --log and --kernel are required"
	# shellcheck disable=SC2054 # the commas belong to qemu's option values
	local -a cmd=(qemu-system-aarch64 -M virt -cpu "${ARM64_CPU:-max}" -accel tcg,thread=multi
		-m "$mem" -smp "$smp" -nodefaults -no-user-config -display none
		-serial "file:$log" -no-reboot -kernel "$kernel" -append "$append")
	[[ -n $initrd ]] && cmd+=(-initrd "$initrd")
	[[ -n $qmp ]] && cmd+=(-qmp "unix:$qmp,server=on,wait=off")
	cmd+=("${extra[@]}")
	: >"$log"
	if ((background)); then
		timeout --kill-after=20 "$timeout" "${cmd[@]}" </dev/null >>"$log.qemu" 2>&1 &
		ARM64_QEMU_PID=$!
		return 0
	fi
	local rc=0
	timeout --kill-after=20 "$timeout" "${cmd[@]}" </dev/null >>"$log.qemu" 2>&1 || rc=$?
	arm64_strip_cr "$log"
	return "$rc"
}

# The PL011 console ends lines with CR LF; the assertions (vm_expect_run)
# want plain lines. arm64_run does this itself; after --background, call it
# once qemu has ended.
arm64_strip_cr() { sed -i 's/\r$//' "$1"; }

arm64_wait_for() {
	local log=$1 regex=$2 seconds=$3 pid=${4:-} end=$((SECONDS + $3))
	while ((SECONDS < end)); do
		grep -Eq -- "$regex" "$log" 2>/dev/null && return 0
		if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
			grep -Eq -- "$regex" "$log" 2>/dev/null && return 0
			return 2
		fi
		sleep 0.5
	done
	return 1
}

arm64_qmp() {
	local socket=$1
	shift
	"$VM_PY" - "$socket" "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        msg = json.loads(f.readline())
        if "event" not in msg:
            return msg
reply()  # the greeting
for command in ["{\"execute\": \"qmp_capabilities\"}"] + sys.argv[2:]:
    f.write(command + "\n")
    f.flush()
    answer = reply()
    print(json.dumps(answer))
    if "error" in answer:
        sys.exit(1)
PY
}

arm64_guest_init_lib() { printf '%s\n' "$ARM64_TESTS_DIR/guest-lib.sh"; }
