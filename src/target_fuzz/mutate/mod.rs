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
//! Everything is drawn from one seeded RNG, so a run is reproduced by its seed. This
//! file holds the table of choices between the levels ([`mutate`]) and the dictionary
//! they draw from; each level's mutators are in a file of their own.

mod frames;
mod handshake;
mod message;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::Value;

use super::input::Input;
#[cfg(test)]
use super::input::{Send, What};
use frames::mutate_frames;
use handshake::mutate_handshake;
pub use message::mutate_bytes;
use message::mutate_message;

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
}
