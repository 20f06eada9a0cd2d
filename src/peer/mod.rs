//! The tokio wire peer: a client that sends exactly the bytes a test asks for and records,
//! with timestamps, everything that comes back.
//!
//! The peer is deliberately dumb about policy. It never answers anything on its own unless
//! told to ([`Peer::set_auto_pong`]); the suite and the scenario engine decide what a
//! conforming exchange looks like. What it guarantees is safety against hostile servers:
//!
//! * reads and writes run in two background tasks, so a large echo can never deadlock
//!   against a large send, and the caller only ever waits with a deadline ([`Peer::recv`]);
//! * every buffer is bounded: HTTP heads by [`HeadLimits`], messages by [`Limits`], the
//!   transcript by [`transcript::MAX_BYTES`], the read queue by a small channel;
//! * server frames are read by the codec's one decoder in its recording configuration
//!   ([`DecoderConfig::recording`]): every violation is reported ([`PeerEvent::Violation`])
//!   and reading goes on as Autobahn's client does, so the frame that broke a rule and what
//!   follows it (a pong, a close frame) are still delivered; only a capacity limit loses
//!   the framing, after which the peer just waits for TCP end;
//! * writes are paced as asked ([`Pacing`]), with Autobahn's reactor turn between pieces.

mod accept;
pub mod h2;
pub mod http;
pub mod target;
pub mod tls;
pub mod transcript;

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::codec::deflate::{sent_rsv, AnswerCheck, Compressor, DeflateConfig, DeflateParams};
use crate::codec::error::FrameError;
use crate::codec::frame::{parse_header, FrameSpec, HeaderRules, Masking, OpCode, Status};
use crate::codec::handshake::{Accepted, ClientRequest, HandshakeError};
use crate::codec::http::{parse_response, HeadLimits, HttpError, ResponseHead};
use crate::codec::mask::apply_mask;
use crate::codec::message::{DecodedFrame, DecoderConfig, Event, Limits, StreamDecoder};
use crate::report::{Direction, TranscriptEntry};

pub use crate::codec::frame::Role;
pub use accept::{AcceptOptions, AcceptOutcome, RequestOutcome};
pub use target::{Target, TargetError};
pub use transcript::Transcript;

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Subprotocols to offer (`Sec-WebSocket-Protocol`).
    pub protocols: Vec<String>,
    /// Extensions to offer (`Sec-WebSocket-Extensions`).
    pub extensions: Vec<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// `Origin` header, if any.
    pub origin: Option<String>,
    /// Extra query parameters appended to the target's resource (e.g. a token).
    pub query: Vec<(String, String)>,
    /// Skip TLS certificate verification (self-signed dev certificates).
    pub insecure: bool,
    /// Limit for the TCP (and TLS) connect.
    pub connect_timeout: Duration,
    /// Limit for the server's answer to the upgrade request.
    pub handshake_timeout: Duration,
    /// Message and frame size limits for what the server sends.
    pub limits: Limits,
    /// HTTP head limits for the server's answer.
    pub head_limits: HeadLimits,
    /// permessage-deflate offers (RFC 7692 §5), in preference order, and how the answer is
    /// judged. When the server accepts, server messages with RSV1 are inflated and
    /// [`Peer::send_message`] compresses.
    pub deflate: Option<(Vec<DeflateParams>, AnswerCheck)>,
    /// The HTTP/2 connection shared by every clone of these options (`h2c://`, `h2://`
    /// targets); unused over HTTP/1.1.
    pub http2: h2::H2Pool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            origin: None,
            query: Vec::new(),
            insecure: false,
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            limits: Limits {
                max_message_size: 32 << 20,
                max_frame_size: 32 << 20,
            },
            head_limits: HeadLimits::default(),
            deflate: None,
            http2: h2::H2Pool::default(),
        }
    }
}

impl ConnectOptions {
    /// The conforming upgrade request these options describe for `target`.
    pub fn request(&self, target: &Target) -> ClientRequest {
        let mut r = ClientRequest::new(target.host_header(), target.resource.clone());
        for p in &self.protocols {
            r = r.protocol(p.clone());
        }
        for e in &self.extensions {
            r = r.extension(e.clone());
        }
        for (k, v) in &self.query {
            r = r.query(k, v);
        }
        if let Some(o) = &self.origin {
            r = r.origin(o.clone());
        }
        for (n, v) in &self.headers {
            r = r.header(n.clone(), v.clone());
        }
        if let Some((offers, check)) = &self.deflate {
            r = r.deflate(offers.clone(), *check);
        }
        r
    }
}

/// Why no connection could be made (the server under test was not reachable at all).
#[derive(Debug)]
pub enum PeerError {
    /// The URL is unusable.
    Target(TargetError),
    /// TCP connect failed.
    Connect(io::Error),
    /// TCP (or TLS) connect took longer than allowed.
    ConnectTimeout(Duration),
    /// TLS handshake failed.
    Tls(String),
    /// The HTTP/2 connection could not carry a WebSocket (no ALPN h2, no
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL, a raw HTTP/1.1 request over HTTP/2, ...).
    Http2(String),
    /// The HTTP/2 server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, so no
    /// `:protocol` may be sent (RFC 8441 §4).
    NoExtendedConnect,
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Target(t) => t.fmt(f),
            PeerError::Connect(e) => write!(f, "cannot connect: {e}"),
            PeerError::ConnectTimeout(d) => write!(f, "connect timed out after {d:?}"),
            PeerError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            PeerError::Http2(e) => write!(f, "HTTP/2: {e}"),
            PeerError::NoExtendedConnect => write!(
                f,
                "the HTTP/2 server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, so no WebSocket can be opened (RFC 8441 §4)"
            ),
        }
    }
}

impl std::error::Error for PeerError {}

/// The server's answer to the upgrade request.
#[derive(Debug, Clone)]
pub enum HandshakeOutcome {
    /// 101 that passes §4.1.
    Upgraded {
        /// The response head.
        response: ResponseHead,
        /// What was negotiated.
        accepted: Accepted,
    },
    /// A status other than 101.
    Rejected {
        /// The response head.
        response: ResponseHead,
    },
    /// A 101 that violates §4.1 (bad accept key, unoffered protocol or extension, ...).
    Invalid {
        /// The response head.
        response: ResponseHead,
        /// The rule it broke.
        error: HandshakeError,
    },
    /// TCP closed before a complete head arrived; carries what did arrive.
    ClosedBeforeResponse {
        /// Bytes received before the close.
        received: Vec<u8>,
    },
    /// No complete answer within the handshake timeout.
    Timeout {
        /// Bytes received so far.
        received: Vec<u8>,
    },
    /// The answer is not HTTP, or exceeds the head limits.
    Malformed(HttpError),
}

impl HandshakeOutcome {
    /// True for a valid upgrade.
    pub fn is_upgraded(&self) -> bool {
        matches!(self, HandshakeOutcome::Upgraded { .. })
    }

    /// Status code, when a head was parsed.
    pub fn status(&self) -> Option<u16> {
        match self {
            HandshakeOutcome::Upgraded { response, .. }
            | HandshakeOutcome::Rejected { response }
            | HandshakeOutcome::Invalid { response, .. } => Some(response.status),
            _ => None,
        }
    }

    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            HandshakeOutcome::Upgraded { accepted, response } => match &accepted.protocol {
                Some(p) => format!("{}, protocol {p}", response.status),
                None => response.status.to_string(),
            },
            HandshakeOutcome::Rejected { response } => {
                format!("HTTP {} {}", response.status, response.reason)
            }
            HandshakeOutcome::Invalid { response, error } => {
                format!(
                    "HTTP {} violating RFC 6455 §{}: {error}",
                    response.status,
                    error.rfc_section()
                )
            }
            HandshakeOutcome::ClosedBeforeResponse { received } if received.is_empty() => {
                "TCP closed without any answer".into()
            }
            HandshakeOutcome::ClosedBeforeResponse { received } => {
                format!(
                    "TCP closed after {} bytes without a complete HTTP head",
                    received.len()
                )
            }
            HandshakeOutcome::Timeout { received } => {
                format!(
                    "no complete answer in time ({} bytes received)",
                    received.len()
                )
            }
            HandshakeOutcome::Malformed(e) => format!("not an HTTP answer: {e}"),
        }
    }
}

/// Something the peer observed.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    /// A complete frame (and the message-level event it completed, if any).
    Frame {
        /// Arrival time, ms since the peer was opened.
        t_ms: f64,
        /// The frame.
        frame: DecodedFrame,
    },
    /// The server broke a rule (reported before the frame it belongs to, which is still
    /// delivered), or a capacity limit was exceeded (then nothing more is decoded). Every
    /// violation is reported, in the order found.
    Violation {
        /// Detection time.
        t_ms: f64,
        /// The rule.
        error: FrameError,
    },
    /// The server closed TCP (or it was reset).
    Eof {
        /// Time the end was seen.
        t_ms: f64,
        /// An IO error, when the end was not a clean FIN.
        error: Option<String>,
    },
    /// The deadline passed first.
    Timeout,
}

enum Chunk {
    Data(Vec<u8>, Instant),
    End(Instant, Option<String>),
}

/// How the bytes of one send reach the socket: Autobahn's write primitives, implemented once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pacing {
    /// One write, right after whatever was queued before it.
    Plain,
    /// One write followed by a reactor turn ([`PIECE_GAP`]) before the next write, so each
    /// frame leaves on its own (Autobahn's `sync`, "frame-wise chops").
    Sync,
    /// Writes of `size` bytes, each followed by `delay`, or by a reactor turn when `delay`
    /// is zero (Autobahn's `chopsize`; 1 = "octet-wise").
    ///
    /// With reactor turns, the first two pieces of a burst (paced writes queued while the
    /// writer had nothing paced in flight) leave in one write, as in Autobahn, whose first
    /// reactor turn comes only after the second piece was buffered.
    Chop {
        /// Bytes per write.
        size: std::num::NonZeroUsize,
        /// Pause after each write; zero = a reactor turn.
        delay: Duration,
    },
}

impl Pacing {
    /// Chops of `size` bytes (at least 1) with a reactor turn between them.
    pub const fn chop(size: usize) -> Pacing {
        let size = match std::num::NonZeroUsize::new(size) {
            Some(n) => n,
            None => std::num::NonZeroUsize::MIN,
        };
        Pacing::Chop {
            size,
            delay: Duration::ZERO,
        }
    }

    /// Whether each write is followed by a reactor turn (or a delay).
    pub const fn is_paced(self) -> bool {
        !matches!(self, Pacing::Plain)
    }

    /// The pause after each write; zero for a reactor turn (and for [`Pacing::Plain`]).
    pub const fn delay(self) -> Duration {
        match self {
            Pacing::Chop { delay, .. } => delay,
            _ => Duration::ZERO,
        }
    }
}

/// The pause between two paced writes. Autobahn writes a queued piece, then re-enters its
/// reactor through a 10 µs timer; with the reactor's own pass its pieces reach a reader
/// 70-150 µs apart (measured here with a blocking reader), so a server reading as data
/// arrives sees them one by one.
pub const PIECE_GAP: Duration = Duration::from_micros(10);

enum WriteOp {
    Bytes(Vec<u8>, Pacing),
    Sleep(Duration),
    Shutdown,
}

/// Waits `gap` (a reactor turn). tokio's timer counts whole milliseconds; spinning would
/// starve the very server we pace for on a small machine, and handing the sleep to another
/// thread costs more than the gap itself. So the writer task sleeps on its thread: a
/// deliberate, bounded pause (the kernel adds its timer slack, ~50 µs), after which the
/// runtime runs what it postponed.
fn reactor_turn(gap: Duration) {
    std::thread::sleep(gap);
}

/// The first piece of the next queued op when it is paced with reactor turns too (the rest
/// of it goes back to the front of `backlog`); nothing otherwise. Autobahn queues a stage's
/// frames together, so a one-piece `sync` frame leaves with the next frame's first piece.
fn burst_head(
    wrx: &mut mpsc::UnboundedReceiver<WriteOp>,
    backlog: &mut VecDeque<WriteOp>,
) -> Vec<u8> {
    let next = match backlog.pop_front() {
        Some(op) => op,
        None => match wrx.try_recv() {
            Ok(op) => op,
            Err(_) => return Vec::new(),
        },
    };
    match next {
        WriteOp::Bytes(mut b, pacing) if pacing.is_paced() && pacing.delay().is_zero() => {
            let n = match pacing {
                Pacing::Chop { size, .. } => size.get().min(b.len()),
                _ => b.len(),
            };
            let rest = b.split_off(n);
            if !rest.is_empty() {
                backlog.push_front(WriteOp::Bytes(rest, pacing));
            }
            b
        }
        other => {
            backlog.push_front(other);
            Vec::new()
        }
    }
}

/// What carries the peer's bytes; only the labels of its ends differ (see [`h2`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// TCP, or TLS over TCP.
    Tcp,
    /// One HTTP/2 stream (RFC 8441).
    H2 {
        /// Its stream id.
        stream: u32,
    },
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection to the server under test.
pub struct Peer {
    started: Instant,
    transcript: Transcript,
    rx: mpsc::Receiver<Chunk>,
    wtx: mpsc::UnboundedSender<WriteOp>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
    pause: watch::Sender<bool>,
    written: Arc<AtomicU64>,
    rbuf: Vec<u8>,
    /// Bytes of `rbuf` already decoded (compacted lazily, so a burst of small frames is not
    /// quadratic).
    rpos: usize,
    ended: Option<(Instant, Option<String>)>,
    eof_reported: bool,
    decoder: StreamDecoder,
    /// Framing was lost (a capacity limit): bytes are discarded until TCP ends.
    opaque: bool,
    pending: VecDeque<PeerEvent>,
    auto_pong: bool,
    close_sent: bool,
    close_received: bool,
    last_chunk: Option<Instant>,
    transport: Transport,
    /// Which end of the connection the kit plays: the client ([`Peer::open`]) masks what it
    /// sends and reads unmasked frames; the server ([`Peer::accept`]) the reverse.
    role: Role,
    /// permessage-deflate was agreed: what the peer compresses with.
    compressor: Option<Compressor>,
    deflate: Option<DeflateConfig>,
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer")
            .field("opaque", &self.opaque)
            .field("eof", &self.ended.is_some())
            .finish()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl Peer {
    /// Opens TCP (and TLS for `wss://`) to `target`, refusing any non-loopback address.
    /// Times in the transcript count from `started`.
    pub async fn open(
        target: &Target,
        opts: &ConnectOptions,
        conn: &str,
        started: Instant,
    ) -> Result<Peer, PeerError> {
        if target.http2 {
            return Err(PeerError::Http2(
                "this check writes raw HTTP/1.1 bytes, which an HTTP/2 stream cannot carry".into(),
            ));
        }
        let addrs = target.resolve().map_err(PeerError::Target)?;
        let tcp = tokio::time::timeout(opts.connect_timeout, TcpStream::connect(&addrs[..]))
            .await
            .map_err(|_| PeerError::ConnectTimeout(opts.connect_timeout))?
            .map_err(PeerError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let addr = tcp.peer_addr().unwrap_or(addrs[0]);
        let transcript = Transcript::new(conn, started);
        transcript.push(
            Direction::Event,
            "tcp-open",
            format!("connected to {addr}"),
            None,
        );
        let stream: Box<dyn Stream> = if target.tls {
            let cfg = tls::client_config(opts.insecure);
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| PeerError::Tls(e.to_string()))?;
            let tls = tokio::time::timeout(
                opts.connect_timeout,
                tokio_rustls::TlsConnector::from(cfg).connect(name, tcp),
            )
            .await
            .map_err(|_| PeerError::ConnectTimeout(opts.connect_timeout))?
            .map_err(|e| PeerError::Tls(e.to_string()))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        Ok(Self::from_stream(
            stream,
            transcript,
            opts.limits,
            started,
            Transport::Tcp,
            Role::Client,
        ))
    }

    fn from_stream(
        stream: Box<dyn Stream>,
        transcript: Transcript,
        limits: Limits,
        started: Instant,
        transport: Transport,
        role: Role,
    ) -> Peer {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let (tx, rx) = mpsc::channel::<Chunk>(8);
        let (pause, mut paused) = watch::channel(false);
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                while *paused.borrow() {
                    if paused.changed().await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    r = rd.read(&mut buf) => {
                        let chunk = match r {
                            Ok(0) => Chunk::End(Instant::now(), None),
                            Ok(n) => Chunk::Data(buf[..n].to_vec(), Instant::now()),
                            Err(e) => Chunk::End(Instant::now(), Some(e.to_string())),
                        };
                        let end = matches!(chunk, Chunk::End(..));
                        if tx.send(chunk).await.is_err() || end {
                            return;
                        }
                    }
                    _ = paused.changed() => {}
                }
            }
        });
        let (wtx, mut wrx) = mpsc::unbounded_channel::<WriteOp>();
        let written = Arc::new(AtomicU64::new(0));
        let w2 = written.clone();
        let tr = transcript.clone();
        let writer = tokio::spawn(async move {
            // Ops taken out of the channel ahead of their turn (see `burst_head`).
            let mut backlog: VecDeque<WriteOp> = VecDeque::new();
            // Whether the writer had nothing paced in flight before the op at hand.
            let mut idle = true;
            loop {
                let op = match backlog.pop_front() {
                    Some(op) => op,
                    None => match wrx.try_recv() {
                        Ok(op) => op,
                        Err(_) => {
                            idle = true;
                            match wrx.recv().await {
                                Some(op) => op,
                                None => return,
                            }
                        }
                    },
                };
                let res = match op {
                    WriteOp::Bytes(b, Pacing::Plain) => {
                        idle = true;
                        let r = wr.write_all(&b).await;
                        w2.fetch_add(b.len() as u64, Ordering::Relaxed);
                        r
                    }
                    WriteOp::Bytes(b, pacing) => {
                        let (size, delay) = match pacing {
                            Pacing::Chop { size, delay } => (size.get(), delay),
                            _ => (b.len().max(1), Duration::ZERO),
                        };
                        let mut pieces: VecDeque<&[u8]> = b.chunks(size).collect();
                        let mut head = Vec::new();
                        if idle && delay.is_zero() {
                            // Autobahn's first reactor turn of a burst comes only after the
                            // second piece is buffered: the first two leave in one write.
                            head.extend_from_slice(pieces.pop_front().unwrap_or_default());
                            match pieces.pop_front() {
                                Some(second) => head.extend_from_slice(second),
                                None => head.extend(burst_head(&mut wrx, &mut backlog)),
                            }
                        }
                        idle = !delay.is_zero();
                        let mut r = Ok(());
                        let first = (!head.is_empty()).then_some(&head[..]);
                        for piece in first.into_iter().chain(pieces) {
                            r = wr.write_all(piece).await;
                            if r.is_err() {
                                break;
                            }
                            w2.fetch_add(piece.len() as u64, Ordering::Relaxed);
                            r = wr.flush().await;
                            if r.is_err() {
                                break;
                            }
                            if delay.is_zero() {
                                reactor_turn(PIECE_GAP);
                            } else {
                                tokio::time::sleep(delay).await;
                            }
                        }
                        r
                    }
                    WriteOp::Sleep(d) => {
                        idle = true;
                        tokio::time::sleep(d).await;
                        Ok(())
                    }
                    WriteOp::Shutdown => {
                        let r = wr.shutdown().await;
                        // An h2 stream records its END_STREAM itself.
                        if transport == Transport::Tcp {
                            tr.push(
                                Direction::Sent,
                                "tcp-fin",
                                "half-closed TCP (FIN)".into(),
                                None,
                            );
                        }
                        r
                    }
                };
                if let Err(e) = res.and(wr.flush().await) {
                    tr.push(
                        Direction::Event,
                        "tcp-error",
                        format!("write failed: {e}"),
                        None,
                    );
                    return;
                }
            }
        });
        Peer {
            started,
            transcript,
            rx,
            wtx,
            reader,
            writer,
            pause,
            written,
            rbuf: Vec::new(),
            rpos: 0,
            ended: None,
            eof_reported: false,
            decoder: StreamDecoder::with_config(DecoderConfig::recording(
                match role {
                    Role::Client => HeaderRules::client(),
                    Role::Server => HeaderRules::server(),
                },
                limits,
            )),
            opaque: false,
            pending: VecDeque::new(),
            auto_pong: false,
            close_sent: false,
            close_received: false,
            last_chunk: None,
            transport,
            role,
            compressor: None,
            deflate: None,
        }
    }

    /// Opens the connection and performs the opening handshake with `opts`.
    pub async fn connect(
        target: &Target,
        opts: &ConnectOptions,
        conn: &str,
    ) -> Result<(Peer, HandshakeOutcome), PeerError> {
        let started = Instant::now();
        if target.http2 {
            return Self::connect_h2(target, opts, conn, started).await;
        }
        let mut peer = Peer::open(target, opts, conn, started).await?;
        let req = opts.request(target);
        let outcome = peer
            .handshake(
                &req,
                opts.head_limits,
                Instant::now() + opts.handshake_timeout,
            )
            .await;
        Ok((peer, outcome))
    }

    /// RFC 8441: an extended CONNECT on the run's HTTP/2 connection with the offers of
    /// `opts`; a `200` whose subprotocol and extensions come from the offer is the upgrade.
    async fn connect_h2(
        target: &Target,
        opts: &ConnectOptions,
        conn: &str,
        started: Instant,
    ) -> Result<(Peer, HandshakeOutcome), PeerError> {
        let transcript = Transcript::new(conn, started);
        let creq = opts.request(target);
        let mut req = h2::StreamRequest::websocket(creq.target.clone());
        if !creq.protocols.is_empty() {
            req.headers
                .push(("sec-websocket-protocol".into(), creq.protocols.join(", ")));
        }
        if !creq.extensions.is_empty() {
            req.headers.push((
                "sec-websocket-extensions".into(),
                creq.extensions.join(", "),
            ));
        }
        for (k, v) in &creq.headers {
            let k = k.to_ascii_lowercase();
            // A version given in the options replaces the default 13 (h2.1.3 sends 99).
            if k == "sec-websocket-version" {
                req.headers.retain(|(n, _)| *n != k);
            }
            req.headers.push((k, v.clone()));
        }
        let deadline = Instant::now() + opts.connect_timeout + opts.handshake_timeout;
        let (_, answer) = h2::open_stream(
            &opts.http2,
            target,
            opts.insecure,
            opts.head_limits.max_head,
            opts.connect_timeout,
            &req,
            &transcript,
            deadline,
        )
        .await?;
        let (head, io) = match answer {
            h2::StreamAnswer::Response(head, io) => (head, io),
            h2::StreamAnswer::Refused(reason) => {
                return Err(PeerError::Http2(format!(
                    "the server refused the extended CONNECT: {reason}"
                )))
            }
            h2::StreamAnswer::Timeout => {
                return Err(PeerError::Http2(
                    "no response HEADERS to the extended CONNECT in time".into(),
                ))
            }
        };
        let stream = io.stream_id();
        let outcome = if head.status == 200 {
            match creq.validate_negotiation(&head.headers) {
                Ok(accepted) => HandshakeOutcome::Upgraded {
                    response: head,
                    accepted,
                },
                Err(error) => {
                    transcript.note(format!(
                        "invalid 200 (RFC 6455 §{}): {error}",
                        error.rfc_section()
                    ));
                    HandshakeOutcome::Invalid {
                        response: head,
                        error,
                    }
                }
            }
        } else {
            HandshakeOutcome::Rejected { response: head }
        };
        let peer = Self::from_stream(
            Box::new(io),
            transcript,
            opts.limits,
            started,
            Transport::H2 { stream },
            Role::Client,
        );
        Ok((peer, outcome))
    }

    /// Sends `req` and reads the answer head, bounded by `limits` and `deadline`.
    /// Bytes after the head stay buffered for [`Peer::recv`].
    pub async fn handshake(
        &mut self,
        req: &ClientRequest,
        limits: HeadLimits,
        deadline: Instant,
    ) -> HandshakeOutcome {
        self.send_request_bytes(req.to_bytes());
        match self.read_response_head(limits, deadline).await {
            HandshakeOutcome::Rejected { response } if response.status == 101 => {
                match req.validate_response(&response) {
                    Ok(accepted) => {
                        if let Some(cfg) = accepted.deflate {
                            self.enable_deflate(cfg);
                            if matches!(req.deflate, Some((_, AnswerCheck::Autobahn))) {
                                self.zlib_inflate_window();
                            }
                        }
                        HandshakeOutcome::Upgraded { response, accepted }
                    }
                    Err(error) => {
                        self.transcript.note(format!(
                            "invalid 101 (RFC 6455 §{}): {error}",
                            error.rfc_section()
                        ));
                        HandshakeOutcome::Invalid { response, error }
                    }
                }
            }
            other => other,
        }
    }

    /// Turns permessage-deflate on with the agreed settings: the other side's messages with
    /// RSV1 are inflated (at most the message limit each), [`Peer::send_message`]
    /// compresses; each direction with its own parameters for this peer's role.
    pub fn enable_deflate(&mut self, cfg: DeflateConfig) {
        let limit = self.decoder.config().limits.max_message_size;
        self.decoder
            .set_inflate(Some(cfg.decompressor(self.role, limit)));
        self.compressor = Some(cfg.compressor(self.role));
        self.deflate = Some(cfg);
        self.transcript.note(format!(
            "permessage-deflate in use: server window {}{}, client window {}{}",
            cfg.server_max_window_bits,
            if cfg.server_no_context_takeover {
                ", no context takeover"
            } else {
                ""
            },
            cfg.client_max_window_bits,
            if cfg.client_no_context_takeover {
                ", no context takeover"
            } else {
                ""
            },
        ));
    }

    /// Inflates what the server sends with exactly the agreed window
    /// ([`crate::codec::deflate::Decompressor::strict_window`]): slow, for checks that grade
    /// the server's window. Call before the first message.
    pub fn strict_inflate_window(&mut self) {
        if let Some(cfg) = self.deflate {
            let limit = self.decoder.config().limits.max_message_size;
            self.decoder
                .set_inflate(Some(cfg.decompressor(self.role, limit).strict_window(true)));
        }
    }

    /// Inflates with zlib's window set to the agreed one, as Autobahn's client does
    /// ([`crate::codec::deflate::Decompressor::zlib_window`]), so that a server exceeding the
    /// window fails where it fails under Autobahn. Call before the first message.
    pub fn zlib_inflate_window(&mut self) {
        if let Some(cfg) = self.deflate {
            let limit = self.decoder.config().limits.max_message_size;
            self.decoder
                .set_inflate(Some(cfg.decompressor(self.role, limit).zlib_window()));
        }
    }

    /// The permessage-deflate settings in force, if it was agreed.
    pub fn deflate(&self) -> Option<DeflateConfig> {
        self.deflate
    }

    /// The frames of one data message as this peer sends it: compressed as a whole when
    /// permessage-deflate is in use and `compress` is set (RSV1 on the first frame only,
    /// RFC 7692 §6), then cut into frames of `fragment` payload bytes with Autobahn's rule (a
    /// payload that is an exact multiple gets a final empty frame).
    pub fn message_frames(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        fragment: Option<usize>,
        compress: bool,
    ) -> Vec<FrameSpec> {
        let compressed;
        let (data, rsv) = match self.compressor.as_mut().filter(|_| compress) {
            Some(c) => {
                compressed = c.compress(payload);
                (&compressed[..], sent_rsv(opcode, true))
            }
            None => (payload, 0),
        };
        let mut frames = Vec::new();
        let f = fragment.filter(|&f| f > 0 && data.len() > f);
        match f {
            None => frames.push(FrameSpec::new(opcode, true, data)),
            Some(f) => {
                for (i, piece) in data.chunks(f).enumerate() {
                    let op = if i == 0 { opcode } else { OpCode::Continuation };
                    frames.push(FrameSpec::new(op, false, piece));
                }
                if data.len().is_multiple_of(f) {
                    frames.push(FrameSpec::new(OpCode::Continuation, true, Vec::new()));
                } else if let Some(last) = frames.last_mut() {
                    last.fin = true;
                }
            }
        }
        frames[0].rsv = rsv;
        frames
    }

    /// Sends one data message ([`Peer::message_frames`]), all frames in one write.
    pub fn send_message(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        fragment: Option<usize>,
        compress: bool,
    ) {
        let mut bytes = Vec::with_capacity(payload.len() / 2 + 64);
        let frames = self.message_frames(opcode, payload, fragment, compress);
        let (n, wire) = (
            frames.len(),
            frames.iter().map(|f| f.payload.len()).sum::<usize>(),
        );
        let first = frames.first().map(|f| (f.rsv, f.payload.len()));
        for f in &frames {
            self.encode_frame_to(f, &f.payload, &mut bytes);
        }
        // One entry per message, not per frame: a 1000-message case with 256-byte fragments
        // would otherwise format hundreds of megabytes of transcript it then throws away.
        let rsv1 = first.is_some_and(|(rsv, _)| rsv != 0);
        self.transcript.push(
            Direction::Sent,
            "message",
            format!(
                "{} message of {} bytes{}, {n} frame(s) with {wire} payload bytes",
                opcode.name(),
                payload.len(),
                if rsv1 { ", compressed (RSV1)" } else { "" },
            ),
            Some(&bytes[..bytes.len().min(64)]),
        );
        let _ = self.wtx.send(WriteOp::Bytes(bytes, Pacing::Plain));
    }

    /// Queues raw request bytes (for handshake tests that hand-craft the request).
    pub fn send_request_bytes(&mut self, bytes: Vec<u8>) {
        let text = String::from_utf8_lossy(&bytes);
        self.transcript.push(
            Direction::Sent,
            "http",
            text.lines().next().unwrap_or("").to_owned(),
            Some(&bytes),
        );
        let _ = self.wtx.send(WriteOp::Bytes(bytes, Pacing::Plain));
    }

    /// Reads an HTTP response head without judging it: every complete head, 101 included,
    /// comes back as `Rejected`; [`Peer::handshake`] applies the §4.1 validation.
    pub async fn read_response_head(
        &mut self,
        limits: HeadLimits,
        deadline: Instant,
    ) -> HandshakeOutcome {
        loop {
            match parse_response(&self.rbuf, limits) {
                Err(e) => {
                    self.transcript.push(
                        Direction::Recv,
                        "http",
                        format!("unparseable answer: {e}"),
                        Some(&self.rbuf),
                    );
                    return HandshakeOutcome::Malformed(e);
                }
                Ok(Status::Complete(head, n)) => {
                    let raw: Vec<u8> = self.rbuf.drain(..n).collect();
                    self.transcript.push(
                        Direction::Recv,
                        "http",
                        format!(
                            "HTTP/{}.{} {} {}",
                            head.version.0, head.version.1, head.status, head.reason
                        ),
                        Some(&raw),
                    );
                    return HandshakeOutcome::Rejected { response: head };
                }
                Ok(Status::Partial(_)) => {}
            }
            if let Some((_, err)) = &self.ended {
                let received = std::mem::take(&mut self.rbuf);
                self.note_eof_once(err.clone());
                return HandshakeOutcome::ClosedBeforeResponse { received };
            }
            match tokio::time::timeout_at(deadline.into(), self.rx.recv()).await {
                Err(_) => {
                    self.transcript.note("handshake answer timed out");
                    return HandshakeOutcome::Timeout {
                        received: self.rbuf.clone(),
                    };
                }
                Ok(Some(Chunk::Data(d, _))) => self.rbuf.extend_from_slice(&d),
                Ok(Some(Chunk::End(t, e))) => self.ended = Some((t, e)),
                Ok(None) => self.ended = Some((Instant::now(), None)),
            }
        }
    }

    fn note_eof_once(&mut self, err: Option<String>) {
        if !self.eof_reported {
            self.eof_reported = true;
            if let Transport::H2 { .. } = self.transport {
                // The stream's own entries name the END_STREAM or RST_STREAM. The server
                // ended its side in order: end ours too, after what is queued (RFC 8441 §5).
                if err.is_none() {
                    let _ = self.wtx.send(WriteOp::Shutdown);
                }
                return;
            }
            match err {
                None => self.transcript.push(
                    Direction::Recv,
                    "tcp-eof",
                    format!("{} closed TCP", self.other_end()),
                    None,
                ),
                Some(e) => self.transcript.push(
                    Direction::Recv,
                    "tcp-error",
                    format!("connection error: {e}"),
                    None,
                ),
            }
        }
    }

    /// The role the kit plays on this connection.
    pub fn role(&self) -> Role {
        self.role
    }

    /// What the other end is called in transcripts.
    fn other_end(&self) -> &'static str {
        match self.role {
            Role::Client => "server",
            Role::Server => "client",
        }
    }

    /// Milliseconds since the peer was opened.
    pub fn now_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// The instant times are counted from.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// A copy of the transcript entries.
    pub fn transcript_entries(&self) -> Vec<TranscriptEntry> {
        self.transcript.entries()
    }

    /// Bytes actually written to the socket so far.
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The HTTP/2 stream id, when the peer runs over HTTP/2.
    pub fn h2_stream(&self) -> Option<u32> {
        match self.transport {
            Transport::H2 { stream } => Some(stream),
            Transport::Tcp => None,
        }
    }

    /// Whether the server has ended TCP (seen by [`Peer::recv`]).
    pub fn is_closed(&self) -> bool {
        self.ended.is_some() && self.rpos == self.rbuf.len()
    }

    /// Whether we sent a close frame through [`Peer::send_close`] or [`Peer::send_frame`].
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether a close frame from the server was seen.
    pub fn close_received(&self) -> bool {
        self.close_received
    }

    /// Answer every ping with a pong carrying the same payload, until we send a close.
    pub fn set_auto_pong(&mut self, on: bool) {
        self.auto_pong = on;
    }

    /// Stop (or resume) reading from the socket, as a stalled client does; the server's
    /// writes then back up in the TCP buffers.
    pub fn set_reading(&mut self, on: bool) {
        let _ = self.pause.send(!on);
        self.transcript.note(if on {
            "resumed reading"
        } else {
            "stopped reading (half-open peer)"
        });
    }

    /// Changes the header rules applied to server frames (e.g. RSV1 after deflate).
    pub fn set_rules(&mut self, rules: HeaderRules) {
        self.decoder.set_rules(rules);
    }

    /// The message and frame size limits applied to what the other end sends.
    pub fn limits(&self) -> Limits {
        self.decoder.config().limits
    }

    /// Replaces the size limits; for a caller that learns them after the opening handshake
    /// (the server role learns the case from the request). Only before the first frame:
    /// the decoder starts afresh, inflating with the new message limit if
    /// permessage-deflate is on.
    pub fn set_limits(&mut self, limits: Limits) {
        let cfg = DecoderConfig {
            limits,
            ..*self.decoder.config()
        };
        self.decoder = StreamDecoder::with_config(cfg);
        if let Some(d) = self.deflate {
            self.decoder
                .set_inflate(Some(d.decompressor(self.role, limits.max_message_size)));
        }
    }

    /// Whether data messages are kept, or only validated and counted
    /// ([`DecoderConfig::keep_data`]) for a caller that needs their type and length only.
    pub fn set_keep_data(&mut self, keep: bool) {
        self.decoder.set_keep_data(keep);
    }

    fn record_sent_frames(&self, bytes: &[u8], note: &str) {
        let mut rest = bytes;
        let mut count = 0;
        while let Ok(Status::Complete(h, n)) = parse_header(
            rest,
            HeaderRules {
                role: None,
                allowed_rsv: 7,
            },
        ) {
            let end = (n as u64 + h.payload_len).min(rest.len() as u64) as usize;
            let mut preview = rest[n..end.min(n + 64)].to_vec();
            if let Some(k) = h.mask {
                apply_mask(&mut preview, k, 0);
            }
            let mut s = transcript::describe_frame(&h, &preview);
            if !note.is_empty() {
                s = format!("{s} [{note}]");
            }
            self.transcript
                .push(Direction::Sent, "frame", s, Some(&rest[..end]));
            rest = &rest[end..];
            count += 1;
            if rest.is_empty() || count > 64 {
                break;
            }
        }
        if !rest.is_empty() {
            self.transcript.push(
                Direction::Sent,
                "bytes",
                format!("{} raw bytes [{note}]", rest.len()),
                Some(rest),
            );
        }
    }

    /// Queues bytes (frames or not) to be written as `pacing` says.
    pub fn send_paced(&mut self, bytes: Vec<u8>, pacing: Pacing) {
        let note = match pacing {
            Pacing::Plain => String::new(),
            Pacing::Sync => "own write".into(),
            Pacing::Chop { size, delay } if delay.is_zero() => format!("in {size}-byte writes"),
            Pacing::Chop { size, delay } => {
                format!("in {size}-byte writes, {} ms apart", delay.as_millis())
            }
        };
        self.record_sent_frames(&bytes, &note);
        let _ = self.wtx.send(WriteOp::Bytes(bytes, pacing));
    }

    /// Queues raw bytes for one write.
    pub fn send_raw(&mut self, bytes: Vec<u8>) {
        self.send_paced(bytes, Pacing::Plain);
    }

    /// Queues raw bytes written in pieces of `chop` bytes with `delay` between pieces
    /// (zero = a reactor turn, as Autobahn's chopsize does).
    pub fn send_chopped(&mut self, bytes: Vec<u8>, chop: usize, delay: Duration) {
        let pacing = match Pacing::chop(chop) {
            Pacing::Chop { size, .. } => Pacing::Chop { size, delay },
            other => other,
        };
        self.send_paced(bytes, pacing);
    }

    /// Queues a pause between writes.
    pub fn send_pause(&mut self, d: Duration) {
        let _ = self.wtx.send(WriteOp::Sleep(d));
    }

    /// Encodes `frame` (a random mask key where it asks for one) and queues it. A close
    /// frame marks the close as sent. In the server role [`Masking::Random`] means "as a
    /// server sends": unmasked (§5.1); an explicit key or `Unmasked` is kept as asked.
    pub fn send_frame(&mut self, frame: &FrameSpec, pacing: Pacing) {
        if frame.opcode == OpCode::Close {
            self.close_sent = true;
        }
        let mut out = Vec::with_capacity(frame.payload.len() + 14);
        self.encode_frame_to(frame, &frame.payload, &mut out);
        self.send_paced(out, pacing);
    }

    /// Appends `frame` carrying `payload` to `out`, masked as this peer's role sends it:
    /// [`Masking::Random`] is a fresh random key for a client and no mask for a server.
    pub fn encode_frame_to(&self, frame: &FrameSpec, payload: &[u8], out: &mut Vec<u8>) {
        if self.role == Role::Server && frame.mask == Masking::Random {
            let unmasked = FrameSpec {
                opcode: frame.opcode,
                fin: frame.fin,
                rsv: frame.rsv,
                mask: Masking::Unmasked,
                payload: Vec::new(),
                length_encoding: frame.length_encoding,
                declared_len: frame.declared_len,
            };
            unmasked.encode_payload_to(payload, [0; 4], out);
        } else {
            frame.encode_payload_to(payload, rand::random(), out);
        }
    }

    /// Encodes a conforming masked frame.
    pub fn frame_bytes(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        FrameSpec::new(opcode, fin, payload).encode(rand::random())
    }

    /// Sends a close frame through the protocol path (marks the close as sent).
    pub fn send_close(&mut self, code: Option<u16>, reason: &[u8]) {
        let payload = match code {
            Some(c) => crate::codec::close::close_payload(c, reason),
            None => Vec::new(),
        };
        self.send_frame(&FrameSpec::new(OpCode::Close, true, payload), Pacing::Plain);
    }

    /// Half-closes TCP after everything queued before it has been written.
    pub fn shutdown_write(&mut self) {
        let _ = self.wtx.send(WriteOp::Shutdown);
    }

    /// Drops TCP at once, without a close frame; queued writes are discarded.
    pub fn drop_tcp(&mut self) {
        self.reader.abort();
        self.writer.abort();
        match self.transport {
            Transport::Tcp => self.transcript.push(
                Direction::Sent,
                "tcp-drop",
                "dropped TCP without a close frame".into(),
                None,
            ),
            // After the server's END_STREAM, ending ours is the orderly close; otherwise
            // the reset is the analogue of dropping TCP (RFC 8441 §5).
            Transport::H2 { stream } if matches!(self.ended, Some((_, None))) => {
                self.transcript.push(
                    Direction::Sent,
                    "h2",
                    format!("END_STREAM stream {stream} (the kit ends its side)"),
                    None,
                )
            }
            Transport::H2 { stream } => self.transcript.push(
                Direction::Sent,
                "h2",
                format!("RST_STREAM stream {stream} CANCEL (the kit drops the WebSocket)"),
                None,
            ),
        }
        self.ended
            .get_or_insert((Instant::now(), Some("dropped by the kit".into())));
        self.eof_reported = true;
    }

    /// Waits for the next event, at most until `deadline`.
    pub async fn recv(&mut self, deadline: Instant) -> PeerEvent {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return ev;
            }
            if let Some(ev) = self.decode_step() {
                return ev;
            }
            if let Some((t, err)) = self.ended.clone() {
                // Nothing more will arrive; whatever is buffered cannot complete a frame.
                self.rbuf.clear();
                self.rpos = 0;
                self.note_eof_once(err.clone());
                return PeerEvent::Eof {
                    t_ms: self.ms(t),
                    error: err,
                };
            }
            match tokio::time::timeout_at(deadline.into(), self.rx.recv()).await {
                Err(_) => return PeerEvent::Timeout,
                Ok(Some(Chunk::Data(d, t))) => {
                    self.last_chunk = Some(t);
                    if self.rpos > 0 && self.rpos == self.rbuf.len() {
                        self.rbuf.clear();
                        self.rpos = 0;
                    } else if self.rpos >= 64 * 1024 {
                        self.rbuf.drain(..self.rpos);
                        self.rpos = 0;
                    }
                    self.rbuf.extend_from_slice(&d);
                }
                Ok(Some(Chunk::End(t, e))) => self.ended = Some((t, e)),
                Ok(None) => self.ended = Some((Instant::now(), None)),
            }
        }
    }

    fn ms(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.started).as_secs_f64() * 1000.0
    }

    fn violation(&mut self, error: FrameError) -> PeerEvent {
        let t_ms = self.now_ms();
        self.transcript.push(
            Direction::Event,
            "violation",
            format!("{} broke RFC 6455: {error}", self.other_end()),
            None,
        );
        PeerEvent::Violation { t_ms, error }
    }

    /// Decodes what is buffered as far as one frame; queues what that produced and returns
    /// the first of it.
    fn decode_step(&mut self) -> Option<PeerEvent> {
        if self.opaque {
            self.rbuf.clear();
            self.rpos = 0;
            return None;
        }
        if self.rpos == self.rbuf.len() {
            return None;
        }
        let step = self.decoder.decode(&self.rbuf[self.rpos..]);
        // Violations recorded on the way come first, also when the call then failed (a
        // 64-bit length with the top bit set, then over the size limit).
        let found: Vec<FrameError> = self
            .decoder
            .violations()
            .iter()
            .map(|&v| v.into())
            .collect();
        for e in found {
            let ev = self.violation(e);
            self.pending.push_back(ev);
        }
        match step {
            Err(e) => {
                self.opaque = true;
                self.transcript
                    .note("framing lost (a limit was exceeded); waiting for TCP end");
                self.rbuf.clear();
                self.rpos = 0;
                let ev = self.violation(e);
                self.pending.push_back(ev);
                self.pending.pop_front()
            }
            Ok((n, frame)) => {
                self.rpos += n;
                if let Some(f) = frame {
                    let t_ms = self
                        .last_chunk
                        .map(|t| self.ms(t))
                        .unwrap_or_else(|| self.now_ms());
                    let ev = self.finish_frame(f, t_ms);
                    self.pending.push_back(ev);
                }
                self.pending.pop_front()
            }
        }
    }

    fn finish_frame(&mut self, frame: DecodedFrame, t_ms: f64) -> PeerEvent {
        self.transcript.push(
            Direction::Recv,
            "frame",
            transcript::describe_frame(&frame.header, &frame.preview),
            Some(&frame.preview),
        );
        match &frame.event {
            Some(Event::Close(_)) => self.close_received = true,
            Some(Event::Ping(p)) if self.auto_pong && !self.close_sent => {
                let pong = FrameSpec::new(OpCode::Pong, true, p.clone());
                self.send_frame(&pong, Pacing::Plain);
            }
            _ => {}
        }
        PeerEvent::Frame { t_ms, frame }
    }
}
