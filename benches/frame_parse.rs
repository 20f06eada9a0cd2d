//! Frame parse throughput: wsspec against tungstenite 0.30 and fastwebsockets 0.10.
//!
//! Every implementation reads the same wire bytes: masked client frames read by a server.
//! One criterion iteration is one full pass over a workload (all its frames), so
//! criterion's per-iteration time is the time of that pass and `Throughput::Bytes` is the
//! workload's wire size (headers + masked payloads).
//!
//! What each timed path includes (buffer restores and constructors are outside the timer;
//! every path times with `iter_custom`, one `Instant` pair per pass):
//!
//! | function | timed work per frame |
//! | --- | --- |
//! | `wsspec` | `codec::parse_header` (full validation, server rules) + `codec::mask::apply_mask` in place on the wire buffer; no copy, no allocation, no UTF-8 |
//! | `wsspec_decoder` | `codec::StreamDecoder::decode`: header, unmask-while-copying into a per-message `Vec`, UTF-8 of text, message assembly, preview copy |
//! | `tungstenite_frame` | `tungstenite::protocol::frame::FrameHeader::parse` over a `Cursor` + tungstenite's unmask kernel in place; no copy, no allocation, no UTF-8 |
//! | `tungstenite_read` | `tungstenite::WebSocket::read` (Role::Server) over an in-memory `Read`: buffer copy, parse, unmask, UTF-8 of text, assembly, `Message` |
//! | `fastwebsockets_read` | `fastwebsockets::WebSocket::read_frame` (Role::Server, auto close/pong off) over an in-memory tokio `AsyncRead`, one `block_on` of a current-thread runtime per pass: buffer copy, parse, unmask, UTF-8 of FIN text frames |
//!
//! tungstenite's unmask kernel (`apply_mask_fast32`) is a `pub fn` inside the private
//! module `tungstenite::protocol::frame::mask`, so it cannot be called from outside the
//! crate; [`tungstenite_apply_mask`] reproduces it line for line (MIT/Apache-2.0) and the
//! honesty check proves it decodes the same bytes as tungstenite's own read path.
//!
//! Honesty: before timing, each implementation decodes every workload once and its
//! payloads are asserted equal to the known plaintext; a broken implementation aborts the
//! bench. The in-place paths restore the masked wire bytes from a pristine copy before each
//! pass, outside the timer.
//!
//! `tiny_16b` frames are text, but the frame-level paths (`wsspec`, `tungstenite_frame`)
//! do not validate UTF-8 while `tungstenite_read` and `fastwebsockets_read` do. Frames/s and
//! ratios: `python3 scripts/bench_ratios.py`.

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wsspec::codec::frame::frame as encode_one;
use wsspec::codec::mask::apply_mask;
use wsspec::codec::{
    parse_header, Event, HeaderRules, Limits, Message, OpCode, Status, StreamDecoder,
};

// ---------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------

/// A workload: wire bytes plus the plaintext every implementation must produce.
struct Workload {
    group: &'static str,
    wire: Vec<u8>,
    /// Plaintext payload of each frame, in order.
    frames: Vec<Vec<u8>>,
    /// Plaintext of each assembled message, in order.
    messages: Vec<Vec<u8>>,
    text: bool,
}

/// Deterministic xorshift64*, so every run benchmarks the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn key(&mut self) -> [u8; 4] {
        (self.next() as u32 | 1).to_ne_bytes()
    }
}

/// Valid UTF-8 of exactly `len` bytes; `per_mille` of the characters are multi-byte
/// (2, 3 and 4 byte forms alike), the rest printable ASCII.
fn gen_text(rng: &mut Rng, len: usize, per_mille: u64) -> Vec<u8> {
    const WIDE: [char; 6] = ['é', 'ж', '€', '中', '😀', '𝄞'];
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let room = len - out.len();
        if rng.below(1000) < per_mille {
            let c = WIDE[rng.below(WIDE.len() as u64) as usize];
            if c.len_utf8() <= room {
                out.push(c);
                continue;
            }
        }
        out.push((0x20 + rng.below(0x5f) as u8) as char);
    }
    assert_eq!(out.len(), len);
    out.into_bytes()
}

impl Workload {
    fn new(group: &'static str, text: bool) -> Self {
        Workload {
            group,
            wire: Vec::new(),
            frames: Vec::new(),
            messages: Vec::new(),
            text,
        }
    }

    fn push(&mut self, opcode: OpCode, fin: bool, payload: Vec<u8>, key: [u8; 4]) {
        self.wire
            .extend_from_slice(&encode_one(opcode, fin, &payload, Some(key)));
        self.frames.push(payload);
    }

    /// Single-frame messages.
    fn single(group: &'static str, count: usize, len: usize, text: bool, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let mut w = Workload::new(group, text);
        for i in 0..count {
            let payload = if text {
                // Mostly ASCII, as chat/JSON traffic is; every 8th frame is mixed text.
                gen_text(&mut rng, len, if i % 8 == 7 { 300 } else { 0 })
            } else {
                (0..len).map(|_| rng.next() as u8).collect()
            };
            let key = rng.key();
            let op = if text { OpCode::Text } else { OpCode::Binary };
            w.messages.push(payload.clone());
            w.push(op, true, payload, key);
        }
        w
    }

    /// One text message of `fragments * frag_len` bytes split into `fragments` frames.
    ///
    /// Interior fragment boundaries fall inside multi-byte characters (asserted), so an
    /// incremental validator is exercised across frames. The last fragment starts on a
    /// code point boundary because fastwebsockets' `WebSocket::read_frame` validates a
    /// FIN text frame on its own, without the preceding fragments.
    fn fragmented(group: &'static str, fragments: usize, frag_len: usize, seed: u64) -> Self {
        let mut rng = Rng(seed);
        let mut text = gen_text(&mut rng, (fragments - 1) * frag_len, 62);
        text.extend(gen_text(&mut rng, frag_len, 62));
        let straddling = (1..fragments)
            .filter(|k| text[k * frag_len] & 0xc0 == 0x80)
            .count();
        assert!(
            straddling >= 2,
            "workload must split characters across frames"
        );
        let mut w = Workload::new(group, true);
        for (k, chunk) in text.chunks(frag_len).enumerate() {
            let op = if k == 0 {
                OpCode::Text
            } else {
                OpCode::Continuation
            };
            let key = rng.key();
            w.push(op, k + 1 == fragments, chunk.to_vec(), key);
        }
        w.messages.push(text);
        w
    }

    fn frame_count(&self) -> usize {
        self.frames.len()
    }
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload::single("tiny_16b", 100_000, 16, true, 0x1111),
        Workload::single("medium_1k", 10_000, 1024, false, 0x2222),
        Workload::single("large_1m", 16, 1 << 20, false, 0x3333),
        Workload::fragmented("fragmented_64k", 64, 1024, 0x4444),
    ]
}

// ---------------------------------------------------------------------------------------
// In-memory stream shared by the tungstenite and fastwebsockets read paths
// ---------------------------------------------------------------------------------------

/// Reads from a byte slice, discards writes. Implements both std and tokio IO traits so
/// the two read paths pay for the same kind of source.
struct MemStream<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> MemStream<'a> {
    fn new(data: &'a [u8]) -> Self {
        MemStream { data, pos: 0 }
    }
}

impl Read for MemStream<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for MemStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemStream<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = buf.remaining().min(this.data.len() - this.pos);
        buf.put_slice(&this.data[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemStream<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// ---------------------------------------------------------------------------------------
// The passes. Each takes a sink so the same code serves the check and the timed loop.
// ---------------------------------------------------------------------------------------

/// wsspec: parse_header + apply_mask in place over the whole buffer.
#[inline]
fn wsspec_pass(buf: &mut [u8], mut sink: impl FnMut(&[u8])) {
    let rules = HeaderRules::server();
    let mut pos = 0;
    while pos < buf.len() {
        let (h, hl) = match parse_header(&buf[pos..], rules) {
            Ok(Status::Complete(h, n)) => (h, n),
            other => panic!("wsspec parse failed at {pos}: {other:?}"),
        };
        let start = pos + hl;
        let end = start + h.payload_len as usize;
        let payload = &mut buf[start..end];
        if let Some(key) = h.mask {
            apply_mask(payload, key, 0);
        }
        sink(payload);
        pos = end;
    }
}

/// wsspec's full streaming decoder (allocates each message, validates UTF-8).
fn wsspec_decoder_pass(wire: &[u8], mut sink: impl FnMut(&[u8])) {
    let mut d = StreamDecoder::new(HeaderRules::server(), Limits::default());
    let mut pos = 0;
    while pos < wire.len() {
        let (n, frame) = d.decode(&wire[pos..]).expect("wsspec decoder failed");
        pos += n;
        if let Some(f) = frame {
            match f.event {
                Some(Event::Message(Message::Text(s))) => sink(s.as_bytes()),
                Some(Event::Message(Message::Binary(b))) => sink(&b),
                None => {}
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
}

/// Line-for-line copy of tungstenite 0.30 `protocol/frame/mask.rs` `apply_mask_fast32`
/// (with its `apply_mask_fallback`), which its `apply_mask` calls; see the module docs.
#[inline]
fn tungstenite_apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    #[inline]
    fn fallback(buf: &mut [u8], mask: [u8; 4]) {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte ^= mask[i & 3];
        }
    }
    let mask_u32 = u32::from_ne_bytes(mask);
    // SAFETY: u32 has no invalid bit patterns; align_to_mut only reinterprets the
    // aligned middle of the slice (this is tungstenite's own code).
    let (prefix, words, suffix) = unsafe { buf.align_to_mut::<u32>() };
    fallback(prefix, mask);
    let head = prefix.len() & 3;
    let mask_u32 = if head > 0 {
        if cfg!(target_endian = "big") {
            mask_u32.rotate_left(8 * head as u32)
        } else {
            mask_u32.rotate_right(8 * head as u32)
        }
    } else {
        mask_u32
    };
    for word in words.iter_mut() {
        *word ^= mask_u32;
    }
    fallback(suffix, mask_u32.to_ne_bytes());
}

/// tungstenite: FrameHeader::parse over a Cursor + its unmask kernel in place.
#[inline]
fn tungstenite_frame_pass(buf: &mut [u8], mut sink: impl FnMut(&[u8])) {
    use tungstenite::protocol::frame::FrameHeader;
    let mut pos = 0;
    while pos < buf.len() {
        let mut cur = Cursor::new(&buf[pos..]);
        let (h, len) = match FrameHeader::parse(&mut cur) {
            Ok(Some(v)) => v,
            other => panic!("tungstenite parse failed at {pos}: {other:?}"),
        };
        let start = pos + cur.position() as usize;
        let end = start + len as usize;
        let payload = &mut buf[start..end];
        if let Some(mask) = h.mask {
            tungstenite_apply_mask(payload, mask);
        }
        sink(payload);
        pos = end;
    }
}

/// tungstenite: WebSocket::read until `messages` messages were read.
fn tungstenite_read_pass(
    ws: &mut tungstenite::WebSocket<MemStream<'_>>,
    messages: usize,
    mut sink: impl FnMut(&[u8]),
) {
    for _ in 0..messages {
        match ws.read().expect("tungstenite read failed") {
            tungstenite::Message::Text(t) => sink(t.as_bytes()),
            tungstenite::Message::Binary(b) => sink(&b),
            other => panic!("unexpected message {other:?}"),
        }
    }
}

fn tungstenite_ws(wire: &[u8]) -> tungstenite::WebSocket<MemStream<'_>> {
    tungstenite::WebSocket::from_raw_socket(
        MemStream::new(wire),
        tungstenite::protocol::Role::Server,
        None,
    )
}

fn fastwebsockets_ws(wire: &[u8]) -> fastwebsockets::WebSocket<MemStream<'_>> {
    let mut ws = fastwebsockets::WebSocket::after_handshake(
        MemStream::new(wire),
        fastwebsockets::Role::Server,
    );
    ws.set_auto_close(false);
    ws.set_auto_pong(false);
    ws
}

/// fastwebsockets: WebSocket::read_frame until `frames` frames were read.
async fn fastwebsockets_read_pass(
    ws: &mut fastwebsockets::WebSocket<MemStream<'_>>,
    frames: usize,
    mut sink: impl FnMut(&[u8]),
) {
    for _ in 0..frames {
        let f = ws.read_frame().await.expect("fastwebsockets read failed");
        sink(&f.payload);
    }
}

// ---------------------------------------------------------------------------------------
// Honesty checks
// ---------------------------------------------------------------------------------------

fn collect(into: &mut Vec<Vec<u8>>) -> impl FnMut(&[u8]) + '_ {
    |p| into.push(p.to_vec())
}

fn assert_same(name: &str, w: &Workload, got: &[Vec<u8>], want: &[Vec<u8>]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{name} on {}: wrong number of payloads",
        w.group
    );
    for (i, (g, e)) in got.iter().zip(want).enumerate() {
        assert!(g == e, "{name} on {}: payload {i} differs", w.group);
    }
}

fn check_all(w: &Workload, rt: &tokio::runtime::Runtime) {
    let mut got = Vec::new();
    let mut buf = w.wire.clone();
    wsspec_pass(&mut buf, collect(&mut got));
    assert_same("wsspec", w, &got, &w.frames);

    got.clear();
    wsspec_decoder_pass(&w.wire, collect(&mut got));
    assert_same("wsspec_decoder", w, &got, &w.messages);

    got.clear();
    let mut buf = w.wire.clone();
    tungstenite_frame_pass(&mut buf, collect(&mut got));
    assert_same("tungstenite_frame", w, &got, &w.frames);

    got.clear();
    tungstenite_read_pass(
        &mut tungstenite_ws(&w.wire),
        w.messages.len(),
        collect(&mut got),
    );
    assert_same("tungstenite_read", w, &got, &w.messages);

    got.clear();
    let mut ws = fastwebsockets_ws(&w.wire);
    rt.block_on(fastwebsockets_read_pass(
        &mut ws,
        w.frame_count(),
        collect(&mut got),
    ));
    assert_same("fastwebsockets_read", w, &got, &w.frames);
    if w.text {
        for m in &w.messages {
            assert!(std::str::from_utf8(m).is_ok(), "workload text is not UTF-8");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------

/// Times `pass` over a fresh copy of `pristine` per iteration; the copy is untimed.
fn time_in_place(
    iters: u64,
    pristine: &[u8],
    work: &mut [u8],
    pass: impl Fn(&mut [u8]),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        work.copy_from_slice(pristine);
        let t = Instant::now();
        pass(black_box(&mut *work));
        total += t.elapsed();
    }
    total
}

fn sink_black_box(p: &[u8]) {
    black_box(p);
}

fn bench_workload(c: &mut Criterion, w: &Workload, rt: &tokio::runtime::Runtime) {
    check_all(w, rt);
    let mut g = c.benchmark_group(w.group);
    g.throughput(Throughput::Bytes(w.wire.len() as u64));
    let mut work = w.wire.clone();

    g.bench_function("wsspec", |b| {
        b.iter_custom(|iters| {
            time_in_place(iters, &w.wire, &mut work, |buf| {
                wsspec_pass(buf, sink_black_box)
            })
        })
    });
    g.bench_function("wsspec_decoder", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                wsspec_decoder_pass(black_box(&w.wire), sink_black_box);
                total += t.elapsed();
            }
            total
        })
    });
    g.bench_function("tungstenite_frame", |b| {
        b.iter_custom(|iters| {
            time_in_place(iters, &w.wire, &mut work, |buf| {
                tungstenite_frame_pass(buf, sink_black_box)
            })
        })
    });
    g.bench_function("tungstenite_read", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut ws = tungstenite_ws(black_box(&w.wire));
                let t = Instant::now();
                tungstenite_read_pass(&mut ws, w.messages.len(), sink_black_box);
                total += t.elapsed();
            }
            total
        })
    });
    g.bench_function("fastwebsockets_read", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut ws = fastwebsockets_ws(black_box(&w.wire));
                let t = Instant::now();
                rt.block_on(fastwebsockets_read_pass(
                    &mut ws,
                    w.frame_count(),
                    sink_black_box,
                ));
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn frame_parse(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    for w in workloads() {
        bench_workload(c, &w, &rt);
    }
}

criterion_group! {
    name = benches;
    // 2 shared cores: ten samples over three seconds per function keeps the whole run
    // near two minutes while each sample still spans several full passes.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3));
    targets = frame_parse
}
criterion_main!(benches);
