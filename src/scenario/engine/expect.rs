//! How the expect family runs: `expect`, `expect_silence`, `expect_close`,
//! `expect_ack`, `rpc` and `capture`, and the captures every step may take from what
//! it matched.
//!
//! Every wait for something the server sends goes through [`wait_for_match`]: a picker
//! looks at the connection's state after every change (messages queued, pongs, close)
//! and the wait ends when the picker finds what it wants, when the connection can no
//! longer deliver it (a close frame, TCP end), or when the step's window closes.

use std::time::Instant;

use serde_json::Value;

use super::conn::{Conn, ConnState, Ended, Msg, Timeout, MAX_PINGS_KEPT};
use super::http::check_string;
use super::runner::{Outcome, RunStep, Runner, StepCx, Window};
use super::send::message_frames;
use crate::codec::frame::OpCode;
use crate::peer::http::HttpResponse;
use crate::scenario::actions::*;
use crate::scenario::describe::{self, ms, short};
use crate::scenario::format_duration;
use crate::scenario::matcher::{compile_regex, CompiledMatcher, MessageMatcher};
use crate::scenario::model::{Bytes, Capture, CaptureSource};

/// Why [`wait_for_match`] ended without what it waited for.
pub(super) enum Missed {
    /// The connection ended first (a close frame, TCP end, or the kit dropped it).
    Closed(String),
    /// The window closed first.
    TimedOut,
}

/// Waits until `pick` returns something, the connection ends, or `until`. `pick` sees
/// the state after every change and may take messages out of the queue.
pub(super) async fn wait_for_match<T>(
    conn: &Conn,
    until: Instant,
    mut pick: impl FnMut(&mut ConnState) -> Option<T>,
) -> Result<T, Missed> {
    let res = conn
        .wait_for(until, |st| {
            if let Some(v) = pick(st) {
                return Some(Ok(v));
            }
            if st.close_frame.is_some() || st.finished() {
                return Some(Err(Missed::Closed(closed_text(st))));
            }
            None
        })
        .await;
    match res {
        Ok(r) => r,
        Err(Timeout::Finished) => Err(Missed::Closed(closed_text(&conn.lock()))),
        Err(Timeout::Deadline) => Err(Missed::TimedOut),
    }
}

/// `close frame 1001 "bye"`, `TCP closed without a close frame (1006)`.
pub(super) fn ended_text(e: &Ended) -> String {
    match e.code {
        1006 => "TCP closed without a close frame (1006)".into(),
        1005 => "a close frame without a status code (1005)".into(),
        c if e.reason.is_empty() => format!("close frame {c}"),
        c => format!("close frame {c} {}", short(&e.reason, 60)),
    }
}

/// `the connection ended: ...`.
pub(super) fn closed_text(st: &ConnState) -> String {
    match st.ended() {
        Some(e) => format!("the connection ended: {}", ended_text(&e)),
        None => "the connection ended".into(),
    }
}

/// `after 12.3 ms` (from the step start) or `(before the step began)`.
fn latency(at: Instant, t0: Instant) -> String {
    if at < t0 {
        "(before the step began)".into()
    } else {
        format!("after {}", ms(at - t0))
    }
}

/// Compiles a list of matchers; the error is the first pattern's, as report text.
fn compile_all<'a>(
    matchers: impl IntoIterator<Item = &'a MessageMatcher>,
) -> Result<Vec<CompiledMatcher>, String> {
    matchers
        .into_iter()
        .map(|m| m.compile().map_err(|e| e.to_string()))
        .collect()
}

/// A message that did not match an `expect`: the message and why.
struct Mismatch(Msg, String);

impl RunStep for Expect {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let e = self;
        let t0 = cx.t0;
        let (items, ordered): (Vec<&ExpectItem>, bool) = match &e.what {
            ExpectWhat::One(i) => (vec![i], true),
            ExpectWhat::All { items, ordered } => (items.iter().collect(), *ordered),
        };
        let expected = if items.len() == 1 {
            describe::matcher(&items[0].matcher)
        } else {
            format!(
                "{} messages {}: {}",
                items.len(),
                if ordered { "in order" } else { "in any order" },
                items
                    .iter()
                    .map(|i| describe::matcher(&i.matcher))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        let compiled = match compile_all(items.iter().map(|i| &i.matcher)) {
            Ok(c) => c,
            Err(err) => return Outcome::failed("", expected, err),
        };
        let ignore = match compile_all(&e.ignore) {
            Ok(c) => c,
            Err(err) => return Outcome::failed("", expected, err),
        };
        let Some(conn) = r.conns.get(&e.conn) else {
            return r.not_open(&e.conn);
        };
        let n = items.len();
        let Window { until, cut } = r.window(t0, e.within);
        let mut got: Vec<Option<Msg>> = vec![None; n];
        let mut next = 0usize;
        let mut ignored = 0usize;
        let mut skipped = 0usize;
        let mut first_skip: Option<String> = None;
        let res = wait_for_match(conn, until, |st| {
            while let Some(front) = st.queue.front() {
                let m = front.as_ref();
                if ignore.iter().any(|i| i.matches(m)) {
                    st.skip(0);
                    ignored += 1;
                    continue;
                }
                let pick: Result<usize, String> = if ordered {
                    compiled[next]
                        .check(m)
                        .map(|()| next)
                        .map_err(|mm| mm.to_string())
                } else {
                    let rem: Vec<usize> = (0..n).filter(|i| got[*i].is_none()).collect();
                    match rem.iter().find(|&&i| compiled[i].matches(m)) {
                        Some(&i) => Ok(i),
                        None => Err(format!(
                            "matches none of the {} remaining entries (entry {}: {})",
                            rem.len(),
                            rem[0] + 1,
                            compiled[rem[0]]
                                .check(m)
                                .err()
                                .map(|x| x.to_string())
                                .unwrap_or_default()
                        )),
                    }
                };
                match pick {
                    Ok(i) => {
                        got[i] = st.take(0);
                        if ordered {
                            next += 1;
                        }
                        if got.iter().all(Option::is_some) {
                            return Some(Ok(()));
                        }
                    }
                    Err(why) => {
                        if e.skip_unmatched {
                            let m = st.skip(0).expect("front exists");
                            skipped += 1;
                            first_skip.get_or_insert_with(|| m.describe());
                            continue;
                        }
                        let m = st.take(0).expect("front exists");
                        return Some(Err(Mismatch(m, why)));
                    }
                }
            }
            None
        })
        .await;
        let matched = got.iter().filter(|m| m.is_some()).count();
        let progress = if n > 1 {
            format!(" ({matched} of {n} matched)")
        } else {
            String::new()
        };
        let mut extras = Vec::new();
        if ignored > 0 {
            extras.push(format!("{ignored} ignored"));
        }
        if skipped > 0 {
            extras.push(format!(
                "{skipped} skipped, first: {}",
                first_skip.clone().unwrap_or_default()
            ));
        }
        let extras = if extras.is_empty() {
            String::new()
        } else {
            format!(" [{}]", extras.join("; "))
        };
        match res {
            Ok(Ok(())) => {
                let mut captured = Vec::new();
                for (item, m) in items.iter().zip(&got) {
                    let m = m.as_ref().expect("all matched");
                    match r.apply_captures(&item.captures, &CapInput::Msg(m)) {
                        Ok(c) => captured.extend(c),
                        Err(err) => {
                            return Outcome::failed(
                                "",
                                expected,
                                format!("matched {}, but {err}", m.describe()),
                            )
                        }
                    }
                }
                let mut observed = if n == 1 {
                    let m = got[0].as_ref().expect("matched");
                    format!("{} {}", m.describe(), latency(m.at, t0))
                } else {
                    let last = got.iter().flatten().map(|m| m.at).max().unwrap_or(t0);
                    format!("all {n} matched, the last {}", latency(last, t0))
                };
                observed += &extras;
                if !captured.is_empty() {
                    observed += &format!("; captured {}", captured.join(", "));
                }
                Outcome::ok("", expected, observed)
            }
            Ok(Err(Mismatch(m, why))) => Outcome::failed(
                "",
                expected,
                format!(
                    "{} {}: {why}{progress}{extras}",
                    m.describe(),
                    latency(m.at, t0)
                ),
            ),
            Err(Missed::Closed(why)) => Outcome::failed(
                "",
                expected,
                format!("{why} before a matching message arrived{progress}{extras}"),
            ),
            Err(Missed::TimedOut) => Outcome::failed(
                "",
                expected,
                format!(
                    "nothing matching within {}{cut}{progress}{extras}{}",
                    format_duration(e.within),
                    if conn.lock().received == 0 {
                        "; no message arrived on this connection at all"
                    } else {
                        ""
                    }
                ),
            ),
        }
    }
}

impl RunStep for ExpectSilence {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let s = self;
        let t0 = cx.t0;
        let expected = format!(
            "no data message for {}{}",
            format_duration(s.duration),
            if s.ignore.is_empty() {
                String::new()
            } else {
                format!(
                    " (ignoring {})",
                    s.ignore
                        .iter()
                        .map(describe::matcher)
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        );
        let ignore = match compile_all(&s.ignore) {
            Ok(c) => c,
            Err(err) => return Outcome::failed("", expected, err),
        };
        let Some(conn) = r.conns.get(&s.conn) else {
            return r.not_open(&s.conn);
        };
        let Window { until, cut } = r.window(t0, s.duration);
        // Messages stay queued: silence is only a check, later steps may still want
        // the ignored ones.
        let res = wait_for_match(conn, until, |st| {
            st.queue
                .iter()
                .find(|m| m.at >= t0 && !ignore.iter().any(|i| i.matches(m.as_ref())))
                .map(|m| format!("{} {}", m.describe(), latency(m.at, t0)))
        })
        .await;
        match res {
            Ok(why) | Err(Missed::Closed(why)) => Outcome::failed("", expected, why),
            Err(Missed::TimedOut) if cut.is_empty() => Outcome::ok(
                "",
                expected,
                format!("silent for {}", format_duration(s.duration)),
            ),
            Err(Missed::TimedOut) => Outcome::failed(
                "",
                expected,
                format!("silent for {}{cut}", ms(t0.elapsed())),
            ),
        }
    }
}

impl RunStep for ExpectClose {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let c = self;
        let t0 = cx.t0;
        let mut expected = if c.codes.is_empty() {
            "the connection closes".to_string()
        } else {
            format!(
                "close code {}",
                c.codes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        };
        if let Some(reason) = &c.reason {
            expected += &format!(", reason {}", describe::json(reason));
        }
        let Some(conn) = r.conns.get(&c.conn) else {
            return r.not_open(&c.conn);
        };
        let Window { until, cut } = r.window(t0, c.within);
        let mut skipped = 0usize;
        // The close is what this step waits for, so it waits on the connection itself
        // rather than for a message.
        let res = conn
            .wait_for(until, |st| {
                if !c.allow_messages {
                    if let Some(m) = st.queue.front() {
                        return Some(Err(format!(
                            "{} {} before the close",
                            m.describe(),
                            latency(m.at, t0)
                        )));
                    }
                }
                while st.skip(0).is_some() {
                    skipped += 1;
                }
                st.ended().map(Ok)
            })
            .await;
        let end = match res {
            Ok(Ok(end)) => end,
            Ok(Err(why)) => return Outcome::failed("", expected, why),
            Err(Timeout::Finished) => {
                return Outcome::failed("", expected, "the connection ended without a trace")
            }
            Err(Timeout::Deadline) => {
                // Whether the server pinged at all tells a missing heartbeat from one
                // that does not act on unanswered pings.
                let pings = conn.lock().pings.iter().filter(|(_, at)| *at >= t0).count();
                let within = format_duration(c.within);
                return Outcome::failed(
                    "",
                    expected,
                    format!(
                        "still open after {within}{cut}: the server sent {}{pings} ping{} in {within}{}",
                        if pings >= MAX_PINGS_KEPT { "at least " } else { "" },
                        if pings == 1 { "" } else { "s" },
                        if skipped > 0 {
                            format!(" ({skipped} message(s) skipped)")
                        } else {
                            String::new()
                        }
                    ),
                );
            }
        };
        let mut observed = format!("{} {}", ended_text(&end), latency(end.at, t0));
        if skipped > 0 {
            observed += &format!(" ({skipped} message(s) skipped)");
        }
        let mut out = if !c.codes.is_empty() && !c.codes.contains(&end.code) {
            Outcome::failed("", expected, observed)
        } else if let Some(reason) = &c.reason {
            match check_string(reason, Some(end.reason.clone())) {
                Ok(()) => Outcome::ok("", expected, observed),
                Err(m) => Outcome::failed("", expected, format!("{observed}; reason {m}")),
            }
        } else {
            Outcome::ok("", expected, observed)
        };
        if end.close_frame && end.code != 1005 {
            out.remote_close_code = Some(end.code);
        }
        out
    }
}

impl RunStep for ExpectAck {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let a = self;
        let expected = format!(
            "{} within {} of the send",
            describe::matcher(&a.matcher),
            format_duration(a.within)
        );
        let Some(rec) = r.ack_record(a) else {
            return Outcome::failed(
                "",
                expected,
                "the send it acknowledges did not happen (its step failed or did not run)",
            );
        };
        let matcher = match a.matcher.compile() {
            Ok(m) => m,
            Err(err) => return Outcome::failed("", expected, err.to_string()),
        };
        let Some(conn) = r.conns.get(&a.conn) else {
            return r.not_open(&a.conn);
        };
        let sent = format!(
            "(sent {} before this step) {}",
            ms(rec.at.elapsed()),
            short(&rec.text, 80)
        );
        // The window counts from the send, not from this step.
        let Window { until, cut } = r.window(rec.at, a.within);
        let mut nearest: Option<String> = None;
        let res = wait_for_match(conn, until, |st| {
            let mut hit = None;
            for (i, m) in st.queue.iter().enumerate() {
                if m.at < rec.at {
                    continue;
                }
                match matcher.check(m.as_ref()) {
                    Ok(()) => {
                        hit = Some(i);
                        break;
                    }
                    Err(mm) => {
                        nearest.get_or_insert_with(|| format!("{}: {mm}", m.describe()));
                    }
                }
            }
            hit.and_then(|i| st.take(i))
        })
        .await;
        let others = nearest
            .map(|n| format!("; first other message: {n}"))
            .unwrap_or_default();
        match res {
            Ok(m) => {
                let lat = m.at.saturating_duration_since(rec.at);
                let observed = format!("{} {} after the send", m.describe(), ms(lat));
                match r.with_captures(&a.captures, &m, observed) {
                    Ok(obs) => Outcome::ok(sent, expected, obs),
                    Err(why) => Outcome::failed(sent, expected, why),
                }
            }
            Err(Missed::Closed(why)) => Outcome::failed(sent, expected, format!("{why}{others}")),
            Err(Missed::TimedOut) => Outcome::failed(
                sent,
                expected,
                format!(
                    "no acknowledgement within {} of the send{cut}{others}",
                    format_duration(a.within)
                ),
            ),
        }
    }
}

impl RunStep for Rpc {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let rpc = self;
        let text = rpc.request.to_string();
        let sent = format!("text {}", short(&text, 120));
        let Some(id) = rpc.id_path.get(&rpc.request).cloned() else {
            return Outcome::failed(
                sent,
                "",
                format!("the request has no id at {}", rpc.id_path),
            );
        };
        let want = rpc.response_id.clone().unwrap_or(id);
        let mut expected = format!(
            "a JSON response with {} = {}",
            rpc.response_id_path,
            describe::json(&want)
        );
        if let Some(m) = &rpc.expect {
            expected += &format!(", {}", describe::matcher(m));
        }
        let matcher = match rpc.expect.as_ref().map(|m| m.compile()).transpose() {
            Ok(m) => m,
            Err(err) => return Outcome::failed(sent, expected, err.to_string()),
        };
        let Some(conn) = r.conns.get(&rpc.conn) else {
            return r.not_open(&rpc.conn);
        };
        {
            let st = conn.lock();
            if st.ended().is_some() {
                return Outcome::failed(sent, expected, closed_text(&st));
            }
        }
        let at = Instant::now();
        let (b, _) = message_frames(conn.is_server(), OpCode::Text, text.as_bytes(), None);
        conn.send_raw(b);
        r.record_send(cx.step, &rpc.conn, text, at);
        let Some(conn) = r.conns.get(&rpc.conn) else {
            return r.not_open(&rpc.conn);
        };
        let Window { until, cut } = r.window(cx.t0, rpc.within);
        let rid = &rpc.response_id_path;
        let res = wait_for_match(conn, until, |st| {
            let hit = st.queue.iter().position(|m| {
                m.at >= at
                    && serde_json::from_str::<Value>(&m.text_lossy())
                        .ok()
                        .and_then(|d| rid.get(&d).map(|v| json_eq(v, &want)))
                        .unwrap_or(false)
            });
            hit.and_then(|i| st.take(i))
        })
        .await;
        let m = match res {
            Ok(m) => m,
            Err(Missed::Closed(why)) => return Outcome::failed(sent, expected, why),
            Err(Missed::TimedOut) => {
                return Outcome::failed(
                    sent,
                    expected,
                    format!(
                        "no response with that id within {}{cut}",
                        format_duration(rpc.within)
                    ),
                )
            }
        };
        let lat = ms(m.at.saturating_duration_since(at));
        if let Some(mt) = &matcher {
            if let Err(mm) = mt.check(m.as_ref()) {
                return Outcome::failed(
                    sent,
                    expected,
                    format!("{} after {lat}: {mm}", m.describe()),
                );
            }
        }
        let observed = format!("{} after {lat}", m.describe());
        match r.with_captures(&rpc.captures, &m, observed) {
            Ok(obs) => Outcome::ok(sent, expected, obs),
            Err(why) => Outcome::failed(sent, expected, why),
        }
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(p), Some(q)) => p == q,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

impl RunStep for CaptureStep {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let c = self;
        let expected = format!("a value for {}", c.capture.var);
        let one = std::slice::from_ref(&c.capture);
        let res = match &c.from {
            CaptureFrom::Message { conn } => {
                let Some(k) = r.conns.get(conn) else {
                    return r.not_open(conn);
                };
                let m = {
                    let st = k.lock();
                    st.last_taken.clone().or_else(|| st.last_arrived.clone())
                };
                match m {
                    Some(m) => r.apply_captures(one, &CapInput::Msg(&m)),
                    None => Err(format!("no message has arrived on {conn:?}")),
                }
            }
            CaptureFrom::Http => match r.last_http.take() {
                Some(resp) => {
                    let out = r.apply_captures(one, &CapInput::Http(&resp));
                    r.last_http = Some(resp);
                    out
                }
                None => Err("no http step has run yet".into()),
            },
        };
        match res {
            Ok(c) => Outcome::ok("", expected, format!("captured {}", c.join(", "))),
            Err(e) => Outcome::failed("", expected, e),
        }
    }
}

/// What a capture reads from.
pub(super) enum CapInput<'a> {
    Msg(&'a Msg),
    Http(&'a HttpResponse),
}

fn capture_value(cap: &Capture, input: &CapInput<'_>) -> Result<Value, String> {
    let text = match input {
        CapInput::Msg(m) => m.text_lossy(),
        CapInput::Http(r) => r.body_text(),
    };
    let what = match input {
        CapInput::Msg(_) => "the message",
        CapInput::Http(_) => "the body",
    };
    match &cap.source {
        CaptureSource::Json(path) => {
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{what} is not JSON ({e}): {}", short(&text, 80)))?;
            path.lookup(&doc)
                .cloned()
                .map_err(|e| format!("no value at {path} in {what}: {e}"))
        }
        CaptureSource::Regex { regex, group } => {
            let re = compile_regex(regex)?;
            let caps = re
                .captures(&text)
                .ok_or_else(|| format!("/{regex}/ does not match {what}: {}", short(&text, 80)))?;
            caps.get(*group)
                .map(|m| Value::String(m.as_str().to_owned()))
                .ok_or_else(|| format!("group {group} of /{regex}/ did not take part in the match"))
        }
        CaptureSource::Header(name) => match input {
            CapInput::Http(r) => r
                .head
                .headers
                .get_str(name)
                .map(Value::String)
                .ok_or_else(|| format!("the response has no {name:?} header")),
            CapInput::Msg(_) => Err("a header can only be captured from an HTTP response".into()),
        },
        CaptureSource::Whole => Ok(Value::String(text)),
    }
}

fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => short(s, 60),
        other => describe::json(other),
    }
}

impl Runner<'_> {
    /// Stores every capture of `caps` from `input`; `name = value` for each, or why
    /// one failed.
    pub(super) fn apply_captures(
        &mut self,
        caps: &[Capture],
        input: &CapInput<'_>,
    ) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for c in caps {
            let v = capture_value(c, input).map_err(|e| format!("capture {:?}: {e}", c.var))?;
            out.push(format!("{} = {}", c.var, show_value(&v)));
            self.vars.set(c.var.clone(), v);
        }
        Ok(out)
    }

    /// `observed` plus what `caps` took from the matched message `m`, or why a capture
    /// failed.
    fn with_captures(
        &mut self,
        caps: &[Capture],
        m: &Msg,
        observed: String,
    ) -> Result<String, String> {
        match self.apply_captures(caps, &CapInput::Msg(m)) {
            Ok(c) if c.is_empty() => Ok(observed),
            Ok(c) => Ok(format!("{observed}; captured {}", c.join(", "))),
            Err(err) => Err(format!("matched {}, but {err}", m.describe())),
        }
    }
}

impl RunStep for ExpectPing {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let want = self.payload.as_ref().map(|b| b.as_slice().to_vec());
        let expected = match &self.payload {
            Some(Bytes::Text(t)) => format!("a ping {}", short(t, 60)),
            Some(Bytes::Hex(h)) => format!("a ping {}", hex(h)),
            None => "a ping".to_string(),
        } + &format!(" within {}", format_duration(self.within));
        let Some(conn) = r.conns.get(&self.conn) else {
            return r.not_open(&self.conn);
        };
        let Window { until, cut } = r.window(cx.t0, self.within);
        let mut other = 0usize;
        let res = wait_for_match(conn, until, |st| {
            let fresh = st.pings.iter().filter(|(_, at)| *at >= cx.t0);
            other = 0;
            for (p, at) in fresh {
                if want.as_ref().is_none_or(|w| w == p) {
                    return Some((p.clone(), *at));
                }
                other += 1;
            }
            None
        })
        .await;
        let others = if other > 0 {
            format!(" ({other} ping(s) with another payload)")
        } else {
            String::new()
        };
        match res {
            Ok((p, at)) => Outcome::ok(
                "",
                expected,
                format!("ping {} {}", hex(&p), latency(at, cx.t0)),
            ),
            Err(Missed::Closed(why)) => Outcome::failed("", expected, format!("{why}{others}")),
            Err(Missed::TimedOut) => Outcome::failed(
                "",
                expected,
                format!(
                    "no ping within {}{cut}{others}",
                    format_duration(self.within)
                ),
            ),
        }
    }
}

/// Bytes as hex, `(empty)` for none.
fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        "(empty)".into()
    } else {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
