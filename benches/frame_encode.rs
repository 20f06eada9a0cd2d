//! Frame encode + mask throughput (the send path of a client): wsspec against tungstenite
//! 0.30 and fastwebsockets 0.10.
//!
//! Workloads mirror `frame_parse`'s: `encode_tiny_16b` (100k text frames of 16 bytes),
//! `encode_medium_1k` (10k binary frames of 1 KiB), `encode_large_1m` (16 binary frames of
//! 1 MiB); every frame masked with its own key. One criterion iteration is one pass that
//! appends every frame of the workload to an output `Vec<u8>` (cleared, capacity kept,
//! before each pass); `Throughput::Bytes` is the wire size produced.
//!
//! | function | timed work per frame |
//! | --- | --- |
//! | `wsspec` | `codec::FrameSpec::encode_payload_to` (the kit's one frame encoder: header from the spec, payload appended, `apply_mask` in the output) |
//! | `wsspec_<isa>` (medium, large) | the same with the masking kernel forced to one set |
//! | `tungstenite_format` | `Frame::message(Bytes::from_static(payload), ..)` with the key set in its header, then `Frame::format(&mut out)` (it copies the payload into a new `Vec` to mask it, then writes header and payload) |
//! | `fastwebsockets_write` | what `WebSocket::write_frame` does for a client: `Frame::new(.., Some(key), Payload::Borrowed(payload))`, `Frame::mask()` (copy on write of the borrowed payload), `Frame::write(&mut write_buffer)`, then the written bytes appended to `out` (the stream) |
//!
//! Honesty: before timing, every implementation encodes each workload once; its output
//! must equal wsspec's byte for byte (same keys, minimal lengths), and wsspec's output is
//! decoded with `codec::fast::FrameIter` (server rules) back to the known payloads.
//! Interleaved rounds after criterion's samples, as in `frame_parse`; ratios and targets:
//! `python3 scripts/bench_ratios.py`.

#![allow(clippy::incompatible_msrv)]

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use wsspec::codec::fast::FrameIter;
use wsspec::codec::simd::available_isas;
use wsspec::codec::{FrameSpec, HeaderRules, Masking, OpCode};

mod common;

use common::Rng;

/// Payloads and keys of one workload. Payloads are leaked to `'static` so tungstenite can
/// take them as `Bytes::from_static` without a copy of ours.
struct Workload {
    group: &'static str,
    text: bool,
    payloads: Vec<&'static [u8]>,
    keys: Vec<[u8; 4]>,
    wire_len: usize,
}

impl Workload {
    fn new(group: &'static str, count: usize, len: usize, text: bool, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let mut payloads = Vec::with_capacity(count);
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            let p: Vec<u8> = if text {
                (0..len).map(|_| 0x20 + (rng.next() % 0x5f) as u8).collect()
            } else {
                (0..len).map(|_| rng.next() as u8).collect()
            };
            payloads.push(&*Box::leak(p.into_boxed_slice()));
            keys.push((rng.next() as u32 | 1).to_ne_bytes());
        }
        let header = 2
            + 4
            + if len < 126 {
                0
            } else if len < 65536 {
                2
            } else {
                8
            };
        Workload {
            group,
            text,
            payloads,
            keys,
            wire_len: count * (header + len),
        }
    }
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload::new("encode_tiny_16b", 100_000, 16, true, 0x1111),
        Workload::new("encode_medium_1k", 10_000, 1024, false, 0x2222),
        Workload::new("encode_large_1m", 16, 1 << 20, false, 0x3333),
    ]
}

/// wsspec: one `FrameSpec` describes every frame of the pass; each frame is appended with
/// its own key.
#[inline]
fn wsspec_pass(w: &Workload, out: &mut Vec<u8>) {
    let op = if w.text { OpCode::Text } else { OpCode::Binary };
    let spec = FrameSpec::new(op, true, Vec::new()).masked(Masking::Random);
    for (p, k) in w.payloads.iter().zip(&w.keys) {
        spec.encode_payload_to(p, *k, out);
    }
}

/// tungstenite: `Frame::format` of a masked data frame.
#[inline]
fn tungstenite_pass(w: &Workload, out: &mut Vec<u8>) {
    use tungstenite::protocol::frame::coding::{Data, OpCode as TOp};
    use tungstenite::protocol::frame::Frame;
    let op = TOp::Data(if w.text { Data::Text } else { Data::Binary });
    for (p, k) in w.payloads.iter().zip(&w.keys) {
        let mut f = Frame::message(tungstenite::Bytes::from_static(p), op, true);
        f.header_mut().mask = Some(*k);
        f.format(out).expect("tungstenite format failed");
    }
}

/// fastwebsockets: the client side of `WebSocket::write_frame` (mask, write into the
/// connection's write buffer, hand the bytes to the stream).
#[inline]
fn fastwebsockets_pass(w: &Workload, write_buffer: &mut Vec<u8>, out: &mut Vec<u8>) {
    use fastwebsockets::{Frame, OpCode as FOp, Payload};
    let op = if w.text { FOp::Text } else { FOp::Binary };
    for (p, k) in w.payloads.iter().zip(&w.keys) {
        let mut f = Frame::new(true, op, Some(*k), Payload::Borrowed(p));
        f.mask();
        out.extend_from_slice(f.write(write_buffer));
    }
}

fn check(w: &Workload) {
    let mut want = Vec::new();
    wsspec_pass(w, &mut want);
    assert_eq!(want.len(), w.wire_len, "{}: wire size", w.group);
    let mut wire = want.clone();
    let mut n = 0;
    for f in FrameIter::new(&mut wire, HeaderRules::server()) {
        let f = f.expect("wsspec output does not decode");
        assert!(f.payload == w.payloads[n], "{}: frame {n} differs", w.group);
        n += 1;
    }
    assert_eq!(n, w.payloads.len(), "{}: frame count", w.group);
    for isa in available_isas() {
        let mut got = Vec::new();
        common::with_isa(isa, || wsspec_pass(w, &mut got));
        assert!(got == want, "{}: wsspec under {isa:?} differs", w.group);
    }
    let mut got = Vec::new();
    tungstenite_pass(w, &mut got);
    assert!(got == want, "{}: tungstenite output differs", w.group);
    let mut got = Vec::new();
    fastwebsockets_pass(w, &mut Vec::new(), &mut got);
    assert!(got == want, "{}: fastwebsockets output differs", w.group);
}

/// Times `iters` passes of `pass`, the output cleared (capacity kept) outside the timer.
fn time_passes(iters: u64, out: &mut Vec<u8>, mut pass: impl FnMut(&mut Vec<u8>)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        out.clear();
        let t = std::time::Instant::now();
        pass(black_box(&mut *out));
        total += t.elapsed();
        black_box(&out[..]);
    }
    total
}

fn bench_workload(c: &mut Criterion, w: &Workload) {
    // One output buffer for every function, so that none is favoured by where its copy
    // landed.
    let out = Rc::new(RefCell::new(Vec::with_capacity(w.wire_len)));
    let mut impls = Vec::new();
    let o = out.clone();
    impls.push(common::imp("wsspec", move |iters| {
        time_passes(iters, &mut o.borrow_mut(), |o| wsspec_pass(w, o))
    }));
    if w.group != "encode_tiny_16b" {
        for isa in available_isas() {
            let o = out.clone();
            impls.push(common::imp(
                format!("wsspec_{}", isa.name()),
                move |iters| {
                    common::with_isa(isa, || {
                        time_passes(iters, &mut o.borrow_mut(), |o| wsspec_pass(w, o))
                    })
                },
            ));
        }
    }
    let o = out.clone();
    impls.push(common::imp("tungstenite_format", move |iters| {
        time_passes(iters, &mut o.borrow_mut(), |o| tungstenite_pass(w, o))
    }));
    let o = out.clone();
    let mut write_buffer = Vec::new();
    impls.push(common::imp("fastwebsockets_write", move |iters| {
        time_passes(iters, &mut o.borrow_mut(), |o| {
            fastwebsockets_pass(w, &mut write_buffer, o)
        })
    }));
    common::run_group(c, w.group, w.wire_len as u64, "wsspec", &mut impls);
}

fn frame_encode(c: &mut Criterion) {
    println!(
        "CPU: {}; wsspec kernel sets in use: {}",
        common::cpu_model(),
        common::kernels_in_use()
    );
    let all = workloads();
    for w in &all {
        check(w);
    }
    for w in &all {
        bench_workload(c, w);
    }
}

criterion_group! {
    name = benches;
    config = common::criterion_config();
    targets = frame_encode
}
criterion_main!(benches);
