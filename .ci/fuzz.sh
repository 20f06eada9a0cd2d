#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ on nightly for FUZZ_SECONDS seconds each.
#
#   FUZZ_SECONDS=25 bash .ci/fuzz.sh          # default 25 s per target
#   FUZZ_TARGETS="frame_parse differential" bash .ci/fuzz.sh
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
failed=()
for t in $targets; do
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
    if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        echo "fuzz.sh: $t FAILED (exit $rc); last lines of its log:"
        tail -n 40 "$work/$t.log"
        mkdir -p "$root/fuzz/artifacts/$t"
        for f in "$work/artifacts/$t"/*; do
            [ -f "$f" ] || continue
            cp "$f" "$root/fuzz/artifacts/$t/"
            echo "fuzz.sh: crash input fuzz/artifacts/$t/$(basename "$f") ($(wc -c <"$f") bytes):"
            od -A x -t x1z -v "$f" | head -n 40
        done
    else
        echo "fuzz.sh: $t ok, ${execs:-?} execs, ${cov:-cov: ?}"
    fi
done

echo "fuzz.sh: finished in $(( $(date +%s) - start ))s"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz.sh: crashing targets: ${failed[*]}" >&2
    exit 1
fi
