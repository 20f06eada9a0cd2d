//! The one-line `sent`, `expected` and `observed` texts of a fuzzing case report.

use super::fuzzer::FuzzRun;
use super::spec::{Action, ExpectedClose, FrameSpec, FuzzSpec, Handler, Obs, Pacing};
use crate::codec::frame::Masking;
use crate::peer::transcript::payload_preview;

const MAX_LINE: usize = 400;
const MAX_ITEMS: usize = 8;

fn cap(mut s: String) -> String {
    if s.len() > MAX_LINE {
        let mut cut = MAX_LINE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn op_name(o: u8) -> String {
    crate::codec::frame::OpCode::from_u8(o).name()
}

/// A payload preview of at most 24 bytes.
fn short(p: &[u8]) -> String {
    payload_preview(&p[..p.len().min(24)], p.len() as u64)
}

/// One recorded event.
pub fn obs(o: &Obs) -> String {
    match o {
        Obs::Message { payload, binary } => format!(
            "{}({} B {})",
            if *binary { "binary" } else { "text" },
            payload.len(),
            short(payload)
        ),
        Obs::Pong(p) if p.is_empty() => "pong(0 B)".into(),
        Obs::Pong(p) => format!("pong({} B {})", p.len(), short(p)),
        Obs::Timeout(tag) => format!("timeout {tag}"),
    }
}

/// A list of events, shortened.
pub fn obs_list(list: &[Obs]) -> String {
    let mut parts: Vec<String> = list.iter().take(MAX_ITEMS).map(obs).collect();
    if list.len() > MAX_ITEMS {
        parts.push(format!("… +{} more", list.len() - MAX_ITEMS));
    }
    format!("[{}]", parts.join(", "))
}

fn mode(m: Pacing) -> String {
    match m {
        Pacing::Plain => String::new(),
        Pacing::Sync => " [own write]".into(),
        Pacing::Chop { size, delay } if delay.is_zero() => format!(" [{size}-byte writes]"),
        Pacing::Chop { size, delay } => {
            format!(" [{size}-byte writes, {} ms apart]", delay.as_millis())
        }
    }
}

fn frame(f: &FrameSpec, m: Pacing) -> String {
    let mut s = f.opcode.name();
    if !f.fin {
        s += "/nofin";
    }
    if f.rsv != 0 {
        s += &format!(" rsv={}", f.rsv);
    }
    match f.mask {
        Masking::Random => {}
        Masking::Unmasked => s += " UNMASKED",
        Masking::Key(k) => s += &format!(" key={:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3]),
    }
    if let Some(enc) = f.length_encoding {
        s += &format!(" {enc:?}-length");
    }
    match f.declared_len {
        Some(n) => s += &format!(" announcing {n} B, carrying {} B", f.payload.len()),
        None => s += &format!(" {} B", f.payload.len()),
    }
    if !f.payload.is_empty() && f.payload.len() <= 64 {
        s += &format!(" {}", payload_preview(&f.payload, f.payload.len() as u64));
    }
    s + &mode(m)
}

fn action(a: &Action) -> String {
    match a {
        Action::Frame(f, m) => frame(f, *m),
        Action::Message {
            opcode,
            payload,
            fragment,
            mode: m,
        } => {
            let mut s = format!("{} message {} B", op_name(*opcode), payload.len());
            if payload.len() <= 64 && !payload.is_empty() {
                s += &format!(" {}", payload_preview(payload, payload.len() as u64));
            }
            if let Some(f) = fragment {
                let n = super::spec::fragment(*opcode, payload, Some(*f)).len();
                if n > 1 {
                    s += &format!(" in {n} frames of ≤{f} B");
                }
            }
            s + &mode(*m)
        }
        Action::Close(p) => match p.len() {
            0 => "close (empty payload)".into(),
            1 => format!("close with a 1-byte payload 0x{:02x}", p[0]),
            _ => {
                let code = u16::from_be_bytes([p[0], p[1]]);
                if p.len() == 2 {
                    format!("close {code}")
                } else {
                    format!(
                        "close {code} reason {} B {}",
                        p.len() - 2,
                        payload_preview(&p[2..], (p.len() - 2) as u64)
                    )
                }
            }
        },
        Action::Bytes(b) => format!("{} raw bytes of a frame", b.len()),
        Action::Chunked { frame: f, size } => {
            format!(
                "{} [{size}-byte writes, back to back]",
                frame(f, Pacing::Plain)
            )
        }
    }
}

/// What the kit sends.
pub fn sent(spec: &FuzzSpec) -> String {
    let stages: Vec<String> = spec
        .stages
        .iter()
        .map(|s| {
            let acts: Vec<String> = s.actions.iter().map(action).collect();
            let body = acts.join("; ");
            if s.at.is_zero() {
                body
            } else {
                format!("at {} s if still open: {body}", s.at.as_secs_f64())
            }
        })
        .collect();
    cap(stages.join(" | "))
}

fn close_text(c: &ExpectedClose) -> String {
    let codes = c
        .codes
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("/");
    match (c.closed_by_me, c.require_clean) {
        (true, true) => {
            format!("kit closes; server answers {codes} (or no code) and closes TCP within 1 s")
        }
        (true, false) => {
            format!("kit closes; server answers {codes}, an empty close, or drops TCP")
        }
        (false, _) => format!("server fails the connection (close {codes}, no code, or TCP drop)"),
    }
}

/// What a conforming server does.
pub fn expected(spec: &FuzzSpec) -> String {
    let e = &spec.expect;
    if e.rules.informational {
        let mut s = "any behaviour (INFORMATIONAL)".to_string();
        if let Some(n) = &spec.note {
            s += &format!(" — {n}");
        }
        return cap(s);
    }
    let mut s = match &e.handler {
        Some(Handler::FirstMessage { binary, len }) => format!(
            "echo as {} of {len} B",
            if *binary { "binary" } else { "text" }
        ),
        Some(Handler::Sequential {
            binary,
            payload,
            count,
        }) => format!(
            "{count} echoes as {} of {} B, one after the other",
            if *binary { "binary" } else { "text" },
            payload.len()
        ),
        None => e
            .outcomes
            .iter()
            .map(|(v, l)| format!("{}: {}", v.label(), obs_list(l)))
            .collect::<Vec<_>>()
            .join("; "),
    };
    s += &format!("; {}", close_text(&e.close));
    if let Some(n) = &spec.note {
        s += &format!(" — {n}");
    }
    cap(s)
}

/// What came back.
pub fn observed(run: &FuzzRun, why: &[String]) -> String {
    let o = &run.obs;
    if !o.opened {
        return cap(run.handshake.clone());
    }
    let mut parts = Vec::new();
    if o.received.is_empty() && run.messages_seen > 0 {
        parts.push(format!("{} data message(s) received", run.messages_seen));
    } else {
        parts.push(format!("events {}", obs_list(&o.received)));
    }
    let (pings, answered) = run.pings_seen;
    if pings > 0 {
        parts.push(format!(
            "server sent {pings} ping(s), kit answered {answered}"
        ));
    }
    if run.messages_seen == 0 && run.data_frames_seen > 0 {
        parts.push(format!(
            "server sent {} data frame(s) without completing a message",
            run.data_frames_seen
        ));
    }
    if let Some(v) = &run.violation {
        parts.push(format!("server violation: {v}"));
    }
    let code = match (o.remote_close_code, &run.remote_close_reason) {
        (Some(c), Some(r)) if !r.is_empty() => format!("code {c} reason {r:?}"),
        (Some(c), _) => format!("code {c}"),
        (None, _) => "no code".into(),
    };
    parts.push(if o.closed_by_me {
        if o.was_clean || o.remote_close_code.is_some() {
            format!("kit sent the first close, server answered ({code})")
        } else {
            "kit sent the first close, no close frame from the server".into()
        }
    } else if o.was_clean || o.remote_close_code.is_some() {
        format!("server sent the first close ({code})")
    } else {
        "no close frame from either side".into()
    });
    parts.push(run.tcp_end.clone());
    for w in why {
        parts.push(w.clone());
    }
    cap(parts.join("; "))
}
