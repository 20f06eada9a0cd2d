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
//!
//! The JSON patterns are in `json.rs`; this file holds the message level and the errors.

mod json;

use super::vars::{substitute, substitute_json, VarError, Vars};
use regex::Regex;
use serde_json::Value;
use std::fmt;

pub(crate) use json::{compile_regex, show, truncate};
pub use json::{JsonKind, JsonPattern, WILDCARDS};

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
