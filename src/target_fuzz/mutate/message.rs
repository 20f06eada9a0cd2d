//! The message level: structure-aware mutations of JSON text (drop, duplicate, retype and
//! null out fields; enum-like strings swapped for others seen in the traffic; deep
//! nesting; huge strings and numbers; prototype-polluting keys; the whole message
//! replaced by another JSON type), byte-level ones for binary and non-JSON text.

use rand::rngs::StdRng;
use rand::seq::{IndexedMutRandom, IndexedRandom};
use rand::Rng;
use serde_json::{Map, Value};

use super::Dictionary;
use crate::target_fuzz::input::{FuzzFrame, What};

pub(super) fn mutate_message(what: &mut What, dict: &Dictionary, rng: &mut StdRng) {
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
                            frames: vec![FuzzFrame::new(1, true, e.into_bytes())],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_key_is_in_the_text() {
        let v = serde_json::json!({"a": {"b": 1}});
        let s = write_with_duplicate(&v, &[Seg::Key("a".into())], "b", &Value::Null);
        assert_eq!(s, r#"{"a":{"b":1,"b":null}}"#);
    }
}
