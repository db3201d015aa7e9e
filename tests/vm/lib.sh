# shellcheck shell=bash
# tests/vm/lib.sh: shared helpers for the VM tests (QEMU TCG guests running
# Debian's cloud kernels).  Source it from a bash script that already runs
# with `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#
# Everything downloaded or built lands under $VM_CACHE (default
# ${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}); every step is guarded by a stamp
# file so a second run reuses the first run's work.
#
# Functions (all prefixed vm_):
#   vm_log MSG...                 message to stderr, prefixed with the script name
#   vm_die MSG...                 one-line error to stderr, exit 1
#   vm_require_packages PKG...    fail, naming every Debian package that is not installed
#   vm_require_host_packages      the packages needed to build and boot a guest
#   vm_require_oracle_packages    the packages needed to check a vmcore (makedumpfile, libkdumpfile)
#   vm_apt SUITE APT-GET-ARGS...  apt-get with a private source list for SUITE
#   vm_apt_cache SUITE ARGS...    apt-cache with the same private configuration
#   vm_fetch_kernel [SUITE]       download + unpack linux-image-*-cloud-amd64; exports VM_KERNEL_*
#   vm_fetch_dbg_vmlinux          the matching -dbg vmlinux (large); exports VM_DBG_VMLINUX
#   vm_modules_closure MODDIR MOD...  .ko files for MODs and their depends=, in load order
#   vm_install_modules MODDIR DEST MOD... uncompressed copies + DEST/load-order
#   vm_install_binary ROOT PATH   copy a dynamic executable and the libraries ldd names
#   vm_make_initramfs DIR OUT     newc cpio, gzip-compressed, owned by root
#   vm_elf_core_size FILE         bytes an ELF core file really uses (max p_offset+p_filesz)
#   vm_run OPTIONS                run qemu-system-x86_64 (TCG), console to a log file
#                                 (and LOG.times: each line with the host's time)
#   vm_capture_times LOG.times    panic -> saved and its phases, on the host's clock
#   vm_expect_run LOG NAME RC [PATTERN]  a guest step's KTEST-RUN status and KTEST-OUT output (testlib's ok/fail)

: "${VM_CACHE:=${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}}"
VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_PY=/usr/bin/python3 # Debian's python: libkdumpfile is installed for it only
VM_ME=${VM_ME:-$(basename "${0:-vm}")}

vm_log() { printf '%s: %s\n' "$VM_ME" "$*" >&2; }
vm_die() {
	printf '%s: error: %s\n' "$VM_ME" "$*" >&2
	exit 1
}

# --- host packages -----------------------------------------------------------

vm_require_packages() {
	local p missing=()
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
			missing+=("$p")
		fi
	done
	if ((${#missing[@]})); then
		if [[ ${KDUMPBOX_VM_AUTO_INSTALL:-0} == 1 ]]; then
			vm_log "installing missing packages: ${missing[*]}"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
				vm_die "apt-get install ${missing[*]} failed"
			return 0
		fi
		vm_die "missing Debian package(s): ${missing[*]} (apt-get install ${missing[*]}, or set KDUMPBOX_VM_AUTO_INSTALL=1)"
	fi
}

# qemu-system-x86: the emulator; busybox-static: the guest's userland;
# kexec-tools: the guest's kexec (and its libraries, copied from this host);
# musl-tools: musl-gcc for the static memory-filling helper; cpio: initramfs;
# python3: ELF and module parsing in Debian's /usr/bin/python3.
VM_HOST_PACKAGES=(qemu-system-x86 busybox-static kexec-tools musl-tools cpio python3 gzip xz-utils)
VM_ORACLE_PACKAGES=(makedumpfile python3-libkdumpfile)

vm_require_host_packages() { vm_require_packages "${VM_HOST_PACKAGES[@]}"; }
vm_require_oracle_packages() { vm_require_packages "${VM_ORACLE_PACKAGES[@]}"; }

# --- private apt configuration -------------------------------------------------
# The system's sources name only bookworm.  For any suite we build a private
# copy of /etc/apt/sources.list.d/debian.sources whose Suites: lines have the
# release name replaced, plus private lists and cache folders, so the system's
# apt configuration and state are never touched.

vm__apt_dir() { printf '%s/vm/apt/%s' "$VM_CACHE" "$1"; }

vm__apt_opts() {
	local d
	d=$(vm__apt_dir "$1")
	VM_APT_OPTS=(
		-o "Dir::Etc::SourceList=/dev/null"
		-o "Dir::Etc::SourceParts=$d/sources.list.d"
		-o "Dir::State::Lists=$d/lists"
		-o "Dir::Cache=$d/cache"
		-o "Dir::Cache::pkgcache="
		-o "Dir::Cache::srcpkgcache="
		-o "APT::Sandbox::User=root"
	)
	# backports are NotAutomatic: make them the candidate
	[[ $1 != *-backports ]] || VM_APT_OPTS+=(-o "APT::Default-Release=$1")
}

vm__apt_setup() {
	local suite=$1 d src=/etc/apt/sources.list.d/debian.sources from
	case $suite in
	bookworm | trixie | bookworm-backports | trixie-backports) ;;
	*) vm_die "unknown suite '$suite' (bookworm, trixie, bookworm-backports, trixie-backports)" ;;
	esac
	[[ -r $src ]] || vm_die "$src not found: cannot derive a private apt source list"
	d=$(vm__apt_dir "$suite")
	mkdir -p "$d/sources.list.d" "$d/lists/partial" "$d/cache/archives/partial"
	# Which release does the system use?  The first word of the first Suites: line.
	from=$(awk '/^Suites:/ { print $2; exit }' "$src")
	from=${from%%-*}
	[[ -n $from ]] || vm_die "no Suites: line in $src"
	case $suite in
	*-backports)
		# the base suite's stanzas as they are, plus SUITE on the main archive
		awk -v base="${suite%-backports}" -v from="$from" -v extra="$suite" '
			/^Suites:/ {
				out = "Suites:"; main = 0
				for (i = 2; i <= NF; i++) {
					s = $i; sub("^" from, base, s); out = out " " s
					if (s == base) main = 1
				}
				if (main) out = out " " extra
				print out; next
			}
			{ print }' "$src" >"$d/sources.list.d/debian.sources.new"
		;;
	*)
		awk -v to="$suite" -v from="$from" '
			/^Suites:/ {
				out = "Suites:"
				for (i = 2; i <= NF; i++) { s = $i; sub("^" from, to, s); out = out " " s }
				print out; next
			}
			{ print }' "$src" >"$d/sources.list.d/debian.sources.new"
		;;
	esac
	mv "$d/sources.list.d/debian.sources.new" "$d/sources.list.d/debian.sources"
}

# Update the private lists at most once per KDUMPBOX_APT_MAX_AGE seconds
# (default 6 h).  A failed update with old lists present is only a warning.
vm__apt_update() {
	local suite=$1 d stamp age max=${KDUMPBOX_APT_MAX_AGE:-21600}
	d=$(vm__apt_dir "$suite")
	stamp=$d/updated.stamp
	if [[ -e $stamp ]]; then
		age=$(($(date +%s) - $(stat -c %Y "$stamp")))
		((age < max)) && return 0
	fi
	vm__apt_setup "$suite"
	vm__apt_opts "$suite"
	if apt-get "${VM_APT_OPTS[@]}" -q update >"$d/update.log" 2>&1; then
		touch "$stamp"
	elif compgen -G "$d/lists/*_Packages*" >/dev/null; then
		vm_log "warning: apt-get update for $suite failed (see $d/update.log); using the lists from before"
	else
		vm_die "apt-get update for $suite failed, see $d/update.log"
	fi
}

vm_apt() {
	local suite=$1
	shift
	vm__apt_update "$suite"
	vm__apt_opts "$suite"
	apt-get "${VM_APT_OPTS[@]}" "$@"
}

vm_apt_cache() {
	local suite=$1
	shift
	vm__apt_update "$suite"
	vm__apt_opts "$suite"
	apt-cache "${VM_APT_OPTS[@]}" "$@"
}

# --- kernels -------------------------------------------------------------------

# vm_fetch_kernel [SUITE]: resolve the current linux-image-*-cloud-amd64 of
# SUITE (default bookworm), download and unpack it once into
# $VM_CACHE/vm/kernels/<release>/, and export:
#   VM_KERNEL_SUITE, VM_KERNEL_PKG, VM_KERNEL_DEB_VERSION,
#   VM_KERNEL_RELEASE (uname -r), VM_KERNEL_DIR (unpacked tree),
#   VM_VMLINUZ, VM_KERNEL_CONFIG, VM_MODULES_DIR (…/lib/modules/<release>).
# When the package archive cannot be reached, the newest kernel of SUITE
# already in the cache is used.

# vm_fetch_deb APT SUITE PKG DEST: `APT SUITE -q download PKG` (apt checks
# the .deb against the signed Packages index), unpacked into DEST/root, with
# its version, package and suite beside it and DEST/unpacked.stamp last.
# APT is vm_apt (amd64) or arm64__apt (tests/arm64/lib.sh).
vm_fetch_deb() {
	local apt=$1 suite=$2 pkg=$3 dest=$4 deb
	rm -rf "$dest"
	mkdir -p "$dest/dl"
	(cd "$dest/dl" && "$apt" "$suite" -q download "$pkg" >"$dest/download.log" 2>&1) ||
		vm_die "apt-get download $pkg ($suite) failed, see $dest/download.log"
	deb=$(ls "$dest"/dl/"${pkg}"_*.deb)
	dpkg-deb -x "$deb" "$dest/root" || vm_die "dpkg-deb -x $deb failed"
	dpkg-deb -f "$deb" Version >"$dest/deb-version"
	printf '%s\n' "$pkg" >"$dest/package"
	printf '%s\n' "$suite" >"$dest/suite"
	rm -rf "$dest/dl"
	touch "$dest/unpacked.stamp"
}
vm_fetch_kernel() {
	local suite=${1:-bookworm} pkg="" ver="" kdir deb top
	top=$VM_CACHE/vm/kernels
	mkdir -p "$top"
	if pkg=$(vm_apt_cache "$suite" depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }') && [[ -n $pkg ]]; then
		ver=$(vm_apt_cache "$suite" show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
	else
		# offline: the newest cached kernel that came from SUITE
		local s best=""
		for s in "$top"/*/suite; do
			[[ -e $s ]] || continue
			[[ $(cat "$s") == "$suite" ]] || continue
			[[ -e ${s%/suite}/unpacked.stamp ]] || continue
			best=${s%/suite}
		done
		[[ -n $best ]] || vm_die "cannot resolve linux-image-cloud-amd64 in $suite and no cached kernel for it"
		pkg=$(cat "$best/package")
		vm_log "warning: package lists unavailable; using cached $pkg"
	fi
	[[ -n $pkg ]] || vm_die "linux-image-cloud-amd64 in $suite names no kernel package"
	local release=${pkg#linux-image-}
	kdir=$top/$release
	if [[ ! -e $kdir/unpacked.stamp ]]; then
		vm_log "downloading $pkg ${ver:+($ver) }from $suite"
		vm_fetch_deb vm_apt "$suite" "$pkg" "$kdir"
	fi
	VM_KERNEL_SUITE=$suite
	VM_KERNEL_PKG=$pkg
	VM_KERNEL_DEB_VERSION=$(cat "$kdir/deb-version")
	VM_KERNEL_RELEASE=$release
	VM_KERNEL_DIR=$kdir
	VM_VMLINUZ=$kdir/root/boot/vmlinuz-$release
	VM_KERNEL_CONFIG=$kdir/root/boot/config-$release
	if [[ -d $kdir/root/lib/modules/$release ]]; then
		VM_MODULES_DIR=$kdir/root/lib/modules/$release
	else
		VM_MODULES_DIR=$kdir/root/usr/lib/modules/$release # merged /usr (trixie)
	fi
	[[ -f $VM_VMLINUZ ]] || vm_die "$pkg has no boot/vmlinuz-$release"
	[[ -d $VM_MODULES_DIR ]] || vm_die "$pkg has no modules folder for $release"
	export VM_KERNEL_SUITE VM_KERNEL_PKG VM_KERNEL_DEB_VERSION VM_KERNEL_RELEASE \
		VM_KERNEL_DIR VM_VMLINUZ VM_KERNEL_CONFIG VM_MODULES_DIR
}

# vm_fetch_dbg_vmlinux: the debug vmlinux of the kernel vm_fetch_kernel chose
# (package <kernel package>-dbg, about 280 MB to download).  Only the vmlinux
# is kept.  Exports VM_DBG_VMLINUX.
vm_fetch_dbg_vmlinux() {
	[[ -n ${VM_KERNEL_DIR:-} ]] || vm_die "vm_fetch_dbg_vmlinux: call vm_fetch_kernel first"
	local kdir=$VM_KERNEL_DIR pkg=${VM_KERNEL_PKG}-dbg deb
	local want=usr/lib/debug/boot/vmlinux-$VM_KERNEL_RELEASE
	if [[ ! -e $kdir/dbg.stamp ]]; then
		vm_log "downloading $pkg (large)"
		rm -rf "$kdir/dbg" "$kdir/dbg-dl"
		mkdir -p "$kdir/dbg-dl" "$kdir/dbg"
		(cd "$kdir/dbg-dl" && vm_apt "$VM_KERNEL_SUITE" -q download "$pkg=$VM_KERNEL_DEB_VERSION" >"$kdir/dbg-download.log" 2>&1) ||
			vm_die "apt-get download $pkg failed, see $kdir/dbg-download.log"
		deb=$(ls "$kdir"/dbg-dl/"${pkg}"_*.deb)
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir/dbg" --wildcards "./$want" "$want" 2>/dev/null || true
		[[ -f $kdir/dbg/$want ]] || vm_die "$deb holds no $want"
		rm -rf "$kdir/dbg-dl"
		touch "$kdir/dbg.stamp"
	fi
	VM_DBG_VMLINUX=$kdir/dbg/$want
	export VM_DBG_VMLINUX
}

# --- kernel modules ------------------------------------------------------------

# vm_modules_closure MODDIR MOD...: print the module files (.ko, .ko.xz,
# .ko.gz, .ko.zst) needed for MODs, dependencies first, one per line.  The
# dependencies come from each file's .modinfo depends= (Debian's package has
# no modules.dep).  A module that is built in (modules.builtin, or no file at
# all while the name is in modules.builtin.modinfo) is skipped.
vm_modules_closure() {
	"$VM_PY" - "$@" <<'PY'
import gzip, lzma, os, struct, subprocess, sys

moddir, wanted = sys.argv[1], sys.argv[2:]

def norm(name):
    return name.replace("-", "_")

files = {}
for root, _dirs, names in os.walk(moddir):
    for n in names:
        for ext in (".ko", ".ko.xz", ".ko.gz", ".ko.zst"):
            if n.endswith(ext):
                files[norm(n[: -len(ext)])] = os.path.join(root, n)

builtin = set()
p = os.path.join(moddir, "modules.builtin")
if os.path.exists(p):
    for line in open(p):
        line = line.strip()
        if line:
            base = os.path.basename(line)
            builtin.add(norm(base[: -3] if base.endswith(".ko") else base))

def read_module(path):
    if path.endswith(".xz"):
        return lzma.open(path).read()
    if path.endswith(".gz"):
        return gzip.open(path).read()
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return open(path, "rb").read()

def modinfo(path):
    data = read_module(path)
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit(f"{path}: not an ELF64 module")
    end = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(end + "Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
    def sh(i):
        return struct.unpack_from(end + "IIQQQQIIQQ", data, shoff + i * shentsize)
    stroff = sh(shstrndx)[4]
    for i in range(shnum):
        name, _t, _f, _a, off, size = sh(i)[:6]
        nm = data[stroff + name: data.index(b"\0", stroff + name)]
        if nm == b".modinfo":
            info = {}
            for field in data[off: off + size].split(b"\0"):
                if b"=" in field:
                    k, v = field.split(b"=", 1)
                    info.setdefault(k.decode(), v.decode())
            return info
    return {}

order, seen = [], set()
def visit(name, chain):
    name = norm(name)
    if name in seen:
        return
    if name in chain:
        sys.exit("module dependency loop: " + " -> ".join(chain + [name]))
    path = files.get(name)
    if path is None:
        if name in builtin:
            seen.add(name)
            return
        sys.exit(f"module {name} not found in {moddir} (neither a file nor built in)")
    deps = modinfo(path).get("depends", "")
    for d in filter(None, deps.split(",")):
        visit(d, chain + [name])
    seen.add(name)
    order.append(path)

for w in wanted:
    visit(w, [])
print("\n".join(order))
PY
}

# vm_install_modules MODDIR DEST MOD...: uncompressed copies of the closure of
# MODs in DEST (decompressed on the host, so the guest's busybox insmod never
# has to), and DEST/load-order listing their file names in load order.
vm_install_modules() {
	local moddir=$1 dest=$2 f n list
	shift 2
	mkdir -p "$dest"
	list=$(vm_modules_closure "$moddir" "$@") || vm_die "cannot resolve modules $* in $moddir"
	: >"$dest/load-order"
	while IFS= read -r f; do
		[[ -n $f ]] || continue
		n=$(basename "$f")
		case $n in
		*.ko.xz) xz -dc "$f" >"$dest/${n%.xz}" ;;
		*.ko.gz) gzip -dc "$f" >"$dest/${n%.gz}" ;;
		*.ko.zst) zstd -q -dc "$f" >"$dest/${n%.zst}" ;;
		*) cp "$f" "$dest/$n" ;;
		esac
		n=${n%.xz}
		n=${n%.gz}
		n=${n%.zst}
		printf '%s\n' "$n" >>"$dest/load-order"
	done <<<"$list"
}

# --- guest root helpers ----------------------------------------------------------

# vm_install_binary ROOT PATH: copy PATH to ROOT/PATH and every shared
# library ldd names (plus the dynamic loader) to the same path under ROOT.
# Links such as /lib -> usr/lib on this host are resolved: the guest gets
# plain files at the paths the loader asks for.
vm_install_binary() {
	local root=$1 bin=$2 lib
	mkdir -p "$root$(dirname "$bin")"
	cp -L "$bin" "$root$bin"
	while IFS= read -r lib; do
		[[ -n $lib ]] || continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
}

# vm_make_initramfs DIR OUT: newc cpio of DIR's contents (root-owned, sorted,
# no timestamps from the host's clock), gzip -n compressed.
vm_make_initramfs() {
	local dir=$1 out=$2
	(
		cd "$dir" || exit 1
		find . -mindepth 1 -print0 | LC_ALL=C sort -z |
			cpio --null --create --format=newc --owner=0:0 --reproducible --quiet
	) | gzip -n -6 >"$out.tmp"
	mv "$out.tmp" "$out"
}

# --- ELF core files ----------------------------------------------------------------

# vm_elf_core_size FILE: the size of the ELF core file at the start of FILE
# (a raw disk image may be longer): the largest p_offset + p_filesz over all
# program headers (PT_LOAD and PT_NOTE alike), at least the end of the
# program-header table.
vm_elf_core_size() {
	"$VM_PY" - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    eh = f.read(64)
    if len(eh) < 64 or eh[:4] != b"\x7fELF":
        sys.exit(f"{sys.argv[1]}: no ELF header at offset 0")
    if eh[4] != 2:
        sys.exit(f"{sys.argv[1]}: not ELFCLASS64")
    end = "<" if eh[5] == 1 else ">"
    e_type, = struct.unpack_from(end + "H", eh, 16)
    if e_type != 4:
        sys.exit(f"{sys.argv[1]}: ELF type {e_type}, not ET_CORE")
    phoff, shoff = struct.unpack_from(end + "QQ", eh, 0x20)
    phentsize, phnum, shentsize = struct.unpack_from(end + "HHH", eh, 0x36)
    if phnum == 0xFFFF:  # PN_XNUM: the real count is section 0's sh_info
        f.seek(shoff)
        phnum = struct.unpack_from(end + "IIQQQQII", f.read(shentsize))[7]
    f.seek(phoff)
    table = f.read(phentsize * phnum)
    size = phoff + phentsize * phnum
    loads = notes = 0
    for i in range(phnum):
        p_type, _flags, p_offset, _va, _pa, p_filesz = struct.unpack_from(end + "IIQQQQ", table, i * phentsize)
        if p_type == 1:
            loads += 1
        elif p_type == 4:
            notes += 1
        if p_type in (1, 4):
            size = max(size, p_offset + p_filesz)
    if loads == 0 or notes == 0:
        sys.exit(f"{sys.argv[1]}: {loads} PT_LOAD and {notes} PT_NOTE headers; not a vmcore")
    print(size)
PY
}

# --- running a guest ------------------------------------------------------------------

# vm_run --log FILE --kernel VMLINUZ --initrd INITRD [--append CMDLINE]
#        [--mem MiB] [--smp N] [--cpu MODEL] [--timeout SECONDS]
#        [--disk FILE[,serial=NAME][,DRIVE-OPTION=...]]... [-- EXTRA-QEMU-ARGS...]
# Boots qemu-system-x86_64 with TCG (KVM is unusable on these machines), CPU
# model MODEL (default max, which has LA57: the guest uses 5-level paging;
# max,la57=off gives 4-level), no
# display, the serial console appended to FILE, -no-reboot (so a guest reboot
# or a panic with panic=N ends qemu), and each --disk as a raw virtio-blk disk
# in the order given (the guest sees vda, vdb, …; serial=NAME appears as
# /sys/block/vdX/serial).  Returns qemu's exit status; 124 when the timeout
# (default KDUMPBOX_VM_TIMEOUT, else 1800 s) ended it.
vm_run() {
	local log="" kernel="" initrd="" append="console=ttyS0" mem=1024 smp=2 cpu=max
	local timeout=${KDUMPBOX_VM_TIMEOUT:-1800} n=0 spec path opts serial o
	local -a disks=() extra=() parts=()
	while (($#)); do
		case $1 in
		--log) log=$2; shift 2 ;;
		--kernel) kernel=$2; shift 2 ;;
		--initrd) initrd=$2; shift 2 ;;
		--append) append=$2; shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--smp) smp=$2; shift 2 ;;
		--cpu) cpu=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		--disk) disks+=("$2"); shift 2 ;;
		--) shift; extra=("$@"); break ;;
		*) vm_die "vm_run: unknown option $1" ;;
		esac
	done
	[[ -n $log && -n $kernel ]] || vm_die "vm_run: --log and --kernel are required"
	# shellcheck disable=SC2054 # the commas belong to qemu's option values
	local -a cmd=(qemu-system-x86_64 -accel tcg,thread=multi -cpu "$cpu" -machine pc
		-m "$mem" -smp "$smp" -nodefaults -no-user-config -display none
		-serial stdio -no-reboot -kernel "$kernel" -append "$append")
	[[ -n $initrd ]] && cmd+=(-initrd "$initrd")
	for spec in "${disks[@]}"; do
		IFS=, read -ra parts <<<"$spec"
		path=${parts[0]}
		opts="" serial=""
		for o in "${parts[@]:1}"; do
			case $o in
			serial=*) serial=${o#serial=} ;;
			*) opts+=",$o" ;;
			esac
		done
		cmd+=(-drive "file=$path,format=raw,if=none,id=vmdisk$n$opts"
			-device "virtio-blk-pci,drive=vmdisk$n,id=vmdev$n${serial:+,serial=$serial}")
		n=$((n + 1))
	done
	cmd+=("${extra[@]}")
	: >"$log"
	# The console passes through console-times.py, which writes it to LOG
	# as it arrives and each line with the host's time to LOG.times
	# (vm_capture_times reads it: the capture kernel's own clock restarts).
	# (In an && || list, so that a qemu that failed or timed out is
	# returned to the caller rather than ending a `set -e` script.)
	local -a status
	timeout --kill-after=20 "$timeout" "${cmd[@]}" </dev/null 2>>"$log.qemu" \
		| /usr/bin/python3 "$VM_LIB_DIR/console-times.py" "$log" "$log.times" \
		&& status=(0 0) || status=("${PIPESTATUS[@]}")
	((status[1] == 0)) || echo "vm_run: console-times.py failed (status ${status[1]}); $log may be incomplete" >&2
	return "${status[0]}"
}

# vm_capture_times LOG.times: one line, "panic -> saved N s (...)", with the
# phases of a capture on the host's clock (vm_run's LOG.times): the panic,
# the capture kernel's first line, /init, the dumper's modules, target,
# vmcore-dmesg.txt and vmcore lines, and its final step. A phase whose line
# is missing shows as "?"; nothing at all when there was no panic.
vm_capture_times() {
	"$VM_PY" - "$1" <<'PY'
import re, sys
marks = [
    ("panic", r"Kernel panic - not syncing"),
    ("kernel", r"Linux version "),
    ("init", r"Run /init as init process"),
    ("modules", r"modules: \d+ loaded"),
    ("target", r"dump target: "),
    ("dmesg", r"saved \S*vmcore-dmesg\.txt"),
    ("vmcore", r"saved \S*/vmcore(-incomplete)? \("),
    ("end", r"final step: "),
]
seen = {}
try:
    lines = open(sys.argv[1], errors="replace").read().splitlines()
except OSError:
    sys.exit(0)
for line in lines:
    stamp, _, text = line.partition(" ")
    for name, pattern in marks:
        # Each mark after the panic (the first kernel has its own "Linux version").
        if name not in seen and (name == "panic" or "panic" in seen) and re.search(pattern, text):
            seen[name] = float(stamp)
if "panic" not in seen:
    sys.exit(0)
def span(a, b):
    return f"{seen[b] - seen[a]:.1f} s" if a in seen and b in seen else "?"
total = span("panic", "vmcore")
print(f"panic -> saved {total} (goal 4 s): kexec to the capture kernel {span('panic', 'kernel')}, its boot to /init {span('kernel', 'init')}, "
      f"modules {span('init', 'modules')}, target {span('modules', 'target')}, vmcore-dmesg {span('target', 'dmesg')}, "
      f"vmcore and sync {span('dmesg', 'vmcore')}; then {span('vmcore', 'end')} to the final step")
PY
}

# vm_expect_run LOG NAME RC [PATTERN]: the guest's NAME step (reported as
# "KTEST-RUN NAME rc=N" and "KTEST-OUT NAME: LINE") exited RC and its output
# matches the extended regex PATTERN; counted with testlib.sh's ok/fail.
vm_expect_run() {
	local log=$1 name=$2 rc=$3 pattern=${4:-} got output
	got=$(sed -n "s/^KTEST-RUN $name rc=//p" "$log" | head -1)
	output=$(sed -n "s/^KTEST-OUT $name: //p" "$log")
	if [[ $got == "$rc" ]] && { [[ -z $pattern ]] || grep -Eq -- "$pattern" <<<"$output"; }; then
		ok "$name: exit $rc${pattern:+, output matches /$pattern/}"
	else
		fail "$name: exit $rc${pattern:+, output matches /$pattern/}" "exit status: ${got:-none (the step did not run)}" "output: $output"
	fi
}
