//! Autobahn's fuzzing client, as a state machine on top of the wire [`Peer`].
//! (Over 800 lines for a reason: one state machine whose timers, handlers and violation
//! rules share the same state; split, each part would need all of it.)
//!
//! One case = one connection. The machine reproduces the protocol behaviour of
//! autobahn-python's client that the verdicts depend on (reference sections 1.2-1.6):
//!
//! * states OPEN → CLOSING → (TCP gone); `closed_by_me` means "the kit sent the first close
//!   frame", `was_clean` "a close frame came from the server and no kit timeout fired";
//! * timers from case start: the case's kill/close timer and staged `continue` timers; after
//!   the kit's own close a 1 s close-handshake timer, after the server's reply a 1 s
//!   server-TCP-drop timer; the 5 s opening handshake limit is `ConnectOptions::handshake_timeout`;
//! * pings from the server are answered while OPEN and not recorded;
//! * every frame the server sends is an event for the comparison, violation or not: the peer
//!   reports each violation before the frame it belongs to and still delivers the frame, as
//!   autobahn-python's client keeps processing a frame after failing the connection;
//! * each violation fails the connection as that client does: close 1002 (1007 for UTF-8,
//!   1009 for a size limit) if OPEN, TCP drop if already CLOSING, so a server writing
//!   garbage costs no timer; data messages after a failure are discarded, pongs still count;
//!   after the drop nothing more is processed, except that a close frame whose code or
//!   reason was the violation still sets the close code (it is read before it is checked);
//! * "finish when done": once the received events equal every expected list, the kit closes
//!   with the first expected code.
//!
//! Differences from Autobahn, all in the direction of always terminating: after a
//! server-initiated close the kit waits at most [`SERVER_CLOSE_GUARD`] for the server to
//! close TCP when no kill timer is pending (Autobahn would wait forever), and every case has
//! a safety cap and the run's global deadline. Close codes 1012-1014 from the server are
//! valid here (IANA registry), while Autobahn's fuzzer rejects them. Messages more than an
//! eighth (at least 1 MiB) larger than the largest the case sends are refused with 1009, so
//! that no server can make the kit buffer without bound; Autobahn buffers them.
//!
//! Write pacing of the limits cases (9.x), for speed, with Autobahn's verdict rules: 9.7/9.8
//! send their 1000 messages pipelined (Autobahn sends one per echo), 9.5/9.6 write their
//! chops back to back (Autobahn takes a reactor turn between chops). Their durations then
//! measure throughput, not round trips; their verdicts are Autobahn's, which the differential
//! test shows on every server it compares.

use std::time::{Duration, Instant};

use super::spec::{op, Action, CaseTimer, DeflateEcho, FrameSpec, FuzzSpec, Handler, Obs, Pacing};
use super::verdict::Observation;
use crate::codec::close::close_payload;
use crate::codec::error::{FrameError, ProtocolError};
use crate::codec::frame::{parse_header, HeaderRules, OpCode, Role, Status};
use crate::codec::mask::apply_mask;
use crate::codec::message::{DecodedFrame, Event, Limits, Message};
use crate::peer::{ConnectOptions, HandshakeOutcome, Peer, PeerEvent, Target};
use crate::report::{TranscriptEntry, Verdict};

/// Close-handshake timer: the server must answer the kit's close within this time.
pub const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);
/// Server-TCP-drop timer: after its close reply the server must close TCP within this time.
pub const SERVER_DROP_TIMEOUT: Duration = Duration::from_secs(1);
/// After a server-initiated close with no kill timer pending, how long the kit waits for the
/// server to close TCP before dropping it (counts as dropped by the kit).
pub const SERVER_CLOSE_GUARD: Duration = Duration::from_secs(2);
/// Pings answered per case; a flooding server cannot make the kit queue pongs without bound.
pub const PING_BUDGET: usize = 1000;
/// Events recorded per case.
pub const MAX_EVENTS: usize = 100_000;
/// Payload bytes recorded per case.
pub const MAX_RECORDED_BYTES: usize = 128 << 20;
/// Events already delivered that are processed before a due timer fires.
const DRAIN_BEFORE_TIMERS: usize = 64;

/// Everything one fuzzing connection produced.
#[derive(Debug, Clone)]
pub struct FuzzRun {
    /// Input to the verdict functions.
    pub obs: Observation,
    /// One-line description of the opening handshake (or why there was none).
    pub handshake: String,
    /// `Server` header of the 101, if any.
    pub server_header: Option<String>,
    /// Wire transcript.
    pub transcript: Vec<TranscriptEntry>,
    /// Wall time from the TCP connect to the end of the case (Autobahn counts from the end
    /// of the opening handshake; the difference is the handshake round trip).
    pub duration_ms: f64,
    /// The run's global deadline cut the case short.
    pub cut_by_deadline: bool,
    /// Reason text of the server's close frame.
    pub remote_close_reason: Option<String>,
    /// First rule the server broke, as the kit saw it.
    pub violation: Option<String>,
    /// How TCP ended.
    pub tcp_end: String,
    /// Data messages the server sent in total (recorded or not).
    pub messages_seen: usize,
    /// Frames the server sent in total.
    pub frames_seen: u64,
    /// Data frames (text, binary, continuation) among them.
    pub data_frames_seen: u64,
    /// Pings the server sent, and how many of them the kit answered.
    pub pings_seen: (u64, usize),
    /// Facts about every frame the server sent, for the run-level checks (x.2.2-x.2.4).
    pub wire: WireFacts,
}

/// What the run-level checks need from one connection: counts over every frame the server
/// sent (not only the recorded ones), with the first offending frame described.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireFacts {
    /// Frames seen.
    pub frames: u64,
    /// Frames with the MASK bit set (§5.1: a server MUST NOT mask).
    pub masked: u64,
    /// Frames whose length is not in the minimal encoding (§5.2: MUST be minimal).
    pub non_minimal: u64,
    /// Data frames after the server's own close frame (§5.5.1: MUST NOT send any).
    pub data_after_close: u64,
    /// The first offending frame of each kind: (kind, description).
    pub first: Vec<(&'static str, String)>,
}

impl WireFacts {
    fn see(&mut self, h: &crate::codec::frame::FrameHeader, close_seen: bool) {
        self.frames += 1;
        let data = matches!(
            h.opcode,
            OpCode::Text | OpCode::Binary | OpCode::Continuation
        );
        for (hit, kind, n) in [
            (h.mask.is_some(), "masked", &mut self.masked),
            (!h.is_minimal_length(), "non-minimal", &mut self.non_minimal),
            (
                close_seen && data,
                "data-after-close",
                &mut self.data_after_close,
            ),
        ] {
            if hit {
                *n += 1;
                if !self.first.iter().any(|(k, _)| *k == kind) {
                    self.first.push((
                        kind,
                        format!(
                            "frame #{}: {} fin={} len={}{}",
                            self.frames,
                            h.opcode.name(),
                            u8::from(h.fin),
                            h.payload_len,
                            match h.length_encoding.extra_bytes() {
                                2 => " (16-bit length form)",
                                8 => " (64-bit length form)",
                                _ => "",
                            }
                        ),
                    ));
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Open,
    Closing,
    /// The kit dropped TCP: nothing more is processed.
    Closed,
}

struct Machine<'a> {
    spec: &'a FuzzSpec,
    peer: Peer,
    t0: Instant,
    st: St,
    obs: Observation,
    /// Autobahn's `failedByMe`: data messages are no longer recorded.
    failed_by_me: bool,
    /// The kit dropped TCP on a violation of the close frame being read, which is still
    /// processed as far as its close code (see `Machine::on_frame`).
    close_after_drop: bool,
    /// Server role: the frame being streamed by pre-encoded pieces (mask key, payload bytes
    /// still to come, offset in the payload).
    streamed: Option<([u8; 4], u64, usize)>,
    /// A paced write was queued in the stage being run: later writes of the stage queue
    /// behind it, each on its own (Autobahn's send queue).
    queued: bool,
    close_hs_at: Option<Instant>,
    drop_at: Option<Instant>,
    guard_at: Option<Instant>,
    cap_at: Instant,
    timer: Option<(Instant, CaseTimer)>,
    next_stage: usize,
    pings: usize,
    seq_sent: usize,
    seq_echoes: usize,
    stored: usize,
    violation: Option<String>,
    ended: bool,
    tcp_end: Option<String>,
    close_reason: Option<String>,
    messages_seen: usize,
    frames_seen: u64,
    data_frames_seen: u64,
    pings_seen: u64,
    wire: WireFacts,
    server_close_seen: bool,
    /// Bytes of a frame written in pieces that are still to be written.
    raw_left: u64,
    /// Pongs held back until that frame is complete.
    held_pongs: Vec<Vec<u8>>,
}

/// The message limit for a case: the largest message or frame it sends plus an eighth, and
/// at least 1 MiB more, never above what the caller allows. An echo server never sends more
/// than it got; a server that does cannot make the kit buffer much beyond what it sent.
/// The 9.x cases keep no message (type and length decide), so the caller's limit applies.
pub(crate) fn case_limits(spec: &FuzzSpec, allowed: Limits) -> Limits {
    if spec.expect.handler.is_some() {
        return allowed;
    }
    let largest = spec
        .stages
        .iter()
        .flat_map(|s| &s.actions)
        .map(|a| match a {
            Action::Frame(f, _) => f.payload.len(),
            Action::Message { payload, .. } => payload.len(),
            Action::Close(p) | Action::Bytes(p) => p.len(),
            Action::Chunked { frame, .. } => frame.payload.len(),
        })
        .max()
        .unwrap_or(0) as u64;
    let limit = largest.saturating_add((largest / 8).max(1 << 20));
    Limits {
        max_message_size: limit.min(allowed.max_message_size),
        max_frame_size: limit.min(allowed.max_frame_size),
    }
}

/// Runs one fuzzing case on a fresh connection; never runs past `hard_deadline`.
pub async fn run(
    target: &Target,
    opts: &ConnectOptions,
    spec: &FuzzSpec,
    hard_deadline: Instant,
) -> FuzzRun {
    let wall = Instant::now();
    let mut opts = ConnectOptions {
        limits: case_limits(spec, opts.limits),
        ..opts.clone()
    };
    if let Some(Handler::Deflate(d)) = &spec.expect.handler {
        opts.deflate = Some((d.offers.clone(), super::autobahn::cat12_13::ANSWER_CHECK));
    }
    let connected =
        tokio::time::timeout_at(hard_deadline.into(), Peer::connect(target, &opts, "main")).await;
    let not_opened = |handshake: String, transcript, cut| FuzzRun {
        obs: Observation::default(),
        handshake,
        server_header: None,
        transcript,
        duration_ms: wall.elapsed().as_secs_f64() * 1000.0,
        cut_by_deadline: cut,
        remote_close_reason: None,
        violation: None,
        tcp_end: "no WebSocket connection".into(),
        messages_seen: 0,
        frames_seen: 0,
        data_frames_seen: 0,
        pings_seen: (0, 0),
        wire: WireFacts::default(),
    };
    let (mut peer, outcome) = match connected {
        Err(_) => {
            return not_opened(
                "run deadline reached while connecting".into(),
                Vec::new(),
                true,
            )
        }
        Ok(Err(e)) => return not_opened(format!("no connection: {e}"), Vec::new(), false),
        Ok(Ok(x)) => x,
    };
    let server_header = match &outcome {
        HandshakeOutcome::Upgraded { response, .. } => response.headers.get_str("server"),
        _ => None,
    };
    if !outcome.is_upgraded() {
        peer.drop_tcp();
        let cut = Instant::now() >= hard_deadline;
        return not_opened(
            format!("opening handshake failed: {}", outcome.describe()),
            peer.transcript_entries(),
            cut,
        );
    }
    drive_case(
        peer,
        spec,
        hard_deadline,
        wall,
        outcome.describe(),
        server_header,
    )
    .await
}

/// Runs one fuzzing case on a connection the kit accepted and upgraded (the server role:
/// testing a client, as Autobahn's fuzzingserver does); never runs past `hard_deadline`.
/// The case clock starts now, when the 101 has been queued, as Autobahn's `onOpen`.
pub async fn run_accepted(
    mut peer: Peer,
    spec: &FuzzSpec,
    hard_deadline: Instant,
    handshake: String,
) -> FuzzRun {
    peer.set_limits(case_limits(spec, peer.limits()));
    drive_case(peer, spec, hard_deadline, Instant::now(), handshake, None).await
}

/// The case on an open connection, whichever role the kit plays.
async fn drive_case(
    mut peer: Peer,
    spec: &FuzzSpec,
    hard_deadline: Instant,
    wall: Instant,
    handshake: String,
    server_header: Option<String>,
) -> FuzzRun {
    if matches!(
        spec.expect.handler,
        Some(Handler::FirstMessage { .. } | Handler::Sequential { .. })
    ) {
        // Autobahn's 9.x handlers look at each echo's type and length only.
        peer.set_keep_data(false);
    }
    let t0 = Instant::now();
    let last_stage = spec.stages.iter().map(|s| s.at).max().unwrap_or_default();
    let longest_timer = spec
        .stages
        .iter()
        .filter_map(|s| s.arm.map(|t| t.after()))
        .max()
        .unwrap_or_default();
    let cap_at = t0
        + last_stage
        + longest_timer
        + CLOSE_HANDSHAKE_TIMEOUT
        + SERVER_DROP_TIMEOUT
        + SERVER_CLOSE_GUARD;
    let mut m = Machine {
        spec,
        peer,
        t0,
        st: St::Open,
        obs: Observation {
            opened: true,
            ..Default::default()
        },
        failed_by_me: false,
        close_after_drop: false,
        streamed: None,
        queued: false,
        close_hs_at: None,
        drop_at: None,
        guard_at: None,
        cap_at,
        timer: None,
        next_stage: 0,
        pings: 0,
        seq_sent: 1,
        seq_echoes: 0,
        stored: 0,
        violation: None,
        ended: false,
        tcp_end: None,
        close_reason: None,
        messages_seen: 0,
        frames_seen: 0,
        data_frames_seen: 0,
        pings_seen: 0,
        wire: WireFacts::default(),
        server_close_seen: false,
        raw_left: 0,
        held_pongs: Vec::new(),
    };
    let cut = m.drive(hard_deadline).await;
    let duration_ms = wall.elapsed().as_secs_f64() * 1000.0;
    if m.peer.role() == Role::Server {
        // Autobahn's server closes TCP itself after every closing handshake; "failed by
        // client" exists only when the fuzzer is the client.
        m.obs.dropped_by_me = false;
    }
    FuzzRun {
        transcript: m.peer.transcript_entries(),
        obs: m.obs,
        handshake,
        server_header,
        duration_ms,
        cut_by_deadline: cut,
        remote_close_reason: m.close_reason,
        violation: m.violation,
        tcp_end: m.tcp_end.unwrap_or_else(|| "TCP still open".into()),
        messages_seen: m.messages_seen,
        frames_seen: m.frames_seen,
        data_frames_seen: m.data_frames_seen,
        pings_seen: (m.pings_seen, m.pings.min(PING_BUDGET)),
        wire: m.wire,
    }
}

impl Machine<'_> {
    /// The event loop; returns true when the global deadline cut it short.
    async fn drive(&mut self, hard_deadline: Instant) -> bool {
        // Autobahn runs a case's `onOpen` as soon as it has parsed the 101, before it looks
        // at anything that arrived behind it (a ping, a close, a FIN): stage 0 goes out first.
        if !self.spec.stages.is_empty() && self.spec.stages[0].at.is_zero() {
            self.next_stage = 1;
            self.run_stage(0);
        }
        loop {
            if self.ended {
                return false;
            }
            let now = Instant::now();
            if now >= hard_deadline {
                self.drop_tcp("the run's global deadline was reached");
                return true;
            }
            // Events that have already arrived are handled before a due timer, so that a
            // server reacting just before a timer is credited (6.4.x markers); bounded so
            // that a flooding server cannot starve the timers.
            let mut drained = 0;
            while drained < DRAIN_BEFORE_TIMERS && !self.ended {
                match self.peer.recv(now).await {
                    PeerEvent::Timeout => break,
                    ev => self.on_event(ev),
                }
                drained += 1;
            }
            if self.ended {
                return false;
            }
            if self.fire_due(Instant::now()) {
                continue;
            }
            let wake = self.next_wake().min(hard_deadline);
            let ev = self.peer.recv(wake).await;
            self.on_event(ev);
        }
    }

    fn next_wake(&self) -> Instant {
        let mut w = self.cap_at;
        if let Some(s) = self.spec.stages.get(self.next_stage) {
            w = w.min(self.t0 + s.at);
        }
        for t in [
            self.timer.map(|(at, _)| at),
            self.close_hs_at,
            self.drop_at,
            self.guard_at,
        ]
        .into_iter()
        .flatten()
        {
            w = w.min(t);
        }
        w
    }

    /// Runs whatever is due; true if anything ran.
    fn fire_due(&mut self, now: Instant) -> bool {
        if let Some(stage) = self.spec.stages.get(self.next_stage) {
            if self.t0 + stage.at <= now {
                let i = self.next_stage;
                self.next_stage += 1;
                // Later stages run only while OPEN, like Autobahn's `continue` callbacks.
                if i == 0 || self.st == St::Open {
                    self.run_stage(i);
                }
                return true;
            }
        }
        if let Some((at, t)) = self.timer {
            if at <= now {
                self.timer = None;
                self.on_case_timer(t);
                return true;
            }
        }
        if let Some(at) = self.close_hs_at {
            if at <= now {
                self.close_hs_at = None;
                self.obs.was_clean = false;
                self.drop_tcp("no close frame from the server within 1 s of the kit's close");
                return true;
            }
        }
        if let Some(at) = self.drop_at {
            if at <= now {
                self.drop_at = None;
                self.obs.was_clean = false;
                self.drop_tcp(
                    "the server did not close TCP within 1 s after the closing handshake",
                );
                return true;
            }
        }
        if let Some(at) = self.guard_at {
            if at <= now {
                self.guard_at = None;
                self.drop_tcp(
                    "the server did not close TCP within 2 s after its own close (wsspec guard)",
                );
                return true;
            }
        }
        if self.cap_at <= now {
            self.cap_at = now + Duration::from_secs(3600);
            self.drop_tcp("the case's safety cap was reached (wsspec guard)");
            return true;
        }
        false
    }

    fn note(&self, s: impl Into<String>) {
        self.peer.transcript().note(s);
    }

    fn run_stage(&mut self, i: usize) {
        let stage = &self.spec.stages[i];
        if let Some(tag) = stage.tag {
            self.note(format!(
                "pause ended with the connection OPEN: timeout {tag}"
            ));
            self.record(Obs::Timeout(tag.to_owned()), 0);
        }
        self.queued = false;
        let spec = self.spec;
        if i == 0 {
            if let Some(Handler::Deflate(d)) = &spec.expect.handler {
                self.start_deflate(d);
            }
        }
        let mut plain: Vec<u8> = Vec::new();
        for a in &stage.actions {
            match a {
                Action::Frame(f, pacing) => self.write_frame(&mut plain, f, &f.payload, *pacing),
                Action::Message {
                    opcode,
                    payload,
                    fragment,
                    mode,
                } => {
                    for (f, r) in super::spec::fragment_ranges(*opcode, payload.len(), *fragment) {
                        self.write_frame(&mut plain, &f, &payload[r], *mode);
                    }
                }
                Action::Close(payload) => {
                    self.flush(&mut plain);
                    self.begin_close(payload.clone(), "case action");
                }
                Action::Chunked { frame, size } => {
                    self.flush(&mut plain);
                    if frame.opcode == OpCode::Text {
                        self.obs.sent_text_frames += 1;
                    }
                    let mut bytes = Vec::with_capacity(frame.payload.len() + 14);
                    self.peer.encode_frame_to(frame, &frame.payload, &mut bytes);
                    let pacing = self.plain_pacing();
                    for piece in bytes.chunks((*size).max(1)) {
                        self.peer.send_paced(piece.to_vec(), pacing);
                    }
                }
                Action::Bytes(b) => {
                    self.flush(&mut plain);
                    let pacing = self.plain_pacing();
                    let bytes = match self.peer.role() {
                        Role::Client => b.clone(),
                        Role::Server => self.unmask_streamed(b),
                    };
                    self.peer.send_paced(bytes, pacing);
                    self.track_raw_frame(b);
                }
            }
        }
        if i == 0 {
            if let Some(Handler::Sequential {
                binary,
                payload,
                count,
            }) = &self.spec.expect.handler
            {
                // 9.7/9.8 pipelined: the rest of the messages go out at once behind the
                // first, instead of one per echo as in Autobahn. The verdict rule is
                // Autobahn's (OK at the `count`-th good echo, FAILED at the first bad one):
                // Autobahn also reaches OK exactly at the `count`-th good echo, whatever the
                // server does, since it sends one message per good echo.
                let opcode = if *binary { op::BINARY } else { op::TEXT };
                let f = FrameSpec::new(opcode, true, Vec::new());
                while self.seq_sent < *count {
                    self.write_frame(&mut plain, &f, payload, Pacing::Plain);
                    self.seq_sent += 1;
                }
            }
        }
        self.flush(&mut plain);
        if let Some(t) = stage.arm {
            self.timer = Some((self.t0 + stage.at + t.after(), t));
        }
    }

    /// In the server role, pre-encoded pieces of a client frame (6.4.3/6.4.4 stream one
    /// masked frame in three writes) go out as the server sends that frame: header without
    /// the mask, payload unmasked, the key carried from piece to piece.
    fn unmask_streamed(&mut self, b: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(b.len());
        let mut rest = b;
        while !rest.is_empty() {
            if let Some((key, remaining, offset)) = &mut self.streamed {
                let n = (*remaining).min(rest.len() as u64) as usize;
                let start = out.len();
                out.extend_from_slice(&rest[..n]);
                apply_mask(&mut out[start..], *key, *offset);
                *remaining -= n as u64;
                *offset += n;
                rest = &rest[n..];
                if *remaining == 0 {
                    self.streamed = None;
                }
                continue;
            }
            match parse_header(rest, HeaderRules::any_role()) {
                Ok(Status::Complete(mut h, n)) if h.mask.is_some() => {
                    let key = h.mask.take().unwrap_or_default();
                    h.encode_to(&mut out);
                    if h.payload_len > 0 {
                        self.streamed = Some((key, h.payload_len, 0));
                    }
                    rest = &rest[n..];
                }
                _ => {
                    out.extend_from_slice(rest);
                    break;
                }
            }
        }
        out
    }

    /// Keeps count of the bytes still owed to a frame written in pieces (6.4.3/6.4.4), and
    /// sends the pongs held back while it was open once it is complete.
    fn track_raw_frame(&mut self, b: &[u8]) {
        if self.raw_left == 0 {
            if let Ok(Status::Complete(h, n)) = parse_header(b, HeaderRules::any_role()) {
                self.raw_left = (n as u64 + h.payload_len).saturating_sub(b.len() as u64);
            }
        } else {
            self.raw_left = self.raw_left.saturating_sub(b.len() as u64);
        }
        if self.raw_left == 0 {
            for p in std::mem::take(&mut self.held_pongs) {
                self.peer
                    .send_frame(&FrameSpec::new(OpCode::Pong, true, p), Pacing::Plain);
            }
        }
    }

    /// Plain writes of a stage go out together, unless a paced write was queued before them:
    /// then, as in Autobahn's send queue, each goes on its own after a reactor turn.
    fn plain_pacing(&self) -> Pacing {
        if self.queued {
            Pacing::Sync
        } else {
            Pacing::Plain
        }
    }

    /// Writes `f` carrying `payload` (its own, or a range of a message kept in the spec).
    fn write_frame(&mut self, plain: &mut Vec<u8>, f: &FrameSpec, payload: &[u8], pacing: Pacing) {
        match f.opcode {
            OpCode::Text => self.obs.sent_text_frames += 1,
            OpCode::Continuation => self.obs.sent_cont_frames += 1,
            _ => {}
        }
        let pacing = match pacing {
            Pacing::Plain => self.plain_pacing(),
            paced => paced,
        };
        if pacing == Pacing::Plain {
            self.peer.encode_frame_to(f, payload, plain);
            return;
        }
        self.flush(plain);
        self.queued = true;
        let mut bytes = Vec::with_capacity(payload.len() + 14);
        self.peer.encode_frame_to(f, payload, &mut bytes);
        self.peer.send_paced(bytes, pacing);
    }

    fn flush(&mut self, plain: &mut Vec<u8>) {
        if !plain.is_empty() {
            self.peer.send_raw(std::mem::take(plain));
        }
    }

    /// The protocol's close routine: only from OPEN; the kit becomes the closer.
    fn begin_close(&mut self, payload: Vec<u8>, why: &str) -> bool {
        if self.st != St::Open || self.ended {
            return false;
        }
        self.note(format!("kit starts the closing handshake ({why})"));
        let pacing = self.plain_pacing();
        self.peer
            .send_frame(&FrameSpec::new(OpCode::Close, true, payload), pacing);
        self.obs.closed_by_me = true;
        self.st = St::Closing;
        self.close_hs_at = Some(Instant::now() + CLOSE_HANDSHAKE_TIMEOUT);
        true
    }

    fn drop_tcp(&mut self, why: &str) {
        if self.ended || self.st == St::Closed {
            return;
        }
        self.note(format!("kit drops TCP: {why}"));
        self.peer.drop_tcp();
        self.st = St::Closed;
        self.obs.dropped_by_me = true;
        self.tcp_end = Some(format!("kit dropped TCP: {why}"));
    }

    fn on_case_timer(&mut self, t: CaseTimer) {
        match (t, self.st) {
            (CaseTimer::Kill(_), St::Open) => {
                self.failed_by_me = true;
                self.begin_close(close_payload(1001, b"Going Away"), "kill timer");
            }
            (CaseTimer::Kill(_), St::Closing) => {
                self.failed_by_me = true;
                self.drop_tcp("kill timer fired while closing");
            }
            (CaseTimer::Close(_), St::Open) => {
                self.begin_close(Vec::new(), "close timer");
            }
            (CaseTimer::Close(_), _) | (CaseTimer::Kill(_), St::Closed) => {}
        }
    }

    /// Fails the connection because of the server: close with `code` if OPEN, drop TCP if
    /// CLOSING (autobahn-python's `failConnection`).
    fn fail(&mut self, code: u16, why: &str) {
        self.failed_by_me = true;
        match self.st {
            St::Open => {
                self.begin_close(close_payload(code, b""), why);
            }
            St::Closing => self.drop_tcp(why),
            St::Closed => {}
        }
    }

    fn on_event(&mut self, ev: PeerEvent) {
        match ev {
            PeerEvent::Timeout => {}
            PeerEvent::Eof { error, .. } => {
                self.ended = true;
                if self.tcp_end.is_none() {
                    self.tcp_end = Some(match error {
                        // Over HTTP/2 the stream's end stands for TCP's (RFC 8441 §5).
                        None if self.peer.h2_stream().is_some() => {
                            "server ended its stream (END_STREAM)".into()
                        }
                        None => "server closed TCP".into(),
                        Some(e) => format!("connection ended: {e}"),
                    });
                }
            }
            PeerEvent::Violation { error, .. } => self.on_violation(error, None),
            PeerEvent::Frame { frame, .. } => self.on_frame(frame),
        }
    }

    /// A rule the server broke, reported before the frame it belongs to.
    fn on_violation(&mut self, error: FrameError, extra: Option<&str>) {
        if self.st == St::Closed {
            return;
        }
        if error == ProtocolError::InvalidCompressedData.into() {
            // autobahn-python's inflater raises on bad data and Twisted drops the connection:
            // no close frame, and not the fuzzer's own drop (`droppedByMe` stays false).
            let desc = format!("{error} (RFC 7692 §7.2.2)");
            self.violation.get_or_insert(desc.clone());
            self.failed_by_me = true;
            self.note(format!(
                "kit's inflater failed ({desc}); the connection is lost as in Autobahn"
            ));
            self.peer.drop_tcp();
            self.st = St::Closed;
            self.tcp_end = Some(format!("connection lost: {desc}"));
            return;
        }
        let desc = match extra {
            Some(e) => e.to_owned(),
            None => format!(
                "{error} ({} §{})",
                violation_rfc(&error),
                violation_section(&error)
            ),
        };
        if self.violation.is_none() {
            self.violation = Some(desc.clone());
        }
        self.fail(error.close_code(), &format!("server violation: {desc}"));
        if self.st == St::Closed {
            self.close_after_drop = read_after_close_code(&error);
        }
    }

    fn on_frame(&mut self, frame: DecodedFrame) {
        self.frames_seen += 1;
        self.wire.see(&frame.header, self.server_close_seen);
        if frame.header.opcode == OpCode::Close {
            self.server_close_seen = true;
        }
        match frame.header.opcode {
            OpCode::Text | OpCode::Binary | OpCode::Continuation => self.data_frames_seen += 1,
            OpCode::Ping => self.pings_seen += 1,
            _ => {}
        }
        if frame
            .event
            .as_ref()
            .is_some_and(|e| matches!(e, Event::Message(_)))
        {
            self.messages_seen += 1;
        }
        let h = frame.header;
        if h.opcode.is_control() && h.payload_len <= 125 && !h.is_minimal_length() {
            // Autobahn's client checks the 125-byte limit of a control frame on the 7-bit
            // length field, so a short control frame in a longer length form breaks two of
            // its rules (the decoder reported the non-minimal form just before).
            self.on_violation(
                ProtocolError::ControlFrameTooLong(h.payload_len).into(),
                Some(&format!(
                    "{} frame using the {}-bit length form (RFC 6455 §5.5)",
                    h.opcode.name(),
                    if h.length_encoding.extra_bytes() == 2 {
                        16
                    } else {
                        64
                    }
                )),
            );
        }
        if self.st == St::Closed {
            if std::mem::take(&mut self.close_after_drop) {
                if let Some(Event::Close(c)) = frame.event {
                    // The code was taken before the check that made the kit drop TCP.
                    self.obs.remote_close_code = c.as_ref().map(|(code, _)| *code);
                    self.close_reason = c.map(|(_, r)| r);
                    self.obs.was_clean = false;
                }
            }
            return;
        }
        match frame.event {
            Some(Event::Message(m)) => self.on_message(m, frame.message_len),
            Some(Event::Pong(p)) => {
                let n = p.len();
                self.record(Obs::Pong(p), n);
                self.finish_when_done();
            }
            // Answered only while OPEN, as Autobahn does.
            Some(Event::Ping(p)) if self.st == St::Open && !self.ended => {
                if self.pings < PING_BUDGET {
                    self.pings += 1;
                    if self.raw_left > 0 {
                        // Never inside the kit's own frame that is only partly written
                        // (Autobahn writes its pong there, and the server then fails on
                        // bytes the kit itself garbled).
                        self.held_pongs.push(p);
                    } else {
                        self.peer
                            .send_frame(&FrameSpec::new(OpCode::Pong, true, p), Pacing::Plain);
                    }
                } else if self.pings == PING_BUDGET {
                    self.pings += 1;
                    self.note(format!(
                        "more than {PING_BUDGET} pings from the server; no longer answering"
                    ));
                }
            }
            Some(Event::Ping(_)) => {}
            Some(Event::Close(c)) => self.on_close(c),
            None => {}
        }
    }

    /// autobahn-python's `onCloseFrame`: every close frame sets the close code; the state
    /// decides the rest.
    fn on_close(&mut self, c: Option<(u16, String)>) {
        self.obs.remote_close_code = c.as_ref().map(|(code, _)| *code);
        self.close_reason = c.map(|(_, r)| r);
        self.obs.was_clean = true;
        match self.st {
            St::Open if self.peer.role() == Role::Server => {
                // Autobahn's server answers a client's close with 1000 and closes TCP
                // normally (FIN); the client need not close TCP itself, so a client that
                // keeps it open is dropped after the guard without changing the verdict.
                self.note(
                    "client started the closing handshake; kit replies with 1000 and closes TCP",
                );
                self.peer.send_close(Some(1000), b"");
                self.peer.shutdown_write();
                self.st = St::Closing;
                self.guard_at = Some(Instant::now() + SERVER_DROP_TIMEOUT);
            }
            St::Closing if self.peer.role() == Role::Server => {
                if self.obs.closed_by_me {
                    // The client answered the kit's close: Autobahn's server aborts TCP.
                    self.close_hs_at = None;
                    self.drop_tcp(
                        "closing handshake complete (the kit closes TCP, as Autobahn's fuzzingserver does)",
                    );
                }
            }
            St::Open => {
                self.note("server started the closing handshake; kit replies with 1000");
                self.peer.send_close(Some(1000), b"");
                self.st = St::Closing;
                if !matches!(self.timer, Some((_, CaseTimer::Kill(_)))) {
                    self.guard_at = Some(Instant::now() + SERVER_CLOSE_GUARD);
                }
            }
            St::Closing => {
                // A reply to the kit's close (or a further close): the server must now
                // close TCP.
                self.close_hs_at = None;
                self.drop_at
                    .get_or_insert(Instant::now() + SERVER_DROP_TIMEOUT);
            }
            St::Closed => {}
        }
    }

    fn on_message(&mut self, m: Message, len: u64) {
        if self.failed_by_me {
            return;
        }
        let (payload, binary) = match m {
            Message::Text(s) => (s.into_bytes(), false),
            Message::Binary(b) => (b, true),
        };
        let spec = self.spec;
        if let Some(Handler::Deflate(d)) = &spec.expect.handler {
            self.on_deflate_echo(d, &payload, binary);
            return;
        }
        if let Some(h) = &self.spec.expect.handler {
            let h = h.clone();
            self.on_limits_message(&h, len as usize, binary);
            return;
        }
        let n = payload.len();
        self.record(Obs::Message { payload, binary }, n);
        self.finish_when_done();
    }

    /// 12.x/13.x at case start: UNIMPLEMENTED and close 1000 when the server did not accept
    /// permessage-deflate, else the first message.
    fn start_deflate(&mut self, d: &DeflateEcho) {
        if self.peer.deflate().is_none() {
            self.note(match self.peer.role() {
                Role::Client => "the server did not accept permessage-deflate",
                Role::Server => "the client offered no permessage-deflate this case accepts",
            });
            self.obs.handler_verdict = Some(Verdict::Unimplemented);
            self.begin_close(close_payload(1000, b""), "permessage-deflate not accepted");
            return;
        }
        self.send_deflate_message(d, 0);
        self.seq_sent = 1;
    }

    fn send_deflate_message(&mut self, d: &DeflateEcho, k: usize) {
        let opcode = if d.set.is_text() {
            OpCode::Text
        } else {
            OpCode::Binary
        };
        match self.peer.compression() {
            Some((window, true)) => {
                let c = super::autobahn::deflate_cache::compressed(d.set, d.len, k, window);
                self.peer
                    .send_precompressed(opcode, c.len, &c.bytes, d.fragment);
            }
            _ => {
                let payload = d.set.message(k, d.len);
                self.peer.send_message(opcode, &payload, d.fragment, true);
            }
        }
    }

    /// Autobahn's 12.x/13.x `onMessage`: the echo must have the type and content of the
    /// message last sent; then the next one, until `count`.
    ///
    /// One message per echo, as in Autobahn, unlike 9.7/9.8. A window of messages awaiting
    /// their echo was measured (2-3x faster on rows .1-.4 alone against the reference server,
    /// ~10% on a mixed run where the server's CPU is the bound) but changes verdicts: after a
    /// failure, echoes of messages Autobahn never sends still arrive while the kit is CLOSING,
    /// and a violating one makes the kit drop TCP (UNCLEAN where Autobahn has WRONG CODE, seen
    /// on the reference server with `deflate_rsv1_on_continuation`).
    fn on_deflate_echo(&mut self, d: &DeflateEcho, payload: &[u8], binary: bool) {
        if self.obs.handler_verdict.is_some() {
            return;
        }
        let k = self.seq_sent.saturating_sub(1);
        let want = d.set.message(k, d.len);
        if binary == d.set.is_text() || payload != want {
            self.note(format!(
                "echo of message {} is {} of {} bytes, expected {} of {} bytes{}",
                k + 1,
                kind(binary),
                payload.len(),
                kind(!d.set.is_text()),
                want.len(),
                if payload.len() == want.len() {
                    " with other content"
                } else {
                    ""
                }
            ));
            self.obs.handler_verdict = Some(Verdict::Failed);
            self.begin_close(close_payload(1000, b""), "wrong echo");
        } else if self.seq_sent < d.count {
            self.send_deflate_message(d, self.seq_sent);
            self.seq_sent += 1;
        } else {
            self.obs.handler_verdict = Some(Verdict::Ok);
            self.begin_close(close_payload(1000, b""), "all echoes received");
        }
    }

    /// The `onMessage` of Autobahn's 9.x cases.
    fn on_limits_message(&mut self, h: &Handler, len: usize, binary: bool) {
        match h {
            Handler::Deflate(_) => {}
            Handler::FirstMessage {
                binary: want_bin,
                len: want_len,
            } => {
                // Any echo of the right type and length makes the case OK; a wrong one
                // leaves the verdict as it was. The first echo starts the close.
                if binary == *want_bin && len == *want_len {
                    self.obs.handler_verdict = Some(Verdict::Ok);
                } else {
                    self.note(format!(
                        "echo is {} of {len} bytes, expected {} of {want_len}",
                        kind(binary),
                        kind(*want_bin)
                    ));
                }
                self.begin_close(close_payload(1000, b""), "echo received");
            }
            Handler::Sequential {
                binary: want_bin,
                payload,
                count,
            } => {
                self.seq_echoes += 1;
                if binary != *want_bin || len != payload.len() {
                    self.note(format!(
                        "echo {} is {} of {len} bytes, expected {} of {}",
                        self.seq_echoes,
                        kind(binary),
                        kind(*want_bin),
                        payload.len()
                    ));
                    self.obs.handler_verdict = Some(Verdict::Failed);
                    self.begin_close(close_payload(1000, b""), "wrong echo");
                } else if self.seq_echoes >= *count
                    && self.obs.handler_verdict != Some(Verdict::Failed)
                {
                    // A wrong echo stays FAILED: with the messages pipelined, good echoes of
                    // the ones behind it may still arrive.
                    self.obs.handler_verdict = Some(Verdict::Ok);
                    self.begin_close(close_payload(1000, b""), "all echoes received");
                }
            }
        }
    }

    fn record(&mut self, o: Obs, bytes: usize) {
        if self.obs.overflow {
            return;
        }
        if self.obs.received.len() >= MAX_EVENTS || self.stored + bytes > MAX_RECORDED_BYTES {
            self.obs.overflow = true;
            self.note("recording limit reached; further events are not recorded");
            return;
        }
        self.stored += bytes;
        self.obs.received.push(o);
    }

    /// Autobahn's `finishWhenDone`.
    fn finish_when_done(&mut self) {
        let e = &self.spec.expect;
        if e.handler.is_some() || !e.close.closed_by_me || self.obs.overflow {
            return;
        }
        if e.outcomes.iter().all(|(_, l)| *l == self.obs.received) {
            let code = e.close.codes.first().copied().unwrap_or(1000);
            self.begin_close(close_payload(code, b""), "all expected events received");
        }
    }
}

fn kind(binary: bool) -> &'static str {
    if binary {
        "binary"
    } else {
        "text"
    }
}

fn violation_rfc(e: &FrameError) -> &'static str {
    match e {
        FrameError::Protocol(p) => p.rfc(),
        FrameError::Capacity(_) => "RFC 6455",
    }
}

fn violation_section(e: &FrameError) -> &'static str {
    match e {
        FrameError::Protocol(p) => p.rfc_section(),
        FrameError::Capacity(_) => "10.4",
    }
}

/// Whether autobahn-python's client detects this violation only once the close frame is
/// complete, after it has taken the close code from it (so the code counts even when the
/// violation made it drop TCP). Every other violation is found in the header or payload,
/// and a drop then stops the frame from being processed at all.
fn read_after_close_code(e: &FrameError) -> bool {
    matches!(
        e,
        FrameError::Protocol(
            ProtocolError::InvalidCloseCode(_) | ProtocolError::InvalidCloseReason { .. }
        )
    )
}
