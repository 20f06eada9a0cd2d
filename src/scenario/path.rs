//! A small JSON path: `a.b[0].c`, `$.updates[0].type`, `["key.with.dots"]`.
//!
//! Grammar (whitespace is not allowed):
//!
//! ```text
//! path    := "$"? segment*          (the empty path and "$" address the root)
//! segment := "."? key               (the dot may be left out only at the start)
//!          | "[" digits "]"         (array index, 0-based)
//!          | "[" quoted "]"         (object key in '...' or "...", \\ and \" escapes)
//! key     := one or more characters other than . [ ] ' " and whitespace
//! ```

use serde_json::Value;
use std::fmt;

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// Member of an object.
    Key(String),
    /// Element of an array (0-based).
    Index(usize),
}

/// A parsed JSON path; see the module docs for the syntax.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonPath {
    segments: Vec<PathSegment>,
}

/// A path string that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// The path as written.
    pub path: String,
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected there.
    pub reason: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid JSON path {:?} at offset {}: {}",
            self.path, self.offset, self.reason
        )
    }
}

impl std::error::Error for PathError {}

/// A path that does not lead to a value in a given document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathLookupError {
    /// The prefix of the path that could not be followed, e.g. `$.data[3]`.
    pub at: String,
    /// Why, e.g. `no key "data"` or `index 3 out of range (length 2)`.
    pub reason: String,
}

impl fmt::Display for PathLookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.reason)
    }
}

impl std::error::Error for PathLookupError {}

fn is_key_char(c: char) -> bool {
    !matches!(c, '.' | '[' | ']' | '\'' | '"') && !c.is_whitespace()
}

impl JsonPath {
    /// The root path (`$`).
    pub fn root() -> Self {
        JsonPath {
            segments: Vec::new(),
        }
    }

    /// Parses a path; see the module docs for the grammar.
    pub fn parse(path: &str) -> Result<Self, PathError> {
        let err = |offset: usize, reason: &str| PathError {
            path: path.to_string(),
            offset,
            reason: reason.to_string(),
        };
        let mut segments = Vec::new();
        let mut rest = path;
        let mut pos = 0;
        if let Some(r) = rest.strip_prefix('$') {
            rest = r;
            pos = 1;
        }
        let mut first = true;
        while !rest.is_empty() {
            let c = rest.chars().next().unwrap_or(' ');
            if c == '.' || (first && pos == 0 && is_key_char(c)) {
                let body = if c == '.' { &rest[1..] } else { rest };
                let skip = if c == '.' { 1 } else { 0 };
                let len = body
                    .char_indices()
                    .find(|&(_, ch)| !is_key_char(ch))
                    .map_or(body.len(), |(i, _)| i);
                if len == 0 {
                    return Err(err(pos + skip, "expected a key name after '.'"));
                }
                segments.push(PathSegment::Key(body[..len].to_string()));
                rest = &body[len..];
                pos += skip + len;
            } else if c == '[' {
                let body = &rest[1..];
                let q = body.chars().next();
                if let Some(quote @ ('"' | '\'')) = q {
                    let mut key = String::new();
                    let mut escaped = false;
                    let mut end = None;
                    for (i, ch) in body[1..].char_indices() {
                        if escaped {
                            key.push(ch);
                            escaped = false;
                        } else if ch == '\\' {
                            escaped = true;
                        } else if ch == quote {
                            end = Some(i + 1);
                            break;
                        } else {
                            key.push(ch);
                        }
                    }
                    let end = end.ok_or_else(|| err(pos + 1, "unterminated quoted key"))?;
                    let after = &body[end + 1..];
                    if !after.starts_with(']') {
                        return Err(err(pos + 2 + end, "expected ']' after quoted key"));
                    }
                    segments.push(PathSegment::Key(key));
                    pos += 1 + end + 1 + 1;
                    rest = &after[1..];
                } else {
                    let close = body.find(']').ok_or_else(|| err(pos, "unterminated '['"))?;
                    let digits = &body[..close];
                    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(err(
                            pos + 1,
                            "expected an array index (digits) or a quoted key inside [...]",
                        ));
                    }
                    let idx: usize = digits
                        .parse()
                        .map_err(|_| err(pos + 1, "array index too large"))?;
                    segments.push(PathSegment::Index(idx));
                    pos += close + 2;
                    rest = &body[close + 1..];
                }
            } else {
                return Err(err(pos, &format!("unexpected character {c:?}")));
            }
            first = false;
        }
        Ok(JsonPath { segments })
    }

    /// The segments, root first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.segments
    }

    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The value at this path, if every segment exists.
    pub fn get<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        self.lookup(doc).ok()
    }

    /// Like [`JsonPath::get`], but says which segment failed and why.
    pub fn lookup<'v>(&self, doc: &'v Value) -> Result<&'v Value, PathLookupError> {
        let mut cur = doc;
        let mut at = String::from("$");
        for seg in &self.segments {
            let next = match (seg, cur) {
                (PathSegment::Key(k), Value::Object(m)) => {
                    m.get(k).ok_or_else(|| PathLookupError {
                        at: at.clone(),
                        reason: format!("no key {k:?}"),
                    })?
                }
                (PathSegment::Index(i), Value::Array(a)) => {
                    a.get(*i).ok_or_else(|| PathLookupError {
                        at: at.clone(),
                        reason: format!("index {i} out of range (length {})", a.len()),
                    })?
                }
                (PathSegment::Key(k), other) => {
                    return Err(PathLookupError {
                        at,
                        reason: format!("cannot take key {k:?} of {}", type_name(other)),
                    })
                }
                (PathSegment::Index(i), other) => {
                    return Err(PathLookupError {
                        at,
                        reason: format!("cannot take index {i} of {}", type_name(other)),
                    })
                }
            };
            push_segment(&mut at, seg);
            cur = next;
        }
        Ok(cur)
    }
}

/// Appends one segment to a rendered path (`$.a`, `$[0]`, `$["a b"]`).
pub(crate) fn push_segment(out: &mut String, seg: &PathSegment) {
    match seg {
        PathSegment::Key(k) if !k.is_empty() && k.chars().all(is_key_char) => {
            out.push('.');
            out.push_str(k);
        }
        PathSegment::Key(k) => {
            out.push_str("[\"");
            for ch in k.chars() {
                if ch == '"' || ch == '\\' {
                    out.push('\\');
                }
                out.push(ch);
            }
            out.push_str("\"]");
        }
        PathSegment::Index(i) => {
            out.push('[');
            out.push_str(&i.to_string());
            out.push(']');
        }
    }
}

/// "an object", "a string", ... for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from("$");
        for seg in &self.segments {
            push_segment(&mut s, seg);
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(p: &str) -> Vec<PathSegment> {
        JsonPath::parse(p).unwrap().segments().to_vec()
    }

    #[test]
    fn parses_dotted_and_bracket_forms() {
        use PathSegment::*;
        assert_eq!(keys(""), vec![]);
        assert_eq!(keys("$"), vec![]);
        assert_eq!(keys("a"), vec![Key("a".into())]);
        assert_eq!(
            keys("a.b[0].c"),
            vec![Key("a".into()), Key("b".into()), Index(0), Key("c".into())]
        );
        assert_eq!(keys("$.updates[0].type"), keys("updates[0].type"));
        assert_eq!(keys(".id"), vec![Key("id".into())]);
        assert_eq!(keys("[2]"), vec![Index(2)]);
        assert_eq!(
            keys(r#"a["x.y"]['q\'s']"#),
            vec![Key("a".into()), Key("x.y".into()), Key("q's".into())]
        );
        assert_eq!(keys("data.id"), vec![Key("data".into()), Key("id".into())]);
        assert_eq!(keys("kebab-key:x"), vec![Key("kebab-key:x".into())]);
    }

    #[test]
    fn rejects_malformed_paths() {
        for (bad, why) in [
            ("a..b", "expected a key name"),
            ("a.", "expected a key name"),
            ("a[", "unterminated"),
            ("a[x]", "expected an array index"),
            ("a[-1]", "expected an array index"),
            ("a[\"x]", "unterminated quoted key"),
            ("a[\"x\"", "expected ']'"),
            ("a b", "unexpected character"),
            ("$a", "unexpected character"),
        ] {
            let e = JsonPath::parse(bad).unwrap_err();
            assert!(e.reason.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn lookup_explains_failures() {
        let doc = json!({"a": {"b": [10, {"c": "x"}]}});
        let p = JsonPath::parse("a.b[1].c").unwrap();
        assert_eq!(p.get(&doc), Some(&json!("x")));
        assert_eq!(JsonPath::root().get(&doc), Some(&doc));
        let e = JsonPath::parse("a.b[5]").unwrap().lookup(&doc).unwrap_err();
        assert_eq!(e.to_string(), "$.a.b: index 5 out of range (length 2)");
        let e = JsonPath::parse("a.zz").unwrap().lookup(&doc).unwrap_err();
        assert_eq!(e.to_string(), "$.a: no key \"zz\"");
        let e = JsonPath::parse("a.b[0].c")
            .unwrap()
            .lookup(&doc)
            .unwrap_err();
        assert_eq!(e.to_string(), "$.a.b[0]: cannot take key \"c\" of a number");
    }

    #[test]
    fn display_round_trips() {
        for p in ["$", "$.a.b[0].c", "$[\"x.y\"][3]"] {
            assert_eq!(JsonPath::parse(p).unwrap().to_string(), p);
        }
    }
}
