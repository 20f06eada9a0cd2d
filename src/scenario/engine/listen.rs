//! How the server-role actions run. A [`Listener`] is a TCP listener on 127.0.0.1 whose
//! background task takes every connection as it comes (time-stamped, into a bounded
//! queue); `accept` and `expect_reconnect` take them from there, read the client's
//! opening handshake (bounded in size and time), refuse it with an HTTP error or answer
//! 101, and bind the upgraded connection to a name: from then on it is a [`Conn`] like
//! one `connect` opened (the peer in the server role: it sends unmasked frames and
//! requires masked ones), so every connection step works on it unchanged.
//!
//! Every byte of the handshake is in the connection's transcript; attempts that are
//! refused have a transcript of their own (`<conn>~N`).

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::conn::Conn;
use super::http::check_string;
use super::listener::Listener;
use super::runner::{Outcome, RunStep, Runner, StepCx, Window};
use crate::codec::handshake::{reject_response, validate_request, ValidRequest};
use crate::codec::http::{HeadLimits, Headers, RequestHead};
use crate::peer::{AcceptOptions, Peer, RequestOutcome};
use crate::scenario::actions::*;
use crate::scenario::describe::{ms, short};
use crate::scenario::format_duration;
use crate::scenario::matcher::JsonPattern;

/// The reason phrase of a refusal status.
fn reason_of(status: u16) -> &'static str {
    match status {
        503 => "Service Unavailable",
        502 => "Bad Gateway",
        500 => "Internal Server Error",
        429 => "Too Many Requests",
        404 => "Not Found",
        403 => "Forbidden",
        400 => "Bad Request",
        _ => "Refused",
    }
}

/// Waits (at most `d`) until the peer has written everything queued so far, so that a
/// refusal is on the wire before the peer is dropped.
async fn drain_writes(peer: &Peer, queued: u64, d: Duration) {
    let until = Instant::now() + d;
    while peer.bytes_written() < queued && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The query of a request target as a JSON object (last value wins, percent-decoded).
fn query_json(target: &str) -> (String, Value) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut m = Map::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        m.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    (path.to_string(), Value::Object(m))
}

fn request_headers_json(h: &Headers) -> Value {
    let mut m = Map::new();
    for (n, v) in &h.0 {
        let name = n.to_ascii_lowercase();
        let v = String::from_utf8_lossy(v).into_owned();
        match m.get_mut(&name) {
            Some(Value::String(s)) => {
                s.push_str(", ");
                s.push_str(&v);
            }
            _ => {
                m.insert(name, Value::String(v));
            }
        }
    }
    Value::Object(m)
}

/// Checks the request against `expect`; the problems found.
fn check_request(e: &RequestExpect, req: &ValidRequest, head: &RequestHead) -> Vec<String> {
    let mut problems = Vec::new();
    let (path, query) = query_json(&req.target);
    if let Some(p) = &e.path {
        if let Err(m) = check_string(p, Some(path.clone())) {
            problems.push(format!("path {path:?}: {m}"));
        }
    }
    if let Some(q) = &e.query {
        match JsonPattern::compile_optional(q) {
            Ok(pat) => {
                if let Err(m) = pat.check(&query) {
                    problems.push(format!("query {m}"));
                }
            }
            Err(err) => problems.push(err.to_string()),
        }
    }
    if let Some(p) = &e.protocols {
        let offered = (!req.protocols.is_empty()).then(|| req.protocols.join(", "));
        if let Err(m) = check_string(p, offered) {
            problems.push(format!("offered subprotocols: {m}"));
        }
    }
    if let Some(p) = &e.origin {
        if let Err(m) = check_string(p, req.origin.clone()) {
            problems.push(format!("Origin: {m}"));
        }
    }
    if let Some(h) = &e.headers {
        match JsonPattern::compile_optional(h) {
            Ok(pat) => {
                if let Err(m) = pat.check(&request_headers_json(&head.headers)) {
                    problems.push(format!("header {m}"));
                }
            }
            Err(err) => problems.push(err.to_string()),
        }
    }
    problems
}

/// What one handshake attempt came to.
enum Attempt {
    /// Refused with an HTTP status, as asked.
    Refused { at: Instant, line: String },
    /// The client's request broke RFC 6455 4.1 (answered 400 and closed) or never
    /// completed.
    Broken { why: String },
    /// Upgraded: the connection, and what the assertions found.
    Upgraded {
        at: Instant,
        conn: Box<Conn>,
        line: String,
        problems: Vec<String>,
    },
}

/// How an accepted attempt is answered.
struct Answer<'a> {
    expect: Option<&'a RequestExpect>,
    protocol: Option<&'a str>,
    answer_pings: bool,
}

impl Runner<'_> {
    /// Takes the next connection on `listener` and handles its handshake: refused with
    /// `refuse_status`, or upgraded per `answer`. `None` when no connection came by
    /// `until`.
    async fn next_attempt(
        &mut self,
        listener: &str,
        conn: &str,
        until: Instant,
        refuse_status: Option<u16>,
        answer: &Answer<'_>,
    ) -> Result<Option<Attempt>, String> {
        let started = self.started;
        let (inc_at, mut peer, head) = loop {
            let Some(l) = self.listeners.get_mut(listener) else {
                return Err(format!(
                    "listener {listener:?} is not listening (its listen step did not succeed)"
                ));
            };
            let Some(inc) = l.next(until).await else {
                l.tr.note(format!(
                    "no connection to {}:{} before the step's window closed",
                    l.host, l.port
                ));
                return Ok(None);
            };
            l.attempts += 1;
            let n = l.attempts;
            let tr_name = if refuse_status.is_some() {
                format!("{conn}~{n}")
            } else {
                conn.to_string()
            };
            let limits = AcceptOptions::default().limits;
            let mut peer = Peer::accepted(inc.stream, limits, &tr_name, started);
            self.transcripts.push(peer.transcript().clone());
            // A client gets the step's window for its head, but never less than a second
            // after its TCP connect (a slow writer must not be cut off by a short window).
            let head_until = until.max(inc.at + Duration::from_secs(1));
            match peer
                .read_request_head(HeadLimits::default(), head_until)
                .await
            {
                RequestOutcome::Request(h) => break (inc.at, peer, h),
                // A port probe (connect, then close without a byte) is no attempt.
                RequestOutcome::ClosedBeforeRequest { received } if received.is_empty() => {
                    peer.transcript().note(
                        "closed without sending a byte (a port probe): not counted as an attempt",
                    );
                    if let Some(l) = self.listeners.get_mut(listener) {
                        l.attempts -= 1;
                    }
                    continue;
                }
                other => {
                    if let RequestOutcome::Malformed(e) = &other {
                        peer.send_refusal(400, "Bad Request", &format!("{e}\n"));
                        drain_writes(&peer, 1, Duration::from_millis(200)).await;
                    }
                    return Ok(Some(Attempt::Broken {
                        why: format!("no usable opening handshake: {}", other.describe()),
                    }));
                }
            }
        };
        let line = format!("{} {}", head.method, head.target);
        let valid = match validate_request(&head) {
            Ok(v) => v,
            Err(e) => {
                peer.send_http(reject_response(&e));
                drain_writes(&peer, 1, Duration::from_millis(200)).await;
                return Ok(Some(Attempt::Broken {
                    why: format!(
                        "the client's opening handshake breaks RFC 6455 §{}: {e} ({line})",
                        e.rfc_section()
                    ),
                }));
            }
        };
        let l = self
            .listeners
            .get_mut(listener)
            .expect("listener checked above");
        let fresh = l.keys.insert(valid.key.clone());
        if let Some(status) = refuse_status {
            let reason = reason_of(status);
            peer.send_refusal(status, reason, &format!("{status} {reason}\n"));
            drain_writes(&peer, 1, Duration::from_millis(500)).await;
            l.park(peer);
            return Ok(Some(Attempt::Refused {
                at: inc_at,
                line: format!("{line} → HTTP {status}"),
            }));
        }
        let mut problems = match answer.expect {
            Some(e) => {
                let mut p = check_request(e, &valid, &head);
                if e.fresh_key && !fresh {
                    p.push(format!(
                        "Sec-WebSocket-Key {:?} was already used by an earlier connection (RFC 6455 §4.1: a fresh random nonce per connection)",
                        valid.key
                    ));
                }
                p
            }
            None => Vec::new(),
        };
        let protocol = match answer.protocol {
            Some(p) if valid.protocols.iter().any(|o| o == p) => Some(p),
            Some(p) => {
                problems.push(format!(
                    "the client did not offer subprotocol {p:?} (offered: {})",
                    if valid.protocols.is_empty() {
                        "none".to_string()
                    } else {
                        valid.protocols.join(", ")
                    }
                ));
                None
            }
            None => None,
        };
        peer.send_upgrade(&valid, protocol, &Headers::default());
        Ok(Some(Attempt::Upgraded {
            at: inc_at,
            conn: Box::new(Conn::start(peer, answer.answer_pings)),
            line,
            problems,
        }))
    }

    /// Binds an accepted connection to `name` on `listener`.
    fn bind_conn(&mut self, listener: &str, name: &str, conn: Conn) {
        self.conns.insert(name.to_string(), conn);
        if let Some(l) = self.listeners.get_mut(listener) {
            if !l.conns.iter().any(|c| c == name) {
                l.conns.push(name.to_string());
            }
        }
    }
}

impl RunStep for Listen {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let sent = format!("listen on {}:{}", self.host, self.port);
        let expected = "a listening socket".to_string();
        if r.listeners.contains_key(&self.listener) {
            return Outcome::failed(
                sent,
                expected,
                format!("listener {:?} is already listening", self.listener),
            );
        }
        match Listener::bind(&self.listener, self.host, self.port, r.started).await {
            Ok(l) => {
                let port = l.port;
                r.transcripts.push(l.tr.clone());
                r.listeners.insert(self.listener.clone(), l);
                r.vars.set(self.port_var.clone(), port.to_string());
                Outcome::ok(
                    sent,
                    expected,
                    format!("listening on {}:{port} (${{{}}})", self.host, self.port_var),
                )
            }
            Err(e) => Outcome::failed(
                sent,
                expected,
                format!("cannot listen on {}:{}: {e}", self.host, self.port),
            ),
        }
    }
}

impl RunStep for Accept {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let Window { until, cut } = r.window(cx.t0, self.take.within);
        let refuse = self.refuse.unwrap_or(Refuse {
            count: 0,
            status: 503,
        });
        let mut expected = format!(
            "a client connects to listener {} within {}",
            self.take.listener,
            format_duration(self.take.within)
        );
        if refuse.count > 0 {
            expected += &format!(
                " (the first {} attempt(s) refused with HTTP {})",
                refuse.count, refuse.status
            );
        }
        let answer = Answer {
            expect: Some(&self.expect),
            protocol: self.protocol.as_deref(),
            answer_pings: self.take.answer_pings,
        };
        let mut log: Vec<String> = Vec::new();
        let mut refused = 0u32;
        loop {
            let status = (refused < refuse.count).then_some(refuse.status);
            let att = match r
                .next_attempt(&self.take.listener, &self.take.conn, until, status, &answer)
                .await
            {
                Err(e) => return Outcome::failed("", expected, e),
                Ok(None) => {
                    let so_far = if log.is_empty() {
                        "no connection".to_string()
                    } else {
                        log.join("; ")
                    };
                    return Outcome::failed(
                        "",
                        expected,
                        format!(
                            "{so_far}; nothing more within {}{cut}",
                            format_duration(self.take.within)
                        ),
                    );
                }
                Ok(Some(a)) => a,
            };
            match att {
                Attempt::Refused { at, line } => {
                    refused += 1;
                    log.push(format!(
                        "{line} after {}",
                        ms(at.saturating_duration_since(cx.t0))
                    ));
                }
                Attempt::Broken { why, .. } => {
                    log.push(why);
                    return Outcome::failed("", expected, log.join("; "));
                }
                Attempt::Upgraded {
                    at,
                    conn,
                    line,
                    problems,
                } => {
                    r.bind_conn(&self.take.listener, &self.take.conn, *conn);
                    log.push(format!(
                        "{line} → 101 after {}",
                        ms(at.saturating_duration_since(cx.t0))
                    ));
                    return Outcome::judged(expected, &log.join("; "), &problems);
                }
            }
        }
    }
}

impl RunStep for RestartListener {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let sent = self.title();
        let expected = "the listener is back on the same port".to_string();
        let Some(l) = r.listeners.get_mut(&self.listener) else {
            return Outcome::failed(
                sent,
                expected,
                format!("listener {:?} is not listening", self.listener),
            );
        };
        l.close().await;
        let names = l.conns.clone();
        let mut ended = 0;
        for name in &names {
            if let Some(c) = r.conns.get(name) {
                if c.lock().ended().is_some() || c.lock().finished() {
                    continue;
                }
                match self.close {
                    EndConns::Drop => c.drop_tcp(),
                    EndConns::Code(code) => c.send_close(Some(code), Vec::new()),
                }
                c.flush().await;
                ended += 1;
            }
        }
        if let EndConns::Code(_) = self.close {
            // Give clients a moment to answer the close frame, then cut TCP: a server
            // that shuts down does not wait for slow clients.
            tokio::time::sleep(Duration::from_millis(50)).await;
            for name in &names {
                if let Some(c) = r.conns.get(name) {
                    if !c.lock().finished() {
                        c.drop_tcp();
                        c.flush().await;
                    }
                }
            }
        }
        let down_at = Instant::now();
        if let Some(l) = r.listeners.get_mut(&self.listener) {
            l.last_end = Some(down_at);
        }
        tokio::time::sleep(self.down_for).await;
        let Some(l) = r.listeners.get_mut(&self.listener) else {
            return Outcome::failed(sent, expected, "the listener vanished");
        };
        match l.relisten().await {
            Ok(()) => Outcome::ok(
                sent,
                expected,
                format!(
                    "ended {ended} connection(s); refused connections for {}; listening again on {}:{}",
                    format_duration(self.down_for),
                    l.host,
                    l.port
                ),
            ),
            Err(e) => Outcome::failed(
                sent,
                expected,
                format!("cannot listen again on {}:{}: {e}", l.host, l.port),
            ),
        }
    }
}

/// Judges a delay sequence against a back-off shape; `Err` says why not.
pub(super) fn judge_backoff(
    shape: Backoff,
    delays: &[Duration],
    max_delay: Option<Duration>,
) -> Result<(), String> {
    let f = |d: &Duration| d.as_secs_f64() * 1000.0;
    match shape {
        Backoff::Any => Ok(()),
        Backoff::Constant => {
            let mut v: Vec<f64> = delays.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            let median = v[v.len() / 2];
            match v.iter().find(|x| (**x - median).abs() > 0.3 * median + 5.0) {
                Some(x) => Err(format!(
                    "not constant: {x:.0} ms is more than 30% away from the median {median:.0} ms"
                )),
                None => Ok(()),
            }
        }
        Backoff::Growing => {
            for w in delays.windows(2) {
                if f(&w[1]) < 1.25 * f(&w[0]) {
                    return Err(format!(
                        "not growing: {:.0} ms after {:.0} ms (each delay should be at least 1.25 times the one before)",
                        f(&w[1]),
                        f(&w[0])
                    ));
                }
            }
            Ok(())
        }
        Backoff::Capped => {
            for w in delays.windows(2) {
                if f(&w[1]) < 0.8 * f(&w[0]) {
                    return Err(format!(
                        "shrinking: {:.0} ms after {:.0} ms",
                        f(&w[1]),
                        f(&w[0])
                    ));
                }
            }
            let cap = max_delay.map_or(f64::INFINITY, |d| f(&d));
            let grew = delays.windows(2).any(|w| f(&w[1]) >= 1.25 * f(&w[0]));
            if !grew {
                return Err("the delays never grew".into());
            }
            match delays.iter().find(|d| f(d) > cap) {
                Some(d) => Err(format!("{:.0} ms is above the cap {cap:.0} ms", f(d))),
                None => Ok(()),
            }
        }
    }
}

impl RunStep for ExpectReconnect {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let Window { until, cut } = r.window(cx.t0, self.take.within);
        let mut expected = format!(
            "the client connects again to listener {} within {}",
            self.take.listener,
            format_duration(self.take.within)
        );
        if self.refuse > 0 {
            expected += &format!(", {} more time(s) after HTTP 503 refusals", self.refuse);
        }
        if self.backoff != Backoff::Any {
            expected += &format!(", with {} delays", self.backoff.name());
        }
        // The first delay counts from the end of `after` (or of the listener's last
        // connection the kit ended), else from the step's start.
        let mut origin = cx.t0;
        let mut origin_what = "the step's start".to_string();
        if let Some(t) = r
            .listeners
            .get_mut(&self.take.listener)
            .and_then(|l| l.last_end.take())
        {
            origin = t;
            origin_what = format!("the restart of listener {}", self.take.listener);
        }
        if let Some(a) = &self.after {
            match r.conns.get(a).and_then(|c| c.lock().ended()) {
                Some(e) => {
                    origin = e.at;
                    origin_what = format!("the end of {a}");
                }
                None => {
                    return Outcome::failed(
                        "",
                        expected,
                        format!("connection {a:?} has not ended; nothing to reconnect after"),
                    )
                }
            }
        }
        let answer = Answer {
            expect: None,
            protocol: None,
            answer_pings: self.take.answer_pings,
        };
        let mut times: Vec<Instant> = Vec::new();
        let mut log: Vec<String> = Vec::new();
        let mut refused = 0u32;
        let delays_text = |times: &[Instant]| -> (Vec<Duration>, String) {
            let mut prev = origin;
            let mut ds = Vec::new();
            for t in times {
                ds.push(t.saturating_duration_since(prev));
                prev = *t;
            }
            let s: Vec<String> = ds
                .iter()
                .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
                .collect();
            (
                ds,
                format!("delays from {origin_what}: [{}] ms", s.join(", ")),
            )
        };
        loop {
            let status = (refused < self.refuse).then_some(503);
            let att = match r
                .next_attempt(&self.take.listener, &self.take.conn, until, status, &answer)
                .await
            {
                Err(e) => return Outcome::failed("", expected, e),
                Ok(None) => {
                    let (_, d) = delays_text(&times);
                    let what = if times.is_empty() {
                        "the client never came back".to_string()
                    } else {
                        format!("the client came back {} time(s), then no more", times.len())
                    };
                    return Outcome::failed(
                        "",
                        expected,
                        format!(
                            "{what} within {}{cut}; {d}",
                            format_duration(self.take.within)
                        ),
                    );
                }
                Ok(Some(a)) => a,
            };
            match att {
                Attempt::Refused { at, line } => {
                    refused += 1;
                    times.push(at);
                    log.push(line);
                }
                Attempt::Broken { why, .. } => {
                    return Outcome::failed("", expected, why);
                }
                Attempt::Upgraded { at, conn, line, .. } => {
                    times.push(at);
                    r.bind_conn(&self.take.listener, &self.take.conn, *conn);
                    log.push(format!("{line} → 101"));
                    let (ds, d) = delays_text(&times);
                    let mut observed = format!("{} attempt(s); {d}", times.len());
                    let mut problems = Vec::new();
                    // The shape is judged between attempts: the first delay also holds
                    // the time the client took to notice the end, which says nothing
                    // about its back-off.
                    let shape_of = if ds.len() > 2 { &ds[1..] } else { &ds[..] };
                    if let Err(why) = judge_backoff(self.backoff, shape_of, self.max_delay) {
                        problems.push(why);
                    }
                    if let Some(min) = self.min_delay {
                        if let Some(x) = ds.iter().find(|x| **x < min) {
                            problems.push(format!(
                                "a delay of {} < {}",
                                ms(*x),
                                format_duration(min)
                            ));
                        }
                    }
                    if self.backoff != Backoff::Capped {
                        if let Some(max) = self.max_delay {
                            if let Some(x) = ds.iter().find(|x| **x > max) {
                                problems.push(format!(
                                    "a delay of {} > {}",
                                    ms(*x),
                                    format_duration(max)
                                ));
                            }
                        }
                    }
                    observed += &format!("; {}", short(&log.join("; "), 400));
                    return Outcome::judged(expected, &observed, &problems);
                }
            }
        }
    }
}
