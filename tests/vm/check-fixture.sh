#!/bin/bash
# tests/vm/check-fixture.sh: check a vmcore fixture made by make-fixture.sh
# with independent readers from Debian's packages (the oracles).
#
#   check-fixture.sh [--crash] FIXTURE.vmcore
#
# Checks:
#   elf-size   the file is exactly as long as its ELF program headers say
#   makedumpfile   makedumpfile -d 31 -c turns it into a kdump-compressed file
#                  (prints its page-exclusion counts: the memory composition)
#   dmesg      makedumpfile --dump-dmesg finds the sysrq crash in the kernel log
#   libkdumpfile   libkdumpfile opens the ELF file and the kdump file, and
#                  reads init_uts_ns through the kernel's page tables (KASLR)
#   crash      only with --crash: crash(8) with the debug vmlinux (downloaded,
#              about 280 MB) prints the release and the panic; crash 8.0.2
#              cannot read 6.12 dumps, so newer kernels are skipped
# Ends with a line "check-fixture: N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VM_ME=check-fixture
. "$here/lib.sh"

with_crash=0 fixture=""
while (($#)); do
	case $1 in
	--crash) with_crash=1; shift ;;
	-*) vm_die "unknown option $1" ;;
	*) fixture=$1; shift ;;
	esac
done
[[ -n $fixture ]] || vm_die "usage: check-fixture.sh [--crash] FIXTURE.vmcore"
[[ -f $fixture ]] || vm_die "$fixture: no such file"
info=$fixture.info
[[ -f $info ]] || vm_die "$info: no such file (made by make-fixture.sh?)"
vm_require_oracle_packages
((with_crash == 0)) || vm_require_packages crash

info_get() { awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$info"; }
release=$(info_get kernel_release)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() {
	passed=$((passed + 1))
	printf 'ok   %s\n' "$*"
}
bad() {
	failed=$((failed + 1))
	printf 'FAIL %s\n' "$*"
}

# elf-size
if size=$(vm_elf_core_size "$fixture"); then
	if [[ $size == "$(stat -c %s "$fixture")" ]]; then
		ok "elf-size: $size bytes"
	else
		bad "elf-size: headers give $size bytes, the file has $(stat -c %s "$fixture")"
	fi
else
	bad "elf-size: not an ELF vmcore"
fi

# makedumpfile
if makedumpfile -d 31 -c --message-level 31 "$fixture" "$tmp/dump.kdump" >"$tmp/md.log" 2>&1; then
	ok "makedumpfile: -d 31 -c wrote $(stat -c %s "$tmp/dump.kdump") bytes"
	awk '/^Original pages/, /^Total pages/' "$tmp/md.log" | "$VM_PY" -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"(\s*)([^:]+?)\s*:\s*0x([0-9a-f]+)", line)
    if m:
        n = int(m.group(3), 16)
        print(f"       {m.group(1)}{m.group(2):<26} {n:>9} pages {n * 4096 / 2**20:9.1f} MiB")
    elif line.strip() and not line.startswith("-"):
        print("       " + line.rstrip())'
else
	bad "makedumpfile: -d 31 -c failed: $(tail -n 3 "$tmp/md.log" | tr '\n' ' ')"
fi

# dmesg
if makedumpfile --dump-dmesg "$fixture" "$tmp/dmesg.txt" >"$tmp/dmesg.log" 2>&1; then
	if grep -q -i 'sysrq' "$tmp/dmesg.txt"; then
		ok "dmesg: $(grep -c '' "$tmp/dmesg.txt") lines, $(grep -i -m1 'sysrq' "$tmp/dmesg.txt" | sed 's/^\[[^]]*\] *//')"
	else
		bad "dmesg: no sysrq line in the kernel log"
	fi
else
	bad "dmesg: makedumpfile --dump-dmesg failed: $(tail -n 2 "$tmp/dmesg.log" | tr '\n' ' ')"
fi

# libkdumpfile
kdump_files=("$fixture")
[[ -f $tmp/dump.kdump ]] && kdump_files+=("$tmp/dump.kdump")
if out=$("$VM_PY" - "$release" "${kdump_files[@]}" 2>&1 <<'PY'
import sys
import kdumpfile
release = sys.argv[1]
for path in sys.argv[2:]:
    k = kdumpfile.kdumpfile(path)
    k.attr["addrxlat.ostype"] = "linux"
    lines = k.attr["linux.vmcoreinfo.lines"]
    if lines["OSRELEASE"] != release:
        sys.exit(f"{path}: VMCOREINFO OSRELEASE {lines['OSRELEASE']}, expected {release}")
    addr = int(lines["SYMBOL(init_uts_ns)"], 16) + int(lines["OFFSET(uts_namespace.name)"])
    raw = k.read(kdumpfile.KDUMP_KVADDR, addr, 65 * 3)
    fields = [bytes(raw[i * 65:(i + 1) * 65]).split(b"\0")[0].decode() for i in range(3)]
    if fields[0] != "Linux" or fields[2] != release:
        sys.exit(f"{path}: init_uts_ns reads {fields!r}")
    print(f"{k.attr['file.format']}: uts {fields[0]} {fields[2]}, {k.attr['cpu.number']} cpus,"
          f" 5-level paging {lines.get('NUMBER(pgtable_l5_enabled)', '0')}, KERNELOFFSET {lines.get('KERNELOFFSET', '-')}")
PY
); then
	ok "libkdumpfile: $(echo "$out" | paste -sd ';')"
else
	bad "libkdumpfile: $(echo "$out" | tail -n 1)"
fi

# crash
if ((with_crash)); then
	case $release in
	6.1.*)
		VM_KERNEL_SUITE=$(info_get suite)
		VM_KERNEL_PKG=$(info_get kernel_package)
		VM_KERNEL_DEB_VERSION=$(info_get kernel_deb_version)
		VM_KERNEL_RELEASE=$release
		VM_KERNEL_DIR=$VM_CACHE/vm/kernels/$release
		mkdir -p "$VM_KERNEL_DIR"
		vm_fetch_dbg_vmlinux
		printf 'sys\nbt\nlog\nps\nquit\n' | crash -s "$VM_DBG_VMLINUX" "$fixture" >"$tmp/crash.log" 2>&1 || true
		if grep -q "RELEASE: $release" "$tmp/crash.log" && grep -q 'PANIC: .*sysrq' "$tmp/crash.log"; then
			ok "crash: $(grep -m1 'PANIC:' "$tmp/crash.log" | sed 's/^ *//'), $(grep -c '' "$tmp/crash.log") lines of output"
		else
			bad "crash: no RELEASE/PANIC lines: $(head -n 5 "$tmp/crash.log" | tr '\n' ' ')"
		fi
		;;
	*) printf 'skip crash: crash 8.0.2 cannot read %s dumps\n' "$release" ;;
	esac
fi

echo "check-fixture: $passed passed, $failed failed"
((failed == 0))
