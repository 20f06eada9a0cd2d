//! The `send` action: a text, JSON or binary message (optionally fragmented), or one
//! hand-built frame for protocol-violation tests.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde_json::Value;
use toml::de::DeValue;

use super::{ActionSpec, Uses};
use crate::scenario::describe::send_payload;
use crate::scenario::model::Bytes;
use crate::scenario::read::{int_value, parse_hex, Fields, Reader, Semantic};
use crate::scenario::resolve::{sub, sub_bytes, sub_json, ResolveError};
use crate::scenario::vars::Vars;

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! send_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Send a message or a raw frame.
            Send(SendMessage),
        ] $($rest)* }
    };
}
pub(crate) use send_actions;

/// Largest message a `send` with `repeat` may build.
const MAX_REPEAT_BYTES: i128 = 64 << 20;

/// `send`.
#[derive(Debug, Clone, PartialEq)]
pub struct SendMessage {
    /// `conn`.
    pub conn: String,
    /// What to send.
    pub payload: SendPayload,
    /// `fragment_size`: split a text/json/binary message into frames of at most this
    /// many payload bytes.
    pub fragment_size: Option<NonZeroUsize>,
}

/// The message of a `send`.
#[derive(Debug, Clone, PartialEq)]
pub enum SendPayload {
    /// `text` (template): a text message.
    Text(String),
    /// `json` (inline TOML table/array; strings are templates): serialised compactly,
    /// sent as text. Keys come out sorted; use `text` for byte-exact JSON.
    Json(Value),
    /// `binary_hex`: a binary message.
    Binary(Vec<u8>),
    /// `raw = {...}`: one hand-built frame, for protocol-violation tests.
    Raw(RawFrame),
}

/// `raw = {...}` frame of a `send`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFrame {
    /// `opcode`: 0..=15 or a name (`continuation`, `text`, `binary`, `close`, `ping`, `pong`).
    pub opcode: u8,
    /// `fin` (default true).
    pub fin: bool,
    /// `rsv`: the three RSV bits as a number 0..=7 (RSV1 = 4), default 0.
    pub rsv: u8,
    /// `mask`: `true` (random key, default), `false` (unmasked), or a hex key.
    pub mask: MaskSpec,
    /// `payload_hex` or `payload_text` (default empty).
    pub payload: Bytes,
    /// `length_encoding`: force a (non-minimal) length form.
    pub length_encoding: LengthForm,
    /// `declared_length`: a length field that lies about the payload size.
    pub declared_length: Option<u64>,
    /// `chop`: write the frame bytes in pieces of this size.
    pub chop: Option<NonZeroUsize>,
    /// `delay_ms`: pause between chopped pieces.
    pub delay: Option<Duration>,
}

/// Masking of a raw frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskSpec {
    /// A fresh random key (what a client must do).
    Random,
    /// No mask bit (a protocol violation for a client).
    Unmasked,
    /// This key.
    Key([u8; 4]),
}

/// The length form a raw frame asks for (`length_encoding`): the minimal one, or a forced
/// one for non-minimal-length tests; the engine turns it into the codec's [`crate::codec::frame::LengthEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthForm {
    /// The shortest form (RFC 6455 requires it).
    Minimal,
    /// `"7bit"`: the length in the 7-bit field (payload <= 125).
    Bits7,
    /// `"16bit"`: 126 + 16-bit length.
    Bits16,
    /// `"64bit"`: 127 + 64-bit length.
    Bits64,
}

impl ActionSpec for SendMessage {
    const NAME: &'static str = "send";
    const KEYS: &'static [&'static str] = &[
        "conn",
        "text",
        "json",
        "binary_hex",
        "raw",
        "fragment_size",
        "repeat",
    ];
    const CHECK: &'static str = "send";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let which = r.exactly_one(f, &["text", "json", "binary_hex", "raw"], true);
        let payload = match which {
            Some("text") => r.template(f, "text").map(|s| SendPayload::Text(s.0)),
            Some("json") => {
                let v = f.get("json")?;
                if !matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_)) {
                    r.type_err(
                        "json",
                        v,
                        "an inline table or array (use text = \"...\" for other JSON)",
                    );
                    None
                } else {
                    r.json("json", v).map(SendPayload::Json)
                }
            }
            Some("binary_hex") => r.hex_field(f, "binary_hex").map(SendPayload::Binary),
            Some(_) => r
                .table(f, "raw")
                .and_then(|t| raw(r, &t))
                .map(SendPayload::Raw),
            None => None,
        };
        // `repeat` builds large messages (oversize probes) without a megabyte literal.
        let payload = match (r.int(f, "repeat", 1, MAX_REPEAT_BYTES), payload) {
            (None, p) => p,
            (Some(n), Some(SendPayload::Text(t))) if (t.len() as i128) * n <= MAX_REPEAT_BYTES => {
                Some(SendPayload::Text(t.repeat(n as usize)))
            }
            (Some(n), Some(SendPayload::Binary(b)))
                if (b.len() as i128) * n <= MAX_REPEAT_BYTES =>
            {
                Some(SendPayload::Binary(b.repeat(n as usize)))
            }
            (Some(_), Some(SendPayload::Text(_) | SendPayload::Binary(_))) => {
                r.err(
                    Semantic,
                    &f.key_span("repeat"),
                    "field \"repeat\" makes the message larger than 64 MiB",
                );
                None
            }
            (Some(_), p) => {
                if p.is_some() {
                    r.err(
                        Semantic,
                        &f.key_span("repeat"),
                        "field \"repeat\" applies to text and binary_hex only",
                    );
                }
                None
            }
        };
        let fragment_size = r
            .int(f, "fragment_size", 1, 1 << 32)
            .map(|n| NonZeroUsize::new(n as usize).expect("range starts at 1"));
        if fragment_size.is_some() && which == Some("raw") {
            r.err(
                Semantic,
                &f.key_span("fragment_size"),
                "field \"fragment_size\" does not apply to a raw frame",
            );
        }
        Some(SendMessage {
            conn: conn?,
            payload: payload?,
            fragment_size,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            sends: true,
            ..Uses::conn(&self.conn)
        }
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        match &mut self.payload {
            SendPayload::Text(t) => sub(t, vars),
            SendPayload::Json(j) => sub_json(j, vars),
            SendPayload::Binary(_) => Ok(()),
            SendPayload::Raw(f) => sub_bytes(&mut f.payload, vars),
        }
    }

    fn title(&self) -> String {
        format!("send on {}: {}", self.conn, send_payload(&self.payload))
    }
}

fn raw(r: &mut Reader<'_>, t: &Fields<'_, '_>) -> Option<RawFrame> {
    r.finish(
        t,
        &[
            "opcode",
            "fin",
            "rsv",
            "mask",
            "payload_hex",
            "payload_text",
            "length_encoding",
            "declared_length",
            "chop",
            "delay_ms",
        ],
    );
    let opcode = match t.get("opcode") {
        None => {
            r.missing(
                t,
                "opcode",
                "0-15 or text, binary, continuation, close, ping, pong",
            );
            None
        }
        Some(v) => match v.get_ref() {
            DeValue::String(s) => {
                let code = match s.as_ref() {
                    "continuation" => Some(0),
                    "text" => Some(1),
                    "binary" => Some(2),
                    "close" => Some(8),
                    "ping" => Some(9),
                    "pong" => Some(10),
                    _ => None,
                };
                if code.is_none() {
                    r.err(
                        Semantic,
                        &v.span(),
                        format!("field \"opcode\": unknown opcode {s:?}; expected 0-15 or continuation, text, binary, close, ping, pong"),
                    );
                }
                code
            }
            _ => r.int(t, "opcode", 0, 15).map(|i| i as u8),
        },
    };
    let fin = r.boolean(t, "fin").unwrap_or(true);
    let rsv = r.int(t, "rsv", 0, 7).map_or(0, |i| i as u8);
    let mask = match t.get("mask") {
        None => MaskSpec::Random,
        Some(v) => match v.get_ref() {
            DeValue::Boolean(true) => MaskSpec::Random,
            DeValue::Boolean(false) => MaskSpec::Unmasked,
            DeValue::String(s) => match parse_hex(s) {
                Ok(k) if k.len() == 4 => MaskSpec::Key([k[0], k[1], k[2], k[3]]),
                Ok(k) => {
                    r.err(
                        Semantic,
                        &v.span(),
                        format!(
                            "field \"mask\": a mask key is 4 bytes (8 hex digits), got {}",
                            k.len()
                        ),
                    );
                    MaskSpec::Random
                }
                Err(e) => {
                    r.err(Semantic, &v.span(), format!("field \"mask\": {e}"));
                    MaskSpec::Random
                }
            },
            _ => {
                r.type_err("mask", v, "true, false or a 4-byte hex key");
                MaskSpec::Random
            }
        },
    };
    let payload = match r.exactly_one(t, &["payload_hex", "payload_text"], false) {
        Some("payload_hex") => Bytes::Hex(r.hex_field(t, "payload_hex")?),
        Some(_) => Bytes::Text(r.template(t, "payload_text")?.0),
        None if t.has("payload_hex") => return None,
        None => Bytes::Hex(Vec::new()),
    };
    let length_encoding = match r.string(t, "length_encoding") {
        None => LengthForm::Minimal,
        Some((s, span)) => match s.as_str() {
            "minimal" => LengthForm::Minimal,
            "7bit" => LengthForm::Bits7,
            "16bit" => LengthForm::Bits16,
            "64bit" => LengthForm::Bits64,
            _ => {
                r.err(
                    Semantic,
                    &span,
                    format!("field \"length_encoding\": unknown value {s:?}; expected one of minimal, 7bit, 16bit, 64bit"),
                );
                LengthForm::Minimal
            }
        },
    };
    let declared_length = r
        .int(t, "declared_length", 0, u64::MAX as i128)
        .map(|i| i as u64);
    let len = declared_length.unwrap_or(payload.as_slice().len() as u64);
    let limit = match length_encoding {
        LengthForm::Bits7 => 125,
        LengthForm::Bits16 => 65535,
        _ => u64::MAX,
    };
    if len > limit && (declared_length.is_some() || matches!(payload, Bytes::Hex(_))) {
        r.err(
            Semantic,
            &t.key_span("length_encoding"),
            format!(
                "a length of {len} does not fit the {} length field (at most {limit})",
                if limit == 125 { "7-bit" } else { "16-bit" }
            ),
        );
    }
    let chop = match t.get("chop") {
        Some(v) if int_value(v.get_ref()) == Some(0) => {
            r.err(Semantic, &v.span(), "field \"chop\": 0 would never write anything; expected a chunk size of at least 1 byte");
            None
        }
        _ => r
            .int(t, "chop", 1, 1 << 32)
            .and_then(|n| NonZeroUsize::new(n as usize)),
    };
    let delay = r
        .int(t, "delay_ms", 0, 60_000)
        .map(|ms| Duration::from_millis(ms as u64));
    if delay.is_some() && !t.has("chop") {
        r.err(
            Semantic,
            &t.key_span("delay_ms"),
            "field \"delay_ms\" is the pause between chopped pieces; it needs \"chop\"",
        );
    }
    Some(RawFrame {
        opcode: opcode?,
        fin,
        rsv,
        mask,
        payload,
        length_encoding,
        declared_length,
        chop,
        delay,
    })
}
