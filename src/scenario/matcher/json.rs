//! [`JsonPattern`]: an expected JSON value with wildcards, compiled once and matched
//! against actual values, with a [`Mismatch`] that names the path where they differ.

use regex::Regex;
use serde_json::Value;

use super::{Mismatch, PatternError};
use crate::scenario::path::{push_segment, PathSegment};

/// Longest rendering of an actual value inside a mismatch message; messages from a
/// hostile server can be huge and must not flood reports.
const SHOWN_VALUE_CHARS: usize = 120;

/// Size limit for compiled regexes (bytes of compiled program); bounds the cost of a
/// pathological pattern in a scenario file.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The JSON kinds a type wildcard can demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `"$string"`
    String,
    /// `"$number"`
    Number,
    /// `"$bool"`
    Bool,
    /// `"$null"`
    Null,
    /// `"$object"`
    Object,
    /// `"$array"`
    Array,
}

impl JsonKind {
    fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (JsonKind::String, Value::String(_))
                | (JsonKind::Number, Value::Number(_))
                | (JsonKind::Bool, Value::Bool(_))
                | (JsonKind::Null, Value::Null)
                | (JsonKind::Object, Value::Object(_))
                | (JsonKind::Array, Value::Array(_))
        )
    }

    fn describe(self) -> &'static str {
        match self {
            JsonKind::String => "a string",
            JsonKind::Number => "a number",
            JsonKind::Bool => "a boolean",
            JsonKind::Null => "null",
            JsonKind::Object => "an object",
            JsonKind::Array => "an array",
        }
    }
}

/// The wildcard names accepted in patterns, for error messages and docs.
pub const WILDCARDS: &[&str] = &[
    "$any",
    "$string",
    "$number",
    "$bool",
    "$null",
    "$object",
    "$array",
    "$absent",
    "$regex:<re>",
];

/// A compiled JSON pattern; see the module docs for the rules.
#[derive(Debug, Clone)]
pub enum JsonPattern {
    /// `"$any"`: any value.
    Any,
    /// `"$absent"`: only valid as an object member; the key must not exist.
    Absent,
    /// A type wildcard.
    Kind(JsonKind),
    /// `"$regex:<re>"`: a string containing a match.
    Regex(Regex),
    /// A scalar compared by value.
    Literal(Value),
    /// Subset match on an object's members.
    Object(Vec<(String, JsonPattern)>),
    /// Element-wise match, equal length.
    Array(Vec<JsonPattern>),
    /// `{"$contains": [..]}`: every pattern matches a distinct element.
    Contains(Vec<JsonPattern>),
}

pub(crate) fn compile_regex(re: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(re)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            // The regex crate's message is multi-line with a caret diagram; keep the
            // last line (the reason) so it fits the one-line diagnostic format.
            let msg = e.to_string();
            let reason = msg
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            format!("invalid regex {re:?}: {reason}")
        })
}

impl JsonPattern {
    /// Compiles an expected value written in a scenario (already variable-expanded).
    pub fn compile(v: &Value) -> Result<JsonPattern, PatternError> {
        let mut path = String::from("$");
        Self::compile_at(v, &mut path, false)
    }

    /// Compiles a pattern for a value that may be missing (a response header, the
    /// selected subprotocol, a close reason): `"$absent"` is allowed at the top. Use
    /// with [`JsonPattern::check_optional`].
    pub fn compile_optional(v: &Value) -> Result<JsonPattern, PatternError> {
        let mut path = String::from("$");
        Self::compile_at(v, &mut path, true)
    }

    /// Checks a value that may be missing: `None` matches only `"$absent"`.
    pub fn check_optional(&self, actual: Option<&Value>) -> Result<(), Mismatch> {
        match (self, actual) {
            (JsonPattern::Absent, None) => Ok(()),
            (pat, None) => Err(Mismatch {
                path: "$".into(),
                reason: format!("missing (expected {})", pat.describe()),
            }),
            (pat, Some(v)) => pat.check(v),
        }
    }

    fn compile_at(v: &Value, path: &mut String, member: bool) -> Result<JsonPattern, PatternError> {
        let err = |path: &str, message: String| PatternError {
            path: path.to_string(),
            message,
        };
        Ok(match v {
            Value::String(s) if s.starts_with("$$") => {
                JsonPattern::Literal(Value::String(s[1..].to_string()))
            }
            Value::String(s) if s.starts_with('$') => match s.as_str() {
                "$any" => JsonPattern::Any,
                "$string" => JsonPattern::Kind(JsonKind::String),
                "$number" => JsonPattern::Kind(JsonKind::Number),
                "$bool" => JsonPattern::Kind(JsonKind::Bool),
                "$null" => JsonPattern::Kind(JsonKind::Null),
                "$object" => JsonPattern::Kind(JsonKind::Object),
                "$array" => JsonPattern::Kind(JsonKind::Array),
                "$absent" if member => JsonPattern::Absent,
                "$absent" => {
                    return Err(err(
                        path,
                        "\"$absent\" is only allowed as the value of an object key".into(),
                    ))
                }
                _ => {
                    if let Some(re) = s.strip_prefix("$regex:") {
                        JsonPattern::Regex(compile_regex(re).map_err(|m| err(path, m))?)
                    } else {
                        return Err(err(
                            path,
                            format!(
                                "unknown wildcard {s:?}; expected one of {} (write \"${s}\" for a literal string starting with '$')",
                                WILDCARDS.join(", ")
                            ),
                        ));
                    }
                }
            },
            Value::Object(m) if m.len() == 1 && m.contains_key("$contains") => {
                let Some(Value::Array(items)) = m.get("$contains") else {
                    return Err(err(
                        path,
                        "\"$contains\" must be an array of patterns".into(),
                    ));
                };
                let base = path.len();
                let mut pats = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push_str(&format!(".$contains[{i}]"));
                    pats.push(Self::compile_at(item, path, false)?);
                    path.truncate(base);
                }
                JsonPattern::Contains(pats)
            }
            Value::Object(m) => {
                if m.contains_key("$contains") {
                    return Err(err(
                        path,
                        "\"$contains\" must be the only key of its table".into(),
                    ));
                }
                let base = path.len();
                let mut members = Vec::with_capacity(m.len());
                for (k, item) in m {
                    push_segment(path, &PathSegment::Key(k.clone()));
                    members.push((k.clone(), Self::compile_at(item, path, true)?));
                    path.truncate(base);
                }
                JsonPattern::Object(members)
            }
            Value::Array(a) => {
                let base = path.len();
                let mut items = Vec::with_capacity(a.len());
                for (i, item) in a.iter().enumerate() {
                    push_segment(path, &PathSegment::Index(i));
                    items.push(Self::compile_at(item, path, false)?);
                    path.truncate(base);
                }
                JsonPattern::Array(items)
            }
            scalar => JsonPattern::Literal(scalar.clone()),
        })
    }

    /// Checks `actual` against the pattern; the error explains the first difference.
    pub fn check(&self, actual: &Value) -> Result<(), Mismatch> {
        let mut path = String::from("$");
        self.check_at(actual, &mut path)
    }

    /// True when `actual` matches.
    pub fn matches(&self, actual: &Value) -> bool {
        self.check(actual).is_ok()
    }

    fn check_at(&self, actual: &Value, path: &mut String) -> Result<(), Mismatch> {
        let fail = |path: &str, reason: String| {
            Err(Mismatch {
                path: path.to_string(),
                reason,
            })
        };
        match self {
            JsonPattern::Any => Ok(()),
            JsonPattern::Absent => {
                fail(path, format!("expected no such key, got {}", show(actual)))
            }
            JsonPattern::Kind(k) => {
                if k.accepts(actual) {
                    Ok(())
                } else {
                    fail(
                        path,
                        format!("expected {}, got {}", k.describe(), show(actual)),
                    )
                }
            }
            JsonPattern::Regex(re) => match actual {
                Value::String(s) if re.is_match(s) => Ok(()),
                Value::String(_) => fail(
                    path,
                    format!(
                        "expected a string matching /{}/, got {}",
                        re.as_str(),
                        show(actual)
                    ),
                ),
                _ => fail(
                    path,
                    format!(
                        "expected a string matching /{}/, got {}",
                        re.as_str(),
                        show(actual)
                    ),
                ),
            },
            JsonPattern::Literal(exp) => {
                if scalar_eq(exp, actual) {
                    Ok(())
                } else {
                    fail(
                        path,
                        format!("expected {}, got {}", show(exp), show(actual)),
                    )
                }
            }
            JsonPattern::Object(members) => {
                let Value::Object(m) = actual else {
                    return fail(path, format!("expected an object, got {}", show(actual)));
                };
                let base = path.len();
                for (k, pat) in members {
                    push_segment(path, &PathSegment::Key(k.clone()));
                    match (m.get(k), pat) {
                        (None, JsonPattern::Absent) => {}
                        (None, pat) => {
                            return fail(path, format!("missing key (expected {})", pat.describe()))
                        }
                        (Some(v), pat) => pat.check_at(v, path)?,
                    }
                    path.truncate(base);
                }
                Ok(())
            }
            JsonPattern::Array(items) => {
                let Value::Array(a) = actual else {
                    return fail(path, format!("expected an array, got {}", show(actual)));
                };
                if a.len() != items.len() {
                    return fail(
                        path,
                        format!(
                            "expected an array of {} element{}, got {}: {}",
                            items.len(),
                            if items.len() == 1 { "" } else { "s" },
                            a.len(),
                            show(actual)
                        ),
                    );
                }
                let base = path.len();
                for (i, (pat, v)) in items.iter().zip(a).enumerate() {
                    push_segment(path, &PathSegment::Index(i));
                    pat.check_at(v, path)?;
                    path.truncate(base);
                }
                Ok(())
            }
            JsonPattern::Contains(pats) => {
                let Value::Array(a) = actual else {
                    return fail(path, format!("expected an array, got {}", show(actual)));
                };
                match assign_distinct(pats, a) {
                    Ok(()) => Ok(()),
                    Err(i) => fail(
                        path,
                        format!(
                            "no distinct element matches $contains[{i}] ({}); got {}",
                            pats[i].describe(),
                            show(actual)
                        ),
                    ),
                }
            }
        }
    }

    /// A short human description of what the pattern wants ("\"x\"", "a number", ...).
    pub fn describe(&self) -> String {
        match self {
            JsonPattern::Any => "any value".into(),
            JsonPattern::Absent => "no such key".into(),
            JsonPattern::Kind(k) => k.describe().into(),
            JsonPattern::Regex(re) => format!("a string matching /{}/", re.as_str()),
            JsonPattern::Literal(v) => show(v),
            JsonPattern::Object(_) => "an object".into(),
            JsonPattern::Array(a) => format!("an array of {} elements", a.len()),
            JsonPattern::Contains(_) => "an array".into(),
        }
    }
}

/// Finds a distinct element for every pattern (bipartite matching, Kuhn's algorithm),
/// so `{"$contains": ["$string", "a"]}` matches `["a", "b"]` whatever order is tried.
/// Returns the index of a pattern left without an element.
fn assign_distinct(pats: &[JsonPattern], elems: &[Value]) -> Result<(), usize> {
    let ok: Vec<Vec<bool>> = pats
        .iter()
        .map(|p| elems.iter().map(|e| p.matches(e)).collect())
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; elems.len()];
    fn augment(p: usize, ok: &[Vec<bool>], owner: &mut [Option<usize>], seen: &mut [bool]) -> bool {
        for e in 0..owner.len() {
            if ok[p][e] && !seen[e] {
                seen[e] = true;
                let current = owner[e];
                if current.is_none_or(|q| augment(q, ok, owner, seen)) {
                    owner[e] = Some(p);
                    return true;
                }
            }
        }
        false
    }
    for p in 0..pats.len() {
        let mut seen = vec![false; elems.len()];
        if !augment(p, &ok, &mut owner, &mut seen) {
            return Err(p);
        }
    }
    Ok(())
}

fn scalar_eq(exp: &Value, actual: &Value) -> bool {
    match (exp, actual) {
        (Value::Number(a), Value::Number(b)) => {
            if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
                x == y
            } else {
                a.as_f64() == b.as_f64()
            }
        }
        (a, b) => a == b,
    }
}

/// Compact JSON, shortened for messages.
pub(crate) fn show(v: &Value) -> String {
    truncate(&v.to_string())
}

pub(crate) fn truncate(s: &str) -> String {
    if s.chars().count() <= SHOWN_VALUE_CHARS {
        s.to_string()
    } else {
        let head: String = s.chars().take(SHOWN_VALUE_CHARS).collect();
        format!("{head}… ({} bytes)", s.len())
    }
}
