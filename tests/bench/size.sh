#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of the release binary's size (issue #16, goal: at most 2.0 MB
# stripped). Prints the stripped size against the goal and how the symbol
# bytes split between our code and each library, so that growth shows in
# every change. The split comes from kdumpbox.unstripped, the release
# build's link before stripping: each symbol is given to the archive that
# defines it (the pinned libraries in the build's deps prefix, our core
# library and applets); what none defines is libc++ (std::) or musl.
#   tests/bench/size.sh [BUILD_DIR]            print (default build/release)
#   tests/bench/size.sh --check BYTES [BUILD_DIR]
#       also fail when the stripped binary is over BYTES: the budget that
#       tests/meson.build holds the release build to.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
budget_bytes=0
if [ "${1:-}" = --check ]; then
    budget_bytes=${2:?--check needs a byte count}
    shift 2
fi
build=$(cd "${1:-$top/build/release}" && pwd)
for file in "$build/kdumpbox" "$build/kdumpbox.unstripped" "$build/meson-info/intro-buildoptions.json"; do
    [ -f "$file" ] || { echo "size bench: $file is missing; build the release binary first (tests/build.sh release)" >&2; exit 1; }
done
command -v nm >/dev/null || { echo "size bench: needs nm (apt-get install binutils)" >&2; exit 1; }

/usr/bin/python3 - "$build" "$budget_bytes" <<'PY'
import glob, json, os, subprocess, sys
build, budget_bytes = sys.argv[1], int(sys.argv[2])
goal_bytes = 2_000_000
stripped_bytes = os.path.getsize(os.path.join(build, "kdumpbox"))
options = json.load(open(os.path.join(build, "meson-info", "intro-buildoptions.json")))
prefix = next(o["value"] for o in options if o["name"] == "deps_prefix")

def defined_names(paths):
    out = subprocess.run(["nm", "--defined-only", "--no-sort", *paths], capture_output=True, text=True).stdout
    return {fields[2] for fields in (line.split() for line in out.splitlines()) if len(fields) == 3}

owners = [
    ("kdumpbox", [os.path.join(build, "libkdumpbox-core.a"), os.path.join(build, "libkdumpbox-core-cold.a"), *glob.glob(os.path.join(build, "kdumpbox.unstripped.p", "*.o"))]),
    ("zstd", [f"{prefix}/lib/libzstd.a"]),
    ("mbedTLS", [f"{prefix}/lib/libmbedtls.a", f"{prefix}/lib/libmbedx509.a", f"{prefix}/lib/libmbedcrypto.a"]),
    ("libssh2", [f"{prefix}/lib/libssh2.a"]),
    ("lz4", [f"{prefix}/lib/liblz4.a"]),
    ("zlib", [f"{prefix}/lib/libz.a"]),
]
owner_of = {}
for owner, paths in owners:
    for name in defined_names([p for p in paths if os.path.exists(p)]):
        owner_of.setdefault(name, owner)  # a name two archives define stays with the first

totals = {}
out = subprocess.run(["nm", "--size-sort", "-S", os.path.join(build, "kdumpbox.unstripped")], capture_output=True, text=True, check=True).stdout
for line in out.splitlines():
    fields = line.split()
    if len(fields) != 4 or fields[2] in "bB":  # .bss takes no file bytes
        continue
    size, name = int(fields[1], 16), fields[3]
    owner = owner_of.get(name) or ("libc++" if name.startswith(("_ZNSt3__1", "_ZNKSt3__1", "_ZSt", "_ZTVNSt3__1", "_ZTINSt3__1", "_ZTSNSt3__1", "__cxa", "__cxx", "_ZN10__cxxabiv1")) else "musl, compiler-rt")
    totals[owner] = totals.get(owner, 0) + size

print(f"release binary: {stripped_bytes:,} bytes stripped; goal {goal_bytes:,}: "
      f"{'met' if stripped_bytes <= goal_bytes else 'not met'} ({stripped_bytes / goal_bytes:.2f} of the goal)")
print("symbol bytes by owner (kdumpbox.unstripped):")
for owner, size in sorted(totals.items(), key=lambda item: -item[1]):
    print(f"  {owner:<18} {size:>10,}")
print(f"  {'total':<18} {sum(totals.values()):>10,}  (the rest of the file: tables, headers, alignment)")
if budget_bytes and stripped_bytes > budget_bytes:
    print(f"size check: {stripped_bytes:,} bytes is over the budget of {budget_bytes:,} (tests/meson.build); "
          "find what grew in the table above, or raise the budget there with the reason")
    sys.exit(1)
PY
