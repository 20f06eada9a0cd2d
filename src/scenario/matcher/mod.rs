//! Matchers: does a received message look like what the scenario expects?
//!
//! Two levels:
//!
//! * [`JsonPattern`]: an expected JSON value with wildcards, matched against an actual
//!   one. Objects match key-wise as a *subset* (extra actual keys are fine), arrays
//!   element-wise with equal length, `{"$contains": [..]}` matches an array holding a
//!   distinct element for every listed pattern (any order, extra elements fine),
//!   scalars by equality (numbers by numeric value: `1` equals `1.0`). Special strings:
//!   `"$any"` (any value, the key must exist), `"$string"`, `"$number"`, `"$bool"`,
//!   `"$null"`, `"$object"`, `"$array"`, `"$regex:<re>"` (a string the regex finds a
//!   match in; anchor with `^...$`), `"$absent"` (as an object member: the key must
//!   not exist). `"$$..."` is the literal string `"$..."`.
//! * [`MessageMatcher`]: a whole WebSocket message: frame type, exact text, regex,
//!   bytes, JSON pattern; all given conditions must hold.
//!
//! A failed match is a [`Mismatch`] that names the JSON path and the reason, e.g.
//! `$.updates[0].type: expected "js-update", got "css-update"`.

use super::path::{push_segment, PathSegment};
use super::vars::{substitute, substitute_json, VarError, Vars};
use regex::Regex;
use serde_json::Value;
use std::fmt;

/// Longest rendering of an actual value inside a mismatch message; messages from a
/// hostile server can be huge and must not flood reports.
const SHOWN_VALUE_CHARS: usize = 120;

/// Size limit for compiled regexes (bytes of compiled program); bounds the cost of a
/// pathological pattern in a scenario file.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a value did not match: where (`$.a.b[0]`, or `message`) and what differed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// JSON path of the first difference (`$` for the root), or `message` for
    /// frame-level conditions.
    pub path: String,
    /// What was expected and what was found.
    pub reason: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for Mismatch {}

/// A pattern that cannot be compiled (bad regex, unknown wildcard, misplaced `$absent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Path inside the pattern (`$.payload.name`).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path == "$" {
            write!(f, "{}", self.message)
        } else {
            write!(f, "at {}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for PatternError {}

/// Why a matcher could not be prepared at execution time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatcherError {
    /// A `${...}` reference could not be expanded.
    Var(VarError),
    /// After substitution the pattern is invalid.
    Pattern(PatternError),
}

impl fmt::Display for MatcherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatcherError::Var(e) => e.fmt(f),
            MatcherError::Pattern(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for MatcherError {}

impl From<VarError> for MatcherError {
    fn from(e: VarError) -> Self {
        MatcherError::Var(e)
    }
}

impl From<PatternError> for MatcherError {
    fn from(e: PatternError) -> Self {
        MatcherError::Pattern(e)
    }
}

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

/// Frame type condition of a [`MessageMatcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A text message.
    Text,
    /// A binary message.
    Binary,
    /// A text message whose payload parses as JSON.
    Json,
}

impl MessageType {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Text => "text",
            MessageType::Binary => "binary",
            MessageType::Json => "json",
        }
    }
}

/// A received WebSocket data message, as the engine hands it to a matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRef<'a> {
    /// A complete text message.
    Text(&'a str),
    /// A complete binary message.
    Binary(&'a [u8]),
}

impl MessageRef<'_> {
    /// The payload as UTF-8 text, if it is valid UTF-8 (always for text messages).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            MessageRef::Text(s) => Some(s),
            MessageRef::Binary(b) => std::str::from_utf8(b).ok(),
        }
    }

    /// The payload bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            MessageRef::Text(s) => s.as_bytes(),
            MessageRef::Binary(b) => b,
        }
    }

    fn describe(&self) -> String {
        match self {
            MessageRef::Text(s) => format!("text {}", truncate(&format!("{s:?}"))),
            MessageRef::Binary(b) => format!("binary ({} bytes)", b.len()),
        }
    }
}

/// A message-level matcher as written in the scenario (strings may still contain
/// `${...}`). All given conditions must hold; an empty matcher matches any message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageMatcher {
    /// `type`: frame type condition.
    pub kind: Option<MessageType>,
    /// `text`: the payload must equal this text exactly.
    pub text: Option<String>,
    /// `regex`: the payload (as UTF-8) must contain a match.
    pub regex: Option<String>,
    /// `binary_hex`: the payload bytes must equal these.
    pub bytes: Option<Vec<u8>>,
    /// `json`: the payload must parse as JSON and match this pattern.
    pub json: Option<Value>,
    /// `double_encoded`: the payload is a JSON string whose content is itself JSON
    /// (the broker's exit log); `json` is matched against the inner document.
    pub double_encoded: bool,
}

impl MessageMatcher {
    /// A matcher with only a JSON pattern.
    pub fn json(pattern: Value) -> Self {
        MessageMatcher {
            json: Some(pattern),
            ..Default::default()
        }
    }

    /// Compiles the matcher as written (no substitution).
    pub fn compile(&self) -> Result<CompiledMatcher, PatternError> {
        let regex = match &self.regex {
            Some(r) => Some(compile_regex(r).map_err(|message| PatternError {
                path: "regex".into(),
                message,
            })?),
            None => None,
        };
        let json = match &self.json {
            Some(v) => Some(JsonPattern::compile(v)?),
            None => None,
        };
        Ok(CompiledMatcher {
            kind: self.kind,
            text: self.text.clone(),
            regex,
            bytes: self.bytes.clone(),
            json,
            double_encoded: self.double_encoded,
        })
    }

    /// Expands `${...}` references, then compiles.
    pub fn resolve(&self, vars: &Vars) -> Result<CompiledMatcher, MatcherError> {
        Ok(self.substituted(vars)?.compile()?)
    }

    /// A copy with every string expanded (typed expansion inside `json`).
    pub fn substituted(&self, vars: &Vars) -> Result<MessageMatcher, VarError> {
        Ok(MessageMatcher {
            kind: self.kind,
            text: self
                .text
                .as_deref()
                .map(|t| substitute(t, vars))
                .transpose()?,
            regex: self
                .regex
                .as_deref()
                .map(|t| substitute(t, vars))
                .transpose()?,
            bytes: self.bytes.clone(),
            json: self
                .json
                .as_ref()
                .map(|j| substitute_json(j, vars))
                .transpose()?,
            double_encoded: self.double_encoded,
        })
    }
}

/// A ready-to-use [`MessageMatcher`].
#[derive(Debug, Clone)]
pub struct CompiledMatcher {
    kind: Option<MessageType>,
    text: Option<String>,
    regex: Option<Regex>,
    bytes: Option<Vec<u8>>,
    json: Option<JsonPattern>,
    double_encoded: bool,
}

impl CompiledMatcher {
    /// Checks one message; the error explains the first failed condition.
    pub fn check(&self, msg: MessageRef<'_>) -> Result<(), Mismatch> {
        let fail = |reason: String| {
            Err(Mismatch {
                path: "message".into(),
                reason,
            })
        };
        match (self.kind, msg) {
            (Some(MessageType::Binary), MessageRef::Text(_)) => {
                return fail(format!("expected a binary message, got {}", msg.describe()))
            }
            (Some(MessageType::Text | MessageType::Json), MessageRef::Binary(_)) => {
                return fail(format!(
                    "expected a {} message, got {}",
                    if self.kind == Some(MessageType::Json) {
                        "JSON text"
                    } else {
                        "text"
                    },
                    msg.describe()
                ))
            }
            _ => {}
        }
        if let Some(b) = &self.bytes {
            if msg.bytes() != b.as_slice() {
                return fail(format!(
                    "expected bytes {}, got {}",
                    hex(b),
                    truncate(&hex(msg.bytes()))
                ));
            }
        }
        let needs_text = self.text.is_some()
            || self.regex.is_some()
            || self.json.is_some()
            || self.kind == Some(MessageType::Json);
        if !needs_text {
            return Ok(());
        }
        let Some(text) = msg.as_text() else {
            return fail(format!("expected UTF-8 text, got {}", msg.describe()));
        };
        if let Some(t) = &self.text {
            if text != t {
                return fail(format!(
                    "expected text {}, got {}",
                    truncate(&format!("{t:?}")),
                    truncate(&format!("{text:?}"))
                ));
            }
        }
        if let Some(re) = &self.regex {
            if !re.is_match(text) {
                return fail(format!(
                    "expected a payload matching /{}/, got {}",
                    re.as_str(),
                    truncate(&format!("{text:?}"))
                ));
            }
        }
        if self.json.is_some() || self.kind == Some(MessageType::Json) || self.double_encoded {
            let mut doc: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => {
                    return fail(format!(
                        "expected JSON, got {} ({e})",
                        truncate(&format!("{text:?}"))
                    ))
                }
            };
            if self.double_encoded {
                let Value::String(inner) = &doc else {
                    return fail(format!(
                        "expected a JSON string holding JSON (double-encoded), got {}",
                        show(&doc)
                    ));
                };
                doc = match serde_json::from_str(inner) {
                    Ok(v) => v,
                    Err(e) => {
                        return fail(format!(
                            "expected the JSON string to hold JSON, got {} ({e})",
                            truncate(&format!("{inner:?}"))
                        ))
                    }
                };
            }
            if let Some(p) = &self.json {
                p.check(&doc)?;
            }
        }
        Ok(())
    }

    /// True when the message matches.
    pub fn matches(&self, msg: MessageRef<'_>) -> bool {
        self.check(msg).is_ok()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(p: Value, a: Value) -> Result<(), String> {
        JsonPattern::compile(&p)
            .unwrap()
            .check(&a)
            .map_err(|m| m.to_string())
    }

    #[test]
    fn subset_and_explanation() {
        assert!(check(
            json!({"type": "connected"}),
            json!({"type": "connected", "x": 1})
        )
        .is_ok());
        assert_eq!(
            check(
                json!({"updates": [{"type": "js-update"}]}),
                json!({"updates": [{"type": "css-update", "path": "/a"}]})
            )
            .unwrap_err(),
            "$.updates[0].type: expected \"js-update\", got \"css-update\""
        );
    }

    #[test]
    fn contains_uses_distinct_elements_in_any_order() {
        let p = json!({"$contains": ["$string", "a"]});
        assert!(check(p.clone(), json!(["a", "b"])).is_ok());
        assert!(check(p.clone(), json!([1, "b", "a"])).is_ok());
        // Only one string: both patterns would need the same element.
        let e = check(p, json!(["a", 1])).unwrap_err();
        assert!(e.contains("no distinct element matches $contains["), "{e}");
    }
}
