#!/usr/bin/env python3
"""Table of bytes/s, frames/s and wsspec ratios from a `cargo bench --bench frame_parse` run.

For each <criterion dir>/<group>/<function>/new/ it reads:
  * estimates.json: criterion's estimate of the time per iteration (the slope for linear
    sampling, else the mean); one iteration is one pass over the group's workload;
  * sample.json: the raw samples, from which the fastest sample's time per iteration is
    taken ("min"). On a shared machine preemption only ever adds time, so the minimum is
    the estimate least disturbed by other processes; it is applied to every function alike
    and shown next to criterion's own estimate, never instead of it;
  * benchmark.json: the byte throughput the bench declared.
Frames per pass are fixed by the workloads in benches/frame_parse.rs and listed below; the
declared byte count is cross-checked against the expected wire size so a changed workload
cannot be reported with stale frame counts.

Usage: python3 scripts/bench_ratios.py [--criterion-dir DIR] [--markdown]
Default DIR: $CARGO_TARGET_DIR/criterion, else target/criterion.
"""

import argparse
import json
import os
import sys

# group -> (frames per pass, wire bytes per pass).
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

# Targets of the "beat tungstenite and fastwebsockets by a wide margin" issue:
# (group, baseline function, minimum wsspec speedup).
TARGETS = [
    ("tiny_16b", "tungstenite_frame", 3.0),
    ("tiny_16b", "tungstenite_read", 12.0),
    ("tiny_16b", "fastwebsockets_read", 12.0),
    ("tiny_16b_utf8", "tungstenite_read", 10.0),
    ("medium_1k", "tungstenite_frame", 1.4),
    ("medium_1k", "tungstenite_read", 5.0),
    ("medium_1k", "fastwebsockets_read", 5.0),
    ("large_1m", "tungstenite_frame", 1.0),
    ("large_1m", "tungstenite_read", 1.5),
    ("large_1m", "fastwebsockets_read", 1.5),
    ("fragmented_64k", "tungstenite_read", 4.0),
    ("fragmented_64k", "fastwebsockets_collector", 4.0),
    ("unmask_1m", "tungstenite_kernel", 1.3),
]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def human(x, unit):
    for prefix in ("", "K", "M", "G", "T"):
        if abs(x) < 1000:
            return f"{x:6.2f} {prefix}{unit}"
        x /= 1000
    return f"{x:6.2f} P{unit}"


def collect(criterion_dir):
    """{group: {function: (criterion ns/pass, min ns/pass)}}"""
    out = {}
    for group, (_frames, wire) in GROUPS.items():
        gdir = os.path.join(criterion_dir, group)
        if not os.path.isdir(gdir):
            continue
        for func in sorted(os.listdir(gdir)):
            new = os.path.join(gdir, func, "new")
            if not os.path.isfile(os.path.join(new, "estimates.json")):
                continue
            e = load(os.path.join(new, "estimates.json"))
            ns = (e.get("slope") or e["mean"])["point_estimate"]
            s = load(os.path.join(new, "sample.json"))
            ns_min = min(t / i for t, i in zip(s["times"], s["iters"]))
            meta = os.path.join(new, "benchmark.json")
            declared = (load(meta).get("throughput") or {}).get("Bytes") if os.path.isfile(meta) else None
            if declared is not None and declared != wire:
                sys.exit(f"{group}/{func}: bench declared {declared} bytes, script expects {wire}; update GROUPS")
            out.setdefault(group, {})[func] = (ns, ns_min)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_dir = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    ap.add_argument("--criterion-dir", default=default_dir)
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args()

    if not os.path.isdir(args.criterion_dir):
        sys.exit(f"no criterion output at {args.criterion_dir}: run cargo bench --bench frame_parse")
    res = collect(args.criterion_dir)
    if not res:
        sys.exit(f"no estimates under {args.criterion_dir}")

    md = args.markdown
    head = ["group", "function", "criterion/pass", "min/pass", "bytes/s", "frames/s", "x (crit)", "x (min)"]
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + " --- |" * 2 + " ---: |" * (len(head) - 2))
    else:
        print(f"{head[0]:<15} {head[1]:<25} {head[2]:>14} {head[3]:>11} {head[4]:>12} {head[5]:>12} {head[6]:>8} {head[7]:>8}")
    for group, funcs in res.items():
        frames, wire = GROUPS[group]
        base = funcs.get(SUBJECT)
        for func, (ns, ns_min) in funcs.items():
            secs = ns / 1e9
            if func == SUBJECT or base is None:
                r, rmin = "-", "-"
            else:
                r, rmin = f"{ns / base[0]:.2f}", f"{ns_min / base[1]:.2f}"
            cells = [group, func, f"{ns / 1e3:.1f} us", f"{ns_min / 1e3:.1f} us",
                     human(wire / secs, "B/s"), human(frames / secs, "f/s"), r, rmin]
            if md:
                print("| " + " | ".join(cells) + " |")
            else:
                print(f"{cells[0]:<15} {cells[1]:<25} {cells[2]:>14} {cells[3]:>11} {cells[4]:>12} {cells[5]:>12} {cells[6]:>8} {cells[7]:>8}")

    print()
    for group, funcs in res.items():
        if SUBJECT in funcs and "read_only_pass" in funcs:
            c = funcs["read_only_pass"][0] / funcs[SUBJECT][0]
            m = funcs["read_only_pass"][1] / funcs[SUBJECT][1]
            print(f"{group}: wsspec throughput = {c * 100:.0f}% (criterion) / {m * 100:.0f}% (min) of read_only_pass")

    print("\ntargets (ratio = baseline time / wsspec time; criterion estimate, then fastest sample):")
    for g, f, want in TARGETS:
        funcs = res.get(g, {})
        if f not in funcs or SUBJECT not in funcs:
            print(f"  {g:<15} vs {f:<25} >= {want:>4}x  NOT RUN")
            continue
        c = funcs[f][0] / funcs[SUBJECT][0]
        m = funcs[f][1] / funcs[SUBJECT][1]
        verdict = lambda r: "met" if r >= want else "NOT MET"
        print(f"  {g:<15} vs {f:<25} >= {want:>4}x  {c:6.2f}x {verdict(c):<8} {m:6.2f}x {verdict(m)}")


if __name__ == "__main__":
    main()
