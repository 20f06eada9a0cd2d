//! The mutators, at the three levels `--levels` chooses from:
//!
//! * **messages**: structure-aware for JSON text (drop, duplicate, retype and null out
//!   fields; swap enum-like strings for others seen in the traffic; deep nesting; huge
//!   strings and numbers; prototype-polluting keys `__proto__` / `constructor`; the whole
//!   message replaced by another JSON type), byte-level for binary and non-JSON text;
//! * **frames**: the same message carried by unusual or invalid framing, built with the
//!   codec's one frame description: reserved opcodes, RSV bits, missing mask, FIN
//!   cleared, lying or non-minimal lengths, fragmentation, a control frame interleaved
//!   between fragments, oversized control frames, odd close payloads, chopped writes;
//! * **handshake**: the opening handshake of one connection changed: method, versions,
//!   keys, subprotocols, extensions, Origin/Host, missing Upgrade/Connection, the path.
//!
//! Everything is drawn from one seeded RNG, so a run is reproduced by its seed.
//!
//! (Over 800 lines: the three levels are one table of choices over one RNG and one
//! dictionary; splitting them would spread that table over files.)

use rand::rngs::StdRng;
use rand::seq::{IndexedMutRandom, IndexedRandom};
use rand::Rng;
use serde_json::{Map, Value};

#[cfg(test)]
use super::input::Send;
use super::input::{HandshakeMut, Input, RawFrame, What};

/// Which levels are mutated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// Frame-level mutations.
    pub frames: bool,
    /// Handshake mutations.
    pub handshake: bool,
    /// Message mutations.
    pub messages: bool,
}

impl Default for Levels {
    fn default() -> Self {
        Levels {
            frames: true,
            handshake: true,
            messages: true,
        }
    }
}

impl Levels {
    /// Parses `frames,handshake,messages` (any subset; `all`).
    pub fn parse(list: &str) -> Result<Levels, String> {
        let mut l = Levels {
            frames: false,
            handshake: false,
            messages: false,
        };
        for p in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match p {
                "frames" => l.frames = true,
                "handshake" => l.handshake = true,
                "messages" => l.messages = true,
                "all" => l = Levels::default(),
                o => {
                    return Err(format!(
                        "unknown level {o:?}; expected frames, handshake, messages or all"
                    ))
                }
            }
        }
        if !(l.frames || l.handshake || l.messages) {
            return Err("no level chosen; expected frames, handshake, messages or all".into());
        }
        Ok(l)
    }
}

/// What the mutators know about the traffic: the enum-like strings and the keys seen.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    /// Short strings seen as JSON values (in what was sent and what came back).
    pub strings: Vec<String>,
    /// Object keys seen.
    pub keys: Vec<String>,
}

impl Dictionary {
    /// Adds the strings and keys of a JSON text, if it is JSON.
    pub fn learn(&mut self, text: &str) {
        if text.len() > 64 * 1024 {
            return;
        }
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            self.learn_value(&v, 0);
        }
    }

    fn learn_value(&mut self, v: &Value, depth: usize) {
        if depth > 16 || self.strings.len() > 512 {
            return;
        }
        match v {
            Value::String(s) if is_enum_like(s) && !self.strings.contains(s) => {
                self.strings.push(s.clone())
            }
            Value::Array(a) => a.iter().for_each(|x| self.learn_value(x, depth + 1)),
            Value::Object(m) => {
                for (k, x) in m {
                    if !self.keys.contains(k) && self.keys.len() < 512 {
                        self.keys.push(k.clone());
                    }
                    self.learn_value(x, depth + 1);
                }
            }
            _ => {}
        }
    }
}

/// A string that looks like an enum value or a name (`ADD_SUBSCRIBER`, `vite:invoke`).
fn is_enum_like(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 48
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-:./@".contains(&b))
}

/// Applies 1-3 mutations of the enabled levels to a copy of `base`.
pub fn mutate(base: &Input, levels: Levels, dict: &Dictionary, rng: &mut StdRng) -> Input {
    let mut out = base.clone();
    let n = 1 + (rng.random_range(0..8u8) / 3) as usize;
    for _ in 0..n {
        let mut choices = Vec::new();
        if levels.messages && !out.sends.is_empty() {
            choices.extend([0u8; 6]);
        }
        if levels.frames && !out.sends.is_empty() {
            choices.extend([1u8; 2]);
        }
        if levels.handshake {
            choices.push(2u8);
        }
        match choices.choose(rng) {
            Some(0) => {
                let i = rng.random_range(0..out.sends.len());
                mutate_message(&mut out.sends[i].what, dict, rng);
            }
            Some(1) => {
                let i = rng.random_range(0..out.sends.len());
                mutate_frames(&mut out.sends[i].what, rng);
            }
            Some(2) => {
                let conn = out.sends.first().map_or(0, |s| s.conn);
                out.handshake = Some(mutate_handshake(out.handshake.take(), conn, dict, rng));
            }
            _ => break,
        }
    }
    // Sometimes drop the tail: the state before the last messages is explored too.
    if out.sends.len() > 1 && rng.random_bool(0.15) {
        let keep = rng.random_range(1..out.sends.len());
        out.sends.truncate(keep);
    }
    out
}

// ---------------------------------------------------------------- messages

fn mutate_message(what: &mut What, dict: &Dictionary, rng: &mut StdRng) {
    match what {
        What::Text(s) => match serde_json::from_str::<Value>(s) {
            Ok(mut v) if rng.random_bool(0.9) => {
                *s = mutate_json(&mut v, dict, rng);
            }
            _ => {
                let mut b = s.clone().into_bytes();
                mutate_bytes(&mut b, rng);
                match String::from_utf8(b) {
                    Ok(t) => *s = t,
                    // Invalid UTF-8 in a text message can only travel as a raw frame.
                    Err(e) => {
                        *what = What::Frames {
                            frames: vec![RawFrame::new(1, true, e.into_bytes())],
                            chop: None,
                        }
                    }
                }
            }
        },
        What::Binary(b) => mutate_bytes(b, rng),
        What::Frames { frames, .. } => {
            if let Some(f) = frames.choose_mut(rng) {
                mutate_bytes(&mut f.payload, rng);
            }
        }
    }
}

/// Paths into a JSON value (a path is a list of object keys / array indexes).
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    if out.len() > 256 || prefix.len() > 32 {
        return;
    }
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                prefix.push(Seg::Key(k.clone()));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate().take(16) {
                prefix.push(Seg::Index(i));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Mutates `v` in place and returns the text to send (which may not be `v` serialised:
/// duplicate keys exist only in text).
fn mutate_json(v: &mut Value, dict: &Dictionary, rng: &mut StdRng) -> String {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = all.choose(rng).cloned().unwrap_or_default();
    let op = rng.random_range(0..12u8);
    // The parent object and key, for key-level operations.
    let parent_key = match path.last() {
        Some(Seg::Key(k)) => Some((path[..path.len() - 1].to_vec(), k.clone())),
        _ => None,
    };
    match op {
        // drop a field (or an array element)
        0 | 1 => {
            if let Some((parent, key)) = &parent_key {
                if let Some(Value::Object(m)) = at(v, parent) {
                    m.remove(key);
                }
            } else if let Some(Seg::Index(i)) = path.last() {
                if let Some(Value::Array(a)) = at(v, &path[..path.len() - 1]) {
                    a.remove(*i);
                }
            } else {
                *v = Value::Null;
            }
        }
        // null out
        2 => {
            if let Some(n) = at(v, &path) {
                *n = Value::Null;
            }
        }
        // retype
        3 | 4 => {
            if let Some(n) = at(v, &path) {
                *n = other_type(n, dict, rng);
            }
        }
        // swap an enum-like string for another seen in the traffic
        5 | 6 => {
            let strings: Vec<&Value> = {
                let mut s = Vec::new();
                collect_strings(v, &mut s);
                s
            };
            if !strings.is_empty() && !dict.strings.is_empty() {
                let pick = rng.random_range(0..strings.len());
                let repl = dict.strings.choose(rng).cloned().unwrap_or_default();
                replace_nth_string(v, pick, &repl);
            } else if let Some(n) = at(v, &path) {
                *n = other_type(n, dict, rng);
            }
        }
        // deep nesting
        7 => {
            // Mostly below serde_json's recursion limit (128), so that the result can
            // still be mutated and minimised structurally; now and then far deeper.
            let depth = *[8usize, 30, 60, 100, 120, 3000].choose(rng).unwrap_or(&30);
            if let Some(n) = at(v, &path) {
                let mut inner = n.take();
                let key = dict.keys.choose(rng).cloned().unwrap_or_else(|| "a".into());
                for _ in 0..depth {
                    inner = if rng.random_bool(0.5) {
                        Value::Array(vec![inner])
                    } else {
                        let mut m = Map::new();
                        m.insert(key.clone(), inner);
                        Value::Object(m)
                    };
                }
                *n = inner;
            }
        }
        // huge strings and numbers
        8 => {
            if let Some(n) = at(v, &path) {
                *n = huge(rng);
            }
        }
        // prototype-polluting keys
        9 => {
            let objs: Vec<Vec<Seg>> = all
                .iter()
                .filter(|p| matches!(at(&mut v.clone(), p), Some(Value::Object(_))))
                .cloned()
                .collect();
            let key = *["__proto__", "constructor", "prototype"]
                .choose(rng)
                .unwrap_or(&"__proto__");
            let val = if rng.random_bool(0.5) {
                serde_json::json!({"polluted": true})
            } else {
                Value::String("x".into())
            };
            match objs.choose(rng).and_then(|p| at(v, p)) {
                Some(Value::Object(m)) => {
                    m.insert(key.into(), val);
                }
                _ => {
                    let mut m = Map::new();
                    m.insert(key.into(), val);
                    *v = Value::Object(m);
                }
            }
        }
        // duplicate a field (text-level: JSON objects with a repeated key)
        10 => {
            if let Some((parent, key)) = parent_key {
                let dup = other_type(at(v, &path).map_or(&Value::Null, |x| &*x), dict, rng);
                return write_with_duplicate(v, &parent, &key, &dup);
            }
            if let Some(n) = at(v, &path) {
                *n = Value::Array(vec![n.clone(), n.clone()]);
            }
        }
        // the whole message replaced by another JSON type
        _ => {
            *v = match rng.random_range(0..6u8) {
                0 => Value::Null,
                1 => Value::Array(vec![]),
                2 => Value::Object(Map::new()),
                3 => Value::String("x".into()),
                4 => Value::from(0),
                _ => Value::Bool(true),
            }
        }
    }
    v.to_string()
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::String(_) => out.push(v),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

fn replace_nth_string(v: &mut Value, n: usize, with: &str) {
    fn walk(v: &mut Value, n: usize, i: &mut usize, with: &str) -> bool {
        match v {
            Value::String(s) => {
                if *i == n {
                    *s = with.to_owned();
                    return true;
                }
                *i += 1;
                false
            }
            Value::Array(a) => a.iter_mut().any(|x| walk(x, n, i, with)),
            Value::Object(m) => m.values_mut().any(|x| walk(x, n, i, with)),
            _ => false,
        }
    }
    walk(v, n, &mut 0, with);
}

/// A value of another JSON type than `v`.
fn other_type(v: &Value, dict: &Dictionary, rng: &mut StdRng) -> Value {
    loop {
        let c = match rng.random_range(0..7u8) {
            0 => Value::Null,
            1 => Value::Bool(rng.random()),
            2 => Value::from(*[0i64, -1, 1, 65536].choose(rng).unwrap_or(&0)),
            3 => Value::String(
                dict.strings
                    .choose(rng)
                    .cloned()
                    .unwrap_or_else(|| "x".into()),
            ),
            4 => Value::Array(vec![]),
            5 => Value::Object(Map::new()),
            _ => Value::String(String::new()),
        };
        if std::mem::discriminant(&c) != std::mem::discriminant(v) || rng.random_bool(0.1) {
            return c;
        }
    }
}

fn huge(rng: &mut StdRng) -> Value {
    match rng.random_range(0..6u8) {
        0 => Value::String("A".repeat(*[1024usize, 65536, 300_000].choose(rng).unwrap_or(&1024))),
        1 => Value::from(u64::MAX),
        2 => Value::from(i64::MIN),
        3 => {
            serde_json::Number::from_f64(1.7976931348623157e308).map_or(Value::Null, Value::Number)
        }
        4 => Value::from(9_007_199_254_740_993u64),
        _ => Value::String("\u{202e}\u{0}\u{ffff}é😀".repeat(64)),
    }
}

/// Serialises `v` with `key` of the object at `parent` written twice (the second time
/// with `dup`), as a parser that keeps the last (or the first) value sees it.
fn write_with_duplicate(v: &Value, parent: &[Seg], key: &str, dup: &Value) -> String {
    fn write(
        v: &Value,
        here: &mut Vec<String>,
        target: &[String],
        key: &str,
        dup: &Value,
        out: &mut String,
    ) {
        match v {
            Value::Object(m) => {
                out.push('{');
                let mut first = true;
                for (k, x) in m {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    here.push(format!("k{k}"));
                    write(x, here, target, key, dup, out);
                    here.pop();
                }
                if here.as_slice() == target {
                    if !first {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.to_owned()).to_string());
                    out.push(':');
                    out.push_str(&dup.to_string());
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    here.push(format!("i{i}"));
                    write(x, here, target, key, dup, out);
                    here.pop();
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let target: Vec<String> = parent
        .iter()
        .map(|s| match s {
            Seg::Key(k) => format!("k{k}"),
            Seg::Index(i) => format!("i{i}"),
        })
        .collect();
    let mut out = String::new();
    write(v, &mut Vec::new(), &target, key, dup, &mut out);
    out
}

/// Byte-level mutations (binary messages, non-JSON text).
pub fn mutate_bytes(b: &mut Vec<u8>, rng: &mut StdRng) {
    match rng.random_range(0..7u8) {
        0 if !b.is_empty() => {
            let i = rng.random_range(0..b.len());
            b[i] ^= 1 << rng.random_range(0..8);
        }
        1 => {
            let i = rng.random_range(0..=b.len());
            let junk: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
            b.splice(i..i, junk);
        }
        2 if !b.is_empty() => {
            let i = rng.random_range(0..b.len());
            let j = rng.random_range(i..=b.len());
            b.drain(i..j);
        }
        3 if !b.is_empty() => {
            let i = rng.random_range(0..b.len());
            let j = rng.random_range(i..=b.len().min(i + 64));
            let piece = b[i..j].to_vec();
            b.splice(j..j, piece);
        }
        4 => {
            // invalid UTF-8 sequences
            let bad: &[&[u8]] = &[&[0xff], &[0xc0, 0x80], &[0xed, 0xa0, 0x80], &[0xf4, 0x90]];
            let i = rng.random_range(0..=b.len());
            let s = bad.choose(rng).copied().unwrap_or(&[0xff]);
            b.splice(i..i, s.iter().copied());
        }
        5 => b.truncate(rng.random_range(0..=b.len())),
        _ => b.extend(std::iter::repeat_n(
            rng.random::<u8>(),
            *[100usize, 4096, 70_000].choose(rng).unwrap_or(&100),
        )),
    }
}

// ---------------------------------------------------------------- frames

fn payload_of(what: &What) -> (u8, Vec<u8>) {
    match what {
        What::Text(s) => (1, s.clone().into_bytes()),
        What::Binary(b) => (2, b.clone()),
        What::Frames { frames, .. } => (
            frames.first().map_or(1, |f| f.opcode),
            frames.iter().flat_map(|f| f.payload.clone()).collect(),
        ),
    }
}

fn mutate_frames(what: &mut What, rng: &mut StdRng) {
    let (op, payload) = payload_of(what);
    let (mut frames, mut chop) = match what {
        What::Frames { frames, chop } => (frames.clone(), *chop),
        _ => (vec![RawFrame::new(op, true, payload.clone())], None),
    };
    let i = rng.random_range(0..frames.len());
    match rng.random_range(0..12u8) {
        0 => frames[i].opcode = *[3u8, 4, 5, 6, 7, 11, 12, 15].choose(rng).unwrap_or(&3),
        1 => frames[i].rsv = rng.random_range(1..8),
        2 => frames[i].masked = false,
        3 => frames[i].fin = false,
        4 => {
            let len = frames[i].payload.len() as u64;
            frames[i].declared_len = Some(
                *[
                    len + 1,
                    len.saturating_sub(1),
                    1 << 40,
                    u64::MAX >> 1,
                    126,
                    65536,
                ]
                .choose(rng)
                .unwrap_or(&(len + 1)),
            );
        }
        5 => frames[i].long_form = true,
        // fragmentation
        6 | 7 => {
            let n = rng.random_range(2..6usize);
            let size = payload.len().div_ceil(n).max(1);
            let mut out = Vec::new();
            for (k, piece) in payload.chunks(size).enumerate() {
                let last = (k + 1) * size >= payload.len();
                out.push(RawFrame::new(
                    if k == 0 { op } else { 0 },
                    last,
                    piece.to_vec(),
                ));
            }
            if out.is_empty() {
                out.push(RawFrame::new(op, true, Vec::new()));
            }
            // a control frame (or a stray data frame) between fragments
            if out.len() > 1 && rng.random_bool(0.6) {
                let ctl = match rng.random_range(0..3u8) {
                    0 => RawFrame::new(9, true, b"interleaved".to_vec()),
                    1 => RawFrame::new(10, true, Vec::new()),
                    _ => RawFrame::new(op, true, b"x".to_vec()),
                };
                out.insert(1, ctl);
            }
            frames = out;
        }
        // control frames out of the rules
        8 => {
            let ctl = match rng.random_range(0..4u8) {
                0 => RawFrame::new(9, true, vec![b'p'; 126]),
                1 => RawFrame::new(9, false, b"frag".to_vec()),
                2 => RawFrame::new(8, true, vec![0x03]),
                _ => RawFrame::new(
                    8,
                    true,
                    [
                        &(*[999u16, 1005, 1006, 1015, 2999, 5000]
                            .choose(rng)
                            .unwrap_or(&999))
                        .to_be_bytes()[..],
                        b"\xff",
                    ]
                    .concat(),
                ),
            };
            frames.insert(rng.random_range(0..=frames.len()), ctl);
        }
        // a continuation with no message, or a new message inside an open one
        9 => frames.insert(0, RawFrame::new(0, rng.random(), b"cont".to_vec())),
        10 => chop = Some(*[1usize, 2, 3, 7].choose(rng).unwrap_or(&1)),
        _ => {
            let f = frames[i].clone();
            frames.insert(i, f);
        }
    }
    *what = What::Frames { frames, chop };
}

// ---------------------------------------------------------------- handshake

fn mutate_handshake(
    prev: Option<HandshakeMut>,
    conn: usize,
    dict: &Dictionary,
    rng: &mut StdRng,
) -> HandshakeMut {
    let mut h = prev.unwrap_or(HandshakeMut {
        conn,
        ..Default::default()
    });
    let set = |h: &mut HandshakeMut, n: &str, v: String| {
        h.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(n));
        h.headers.push((n.to_owned(), v));
    };
    match rng.random_range(0..12u8) {
        0 => {
            h.method = Some(
                (*["POST", "HEAD", "PUT", "get", "CONNECT", "OPTIONS"]
                    .choose(rng)
                    .unwrap_or(&"POST"))
                .into(),
            )
        }
        1 => set(
            &mut h,
            "Sec-WebSocket-Version",
            (*["8", "99", "", "13, 8", "-1", "13 13"]
                .choose(rng)
                .unwrap_or(&"8"))
            .into(),
        ),
        2 => set(
            &mut h,
            "Sec-WebSocket-Key",
            (*[
                "",
                "short",
                "AAAAAAAAAAAAAAAAAAAAAAAA====",
                "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==",
                "!!!!",
            ]
            .choose(rng)
            .unwrap_or(&""))
            .into(),
        ),
        3 => {
            let mut p: Vec<String> = dict.strings.iter().take(3).cloned().collect();
            p.push(
                (*["", "a,b", " ", "x".repeat(300).as_str()]
                    .choose(rng)
                    .unwrap_or(&""))
                .to_owned(),
            );
            h.protocols = Some(p);
        }
        4 => set(
            &mut h,
            "Sec-WebSocket-Extensions",
            (*[
                "permessage-deflate; client_max_window_bits=99",
                "x-unknown",
                "permessage-deflate; server_max_window_bits",
                ";;;",
            ]
            .choose(rng)
            .unwrap_or(&"x-unknown"))
            .into(),
        ),
        5 => set(
            &mut h,
            "Origin",
            (*[
                "null",
                "http://evil.example",
                "",
                "file://",
                "http://127.0.0.1:1",
            ]
            .choose(rng)
            .unwrap_or(&"null"))
            .into(),
        ),
        6 => set(
            &mut h,
            "Host",
            (*["", "evil.example", "127.0.0.1:0", "[::1", "a b"]
                .choose(rng)
                .unwrap_or(&""))
            .into(),
        ),
        7 => {
            let n = *["Upgrade", "Connection", "Sec-WebSocket-Version", "Host"]
                .choose(rng)
                .unwrap_or(&"Upgrade");
            if !h.omit.iter().any(|o| o == n) {
                h.omit.push(n.into());
            }
        }
        8 => set(
            &mut h,
            "Upgrade",
            (*["h2c", "websocket, h2c", "WebSocket2", ""]
                .choose(rng)
                .unwrap_or(&"h2c"))
            .into(),
        ),
        9 => set(
            &mut h,
            "Connection",
            (*["keep-alive", "close", "upgrade, close", ""]
                .choose(rng)
                .unwrap_or(&"close"))
            .into(),
        ),
        10 => {
            h.path = Some(
                (*[
                    "/%00",
                    "/../../etc/passwd",
                    "//",
                    "/?a=%zz",
                    "/?x=1&x=2",
                    "*",
                ]
                .choose(rng)
                .unwrap_or(&"//"))
                .into(),
            )
        }
        _ => set(
            &mut h,
            "X-Fuzz",
            "A".repeat(*[10usize, 8000, 70_000].choose(rng).unwrap_or(&10)),
        ),
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn seed_input() -> Input {
        Input {
            handshake: None,
            sends: vec![Send {
                conn: 0,
                what: What::Text(r#"{"op":"subscribe","topic":"news"}"#.into()),
            }],
        }
    }

    #[test]
    fn deterministic_from_the_seed() {
        let dict = Dictionary::default();
        let a: Vec<Input> = {
            let mut r = StdRng::seed_from_u64(7);
            (0..50)
                .map(|_| mutate(&seed_input(), Levels::default(), &dict, &mut r))
                .collect()
        };
        let mut r = StdRng::seed_from_u64(7);
        let b: Vec<Input> = (0..50)
            .map(|_| mutate(&seed_input(), Levels::default(), &dict, &mut r))
            .collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|i| *i != seed_input()));
    }

    #[test]
    fn messages_only_keeps_framing_and_handshake() {
        let mut dict = Dictionary::default();
        dict.learn(r#"{"op":"publish","topic":"t"}"#);
        let mut r = StdRng::seed_from_u64(1);
        let levels = Levels::parse("messages").unwrap();
        for _ in 0..200 {
            let m = mutate(&seed_input(), levels, &dict, &mut r);
            assert!(m.handshake.is_none());
        }
    }

    #[test]
    fn duplicate_key_is_in_the_text() {
        let v = serde_json::json!({"a": {"b": 1}});
        let s = write_with_duplicate(&v, &[Seg::Key("a".into())], "b", &Value::Null);
        assert_eq!(s, r#"{"a":{"b":1,"b":null}}"#);
    }
}
