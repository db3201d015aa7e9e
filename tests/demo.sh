#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo. Until the capture path lands it builds the static binary and
# shows what is inside; the capture-path work turns it into a VM crash demo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash tests/setup.sh
bash tests/build.sh release
binary=build/release/kdumpbox
echo
echo "== file $binary"
file "$binary"
ls -l "$binary"
echo
echo "== $binary --version"
"$binary" --version
echo
echo "== $binary --list"
"$binary" --list
