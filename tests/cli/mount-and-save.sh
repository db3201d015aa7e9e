#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mount-and-save through the built binary. The argument and error cases run
# anywhere; the real saves need root, losetup and mkfs.ext4 (mkfs.vfat and
# mkfs.xfs add cases when present) and are skipped otherwise.
# Usage: tests/cli/mount-and-save.sh PATH/TO/kdumpbox
set -uo pipefail

binary=$(readlink -f "${1:?usage: mount-and-save.sh PATH/TO/kdumpbox}")
work=$(mktemp -d /tmp/kdumpbox-mas-XXXXXX)
loops=()
cleanup() {
    for mnt in "$work"/mnt*; do mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; done
    for loop in "${loops[@]}"; do losetup -d "$loop" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../testlib.sh"

# expect NAME RC PATTERN -- COMMAND...: wants exit status RC and combined
# output matching the extended regex PATTERN.
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

mas() { "$binary" mount-and-save "$@"; }
echo "a file" >"$work/file.txt"

# --- arguments and errors (no root needed) ------------------------------------
expect "--help shows the usage" 0 '^Usage: mount-and-save ' -- mas --help
expect "--help lists --timeout" 0 '--timeout=SECONDS' -- mas --help
expect "the multiplexer lists mount-and-save" 0 '^mount-and-save$' -- "$binary" --list
expect "no arguments fails" 1 'expected TARGET and at least one FILE' -- mas
expect "a target alone fails" 1 'expected TARGET and at least one FILE' -- mas UUID=x
expect "'-' needs --name" 1 "needs --name NAME" -- mas --timeout 0 UUID=x -
expect "--name without '-' is refused" 1 "no FILE is '-'" -- mas --timeout 0 --name vmcore UUID=x "$work/file.txt"
expect "two files with one name are refused" 1 'would both be saved as file.txt' -- mas --timeout 0 UUID=x "$work/file.txt" "$work/./file.txt"
expect "a PARTUUID= that is nowhere times out naming it" 1 'no block device has PARTUUID=0badcafe-01 after waiting 0\.0 s' -- mas --timeout 0 PARTUUID=0badcafe-01 "$work/file.txt"
expect "a relative target is refused" 1 'neither a device path' -- mas --timeout 0 vda1 "$work/file.txt"
expect "a bad timeout is refused" 1 'timeout' -- mas --timeout soon UUID=x "$work/file.txt"
start=$SECONDS
expect "a missing FILE fails before waiting for the disk" 1 "$work/missing" -- mas --timeout 30 UUID=x "$work/missing"
[ $((SECONDS - start)) -lt 10 ] && ok "a missing FILE fails at once" || fail "a missing FILE fails at once" "took $((SECONDS - start)) s"
expect "a UUID that is nowhere times out naming what was seen" 1 'no block device has UUID=00000000-dead-beef-0000-000000000000 after waiting 1\.[0-9] s.*devices seen' -- mas --timeout 1 UUID=00000000-dead-beef-0000-000000000000 "$work/file.txt"
expect "a missing path times out" 1 'dump target /dev/kdumpbox-nosuch did not appear' -- mas --timeout 0 /dev/kdumpbox-nosuch "$work/file.txt"
# NFS exports (tests/vm/nfs.sh mounts real ones from a guest).
expect "-t nfs wants HOST:/EXPORT" 1 "nfs: 'server' names no exported directory" -- mas -t nfs server "$work/file.txt"
expect "NFS over UDP is refused" 1 'TCP only' -- mas -o proto=udp server:/dumps "$work/file.txt"
expect "an unknown NFS version is refused" 1 'nfs option vers=2' -- mas -t nfs4 -o vers=2 server:/dumps "$work/file.txt"
expect "an NFS server that does not resolve is named" 1 'NFS server no-such-host\.invalid: cannot resolve' -- mas --mountpoint "$work/nfs" no-such-host.invalid:/dumps "$work/file.txt"

# --- real saves through loop devices -------------------------------------------
# make_image TYPE SIZE MKFS-COMMAND...: an image with a loop device over it;
# prints the loop device, or nothing if that cannot be done here.
make_image() {
    local type=$1 size=$2
    shift 2
    local image=$work/$type.img loop
    truncate -s "$size" "$image" && "$@" "$image" >/dev/null 2>&1 || return 1
    loop=$(losetup --find --show "$image" 2>/dev/null) || return 1
    echo "$loop"
}

uuid=5b0e6a1c-3d2f-4e8a-9b7c-1a2b3c4d5e6f
if [ "$(id -u)" != 0 ] || ! command -v losetup >/dev/null || ! command -v mkfs.ext4 >/dev/null; then
    skip "saving to a real ext4 target" "needs root, losetup and mkfs.ext4"
elif ! loop=$(make_image ext4 32M mkfs.ext4 -q -F -U "$uuid" -L kdumpbox-t) || [ -z "$loop" ]; then
    skip "saving to a real ext4 target" "no loop device could be set up"
else
    loops+=("$loop")
    printf 'dmesg text\n' >"$work/vmcore-dmesg.txt"
    head -c 3000000 /dev/urandom >"$work/vmcore.bin"
    out=$(printf 'from a pipe\n' | mas --timeout 5 --mountpoint "$work/mnt" --host-ip 10.0.0.7 --name kexec-dmesg.log \
        "UUID=$uuid" "$work/vmcore-dmesg.txt" "$work/vmcore.bin" - 2>"$work/stderr")
    rc=$?
    if [ $rc = 0 ] && [[ $out =~ ^$work/mnt/var/crash/10\.0\.0\.7-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}:[0-9]{2}:[0-9]{2}$ ]]; then
        ok "ext4 by UUID: prints the dump directory"
    else
        fail "ext4 by UUID: prints the dump directory" "rc $rc" "stdout: $out" "stderr: $(cat "$work/stderr")"
    fi
    mountpoint -q "$work/mnt" && fail "unmounted afterwards" "$work/mnt is still mounted" || ok "unmounted afterwards"
    mount -o ro "$loop" "$work/mnt"
    if cmp -s "$work/vmcore.bin" "$out/vmcore.bin" && [ "$(cat "$out/kexec-dmesg.log")" = "from a pipe" ] && cmp -s "$work/vmcore-dmesg.txt" "$out/vmcore-dmesg.txt"; then
        ok "every file saved intact, stdin under --name"
    else
        fail "every file saved intact, stdin under --name" "$(ls -la "$out" 2>&1)"
    fi
    [ "$(stat -c %a "$out")" = 700 ] && ok "the dump directory is mode 0700" || fail "the dump directory is mode 0700" "$(stat -c %a "$out")"
    [ "$(stat -c %a "$out/vmcore.bin")" = 600 ] && ok "saved files are mode 0600" || fail "saved files are mode 0600" "$(stat -c %a "$out/vmcore.bin")"
    ls "$out" | grep -q incomplete && fail "no -incomplete file remains" "$(ls "$out")" || ok "no -incomplete file remains"
    umount "$work/mnt"

    # By label, a second time in the same second gets a suffixed directory,
    # a nested --path, and the device path form.
    out2=$(mas --timeout 5 --mountpoint "$work/mnt" --path dumps/nested LABEL=kdumpbox-t "$work/vmcore-dmesg.txt" 2>"$work/stderr")
    [[ $out2 =~ ^$work/mnt/dumps/nested/127\.0\.0\.1- ]] && ok "LABEL= with --path and the default host" || fail "LABEL= with --path and the default host" "stdout: $out2" "stderr: $(cat "$work/stderr")"
    out3=$(mas --timeout 5 --mountpoint "$work/mnt" -t ext4 -o noatime "$loop" "$work/vmcore-dmesg.txt" 2>"$work/stderr")
    [ -n "$out3" ] && [ "$out3" != "$out" ] && ok "a device path with -t and -o; a new directory each time" || fail "a device path with -t and -o" "stdout: $out3" "stderr: $(cat "$work/stderr")"
    expect "a wrong -t names the device, type and fix" 1 "mount $loop \\(xfs\\) on $work/mnt: .*" -- mas --timeout 1 --mountpoint "$work/mnt" -t xfs "$loop" "$work/file.txt"
    mountpoint -q "$work/mnt" && fail "a failed mount leaves nothing mounted" || ok "a failed mount leaves nothing mounted"
fi

if [ "$(id -u)" != 0 ] || ! command -v mkfs.vfat >/dev/null || ! command -v losetup >/dev/null; then
    skip "saving to a real vfat target" "needs root, losetup and mkfs.vfat (dosfstools)"
elif ! loop=$(make_image vfat 64M mkfs.vfat -F 32 -i 1234ABCD -n KDUMPVFAT) || [ -z "$loop" ]; then
    skip "saving to a real vfat target" "no loop device could be set up"
else
    loops+=("$loop")
    out=$(mas --timeout 5 --mountpoint "$work/mnt-vfat" --path crash UUID=1234-abcd "$work/file.txt" 2>"$work/stderr")
    rc=$?
    if [ $rc != 0 ] && grep -q 'extra_modules vfat' "$work/stderr"; then
        skip "saving to a real vfat target" "this kernel has no vfat driver"
    elif [ $rc = 0 ] && [[ $out =~ ^$work/mnt-vfat/crash/127\.0\.0\.1- ]]; then
        ok "vfat by its serial, case-insensitively"
    else
        fail "vfat by its serial, case-insensitively" "rc $rc" "stdout: $out" "stderr: $(cat "$work/stderr")"
    fi
fi

finish mount-and-save
