#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ into $OUT for ClusterFuzzLite / OSS-Fuzz, each
# with its seed corpus (fuzz/corpus/<target>/ plus fuzz/regressions/<target>/) as
# $OUT/<target>_seed_corpus.zip. The builder image sets the sanitizer flags; cargo-fuzz
# adds libFuzzer. `.ci/fuzz.sh` stays the time-boxed local run of the same targets.
#
# Outside the image: SRC=<dir holding a wsspec checkout> OUT=<empty dir>
# RUSTUP_TOOLCHAIN=nightly bash .clusterfuzzlite/build.sh
cd "$SRC/wsspec/fuzz"

# Debug assertions on: the codec's debug_assert!s are invariants worth fuzzing too.
cargo fuzz build -O --debug-assertions

release="target/x86_64-unknown-linux-gnu/release"
targets=$(cargo fuzz list)
[ -n "$targets" ] || { echo "build.sh: cargo fuzz list is empty" >&2; exit 1; }
for t in $targets; do
    cp "$release/$t" "$OUT/$t"
    seeds=$(mktemp -d)
    for d in "corpus/$t" "regressions/$t"; do
        if [ -d "$d" ]; then cp -R "$d/." "$seeds/"; fi
    done
    if [ -n "$(ls -A "$seeds")" ]; then
        (cd "$seeds" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
    fi
    rm -rf "$seeds"
    echo "build.sh: $t -> $OUT/$t"
done
