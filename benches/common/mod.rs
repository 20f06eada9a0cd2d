//! What the frame benches share: one table of timed implementations per group, run both
//! through criterion and through an interleaved pass, and the read-only memory bound.
//!
//! # Why an interleaved pass
//!
//! Criterion measures one function after the other. On a shared 2-core machine another
//! process's compile burst then lands on one implementation and not on the other, and a
//! ratio of two such figures can move by 2x between runs. The interleaved pass measures
//! the implementations of a group in rounds instead: each round gives every implementation
//! one slot of about [`slot`] (a whole number of passes, each timed on its own), in an
//! order rotated from round to round, so a slow phase of the machine lasting a round hits
//! every implementation in it alike. A slot's figure is its fastest pass: preemption only
//! ever adds time, and a pass (10 µs to tens of ms) is short enough that some passes of a
//! slot run undisturbed. Each round gives one ratio per implementation (its figure ÷ the
//! subject's, same round); the median over the rounds is the figure, and the
//! spread of the per-round ratios (interquartile range and min..max, relative to the
//! median) says how far to trust it. `scripts/bench_ratios.py` prints both and checks the
//! targets on the medians.
//!
//! The rounds run after criterion's samples of the group, for the same filtered groups
//! (criterion's positional filter is honoured as a regex over `group/function`), and are
//! written to `<criterion dir>/interleaved/<baseline>/<group>.json`, `<baseline>` being the
//! name given to `--save-baseline`, else `new`. `WSSPEC_BENCH_ROUNDS` (default 21) and
//! `WSSPEC_BENCH_SLOT_MS` (default 20; at least 3 passes) change the number of rounds and the slot length;
//! `WSSPEC_BENCH_ROUNDS=0` skips the pass; `WSSPEC_BENCH_CRITERION=0` skips criterion's
//! samples and runs the interleaved pass alone (quick; the targets are checked on the
//! interleaved medians either way); `WSSPEC_BENCH_MEASURE_MS` sets criterion's measurement
//! time per function ([`criterion_config`]).

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

/// Times `iters` passes over a group's workload and returns the time of the timed part.
pub type Timer<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// One implementation of a group: criterion function name and its timer.
pub struct Impl<'a> {
    /// The criterion function name (`wsspec`, `wsspec_avx2`, `tungstenite_frame`, ...).
    pub name: String,
    /// Runs and times passes.
    pub time: Timer<'a>,
}

/// A timed implementation.
pub fn imp<'a>(name: impl Into<String>, time: impl FnMut(u64) -> Duration + 'a) -> Impl<'a> {
    Impl {
        name: name.into(),
        time: Box::new(time),
    }
}

/// Times `pass` run `iters` times back to back, with one `Instant` pair.
pub fn time_loop(iters: u64, mut pass: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        pass();
    }
    t.elapsed()
}

/// Runs one group: criterion's samples of every implementation, then the interleaved
/// rounds (see the module docs). `subject` is the implementation ratios are taken against.
pub fn run_group(
    c: &mut Criterion,
    group: &str,
    bytes: u64,
    subject: &str,
    impls: &mut [Impl<'_>],
) {
    if env_num("WSSPEC_BENCH_CRITERION", 1) != 0 {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Bytes(bytes));
        for i in impls.iter_mut() {
            let time = &mut i.time;
            g.bench_function(i.name.as_str(), |b| b.iter_custom(&mut *time));
        }
        g.finish();
    }
    let args = Args::parse();
    if args.skip_interleaved || !args.selects(group, impls) {
        return;
    }
    let rounds: usize = env_num("WSSPEC_BENCH_ROUNDS", 21);
    if rounds == 0 {
        return;
    }
    interleave(group, bytes, subject, impls, rounds, &args.baseline);
}

/// Criterion's settings for both frame benches: 2 shared cores, so twenty samples over
/// `WSSPEC_BENCH_MEASURE_MS` (default 2000) per function after a warm-up of a quarter of
/// that, no plots; each sample still spans several full passes. The targets are checked
/// on the interleaved rounds, which this does not change, so a shorter measurement only
/// makes criterion's figures beside them coarser.
pub fn criterion_config() -> Criterion {
    let ms = env_num("WSSPEC_BENCH_MEASURE_MS", 2000u64).max(100);
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(ms / 4))
        .measurement_time(Duration::from_millis(ms))
        .without_plots()
}

/// The slot length of one implementation in one round.
pub fn slot() -> Duration {
    Duration::from_millis(env_num("WSSPEC_BENCH_SLOT_MS", 20))
}

/// Fewest passes in a slot, for implementations whose pass is longer than a slot: the
/// fastest of a few passes is what survives preemption.
const MIN_PASSES: u64 = 3;

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn interleave(
    group: &str,
    bytes: u64,
    subject: &str,
    impls: &mut [Impl<'_>],
    rounds: usize,
    baseline: &str,
) {
    let n = impls.len();
    // Calibration: the second of two single passes (the first warms caches and pages).
    let slot_ns = slot().as_nanos() as f64;
    let passes: Vec<u64> = impls
        .iter_mut()
        .map(|i| {
            (i.time)(1);
            let one = (i.time)(1).as_nanos().max(1) as f64;
            (slot_ns / one).ceil().max(MIN_PASSES as f64) as u64
        })
        .collect();
    let mut ns = vec![Vec::with_capacity(rounds); n];
    for r in 0..rounds {
        for k in 0..n {
            let j = (r + k) % n;
            let fastest = (0..passes[j])
                .map(|_| (impls[j].time)(1).as_nanos())
                .min()
                .unwrap_or(0);
            ns[j].push(fastest as f64);
        }
    }
    let dir = criterion_dir().join("interleaved").join(baseline);
    let mut json = String::new();
    let _ = write!(
        json,
        "{{\n  \"group\": {group:?},\n  \"bytes\": {bytes},\n  \"subject\": {subject:?},\n  \"rounds\": {rounds},\n  \"slot_ms\": {},\n  \"cpu\": {:?},\n  \"isa\": {:?},\n  \"isa_mask\": {:?},\n  \"isa_utf8\": {:?},\n  \"isas\": [{}],\n  \"functions\": {{",
        slot().as_millis(),
        cpu_model(),
        kernels_in_use(),
        wsspec::codec::simd::dispatch().mask.name(),
        wsspec::codec::simd::dispatch().utf8.name(),
        wsspec::codec::simd::available_isas()
            .iter()
            .map(|i| format!("{:?}", i.name()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (k, i) in impls.iter().enumerate() {
        let list: Vec<String> = ns[k].iter().map(|x| format!("{x:.1}")).collect();
        let _ = write!(
            json,
            "{}\n    {:?}: {{\"passes\": {}, \"ns_per_pass\": [{}]}}",
            if k == 0 { "" } else { "," },
            i.name,
            passes[k],
            list.join(", ")
        );
    }
    json.push_str("\n  }\n}\n");
    if let Err(e) = std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(dir.join(format!("{group}.json")), &json))
    {
        eprintln!(
            "interleaved {group}: cannot write under {}: {e}",
            dir.display()
        );
    }
    // A short summary on stdout, so a filtered run shows the stable figures at once.
    let Some(s) = impls.iter().position(|i| i.name == subject) else {
        return;
    };
    println!("{group}: interleaved, {rounds} rounds, ratio = time / {subject} time per round:");
    for (k, i) in impls.iter().enumerate() {
        let med_ns = median(&ns[k]);
        let ratios: Vec<f64> = ns[k].iter().zip(&ns[s]).map(|(a, b)| a / b).collect();
        let (m, lo, hi) = (median(&ratios), min(&ratios), max(&ratios));
        println!(
            "  {:<26} {:>12.1} us/pass  {:>8.3}x  [{:.3} .. {:.3}]",
            i.name,
            med_ns / 1e3,
            m,
            lo,
            hi
        );
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Runs `f` with every dispatching entry point forced to `isa` (masking and UTF-8), then
/// restores the sets that were in force (the per-CPU table's, for the plain `wsspec`
/// functions).
pub fn with_isa<R>(isa: wsspec::codec::simd::Isa, f: impl FnOnce() -> R) -> R {
    use wsspec::codec::simd::{dispatch, force_dispatch, force_isa};
    let prev = dispatch();
    force_isa(isa);
    let r = f();
    force_dispatch(prev);
    r
}

/// The kernel sets the plain `wsspec` functions use, e.g. `mask avx512vl, utf8 avx512`.
pub fn kernels_in_use() -> String {
    let d = wsspec::codec::simd::dispatch();
    format!("mask {}, utf8 {}", d.mask.name(), d.utf8.name())
}

/// The `model name` line of /proc/cpuinfo (empty where there is none).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// Where criterion writes: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
/// `<target>/criterion` found from this executable's path (`<target>/release/deps/..`).
fn criterion_dir() -> PathBuf {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(h);
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("criterion");
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(|t| t.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The parts of criterion's command line the interleaved pass follows.
struct Args {
    filters: Vec<regex::Regex>,
    baseline: String,
    skip_interleaved: bool,
}

impl Args {
    fn parse() -> Args {
        // Criterion options that take a value: their value is not a filter.
        const VALUED: &[&str] = &[
            "--save-baseline",
            "-s",
            "--baseline",
            "-b",
            "--baseline-lenient",
            "--load-baseline",
            "--sample-size",
            "--warm-up-time",
            "--measurement-time",
            "--nresamples",
            "--noise-threshold",
            "--confidence-level",
            "--significance-level",
            "--profile-time",
            "--plotting-backend",
            "--output-format",
            "--color",
            "-c",
            "--format",
        ];
        let mut a = Args {
            filters: Vec::new(),
            baseline: "new".into(),
            skip_interleaved: false,
        };
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < argv.len() {
            let s = argv[i].as_str();
            if matches!(s, "--test" | "--list" | "--profile-time") {
                a.skip_interleaved = true;
            }
            if let Some(v) = s.strip_prefix("--save-baseline=") {
                a.baseline = v.to_string();
            } else if s == "--save-baseline" || s == "-s" {
                if let Some(v) = argv.get(i + 1) {
                    a.baseline = v.clone();
                }
            }
            if VALUED.contains(&s) {
                i += 2;
                continue;
            }
            if !s.starts_with('-') {
                if let Ok(r) = regex::Regex::new(s) {
                    a.filters.push(r);
                }
            }
            i += 1;
        }
        a
    }

    fn selects(&self, group: &str, impls: &[Impl<'_>]) -> bool {
        self.filters.is_empty()
            || impls.iter().any(|i| {
                let id = format!("{group}/{}", i.name);
                self.filters.iter().any(|f| f.is_match(&id))
            })
    }
}

/// Memory bound for an in-place pass: reads every byte once, writes nothing, with the
/// widest loads this CPU has (AVX-512, else AVX2, else 8-byte words), from the first
/// 64-byte boundary on. Buffers from the allocator are often 16 bytes past a line start,
/// and on the Intel Xeon of the README every unaligned 64-byte load then splits a line,
/// which made this "bound" about 1.8x slower than reading the same bytes aligned.
pub fn read_only_pass(buf: &[u8]) -> u64 {
    let head = buf.as_ptr().align_offset(64).min(buf.len());
    let (h, body) = buf.split_at(head);
    let h = h.iter().fold(0u64, |a, &b| a ^ b as u64);
    h ^ read_only_aligned(body)
}

fn read_only_aligned(buf: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: avx512f was just detected.
            return unsafe { xor_reduce_avx512(buf) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: avx2 was just detected.
            return unsafe { xor_reduce_avx2(buf) };
        }
    }
    let mut acc = [0u64; 4];
    let mut chunks = buf.chunks_exact(32);
    for c in &mut chunks {
        for (a, w) in acc.iter_mut().zip(c.chunks_exact(8)) {
            *a ^= u64::from_ne_bytes(w.try_into().unwrap());
        }
    }
    let tail = chunks.remainder().iter().fold(0u64, |a, &b| a ^ b as u64);
    acc[0] ^ acc[1] ^ acc[2] ^ acc[3] ^ tail
}

/// Checks [`read_only_pass`] against a byte fold of `data` (lane XORs fold to the same
/// parity per bit position).
pub fn check_read_only_pass(data: &[u8]) {
    let reduced = read_only_pass(data);
    let reference = data.iter().fold(0u64, |a, &b| a ^ b as u64);
    let fold = |x: u64| (0..8).fold(0u8, |a, i| a ^ (x >> (8 * i)) as u8);
    assert_eq!(fold(reduced), fold(reference), "read_only_pass is wrong");
}

/// # Safety
/// The CPU must support avx512f.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn xor_reduce_avx512(buf: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let p = buf.as_ptr();
    let n = buf.len();
    let (mut a, mut b, mut c, mut d) = (
        _mm512_setzero_si512(),
        _mm512_setzero_si512(),
        _mm512_setzero_si512(),
        _mm512_setzero_si512(),
    );
    let mut i = 0;
    // SAFETY: i + 256 <= n keeps all four loads inside buf.
    while i + 256 <= n {
        a = _mm512_xor_si512(a, _mm512_loadu_si512(p.add(i).cast()));
        b = _mm512_xor_si512(b, _mm512_loadu_si512(p.add(i + 64).cast()));
        c = _mm512_xor_si512(c, _mm512_loadu_si512(p.add(i + 128).cast()));
        d = _mm512_xor_si512(d, _mm512_loadu_si512(p.add(i + 192).cast()));
        i += 256;
    }
    let v = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
    let mut lanes = [0u64; 8];
    _mm512_storeu_si512(lanes.as_mut_ptr().cast(), v);
    let tail = buf[i..].iter().fold(0u64, |a, &b| a ^ b as u64);
    lanes.iter().fold(tail, |a, &b| a ^ b)
}

/// # Safety
/// The CPU must support avx2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn xor_reduce_avx2(buf: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let p = buf.as_ptr();
    let n = buf.len();
    let (mut a, mut b, mut c, mut d) = (
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
    );
    let mut i = 0;
    // SAFETY: i + 128 <= n keeps all four loads inside buf.
    while i + 128 <= n {
        a = _mm256_xor_si256(a, _mm256_loadu_si256(p.add(i).cast()));
        b = _mm256_xor_si256(b, _mm256_loadu_si256(p.add(i + 32).cast()));
        c = _mm256_xor_si256(c, _mm256_loadu_si256(p.add(i + 64).cast()));
        d = _mm256_xor_si256(d, _mm256_loadu_si256(p.add(i + 96).cast()));
        i += 128;
    }
    let v = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    let mut lanes = [0u64; 4];
    _mm256_storeu_si256(lanes.as_mut_ptr().cast(), v);
    let tail = buf[i..].iter().fold(0u64, |a, &b| a ^ b as u64);
    lanes.iter().fold(tail, |a, &b| a ^ b)
}

/// Deterministic xorshift64*, so every run benchmarks (and encodes) the same bytes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn key(&mut self) -> [u8; 4] {
        (self.next() as u32 | 1).to_ne_bytes()
    }
}
