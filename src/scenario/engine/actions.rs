//! What each action does on the wire, and how its outcome is judged.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::codec::frame::{encode_frame, FrameHeader, LengthEncoding as WireLen, OpCode};
use crate::codec::handshake::ClientRequest;
use crate::codec::http::HeadLimits;
use crate::peer::http::{self, headers_json, Endpoint, HttpRequest, HttpResponse};
use crate::peer::transcript::Transcript;
use crate::peer::{ConnectOptions, HandshakeOutcome, Peer, PeerError};
use crate::scenario::matcher::{compile_regex, CompiledMatcher, JsonPattern};
use crate::scenario::model::*;
use crate::scenario::{format_duration, render_value};

use super::conn::{short, Conn, ConnState, Ended, Msg, Timeout};
use super::describe::{self, ms};
use super::{Outcome, Runner};

/// What a capture reads from.
enum CapInput<'a> {
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

/// Frames for one data message, fragmented when asked.
fn message_frames(opcode: OpCode, payload: &[u8], frag: Option<NonZeroUsize>) -> (Vec<u8>, usize) {
    let size = frag.map_or(usize::MAX, NonZeroUsize::get);
    if payload.len() <= size {
        return (Peer::frame_bytes(opcode, true, payload), 1);
    }
    let chunks: Vec<&[u8]> = payload.chunks(size).collect();
    let mut out = Vec::with_capacity(payload.len() + 14 * chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let op = if i == 0 { opcode } else { OpCode::Continuation };
        out.extend(Peer::frame_bytes(op, i + 1 == chunks.len(), c));
    }
    (out, chunks.len())
}

fn raw_frame(r: &RawFrame) -> Vec<u8> {
    let payload = r.payload.as_slice();
    let header = FrameHeader {
        fin: r.fin,
        rsv: r.rsv,
        opcode: OpCode::from_u8(r.opcode),
        mask: match r.mask {
            MaskSpec::Random => Some(rand::random()),
            MaskSpec::Unmasked => None,
            MaskSpec::Key(k) => Some(k),
        },
        payload_len: r.declared_length.unwrap_or(payload.len() as u64),
        length_encoding: match r.length_encoding {
            LengthEncoding::Minimal => {
                WireLen::minimal_for(r.declared_length.unwrap_or(payload.len() as u64))
            }
            LengthEncoding::Bits7 => WireLen::Short,
            LengthEncoding::Bits16 => WireLen::U16,
            LengthEncoding::Bits64 => WireLen::U64,
        },
    };
    let mut out = Vec::with_capacity(header.encoded_len() + payload.len());
    encode_frame(&header, payload, &mut out);
    out
}

fn ended_text(e: &Ended) -> String {
    match e.code {
        1006 => "TCP closed without a close frame (1006)".into(),
        1005 => "a close frame without a status code (1005)".into(),
        c if e.reason.is_empty() => format!("close frame {c}"),
        c => format!("close frame {c} {}", short(&e.reason, 60)),
    }
}

fn closed_text(st: &ConnState) -> String {
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

fn percent_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(p), Some(q)) => p == q,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

enum ExpectFail {
    Mismatch(Msg, String),
    Closed(String),
}

impl Runner<'_> {
    /// Runs one (resolved) step. A failure on a connection where the server already
    /// broke RFC 6455 says so, since that often explains the failure.
    pub(super) async fn exec(&mut self, step: &Step, t0: Instant) -> Outcome {
        let mut out = self.exec_action(step, t0).await;
        if out.verdict == crate::report::Verdict::Failed {
            if let Some(k) = step.action.conn().and_then(|c| self.conns.get(c)) {
                if let Some(v) = k.lock().violation.clone() {
                    out.observed += &format!("; the server broke RFC 6455 on this connection: {v}");
                }
            }
        }
        out
    }

    async fn exec_action(&mut self, step: &Step, t0: Instant) -> Outcome {
        match &step.action {
            Action::Connect(c) => self.connect(c, t0).await,
            Action::Send(s) => self.send(step, s).await,
            Action::Expect(e) => self.expect(e, t0).await,
            Action::ExpectSilence(s) => self.silence(s, t0).await,
            Action::ExpectClose(c) => self.expect_close(c, t0).await,
            Action::ExpectAck(a) => self.expect_ack(a).await,
            Action::Rpc(r) => self.rpc(step, r, t0).await,
            Action::Capture(c) => self.capture(c),
            Action::Http(h) => self.http(h, t0).await,
            Action::WriteFile(w) => self.file_edit("write", &w.path, Some(&w.content)),
            Action::AppendFile(w) => self.file_edit("append", &w.path, Some(&w.content)),
            Action::DeleteFile(d) => self.file_edit("delete", &d.path, None),
            Action::StartServer => self.start_server().await,
            Action::StopServer(s) => self.stop_server(*s, false).await,
            Action::RestartServer(s) => self.stop_server(*s, true).await,
            Action::AssertServer(a) => self.assert_server(*a, t0).await,
            Action::PauseReading(c) => {
                self.simple(&c.conn, "reading paused", |k| k.set_reading(false))
                    .await
            }
            Action::ResumeReading(c) => {
                self.simple(&c.conn, "reading resumed", |k| k.set_reading(true))
                    .await
            }
            Action::DropTcp(c) => {
                self.simple(&c.conn, "TCP dropped without a close frame", |k| {
                    k.drop_tcp()
                })
                .await
            }
            Action::SetPingPolicy(p) => {
                let answer = p.answer;
                self.simple(
                    &p.conn,
                    if answer {
                        "pings are answered from now on"
                    } else {
                        "pings are left unanswered from now on"
                    },
                    move |k| k.set_auto_pong(answer),
                )
                .await
            }
            Action::Ping(p) => self.ping(p, t0).await,
            Action::Sleep(s) => {
                let until = self.until(t0, s.duration);
                tokio::time::sleep_until(until.into()).await;
                let cut = self.cut_note(t0, s.duration);
                if cut.is_empty() {
                    Outcome::ok("", "", format!("slept {}", format_duration(s.duration)))
                } else {
                    Outcome::failed("", "", format!("slept {}{cut}", ms(t0.elapsed())))
                }
            }
            Action::Close(c) => {
                let Some(conn) = self.conns.get(&c.conn) else {
                    return self.not_open(&c.conn);
                };
                conn.send_close(c.code, c.reason.as_bytes().to_vec());
                conn.flush().await;
                let sent = match c.code {
                    Some(code) if c.reason.is_empty() => format!("close frame {code}"),
                    Some(code) => format!("close frame {code} {}", short(&c.reason, 60)),
                    None => "close frame without a status code".into(),
                };
                Outcome::ok(sent, "", "queued; the answer is checked by expect_close")
            }
        }
    }

    fn not_open(&self, conn: &str) -> Outcome {
        Outcome::failed(
            "",
            "",
            format!("connection {conn:?} is not open (its connect step did not succeed)"),
        )
    }

    async fn simple(&mut self, conn: &str, what: &str, f: impl FnOnce(&Conn)) -> Outcome {
        match self.conns.get(conn) {
            Some(k) => {
                f(k);
                k.flush().await;
                Outcome::ok("", "", what)
            }
            None => self.not_open(conn),
        }
    }

    fn ws_url(&self, t: &Target) -> Result<String, String> {
        match t {
            Target::Url(u) => Ok(u.clone()),
            Target::Path(p) => {
                let (host, port) = self.host_port()?;
                Ok(format!(
                    "{}://{host}:{port}{p}",
                    if self.tls { "wss" } else { "ws" }
                ))
            }
        }
    }

    fn http_url(&self, t: &Target) -> Result<String, String> {
        match t {
            Target::Url(u) => Ok(u.clone()),
            Target::Path(p) => {
                let (host, port) = self.host_port()?;
                Ok(format!(
                    "{}://{host}:{port}{p}",
                    if self.tls { "https" } else { "http" }
                ))
            }
        }
    }

    fn host_port(&self) -> Result<(String, String), String> {
        let host = self
            .vars
            .get("host")
            .map(render_value)
            .unwrap_or_else(|| "127.0.0.1".into());
        let port = self.vars.get("port").map(render_value).ok_or_else(|| {
            "${port} is not set: give the server with --url, or --var port=N".to_string()
        })?;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        Ok((host, port))
    }

    /// The upgrade request for a `connect` step: bytes, and the request used to
    /// validate a 101 answer.
    fn upgrade_request(
        &self,
        c: &crate::scenario::Connect,
        target: &crate::peer::Target,
    ) -> (Vec<u8>, ClientRequest, String) {
        let mut req = ClientRequest::new(target.host_header(), target.resource.clone());
        req.method = c.method.clone();
        for (k, v) in &c.query {
            req = req.query(&percent_encode(k), &percent_encode(v));
        }
        req.protocols = c.protocols.clone();
        let mut origin = c.origin.clone();
        let mut extra: Vec<(String, String)> = Vec::new();
        let defaults = self
            .opts
            .connect
            .headers
            .iter()
            .filter(|(n, _)| !c.headers.iter().any(|(m, _)| m.eq_ignore_ascii_case(n)));
        if origin.is_none()
            && !c
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("origin"))
            && !c
                .omit_headers
                .iter()
                .any(|n| n.eq_ignore_ascii_case("origin"))
        {
            origin = self.opts.connect.origin.clone();
        }
        for (n, v) in defaults.chain(c.headers.iter()) {
            match n.to_ascii_lowercase().as_str() {
                "host" => req.host = Some(v.clone()),
                "upgrade" => req.upgrade = Some(v.clone()),
                "connection" => req.connection = Some(v.clone()),
                "sec-websocket-key" => req.key = v.clone(),
                "sec-websocket-version" => req.version = Some(v.clone()),
                "sec-websocket-protocol" => {
                    req.protocols = v
                        .split(',')
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect()
                }
                "sec-websocket-extensions" => req.extensions = vec![v.clone()],
                "origin" => origin = Some(v.clone()),
                _ => extra.push((n.clone(), v.clone())),
            }
        }
        let mut omit_key = false;
        for n in &c.omit_headers {
            match n.to_ascii_lowercase().as_str() {
                "host" => req.host = None,
                "upgrade" => req.upgrade = None,
                "connection" => req.connection = None,
                "sec-websocket-version" => req.version = None,
                "sec-websocket-key" => omit_key = true,
                "sec-websocket-protocol" => req.protocols.clear(),
                "sec-websocket-extensions" => req.extensions.clear(),
                "origin" => origin = None,
                other => extra.retain(|(m, _)| !m.eq_ignore_ascii_case(other)),
            }
        }
        if let Some(o) = &origin {
            req = req.origin(o.clone());
        }
        req.headers.extend(extra);
        let mut bytes = req.to_bytes();
        if omit_key {
            let line = format!("Sec-WebSocket-Key: {}\r\n", req.key);
            let text = String::from_utf8_lossy(&bytes).replacen(&line, "", 1);
            bytes = text.into_bytes();
        }
        let mut sent = format!("{} {}", req.method, req.target);
        if !req.protocols.is_empty() {
            sent += &format!(", protocols {}", req.protocols.join(", "));
        }
        if let Some(o) = &origin {
            sent += &format!(", Origin {o}");
        }
        (bytes, req, sent)
    }

    async fn connect(&mut self, c: &crate::scenario::Connect, t0: Instant) -> Outcome {
        let url = match self.ws_url(&c.target) {
            Ok(u) => u,
            Err(e) => return Outcome::failed("", "", e),
        };
        let target = match crate::peer::Target::parse(&url) {
            Ok(t) => t,
            Err(e) => return Outcome::failed(url, "", e.to_string()),
        };
        let (bytes, req, sent) = self.upgrade_request(c, &target);
        let deadline = self.until(t0, c.within);
        let cut = self.cut_note(t0, c.within);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let copts = ConnectOptions {
            insecure: self.opts.connect.insecure,
            connect_timeout: remaining.max(Duration::from_millis(1)),
            ..ConnectOptions::default()
        };
        let expected = match &c.expect {
            ConnectExpect::Upgrade { protocol, headers } => {
                let mut s = "101".to_string();
                if let Some(p) = protocol {
                    s += &format!(", protocol {}", describe::json(p));
                }
                if let Some(h) = headers {
                    s += &format!(", headers {}", describe::json(h));
                }
                s
            }
            ConnectExpect::Status {
                status,
                headers,
                body,
            } => {
                let mut s = format!("HTTP {status}");
                if let Some(h) = headers {
                    s += &format!(", headers {}", describe::json(h));
                }
                if let Some(b) = body {
                    s += &format!(", body {}", describe::json(b));
                }
                s
            }
            ConnectExpect::ClosedBeforeData => "TCP closed without any answer".into(),
            ConnectExpect::Refused => "TCP connect refused".into(),
            ConnectExpect::NoResponse(d) => {
                format!("no answer for {} (TCP kept open)", format_duration(*d))
            }
        };
        if let ConnectExpect::Status {
            status,
            headers,
            body,
        } = &c.expect
        {
            let tr = Transcript::new(&c.conn, self.started);
            self.transcripts.push(tr.clone());
            let ep = Endpoint {
                tls: target.tls,
                host: target.host.clone(),
                port: target.port,
                resource: target.resource.clone(),
            };
            let r = http::exchange(
                &ep,
                &bytes,
                false,
                self.opts.connect.insecure,
                deadline,
                Some(&tr),
            )
            .await;
            let resp = match r {
                Ok(r) => r,
                Err(e) => return Outcome::failed(sent, expected, format!("{e}{cut}")),
            };
            let got = format!(
                "HTTP {} {} ({} body bytes{})",
                resp.head.status,
                resp.head.reason,
                resp.body.len(),
                if resp.body.is_empty() {
                    String::new()
                } else {
                    format!(": {}", short(&resp.body_text(), 60))
                }
            );
            if resp.head.status != *status {
                return Outcome::failed(sent, expected, got);
            }
            if let Some(h) = headers {
                if let Err(m) = check_headers(h, &resp) {
                    return Outcome::failed(sent, expected, format!("{got}; header {m}"));
                }
            }
            if let Some(b) = body {
                if let Err(m) = check_string(b, Some(resp.body_text())) {
                    return Outcome::failed(sent, expected, format!("{got}; body {m}"));
                }
            }
            return Outcome::ok(sent, expected, got);
        }
        let opened = Peer::open(&target, &copts, &c.conn, self.started).await;
        let mut peer = match opened {
            Ok(p) => p,
            Err(PeerError::Connect(e))
                if e.kind() == std::io::ErrorKind::ConnectionRefused
                    && matches!(c.expect, ConnectExpect::Refused) =>
            {
                return Outcome::ok(sent, expected, format!("refused: {e}"));
            }
            Err(e) => {
                self.events
                    .note(format!("connect {} to {url}: {e}", c.conn));
                return Outcome::failed(sent, expected, format!("{e}{cut}"));
            }
        };
        self.transcripts.push(peer.transcript().clone());
        if matches!(c.expect, ConnectExpect::Refused) {
            return Outcome::failed(sent, expected, "TCP connect succeeded");
        }
        peer.send_request_bytes(bytes);
        let head_deadline = match &c.expect {
            ConnectExpect::NoResponse(d) => self.until(t0, *d),
            _ => deadline,
        };
        let outcome = match peer
            .read_response_head(HeadLimits::default(), head_deadline)
            .await
        {
            HandshakeOutcome::Rejected { response } if response.status == 101 => {
                match req.validate_response(&response) {
                    Ok(accepted) => HandshakeOutcome::Upgraded { response, accepted },
                    Err(error) => {
                        peer.transcript().note(format!(
                            "invalid 101 (RFC 6455 §{}): {error}",
                            error.rfc_section()
                        ));
                        HandshakeOutcome::Invalid { response, error }
                    }
                }
            }
            other => other,
        };
        let got = outcome.describe();
        match &c.expect {
            ConnectExpect::ClosedBeforeData => {
                return match outcome {
                    HandshakeOutcome::ClosedBeforeResponse { received } if received.is_empty() => {
                        Outcome::ok(sent, expected, got)
                    }
                    _ => Outcome::failed(sent, expected, format!("{got}{cut}")),
                };
            }
            ConnectExpect::NoResponse(d) => {
                let cut = self.cut_note(t0, *d);
                return match outcome {
                    HandshakeOutcome::Timeout { received }
                        if received.is_empty() && cut.is_empty() =>
                    {
                        peer.drop_tcp();
                        Outcome::ok(
                            sent,
                            expected,
                            format!("no answer for {}; dropped TCP", format_duration(*d)),
                        )
                    }
                    _ => Outcome::failed(sent, expected, format!("{got}{cut}")),
                };
            }
            _ => {}
        }
        let ConnectExpect::Upgrade { protocol, headers } = &c.expect else {
            return Outcome::failed(sent, expected, got);
        };
        let HandshakeOutcome::Upgraded { response, accepted } = &outcome else {
            return Outcome::failed(sent, expected, format!("{got}{cut}"));
        };
        if let Some(p) = protocol {
            let pat = match JsonPattern::compile_optional(p) {
                Ok(p) => p,
                Err(e) => return Outcome::failed(sent, expected, e.to_string()),
            };
            let actual = accepted.protocol.clone().map(Value::String);
            if let Err(m) = pat.check_optional(actual.as_ref()) {
                return Outcome::failed(
                    sent,
                    expected,
                    format!("{got}; subprotocol: {}", m.reason),
                );
            }
        }
        if let Some(h) = headers {
            let pat = match JsonPattern::compile_optional(h) {
                Ok(p) => p,
                Err(e) => return Outcome::failed(sent, expected, e.to_string()),
            };
            if let Err(m) = pat.check(&headers_json(response)) {
                return Outcome::failed(sent, expected, format!("{got}; header {m}"));
            }
        }
        let mut observed = format!("{got} after {}", ms(t0.elapsed()));
        if let Some(s) = &mut self.server {
            if let Some(rb) = s.restart_began.take() {
                observed += &format!(
                    "; first upgrade {} after the restart began",
                    ms(rb.elapsed())
                );
            }
        }
        let conn = Conn::start(peer, c.answer_pings);
        self.conns.insert(c.conn.clone(), conn);
        Outcome::ok(sent, expected, observed)
    }

    async fn send(&mut self, step: &Step, s: &crate::scenario::Send) -> Outcome {
        let sent = describe::send_payload(&s.payload);
        let Some(conn) = self.conns.get(&s.conn) else {
            return self.not_open(&s.conn);
        };
        {
            let st = conn.lock();
            if st.dropped {
                return Outcome::failed(sent, "", "the connection was dropped by an earlier step");
            }
            if st.ended().is_some() {
                return Outcome::failed(sent, "an open connection", closed_text(&st));
            }
        }
        // Taken before the bytes are queued: a reply can arrive within microseconds, and an
        // ACK stamped before its request would be ignored by `expect_ack`.
        let at = Instant::now();
        let (text, observed) = match &s.payload {
            SendPayload::Text(t) => {
                let (b, n) = message_frames(OpCode::Text, t.as_bytes(), s.fragment_size);
                conn.send_raw(b);
                (
                    t.clone(),
                    format!("queued {} bytes in {n} frame(s)", t.len()),
                )
            }
            SendPayload::Json(j) => {
                let t = j.to_string();
                let (b, n) = message_frames(OpCode::Text, t.as_bytes(), s.fragment_size);
                conn.send_raw(b);
                (
                    t.clone(),
                    format!("queued {} bytes in {n} frame(s)", t.len()),
                )
            }
            SendPayload::Binary(bin) => {
                let (b, n) = message_frames(OpCode::Binary, bin, s.fragment_size);
                conn.send_raw(b);
                (
                    String::from_utf8_lossy(bin).into_owned(),
                    format!("queued {} bytes in {n} frame(s)", bin.len()),
                )
            }
            SendPayload::Raw(r) => {
                let bytes = raw_frame(r);
                let n = bytes.len();
                if r.opcode == 8 {
                    conn.mark_close_sent();
                }
                match r.chop {
                    Some(c) => conn.send_chopped(bytes, c.get(), r.delay.unwrap_or_default()),
                    None => conn.send_raw(bytes),
                }
                (
                    String::from_utf8_lossy(r.payload.as_slice()).into_owned(),
                    format!("queued {n} frame bytes"),
                )
            }
        };
        conn.flush().await;
        let conn_name = s.conn.clone();
        self.record_send(step, &conn_name, text, at);
        Outcome::ok(sent, "", observed)
    }

    async fn expect(&mut self, e: &crate::scenario::Expect, t0: Instant) -> Outcome {
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
        let Some(conn) = self.conns.get(&e.conn) else {
            return self.not_open(&e.conn);
        };
        let n = items.len();
        let deadline = self.until(t0, e.within);
        let cut = self.cut_note(t0, e.within);
        let mut got: Vec<Option<Msg>> = vec![None; n];
        let mut next = 0usize;
        let mut ignored = 0usize;
        let mut skipped = 0usize;
        let mut first_skip: Option<String> = None;
        let res = conn
            .wait_for(deadline, |st| {
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
                            return Some(Err(ExpectFail::Mismatch(m, why)));
                        }
                    }
                }
                if st.close_frame.is_some() || st.finished() {
                    return Some(Err(ExpectFail::Closed(closed_text(st))));
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
                    match self.apply_captures(&item.captures, &CapInput::Msg(m)) {
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
            Ok(Err(ExpectFail::Mismatch(m, why))) => Outcome::failed(
                "",
                expected,
                format!(
                    "{} {}: {why}{progress}{extras}",
                    m.describe(),
                    latency(m.at, t0)
                ),
            ),
            Ok(Err(ExpectFail::Closed(why))) => Outcome::failed(
                "",
                expected,
                format!("{why} before a matching message arrived{progress}{extras}"),
            ),
            Err(Timeout::Finished) => Outcome::failed(
                "",
                expected,
                format!(
                    "{} before a matching message arrived{progress}{extras}",
                    res_closed_text(conn)
                ),
            ),
            Err(Timeout::Deadline) => Outcome::failed(
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

fn res_closed_text(conn: &Conn) -> String {
    closed_text(&conn.lock())
}

/// Checks response headers against a pattern table.
fn check_headers(pattern: &Value, resp: &HttpResponse) -> Result<(), String> {
    let pat = JsonPattern::compile_optional(pattern).map_err(|e| e.to_string())?;
    pat.check(&resp.headers_json()).map_err(|m| m.to_string())
}

/// Checks a string (or its absence) against a string pattern.
fn check_string(pattern: &Value, actual: Option<String>) -> Result<(), String> {
    let pat = JsonPattern::compile_optional(pattern).map_err(|e| e.to_string())?;
    pat.check_optional(actual.map(Value::String).as_ref())
        .map_err(|m| m.reason)
}

impl Runner<'_> {
    fn apply_captures(
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

    async fn silence(&mut self, s: &crate::scenario::ExpectSilence, t0: Instant) -> Outcome {
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
        let Some(conn) = self.conns.get(&s.conn) else {
            return self.not_open(&s.conn);
        };
        let deadline = self.until(t0, s.duration);
        let cut = self.cut_note(t0, s.duration);
        // Messages stay queued: silence is only a check, later steps may still want
        // the ignored ones.
        let res = conn
            .wait_for(deadline, |st| {
                if let Some(m) = st
                    .queue
                    .iter()
                    .find(|m| m.at >= t0 && !ignore.iter().any(|i| i.matches(m.as_ref())))
                {
                    return Some(format!("{} {}", m.describe(), latency(m.at, t0)));
                }
                if st.ended().is_some() || st.finished() {
                    return Some(closed_text(st));
                }
                None
            })
            .await;
        match res {
            Ok(why) => Outcome::failed("", expected, why),
            Err(Timeout::Finished) => Outcome::failed("", expected, res_closed_text(conn)),
            Err(Timeout::Deadline) if cut.is_empty() => Outcome::ok(
                "",
                expected,
                format!("silent for {}", format_duration(s.duration)),
            ),
            Err(Timeout::Deadline) => Outcome::failed(
                "",
                expected,
                format!("silent for {}{cut}", ms(t0.elapsed())),
            ),
        }
    }

    async fn expect_close(&mut self, c: &crate::scenario::ExpectClose, t0: Instant) -> Outcome {
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
        if let Some(r) = &c.reason {
            expected += &format!(", reason {}", describe::json(r));
        }
        let Some(conn) = self.conns.get(&c.conn) else {
            return self.not_open(&c.conn);
        };
        let deadline = self.until(t0, c.within);
        let cut = self.cut_note(t0, c.within);
        let mut skipped = 0usize;
        let res = conn
            .wait_for(deadline, |st| {
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
                return Outcome::failed(
                    "",
                    expected,
                    format!(
                        "still open after {}{cut}{}",
                        format_duration(c.within),
                        if skipped > 0 {
                            format!(" ({skipped} message(s) skipped)")
                        } else {
                            String::new()
                        }
                    ),
                )
            }
        };
        let mut observed = format!("{} {}", ended_text(&end), latency(end.at, t0));
        if skipped > 0 {
            observed += &format!(" ({skipped} message(s) skipped)");
        }
        let mut out = if !c.codes.is_empty() && !c.codes.contains(&end.code) {
            Outcome::failed("", expected.clone(), observed.clone())
        } else if let Some(r) = &c.reason {
            match check_string(r, Some(end.reason.clone())) {
                Ok(()) => Outcome::ok("", expected.clone(), observed.clone()),
                Err(m) => Outcome::failed("", expected.clone(), format!("{observed}; reason {m}")),
            }
        } else {
            Outcome::ok("", expected, observed)
        };
        if end.close_frame && end.code != 1005 {
            out.remote_close_code = Some(end.code);
        }
        out
    }

    async fn expect_ack(&mut self, a: &crate::scenario::ExpectAck) -> Outcome {
        let expected = format!(
            "{} within {} of the send",
            describe::matcher(&a.matcher),
            format_duration(a.within)
        );
        let Some(rec) = self.ack_record(a) else {
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
        let Some(conn) = self.conns.get(&a.conn) else {
            return self.not_open(&a.conn);
        };
        let sent = format!(
            "(sent {} before this step) {}",
            ms(rec.at.elapsed()),
            short(&rec.text, 80)
        );
        let deadline = (rec.at + a.within).min(self.step_cap);
        let cut = if rec.at + a.within > self.step_cap {
            self.cut_note(rec.at, a.within)
        } else {
            ""
        };
        let mut nearest: Option<String> = None;
        let res = conn
            .wait_for(deadline, |st| {
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
                if let Some(i) = hit {
                    return st.take(i).map(Ok);
                }
                if st.close_frame.is_some() || st.finished() {
                    return Some(Err(closed_text(st)));
                }
                None
            })
            .await;
        let others = nearest
            .map(|n| format!("; first other message: {n}"))
            .unwrap_or_default();
        match res {
            Ok(Ok(m)) => {
                let lat = m.at.saturating_duration_since(rec.at);
                match self.apply_captures(&a.captures, &CapInput::Msg(&m)) {
                    Ok(c) => {
                        let mut obs = format!("{} {} after the send", m.describe(), ms(lat));
                        if !c.is_empty() {
                            obs += &format!("; captured {}", c.join(", "));
                        }
                        Outcome::ok(sent, expected, obs)
                    }
                    Err(err) => Outcome::failed(
                        sent,
                        expected,
                        format!("matched {}, but {err}", m.describe()),
                    ),
                }
            }
            Ok(Err(why)) => Outcome::failed(sent, expected, format!("{why}{others}")),
            Err(Timeout::Finished) => {
                Outcome::failed(sent, expected, format!("{}{others}", res_closed_text(conn)))
            }
            Err(Timeout::Deadline) => Outcome::failed(
                sent,
                expected,
                format!(
                    "no acknowledgement within {} of the send{cut}{others}",
                    format_duration(a.within)
                ),
            ),
        }
    }

    async fn rpc(&mut self, step: &Step, r: &crate::scenario::Rpc, t0: Instant) -> Outcome {
        let text = r.request.to_string();
        let sent = format!("text {}", short(&text, 120));
        let Some(id) = r.id_path.get(&r.request).cloned() else {
            return Outcome::failed(sent, "", format!("the request has no id at {}", r.id_path));
        };
        let want = r.response_id.clone().unwrap_or(id);
        let mut expected = format!(
            "a JSON response with {} = {}",
            r.response_id_path,
            describe::json(&want)
        );
        if let Some(m) = &r.expect {
            expected += &format!(", {}", describe::matcher(m));
        }
        let matcher = match r.expect.as_ref().map(|m| m.compile()).transpose() {
            Ok(m) => m,
            Err(err) => return Outcome::failed(sent, expected, err.to_string()),
        };
        {
            let Some(conn) = self.conns.get(&r.conn) else {
                return self.not_open(&r.conn);
            };
            let st = conn.lock();
            if st.ended().is_some() {
                return Outcome::failed(sent, expected, closed_text(&st));
            }
        }
        let at = Instant::now();
        if let Some(conn) = self.conns.get(&r.conn) {
            let (b, _) = message_frames(OpCode::Text, text.as_bytes(), None);
            conn.send_raw(b);
        }
        let conn_name = r.conn.clone();
        self.record_send(step, &conn_name, text, at);
        let Some(conn) = self.conns.get(&r.conn) else {
            return self.not_open(&r.conn);
        };
        let deadline = self.until(t0, r.within);
        let cut = self.cut_note(t0, r.within);
        let rid = &r.response_id_path;
        let res = conn
            .wait_for(deadline, |st| {
                let hit = st.queue.iter().position(|m| {
                    m.at >= at
                        && serde_json::from_str::<Value>(&m.text_lossy())
                            .ok()
                            .and_then(|d| rid.get(&d).map(|v| json_eq(v, &want)))
                            .unwrap_or(false)
                });
                if let Some(i) = hit {
                    return st.take(i).map(Ok);
                }
                if st.close_frame.is_some() || st.finished() {
                    return Some(Err(closed_text(st)));
                }
                None
            })
            .await;
        let m = match res {
            Ok(Ok(m)) => m,
            Ok(Err(why)) => return Outcome::failed(sent, expected, why),
            Err(Timeout::Finished) => {
                return Outcome::failed(sent, expected, res_closed_text(conn))
            }
            Err(Timeout::Deadline) => {
                return Outcome::failed(
                    sent,
                    expected,
                    format!(
                        "no response with that id within {}{cut}",
                        format_duration(r.within)
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
        match self.apply_captures(&r.captures, &CapInput::Msg(&m)) {
            Ok(c) => {
                let mut obs = format!("{} after {lat}", m.describe());
                if !c.is_empty() {
                    obs += &format!("; captured {}", c.join(", "));
                }
                Outcome::ok(sent, expected, obs)
            }
            Err(err) => Outcome::failed(
                sent,
                expected,
                format!("matched {}, but {err}", m.describe()),
            ),
        }
    }

    fn capture(&mut self, c: &crate::scenario::CaptureStep) -> Outcome {
        let expected = format!("a value for {}", c.capture.var);
        let res = match &c.from {
            CaptureFrom::Message { conn } => {
                let Some(k) = self.conns.get(conn) else {
                    return self.not_open(conn);
                };
                let m = {
                    let st = k.lock();
                    st.last_taken.clone().or_else(|| st.last_arrived.clone())
                };
                match m {
                    Some(m) => {
                        self.apply_captures(std::slice::from_ref(&c.capture), &CapInput::Msg(&m))
                    }
                    None => Err(format!("no message has arrived on {conn:?}")),
                }
            }
            CaptureFrom::Http => match self.last_http.take() {
                Some(r) => {
                    let out =
                        self.apply_captures(std::slice::from_ref(&c.capture), &CapInput::Http(&r));
                    self.last_http = Some(r);
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

    async fn http(&mut self, h: &crate::scenario::Http, t0: Instant) -> Outcome {
        let url = match self.http_url(&h.target) {
            Ok(u) => u,
            Err(e) => return Outcome::failed("", "", e),
        };
        let sent = format!("{} {url}", h.method);
        let mut expected = match h.expect_status {
            Some(s) => format!("HTTP {s}"),
            None => "an HTTP response".into(),
        };
        if let Some(x) = &h.expect_headers {
            expected += &format!(", headers {}", describe::json(x));
        }
        if let Some(b) = &h.expect_body {
            expected += &format!(", body {}", describe::json(b));
        }
        let req = HttpRequest {
            method: h.method.clone(),
            url,
            headers: h.headers.clone(),
            body: h.body.as_ref().map(|b| b.as_bytes().to_vec()),
            insecure: self.opts.connect.insecure,
        };
        let deadline = self.until(t0, h.within);
        let cut = self.cut_note(t0, h.within);
        let resp = match http::fetch(&req, deadline, Some(&self.http_tr)).await {
            Ok(r) => r,
            Err(e) => return Outcome::failed(sent, expected, format!("{e}{cut}")),
        };
        let got = format!(
            "HTTP {} {}, {} body bytes, {}",
            resp.head.status,
            resp.head.reason,
            resp.body.len(),
            ms(resp.elapsed)
        );
        let verdict = (|| {
            if let Some(s) = h.expect_status {
                if resp.head.status != s {
                    return Err(String::new());
                }
            }
            if let Some(x) = &h.expect_headers {
                check_headers(x, &resp).map_err(|m| format!("; header {m}"))?;
            }
            if let Some(b) = &h.expect_body {
                check_string(b, Some(resp.body_text()))
                    .map_err(|m| format!("; body {m}: {}", short(&resp.body_text(), 80)))?;
            }
            Ok(())
        })();
        if let Err(why) = verdict {
            self.last_http = Some(resp);
            return Outcome::failed(sent, expected, format!("{got}{why}"));
        }
        let res = self.apply_captures(&h.captures, &CapInput::Http(&resp));
        self.last_http = Some(resp);
        match res {
            Ok(c) if c.is_empty() => Outcome::ok(sent, expected, got),
            Ok(c) => Outcome::ok(sent, expected, format!("{got}; captured {}", c.join(", "))),
            Err(e) => Outcome::failed(sent, expected, format!("{got}; {e}")),
        }
    }

    fn file_edit(&mut self, what: &str, path: &str, content: Option<&str>) -> Outcome {
        let sent = match content {
            Some(c) => format!("{what} {path} ({} bytes)", c.len()),
            None => format!("{what} {path}"),
        };
        let Some(g) = &mut self.files else {
            return Outcome::failed(sent, "", "file actions need a [server] section");
        };
        let r = match (what, content) {
            ("write", Some(c)) => g.write(path, c.as_bytes()),
            ("append", Some(c)) => g.append(path, c.as_bytes()),
            _ => g.delete(path),
        };
        match r {
            Ok(note) => {
                let mut obs = match what {
                    "delete" => format!("deleted {}", note.path.display()),
                    _ => format!(
                        "{} {} ({} bytes now{})",
                        if what == "write" {
                            "wrote"
                        } else {
                            "appended to"
                        },
                        note.path.display(),
                        note.size,
                        if note.existed { "" } else { ", new file" }
                    ),
                };
                if let Some(since) = note.since_last_write_ms.filter(|ms| *ms < 100.0) {
                    let w = format!(
                        "edited again {since:.0} ms after the previous edit of the same file (Vite drops a second change within 50 ms; space edits by 100 ms)"
                    );
                    self.events.note(w.clone());
                    obs += &format!("; note: {w}");
                }
                self.events
                    .push(crate::report::Direction::Sent, "file", obs.clone(), None);
                Outcome::ok(sent, "", obs)
            }
            Err(e) => Outcome::failed(sent, "", e),
        }
    }

    fn external_not_run(&self, what: &str) -> Option<Outcome> {
        if self.external {
            Some(Outcome::not_run(
                what.to_string(),
                "the server was started by someone else (--url); the kit cannot control it",
            ))
        } else {
            None
        }
    }

    async fn start_server(&mut self) -> Outcome {
        if let Some(o) = self.external_not_run("the server starts and becomes ready") {
            return o;
        }
        let deadline = self.step_cap;
        let Some(s) = &mut self.server else {
            return Outcome::failed("", "", "the scenario has no [server] section");
        };
        let sent = s.command_line();
        match s.start(&mut self.vars, deadline).await {
            Ok(obs) => Outcome::ok(sent, "the server becomes ready", obs),
            Err(e) => Outcome::failed(sent, "the server becomes ready", e),
        }
    }

    async fn stop_server(&mut self, st: StopServer, restart: bool) -> Outcome {
        let what = if restart {
            "the server stops on the signal, starts again and becomes ready"
        } else {
            "the server exits on the signal within the stop timeout"
        };
        if let Some(o) = self.external_not_run(what) {
            return o;
        }
        let deadline = self.step_cap;
        let Some(s) = &mut self.server else {
            return Outcome::failed("", what, "the scenario has no [server] section");
        };
        let sig = st.signal.unwrap_or(s.stop_signal());
        let sent = format!("SIG{}", sig.name());
        let t_stop = Instant::now();
        let stop = match s.stop(sig).await {
            Ok(out) => s.judge_stop(&out),
            Err(e) => Err(e),
        };
        if !restart {
            return match stop {
                Ok(obs) => Outcome::ok(sent, what, obs),
                Err(e) => Outcome::failed(sent, what, e),
            };
        }
        let stop_text = match &stop {
            Ok(t) | Err(t) => t.clone(),
        };
        s.restart_began = Some(t_stop);
        let started = s.start(&mut self.vars, deadline).await;
        let recovery = ms(t_stop.elapsed());
        match (stop, started) {
            (Ok(_), Ok(obs)) => Outcome::ok(
                sent,
                what,
                format!(
                    "stopped ({stop_text}); {obs}; recovery {recovery} from the signal to ready"
                ),
            ),
            (Err(_), Ok(obs)) => Outcome::failed(sent, what, format!("{stop_text}; then {obs}")),
            (_, Err(e)) => Outcome::failed(sent, what, format!("stopped ({stop_text}); {e}")),
        }
    }

    async fn assert_server(&mut self, a: AssertServer, t0: Instant) -> Outcome {
        let expected = match (a.state, a.exit_code) {
            (ServerState::Alive, _) if a.within.is_zero() => "the server is running".to_string(),
            (ServerState::Alive, _) => {
                format!("the server keeps running for {}", format_duration(a.within))
            }
            (ServerState::Exited, Some(c)) => format!(
                "the server exits with code {c} within {}",
                format_duration(a.within)
            ),
            (ServerState::Exited, None) => {
                format!("the server exits within {}", format_duration(a.within))
            }
        };
        if let Some(o) = self.external_not_run(&expected) {
            return o;
        }
        let deadline = self.until(t0, a.within);
        let cut = self.cut_note(t0, a.within);
        let Some(s) = &mut self.server else {
            return Outcome::failed("", expected, "the scenario has no [server] section");
        };
        let Some(p) = s.process() else {
            return Outcome::failed("", expected, "the server was never started");
        };
        match a.state {
            ServerState::Alive => {
                let pid = p.pid();
                let exit = if a.within.is_zero() {
                    p.exit()
                } else {
                    p.wait_exit(deadline).await
                };
                match exit {
                    Some(e) => {
                        let t = s.exit_text(&e);
                        s.exit_reported();
                        Outcome::failed("", expected, format!("the server has exited: {t}"))
                    }
                    None if cut.is_empty() => Outcome::ok(
                        "",
                        expected,
                        format!("running (pid {pid}) for {}", ms(t0.elapsed())),
                    ),
                    None => Outcome::failed(
                        "",
                        expected,
                        format!("running (pid {pid}) for {}{cut}", ms(t0.elapsed())),
                    ),
                }
            }
            ServerState::Exited => match p.wait_exit(deadline).await {
                None => Outcome::failed(
                    "",
                    expected,
                    format!(
                        "still running (pid {}) after {}{cut}",
                        p.pid(),
                        format_duration(a.within)
                    ),
                ),
                Some(e) => {
                    let t = s.exit_text(&e);
                    s.acknowledge_exit();
                    match a.exit_code {
                        Some(c) if c != e.shell_code() => Outcome::failed(
                            "",
                            expected,
                            format!("exited with {t} (code {})", e.shell_code()),
                        ),
                        _ => Outcome::ok("", expected, format!("exited: {t}")),
                    }
                }
            },
        }
    }

    async fn ping(&mut self, p: &crate::scenario::Ping, t0: Instant) -> Outcome {
        let payload = p.payload.as_slice().to_vec();
        let sent = format!(
            "ping {}",
            match &p.payload {
                Bytes::Text(t) => short(t, 60),
                Bytes::Hex(h) => h.iter().map(|b| format!("{b:02x}")).collect(),
            }
        );
        let expected = format!(
            "a pong with the same payload within {}",
            format_duration(p.expect_pong_within)
        );
        let Some(conn) = self.conns.get(&p.conn) else {
            return self.not_open(&p.conn);
        };
        let before = {
            let st = conn.lock();
            if st.ended().is_some() {
                return Outcome::failed(sent, expected, closed_text(&st));
            }
            st.pongs.len()
        };
        let at = Instant::now();
        conn.send_raw(Peer::frame_bytes(OpCode::Ping, true, &payload));
        let deadline = self.until(t0, p.expect_pong_within);
        let cut = self.cut_note(t0, p.expect_pong_within);
        let res = conn
            .wait_for(deadline, |st| {
                if let Some((_, t)) = st.pongs[before..].iter().find(|(b, _)| *b == payload) {
                    return Some(Ok(*t));
                }
                if st.ended().is_some() || st.finished() {
                    return Some(Err(closed_text(st)));
                }
                None
            })
            .await;
        let other_pongs = conn.lock().pongs.len() - before;
        match res {
            Ok(Ok(t)) => {
                let lat = t.saturating_duration_since(at);
                let lat_ms = (lat.as_secs_f64() * 1e6).round() / 1e3;
                let mut obs = format!("pong after {}", ms(lat));
                if let Some(var) = &p.record_latency_as {
                    let v = serde_json::Number::from_f64(lat_ms)
                        .map(Value::Number)
                        .unwrap_or(Value::Null);
                    self.vars.set(var.clone(), v);
                    obs += &format!("; {var} = {lat_ms}");
                }
                Outcome::ok(sent, expected, obs)
            }
            Ok(Err(why)) => Outcome::failed(sent, expected, why),
            Err(Timeout::Finished) => Outcome::failed(sent, expected, res_closed_text(conn)),
            Err(Timeout::Deadline) => Outcome::failed(
                sent,
                expected,
                format!(
                    "no matching pong within {}{cut}{}",
                    format_duration(p.expect_pong_within),
                    if other_pongs > 0 {
                        format!(" ({other_pongs} pong(s) with another payload)")
                    } else {
                        String::new()
                    }
                ),
            ),
        }
    }
}

/// Compiles a list of matchers; the error is the first pattern's, as report text.
fn compile_all<'a>(
    matchers: impl IntoIterator<Item = &'a crate::scenario::matcher::MessageMatcher>,
) -> Result<Vec<CompiledMatcher>, String> {
    matchers
        .into_iter()
        .map(|m| m.compile().map_err(|e| e.to_string()))
        .collect()
}
