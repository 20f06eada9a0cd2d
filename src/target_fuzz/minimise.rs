//! Shrinking a finding: fewer sends, fewer frames and handshake changes, smaller JSON
//! values, shorter strings, while the same oracle still fires.
//!
//! Greedy, one candidate at a time (each run may crash the server, so candidates cannot
//! be tried in parallel against one process): drop the mutated handshake, drop each
//! send, drop each handshake change, then simplify each JSON message (remove a key,
//! replace a subtree by a scalar, shorten a string, unwrap one nesting level) and each
//! frame list (remove a frame, stop chopping, halve a payload). Bounded by a number of
//! attempts and a deadline; the best input so far is kept whatever happens.

use serde_json::Value;

use super::input::{Input, What};

/// Candidates one step smaller than `input`, most promising first.
pub fn candidates(input: &Input) -> Vec<Input> {
    let mut out = Vec::new();
    if input.handshake.is_some() {
        let mut c = input.clone();
        c.handshake = None;
        out.push(c);
    }
    // Drop sends: later ones first (setup usually comes first).
    for i in (0..input.sends.len()).rev() {
        let mut c = input.clone();
        c.sends.remove(i);
        out.push(c);
    }
    if let Some(h) = &input.handshake {
        for i in 0..h.headers.len() {
            let mut c = input.clone();
            if let Some(h) = c.handshake.as_mut() {
                h.headers.remove(i);
            }
            out.push(c);
        }
        for i in 0..h.omit.len() {
            let mut c = input.clone();
            if let Some(h) = c.handshake.as_mut() {
                h.omit.remove(i);
            }
            out.push(c);
        }
        for f in 0..3 {
            let mut c = input.clone();
            if let Some(h) = c.handshake.as_mut() {
                match f {
                    0 if h.method.is_some() => h.method = None,
                    1 if h.protocols.is_some() => h.protocols = None,
                    2 if h.path.is_some() => h.path = None,
                    _ => continue,
                }
            }
            out.push(c);
        }
    }
    for (i, s) in input.sends.iter().enumerate() {
        match &s.what {
            What::Text(t) => {
                if let Ok(v) = serde_json::from_str::<Value>(t) {
                    for smaller in shrink_json(&v) {
                        let mut c = input.clone();
                        c.sends[i].what = What::Text(smaller.to_string());
                        out.push(c);
                    }
                } else if t.len() > 1 {
                    let mut c = input.clone();
                    c.sends[i].what = What::Text(cut(t, t.len() / 2));
                    out.push(c);
                }
            }
            What::Binary(b) if b.len() > 1 => {
                let mut c = input.clone();
                c.sends[i].what = What::Binary(b[..b.len() / 2].to_vec());
                out.push(c);
            }
            What::Binary(_) => {}
            What::Frames { frames, chop } => {
                if chop.is_some() {
                    let mut c = input.clone();
                    c.sends[i].what = What::Frames {
                        frames: frames.clone(),
                        chop: None,
                    };
                    out.push(c);
                }
                if frames.len() > 1 {
                    for j in 0..frames.len() {
                        let mut fs = frames.clone();
                        fs.remove(j);
                        let mut c = input.clone();
                        c.sends[i].what = What::Frames {
                            frames: fs,
                            chop: *chop,
                        };
                        out.push(c);
                    }
                }
                for j in 0..frames.len() {
                    if frames[j].payload.len() > 1 {
                        let mut fs = frames.clone();
                        let n = fs[j].payload.len() / 2;
                        fs[j].payload.truncate(n);
                        let mut c = input.clone();
                        c.sends[i].what = What::Frames {
                            frames: fs,
                            chop: *chop,
                        };
                        out.push(c);
                    }
                }
            }
        }
    }
    out
}

/// Longest prefix of `s` of at most `n` bytes on a character boundary.
fn cut(s: &str, n: usize) -> String {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// The chain of single-child containers starting at `v` (deep nesting).
fn chain(v: &Value) -> Vec<&Value> {
    let mut out = vec![v];
    let mut cur = v;
    loop {
        let next = match cur {
            Value::Array(a) if a.len() == 1 => &a[0],
            Value::Object(m) if m.len() == 1 => m.values().next().unwrap_or(cur),
            _ => break,
        };
        out.push(next);
        cur = next;
        if out.len() > 100_000 {
            break;
        }
    }
    out
}

/// JSON values one step smaller than `v`.
pub fn shrink_json(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    // Deep nesting first: halve it (a long chain shrinks in log steps, not one by one).
    let c = chain(v);
    if c.len() >= 4 {
        out.push(c[c.len() / 2].clone());
        out.push(c[c.len() / 4].clone());
    }
    match v {
        Value::Object(m) => {
            for k in m.keys() {
                let mut c = m.clone();
                c.remove(k);
                out.push(Value::Object(c));
            }
            for (k, x) in m {
                for s in shrink_json(x) {
                    let mut c = m.clone();
                    c.insert(k.clone(), s);
                    out.push(Value::Object(c));
                }
            }
        }
        Value::Array(a) => {
            // unwrap one level of nesting
            if a.len() == 1 && !a[0].is_null() {
                out.push(a[0].clone());
            }
            for i in 0..a.len().min(16) {
                let mut c = a.clone();
                c.remove(i);
                out.push(Value::Array(c));
            }
            for i in 0..a.len().min(16) {
                for s in shrink_json(&a[i]) {
                    let mut c = a.clone();
                    c[i] = s;
                    out.push(Value::Array(c));
                }
            }
        }
        Value::String(s) if s.chars().count() > 8 => {
            out.push(Value::String(s.chars().take(8).collect()));
        }
        Value::Number(n) if n.to_string().len() > 1 => out.push(Value::from(0)),
        _ => {}
    }
    // An object with one key wrapping more nesting: its single value.
    if let Value::Object(m) = v {
        if m.len() == 1 {
            if let Some(x) = m.values().next() {
                if x.is_object() || x.is_array() {
                    out.insert(0, x.clone());
                }
            }
        }
    }
    if out.len() > 200 {
        out.truncate(200);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target_fuzz::input::Send;
    use serde_json::json;

    #[test]
    fn candidates_are_smaller() {
        let i = Input {
            handshake: None,
            sends: vec![
                Send {
                    conn: 0,
                    what: What::Text(json!({"a": [1, {"b": "long string here"}]}).to_string()),
                },
                Send {
                    conn: 0,
                    what: What::Text("x".into()),
                },
            ],
        };
        let cs = candidates(&i);
        assert!(!cs.is_empty());
        for c in cs {
            assert!(c.cost() < i.cost(), "{c:?}");
        }
    }

    #[test]
    fn halves_deep_nesting() {
        let mut v = json!(1);
        for _ in 0..64 {
            v = json!([v]);
        }
        assert_eq!(chain(&shrink_json(&v)[0]).len(), 33);
    }

    #[test]
    fn unwraps_nesting() {
        let v = json!([[[1]]]);
        assert!(shrink_json(&v).contains(&json!([[1]])));
    }
}
