//! Misbehaving servers for robustness tests of the kit's own client side.
//!
//! Each [`Hostile`] kind attacks one bound a WebSocket client must have: frame size, message
//! size, handshake time, handshake size, control-frame rate, HTTP sanity. A test starts one
//! with [`spawn_hostile`], points the kit at the returned address and asserts that the kit
//! gives up cleanly (an error, not a hang, a panic or unbounded memory).
//!
//! Every hostile server is bounded so that a test can never leave one running: it serves at
//! most [`HostileLimits::max_connections`] connections (default 1, so it stops when its
//! client disconnects), sends at most [`HostileLimits::max_bytes`] per connection, and stops
//! after [`HostileLimits::lifetime`] whatever happens. Dropping the [`HostileHandle`] stops it
//! too. All listen on 127.0.0.1 only.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, sleep_until, timeout_at, Instant};

use crate::codec::frame::{encode_frame, FrameHeader, LengthEncoding, OpCode, Status};
use crate::codec::handshake::derive_accept_key;
use crate::codec::http::{parse_request, HeadLimits};

/// The kinds of hostile server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hostile {
    /// Valid 101, then a binary frame header announcing a payload of 2^63-1 bytes
    /// (`top_bit_set: false`, legal but absurd) or 2^63 (`true`, the §5.2 top bit set, illegal),
    /// then payload bytes trickled at about 100 KB/s.
    HugeFrame {
        /// Announce 2^63 (top bit set) instead of 2^63-1.
        top_bit_set: bool,
    },
    /// Valid 101, then a text frame with FIN=0 followed by continuation frames with FIN=0,
    /// forever, at `bytes_per_sec` (a few KB/s up to MB/s).
    EndlessFragments {
        /// Sending rate in bytes per second (at least 100).
        bytes_per_sec: u64,
    },
    /// Accepts TCP, reads (and discards) whatever comes, never answers.
    NoHandshakeAnswer,
    /// Valid 101, then ping frames as fast as the socket takes them.
    PingFlood,
    /// Answers the upgrade request with 4 KiB of random bytes that are not HTTP, then closes.
    GarbageHttp,
    /// Sends a valid 101 response one byte every 100 ms, then stays silent.
    SlowLoris101,
    /// Sends a 101 status line and then header lines forever, never the empty line.
    HeadersForever,
    /// Valid 101, then answers every read from the client with a binary message of
    /// [`AMPLIFIED_MESSAGE`] bytes in 1 MiB fragments, as fast as the client takes them.
    EchoAmplifier,
    /// Valid 101, then ping frames as fast as the socket takes them, and never reads: the
    /// client's pongs back up in the TCP buffers.
    PingFloodNoRead,
    /// Valid 101, then 4 KiB of random bytes (not a WebSocket stream), then silence with
    /// TCP kept open.
    GarbageAfter101,
    /// Accepts TCP and resets it at once (RST), before any answer.
    ResetBeforeHandshake,
}

/// The size of each answer of [`Hostile::EchoAmplifier`].
pub const AMPLIFIED_MESSAGE: usize = 64 << 20;

impl Hostile {
    /// Every kind with default parameters, for tests that iterate over all of them.
    pub const ALL: [Hostile; 12] = [
        Hostile::HugeFrame { top_bit_set: false },
        Hostile::HugeFrame { top_bit_set: true },
        Hostile::EndlessFragments {
            bytes_per_sec: 1 << 20,
        },
        Hostile::NoHandshakeAnswer,
        Hostile::PingFlood,
        Hostile::GarbageHttp,
        Hostile::SlowLoris101,
        Hostile::HeadersForever,
        Hostile::EchoAmplifier,
        Hostile::PingFloodNoRead,
        Hostile::GarbageAfter101,
        Hostile::ResetBeforeHandshake,
    ];
}

/// Hard caps of a hostile server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostileLimits {
    /// The server stops this long after it started, whatever the clients do.
    pub lifetime: Duration,
    /// Bytes sent (or, for [`Hostile::NoHandshakeAnswer`], read) per connection.
    pub max_bytes: u64,
    /// Connections served; the server stops once that many have been accepted and ended.
    pub max_connections: u32,
}

impl Default for HostileLimits {
    /// 60 s, 256 MiB per connection, one connection.
    fn default() -> Self {
        HostileLimits {
            lifetime: Duration::from_secs(60),
            max_bytes: 256 << 20,
            max_connections: 1,
        }
    }
}

/// What a hostile server did, returned when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostileStats {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes written to all clients.
    pub bytes_sent: u64,
    /// Bytes read from all clients.
    pub bytes_read: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    sent: AtomicU64,
    read: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> HostileStats {
        HostileStats {
            connections: self.connections.load(Ordering::Relaxed),
            bytes_sent: self.sent.load(Ordering::Relaxed),
            bytes_read: self.read.load(Ordering::Relaxed),
        }
    }
}

/// Controls a running hostile server.
#[derive(Debug)]
pub struct HostileHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl HostileHandle {
    /// Stops the server now (closing its connections) and returns what it did.
    pub async fn stop(mut self) -> HostileStats {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.counters.snapshot()
    }

    /// Waits until the server stops by itself (connection count or lifetime reached).
    pub async fn wait(mut self) -> HostileStats {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.counters.snapshot()
    }

    /// Whether the server has stopped.
    pub fn is_finished(&self) -> bool {
        match &self.task {
            Some(t) => t.is_finished(),
            None => true,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> HostileStats {
        self.counters.snapshot()
    }
}

impl Drop for HostileHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Starts a hostile server of `kind` on 127.0.0.1 with [`HostileLimits::default`].
pub async fn spawn_hostile(kind: Hostile) -> io::Result<(SocketAddr, HostileHandle)> {
    spawn_hostile_with(kind, HostileLimits::default()).await
}

/// Starts a hostile server of `kind` on 127.0.0.1 (free port) with the given caps.
pub async fn spawn_hostile_with(
    kind: Hostile,
    limits: HostileLimits,
) -> io::Result<(SocketAddr, HostileHandle)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let deadline = Instant::now() + limits.lifetime;
    let task = tokio::spawn(accept_loop(
        listener,
        kind,
        limits,
        deadline,
        stop_rx,
        counters.clone(),
    ));
    Ok((
        addr,
        HostileHandle {
            stop,
            task: Some(task),
            counters,
        },
    ))
}

async fn accept_loop(
    listener: TcpListener,
    kind: Hostile,
    limits: HostileLimits,
    deadline: Instant,
    mut stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
) {
    let mut conns = JoinSet::new();
    let mut accepted = 0u32;
    while accepted < limits.max_connections {
        tokio::select! {
            _ = stop.changed() => break,
            _ = sleep_until(deadline) => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    accepted += 1;
                    counters.connections.fetch_add(1, Ordering::Relaxed);
                    let ctx = Ctx {
                        deadline,
                        max_bytes: limits.max_bytes,
                        stop: stop.clone(),
                        counters: counters.clone(),
                    };
                    conns.spawn(serve(stream, kind, ctx));
                }
                Err(_) => sleep(Duration::from_millis(20)).await,
            },
        }
    }
    drop(listener);
    // Connection tasks watch the same stop signal and deadline; this wait is bounded by them.
    while conns.join_next().await.is_some() {}
}

#[derive(Clone)]
struct Ctx {
    deadline: Instant,
    max_bytes: u64,
    stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
}

/// The writing side of a connection, which gives up when the client leaves, the caps are hit
/// or the server is stopped.
struct Writer {
    w: OwnedWriteHalf,
    ctx: Ctx,
    gone: watch::Receiver<bool>,
    sent: u64,
}

impl Writer {
    /// Writes as much of `bytes` as the byte cap allows; false when the connection is over.
    async fn send(&mut self, bytes: &[u8]) -> bool {
        let room = self.ctx.max_bytes.saturating_sub(self.sent);
        if room == 0 {
            return false;
        }
        let bytes = &bytes[..bytes.len().min(room as usize)];
        let ok = tokio::select! {
            r = self.w.write_all(bytes) => r.is_ok(),
            _ = self.gone.wait_for(|g| *g) => false,
            _ = self.ctx.stop.wait_for(|s| *s) => false,
            _ = sleep_until(self.ctx.deadline) => false,
        };
        if ok {
            self.sent += bytes.len() as u64;
            self.ctx
                .counters
                .sent
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        ok && self.sent < self.ctx.max_bytes
    }

    /// Sleeps `d`; false when the connection is over meanwhile.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = sleep(d) => true,
            _ = self.gone.wait_for(|g| *g) => false,
            _ = self.ctx.stop.wait_for(|s| *s) => false,
            _ = sleep_until(self.ctx.deadline) => false,
        }
    }

    /// Waits until the client leaves or the server stops.
    async fn idle(&mut self) {
        self.pause(self.ctx.deadline.saturating_duration_since(Instant::now()))
            .await;
    }
}

/// Reads and discards until EOF, error, `max` bytes or the deadline; then flags `gone`.
async fn discard(mut r: OwnedReadHalf, ctx: Ctx, max: u64, gone: watch::Sender<bool>) {
    let mut buf = [0u8; 8192];
    let mut total = 0u64;
    let mut stop = ctx.stop.clone();
    while total < max {
        let n = tokio::select! {
            r = timeout_at(ctx.deadline, r.read(&mut buf)) => match r {
                Ok(Ok(n)) if n > 0 => n,
                _ => break,
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        total += n as u64;
        ctx.counters.read.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = gone.send(true);
}

/// Reads the client's request head (bounded: 16 KiB, 5 s) and returns its key, if any.
async fn read_request(stream: &mut TcpStream, ctx: &Ctx) -> Option<Option<String>> {
    let limit = Instant::now() + Duration::from_secs(5);
    let deadline = limit.min(ctx.deadline);
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        match parse_request(&buf, HeadLimits::default()) {
            Ok(Status::Complete(head, _)) => {
                return Some(head.headers.get_str("sec-websocket-key"));
            }
            Ok(Status::Partial(_)) => {}
            // Not our problem to be strict here: answer anyway.
            Err(_) => return Some(None),
        }
        match timeout_at(deadline, stream.read(&mut tmp)).await {
            Ok(Ok(n)) if n > 0 => {
                ctx.counters.read.fetch_add(n as u64, Ordering::Relaxed);
                buf.extend_from_slice(&tmp[..n]);
            }
            Ok(_) => return None,
            Err(_) => return Some(None),
        }
    }
}

fn response_101(key: Option<&str>) -> Vec<u8> {
    let accept = derive_accept_key(key.unwrap_or("").as_bytes());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

async fn serve(mut stream: TcpStream, kind: Hostile, ctx: Ctx) {
    let _ = stream.set_nodelay(true);
    if kind == Hostile::ResetBeforeHandshake {
        // Linger 0: closing sends RST instead of FIN.
        let _ = stream.set_zero_linger();
        return;
    }
    if kind == Hostile::NoHandshakeAnswer {
        let (r, _w) = stream.into_split();
        let (gone, _) = watch::channel(false);
        // `_w` stays alive so the socket is not half-closed while we ignore the client.
        discard(r, ctx.clone(), ctx.max_bytes, gone).await;
        return;
    }
    let Some(key) = read_request(&mut stream, &ctx).await else {
        return;
    };
    let (r, w) = stream.into_split();
    let (gone_tx, gone) = watch::channel(false);
    let mut wr = Writer {
        w,
        ctx: ctx.clone(),
        gone,
        sent: 0,
    };
    if kind == Hostile::EchoAmplifier {
        amplify(r, &mut wr, key.as_deref(), gone_tx).await;
        let _ = wr.w.shutdown().await;
        return;
    }
    // The flood that never reads keeps the read half unread; the others drain it.
    let (reader, _unread) = if kind == Hostile::PingFloodNoRead {
        (None, Some((r, gone_tx)))
    } else {
        (Some(tokio::spawn(discard(r, ctx, u64::MAX, gone_tx))), None)
    };
    match kind {
        Hostile::HugeFrame { top_bit_set } => {
            huge_frame(&mut wr, key.as_deref(), top_bit_set).await
        }
        Hostile::EndlessFragments { bytes_per_sec } => {
            endless_fragments(&mut wr, key.as_deref(), bytes_per_sec).await
        }
        Hostile::PingFlood | Hostile::PingFloodNoRead => ping_flood(&mut wr, key.as_deref()).await,
        Hostile::GarbageAfter101 => garbage_after_101(&mut wr, key.as_deref()).await,
        Hostile::GarbageHttp => garbage_http(&mut wr).await,
        Hostile::SlowLoris101 => slow_loris(&mut wr, key.as_deref()).await,
        Hostile::HeadersForever => headers_forever(&mut wr).await,
        Hostile::NoHandshakeAnswer | Hostile::EchoAmplifier | Hostile::ResetBeforeHandshake => {}
    }
    let _ = wr.w.shutdown().await;
    // The reader ends on EOF, the deadline or the stop signal, all bounded.
    if let Some(reader) = reader {
        let _ = reader.await;
    }
}

async fn huge_frame(wr: &mut Writer, key: Option<&str>, top_bit_set: bool) {
    if !wr.send(&response_101(key)).await {
        return;
    }
    let len = if top_bit_set {
        1u64 << 63
    } else {
        (1u64 << 63) - 1
    };
    let h = FrameHeader {
        fin: true,
        rsv: 0,
        opcode: OpCode::Binary,
        mask: None,
        payload_len: len,
        length_encoding: LengthEncoding::U64,
    };
    let mut head = Vec::new();
    h.encode_to(&mut head);
    if !wr.send(&head).await {
        return;
    }
    let chunk = [0xa5u8; 1024];
    while wr.send(&chunk).await && wr.pause(Duration::from_millis(10)).await {}
}

async fn endless_fragments(wr: &mut Writer, key: Option<&str>, bytes_per_sec: u64) {
    if !wr.send(&response_101(key)).await {
        return;
    }
    const TICK: Duration = Duration::from_millis(10);
    let per_tick = (bytes_per_sec.max(100) / 100) as usize;
    let frame_len = per_tick.clamp(1, 16 * 1024);
    let payload = vec![b'a'; frame_len];
    let mut first = true;
    loop {
        let mut batch = Vec::with_capacity(per_tick + 16);
        while batch.len() < per_tick {
            let op = if first {
                OpCode::Text
            } else {
                OpCode::Continuation
            };
            first = false;
            encode_frame(
                &FrameHeader::new(op, false, frame_len as u64, None),
                &payload,
                &mut batch,
            );
        }
        if !wr.send(&batch).await || !wr.pause(TICK).await {
            return;
        }
    }
}

async fn ping_flood(wr: &mut Writer, key: Option<&str>) {
    if !wr.send(&response_101(key)).await {
        return;
    }
    let mut batch = Vec::with_capacity(64 * 1024);
    let mut i = 0u32;
    while batch.len() < 60 * 1024 {
        let payload = i.to_be_bytes();
        encode_frame(
            &FrameHeader::new(OpCode::Ping, true, 4, None),
            &payload,
            &mut batch,
        );
        i += 1;
    }
    while wr.send(&batch).await {
        // Let other tasks run between batches; the flood is bounded by the byte cap.
        tokio::task::yield_now().await;
    }
}

/// Answers each read with an [`AMPLIFIED_MESSAGE`]-byte binary message in 1 MiB fragments.
async fn amplify(
    mut r: OwnedReadHalf,
    wr: &mut Writer,
    key: Option<&str>,
    gone: watch::Sender<bool>,
) {
    if !wr.send(&response_101(key)).await {
        return;
    }
    const PIECE: usize = 1 << 20;
    let payload = vec![0x5au8; PIECE];
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            n = timeout_at(wr.ctx.deadline, r.read(&mut buf)) => match n {
                Ok(Ok(n)) if n > 0 => n,
                _ => break,
            },
            _ = wr.ctx.stop.wait_for(|s| *s) => break,
        };
        wr.ctx.counters.read.fetch_add(n as u64, Ordering::Relaxed);
        let pieces = AMPLIFIED_MESSAGE / PIECE;
        for i in 0..pieces {
            let op = if i == 0 {
                OpCode::Binary
            } else {
                OpCode::Continuation
            };
            let mut frame = Vec::with_capacity(PIECE + 14);
            encode_frame(
                &FrameHeader::new(op, i + 1 == pieces, PIECE as u64, None),
                &payload,
                &mut frame,
            );
            if !wr.send(&frame).await {
                let _ = gone.send(true);
                return;
            }
        }
    }
    let _ = gone.send(true);
}

/// The same 4096 bytes of noise on every connection: two tools compared against a garbage
/// server (the differential test) must see the same garbage, or their verdicts are about
/// different inputs.
fn junk() -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut v = vec![0u8; 4096];
    rand::rngs::StdRng::seed_from_u64(0x5753_5350_4543).fill_bytes(&mut v);
    v
}

async fn garbage_after_101(wr: &mut Writer, key: Option<&str>) {
    if !wr.send(&response_101(key)).await {
        return;
    }
    if wr.send(&junk()).await {
        wr.idle().await;
    }
}

async fn garbage_http(wr: &mut Writer) {
    let mut junk = junk();
    // Never accidentally the start of a status line.
    junk[0] = 0x00;
    wr.send(&junk).await;
}

async fn slow_loris(wr: &mut Writer, key: Option<&str>) {
    for b in response_101(key) {
        if !wr.send(&[b]).await || !wr.pause(Duration::from_millis(100)).await {
            return;
        }
    }
    wr.idle().await;
}

async fn headers_forever(wr: &mut Writer) {
    if !wr
        .send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        .await
    {
        return;
    }
    let mut n = 0u64;
    loop {
        let mut batch = Vec::with_capacity(16 * 1024);
        while batch.len() < 15 * 1024 {
            batch.extend_from_slice(
                format!("X-Wsspec-Filler-{n}: {}\r\n", "y".repeat(48)).as_bytes(),
            );
            n += 1;
        }
        if !wr.send(&batch).await {
            return;
        }
        tokio::task::yield_now().await;
    }
}
