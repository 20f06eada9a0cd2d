//! One-line descriptions of steps, matchers and payloads for reports.

use serde_json::Value;

use super::conn::short;
use crate::scenario::matcher::{MessageMatcher, MessageType};
use crate::scenario::model::*;

/// Longest JSON pattern rendering in a one-liner.
const PATTERN_CHARS: usize = 160;

fn cut(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        s
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}…")
    }
}

/// `json {"type":"connected"}`, `text "x"`, `any message`.
pub fn matcher(m: &MessageMatcher) -> String {
    let mut parts = Vec::new();
    match m.kind {
        Some(MessageType::Json) if m.json.is_none() => parts.push("a JSON text message".into()),
        Some(k) if m.json.is_none() || k != MessageType::Json => {
            parts.push(format!("a {} message", k.name()))
        }
        _ => {}
    }
    if let Some(t) = &m.text {
        parts.push(format!("text {}", short(t, 80)));
    }
    if let Some(r) = &m.regex {
        parts.push(format!("matching /{r}/"));
    }
    if let Some(b) = &m.bytes {
        let hex: String = b.iter().take(32).map(|x| format!("{x:02x}")).collect();
        parts.push(format!(
            "bytes {hex}{}",
            if b.len() > 32 { "…" } else { "" }
        ));
    }
    if let Some(j) = &m.json {
        let enc = if m.double_encoded {
            "double-encoded JSON "
        } else {
            "JSON "
        };
        parts.push(format!("{enc}{}", cut(j.to_string(), PATTERN_CHARS)));
    } else if m.double_encoded {
        parts.push("double-encoded JSON".into());
    }
    if parts.is_empty() {
        "any message".into()
    } else {
        parts.join(", ")
    }
}

/// A JSON value in one line, shortened.
pub fn json(v: &Value) -> String {
    cut(v.to_string(), PATTERN_CHARS)
}

/// What a `send` step puts on the wire.
pub fn send_payload(p: &SendPayload) -> String {
    match p {
        SendPayload::Text(t) => format!("text {}", short(t, 120)),
        SendPayload::Json(j) => format!("text {}", cut(j.to_string(), PATTERN_CHARS)),
        SendPayload::Binary(b) => {
            let hex: String = b.iter().take(32).map(|x| format!("{x:02x}")).collect();
            format!(
                "binary ({} bytes) {hex}{}",
                b.len(),
                if b.len() > 32 { "…" } else { "" }
            )
        }
        SendPayload::Raw(r) => {
            let mut s = format!(
                "raw frame opcode={} fin={} rsv={} mask={} payload {} bytes",
                r.opcode,
                u8::from(r.fin),
                r.rsv,
                match r.mask {
                    MaskSpec::Random => "random".to_string(),
                    MaskSpec::Unmasked => "none".to_string(),
                    MaskSpec::Key(k) => k.iter().map(|x| format!("{x:02x}")).collect(),
                },
                r.payload.as_slice().len()
            );
            if let Some(d) = r.declared_length {
                s += &format!(", declared length {d}");
            }
            if r.length_encoding != LengthEncoding::Minimal {
                s += &format!(", {:?} length", r.length_encoding);
            }
            if let Some(c) = r.chop {
                s += &format!(", in {c}-byte writes");
            }
            s
        }
    }
}

/// A title for a step that has none: what it does, in a few words.
pub fn title(step: &Step) -> String {
    let a = &step.action;
    match a {
        Action::Connect(c) => {
            let to = match &c.target {
                Target::Url(u) => u.clone(),
                Target::Path(p) => p.clone(),
            };
            let outcome = match &c.expect {
                ConnectExpect::Upgrade { .. } => "expect 101".to_string(),
                ConnectExpect::Status { status, .. } => format!("expect HTTP {status}"),
                ConnectExpect::ClosedBeforeData => "expect TCP closed before any data".into(),
                ConnectExpect::Refused => "expect the connect to be refused".into(),
                ConnectExpect::NoResponse(d) => {
                    format!(
                        "expect no answer for {}",
                        crate::scenario::format_duration(*d)
                    )
                }
            };
            format!("connect {} to {to}, {outcome}", c.conn)
        }
        Action::Send(s) => format!("send on {}: {}", s.conn, send_payload(&s.payload)),
        Action::Expect(e) => match &e.what {
            ExpectWhat::One(i) => format!("expect on {}: {}", e.conn, matcher(&i.matcher)),
            ExpectWhat::All { items, ordered } => format!(
                "expect on {}: {} messages{}",
                e.conn,
                items.len(),
                if *ordered {
                    " in order"
                } else {
                    " in any order"
                }
            ),
        },
        Action::ExpectSilence(s) => format!(
            "expect silence on {} for {}",
            s.conn,
            crate::scenario::format_duration(s.duration)
        ),
        Action::ExpectClose(c) => {
            if c.codes.is_empty() {
                format!("expect {} to close", c.conn)
            } else {
                format!("expect {} to close with {:?}", c.conn, c.codes)
            }
        }
        Action::ExpectAck(a) => format!("expect on {} the answer: {}", a.conn, matcher(&a.matcher)),
        Action::Rpc(r) => format!("rpc on {}: {}", r.conn, json(&r.request)),
        Action::Capture(c) => format!("capture {}", c.capture.var),
        Action::Http(h) => format!(
            "HTTP {} {}",
            h.method,
            match &h.target {
                Target::Url(u) => u,
                Target::Path(p) => p,
            }
        ),
        Action::WriteFile(w) => format!("write {}", w.path),
        Action::AppendFile(w) => format!("append to {}", w.path),
        Action::DeleteFile(d) => format!("delete {}", d.path),
        Action::StartServer => "start the server".into(),
        Action::StopServer(_) => "stop the server".into(),
        Action::RestartServer(_) => "restart the server".into(),
        Action::AssertServer(s) => match s.state {
            ServerState::Alive => "the server is alive".into(),
            ServerState::Exited => "the server has exited".into(),
        },
        Action::PauseReading(c) => format!("stop reading {}", c.conn),
        Action::ResumeReading(c) => format!("resume reading {}", c.conn),
        Action::DropTcp(c) => format!("drop the TCP connection of {}", c.conn),
        Action::SetPingPolicy(p) => format!(
            "{} pings on {}",
            if p.answer { "answer" } else { "ignore" },
            p.conn
        ),
        Action::Ping(p) => format!("ping on {}", p.conn),
        Action::Sleep(s) => format!("sleep {}", crate::scenario::format_duration(s.duration)),
        Action::Close(c) => match c.code {
            Some(code) => format!("close {} with {code}", c.conn),
            None => format!("close {} without a code", c.conn),
        },
    }
}

/// Which check a step performs, for the report's `rfc` column.
pub fn check_name(a: &Action) -> &'static str {
    match a {
        Action::Connect(_) => "opening handshake",
        Action::Send(_) => "send",
        Action::Expect(_) => "message match",
        Action::ExpectSilence(_) => "silence",
        Action::ExpectClose(_) => "close",
        Action::ExpectAck(_) => "acknowledgement",
        Action::Rpc(_) => "request/response",
        Action::Capture(_) => "capture",
        Action::Http(_) => "HTTP",
        Action::WriteFile(_) | Action::AppendFile(_) | Action::DeleteFile(_) => "file edit",
        Action::StartServer
        | Action::StopServer(_)
        | Action::RestartServer(_)
        | Action::AssertServer(_) => "server lifecycle",
        Action::PauseReading(_) | Action::ResumeReading(_) => "flow control",
        Action::DropTcp(_) => "TCP drop",
        Action::SetPingPolicy(_) => "ping policy",
        Action::Ping(_) => "ping/pong",
        Action::Sleep(_) => "sleep",
        Action::Close(_) => "close",
    }
}

/// Milliseconds with one decimal.
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
