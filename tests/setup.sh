#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the Debian packages that building and testing kdumpbox need.
# Everything the project uses is installed here (or by subprojects/deps.sh
# and the VM tests' own downloads), never only by hand.
set -euo pipefail

packages=(
    # build
    meson ninja-build cmake make gcc g++ binutils pkg-config file
    dpkg-dev patch xz-utils bzip2 doctest-dev
    # tests
    util-linux fdisk python3 time
    # the device tree oracle (tests/unit/kexec/test_fdt.cpp decompiles our DTBs)
    device-tree-compiler
    # VM tests and oracles
    qemu-system-x86 busybox-static cpio kexec-tools makedumpfile crash
    python3-libkdumpfile musl-tools e2fsprogs xfsprogs btrfs-progs dosfstools
    # the LVM oracle (tests/unit/system/test_lvm.cpp writes real PVs with it)
    lvm2
    openssh-server openssh-client
    # the NFS test server (tests/vm/nfs.sh): userspace, the host kernel has no nfsd
    nfs-ganesha nfs-ganesha-vfs rpcbind
    # the real-host tier (tests/realhost/): builds Debian images; lvm2 writes
    # LVM metadata without device-mapper (--driverloaded n)
    debootstrap lvm2
    # the aarch64 build's unit tests (qemu-aarch64-static, the cross file's
    # exe_wrapper) and the arm64 VM tier (tests/arm64/)
    qemu-user-static qemu-system-arm
    # depmod for the arm64 capture case's guest root (6.12's modules are xz)
    kmod
    # the fuzz build (tests/fuzz/): libFuzzer and the sanitizer runtimes
    clang-16 libfuzzer-16-dev libclang-rt-16-dev
    # the arm64 purgatory (arch/aarch64/purgatory/build.sh): flattened by
    # llvm-objcopy; tests/arm64/purgatory.sh links it with lld
    llvm lld
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "tests/setup.sh: missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "tests/setup.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ! command -v npm >/dev/null; then
    echo "tests/setup.sh: npm is needed to fetch the pinned zig toolchain; install Node.js with npm (apt-get install npm)" >&2
    exit 1
fi
