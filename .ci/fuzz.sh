#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ on nightly for FUZZ_SECONDS seconds each.
#
#   FUZZ_SECONDS=25 bash .ci/fuzz.sh          # default 25 s per target
#   FUZZ_TARGETS="frame_parse differential" bash .ci/fuzz.sh
#   FUZZ_JOBS=1 bash .ci/fuzz.sh              # one target at a time (default: one per CPU)
#
# The committed seeds (fuzz/corpus/<target>/) and crash regressions
# (fuzz/regressions/<target>/) are copied to a temporary directory first, so a run never
# dirties the work tree. Exits non-zero if any target crashes; the crashing input is printed
# (hex) and kept under fuzz/artifacts/<target>/ (ignored by git) for `cargo fuzz run <target>
# <file>`. To keep a fixed crash as a regression, copy it to fuzz/regressions/<target>/.
set -euo pipefail

FUZZ_SECONDS="${FUZZ_SECONDS:-25}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    echo "fuzz.sh: toolchain '$TOOLCHAIN' is missing (rustup toolchain install $TOOLCHAIN)" >&2
    exit 2
fi

cd "$root/fuzz"
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
# Debug assertions on: the codec's debug_assert!s are invariants worth fuzzing too.
cargo "+$TOOLCHAIN" fuzz build --debug-assertions

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# One target per CPU at a time: libFuzzer runs one process per target, so on CI's idle
# machine two targets side by side get the same fuzzing time in half the wall time.
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"

# Runs target $1; leaves its verdict in $work/$1.rc and its summary in $work/$1.summary.
fuzz_one() {
    local t="$1" rc execs cov
    mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
    for seeds in "corpus/$t" "regressions/$t"; do
        if [ -d "$seeds" ]; then cp -R "$seeds/." "$work/corpus/$t/"; fi
    done
    echo "fuzz.sh: $t for ${FUZZ_SECONDS}s ($(ls "$work/corpus/$t" | wc -l) seeds)"
    set +e
    cargo "+$TOOLCHAIN" fuzz run --debug-assertions "$t" "$work/corpus/$t" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 >"$work/$t.log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1 || true)
    echo "$rc" >"$work/$t.rc"
    echo "fuzz.sh: $t exit $rc, ${execs:-?} execs, ${cov:-cov: ?}" >"$work/$t.summary"
}

running=0
for t in $targets; do
    fuzz_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

failed=()
for t in $targets; do
    rc="$(cat "$work/$t.rc" 2>/dev/null || echo 99)"
    cat "$work/$t.summary" 2>/dev/null || echo "fuzz.sh: $t did not report"
    if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        echo "fuzz.sh: $t FAILED (exit $rc); last lines of its log:"
        tail -n 40 "$work/$t.log" 2>/dev/null || true
        mkdir -p "$root/fuzz/artifacts/$t"
        for f in "$work/artifacts/$t"/*; do
            [ -f "$f" ] || continue
            cp "$f" "$root/fuzz/artifacts/$t/"
            echo "fuzz.sh: crash input fuzz/artifacts/$t/$(basename "$f") ($(wc -c <"$f") bytes):"
            od -A x -t x1z -v "$f" | head -n 40
        done
    fi
done

echo "fuzz.sh: finished in $(( $(date +%s) - start ))s"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz.sh: crashing targets: ${failed[*]}" >&2
    exit 1
fi
