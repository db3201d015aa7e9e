#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sets up and runs every test suite, on four builds:
#   - build/asan (system compiler, ASan+UBSan): unit and CLI suites;
#   - build/release (the static musl artifact): every suite, VM tests too;
#   - build/fuzz (clang-16, libFuzzer): the fuzz smoke pass (tests/fuzz/);
#   - build/release-aarch64 (the arm64 artifact): its unit suite and CLI checks
#     under qemu-aarch64 user mode, and the arm64 VM tier (tests/arm64/).
# Ends with one line "N passed, N failed, N skipped" over all suites.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash tests/setup.sh || exit 1
bash tests/build.sh asan release fuzz || { echo "0 passed, 1 failed"; exit 1; }
start=$SECONDS
bash tests/build.sh release-aarch64 || { echo "0 passed, 1 failed"; exit 1; }
echo "tier aarch64 build: $((SECONDS - start)) s"

status=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
meson test -C build/asan --suite unit --suite cli --print-errorlogs --num-processes 2 || status=1
meson test -C build/release --print-errorlogs --num-processes 1 || status=1
meson test -C build/fuzz --suite fuzz --no-rebuild --print-errorlogs || status=1
start=$SECONDS
meson test -C build/release-aarch64 --suite unit --suite cli --print-errorlogs --num-processes 1 || status=1
echo "tier aarch64 unit + cli (qemu-aarch64 user mode): $((SECONDS - start)) s"
start=$SECONDS
meson test -C build/release-aarch64 --suite vm-arm64 --print-errorlogs --num-processes 1 --logbase testlog-vm-arm64 || status=1
echo "tier arm64 VMs: $((SECONDS - start)) s"

# Each suite prints "kdumpbox-test-summary: SUITE PASSED FAILED SKIPPED";
# a test that printed none (it crashed early) counts as one, by its result.
/usr/bin/python3 - build/asan/meson-logs/testlog.json build/release/meson-logs/testlog.json build/fuzz/meson-logs/testlog.json \
    build/release-aarch64/meson-logs/testlog.json build/release-aarch64/meson-logs/testlog-vm-arm64.json <<'PY' || status=1
import json, re, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        print(f"missing {path}: that build's tests did not run")
        continue
    for line in lines:
        test = json.loads(line)
        summaries = re.findall(r"^kdumpbox-test-summary: (\S+) (\d+) (\d+) (\d+)$", test.get("stdout", ""), re.M)
        if summaries:
            for _, p, f, s in summaries:
                passed, failed, skipped = passed + int(p), failed + int(f), skipped + int(s)
            if test["result"] not in ("OK", "SKIP") and not any(int(f) for _, _, f, _ in summaries):
                failed += 1  # the suite failed after its summary (sanitizer, leak)
        elif test["result"] == "OK":
            passed += 1
        elif test["result"] == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
exit $status
