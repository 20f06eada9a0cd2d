//! permessage-deflate inflate path: wsspec's [`Decompressor`] against raw `flate2` on the
//! same compressed message stream, so the extension's own overhead shows as a ratio.
//!
//! Each workload is one stream of messages cut from a generated JSON document (the shape of
//! Autobahn 12.1's data), compressed once up front with context takeover and a 32 KiB window,
//! the way a peer sends them. One criterion iteration inflates the whole stream from a fresh
//! decompressor; `Throughput::Bytes` is the inflated size.
//!
//! | function | timed work per message |
//! | --- | --- |
//! | `wsspec` | `Decompressor::decompress_message` into a reused `Vec`: `00 00 ff ff` appended, output grown in bounded steps against the 64 MiB limit, the last window kept for a BFINAL restart, the block-boundary probe |
//! | `wsspec_nct` | the same stream compressed without context takeover, inflated by a `Decompressor` that resets after each message |
//! | `flate2` | `flate2::Decompress::decompress_vec` of the payload and then of the 4 tail bytes into a reused `Vec` reserved to the message size up front (it knows the size, which the extension cannot): the floor for `wsspec` |
//! | `flate2_nct` | the same on the no-takeover stream, `Decompress::reset` before each message: the floor for `wsspec_nct` |
//!
//! Honesty: before timing, every path inflates the stream once and must reproduce the
//! plaintext exactly.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flate2::{Decompress, FlushDecompress};
use wsspec::codec::deflate::{Compressor, Decompressor, WindowBits, TAIL};

/// A deterministic JSON document of `n` records.
fn json_document(n: usize) -> Vec<u8> {
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima",
    ];
    let mut s = String::from("[");
    let mut x: u32 = 0x9e37_79b9;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.push_str(&format!(
            "{{\"id\":{i},\"name\":\"{} {}\",\"score\":{}.{:02},\"tags\":[\"{}\",\"{}\"],\"active\":{}}},",
            words[(x % 12) as usize],
            words[((x >> 4) % 12) as usize],
            x % 1000,
            (x >> 8) % 100,
            words[((x >> 12) % 12) as usize],
            words[((x >> 16) % 12) as usize],
            x & 1 == 0
        ));
    }
    s.push(']');
    s.into_bytes()
}

struct Workload {
    name: &'static str,
    messages: Vec<Vec<u8>>,
    takeover: Vec<Vec<u8>>,
    no_takeover: Vec<Vec<u8>>,
    total: u64,
}

/// `count` messages of `len` bytes, message k starting at k·len of the document (cyclic), as
/// Autobahn's 12.x cuts its data sets.
fn workload(name: &'static str, len: usize, count: usize) -> Workload {
    let doc = json_document(4000);
    let messages: Vec<Vec<u8>> = (0..count)
        .map(|k| (0..len).map(|i| doc[(k * len + i) % doc.len()]).collect())
        .collect();
    let mut keep = Compressor::new(WindowBits::MAX, false);
    let mut reset = Compressor::new(WindowBits::MAX, true);
    Workload {
        name,
        takeover: messages.iter().map(|m| keep.compress(m)).collect(),
        no_takeover: messages.iter().map(|m| reset.compress(m)).collect(),
        total: (len * count) as u64,
        messages,
    }
}

const LIMIT: u64 = 64 << 20;

fn run_wsspec(payloads: &[Vec<u8>], nct: bool, out: &mut Vec<u8>, mut each: impl FnMut(&[u8])) {
    let mut d = Decompressor::new(WindowBits::MAX, nct, LIMIT);
    for p in payloads {
        out.clear();
        d.decompress_message(p, out).expect("valid stream");
        each(out);
    }
}

fn run_flate2(
    payloads: &[Vec<u8>],
    sizes: &[usize],
    reset: bool,
    out: &mut Vec<u8>,
    mut each: impl FnMut(&[u8]),
) {
    let mut d = Decompress::new_with_window_bits(false, 15);
    for (p, &n) in payloads.iter().zip(sizes) {
        if reset {
            d.reset(false);
        }
        out.clear();
        out.reserve(n + 64);
        d.decompress_vec(p, out, FlushDecompress::None)
            .expect("valid stream");
        d.decompress_vec(&TAIL, out, FlushDecompress::None)
            .expect("valid stream");
        each(out);
    }
}

fn inflate(c: &mut Criterion) {
    let workloads = [
        workload("messages_256b", 256, 2000),
        workload("messages_16k", 16 << 10, 64),
        workload("messages_128k", 128 << 10, 8),
    ];
    for w in &workloads {
        let sizes: Vec<usize> = w.messages.iter().map(Vec::len).collect();
        // Honesty check: every path reproduces the plaintext.
        let mut out = Vec::new();
        let mut k = 0;
        run_wsspec(&w.takeover, false, &mut out, |m| {
            assert_eq!(m, &w.messages[k][..]);
            k += 1;
        });
        k = 0;
        run_wsspec(&w.no_takeover, true, &mut out, |m| {
            assert_eq!(m, &w.messages[k][..]);
            k += 1;
        });
        k = 0;
        run_flate2(&w.takeover, &sizes, false, &mut out, |m| {
            assert_eq!(m, &w.messages[k][..]);
            k += 1;
        });
        k = 0;
        run_flate2(&w.no_takeover, &sizes, true, &mut out, |m| {
            assert_eq!(m, &w.messages[k][..]);
            k += 1;
        });

        let mut g = c.benchmark_group(format!("inflate/{}", w.name));
        g.throughput(Throughput::Bytes(w.total));
        g.bench_function("wsspec", |b| {
            let mut out = Vec::new();
            b.iter(|| {
                run_wsspec(&w.takeover, false, &mut out, |m| {
                    black_box(m);
                })
            })
        });
        g.bench_function("wsspec_nct", |b| {
            let mut out = Vec::new();
            b.iter(|| {
                run_wsspec(&w.no_takeover, true, &mut out, |m| {
                    black_box(m);
                })
            })
        });
        g.bench_function("flate2", |b| {
            let mut out = Vec::new();
            b.iter(|| {
                run_flate2(&w.takeover, &sizes, false, &mut out, |m| {
                    black_box(m);
                })
            })
        });
        g.bench_function("flate2_nct", |b| {
            let mut out = Vec::new();
            b.iter(|| {
                run_flate2(&w.no_takeover, &sizes, true, &mut out, |m| {
                    black_box(m);
                })
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    // 2 shared cores: short samples keep a full run near a minute.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .without_plots();
    targets = inflate
}
criterion_main!(benches);
