# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the shell test suites: result counting and the summary line
# tests/run-all.sh adds up. Source it, then call ok/fail/skip, and end with
# `finish SUITE`.
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    shift
    printf '    %s\n' "$@"
}
skip() { skipped=$((skipped + 1)); echo "skip - $1 ($2)"; }
# check NAME COMMAND...: passes when COMMAND exits 0.
check() {
    local name=$1 output
    shift
    if output=$("$@" 2>&1); then ok "$name"; else fail "$name" "command: $*" "output: $(tail -c 2000 <<<"$output")"; fi
}
finish() {
    echo "kdumpbox-test-summary: $1 $passed $failed $skipped"
    [ "$failed" = 0 ]
}
