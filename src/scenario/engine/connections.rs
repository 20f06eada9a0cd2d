//! How the connection actions run: `connect` (the opening handshake and its expected
//! outcome), `close`, `drop_tcp`, `pause_reading`, `resume_reading`, `set_ping_policy`
//! and `ping`.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::conn::Conn;
use super::expect::{closed_text, wait_for_match, Missed};
use super::http::{check_headers, check_string};
use super::runner::{Outcome, RunStep, Runner, StepCx, Window};
use crate::codec::frame::OpCode;
use crate::codec::handshake::ClientRequest;
use crate::codec::http::HeadLimits;
use crate::peer::http::{self, headers_json, Endpoint};
use crate::peer::transcript::Transcript;
use crate::peer::{ConnectOptions, HandshakeOutcome, Peer, PeerError, Target};
use crate::scenario::actions::*;
use crate::scenario::describe::{self, ms, short};
use crate::scenario::format_duration;
use crate::scenario::matcher::JsonPattern;
use crate::scenario::model::Bytes;

impl RunStep for Connect {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let c = self;
        let t0 = cx.t0;
        let url = match r.url_of(&c.target, ("ws", "wss")) {
            Ok(u) => u,
            Err(e) => return Outcome::failed("", "", e),
        };
        let target = match Target::parse(&url) {
            Ok(t) => t,
            Err(e) => return Outcome::failed(url, "", e.to_string()),
        };
        let (bytes, req, sent) = r.upgrade_request(c, &target);
        let Window {
            until: deadline,
            cut,
        } = r.window(t0, c.within);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let copts = ConnectOptions {
            insecure: r.opts.connect.insecure,
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
            let tr = Transcript::new(&c.conn, r.started);
            r.transcripts.push(tr.clone());
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
                r.opts.connect.insecure,
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
            if !status.matches(resp.head.status) {
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
        let opened = Peer::open(&target, &copts, &c.conn, r.started).await;
        let mut peer = match opened {
            Ok(p) => p,
            Err(PeerError::Connect(e))
                if e.kind() == std::io::ErrorKind::ConnectionRefused
                    && matches!(c.expect, ConnectExpect::Refused) =>
            {
                return Outcome::ok(sent, expected, format!("refused: {e}"));
            }
            Err(e) => {
                r.events.note(format!("connect {} to {url}: {e}", c.conn));
                return Outcome::failed(sent, expected, format!("{e}{cut}"));
            }
        };
        r.transcripts.push(peer.transcript().clone());
        if matches!(c.expect, ConnectExpect::Refused) {
            return Outcome::failed(sent, expected, "TCP connect succeeded");
        }
        peer.send_request_bytes(bytes);
        let head_deadline = match &c.expect {
            ConnectExpect::NoResponse(d) => r.window(t0, *d).until,
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
                let cut = r.window(t0, *d).cut;
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
            let why = match &outcome {
                HandshakeOutcome::Rejected { response }
                    if (200..300).contains(&response.status) || response.status == 404 =>
                {
                    " instead of 101: a plain HTTP answer, so nothing on the server handled the upgrade at this path"
                }
                _ => "",
            };
            return Outcome::failed(sent, expected, format!("{got}{why}{cut}"));
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
        if let Some(s) = &mut r.server {
            if let Some(rb) = s.restart_began.take() {
                observed += &format!(
                    "; first upgrade {} after the restart began",
                    ms(rb.elapsed())
                );
            }
        }
        if let Some(cfg) = accepted.deflate {
            peer.enable_deflate(cfg);
            observed += "; permessage-deflate accepted";
        }
        let conn = Conn::start(peer, c.answer_pings);
        r.conns.insert(c.conn.clone(), conn);
        Outcome::ok(sent, expected, observed)
    }
}

impl Runner<'_> {
    pub(super) fn upgrade_request(
        &self,
        c: &Connect,
        target: &Target,
    ) -> (Vec<u8>, ClientRequest, String) {
        let mut req = ClientRequest::new(target.host_header(), target.resource.clone());
        req.method = c.method.clone();
        for (k, v) in &c.query {
            req = req.query(&percent_encode(k), &percent_encode(v));
        }
        req.protocols = c.protocols.clone();
        if let Some(offers) = &c.deflate {
            req = req.deflate(offers.clone(), crate::codec::deflate::AnswerCheck::Strict);
        }
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

    /// Runs `f` on the open connection `conn` and waits until the connection's task
    /// has done it.
    pub(super) async fn simple(
        &mut self,
        conn: &str,
        what: &str,
        f: impl FnOnce(&Conn),
    ) -> Outcome {
        match self.conns.get(conn) {
            Some(k) => {
                f(k);
                k.flush().await;
                Outcome::ok("", "", what)
            }
            None => self.not_open(conn),
        }
    }
}

fn percent_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl RunStep for Close {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let Some(conn) = r.conns.get(&self.conn) else {
            return r.not_open(&self.conn);
        };
        conn.send_close(self.code, self.reason.as_bytes().to_vec());
        conn.flush().await;
        let sent = match self.code {
            Some(code) if self.reason.is_empty() => format!("close frame {code}"),
            Some(code) => format!("close frame {code} {}", short(&self.reason, 60)),
            None => "close frame without a status code".into(),
        };
        Outcome::ok(sent, "", "queued; the answer is checked by expect_close")
    }
}

impl RunStep for DropTcp {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        r.simple(&self.conn, "TCP dropped without a close frame", |k| {
            k.drop_tcp()
        })
        .await
    }
}

impl RunStep for ExpectConforming {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let Some(k) = r.conns.get(&self.conn) else {
            return r.not_open(&self.conn);
        };
        let expected = "every frame the server sent follows RFC 6455";
        match k.lock().violation.clone() {
            // The runner appends the violation itself ("the server broke RFC 6455 on
            // this connection: ...") to every failed step of a connection that has one.
            Some(_) => Outcome::failed("", expected, format!("a frame on {} did not", self.conn)),
            None => Outcome::ok("", expected, "no RFC 6455 violation seen"),
        }
    }
}

impl<const ON: bool> RunStep for SetReading<ON> {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let what = if ON {
            "reading resumed"
        } else {
            "reading paused"
        };
        r.simple(&self.conn, what, |k| k.set_reading(ON)).await
    }
}

impl RunStep for SetPingPolicy {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let answer = self.answer;
        let what = if answer {
            "pings are answered from now on"
        } else {
            "pings are left unanswered from now on"
        };
        r.simple(&self.conn, what, move |k| k.set_auto_pong(answer))
            .await
    }
}

impl RunStep for Ping {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let p = self;
        let t0 = cx.t0;
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
        let Some(conn) = r.conns.get(&p.conn) else {
            return r.not_open(&p.conn);
        };
        let before = {
            let st = conn.lock();
            if st.ended().is_some() {
                return Outcome::failed(sent, expected, closed_text(&st));
            }
            st.pongs.len()
        };
        let at = Instant::now();
        conn.send_raw(conn.frame(OpCode::Ping, true, &payload));
        let Window {
            until: deadline,
            cut,
        } = r.window(t0, p.expect_pong_within);
        let res = wait_for_match(conn, deadline, |st| {
            st.pongs[before..]
                .iter()
                .find(|(b, _)| *b == payload)
                .map(|(_, t)| *t)
        })
        .await;
        let other_pongs = conn.lock().pongs.len() - before;
        match res {
            Ok(t) => {
                let lat = t.saturating_duration_since(at);
                let lat_ms = (lat.as_secs_f64() * 1e6).round() / 1e3;
                let mut obs = format!("pong after {}", ms(lat));
                if let Some(var) = &p.record_latency_as {
                    let v = serde_json::Number::from_f64(lat_ms)
                        .map(Value::Number)
                        .unwrap_or(Value::Null);
                    r.vars.set(var.clone(), v);
                    obs += &format!("; {var} = {lat_ms}");
                }
                Outcome::ok(sent, expected, obs)
            }
            Err(Missed::Closed(why)) => Outcome::failed(sent, expected, why),
            Err(Missed::TimedOut) => Outcome::failed(
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
