#!/usr/bin/env python3
"""Table of bytes/s, frames/s and wsspec ratios from a `cargo bench --bench frame_parse` run.

Reads <criterion dir>/<group>/<function>/new/estimates.json (slope, else mean: ns per
iteration, one iteration = one pass over the group's workload) and benchmark.json (the
byte throughput the bench declared). Frames per pass are fixed by the workloads in
benches/frame_parse.rs and listed below; the declared byte count is cross-checked against
the expected wire size so a changed workload cannot be reported with stale frame counts.

Usage: python3 scripts/bench_ratios.py [--criterion-dir DIR] [--markdown]
Default DIR: $CARGO_TARGET_DIR/criterion, else target/criterion.
"""

import argparse
import json
import os
import sys

# group -> (frames per pass, wire bytes per pass, baseline functions to compare wsspec with)
# Wire bytes: header (2 + 2/8 length + 4 mask) + payload per frame.
GROUPS = {
    "tiny_16b": (100_000, 100_000 * (6 + 16)),
    "tiny_16b_utf8": (100_000, 100_000 * (6 + 16)),
    "medium_1k": (10_000, 10_000 * (8 + 1024)),
    "large_1m": (16, 16 * (14 + (1 << 20))),
    "fragmented_64k": (64, 64 * (8 + 1024)),
    "unmask_1m": (1, 1 << 20),
}

SUBJECT = "wsspec"


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def human(x, unit):
    for prefix in ("", "K", "M", "G", "T"):
        if abs(x) < 1000:
            return f"{x:7.2f} {prefix}{unit}"
        x /= 1000
    return f"{x:7.2f} P{unit}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_dir = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    ap.add_argument("--criterion-dir", default=default_dir)
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args()

    if not os.path.isdir(args.criterion_dir):
        sys.exit(f"no criterion output at {args.criterion_dir}: run cargo bench --bench frame_parse")

    rows = []
    for group, (frames, wire) in GROUPS.items():
        gdir = os.path.join(args.criterion_dir, group)
        if not os.path.isdir(gdir):
            continue
        results = {}
        for func in sorted(os.listdir(gdir)):
            est = os.path.join(gdir, func, "new", "estimates.json")
            meta = os.path.join(gdir, func, "new", "benchmark.json")
            if not os.path.isfile(est):
                continue
            e = load(est)
            # The slope is what criterion prints for linear sampling; mean otherwise.
            ns = (e.get("slope") or e["mean"])["point_estimate"]
            declared = (load(meta).get("throughput") or {}).get("Bytes") if os.path.isfile(meta) else None
            if declared is not None and declared != wire:
                sys.exit(f"{group}/{func}: bench declared {declared} bytes, script expects {wire}; update GROUPS")
            results[func] = ns
        base = results.get(SUBJECT)
        for func, ns in results.items():
            secs = ns / 1e9
            ratio = (ns / base) if base else None  # >1: wsspec is that many times faster
            rows.append((group, func, ns, wire / secs, frames / secs, ratio))

    if not rows:
        sys.exit(f"no estimates under {args.criterion_dir}")

    if args.markdown:
        print("| group | function | time/pass | bytes/s | frames/s | wsspec speedup |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for g, f, ns, bps, fps, r in rows:
            rs = "-" if f == SUBJECT or r is None else f"{r:.2f}x"
            print(f"| {g} | {f} | {ns/1e3:.1f} us | {human(bps, 'B/s')} | {human(fps, 'f/s')} | {rs} |")
    else:
        print(f"{'group':<16} {'function':<26} {'time/pass':>12} {'bytes/s':>14} {'frames/s':>14} {'wsspec x':>9}")
        for g, f, ns, bps, fps, r in rows:
            rs = "-" if f == SUBJECT or r is None else f"{r:.2f}"
            print(f"{g:<16} {f:<26} {ns/1e3:>9.1f} us {human(bps, 'B/s'):>14} {human(fps, 'f/s'):>14} {rs:>9}")


if __name__ == "__main__":
    main()
