//! Autobahn's fuzzing client, as a state machine on top of the wire [`Peer`].
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
//! * a server violation fails the connection (close 1002, 1007 for UTF-8, 1009 for a size
//!   limit; TCP drop if already CLOSING) and later data messages are discarded;
//! * "finish when done": once the received events equal every expected list, the kit closes
//!   with the first expected code.
//!
//! Differences from Autobahn, all in the direction of always terminating: after a
//! server-initiated close the kit waits at most [`SERVER_CLOSE_GUARD`] for the server to
//! close TCP when no kill timer is pending (Autobahn would wait forever), and every case has
//! a safety cap and the run's global deadline. Close codes 1012-1014 from the server are
//! valid here (IANA registry), while Autobahn's fuzzer rejects them.

use std::time::{Duration, Instant};

use super::spec::{op, Action, CaseTimer, FuzzSpec, Handler, Obs, WriteMode};
use super::verdict::Observation;
use crate::codec::close::close_payload;
use crate::codec::frame::{FrameHeader, OpCode};
use crate::codec::message::{DecodedFrame, Event, Message};
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
    /// From handshake completion to TCP end (Autobahn's duration); wall time if not opened.
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Open,
    Closing,
}

struct Machine<'a> {
    spec: &'a FuzzSpec,
    peer: Peer,
    t0: Instant,
    st: St,
    obs: Observation,
    failed: bool,
    discard: bool,
    skip_next_frame: bool,
    got_reply: bool,
    close_hs_at: Option<Instant>,
    drop_at: Option<Instant>,
    guard_at: Option<Instant>,
    cap_at: Instant,
    timer: Option<(Instant, CaseTimer)>,
    next_stage: usize,
    pings: usize,
    seq_done: usize,
    stored: usize,
    violation: Option<String>,
    ended: bool,
    tcp_end: Option<String>,
    close_reason: Option<String>,
    messages_seen: usize,
}

/// Runs one fuzzing case on a fresh connection; never runs past `hard_deadline`.
pub async fn run(
    target: &Target,
    opts: &ConnectOptions,
    spec: &FuzzSpec,
    hard_deadline: Instant,
) -> FuzzRun {
    let wall = Instant::now();
    let connected =
        tokio::time::timeout_at(hard_deadline.into(), Peer::connect(target, opts, "main")).await;
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
        failed: false,
        discard: false,
        skip_next_frame: false,
        got_reply: false,
        close_hs_at: None,
        drop_at: None,
        guard_at: None,
        cap_at,
        timer: None,
        next_stage: 0,
        pings: 0,
        seq_done: 0,
        stored: 0,
        violation: None,
        ended: false,
        tcp_end: None,
        close_reason: None,
        messages_seen: 0,
    };
    let cut = m.drive(hard_deadline).await;
    let duration_ms = t0.elapsed().as_secs_f64() * 1000.0;
    FuzzRun {
        transcript: m.peer.transcript_entries(),
        obs: m.obs,
        handshake: outcome.describe(),
        server_header,
        duration_ms,
        cut_by_deadline: cut,
        remote_close_reason: m.close_reason,
        violation: m.violation,
        tcp_end: m.tcp_end.unwrap_or_else(|| "TCP still open".into()),
        messages_seen: m.messages_seen,
    }
}

impl Machine<'_> {
    /// The event loop; returns true when the global deadline cut it short.
    async fn drive(&mut self, hard_deadline: Instant) -> bool {
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
                if !self.got_reply {
                    self.obs.was_clean = false;
                    self.drop_tcp("no close frame from the server within 1 s of the kit's close");
                }
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
        let mut plain: Vec<u8> = Vec::new();
        for a in &stage.actions {
            match a {
                Action::Frame(f, mode) => {
                    let b = f.encode();
                    self.count_sent(&b);
                    self.write(&mut plain, b, *mode);
                }
                Action::Message {
                    opcode,
                    payload,
                    fragment,
                    mode,
                } => {
                    for f in super::spec::fragment(*opcode, payload, *fragment) {
                        let b = f.encode();
                        self.count_sent(&b);
                        self.write(&mut plain, b, *mode);
                    }
                }
                Action::Close(payload) => {
                    self.flush(&mut plain);
                    self.begin_close(payload.clone(), "case action");
                }
                Action::Bytes(b) => {
                    self.flush(&mut plain);
                    self.peer.send_raw(b.clone());
                }
            }
        }
        self.flush(&mut plain);
        if let Some(t) = stage.arm {
            self.timer = Some((self.t0 + stage.at + t.after(), t));
        }
    }

    fn count_sent(&mut self, b: &[u8]) {
        match b.first().map(|x| x & 0x0f) {
            Some(op::TEXT) => self.obs.sent_text_frames += 1,
            Some(op::CONT) => self.obs.sent_cont_frames += 1,
            _ => {}
        }
    }

    fn write(&mut self, plain: &mut Vec<u8>, b: Vec<u8>, mode: WriteMode) {
        match mode {
            WriteMode::Plain => plain.extend_from_slice(&b),
            WriteMode::Sync => {
                self.flush(plain);
                let n = b.len().max(1);
                self.peer.send_chopped(b, n, Duration::ZERO);
            }
            WriteMode::Chop(k) => {
                self.flush(plain);
                self.peer.send_chopped(b, k.max(1), Duration::ZERO);
            }
        }
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
        let h = FrameHeader::new(OpCode::Close, true, payload.len() as u64, None);
        self.peer.send_frame(h, &payload, false);
        self.obs.closed_by_me = true;
        self.st = St::Closing;
        self.close_hs_at = Some(Instant::now() + CLOSE_HANDSHAKE_TIMEOUT);
        true
    }

    fn drop_tcp(&mut self, why: &str) {
        if self.ended {
            return;
        }
        self.note(format!("kit drops TCP: {why}"));
        self.peer.drop_tcp();
        self.obs.dropped_by_me = true;
        self.tcp_end = Some(format!("kit dropped TCP: {why}"));
    }

    fn on_case_timer(&mut self, t: CaseTimer) {
        match (t, self.st) {
            (CaseTimer::Kill(_), St::Open) => {
                self.discard = true;
                self.begin_close(close_payload(1001, b"Going Away"), "kill timer");
            }
            (CaseTimer::Kill(_), St::Closing) => {
                self.discard = true;
                self.drop_tcp("kill timer fired while closing");
            }
            (CaseTimer::Close(_), St::Open) => {
                self.begin_close(Vec::new(), "close timer");
            }
            (CaseTimer::Close(_), St::Closing) => {}
        }
    }

    /// Fails the connection because of the server (close with `code` if OPEN, else drop).
    fn fail(&mut self, code: u16, why: &str) {
        self.failed = true;
        self.discard = true;
        match self.st {
            St::Open => {
                self.begin_close(close_payload(code, b""), why);
            }
            St::Closing => self.drop_tcp(why),
        }
    }

    fn on_event(&mut self, ev: PeerEvent) {
        match ev {
            PeerEvent::Timeout => {}
            PeerEvent::Eof { error, .. } => {
                self.ended = true;
                if self.tcp_end.is_none() {
                    self.tcp_end = Some(match error {
                        None => "server closed TCP".into(),
                        Some(e) => format!("connection ended: {e}"),
                    });
                }
            }
            PeerEvent::Violation { error, .. } => {
                let desc = format!("{error} (RFC 6455 §{})", violation_section(&error));
                if self.violation.is_none() {
                    self.violation = Some(desc.clone());
                }
                // The peer delivers the offending frame right after the violation; it must
                // not count as a close or a message.
                self.skip_next_frame = true;
                self.fail(error.close_code(), &format!("server violation: {desc}"));
            }
            PeerEvent::Frame { frame, .. } => self.on_frame(frame),
        }
    }

    fn on_frame(&mut self, frame: DecodedFrame) {
        if std::mem::take(&mut self.skip_next_frame) {
            return;
        }
        if !self.failed && !frame.header.is_minimal_length() {
            let desc = format!(
                "{} frame of {} bytes with a non-minimal length encoding (RFC 6455 §5.2)",
                frame.header.opcode.name(),
                frame.header.payload_len
            );
            if self.violation.is_none() {
                self.violation = Some(desc.clone());
            }
            self.fail(1002, &format!("server violation: {desc}"));
            return;
        }
        match frame.event {
            Some(Event::Message(m)) => self.on_message(m),
            Some(Event::Pong(p)) => {
                let n = p.len();
                self.record(Obs::Pong(p), n);
                self.finish_when_done();
            }
            Some(Event::Ping(p)) => {
                if self.st == St::Open && !self.ended {
                    if self.pings < PING_BUDGET {
                        self.pings += 1;
                        let h = FrameHeader::new(OpCode::Pong, true, p.len() as u64, None);
                        self.peer.send_frame(h, &p, false);
                    } else if self.pings == PING_BUDGET {
                        self.pings += 1;
                        self.note(format!(
                            "more than {PING_BUDGET} pings from the server; no longer answering"
                        ));
                    }
                }
            }
            Some(Event::Close(c)) => self.on_close(c),
            None => {}
        }
    }

    fn on_close(&mut self, c: Option<(u16, String)>) {
        let code = c.as_ref().map(|(code, _)| *code);
        match self.st {
            St::Open => {
                self.obs.was_clean = true;
                self.obs.remote_close_code = code;
                self.close_reason = c.map(|(_, r)| r);
                self.note("server started the closing handshake; kit replies with 1000");
                self.peer.send_close(Some(1000), b"");
                self.st = St::Closing;
                if !matches!(self.timer, Some((_, CaseTimer::Kill(_)))) {
                    self.guard_at = Some(Instant::now() + SERVER_CLOSE_GUARD);
                }
            }
            St::Closing if self.obs.closed_by_me && !self.got_reply => {
                self.got_reply = true;
                self.obs.was_clean = true;
                self.obs.remote_close_code = code;
                self.close_reason = c.map(|(_, r)| r);
                self.close_hs_at = None;
                self.drop_at = Some(Instant::now() + SERVER_DROP_TIMEOUT);
            }
            St::Closing => {}
        }
    }

    fn on_message(&mut self, m: Message) {
        self.messages_seen += 1;
        if self.discard {
            return;
        }
        let (payload, binary) = match m {
            Message::Text(s) => (s.into_bytes(), false),
            Message::Binary(b) => (b, true),
        };
        if let Some(h) = &self.spec.expect.handler {
            let h = h.clone();
            self.on_limits_message(&h, payload.len(), binary);
            return;
        }
        let n = payload.len();
        self.record(Obs::Message { payload, binary }, n);
        self.finish_when_done();
    }

    fn on_limits_message(&mut self, h: &Handler, len: usize, binary: bool) {
        if self.obs.handler_verdict.is_some() {
            return;
        }
        match h {
            Handler::FirstMessage {
                binary: want_bin,
                len: want_len,
            } => {
                let ok = binary == *want_bin && len == *want_len;
                self.obs.handler_verdict = Some(if ok { Verdict::Ok } else { Verdict::Failed });
                if !ok {
                    self.note(format!(
                        "echo is {} of {len} bytes, expected {} of {want_len}",
                        kind(binary),
                        kind(*want_bin)
                    ));
                }
                self.begin_close(close_payload(1000, b""), "first echo received");
            }
            Handler::Sequential {
                binary: want_bin,
                payload,
                count,
            } => {
                if binary != *want_bin || len != payload.len() {
                    self.note(format!(
                        "echo {} is {} of {len} bytes, expected {} of {}",
                        self.seq_done + 1,
                        kind(binary),
                        kind(*want_bin),
                        payload.len()
                    ));
                    self.obs.handler_verdict = Some(Verdict::Failed);
                    self.begin_close(close_payload(1000, b""), "wrong echo");
                    return;
                }
                self.seq_done += 1;
                if self.seq_done >= *count {
                    self.obs.handler_verdict = Some(Verdict::Ok);
                    self.begin_close(close_payload(1000, b""), "all echoes received");
                } else if self.st == St::Open {
                    let opcode = if *want_bin { op::BINARY } else { op::TEXT };
                    let b = super::spec::RawFrame::new(opcode, true, payload.clone()).encode();
                    self.peer.send_raw(b);
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

fn violation_section(e: &crate::codec::FrameError) -> &'static str {
    match e {
        crate::codec::FrameError::Protocol(p) => p.rfc_section(),
        crate::codec::FrameError::Capacity(_) => "10.4",
    }
}
