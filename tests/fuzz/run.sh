#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the libFuzzer harnesses of the fuzz build (tests/build.sh fuzz):
#   tests/fuzz/run.sh SECONDS [NAME...]
# For each harness (all by default): every input of corpus/NAME and
# regressions/NAME once, then SECONDS of fuzzing from the corpus. Prints per
# harness the executions, coverage (cov: edges, ft: features) and crashes,
# and one "kdumpbox-test-summary: fuzz PASSED FAILED SKIPPED" line.
# New corpus inputs and crash artifacts go to a work directory under /tmp,
# kept when a harness fails (or always, with KDUMPBOX_FUZZ_WORK=DIR).
# KDUMPBOX_FUZZ_BUILD: where the harness binaries are (default
# build/fuzz/tests/fuzz). Extra libFuzzer options: KDUMPBOX_FUZZ_OPTIONS.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${KDUMPBOX_FUZZ_BUILD:-$top/build/fuzz/tests/fuzz}

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
    echo "usage: tests/fuzz/run.sh SECONDS [NAME...]" >&2
    exit 2
fi
seconds=$1
shift
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for source in "$here"/*.cpp; do
        name=$(basename "$source" .cpp)
        [ "$name" = make_seeds ] || names+=("$name")
    done
fi

if [ -n "${KDUMPBOX_FUZZ_WORK:-}" ]; then
    work=$KDUMPBOX_FUZZ_WORK
    keep_work=1
else
    work=$(mktemp -d /tmp/kdumpbox-fuzz.XXXXXX)
    keep_work=0
fi
mkdir -p "$work"
# A finding must stop the run and say where: leaks too, and UBSan.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
read -r -a extra_options <<< "${KDUMPBOX_FUZZ_OPTIONS:-}"

passed=0 failed=0 skipped=0
for name in "${names[@]}"; do
    binary=$build/fuzz_$name
    if [ ! -x "$binary" ]; then
        echo "fuzz $name: SKIP, no $binary (build it: bash tests/build.sh fuzz)"
        skipped=$((skipped + 1))
        continue
    fi
    dir=$work/$name
    mkdir -p "$dir/corpus" "$dir/artifacts"
    log=$dir/log
    status=ok

    # 1. Every saved input once: the corpus, then the crashes fixed so far.
    inputs=()
    for saved in "$here/corpus/$name" "$here/regressions/$name"; do
        [ -d "$saved" ] && while IFS= read -r -d '' file; do inputs+=("$file"); done < <(find "$saved" -type f -print0 | sort -z)
    done
    replayed=${#inputs[@]}
    if [ "$replayed" -gt 0 ] && ! "$binary" -rss_limit_mb=2048 -timeout=30 "${inputs[@]}" > "$log.replay" 2>&1; then
        status="FAILED replaying a saved input (log: $log.replay)"
    fi

    # 2. Fuzzing from the corpus; new inputs land in the work directory.
    execs=0 cov=0 ft=0 crashes=0
    if [ "$status" = ok ] && [ "$seconds" -gt 0 ]; then
        seeds=()
        [ -d "$here/corpus/$name" ] && seeds+=("$here/corpus/$name")
        "$binary" "$dir/corpus" "${seeds[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
            -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${extra_options[@]}" > "$log" 2>&1
        rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -1)
        cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
        ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
        crashes=$(find "$dir/artifacts" -type f | wc -l)
        if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
            status="FAILED: exit $rc, artifacts in $dir/artifacts (log: $log)"
        fi
    fi
    echo "fuzz $name: seconds=$seconds execs=${execs:-0} cov=${cov:-0} ft=${ft:-0} crashes=$crashes replayed=$replayed: ${status}"
    if [ "$status" = ok ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        keep_work=1
        tail -n 40 "$log.replay" "$log" 2>/dev/null | grep -v '^==> ' | sed "s/^/    $name: /" | tail -n 40
    fi
done

[ "$keep_work" = 1 ] && echo "fuzz: work directory $work" || rm -rf "$work"
echo "kdumpbox-test-summary: fuzz $passed $failed $skipped"
[ "$failed" -eq 0 ]
