#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Regenerates the seed inputs of tests/fuzz/corpus/ (tests/fuzz/README.md,
# "Seeds"): samples of each format, made with the real tools where there is
# one (mkfs, sfdisk, pvcreate, ssh-keygen, compressors, the kernel's
# netlink replies), cut to the bytes the parsers read; and, with a vmcore,
# the vmcore family through build/fuzz's make_seeds and collector.
#   tests/fuzz/make_corpus.sh OUTDIR [VMCORE NAME]
# The committed corpus is this output minimised with libFuzzer's -merge=1
# (tests/fuzz/README.md says how).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:?usage: make_corpus.sh OUTDIR [VMCORE NAME]}
mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d /tmp/kdumpbox-corpus.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
seed() { mkdir -p "$out/$1"; cat > "$out/$1/$2"; }

# ---- text formats ----
seed kdump_conf fedora.conf < "$top/tests/data/fedora-kdump.conf"
seed kdump_conf shipped.conf < "$top/conf/kdump.conf"
seed kdump_conf settings < "$top/conf/kdumpbox.sysconfig"
printf 'ssh kdump@192.168.1.5\nsshkey /root/.ssh/kdump_id\npath /var/crash\ncore_collector makedumpfile -F -l --message-level 7 -d 31\nfailure_action shell\nkdump_pre /bin/pre.sh\nkdump_post /bin/post.sh\nextra_modules virtio_net e1000\ndracut_args --omit-drivers "a b"\n' | seed kdump_conf ssh.conf
printf 'nfs 192.168.1.1:/export/dumps\noptions nfs soft,timeo=30\ncore_collector makedumpfile -c -d 17\nfinal_action poweroff\n' | seed kdump_conf nfs.conf
printf 'xfs UUID=3f1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9\npath /crash\nfailure_action dump_to_rootfs\nauto_reset_crashkernel yes\n' | seed kdump_conf xfs.conf
printf 'KDUMP_COMMANDLINE_REMOVE="hugepages hugepagesz slub_debug quiet"\nKDUMP_COMMANDLINE_APPEND="irqpoll nr_cpus=1 reset_devices"\nKEXEC_ARGS="-s -d"\nKDUMP_KERNELVER=""\n' | seed kdump_conf sysconfig

printf '%s\0' -l --message-level 7 -d 31 /proc/vmcore /var/crash/vmcore | seed makedumpfile_args fedora
printf '%s\0' -F -c -d 17 /proc/vmcore | seed makedumpfile_args flattened
printf '%s\0' -E -d 1 --num-threads 2 /proc/vmcore out.elf | seed makedumpfile_args elf
printf '%s\0' -R out.kdump | seed makedumpfile_args rearrange
printf '%s\0' --dump-dmesg /proc/vmcore dmesg.txt | seed makedumpfile_args dmesg
printf '%s\0' -z -d 31 --cyclic-buffer 1024 --non-mmap -f /proc/vmcore out | seed makedumpfile_args zstd

printf -- '-s -d' | seed kexec_args short
printf -- '-p --hotplug -x -y' | seed kexec_args panic
printf -- '-c --initrd=/boot/x --append="a b"' | seed kexec_args refused
seed fdt qemu-virt < "$top/tests/data/qemu-virt.dtb"

sed -n 1,40p /proc/self/mountinfo | seed mountinfo host
printf '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n25 22 0:22 /@var /var rw,noatime shared:5 - btrfs /dev/sda2 rw,space_cache=v2,subvolid=257,subvol=/@var\n30 22 0:40 / /var/crash rw master:7 - nfs4 host:/export rw,vers=4.2\n31 30 7:0 /a\\040b /var/crash/x rw - xfs /dev/loop0 rw\n' | seed mountinfo layered

printf 'kind filesystem\ndevice UUID=3f1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9\nfs_type btrfs\nmount_options subvol=/root\ndirectory /var/crash dir\nlvm yes\n' | seed resolved_target filesystem
printf 'kind raw\ndevice PARTUUID=c0ffee00-1234-5678-9abc-def012345678\nlvm no\n' | seed resolved_target raw
printf 'target_host backup\ntarget_address 192.168.7.9\nmac 52:54:00:12:34:56\nmode dhcp\naddress 10.0.2.15/24\ngateway 10.0.2.2\n' | seed resolved_target network-plan
printf 'target_host h\ntarget_address 1.2.3.4\nmac 52:54:00:12:34:56\nmode static\naddress 1.2.3.5/8\n' | seed resolved_target network-static

printf '# kdumpbox: how this dump went\nformat=1\noutcome=incomplete\ntime=1704110400\ndate=2024-01-01 12:00:00 UTC\nreason=the target filled up\ntarget=ext4 UUID=3f1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9\ndirectory=/var/crash/127.0.0.1-2024-01-01-12:00:00\nkernel_release=6.1.0-57-cloud-amd64\npanic=Kernel panic - not syncing: sysrq triggered crash\ncollector=built-in, dump level 31\nvmcore_bytes=123456789\ndmesg_bytes=54321\nmemory_bytes=1073741824\nwait_target_ms=12\nmount_ms=40\ndmesg_ms=3\ncollector_ms=9000\ntotal_ms=9100\n' | seed dump_status status
printf '# the last dump reported\ndirectory=/var/crash/127.0.0.1-2024-01-01-12:00:00\nsummary=complete, 2024-01-01 12:00:00 UTC, /var/crash/x\n' | seed dump_status report
printf '[    0.000000] Linux version 6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org)\n[   12.5] sysrq: Trigger a crash\n[   12.6] Kernel panic - not syncing: sysrq triggered crash\n' | seed dump_status dmesg
printf '127.0.0.1-2024-01-01-12:00:00' | seed dump_status dirname

# ---- ssh: keys and known_hosts from ssh-keygen ----
for type in ed25519 ecdsa rsa; do
    bits=(); [ $type = rsa ] && bits=(-b 1024)
    ssh-keygen -q -t $type "${bits[@]}" -N '' -C fuzz -f "$scratch/id_$type"
    seed ssh_key "openssh-$type" < "$scratch/id_$type"
    printf 'dump.example.com %s\n' "$(cut -d' ' -f1,2 "$scratch/id_$type.pub")" >> "$scratch/known_hosts"
    printf '[dump.example.com]:2222,192.168.1.5 %s # comment\n' "$(cut -d' ' -f1,2 "$scratch/id_$type.pub")" >> "$scratch/known_hosts"
done
for type in ecdsa rsa; do
    cp "$scratch/id_$type" "$scratch/pem_$type"
    ssh-keygen -q -p -N '' -m PEM -f "$scratch/pem_$type"
    seed ssh_key "pem-$type" < "$scratch/pem_$type"
done
ssh-keygen -q -t ed25519 -N 'secret' -f "$scratch/id_encrypted"
seed ssh_key openssh-encrypted < "$scratch/id_encrypted"
printf '@revoked * %s\n@cert-authority *.example.com %s\n!bad.example.com,*.example.com %s\n' \
    "$(cut -d' ' -f1,2 "$scratch/id_rsa.pub")" "$(cut -d' ' -f1,2 "$scratch/id_ecdsa.pub")" "$(cut -d' ' -f1,2 "$scratch/id_ed25519.pub")" >> "$scratch/known_hosts"
seed known_hosts plain < "$scratch/known_hosts"
cp "$scratch/known_hosts" "$scratch/hashed"
ssh-keygen -q -H -f "$scratch/hashed" >/dev/null 2>&1
seed known_hosts hashed < "$scratch/hashed"

# ---- block devices: superblocks and partition tables ----
image=$scratch/disk
make_fs() { # NAME KEEP_BYTES MKFS...
    local name=$1 keep=$2
    shift 2
    rm -f "$image"
    truncate -s 300M "$image"
    "$@" "$image" >/dev/null 2>&1
    head -c "$keep" "$image" | seed blkid "$name"
}
make_fs ext4 4096 mkfs.ext4 -q -F -L dumps -U 3f1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9
make_fs xfs 4096 mkfs.xfs -q -f -L dumps
make_fs btrfs 69632 mkfs.btrfs -q -f -L dumps
make_fs vfat 4096 mkfs.vfat -n DUMPS
make_fs swap 4096 mkswap -L swap

rm -f "$image"; truncate -s 64M "$image"
printf 'label: gpt\nsize=16M, type=linux, name="root"\nsize=8M, type=swap\n,\n' | sfdisk -q "$image" >/dev/null
head -c 17408 "$image" | seed partition_table gpt
rm -f "$image"; truncate -s 64M "$image"
printf 'label: dos\nsize=16M, type=83\nsize=8M, type=82\ntype=5\nsize=4M, type=83\n' | sfdisk -q "$image" >/dev/null
head -c 4096 "$image" | seed partition_table mbr

# LVM: a PV with a VG of two LVs, written by lvm2 itself (no device-mapper:
# --driverloaded n), then cut after its metadata text.
if command -v lvm >/dev/null; then
    export LVM_SYSTEM_DIR=$scratch/lvm LVM_SUPPRESS_FD_WARNINGS=1
    mkdir -p "$LVM_SYSTEM_DIR"
    rm -f "$image"; truncate -s 64M "$image"
    loop=$(losetup -f --show "$image")
    printf 'devices { filter = [ "a|^%s$|", "r|.*|" ] global_filter = [ "a|^%s$|", "r|.*|" ] obtain_device_list_from_udev = 0 }\nactivation { udev_sync = 0 udev_rules = 0 monitoring = 0 }\nbackup { backup = 0 archive = 0 }\n' "$loop" "$loop" > "$LVM_SYSTEM_DIR/lvm.conf"
    lvm pvcreate -q "$loop" >/dev/null 2>&1 && lvm vgcreate -q vg0 "$loop" >/dev/null 2>&1 &&
        lvm lvcreate -q --driverloaded n -n lin -L 8M vg0 >/dev/null 2>&1 &&
        lvm lvcreate -q --driverloaded n -n two -i1 -L 4M vg0 >/dev/null 2>&1 &&
        lvm vgcfgbackup -q --driverloaded n -f "$scratch/vg0.txt" vg0 >/dev/null 2>&1 || echo "make_corpus: lvm2 could not write the sample VG" >&2
    losetup -d "$loop"
    head -c 16384 "$image" | seed lvm_pv vg0
    [ -f "$scratch/vg0.txt" ] && seed lvm_metadata vg0-backup < "$scratch/vg0.txt"
    # The metadata text as the PV stores it: from the first "vg0 {" to its NUL.
    python3 - "$image" <<'PY' | seed lvm_metadata vg0-ondisk
import sys
data = open(sys.argv[1], 'rb').read(1 << 20)
start = data.rfind(b'vg0 {')
print(data[start:data.index(b'\0', start)].decode(), end='')
PY
fi
printf 'vg_name vg0\nvg_uuid 2Yd3Xx-aaaa-bbbb-cccc-dddd-eeee-ffffff\nlv_name lin\nlv_uuid 3Yd3Xx-aaaa-bbbb-cccc-dddd-eeee-ffffff\npv_uuid 4Yd3Xx-aaaa-bbbb-cccc-dddd-eeee-ffffff\nmodule dm-mod\n' | seed lvm_metadata volume

# ---- compressed data ----
python3 - "$out/decompress" <<'PY'
import bz2, gzip, lzma, os, sys, zlib
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
page = (b'kdumpbox page ' * 400)[:4096]
def put(name, data):
    open(os.path.join(out, name), 'wb').write(data)
put('page-none', bytes([0, 0]) + page)
put('page-zlib', bytes([1, 0]) + zlib.compress(page))
text = b'the quick brown fox\n' * 200
put('stream-gzip', bytes([0, 0]) + gzip.compress(text))
put('stream-xz', bytes([0, 0]) + lzma.compress(text))
put('stream-bzip2', bytes([0, 0]) + bz2.compress(text))
PY
page=$scratch/page
python3 -c "import sys; sys.stdout.buffer.write((b'kdumpbox page ' * 400)[:4096])" > "$page"
zstd -q -c "$page" | { printf '\x04\x00'; cat; } | seed decompress page-zstd
zstd -q -c "$page" | { printf '\x00\x00'; cat; } | seed decompress stream-zstd
lz4 -q -c "$page" | { printf '\x00\x00'; cat; } | seed decompress stream-lz4

# ---- network replies ----
python3 - "$out" <<'PY'
import os, socket, struct, sys
out = sys.argv[1]
os.makedirs(os.path.join(out, 'netlink'), exist_ok=True)
os.makedirs(os.path.join(out, 'dhcp'), exist_ok=True)
# The kernel's own rtnetlink dump replies: links, IPv4 addresses, routes.
for name, kind, family in (('links', 18, 0), ('addresses', 22, 2), ('routes', 26, 2)):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.bind((0, 0))
    body = struct.pack('=Bxxx', family) if kind != 18 else struct.pack('=BxHiII', family, 0, 0, 0, 0)
    s.send(struct.pack('=IHHII', 16 + len(body), kind, 0x301, 1, 0) + body)
    reply = s.recv(65536)
    open(os.path.join(out, 'netlink', name), 'wb').write(reply[:4096])
# An error reply (NLMSG_ERROR, -EEXIST) and an ack.
err = struct.pack('=IHHII', 36, 2, 0, 7, 0) + struct.pack('=i', -17) + struct.pack('=IHHII', 16, 24, 5, 7, 0)
open(os.path.join(out, 'netlink', 'error'), 'wb').write(err)
# DHCP OFFER and ACK for 52:54:00:12:34:56, xid 0x1234abcd.
def dhcp(kind, extra=b''):
    p = bytearray(240)
    p[0:4] = bytes([2, 1, 6, 0])
    p[4:8] = (0x1234abcd).to_bytes(4, 'big')
    p[10] = 0x80
    p[16:20] = bytes([10, 0, 2, 15])
    p[20:24] = bytes([10, 0, 2, 2])
    p[28:34] = bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56])
    p[236:240] = bytes([99, 130, 83, 99])
    opts = bytes([53, 1, kind, 54, 4, 10, 0, 2, 2, 1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2,
                  6, 8, 10, 0, 2, 3, 8, 8, 8, 8, 15, 7]) + b'example' + bytes([51, 4, 0, 1, 81, 128, 26, 2, 5, 220, 28, 4, 10, 0, 2, 255]) + extra + bytes([255])
    return bytes(p) + opts
open(os.path.join(out, 'dhcp', 'offer'), 'wb').write(dhcp(2))
open(os.path.join(out, 'dhcp', 'ack'), 'wb').write(dhcp(5, bytes([12, 4]) + b'host'))
open(os.path.join(out, 'dhcp', 'nak'), 'wb').write(dhcp(6, bytes([56, 5]) + b'no ip'))
open(os.path.join(out, 'dhcp', 'overload'), 'wb').write(dhcp(5, bytes([52, 1, 3])))
PY

# ---- kernels, modules, executables ----
kernels=${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}/vm/kernels
vmlinuz=$(find "$kernels" -name 'vmlinuz-*' 2>/dev/null | sort | sed -n 1p)
if [ -n "$vmlinuz" ]; then
    head -c 8192 "$vmlinuz" | seed kexec_image bzimage-head
    head -c 8192 "$vmlinuz" | gzip -c | seed kexec_image bzimage-head.gz
    head -c 8192 "$vmlinuz" | zstd -q -c | seed kexec_image bzimage-head.zst
fi
module=$(find "$kernels" -name '*.ko' -size -12k 2>/dev/null | sort | sed -n 1p)
[ -n "$module" ] && seed elf_object "$(basename "$module")" < "$module"
module_xz=$(find "$kernels" -name '*.ko.xz' -size -8k 2>/dev/null | sort | sed -n 1p)
[ -n "$module_xz" ] && seed elf_object "$(basename "$module_xz")" < "$module_xz"
module_zst=$(find "$kernels" -name '*.ko.zst' -size -8k 2>/dev/null | sort | sed -n 1p)
[ -n "$module_zst" ] && seed elf_object "$(basename "$module_zst")" < "$module_zst"
printf 'int main(void) { return 0; }\n' > "$scratch/tiny.c"
gcc -Os -s -o "$scratch/tiny" "$scratch/tiny.c" && seed elf_object tiny-dynamic < "$scratch/tiny"
gcc -Os -s -m32 -o "$scratch/tiny32" "$scratch/tiny.c" 2>/dev/null && seed elf_object tiny-dynamic-32 < "$scratch/tiny32" || true

# ---- the vmcore family ----
if [ $# -ge 3 ]; then
    vmcore=$2 name=$3
    "$top/build/fuzz/tests/fuzz/make_seeds" "$vmcore" "$out" "$name"
    cut=$out/elf_vmcore/$name
    # elf_notes: a byte-order byte, then the ELF head through the notes.
    head_bytes=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(4096); n=struct.unpack_from('<H',d,56)[0]; o=struct.unpack_from('<Q',d,72)[0]; s=struct.unpack_from('<Q',d,96)[0]; print(o+s)" "$cut")
    { printf '\x00'; head -c "$head_bytes" "$cut"; } | seed elf_notes "$name"
    # kdump-compressed and flattened forms of the cut vmcore, by kdumpbox's
    # collector (makedumpfile itself wants pages the cut vmcore lacks):
    # build it with ninja -C build/fuzz kdumpbox.
    kdumpbox=${KDUMPBOX:-$top/build/fuzz/kdumpbox}
    for codec in c z; do
        "$kdumpbox" collector -$codec -d 1 "$cut" "$scratch/$name.$codec" >/dev/null 2>&1
        seed kdump_reader "$name-$codec" < "$scratch/$name.$codec"
    done
    "$kdumpbox" collector -F -c -d 1 "$cut" > "$scratch/$name.flat" 2>/dev/null
    seed flattened "$name" < "$scratch/$name.flat"
fi
echo "make_corpus: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1) in $out" >&2
