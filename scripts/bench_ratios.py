#!/usr/bin/env python3
"""Ratios, spreads and target check of a `cargo bench --bench frame_parse` (and
`--bench frame_encode`) run; optionally whether a second run agrees with it.

Sources, per group and function, under the criterion directory:
  * <group>/<function>/<baseline>/estimates.json and sample.json: criterion's estimate of
    the time per pass (slope, else mean) and its fastest sample ("min": on a shared
    machine preemption only adds time);
  * interleaved/<baseline>/<group>.json: the interleaved rounds the benches run after
    criterion's samples (benches/common/mod.rs): every implementation timed once per
    round, rotated order. A ratio there is the median over the rounds of the per-round
    ratio; its spread is the interquartile range of those ratios relative to the median
    (and their min..max). Targets are checked on these medians when present, else on
    criterion's estimates.
<baseline> is `new` (the latest run) unless --baseline names a `--save-baseline` one.

Every ratio is "other time / wsspec time" from the same run, so > 1 means wsspec is faster;
against read_only_pass it is the fraction of the memory bound wsspec reaches.

Targets (issue 14): bandwidth-bound workloads as a fraction of the read-only pass of the
same run and a lead over the fastest peer path; the others as ratios:
  medium_1k, large_1m   >= 0.90 of read_only_pass, >= 1.2x tungstenite_frame
  unmask_1m             >= 0.90 of read_only_pass, > 1.0x tungstenite_kernel
  tiny_16b_utf8         >= 15x tungstenite_read
  tiny_16b              >= 4x tungstenite_frame
  encode_tiny_16b       >= 2x the faster of tungstenite_format, fastwebsockets_write

Usage:
  python3 scripts/bench_ratios.py [--criterion-dir DIR] [--baseline NAME] [--markdown]
                                  [--against DIR2] [--against-baseline NAME2]
--against / --against-baseline compare with a second run (a copy of another run's
criterion directory, or another saved baseline) and report every ratio that differs by
more than 10%. Exit status: 0 every target met (and, when comparing, every target ratio
agrees within 10%); 1 otherwise, listing what failed; 2 no data.
"""

import argparse
import json
import os
import statistics
import sys

# group -> (frames per pass, wire bytes per pass). Wire bytes: header (2 + 2/8 length +
# 4 mask) + payload per frame; cross-checked against what the bench declared.
GROUPS = {
    "tiny_16b": (100_000, 100_000 * (6 + 16)),
    "tiny_16b_utf8": (100_000, 100_000 * (6 + 16)),
    "medium_1k": (10_000, 10_000 * (8 + 1024)),
    "large_1m": (16, 16 * (14 + (1 << 20))),
    "fragmented_64k": (64, 64 * (8 + 1024)),
    "unmask_1m": (1, 1 << 20),
    "encode_tiny_16b": (100_000, 100_000 * (6 + 16)),
    "encode_medium_1k": (10_000, 10_000 * (8 + 1024)),
    "encode_large_1m": (16, 16 * (14 + (1 << 20))),
}

SUBJECT = "wsspec"
PEERS = "tungstenite_format|fastwebsockets_write"  # the faster of these, per round

# (group, other function(s), minimum ratio, strict). Ratio = other time / wsspec time.
TARGETS = [
    ("medium_1k", "read_only_pass", 0.90, False),
    ("medium_1k", "tungstenite_frame", 1.2, False),
    ("large_1m", "read_only_pass", 0.90, False),
    ("large_1m", "tungstenite_frame", 1.2, False),
    ("unmask_1m", "read_only_pass", 0.90, False),
    ("unmask_1m", "tungstenite_kernel", 1.0, True),
    ("tiny_16b_utf8", "tungstenite_read", 15.0, False),
    ("tiny_16b", "tungstenite_frame", 4.0, False),
    ("encode_tiny_16b", PEERS, 2.0, False),
]

AGREE = 0.10


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def human(x, unit):
    for prefix in ("", "K", "M", "G", "T"):
        if abs(x) < 1000:
            return f"{x:6.2f} {prefix}{unit}"
        x /= 1000
    return f"{x:6.2f} P{unit}"


def quartiles(v):
    s = sorted(v)
    if len(s) < 4:
        return s[0], s[-1]
    q = statistics.quantiles(s, n=4)
    return q[0], q[2]


class Run:
    """One run: criterion estimates and interleaved rounds of every group found."""

    def __init__(self, cdir, baseline):
        self.dir, self.baseline = cdir, baseline
        self.crit = {}  # group -> func -> (ns, ns_min)
        self.rounds = {}  # group -> func -> [ns per pass, per round]
        self.meta = {}  # group -> interleaved json minus the rounds
        for group, (_frames, wire) in GROUPS.items():
            gdir = os.path.join(cdir, group)
            if os.path.isdir(gdir):
                for func in sorted(os.listdir(gdir)):
                    d = os.path.join(gdir, func, baseline)
                    if not os.path.isfile(os.path.join(d, "estimates.json")):
                        continue
                    e = load(os.path.join(d, "estimates.json"))
                    ns = (e.get("slope") or e["mean"])["point_estimate"]
                    s = load(os.path.join(d, "sample.json"))
                    ns_min = min(t / i for t, i in zip(s["times"], s["iters"]))
                    meta = os.path.join(d, "benchmark.json")
                    declared = (load(meta).get("throughput") or {}).get("Bytes") if os.path.isfile(meta) else None
                    if declared is not None and declared != wire:
                        sys.exit(f"{group}/{func}: bench declared {declared} bytes, script expects {wire}; update GROUPS")
                    self.crit.setdefault(group, {})[func] = (ns, ns_min)
            ipath = os.path.join(cdir, "interleaved", baseline, f"{group}.json")
            if os.path.isfile(ipath):
                j = load(ipath)
                if j.get("bytes") != wire:
                    sys.exit(f"{ipath}: {j.get('bytes')} bytes, script expects {wire}; update GROUPS")
                self.rounds[group] = {f: v["ns_per_pass"] for f, v in j["functions"].items()}
                self.meta[group] = {k: v for k, v in j.items() if k != "functions"}

    def groups(self):
        return [g for g in GROUPS if g in self.crit or g in self.rounds]

    def funcs(self, group):
        seen = list(self.crit.get(group, {}))
        seen += [f for f in self.rounds.get(group, {}) if f not in seen]
        return seen

    def ratio(self, group, other):
        """(median, q1, q3, lo, hi, source) of other time / wsspec time, or None.

        `other` may be "a|b": the faster of a and b, per round."""
        names = other.split("|")
        r = self.rounds.get(group, {})
        if SUBJECT in r and all(n in r for n in names):
            per_round = [min(r[n][i] for n in names) / w for i, w in enumerate(r[SUBJECT])]
            q1, q3 = quartiles(per_round)
            return statistics.median(per_round), q1, q3, min(per_round), max(per_round), "interleaved"
        c = self.crit.get(group, {})
        if SUBJECT in c and all(n in c for n in names):
            v = min(c[n][0] for n in names) / c[SUBJECT][0]
            return v, v, v, v, v, "criterion"
        return None

    def crit_ratio(self, group, other, use_min=False):
        c = self.crit.get(group, {})
        names = other.split("|")
        if SUBJECT not in c or not all(n in c for n in names):
            return None
        k = 1 if use_min else 0
        return min(c[n][k] for n in names) / c[SUBJECT][k]


def cpu_here():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def describe(run, label):
    cpus = {m.get("cpu") for m in run.meta.values() if m.get("cpu")}
    isas = {str(m.get("isa")) for m in run.meta.values() if m.get("isa")}
    avail = next((m.get("isas") for m in run.meta.values() if m.get("isas")), None)
    print(f"{label}: {run.dir} (baseline '{run.baseline}')")
    print(f"  CPU of the run: {', '.join(sorted(cpus)) or 'not recorded (no interleaved pass)'}")
    print(f"  wsspec kernel sets in use: {'; '.join(sorted(isas)) or 'not recorded'}"
          + (f" (available: {', '.join(avail)})" if avail else ""))


def table(run, md):
    head = ["group", "function", "criterion/pass", "min/pass", "interleaved/pass", "bytes/s",
            "frames/s", "x (crit)", "x (min)", "x (interleaved)", "spread IQR", "min..max"]
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + " --- |" * 2 + " ---: |" * (len(head) - 2))
    else:
        print(f"{head[0]:<17} {head[1]:<24} {head[2]:>14} {head[3]:>11} {head[4]:>16} {head[5]:>12} "
              f"{head[6]:>12} {head[7]:>8} {head[8]:>8} {head[9]:>15} {head[10]:>10} {head[11]:>13}")
    for group in run.groups():
        frames, wire = GROUPS[group]
        for func in run.funcs(group):
            c = run.crit.get(group, {}).get(func)
            rr = run.rounds.get(group, {}).get(func)
            ns = c[0] if c else statistics.median(rr)
            cells = [group, func,
                     f"{c[0] / 1e3:.1f} us" if c else "-",
                     f"{c[1] / 1e3:.1f} us" if c else "-",
                     f"{statistics.median(rr) / 1e3:.1f} us" if rr else "-",
                     human(wire / (ns / 1e9), "B/s"), human(frames / (ns / 1e9), "f/s")]
            if func == SUBJECT:
                cells += ["-"] * 5
            else:
                rc, rm = run.crit_ratio(group, func), run.crit_ratio(group, func, True)
                ri = run.ratio(group, func) if rr else None
                cells += [f"{rc:.2f}" if rc else "-", f"{rm:.2f}" if rm else "-"]
                if ri and ri[5] == "interleaved":
                    med, q1, q3, lo, hi, _ = ri
                    cells += [f"{med:.3f}", f"±{(q3 - q1) / 2 / med * 100:.1f}%", f"{lo:.2f}..{hi:.2f}"]
                else:
                    cells += ["-"] * 3
            if md:
                print("| " + " | ".join(cells) + " |")
            else:
                print(f"{cells[0]:<17} {cells[1]:<24} {cells[2]:>14} {cells[3]:>11} {cells[4]:>16} {cells[5]:>12} "
                      f"{cells[6]:>12} {cells[7]:>8} {cells[8]:>8} {cells[9]:>15} {cells[10]:>10} {cells[11]:>13}")


# Which dispatch family a group's wsspec_<isa> functions decide (codec::simd::preferred_order
# keys masking and UTF-8 separately): the masking groups spend their time in apply_mask, the
# UTF-8 ones in the validation (16-byte frames never leave the inline masking loop; 1 KiB
# fragments go through the fused unmask + UTF-8 kernel where there is one).
FAMILY = {
    "unmask_1m": "mask",
    "medium_1k": "mask",
    "large_1m": "mask",
    "encode_medium_1k": "mask",
    "encode_large_1m": "mask",
    "tiny_16b_utf8": "utf8",
    "fragmented_64k": "utf8",
}


def kernel_choice(run):
    """Per group with per-kernel functions: the fastest kernel set against the one in use,
    and which dispatch family (mask / utf8) the group speaks for."""
    for group in run.groups():
        r = run.rounds.get(group) or {f: [v[0]] for f, v in run.crit.get(group, {}).items()}
        per_isa = {f[len(SUBJECT) + 1:]: statistics.median(v) for f, v in r.items()
                   if f.startswith(SUBJECT + "_") and f != "wsspec_decoder"}
        if not per_isa or SUBJECT not in r:
            continue
        best = min(per_isa, key=per_isa.get)
        used = statistics.median(r[SUBJECT])
        figures = ", ".join(f"{i} {per_isa[i] / per_isa[best]:.2f}" for i in sorted(per_isa, key=per_isa.get))
        fam = FAMILY.get(group, "-")
        in_use = (run.meta.get(group) or {}).get(f"isa_{fam}", "?") if fam != "-" else "?"
        print(f"  {group:<17} [{fam:<4}] fastest set here: {best}; in use: {in_use}; dispatched wsspec at "
              f"{per_isa[best] / used:.2f} of its speed (time relative to the fastest: {figures})")


def check(run, label):
    failed = []
    print(f"\ntargets, {label} (ratio = other time / wsspec time, same run; "
          "interleaved median [IQR] when present, criterion estimate otherwise):")
    for g, other, want, strict in TARGETS:
        r = run.ratio(g, other)
        shown = other.replace("|", " or ")
        op = ">" if strict else ">="
        if r is None:
            print(f"  {g:<17} vs {shown:<42} {op} {want:<5} NOT RUN")
            failed.append(f"{g} vs {shown}: not run")
            continue
        med, q1, q3, lo, hi, src = r
        ok = med > want if strict else med >= want
        crit = run.crit_ratio(g, other)
        extra = f"[{q1:.2f}..{q3:.2f}] min..max {lo:.2f}..{hi:.2f}" if src == "interleaved" else "(criterion only)"
        crit_s = f"criterion {crit:.2f}" if crit else ""
        print(f"  {g:<17} vs {shown:<42} {op} {want:<5} {med:7.3f} {'met' if ok else 'NOT MET':<8} {extra} {crit_s}")
        if not ok:
            failed.append(f"{g} vs {shown}: {med:.3f} (target {op} {want})")
    return failed


def readme_table(a, b):
    """The targets as the README's per-CPU table: one row per target, run A and run B
    (interleaved median [IQR]), met or not."""
    print("\n| workload | compared with | run A | run B | target |")
    print("| --- | --- | --- | --- | --- |")
    last = None
    for g, other, want, strict in TARGETS:
        cells = []
        met = []
        for run in (a, b):
            r = run.ratio(g, other) if run else None
            if r is None:
                cells.append("not run")
                met.append(False)
                continue
            med, q1, q3 = r[0], r[1], r[2]
            cells.append(f"{med:.2f} [{q1:.2f}–{q3:.2f}]" if r[5] == "interleaved" else f"{med:.2f}")
            met.append(med > want if strict else med >= want)
        verdict = "met" if all(met) else ("met in A only" if met[0] else ("met in B only" if met[1] else "not met"))
        shown = " or ".join(f"`{o}`" for o in other.split("|"))
        op = ">" if strict else "≥"
        print(f"| {'`' + g + '`' if g != last else ''} | {shown} | {cells[0]} | {cells[1]} | {op} {want:g} — {verdict} |")
        last = g


def compare(a, b):
    """Every ratio present in both runs; returns the target ratios that disagree."""
    print(f"\nagreement of the two runs (within {AGREE * 100:.0f}%: |A/B - 1| <= {AGREE}):")
    target_keys = {(g, o) for g, o, _, _ in TARGETS}
    bad_targets, bad_other, n = [], [], 0
    for group in a.groups():
        others = [f for f in a.funcs(group) if f != SUBJECT and f in b.funcs(group)]
        if group.startswith("encode_"):
            others.append(PEERS)
        for other in others:
            ra, rb = a.ratio(group, other), b.ratio(group, other)
            if not ra or not rb:
                continue
            n += 1
            d = ra[0] / rb[0] - 1
            if abs(d) > AGREE:
                line = f"{group} vs {other.replace('|', ' or ')}: {ra[0]:.3f} vs {rb[0]:.3f} ({d * 100:+.0f}%)"
                (bad_targets if (group, other) in target_keys else bad_other).append(line)
    for line in bad_targets:
        print(f"  DISAGREE (target) {line}")
    for line in bad_other:
        print(f"  disagree          {line}")
    print(f"  {n - len(bad_targets) - len(bad_other)} of {n} ratios agree"
          + ("" if bad_targets else "; every target ratio agrees"))
    return [f"runs disagree: {t}" for t in bad_targets]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    default_dir = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    ap.add_argument("--criterion-dir", default=default_dir)
    ap.add_argument("--baseline", default="new", help="criterion baseline to read (default: new)")
    ap.add_argument("--against", metavar="DIR", help="criterion directory of a second run")
    ap.add_argument("--against-baseline", metavar="NAME", help="baseline of the second run")
    ap.add_argument("--markdown", action="store_true",
                    help="print the table as markdown, then the targets as the README's per-CPU table")
    args = ap.parse_args()

    if not os.path.isdir(args.criterion_dir):
        print(f"no criterion output at {args.criterion_dir}: run cargo bench --bench frame_parse", file=sys.stderr)
        sys.exit(2)
    a = Run(args.criterion_dir, args.baseline)
    if not a.groups():
        print(f"no estimates under {args.criterion_dir} (baseline '{args.baseline}')", file=sys.stderr)
        sys.exit(2)
    print(f"this machine: {cpu_here()}")
    describe(a, "run A")
    b = None
    if args.against or args.against_baseline:
        b = Run(args.against or args.criterion_dir, args.against_baseline or args.baseline)
        if not b.groups():
            print("the second run has no estimates", file=sys.stderr)
            sys.exit(2)
        describe(b, "run B")
    print()
    table(a, args.markdown)
    print("\nkernel sets (wsspec_<isa> functions), run A:")
    kernel_choice(a)
    failed = check(a, "run A")
    if b:
        failed += [f"run B: {f}" for f in check(b, "run B")]
        failed += compare(a, b)
    if args.markdown:
        readme_table(a, b)
    if failed:
        print("\nFAILED:")
        for f in failed:
            print(f"  {f}")
        sys.exit(1)
    print("\nevery target met" + (" in both runs, and the runs agree" if b else ""))


if __name__ == "__main__":
    main()
