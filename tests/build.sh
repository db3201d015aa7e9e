#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds kdumpbox: tests/build.sh release|asan [more...]
#   release: build/release/kdumpbox, the static musl artifact (zig 0.11)
#   release-aarch64: build/release-aarch64/kdumpbox, the same for arm64
#   asan:    build/asan, the system compiler with ASan+UBSan, for tests
#   fuzz:    build/fuzz, clang-16 with libFuzzer, ASan and UBSan: only the
#            harnesses of tests/fuzz/ (tests/fuzz/README.md)
# Fetches and builds the pinned libraries on first use (cached; see
# subprojects/README.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cache=${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}

for flavour in "$@"; do
    targets=()
    case $flavour in
    release)
        prefix=$(subprojects/deps.sh musl | tail -1)
        # zig keeps its libc++/musl builds here; the wrappers say so too.
        args=(--cross-file "$cache/musl/cross.ini" -Dflavour=static-musl -Dbuildtype=release)
        ;;
    release-aarch64)
        # The same static musl artifact for arm64; the cross file runs
        # target programs (the unit tests) under qemu-aarch64-static.
        prefix=$(subprojects/deps.sh musl-aarch64 | tail -1)
        args=(--cross-file "$cache/musl-aarch64/cross.ini" -Dflavour=static-musl -Dbuildtype=release)
        ;;
    asan)
        prefix=$(subprojects/deps.sh host | tail -1)
        args=(-Dflavour=dev -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false)
        ;;
    fuzz)
        prefix=$(subprojects/deps.sh host | tail -1)
        # Every core file gets libFuzzer's coverage hooks; a UBSan finding
        # stops the run like a crash does.
        args=(-Dflavour=dev -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
            -Dfuzzing=true -Dcpp_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all')
        export CC=clang-16 CXX=clang++-16
        targets=(fuzzers)
        ;;
    *)
        echo "tests/build.sh: unknown flavour '$flavour'; use release, release-aarch64, asan or fuzz" >&2
        exit 2
        ;;
    esac
    dir=build/$flavour
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" -Ddeps_prefix="$prefix" >/dev/null
    else
        meson setup "$dir" "${args[@]}" -Ddeps_prefix="$prefix" >&2
    fi
    ninja -C "$dir" "${targets[@]}" >&2
done
