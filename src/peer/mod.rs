//! The tokio wire peer: a client that sends exactly the bytes a test asks for and records,
//! with timestamps, everything that comes back.
//!
//! The peer is deliberately dumb about policy. It never answers anything on its own unless
//! told to ([`Peer::set_auto_pong`]); the suite and the scenario engine decide what a
//! conforming exchange looks like. What it guarantees is safety against hostile servers:
//!
//! * reads and writes run in two background tasks, so a large echo can never deadlock
//!   against a large send, and the caller only ever waits with a deadline ([`Peer::recv`]);
//! * every buffer is bounded: HTTP heads by [`HeadLimits`](crate::codec::http::HeadLimits),
//!   messages by [`Limits`], the transcript by [`transcript::MAX_BYTES`], the read queue by
//!   a small channel;
//! * server frames are read by the codec's one decoder in its recording configuration
//!   ([`DecoderConfig::recording`]): every violation is reported ([`PeerEvent::Violation`])
//!   and reading goes on as Autobahn's client does, so the frame that broke a rule and what
//!   follows it (a pong, a close frame) are still delivered; only a capacity limit loses
//!   the framing, after which the peer just waits for TCP end;
//! * writes are paced as asked ([`Pacing`]), with Autobahn's reactor turn between pieces.
//!
//! The files: this one holds the [`Peer`] and what it does once connected (sending,
//! [`Peer::recv`] and the decoding behind it); `connect` dials and performs the client's
//! opening handshake, `accept` the server's; `head` reads the HTTP head both wait for;
//! `tasks` runs the reader and writer tasks and the pacing; `outcome` holds what the peer
//! reports ([`PeerError`], [`HandshakeOutcome`], [`PeerEvent`]).

mod accept;
mod connect;
pub mod h2;
mod head;
pub mod http;
mod outcome;
pub mod target;
mod tasks;
pub mod tls;
pub mod transcript;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::codec::deflate::{sent_rsv, Compressor, DeflateConfig, WindowBits};
use crate::codec::error::FrameError;
use crate::codec::frame::{parse_header, FrameSpec, HeaderRules, Masking, OpCode, Status};
use crate::codec::mask::apply_mask;
use crate::codec::message::{DecodedFrame, DecoderConfig, Event, Limits, StreamDecoder};
use crate::report::{Direction, TranscriptEntry};
use tasks::{Chunk, Stream, WriteOp};

pub use crate::codec::frame::Role;
pub use accept::{AcceptOptions, AcceptOutcome, RequestOutcome};
pub use connect::ConnectOptions;
pub use outcome::{HandshakeOutcome, PeerError, PeerEvent};
pub use target::{Target, TargetError};
pub use tasks::{Pacing, PIECE_GAP};
pub use transcript::Transcript;

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
    /// A client peer over a byte stream the caller has already opened (an in-process duplex
    /// in tests): no address check and no TLS; the opening handshake is [`Peer::handshake`]'s.
    pub fn over_stream<S>(stream: S, opts: &ConnectOptions, conn: &str) -> Peer
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let started = Instant::now();
        let transcript = Transcript::new(conn, started);
        let (limits, role) = (opts.limits, Role::Client);
        Self::from_stream(
            Box::new(stream),
            transcript,
            limits,
            started,
            Transport::Tcp,
            role,
        )
    }

    /// Wraps a connected stream (either role, any transport): starts the reader and writer
    /// tasks; the decoder applies the masking rule of `role` and `limits`.
    fn from_stream(
        stream: Box<dyn Stream>,
        transcript: Transcript,
        limits: Limits,
        started: Instant,
        transport: Transport,
        role: Role,
    ) -> Peer {
        let (rd, wr) = tokio::io::split(stream);
        let (rx, pause, reader) = tasks::spawn_reader(rd);
        let written = Arc::new(AtomicU64::new(0));
        let (wtx, writer) = tasks::spawn_writer(wr, written.clone(), transcript.clone(), transport);
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
        match self.compressor.as_mut().filter(|_| compress) {
            Some(c) => {
                let compressed = c.compress(payload);
                cut_message(opcode, &compressed, sent_rsv(opcode, true), fragment)
            }
            None => cut_message(opcode, payload, 0, fragment),
        }
    }

    /// Sends one data message ([`Peer::message_frames`]), all frames in one write.
    pub fn send_message(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        fragment: Option<usize>,
        compress: bool,
    ) {
        let frames = self.message_frames(opcode, payload, fragment, compress);
        self.send_message_frames(opcode, payload.len(), &frames);
    }

    /// (window, context reset after each message) of the messages this peer compresses,
    /// when permessage-deflate was agreed. With a reset, a message compresses to the same
    /// bytes whenever it is sent, which lets [`Peer::send_precompressed`] take bytes
    /// compressed once for many connections.
    pub fn compression(&self) -> Option<(WindowBits, bool)> {
        self.compressor
            .as_ref()
            .map(|c| (c.window(), c.no_context_takeover()))
    }

    /// Sends a message of `len` bytes whose compressed payload (RFC 7692 §7.2.1, trailing
    /// `00 00 ff ff` removed) is `compressed`: framed as [`Peer::send_message`] frames a
    /// message it compresses itself. Only meaningful when [`Peer::compression`] says the
    /// context is reset per message: the bytes must be what this peer's compressor would
    /// produce, or the receiver's window would disagree with ours.
    pub fn send_precompressed(
        &mut self,
        opcode: OpCode,
        len: usize,
        compressed: &[u8],
        fragment: Option<usize>,
    ) {
        let frames = cut_message(opcode, compressed, sent_rsv(opcode, true), fragment);
        self.send_message_frames(opcode, len, &frames);
    }

    fn send_message_frames(&mut self, opcode: OpCode, len: usize, frames: &[FrameSpec]) {
        let wire = frames.iter().map(|f| f.payload.len()).sum::<usize>();
        let mut bytes = Vec::with_capacity(wire + 14 * frames.len());
        for f in frames {
            self.encode_frame_to(f, &f.payload, &mut bytes);
        }
        // One entry per message, not per frame: a 1000-message case with 256-byte fragments
        // would otherwise format hundreds of megabytes of transcript it then throws away.
        let rsv1 = frames.first().is_some_and(|f| f.rsv != 0);
        self.transcript.push(
            Direction::Sent,
            "message",
            format!(
                "{} message of {len} bytes{}, {} frame(s) with {wire} payload bytes",
                opcode.name(),
                if rsv1 { ", compressed (RSV1)" } else { "" },
                frames.len(),
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

/// A message's (possibly compressed) payload `data` as frames: one frame, or frames of
/// `fragment` payload bytes with Autobahn's rule (a payload that is an exact multiple gets a
/// final empty frame); `rsv` goes on the first frame only (RFC 7692 §6).
fn cut_message(opcode: OpCode, data: &[u8], rsv: u8, fragment: Option<usize>) -> Vec<FrameSpec> {
    let mut frames = Vec::new();
    match fragment.filter(|&f| f > 0 && data.len() > f) {
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
