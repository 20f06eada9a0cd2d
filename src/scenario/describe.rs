//! One-line renderings of matchers, payloads, JSON values and durations, for step
//! titles and for the engine's `sent` / `expected` / `observed` lines.

use serde_json::Value;

use super::actions::{LengthForm, MaskSpec, SendPayload};
use super::matcher::{MessageMatcher, MessageType};

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
            if r.length_encoding != LengthForm::Minimal {
                s += &format!(", {:?} length", r.length_encoding);
            }
            if let Some(c) = r.chop {
                s += &format!(", in {c}-byte writes");
            }
            s
        }
    }
}

/// `"…"`-quoted, cut after `max` characters.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head:?}… ({} bytes)", s.len())
    }
}

/// A duration as a person reads it (`8.5 ms`, `850 ms`, `21.1 s`), in the same words as the
/// report writers use.
pub fn ms(d: std::time::Duration) -> String {
    crate::report::text::human_ms(d.as_secs_f64() * 1000.0)
}
