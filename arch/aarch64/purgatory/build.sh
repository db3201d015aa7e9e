#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the arm64 purgatory blob outside meson, for tests/arm64/ on any
# host (clang-16 --target=aarch64-linux-gnu -fuse-ld=lld, or zig cc -target
# aarch64-freestanding): the same sources and flags as meson.build.
#   build.sh SOURCE_ROOT OUT.bin CC [CC ARGS...]
set -euo pipefail
top=$1 out=$2
shift 2
here=$top/arch/aarch64/purgatory
"$@" -O2 -ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie \
    -mgeneral-regs-only -mstrict-align -Xclang -target-feature -Xclang -neon -Xclang -target-feature -Xclang -fp-armv8 \
    -fno-asynchronous-unwind-tables -nostdlib -static -no-pie \
    -Wl,-T,"$here/purgatory.ld" -Wl,--build-id=none -g0 -I "$top" \
    -o "$out.elf" "$here/entry.S" "$top/purgatory/check.c" "$top/purgatory/sha256.c" "$top/purgatory/freestanding.c"
llvm-objcopy -O binary "$out.elf" "$out"
# No FP/SIMD: the purgatory runs before anything enables them.
if llvm-objdump -d "$out.elf" | grep -qE '\s(ldr|str|stp|ldp)\s+[qd][0-9]+|\sv[0-9]+\.'; then
    echo "build.sh: the purgatory uses FP/SIMD registers" >&2
    exit 1
fi
rm -f "$out.elf"
