#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the arm64 makedumpfile oracle for tests/interop/arm64.sh: Debian
# bookworm's arm64 makedumpfile and the libraries it links, unpacked into a
# sysroot (default ~/.cache/kdumpbox/arm64/oracle) that qemu-aarch64-static
# runs it from (-L). Debian's amd64 makedumpfile reads x86_64 dumps only.
# Uses a private apt configuration for arm64; the system's is not touched.
# Usage: tests/interop/arm64-oracle.sh [ROOT]
set -euo pipefail

cache=${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}
root=${1:-$cache/arm64/oracle}
apt_dir=$cache/arm64/oracle-apt
packages=(makedumpfile libc6 libgcc-s1 libelf1 libdw1 zlib1g liblzma5 libbz2-1.0 liblzo2-2 libzstd1)

[ -x "$root/usr/bin/makedumpfile" ] && { echo "$root"; exit 0; }
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
cat >"$apt_dir/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Architectures: arm64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root" -o "APT::Architecture=arm64" -o "APT::Architectures=arm64")
apt-get "${opts[@]}" -q update >"$apt_dir/update.log" 2>&1 || { echo "apt-get update for arm64 failed, see $apt_dir/update.log" >&2; exit 1; }
(cd "$apt_dir/debs" && apt-get "${opts[@]}" -q download "${packages[@]}" >"$apt_dir/download.log" 2>&1) \
    || { echo "apt-get download failed, see $apt_dir/download.log" >&2; exit 1; }
mkdir -p "$root.new"
for deb in "$apt_dir"/debs/*.deb; do dpkg-deb -x "$deb" "$root.new"; done
rm -rf "$root" && mv "$root.new" "$root"
echo "$root"
