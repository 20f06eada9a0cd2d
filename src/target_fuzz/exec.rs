//! Runs one input against the server and applies the oracles.
//!
//! One run: a *bystander* connection (template 0) is opened first and left alone; then
//! the input's mutated handshake (if any) on a connection of its own, then its
//! connections, then its sends in order. After the traffic settles the oracles are
//! asked, most severe first:
//!
//! 1. the server process exited (when wsspec started it);
//! 2. it stops accepting connections: a new upgrade is refused, reset or not answered
//!    within the probe timeout;
//! 3. it stops answering the liveness probe: the new connection gets no pong;
//! 4. the bystander connection was dropped or closed by the server, or its ping went
//!    unanswered;
//! 5. the server broke RFC 6455 on any connection (a frame or a 101 that violates it);
//! 6. the probe's pong came later than the latency bound.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::codec::error::FrameError;
use crate::codec::frame::{FrameSpec, OpCode};
use crate::codec::message::{Event, Message};
use crate::peer::{HandshakeOutcome, Pacing, Peer, PeerEvent};
use crate::report::TranscriptEntry;

use super::input::{HandshakeMut, Input, What};
use super::target::{FuzzTarget, ServerCtl};

/// What went wrong, by oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Oracle {
    /// The server process exited.
    ServerExited,
    /// New connections are refused or not answered.
    NotAccepting,
    /// A new connection upgrades but its ping gets no pong.
    Unresponsive,
    /// The bystander connection was dropped, closed, or stopped answering.
    BystanderDropped,
    /// The server broke RFC 6455.
    ProtocolViolation,
    /// The probe's pong came later than the latency bound.
    Slow,
}

impl Oracle {
    /// Short id used in case ids and file names.
    pub fn id(self) -> &'static str {
        match self {
            Oracle::ServerExited => "crash",
            Oracle::NotAccepting => "not-accepting",
            Oracle::Unresponsive => "unresponsive",
            Oracle::BystanderDropped => "bystander-dropped",
            Oracle::ProtocolViolation => "protocol-violation",
            Oracle::Slow => "slow",
        }
    }

    /// What a healthy server does, for reports.
    pub fn expected(self) -> &'static str {
        match self {
            Oracle::ServerExited => "the server keeps running whatever a client sends",
            Oracle::NotAccepting => "the server keeps accepting and upgrading new connections",
            Oracle::Unresponsive => "a new connection's ping is answered with a pong",
            Oracle::BystanderDropped => {
                "a connection that sent nothing unusual stays open and answers pings"
            }
            Oracle::ProtocolViolation => "every frame and 101 the server sends follows RFC 6455",
            Oracle::Slow => "the liveness probe's pong comes within the latency bound",
        }
    }
}

/// Limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct ExecConfig {
    /// A pong later than this is [`Oracle::Slow`].
    pub latency_bound: Duration,
    /// How long the probe waits for an upgrade and for its pong.
    pub probe_timeout: Duration,
    /// Quiet time that ends the wait for the server's answers.
    pub settle: Duration,
    /// Longest wait for the server's answers.
    pub settle_max: Duration,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            latency_bound: Duration::from_secs(2),
            probe_timeout: Duration::from_secs(3),
            settle: Duration::from_millis(25),
            settle_max: Duration::from_millis(400),
        }
    }
}

/// What one run found.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The oracle that fired and what was seen.
    pub finding: Option<(Oracle, String)>,
    /// The server was not healthy before the input was sent (the run says nothing).
    pub unhealthy_before: Option<String>,
    /// A hash of the shape of the server's answers (new shapes are kept in the corpus).
    pub signature: u64,
    /// The text messages the server sent (the dictionary learns from them).
    pub texts: Vec<String>,
    /// How the mutated handshake was answered: `Some(101)`, `Some(status)`, or `None`
    /// (no HTTP answer); outer `None` when there was no mutated handshake.
    pub handshake_status: Option<Option<u16>>,
    /// The wire transcript of the run's connections.
    pub transcript: Vec<TranscriptEntry>,
}

struct Conn {
    idx: usize,
    peer: Peer,
    done: bool,
}

async fn open(t: &FuzzTarget, idx: usize, name: &str, cfg: &ExecConfig) -> Result<Peer, String> {
    let tpl = &t.conns[idx];
    let target = t.target(tpl, None)?;
    let opts = tpl.options(cfg.probe_timeout);
    match Peer::connect(&target, &opts, name).await {
        Ok((mut p, HandshakeOutcome::Upgraded { .. })) => {
            p.set_auto_pong(true);
            Ok(p)
        }
        Ok((_, o)) => Err(o.describe()),
        Err(e) => Err(e.to_string()),
    }
}

/// The request of a mutated handshake.
pub fn mutated_request(
    t: &FuzzTarget,
    h: &HandshakeMut,
    cfg: &ExecConfig,
) -> Result<
    (
        crate::peer::Target,
        crate::codec::handshake::ClientRequest,
        crate::peer::ConnectOptions,
    ),
    String,
> {
    let tpl = &t.conns[h.conn.min(t.conns.len() - 1)];
    let target = t.target(tpl, h.path.as_deref())?;
    let mut tpl = tpl.clone();
    if let Some(p) = &h.protocols {
        tpl.protocols = p.clone();
    }
    let opts = tpl.options(cfg.probe_timeout);
    let mut req = opts.request(&target);
    if let Some(m) = &h.method {
        req.method = m.clone();
    }
    for (n, v) in &h.headers {
        match n.to_ascii_lowercase().as_str() {
            "host" => req.host = Some(v.clone()),
            "sec-websocket-key" => req.key = v.clone(),
            "sec-websocket-version" => req.version = Some(v.clone()),
            "upgrade" => req.upgrade = Some(v.clone()),
            "connection" => req.connection = Some(v.clone()),
            _ => {
                req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(n));
                req.headers.push((n.clone(), v.clone()));
            }
        }
    }
    for o in &h.omit {
        match o.to_ascii_lowercase().as_str() {
            "host" => req.host = None,
            "sec-websocket-version" => req.version = None,
            "upgrade" => req.upgrade = None,
            "connection" => req.connection = None,
            _ => req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(o)),
        }
    }
    Ok((target, req, opts))
}

fn skeleton(v: &Value, depth: usize, out: &mut String) {
    if depth > 6 {
        return;
    }
    match v {
        Value::Object(m) => {
            out.push('{');
            for (k, x) in m {
                out.push_str(k);
                out.push(':');
                // Enum-like fields keep their value: they tell answers apart.
                if matches!(k.as_str(), "type" | "kind" | "op" | "event" | "code") {
                    out.push_str(&x.to_string());
                } else {
                    skeleton(x, depth + 1, out);
                }
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            if let Some(x) = a.first() {
                skeleton(x, depth + 1, out);
            }
            out.push(']');
        }
        Value::String(_) => out.push('s'),
        Value::Number(_) => out.push('n'),
        Value::Bool(_) => out.push('b'),
        Value::Null => out.push('0'),
    }
}

/// Runs `input` once.
pub async fn execute(
    t: &FuzzTarget,
    server: Option<&ServerCtl>,
    input: &Input,
    cfg: &ExecConfig,
) -> Outcome {
    let mut out = Outcome::default();
    let exited = |server: Option<&ServerCtl>| {
        server
            .and_then(|s| s.process())
            .and_then(|p| p.exit())
            .map(|e| {
                let tail = server.map(|s| s.last_output()).unwrap_or_default();
                if tail.is_empty() {
                    e.describe()
                } else {
                    format!("{}; last output: {tail}", e.describe())
                }
            })
    };
    if let Some(e) = exited(server) {
        out.unhealthy_before = Some(format!("the server is not running ({e})"));
        return out;
    }
    let mut bystander = match open(t, 0, "bystander", cfg).await {
        Ok(p) => p,
        Err(e) => {
            out.unhealthy_before = Some(format!("the bystander could not connect: {e}"));
            return out;
        }
    };
    let mut shapes: BTreeSet<String> = BTreeSet::new();
    let mut violation: Option<String> = None;
    let mut conns: Vec<Conn> = Vec::new();
    let mut hs_peer = None;
    let mut hs_done = false;
    if let Some(h) = &input.handshake {
        match mutated_request(t, h, cfg) {
            Ok((target, req, opts)) => {
                match Peer::open(&target, &opts, "handshake", Instant::now()).await {
                    Ok(mut p) => {
                        let o = p
                            .handshake(&req, opts.head_limits, Instant::now() + cfg.probe_timeout)
                            .await;
                        out.handshake_status = Some(o.status());
                        shapes.insert(format!("hs:{:?}", o.status()));
                        if let HandshakeOutcome::Invalid { error, .. } = &o {
                            violation = Some(format!(
                                "the answer to the upgrade broke RFC 6455 §{}: {error}",
                                error.rfc_section()
                            ));
                        }
                        if o.is_upgraded() {
                            p.set_auto_pong(true);
                        } else {
                            // What follows a refusal is an HTTP body, not frames.
                            hs_done = true;
                        }
                        hs_peer = Some(p);
                    }
                    Err(_) => out.handshake_status = Some(None),
                }
            }
            Err(_) => out.handshake_status = Some(None),
        }
    }
    for idx in input.conns_used() {
        if let Ok(p) = open(t, idx, &t.conns[idx].name, cfg).await {
            conns.push(Conn {
                idx,
                peer: p,
                done: false,
            });
        }
    }
    let mut last_conn = None;
    for s in &input.sends {
        let Some(c) = conns.iter_mut().find(|c| c.idx == s.conn) else {
            continue;
        };
        if last_conn.is_some() && last_conn != Some(s.conn) {
            // Let the server handle what went before on the other connection first.
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        last_conn = Some(s.conn);
        match &s.what {
            What::Text(x) => c.peer.send_frame(
                &FrameSpec::new(OpCode::Text, true, x.as_bytes()),
                Pacing::Plain,
            ),
            What::Binary(b) => c.peer.send_frame(
                &FrameSpec::new(OpCode::Binary, true, b.clone()),
                Pacing::Plain,
            ),
            What::Frames { frames, chop } => {
                let pacing = chop.map_or(Pacing::Plain, Pacing::chop);
                for f in frames {
                    c.peer.send_frame(&f.spec(), pacing);
                }
            }
        }
    }
    // Settle: read every connection until nothing came for `settle`.
    let start = Instant::now();
    let mut quiet_since = Instant::now();
    let mut bystander_gone: Option<String> = None;
    while start.elapsed() < cfg.settle_max && quiet_since.elapsed() < cfg.settle {
        let mut any = false;
        let mut peers: Vec<(&mut Peer, &str, &mut bool)> = Vec::new();
        let mut by_done = bystander_gone.is_some();
        peers.push((&mut bystander, "bystander", &mut by_done));
        for c in conns.iter_mut() {
            peers.push((&mut c.peer, t.conns[c.idx].name.as_str(), &mut c.done));
        }
        if let Some(p) = hs_peer.as_mut() {
            peers.push((p, "handshake", &mut hs_done));
        }
        for (peer, label, done) in peers {
            let is_by = label == "bystander";
            if *done {
                continue;
            }
            let ev = peer.recv(Instant::now() + Duration::from_millis(2)).await;
            match ev {
                PeerEvent::Timeout => {}
                PeerEvent::Eof { error, .. } => {
                    any = true;
                    *done = true;
                    if is_by {
                        bystander_gone = Some(format!(
                            "the server dropped the bystander's TCP connection{}",
                            error.map(|e| format!(" ({e})")).unwrap_or_default()
                        ));
                    } else {
                        shapes.insert("eof".into());
                    }
                }
                PeerEvent::Violation { error, .. } => {
                    any = true;
                    if let FrameError::Protocol(p) = error {
                        violation.get_or_insert(format!(
                            "the server broke RFC 6455 on connection {label:?}: {p}"
                        ));
                    }
                }
                PeerEvent::Frame { frame, .. } => {
                    any = true;
                    match frame.event {
                        Some(Event::Message(Message::Text(s))) => {
                            let mut k = String::new();
                            match serde_json::from_str::<Value>(&s) {
                                Ok(v) => skeleton(&v, 0, &mut k),
                                Err(_) => k.push_str("text"),
                            }
                            shapes.insert(k);
                            if out.texts.len() < 64 && s.len() < 16 * 1024 {
                                out.texts.push(s);
                            }
                        }
                        Some(Event::Message(Message::Binary(_))) => {
                            shapes.insert("binary".into());
                        }
                        Some(Event::Close(c)) => {
                            let code = c.map(|(c, _)| c);
                            shapes.insert(format!("close:{code:?}"));
                            if is_by {
                                bystander_gone = Some(format!(
                                    "the server closed the bystander with code {code:?}"
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        if any {
            quiet_since = Instant::now();
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    shapes.hash(&mut h);
    out.signature = h.finish();

    // Oracles, most severe first.
    let mut found: Option<(Oracle, String)> = None;
    if let Some(e) = exited(server) {
        found = Some((Oracle::ServerExited, format!("the server exited: {e}")));
    }
    if found.is_none() {
        found = probe(t, cfg, &mut bystander, bystander_gone.is_some()).await;
        if let Some((Oracle::NotAccepting | Oracle::Unresponsive, _)) = &found {
            // A dying process may take a moment to be reaped.
            if let Some(p) = server.and_then(|s| s.process()) {
                p.wait_exit(Instant::now() + Duration::from_millis(150))
                    .await;
            }
            if let Some(e) = exited(server) {
                found = Some((Oracle::ServerExited, format!("the server exited: {e}")));
            }
        }
    }
    if found.is_none() {
        if let Some(b) = bystander_gone {
            found = Some((Oracle::BystanderDropped, b));
        }
    }
    if found.is_none() || matches!(found, Some((Oracle::Slow, _))) {
        if let Some(v) = violation {
            found = Some((Oracle::ProtocolViolation, v));
        }
    }
    out.finding = found;
    let mut tr = Vec::new();
    for c in &conns {
        tr.extend(c.peer.transcript_entries());
    }
    if let Some(p) = &hs_peer {
        tr.extend(p.transcript_entries());
    }
    tr.extend(bystander.transcript_entries());
    tr.sort_by(|a, b| {
        a.t_ms
            .partial_cmp(&b.t_ms)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    tr.truncate(400);
    out.transcript = tr;
    for c in conns.iter_mut() {
        c.peer.drop_tcp();
    }
    if let Some(p) = hs_peer.as_mut() {
        p.drop_tcp();
    }
    bystander.drop_tcp();
    out
}

/// The liveness probe: a new connection must upgrade and answer a ping; the bystander
/// must answer a ping too.
async fn probe(
    t: &FuzzTarget,
    cfg: &ExecConfig,
    bystander: &mut Peer,
    bystander_gone: bool,
) -> Option<(Oracle, String)> {
    let t0 = Instant::now();
    let mut p = match open(t, 0, "probe", cfg).await {
        Ok(p) => p,
        Err(e) => {
            return Some((
                Oracle::NotAccepting,
                format!("a new connection was not upgraded: {e}"),
            ))
        }
    };
    let upgraded = t0.elapsed();
    let t1 = Instant::now();
    let deadline = t1 + cfg.probe_timeout;
    p.send_frame(
        &FrameSpec::new(OpCode::Ping, true, b"wsspec-probe".to_vec()),
        Pacing::Plain,
    );
    if !bystander_gone {
        bystander.send_frame(
            &FrameSpec::new(OpCode::Ping, true, b"wsspec-bystander".to_vec()),
            Pacing::Plain,
        );
    }
    let mut pong = None;
    loop {
        match p.recv(deadline).await {
            PeerEvent::Frame { frame, .. } => {
                if let Some(Event::Pong(b)) = &frame.event {
                    if b == b"wsspec-probe" {
                        pong = Some(t1.elapsed());
                        break;
                    }
                }
            }
            PeerEvent::Violation { .. } => {}
            PeerEvent::Eof { .. } | PeerEvent::Timeout => break,
        }
    }
    let by_result = if bystander_gone {
        None
    } else {
        let mut ok = false;
        let mut gone = None;
        let deadline = Instant::now().max(deadline);
        loop {
            match bystander.recv(deadline).await {
                PeerEvent::Frame { frame, .. } => match &frame.event {
                    Some(Event::Pong(b)) if b == b"wsspec-bystander" => {
                        ok = true;
                        break;
                    }
                    Some(Event::Close(c)) => {
                        gone = Some(format!(
                            "the server closed the bystander with code {:?}",
                            c.as_ref().map(|c| c.0)
                        ));
                        break;
                    }
                    _ => {}
                },
                PeerEvent::Violation { .. } => {}
                PeerEvent::Eof { .. } => {
                    gone = Some("the server dropped the bystander's TCP connection".into());
                    break;
                }
                PeerEvent::Timeout => break,
            }
        }
        if ok {
            None
        } else {
            Some(gone.unwrap_or_else(|| {
                format!(
                    "the bystander's ping got no pong within {:?}",
                    cfg.probe_timeout
                )
            }))
        }
    };
    p.drop_tcp();
    match pong {
        None => Some((
            Oracle::Unresponsive,
            format!(
                "a new connection upgraded (in {} ms) but its ping got no pong within {:?}",
                upgraded.as_millis(),
                cfg.probe_timeout
            ),
        )),
        Some(_) if by_result.is_some() => {
            Some((Oracle::BystanderDropped, by_result.unwrap_or_default()))
        }
        Some(d) if d > cfg.latency_bound || upgraded > cfg.latency_bound => Some((
            Oracle::Slow,
            format!(
                "the liveness probe took {} ms to upgrade and {} ms for its pong (bound {} ms)",
                upgraded.as_millis(),
                d.as_millis(),
                cfg.latency_bound.as_millis()
            ),
        )),
        Some(_) => None,
    }
}
