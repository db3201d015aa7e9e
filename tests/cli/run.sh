#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# CLI tests: run the built binary through its symlinks, as users do.
# Usage: tests/cli/run.sh PATH/TO/kdumpbox
#
# Safety: nothing here may reboot the machine running the tests. reboot(2)
# is only ever called as PID 1 of a fresh PID namespace (where the kernel
# turns it into "end this namespace"), guarded by a $$ = 1 check, and
# otherwise only with --dry-run or as an unprivileged user.
set -uo pipefail

binary=$(readlink -f "${1:?usage: run.sh PATH/TO/kdumpbox}")
work=$(mktemp -d /tmp/kdumpbox-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/../testlib.sh"

# expect NAME RC PATTERN -- COMMAND...: runs COMMAND, wants exit status RC
# and combined output matching the extended regex PATTERN.
expect() {
    local name=$1 want_rc=$2 pattern=$3
    shift 4
    local output rc
    output=$("$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want_rc" ]; then
        fail "$name" "exit status $rc, wanted $want_rc" "command: $*" "output: $output"
    elif ! grep -Eq -- "$pattern" <<<"$output"; then
        fail "$name" "output does not match /$pattern/" "command: $*" "output: $output"
    else
        ok "$name"
    fi
}

bin=$work/bin
mkdir -p "$bin"

# --- dispatch and the multiplexer's own options -----------------------------
expect "--version names our version" 0 '^kdumpbox [0-9]+\.[0-9]+\.[0-9]+ \(' -- "$binary" --version
for library in zlib zstd lz4 mbedTLS libssh2; do
    expect "--version shows the linked $library version" 0 "^$library [0-9]+\.[0-9]+(\.[0-9]+)?" -- "$binary" --version
done
expect "--list names reboot with its aliases" 0 '^reboot halt poweroff$' -- "$binary" --list
expect "--help lists the applets" 0 'reboot +reboot, halt or power off' -- "$binary" --help
expect "--help APPLET shows that applet's help" 0 'Usage: reboot\|halt\|poweroff' -- "$binary" --help reboot
expect "--help for an unknown applet exits 127" 127 "no applet named 'nosuch'" -- "$binary" --help nosuch
expect "no arguments shows help and fails" 1 'Usage: kdumpbox APPLET' -- "$binary"
expect "unknown applet exits 127 and lists the applets" 127 'applet not found: nosuch' -- "$binary" nosuch
expect "unknown applet lists the applets" 127 '^reboot halt poweroff$' -- "$binary" nosuch
expect "unknown multiplexer option exits 127" 127 "unknown option '--bogus'" -- "$binary" --bogus
ln -s "$binary" "$work/nosuch-name"
expect "unknown argv[0] exits 127" 127 'applet not found: nosuch-name' -- "$work/nosuch-name"
cp "$binary" "$work/kdumpbox-renamed"
expect "a renamed kdumpbox still multiplexes" 0 '^reboot halt poweroff$' -- "$work/kdumpbox-renamed" --list

# --- --install ---------------------------------------------------------------
# Without --all: the names a host runs, never one that shadows the init
# system's reboot, halt, poweroff or init, nor the systemd generator.
host=$work/host
mkdir -p "$host"
expect "--install links the host's applets" 0 "8 links in $host .*\\(8 new\\)" -- "$binary" --install "$host"
host_links=$(ls "$host" | tr '\n' ' ')
if [ "$host_links" = "collector kdump kdump-config kdumpctl kexec makedumpfile mount-and-save vmcore-dmesg " ]; then
    ok "--install links kdump, kdumpctl, kdump-config, kexec, makedumpfile, vmcore-dmesg, collector, mount-and-save"
else
    fail "--install links kdump, kdumpctl, kdump-config, kexec, makedumpfile, vmcore-dmesg, collector, mount-and-save" "it made: $host_links"
fi
# With --all: one link for every name --list prints, each applet and alias.
all_names=$("$binary" --list | tr ' ' '\n' | grep -c .)
expect "--install --all creates every link" 0 "$all_names links in .* \\($all_names new\\)" -- "$binary" --install --all "$bin"
expect "--install --capture is --all" 0 "$all_names links in .* \\(0 new\\)" -- "$binary" --install --capture "$bin"
links_ok=1
for name in $("$binary" --list); do
    [ "$(readlink "$bin/$name")" = "$binary" ] || links_ok=0
done
[ $links_ok = 1 ] && ok "--install links point at the binary" || fail "--install links point at the binary" "$(ls -l "$bin")"
expect "--install again creates nothing new" 0 '\(0 new\)' -- "$binary" --install "$host"
expect "--install without a directory is refused" 1 '--install needs a directory' -- "$binary" --install
expect "--install into a missing directory says so" 1 'create the directory first' -- "$binary" --install "$work/missing"
mkdir "$work/occupied" && echo "keep me" >"$work/occupied/halt"
expect "--install refuses to replace a file" 1 'occupied/halt exists and not as a link to .*nothing was changed.*--force' -- "$binary" --install --all "$work/occupied"
if [ "$(cat "$work/occupied/halt")" = "keep me" ] && [ ! -e "$work/occupied/reboot" ]; then
    ok "a refused --install changes nothing"
else
    fail "a refused --install changes nothing" "$(ls -l "$work/occupied")"
fi
expect "--install --force replaces it" 0 "\\($all_names new\\)" -- "$binary" --install --all "$work/occupied" --force
[ "$(readlink "$work/occupied/halt")" = "$binary" ] && ok "--force left a link" || fail "--force left a link" "$(ls -l "$work/occupied")"

# --- kdumpctl and kdump-config compatibility ---------------------------------
# A settings file naming a kdump.conf that does not exist: no command here
# may touch the host's real configuration.
printf 'KDUMPBOX_CONF="%s/no-kdump.conf"\nKDUMPBOX_KERNEL="%s/no-vmlinuz"\n' "$work" "$work" >"$work/settings"
expect "kdump get-default-crashkernel prints crashkernel= ranges" 0 '^1G-64G:[0-9]+M,64G-:[0-9]+M$' -- "$binary" kdump get-default-crashkernel
crash_loaded=$(cat /sys/kernel/kexec_crash_loaded 2>/dev/null || echo 0)
if [ "$crash_loaded" = 1 ]; then
    expect "kdump status starts with kdumpctl's line" 0 '^Kdump is operational$' -- "$binary" kdump status --settings "$work/settings"
else
    expect "kdump status starts with kdumpctl's line and exits 3" 3 '^Kdump is not operational$' -- "$binary" kdump status --settings "$work/settings"
    status_first=$("$binary" kdump status --settings "$work/settings" 2>&1 | head -1)
    [ "$status_first" = "Kdump is not operational" ] && ok "kdumpctl's line is the first line" || fail "kdumpctl's line is the first line" "first line: $status_first"
fi
expect "kdump-config status is kdump status" "$([ "$crash_loaded" = 1 ] && echo 0 || echo 3)" '^Kdump is (not )?operational$' -- "$bin/kdump-config" status --settings "$work/settings"
expect "kdump-config savecore is refused by name" 1 'kdump-config savecore: kdumpbox saves the dump in its own capture initramfs' -- "$bin/kdump-config" savecore
expect "kdump-config symlinks is refused by name" 1 'kdump-config symlinks: .*KDUMP_KERNELVER' -- "$bin/kdump-config" symlinks
expect "kdump-config with an unknown verb names it" 1 "kdump-config: unknown command 'bogus'" -- "$bin/kdump-config" bogus
# Its test is a dry run; ours would crash. Here it must fail at a check
# (no reservation, or no kernel), never reach sysrq.
expect "kdump-config test is a dry run that stops at start's checks" 1 'crashkernel|no-vmlinuz' -- "$bin/kdump-config" test --settings "$work/settings"
expect "kdump check is not a kdump command" 1 "unknown command 'check'" -- "$binary" kdump check

# --- the systemd generator ------------------------------------------------------
gen=$work/generator
mkdir -p "$gen/out"
printf 'KDUMPBOX_CONF=%s\n' "$gen/kdump.conf" >"$gen/settings"
printf 'ssh kdump@backup.example.org\n' >"$gen/kdump.conf"
expect "kdump-generator for an ssh target exits 0" 0 '' -- "$binary" kdump-generator --settings "$gen/settings" "$gen/out" "$gen/early" "$gen/late"
grep -q '^After=network-online.target remote-fs.target$' "$gen/out/kdumpbox.service.d/50-network.conf" 2>/dev/null \
    && ok "kdump-generator orders kdumpbox.service after the network for ssh" \
    || fail "kdump-generator orders kdumpbox.service after the network for ssh" "$(ls -R "$gen/out")"
rm -rf "$gen/out" && mkdir "$gen/out"
printf 'ssh kdump@backup.example.org\nbogus_key 1\n' >"$gen/kdump.conf"
output=$("$binary" kdump-generator --settings "$gen/settings" "$gen/out" 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$(grep -c . <<<"$output")" = 1 ] && grep -q 'kdump.conf:2: .*bogus_key.*keeps its default ordering' <<<"$output" && [ -z "$(ls -A "$gen/out")" ]; then
    ok "kdump-generator with a bad kdump.conf exits 0, writes nothing and says why in one line"
else
    fail "kdump-generator with a bad kdump.conf exits 0, writes nothing and says why in one line" "status $rc" "output: $output" "$(ls -R "$gen/out")"
fi
expect "kdump-generator without directories is a usage error" 1 "give systemd's generator directories" -- "$binary" kdump-generator

# --- the dumper outside PID 1 ---------------------------------------------------
# Run by hand or by mistake on a host, /init must capture or fail, and never
# reboot: only PID 1 of a capture kernel acts.
printf 'raw /dev/nonexistent-kdumpbox-test\nfailure_action reboot\n' >"$work/kdump.conf"
expect "dumper outside PID 1 fails without /proc/vmcore and runs no action" 1 'failure_action reboot is not run' -- "$binary" dumper --config "$work/kdump.conf"
printf 'bogus_key 1\n' >"$work/bad.conf"
expect "dumper names a bad kdump.conf line" 1 'bad.conf:1: .*bogus_key' -- "$binary" dumper --config "$work/bad.conf"

# --- reboot logic through the symlinks ----------------------------------------
expect "reboot --help" 0 'Usage: reboot' -- "$bin/reboot" --help
expect "reboot -f --dry-run syncs and reboots" 0 'would sync, then call reboot\(2\) with RB_AUTOBOOT' -- "$bin/reboot" -f --dry-run
expect "halt -f --dry-run halts" 0 'RB_HALT_SYSTEM' -- "$bin/halt" -f --dry-run
expect "poweroff -f --dry-run powers off" 0 'RB_POWER_OFF' -- "$bin/poweroff" -f --dry-run
expect "halt -p powers off" 0 'RB_POWER_OFF' -- "$bin/halt" -p -f --dry-run
expect "-n skips the sync" 0 'without sync, call reboot\(2\) with RB_AUTOBOOT' -- "$bin/reboot" -n -f --dry-run
expect "kdumpbox halt takes the alias's action" 0 'RB_HALT_SYSTEM' -- "$binary" halt -f --dry-run
expect "reboot rejects unknown options by name" 1 "reboot: error: unknown option '--bogus'" -- "$bin/reboot" --bogus
expect "reboot rejects operands" 1 "unexpected argument 'now'" -- "$bin/reboot" now
expect "--halt and --poweroff exclude each other" 1 'exclude each other' -- "$bin/reboot" --halt --poweroff -f --dry-run

if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
    as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
    expect "reboot -f as non-root is refused" 1 'cannot reboot: this needs CAP_SYS_BOOT; run it as root' -- "${as_nobody[@]}" "$bin/reboot" -f
    expect "poweroff -f --dry-run as non-root says it would be refused" 1 'cannot poweroff: this needs CAP_SYS_BOOT' -- "${as_nobody[@]}" "$bin/poweroff" -f --dry-run
else
    skip "reboot as non-root" "needs root and setpriv to switch users"
fi

if unshare --pid --fork --mount-proc true 2>/dev/null; then
    # PID 1 is sh here: an init nobody can be asked to reboot.
    expect "reboot without -f refuses an unknown init" 1 "PID 1 is 'sh', an init system this program cannot ask to reboot.*'reboot -f'" -- \
        unshare --pid --fork --mount-proc sh -c '"$0"' "$bin/reboot"
    # The real reboot(2): as PID 1 of a PID namespace the kernel ends the
    # namespace, killing its init with SIGHUP for a restart and SIGINT for
    # halt and power-off (kernel/pid_namespace.c), which unshare passes on.
    for case in "reboot 129" "halt 130" "poweroff 130"; do
        set -- $case
        rc=$( (unshare --pid --fork --mount-proc sh -c '[ $$ = 1 ] || exit 99; exec "$0" -f' "$bin/$1" >/dev/null 2>&1); echo $?) 2>/dev/null
        [ $rc = "$2" ] && ok "$1 -f really calls reboot(2) (namespace ended with status $rc)" \
            || fail "$1 -f really calls reboot(2)" "status $rc, wanted $2"
    done
else
    skip "reboot in a PID namespace" "unshare --pid is not permitted here"
fi

# --- makedumpfile writes DUMPFILE-incomplete, renamed only when complete --------
printf 'makedumpfile\0\0\0\0' >"$work/short-stream"
expect "-R of a truncated stream fails and says where the bytes are" 1 "the dump is incomplete; what arrived is in $work/rebuilt-incomplete" -- \
    sh -c 'exec "$0" -R "$1" <"$2"' "$bin/makedumpfile" "$work/rebuilt" "$work/short-stream"
if [ ! -e "$work/rebuilt" ] && [ -e "$work/rebuilt-incomplete" ]; then
    ok "-R of a truncated stream leaves no DUMPFILE, only DUMPFILE-incomplete"
else
    fail "-R of a truncated stream leaves no DUMPFILE, only DUMPFILE-incomplete" "$(ls -l "$work" | grep rebuilt)"
fi
echo "keep me" >"$work/kept"
expect "-R keeps an existing DUMPFILE without -f" 1 'kept already exists; remove it or add -f to overwrite it' -- \
    sh -c 'exec "$0" -R "$1" <"$2"' "$bin/makedumpfile" "$work/kept" "$work/short-stream"
[ "$(cat "$work/kept")" = "keep me" ] && ok "the refused -R left DUMPFILE as it was" || fail "the refused -R left DUMPFILE as it was" "$(cat "$work/kept")"
expect "--dump-dmesg of a non-vmcore fails" 1 'makedumpfile' -- "$bin/makedumpfile" --dump-dmesg "$work/short-stream" "$work/dmesg.txt"
[ ! -e "$work/dmesg.txt" ] && ok "a failed --dump-dmesg leaves no LOGFILE" || fail "a failed --dump-dmesg leaves no LOGFILE" "$(ls -l "$work/dmesg.txt")"

# --- kdump start's checks, through `kdump show` (the same plan) --------------
# A scratch host: a virtiofs target (nothing to resolve), a kernel release
# with no modules, a dummy kernel. start itself would stop earlier here at
# the crashkernel= check; the real-host tier runs `kdump start` (refused).
mkdir -p "$work/host/boot"
: >"$work/host/vmlinuz"
host_settings() {
    printf 'KDUMP_KERNELVER=0.0.0-cli\nKDUMP_BOOTDIR=%s\nKDUMPBOX_KERNEL=%s\nKDUMPBOX_INITRD=%s\nKDUMPBOX_CONF=%s\n%s' \
        "$work/host/boot" "$work/host/vmlinuz" "$work/host/initrd.img" "$work/host/kdump.conf" "${1:-}" >"$work/host/settings"
}
host_conf() { printf 'virtiofs kdumptag\n%s\n' "$1" >"$work/host/kdump.conf"; }
host_settings
host_conf 'core_collector makedumpfile -F -l --message-level 7 -d 31'
expect "kdump show: -F is removed for a file target, as kdump-utils does" 0 '^core_collector makedumpfile -l --message-level 7 -d 31$' -- \
    "$bin/kdump" show --settings "$work/host/settings"
host_conf 'core_collector makedumpfile -l --bogus -d 31'
expect "kdump show: core_collector options go through makedumpfile's own parser" 1 \
    "kdump.conf:2: core_collector makedumpfile -l --bogus -d 31: unknown option '--bogus'" -- "$bin/kdump" show --settings "$work/host/settings"
host_conf 'core_collector makedumpfile -d 31 -x vmlinux'
expect "kdump show: an option the collector does not implement is refused with why" 1 \
    'kdump.conf:2: core_collector makedumpfile -d 31 -x vmlinux: -x: not supported by this makedumpfile: reading debug info' -- "$bin/kdump" show --settings "$work/host/settings"
host_conf 'core_collector /usr/local/bin/no-such-collector -z'
expect "kdump show: an external collector must exist on the host" 1 \
    "kdump.conf:2: core_collector /usr/local/bin/no-such-collector -z: '/usr/local/bin/no-such-collector' does not exist on this host" -- "$bin/kdump" show --settings "$work/host/settings"
host_conf 'core_collector no-such-collector-cli -z'
expect "kdump show: a collector named without a path is looked up in PATH" 1 \
    "core_collector no-such-collector-cli -z: 'no-such-collector-cli' is not found on this host \\(searched /usr/local/sbin:" -- "$bin/kdump" show --settings "$work/host/settings"
if [ -x /bin/cp ] || [ -x /usr/bin/cp ]; then
    host_conf 'core_collector cp --sparse=always'
    expect "kdump show: an external collector is run by its host path" 0 '^core_collector /(usr/)?bin/cp --sparse=always$' -- \
        "$bin/kdump" show --settings "$work/host/settings"
fi
host_conf 'path /var/../crash'
expect "kdump show: a path with '..' is refused at its line, with the fix" 1 \
    "kdump.conf:2: path: '/var/../crash' contains '..'; write the directory without it" -- "$bin/kdump" show --settings "$work/host/settings"
host_conf 'path /var//crash/'
expect "kdump show: path is shown normalised" 0 '^path /var/crash$' -- "$bin/kdump" show --settings "$work/host/settings"
host_conf 'core_collector "  "'
expect "kdump show: a core_collector of blanks is refused" 1 'kdump.conf:2: core_collector: no program given' -- "$bin/kdump" show --settings "$work/host/settings"
# kdump propagate's host key: the fingerprint is checked before anything
# is read or run; without it and without a terminal nothing is trusted.
expect "kdump propagate: --host-key-fingerprint must be SHA256:..." 1 "host key fingerprint 'MD5:aa:bb' is not SHA256:<43 base64 characters>" -- \
    "$bin/kdump" propagate --host-key-fingerprint MD5:aa:bb --settings "$work/host/settings"
expect "kdump propagate: --host-key-fingerprint is for propagate only" 1 '--host-key-fingerprint is for propagate, not show' -- \
    "$bin/kdump" show --host-key-fingerprint "SHA256:$(printf 'A%.0s' $(seq 43))" --settings "$work/host/settings"
host_conf ''
host_settings 'KEXEC_ARGS="-s --bogus"'
expect "kdump show: an unknown KEXEC_ARGS option is refused by name" 1 "settings:6: KEXEC_ARGS '-s --bogus': unknown option '--bogus'" -- \
    "$bin/kdump" show --settings "$work/host/settings"
host_settings 'KEXEC_ARGS="-c"'
expect "kdump show: KEXEC_ARGS -c (classic kexec_load) is taken" 0 '^# capture kernel: ' -- \
    "$bin/kdump" show --settings "$work/host/settings"
host_settings 'KEXEC_ARGS="-s -d"'
expect "kdump show: KEXEC_ARGS that map onto kexec_file_load pass" 0 '^# capture kernel: ' -- "$bin/kdump" show --settings "$work/host/settings"

# --- the release artifact ----------------------------------------------------
if "$binary" --version | head -1 | grep -q 'static musl'; then
    if command -v readelf >/dev/null; then
        headers=$(readelf -lW "$binary" 2>&1)
        dynamic=$(readelf -dW "$binary" 2>&1)
        grep -q INTERP <<<"$headers" && fail "static binary has no PT_INTERP" "$headers" || ok "static binary has no PT_INTERP"
        grep -q NEEDED <<<"$dynamic" && fail "static binary has no DT_NEEDED" "$dynamic" || ok "static binary has no DT_NEEDED"
    else
        skip "static binary headers" "readelf (binutils) is not installed"
    fi
    if [ "$(id -u)" = 0 ]; then
        mkdir "$work/chroot"
        cp "$binary" "$work/chroot/kdumpbox"
        expect "static binary runs in an empty chroot" 0 '^libssh2 [0-9]' -- chroot "$work/chroot" /kdumpbox --version
        ln -s kdumpbox "$work/chroot/halt"
        expect "applet symlink works in an empty chroot" 0 'RB_HALT_SYSTEM' -- chroot "$work/chroot" /halt -f --dry-run
    else
        skip "empty chroot" "needs root"
    fi
fi

finish cli
