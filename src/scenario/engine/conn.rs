//! One named WebSocket connection of a scenario: a pump task that owns the [`Peer`],
//! reads continuously (so pings are answered and messages queued even while the
//! scenario is busy elsewhere), and a shared state the steps inspect.
//!
//! The queue is bounded: past [`QUEUE_HIGH_BYTES`] or [`QUEUE_HIGH_MESSAGES`] the pump
//! stops reading from the socket (the server's writes back up in TCP, as with a slow
//! browser tab) until steps have consumed enough of it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::codec::frame::{encode_frame, FrameHeader, LengthEncoding, OpCode, Role};
use crate::codec::message::{Event, Message};
use crate::peer::{Peer, PeerEvent};
use crate::scenario::describe::short;
use crate::scenario::matcher::MessageRef;

/// Queued bytes at which the pump stops reading.
pub const QUEUE_HIGH_BYTES: usize = 64 << 20;
/// Queued messages at which the pump stops reading.
pub const QUEUE_HIGH_MESSAGES: usize = 100_000;
/// Pings of the server remembered per connection (the latest ones).
pub const MAX_PINGS_KEPT: usize = 1000;
/// Bytes queued for writing but not yet written above which pings go unanswered: a
/// server that floods pings and does not read must not make the kit queue pongs
/// without bound.
pub const MAX_UNWRITTEN: u64 = 1 << 20;

/// A received data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Text message.
    Text(String),
    /// Binary message.
    Binary(Vec<u8>),
}

/// A queued message with its arrival time.
#[derive(Debug, Clone)]
pub struct Msg {
    /// The payload.
    pub payload: Payload,
    /// When it was taken off the wire.
    pub at: Instant,
}

impl Msg {
    /// The view matchers take.
    pub fn as_ref(&self) -> MessageRef<'_> {
        match &self.payload {
            Payload::Text(s) => MessageRef::Text(s),
            Payload::Binary(b) => MessageRef::Binary(b),
        }
    }

    fn len(&self) -> usize {
        match &self.payload {
            Payload::Text(s) => s.len(),
            Payload::Binary(b) => b.len(),
        }
    }

    /// A one-line rendering for reports.
    pub fn describe(&self) -> String {
        match &self.payload {
            // JSON reads best unescaped; anything else is quoted so whitespace and
            // control characters show.
            Payload::Text(s)
                if (s.starts_with('{') || s.starts_with('[') || s.starts_with('"'))
                    && serde_json::from_str::<serde_json::Value>(s).is_ok() =>
            {
                format!("text {}", cut(s, 200))
            }
            Payload::Text(s) => format!("text {}", short(s, 200)),
            Payload::Binary(b) => {
                let hex: String = b.iter().take(32).map(|x| format!("{x:02x}")).collect();
                format!(
                    "binary ({} bytes) {hex}{}",
                    b.len(),
                    if b.len() > 32 { "…" } else { "" }
                )
            }
        }
    }

    /// The payload as text (lossy for binary).
    pub fn text_lossy(&self) -> String {
        match &self.payload {
            Payload::Text(s) => s.clone(),
            Payload::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

/// Cut after `max` characters (not quoted).
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}… ({} bytes)", s.len())
    }
}

/// How the connection ended, as the close-code vocabulary of `expect_close` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The server's close code; 1005 for a close frame without one, 1006 for TCP closed
    /// without a close frame.
    pub code: u16,
    /// The close reason (empty for 1005/1006).
    pub reason: String,
    /// When it was seen.
    pub at: Instant,
    /// True when a close frame arrived (TCP may still be open).
    pub close_frame: bool,
}

/// What the steps can see of a connection.
#[derive(Debug, Default)]
pub struct ConnState {
    /// Data messages not yet consumed, oldest first.
    pub queue: VecDeque<Msg>,
    queued_bytes: usize,
    /// The last message a step consumed (for `capture from = "message"`).
    pub last_taken: Option<Msg>,
    /// The last message that arrived.
    pub last_arrived: Option<Msg>,
    /// Pongs received: payload and arrival.
    pub pongs: Vec<(Vec<u8>, Instant)>,
    /// The server's pings: payload and arrival, the latest [`MAX_PINGS_KEPT`] (a server
    /// may send pings without end).
    pub pings: VecDeque<(Vec<u8>, Instant)>,
    /// The server's close frame: code (`None` = no code), reason, arrival.
    pub close_frame: Option<(Option<u16>, String, Instant)>,
    /// TCP end: time and error.
    pub eof: Option<(Instant, Option<String>)>,
    /// The first RFC 6455 violation the server committed.
    pub violation: Option<String>,
    /// We sent a close frame.
    pub close_sent: bool,
    /// We dropped TCP.
    pub dropped: bool,
    /// Reading is paused because the queue is full.
    backpressure: bool,
    /// Reading is paused by a `pause_reading` step.
    user_paused: bool,
    /// Messages received in total.
    pub received: u64,
}

impl ConnState {
    /// The end of the connection as `expect_close` judges it, if it has ended: the close
    /// frame's code (1005 without one), else 1006 once TCP ended without a close frame.
    pub fn ended(&self) -> Option<Ended> {
        if let Some((code, reason, at)) = &self.close_frame {
            return Some(Ended {
                code: code.unwrap_or(1005),
                reason: reason.clone(),
                at: *at,
                close_frame: true,
            });
        }
        self.eof.as_ref().map(|(at, _)| Ended {
            code: 1006,
            reason: String::new(),
            at: *at,
            close_frame: false,
        })
    }

    /// True once nothing more can arrive (TCP ended or we dropped it).
    pub fn finished(&self) -> bool {
        self.eof.is_some() || self.dropped
    }

    /// Removes the message at `i` (consumed by a step).
    pub fn take(&mut self, i: usize) -> Option<Msg> {
        let m = self.queue.remove(i)?;
        self.queued_bytes -= m.len();
        self.last_taken = Some(m.clone());
        Some(m)
    }

    /// Drops the message at `i` without making it the last consumed one (skipped).
    pub fn skip(&mut self, i: usize) -> Option<Msg> {
        let m = self.queue.remove(i)?;
        self.queued_bytes -= m.len();
        Some(m)
    }

    fn below_low_water(&self) -> bool {
        self.queued_bytes < QUEUE_HIGH_BYTES / 2 && self.queue.len() < QUEUE_HIGH_MESSAGES / 2
    }
}

enum Cmd {
    Raw(Vec<u8>),
    Chopped(Vec<u8>, usize, Duration),
    Close(Option<u16>, Vec<u8>),
    AutoPong(bool),
    Reading(bool),
    Poke,
    DropTcp,
    Sync(tokio::sync::oneshot::Sender<()>),
}

/// A connection: command channel to the pump, shared state, change notifications.
#[derive(Debug)]
pub struct Conn {
    /// The kit plays the server on it (an accepted connection): frames go out unmasked.
    server: bool,
    cmd: mpsc::UnboundedSender<Cmd>,
    state: Arc<Mutex<ConnState>>,
    changed: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Conn {
    /// Starts the pump for an upgraded peer.
    pub fn start(mut peer: Peer, answer_pings: bool) -> Conn {
        // The pump answers pings itself, with a bound on unwritten bytes.
        peer.set_auto_pong(false);
        let server = peer.role() == Role::Server;
        let state = Arc::new(Mutex::new(ConnState::default()));
        let (tx, changed) = watch::channel(0u64);
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(pump(peer, answer_pings, cmd_rx, state.clone(), tx));
        Conn {
            server,
            cmd,
            state,
            changed,
            task,
        }
    }

    /// Whether the kit plays the server on this connection.
    pub fn is_server(&self) -> bool {
        self.server
    }

    /// One frame as this end sends it: masked with a random key from a client,
    /// unmasked from a server (RFC 6455 5.1).
    pub fn frame(&self, opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        frame_bytes(self.server, opcode, fin, payload)
    }

    /// Locks the shared state.
    pub fn lock(&self) -> MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues bytes for one write.
    pub fn send_raw(&self, bytes: Vec<u8>) {
        let _ = self.cmd.send(Cmd::Raw(bytes));
    }

    /// Queues bytes written in pieces.
    pub fn send_chopped(&self, bytes: Vec<u8>, chop: usize, delay: Duration) {
        let _ = self.cmd.send(Cmd::Chopped(bytes, chop, delay));
    }

    /// Sends a close frame.
    pub fn send_close(&self, code: Option<u16>, reason: Vec<u8>) {
        self.lock().close_sent = true;
        let _ = self.cmd.send(Cmd::Close(code, reason));
    }

    /// Marks that a hand-built close frame went out (no automatic close reply then).
    pub fn mark_close_sent(&self) {
        self.lock().close_sent = true;
    }

    /// Whether pings are answered.
    pub fn set_auto_pong(&self, on: bool) {
        let _ = self.cmd.send(Cmd::AutoPong(on));
    }

    /// Pauses or resumes reading (a `pause_reading` / `resume_reading` step).
    pub fn set_reading(&self, on: bool) {
        self.lock().user_paused = !on;
        let _ = self.cmd.send(Cmd::Reading(on));
    }

    /// Drops TCP without a close frame.
    pub fn drop_tcp(&self) {
        self.lock().dropped = true;
        let _ = self.cmd.send(Cmd::DropTcp);
    }

    /// Waits (at most a second) until the pump has handled every command sent so far,
    /// so that what a step did is in the transcript when the step's case is made.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.cmd.send(Cmd::Sync(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(1), rx).await;
        }
    }

    /// Tells the pump that steps consumed messages (it may resume reading).
    pub fn consumed(&self) {
        let _ = self.cmd.send(Cmd::Poke);
    }

    /// Waits until `check` returns `Some`, the connection can no longer change, or
    /// `deadline`. `check` sees the state after every change; on the deadline the last
    /// call's `None` is returned as `Err(())`.
    pub async fn wait_for<T>(
        &self,
        deadline: Instant,
        mut check: impl FnMut(&mut ConnState) -> Option<T>,
    ) -> Result<T, Timeout> {
        let mut rx = self.changed.clone();
        loop {
            rx.borrow_and_update();
            {
                let mut g = self.lock();
                if let Some(v) = check(&mut g) {
                    drop(g);
                    self.consumed();
                    return Ok(v);
                }
            }
            match tokio::time::timeout_at(deadline.into(), rx.changed()).await {
                Err(_) => return Err(Timeout::Deadline),
                // The pump is gone: nothing will change any more.
                Ok(Err(_)) => {
                    let mut g = self.lock();
                    return check(&mut g).ok_or(Timeout::Finished);
                }
                Ok(Ok(())) => {}
            }
        }
    }
}

/// Why [`Conn::wait_for`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// The deadline passed.
    Deadline,
    /// The connection's pump ended; nothing more will arrive.
    Finished,
}

/// One frame as the kit's end sends it: masked from a client, unmasked from a server.
pub fn frame_bytes(server: bool, opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    if !server {
        return Peer::frame_bytes(opcode, fin, payload);
    }
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
        length_encoding: LengthEncoding::minimal_for(payload.len() as u64),
    };
    let mut out = Vec::with_capacity(header.encoded_len() + payload.len());
    encode_frame(&header, payload, &mut out);
    out
}

fn lock(s: &Mutex<ConnState>) -> MutexGuard<'_, ConnState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Bytes handed to the peer for writing, and whether pings are answered.
struct Writes {
    server: bool,
    queued: u64,
    answer_pings: bool,
    skipped_pongs: u64,
}

async fn pump(
    mut peer: Peer,
    answer_pings: bool,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    state: Arc<Mutex<ConnState>>,
    tx: watch::Sender<u64>,
) {
    let bump = |tx: &watch::Sender<u64>| tx.send_modify(|n| *n += 1);
    let mut reading_done = false;
    let server = peer.role() == Role::Server;
    let mut w = Writes {
        server,
        queued: 0,
        answer_pings,
        skipped_pongs: 0,
    };
    loop {
        let cmd = if reading_done {
            match cmds.recv().await {
                Some(c) => Some(c),
                None => return,
            }
        } else {
            let far = Instant::now() + Duration::from_secs(3600);
            tokio::select! {
                biased;
                c = cmds.recv() => match c {
                    Some(c) => Some(c),
                    None => return,
                },
                ev = peer.recv(far) => {
                    reading_done = on_event(&mut peer, ev, &state, &mut w);
                    bump(&tx);
                    None
                }
            }
        };
        let Some(cmd) = cmd else { continue };
        match cmd {
            Cmd::Raw(b) => {
                w.queued += b.len() as u64;
                peer.send_raw(b)
            }
            Cmd::Chopped(b, chop, delay) => {
                w.queued += b.len() as u64;
                peer.send_chopped(b, chop, delay)
            }
            Cmd::Close(code, reason) => {
                w.queued += 8 + reason.len() as u64;
                peer.send_close(code, &reason)
            }
            Cmd::AutoPong(on) => w.answer_pings = on,
            Cmd::Reading(on) => {
                let bp = lock(&state).backpressure;
                peer.set_reading(on && !bp);
            }
            Cmd::Poke => {
                let mut g = lock(&state);
                if g.backpressure && g.below_low_water() {
                    g.backpressure = false;
                    let user = g.user_paused;
                    drop(g);
                    if !user {
                        peer.set_reading(true);
                    }
                }
            }
            Cmd::Sync(done) => {
                let _ = done.send(());
            }
            Cmd::DropTcp => {
                peer.drop_tcp();
                let mut g = lock(&state);
                g.dropped = true;
                g.eof
                    .get_or_insert((Instant::now(), Some("dropped by wsspec".into())));
                drop(g);
                reading_done = true;
                bump(&tx);
            }
        }
    }
}

/// Records one peer event; true when nothing more can be read.
fn on_event(peer: &mut Peer, ev: PeerEvent, state: &Mutex<ConnState>, w: &mut Writes) -> bool {
    match ev {
        PeerEvent::Timeout => false,
        PeerEvent::Eof { error, .. } => {
            let mut g = lock(state);
            g.eof.get_or_insert((Instant::now(), error));
            true
        }
        PeerEvent::Violation { error, .. } => {
            let mut g = lock(state);
            if g.violation.is_none() {
                g.violation = Some(error.to_string());
            }
            false
        }
        PeerEvent::Frame { frame, .. } => {
            let now = Instant::now();
            match frame.event {
                Some(Event::Message(m)) => {
                    let payload = match m {
                        Message::Text(s) => Payload::Text(s),
                        Message::Binary(b) => Payload::Binary(b),
                    };
                    let msg = Msg { payload, at: now };
                    let mut g = lock(state);
                    g.queued_bytes += msg.len();
                    g.received += 1;
                    g.last_arrived = Some(msg.clone());
                    g.queue.push_back(msg);
                    if !g.backpressure
                        && (g.queued_bytes >= QUEUE_HIGH_BYTES
                            || g.queue.len() >= QUEUE_HIGH_MESSAGES)
                    {
                        g.backpressure = true;
                        drop(g);
                        peer.set_reading(false);
                        peer.transcript()
                            .note("message queue full: reading paused until steps consume it");
                    }
                }
                Some(Event::Pong(p)) => lock(state).pongs.push((p, now)),
                Some(Event::Close(c)) => {
                    let mut g = lock(state);
                    if g.close_frame.is_none() {
                        g.close_frame = Some((
                            c.as_ref().map(|(code, _)| *code),
                            c.as_ref().map(|(_, r)| r.clone()).unwrap_or_default(),
                            now,
                        ));
                    }
                    // Like a browser, answer the server's close with a close carrying the
                    // same code (none when it had none), unless ours went out first.
                    if !g.close_sent {
                        g.close_sent = true;
                        drop(g);
                        let code = c.as_ref().map(|(code, _)| *code).filter(|c| {
                            !matches!(c, 1005 | 1006 | 1015) && (1000..5000).contains(c)
                        });
                        w.queued += 8;
                        peer.send_close(code, b"");
                    }
                }
                Some(Event::Ping(p)) => {
                    let close_sent = {
                        let mut g = lock(state);
                        if g.pings.len() == MAX_PINGS_KEPT {
                            g.pings.pop_front();
                        }
                        g.pings.push_back((p.clone(), now));
                        g.close_sent
                    };
                    if !w.answer_pings || close_sent {
                        return false;
                    }
                    let unwritten = w.queued.saturating_sub(peer.bytes_written());
                    if unwritten < MAX_UNWRITTEN {
                        let f = frame_bytes(w.server, OpCode::Pong, true, &p);
                        w.queued += f.len() as u64;
                        peer.send_raw(f);
                    } else {
                        w.skipped_pongs += 1;
                        if w.skipped_pongs == 1 {
                            peer.transcript().note(format!(
                                "pings left unanswered from here: {unwritten} bytes are still unwritten (the server is not reading)"
                            ));
                        }
                    }
                }
                None => {}
            }
            false
        }
    }
}
