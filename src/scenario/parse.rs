//! The scenario loader: walks the spanned TOML tree (`toml::de::DeTable`) so that every
//! diagnostic can point at the exact key or value, checks the schema (fields, types)
//! and the semantic rules (durations, regexes, hex, paths, connections, server state,
//! variables), and builds the [`Scenario`] model.

use super::duration::{format_duration, parse_duration};
use super::error::{
    Diagnostic, DiagnosticKind, LineIndex, Location, ScenarioError, MAX_DIAGNOSTICS,
};
use super::matcher::{compile_regex, JsonPattern, MessageMatcher, MessageType};
use super::model::*;
use super::path::JsonPath;
use super::vars::{is_var_name, var_refs, VarName};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

type Span = Range<usize>;
type V<'i> = Spanned<DeValue<'i>>;

use DiagnosticKind::{Schema, Semantic};

/// Parses and validates a scenario held in memory.
pub(crate) fn parse_scenario(src: &str, file: Arc<str>) -> Result<Scenario, ScenarioError> {
    let lines = LineIndex::new(src);
    let root = match DeTable::parse(src) {
        Ok(t) => t,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            return Err(ScenarioError::single(Diagnostic {
                kind: DiagnosticKind::Syntax,
                location: lines.location(src, &file, &span),
                context: String::new(),
                message: format!("TOML syntax error: {}", e.message().trim()),
            }));
        }
    };
    let mut p = Parser {
        src,
        file,
        lines,
        diags: Vec::new(),
        ctx: String::new(),
        scope: Scope::Vars(0),
        uses: Vec::new(),
        deadline: DEFAULT_DEADLINE,
        fixed_wait: Duration::ZERO,
        conns: HashMap::new(),
        ids: HashMap::new(),
        sent_on: HashSet::new(),
        server: ServerTrack::None,
    };
    let scenario = p.document(root.get_ref());
    match scenario {
        Some(s) if p.diags.is_empty() => Ok(s),
        _ => {
            if p.diags.is_empty() {
                // A construct was rejected without a diagnostic: a bug, but never an
                // "OK" for a file we could not read.
                p.diags.push(Diagnostic {
                    kind: Schema,
                    location: Location::file_only(p.file.clone()),
                    context: String::new(),
                    message: "could not build the scenario".into(),
                });
            }
            Err(ScenarioError::new(p.diags))
        }
    }
}

/// Which variables a `${...}` use may see.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// `[vars]` entry number n in file order: built-ins and entries before it.
    Vars(usize),
    /// `[server]`: built-ins and all `[vars]`.
    Server,
    /// Step n (0-based): also everything earlier steps define.
    Step(usize),
}

struct VarUse {
    name: String,
    span: Span,
    ctx: String,
    scope: Scope,
}

#[derive(Debug, Clone)]
struct ConnInfo {
    /// Why the connection is unusable, if it is.
    not_open: Option<String>,
}

#[derive(Debug, Clone)]
struct IdInfo {
    step: usize,
    line: u32,
    /// Connection of a `send`/`rpc` step.
    send_conn: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ServerTrack {
    None,
    Running,
    /// Stopped by step n (0 = never started).
    Stopped(usize),
}

struct Parser<'s> {
    src: &'s str,
    file: Arc<str>,
    lines: LineIndex,
    diags: Vec<Diagnostic>,
    ctx: String,
    scope: Scope,
    uses: Vec<VarUse>,
    deadline: Duration,
    fixed_wait: Duration,
    conns: HashMap<String, ConnInfo>,
    ids: HashMap<String, IdInfo>,
    sent_on: HashSet<String>,
    server: ServerTrack,
}

/// Reads the fields of one TOML table and remembers which were present.
struct Fields<'a, 'i> {
    table: &'a DeTable<'i>,
    span: Span,
}

impl<'a, 'i> Fields<'a, 'i> {
    fn new(table: &'a DeTable<'i>, span: Span) -> Self {
        Fields { table, span }
    }

    fn get(&self, key: &str) -> Option<&'a V<'i>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn key_span(&self, key: &str) -> Span {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map_or(self.span.clone(), |(k, _)| k.span())
    }
}

fn kind_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Largest message a `send` with `repeat` may build.
const MAX_REPEAT_BYTES: i128 = 64 << 20;

fn int_value(v: &DeValue<'_>) -> Option<i128> {
    match v {
        DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

/// Edit distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest<'a>(word: &str, options: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    options
        .into_iter()
        .map(|o| (distance(word, o), o))
        .filter(|(d, o)| *d <= 2.max(o.len() / 4) && *d < o.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

fn did_you_mean<'a>(word: &str, options: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(word, options) {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    }
}

/// Parses hex bytes; ASCII whitespace between digits is ignored.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if c.is_ascii_whitespace() {
            continue;
        }
        match c.to_digit(16) {
            Some(d) => digits.push(d as u8),
            None => {
                return Err(format!(
                    "invalid hex digit {c:?} at offset {i}; expected 0-9, a-f"
                ))
            }
        }
    }
    if digits.len() % 2 == 1 {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    Ok(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// Checks a project-relative path: not empty, not absolute, no `..` component, no NUL.
/// The engine calls it again after substitution.
pub fn check_project_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path; expected a path relative to the project directory".into());
    }
    if path.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    let b = path.as_bytes();
    let drive = b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic();
    if path.starts_with('/') || path.starts_with('\\') || drive || path.starts_with('~') {
        return Err(format!(
            "{path:?} is absolute; expected a path relative to the project directory"
        ));
    }
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Err(format!(
            "{path:?} contains \"..\"; file actions may not leave the project directory"
        ));
    }
    Ok(())
}

fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_conn_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
}

fn is_step_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// Replaces strings that contain `${...}` by `"$any"` so a pattern can be compiled for
/// validation before the values are known.
fn placeholder_json(v: &Value) -> Value {
    match v {
        Value::String(s) if super::vars::has_refs(s) => Value::String("$any".into()),
        Value::Array(a) => Value::Array(a.iter().map(placeholder_json).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), placeholder_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

const COMMON_STEP_KEYS: &[&str] = &["action", "id", "title", "timeout"];

fn action_keys(action: &str) -> &'static [&'static str] {
    match action {
        "connect" => &[
            "conn",
            "url",
            "path",
            "method",
            "protocols",
            "headers",
            "omit_headers",
            "origin",
            "query",
            "answer_pings",
            "within",
            "expect",
        ],
        "send" => &[
            "conn",
            "text",
            "json",
            "binary_hex",
            "raw",
            "fragment_size",
            "repeat",
        ],
        "expect" => &[
            "conn",
            "within",
            "match",
            "messages",
            "ordered",
            "capture",
            "ignore",
            "skip_unmatched",
        ],
        "expect_silence" => &["conn", "for", "ignore"],
        "expect_close" => &["conn", "within", "codes", "reason", "allow_messages"],
        "expect_ack" => &["conn", "after", "match", "within", "capture"],
        "rpc" => &[
            "conn",
            "request",
            "id_path",
            "response_id_path",
            "response_id",
            "expect",
            "within",
            "capture",
        ],
        "capture" => &[
            "from", "conn", "json", "regex", "group", "header", "whole", "into",
        ],
        "http" => &[
            "method",
            "url",
            "path",
            "headers",
            "body",
            "within",
            "expect_status",
            "expect_headers",
            "expect_body",
            "capture",
        ],
        "write_file" | "append_file" => &["path", "content"],
        "delete_file" => &["path"],
        "stop_server" | "restart_server" => &["signal"],
        "assert_server" => &["state", "exit_code", "within"],
        "pause_reading" | "resume_reading" | "drop_tcp" => &["conn"],
        "set_ping_policy" => &["conn", "answer"],
        "ping" => &[
            "conn",
            "payload",
            "payload_hex",
            "expect_pong_within",
            "record_latency_as",
        ],
        "sleep" => &["for"],
        "close" => &["conn", "code", "reason"],
        _ => &[],
    }
}

const MATCHER_KEYS: &[&str] = &[
    "type",
    "text",
    "regex",
    "binary_hex",
    "json",
    "double_encoded",
];

impl<'s> Parser<'s> {
    // ----- diagnostics -------------------------------------------------------------

    fn loc(&self, span: &Span) -> Location {
        self.lines.location(self.src, &self.file, span)
    }

    fn err(&mut self, kind: DiagnosticKind, span: &Span, message: impl Into<String>) {
        if self.diags.len() >= MAX_DIAGNOSTICS {
            return;
        }
        self.diags.push(Diagnostic {
            kind,
            location: self.loc(span),
            context: self.ctx.clone(),
            message: message.into(),
        });
    }

    fn type_err(&mut self, key: &str, v: &V<'_>, expected: &str) {
        let got = kind_name(v.get_ref());
        self.err(
            Schema,
            &v.span(),
            format!("field {key:?}: expected {expected}, got {got}"),
        );
    }

    fn missing(&mut self, f: &Fields<'_, '_>, key: &str, what: &str) {
        self.err(Schema, &f.span, format!("missing field {key:?} ({what})"));
    }

    /// Reports keys that are not in `known`.
    fn finish(&mut self, f: &Fields<'_, '_>, known: &[&str]) {
        for (k, _) in f.table.iter() {
            let name = k.get_ref().as_ref();
            if !known.contains(&name) {
                let hint = did_you_mean(name, known.iter().copied());
                self.err(
                    Schema,
                    &k.span(),
                    format!(
                        "unknown field {name:?}{hint}; expected one of: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }

    // ----- typed field readers ----------------------------------------------------

    fn string(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<(String, Span)> {
        let v = f.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            _ => {
                self.type_err(key, v, "a string");
                None
            }
        }
    }

    fn req_string(&mut self, f: &Fields<'_, '_>, key: &str, what: &str) -> Option<(String, Span)> {
        if !f.has(key) {
            self.missing(f, key, what);
            return None;
        }
        self.string(f, key)
    }

    /// A string that may contain `${...}`: references are recorded for the variable
    /// check.
    fn template(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<(String, Span)> {
        let (s, span) = self.string(f, key)?;
        self.note_template(&s, &span);
        Some((s, span))
    }

    fn note_template(&mut self, s: &str, span: &Span) {
        match var_refs(s) {
            Ok(refs) => {
                for r in refs {
                    if let VarName::Var(name) = r.name {
                        self.uses.push(VarUse {
                            name,
                            span: span.clone(),
                            ctx: self.ctx.clone(),
                            scope: self.scope,
                        });
                    }
                }
            }
            Err(e) => self.err(Semantic, span, e.to_string()),
        }
    }

    fn boolean(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<bool> {
        let v = f.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.type_err(key, v, "true or false");
                None
            }
        }
    }

    fn int(&mut self, f: &Fields<'_, '_>, key: &str, min: i128, max: i128) -> Option<i128> {
        let v = f.get(key)?;
        match int_value(v.get_ref()) {
            Some(i) if (min..=max).contains(&i) => Some(i),
            Some(i) => {
                self.err(
                    Semantic,
                    &v.span(),
                    format!("field {key:?}: {i} is out of range; expected an integer from {min} to {max}"),
                );
                None
            }
            None => {
                self.type_err(key, v, &format!("an integer from {min} to {max}"));
                None
            }
        }
    }

    fn duration(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<Duration> {
        let v = f.get(key)?;
        let DeValue::String(s) = v.get_ref() else {
            let got = kind_name(v.get_ref());
            self.err(
                Schema,
                &v.span(),
                format!("field {key:?}: expected a duration string like \"250ms\", \"2s\" or \"1.5s\", got {got}"),
            );
            return None;
        };
        match parse_duration(s) {
            Ok(d) => {
                if d > self.deadline {
                    self.err(
                        Semantic,
                        &v.span(),
                        format!(
                            "field {key:?}: {} is longer than the scenario deadline {}; expected at most the deadline",
                            format_duration(d),
                            format_duration(self.deadline)
                        ),
                    );
                }
                Some(d)
            }
            Err(e) => {
                self.err(Semantic, &v.span(), format!("field {key:?}: {e}"));
                None
            }
        }
    }

    fn table<'a, 'i>(&mut self, f: &Fields<'a, 'i>, key: &str) -> Option<Fields<'a, 'i>> {
        let v = f.get(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Fields::new(t, v.span())),
            _ => {
                self.type_err(key, v, "a table");
                None
            }
        }
    }

    fn array<'a, 'i>(&mut self, f: &Fields<'a, 'i>, key: &str) -> Option<&'a [V<'i>]> {
        let v = f.get(key)?;
        match v.get_ref() {
            DeValue::Array(a) => Some(a),
            _ => {
                self.type_err(key, v, "an array");
                None
            }
        }
    }

    fn string_list(
        &mut self,
        f: &Fields<'_, '_>,
        key: &str,
        templates: bool,
    ) -> Vec<(String, Span)> {
        let Some(items) = self.array(f, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) => {
                    if templates {
                        self.note_template(s, &item.span());
                    }
                    out.push((s.to_string(), item.span()));
                }
                other => {
                    let got = kind_name(other);
                    self.err(
                        Schema,
                        &item.span(),
                        format!("field {key:?}[{i}]: expected a string, got {got}"),
                    );
                }
            }
        }
        out
    }

    /// A table of string values (templates), in file order.
    fn string_map(
        &mut self,
        f: &Fields<'_, '_>,
        key: &str,
        templates: bool,
    ) -> Vec<(String, String, Span)> {
        let Some(t) = self.table(f, key) else {
            return Vec::new();
        };
        let mut entries: Vec<_> = t.table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut out = Vec::new();
        for (k, v) in entries {
            let name = k.get_ref().to_string();
            match v.get_ref() {
                DeValue::String(s) => {
                    if templates {
                        self.note_template(s, &v.span());
                    }
                    out.push((name, s.to_string(), k.span()));
                }
                other => {
                    let got = kind_name(other);
                    self.err(
                        Schema,
                        &v.span(),
                        format!(
                            "field {key:?}.{name}: expected a string (quote numbers), got {got}"
                        ),
                    );
                }
            }
        }
        out
    }

    /// HTTP headers: valid names, no CR/LF in values.
    fn headers(&mut self, f: &Fields<'_, '_>, key: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, value, span) in self.string_map(f, key, true) {
            if !is_header_name(&name) {
                self.err(
                    Semantic,
                    &span,
                    format!("field {key:?}: {name:?} is not a valid HTTP header name"),
                );
            } else if value.contains(['\r', '\n']) {
                self.err(
                    Semantic,
                    &span,
                    format!("field {key:?}.{name}: header values may not contain CR or LF"),
                );
            } else {
                out.push((name, value));
            }
        }
        out
    }

    /// TOML value to JSON; strings inside are templates.
    fn json(&mut self, key: &str, v: &V<'_>) -> Option<Value> {
        Some(match v.get_ref() {
            DeValue::String(s) => {
                self.note_template(s, &v.span());
                Value::String(s.to_string())
            }
            DeValue::Integer(_) => match int_value(v.get_ref()) {
                Some(i) if i >= i64::MIN as i128 && i <= i64::MAX as i128 => Value::from(i as i64),
                Some(i) if i >= 0 && i <= u64::MAX as i128 => Value::from(i as u64),
                _ => {
                    self.err(
                        Semantic,
                        &v.span(),
                        format!("field {key:?}: integer out of the JSON range"),
                    );
                    return None;
                }
            },
            DeValue::Float(fl) => {
                let x: f64 = fl.as_str().parse().unwrap_or(f64::NAN);
                match serde_json::Number::from_f64(x) {
                    Some(n) => Value::Number(n),
                    None => {
                        self.err(
                            Semantic,
                            &v.span(),
                            format!("field {key:?}: {} has no JSON form", fl.as_str()),
                        );
                        return None;
                    }
                }
            }
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(_) => {
                self.err(
                    Schema,
                    &v.span(),
                    format!(
                        "field {key:?}: TOML datetimes have no JSON form; quote it as a string"
                    ),
                );
                return None;
            }
            DeValue::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                let mut ok = true;
                for item in a.iter() {
                    match self.json(key, item) {
                        Some(j) => out.push(j),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Value::Array(out)
            }
            DeValue::Table(t) => {
                let mut out = serde_json::Map::new();
                let mut ok = true;
                for (k, item) in t.iter() {
                    self.note_template(k.get_ref(), &k.span());
                    match self.json(key, item) {
                        Some(j) => {
                            out.insert(k.get_ref().to_string(), j);
                        }
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Value::Object(out)
            }
        })
    }

    /// A JSON pattern: converted, then compiled (with placeholders for `${...}`) so
    /// bad wildcards and regexes are reported at load time.
    fn pattern(&mut self, key: &str, v: &V<'_>) -> Option<Value> {
        self.pattern_with(key, v, false)
    }

    /// `optional`: the pattern is for a value that may be missing, so a top-level
    /// `"$absent"` is allowed.
    fn pattern_with(&mut self, key: &str, v: &V<'_>, optional: bool) -> Option<Value> {
        let j = self.json(key, v)?;
        let p = placeholder_json(&j);
        let compiled = if optional {
            JsonPattern::compile_optional(&p)
        } else {
            JsonPattern::compile(&p)
        };
        if let Err(e) = compiled {
            self.err(Semantic, &v.span(), format!("field {key:?}: {e}"));
            return None;
        }
        Some(j)
    }

    /// A table of header-name → string pattern; names lower-cased.
    fn header_patterns(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<Value> {
        let t = self.table(f, key)?;
        let mut out = serde_json::Map::new();
        for (k, v) in t.table.iter() {
            let name = k.get_ref().to_ascii_lowercase();
            if !is_header_name(&name) {
                self.err(
                    Semantic,
                    &k.span(),
                    format!("field {key:?}: {name:?} is not a valid HTTP header name"),
                );
                continue;
            }
            if !matches!(v.get_ref(), DeValue::String(_)) {
                self.type_err(
                    &format!("{key}.{name}"),
                    v,
                    "a string pattern (\"text\", \"$absent\", \"$regex:...\")",
                );
                continue;
            }
            if let Some(p) = self.pattern_with(&format!("{key}.{name}"), v, true) {
                out.insert(name, p);
            }
        }
        Some(Value::Object(out))
    }

    /// A string pattern field (`body`, `reason`, `protocol`): `"text"`, `"$regex:..."`,
    /// `"$absent"`, ...
    fn string_pattern(
        &mut self,
        f: &Fields<'_, '_>,
        key: &str,
        allow_absent: bool,
    ) -> Option<Value> {
        let v = f.get(key)?;
        let DeValue::String(s) = v.get_ref() else {
            self.type_err(key, v, "a string pattern");
            return None;
        };
        if s.as_ref() == "$absent" && !allow_absent {
            self.err(
                Semantic,
                &v.span(),
                format!("field {key:?}: \"$absent\" is not meaningful here"),
            );
            return None;
        }
        self.pattern_with(key, v, allow_absent)
    }

    fn regex_field(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<(String, Span)> {
        let (s, span) = self.template(f, key)?;
        if !super::vars::has_refs(&s) {
            if let Err(e) = compile_regex(&s) {
                self.err(Semantic, &span, format!("field {key:?}: {e}"));
                return None;
            }
        }
        Some((s, span))
    }

    fn hex_field(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<Vec<u8>> {
        let (s, span) = self.string(f, key)?;
        match parse_hex(&s) {
            Ok(b) => Some(b),
            Err(e) => {
                self.err(Semantic, &span, format!("field {key:?}: {e}"));
                None
            }
        }
    }

    fn var_name_field(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<String> {
        let (s, span) = self.string(f, key)?;
        self.check_var_target(&s, &span).then_some(s)
    }

    fn check_var_target(&mut self, name: &str, span: &Span) -> bool {
        if !is_var_name(name) {
            self.err(
                Semantic,
                span,
                format!("{name:?} is not a valid variable name; expected letters, digits and '_', not starting with a digit"),
            );
            false
        } else if RESERVED_VARS.contains(&name) {
            self.err(
                Semantic,
                span,
                format!("variable {name:?} is reserved (a built-in) and cannot be set"),
            );
            false
        } else {
            true
        }
    }

    fn status(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<u16> {
        self.int(f, key, 100, 599).map(|i| i as u16)
    }

    /// Which one of `keys` is present. Reports a missing choice (when `required`) and
    /// combinations; returns `None` in both cases.
    fn exactly_one(
        &mut self,
        f: &Fields<'_, '_>,
        keys: &[&'static str],
        required: bool,
    ) -> Option<&'static str> {
        let present: Vec<&'static str> = keys.iter().copied().filter(|k| f.has(k)).collect();
        match present.len() {
            0 if required => {
                let list = keys
                    .iter()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                self.err(
                    Schema,
                    &f.span,
                    format!("missing field: expected one of {list}"),
                );
                None
            }
            0 => None,
            1 => Some(present[0]),
            _ => {
                let span = f.key_span(present[1]);
                self.err(
                    Schema,
                    &span,
                    format!(
                        "fields {} cannot be combined; give exactly one",
                        present
                            .iter()
                            .map(|k| format!("{k:?}"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                );
                None
            }
        }
    }

    // ----- document ---------------------------------------------------------------

    fn document(&mut self, root: &DeTable<'_>) -> Option<Scenario> {
        let top = Fields::new(root, 0..0);
        self.finish(&top, &["scenario", "vars", "server", "step"]);

        // [scenario] first: its deadline bounds every other duration.
        let Some(meta) = self.table(&top, "scenario") else {
            if !top.has("scenario") {
                self.err(
                    Schema,
                    &(0..0),
                    "missing table [scenario] (with at least name = \"...\")",
                );
            }
            return None;
        };
        self.ctx = "[scenario]".into();
        self.deadline = Duration::from_secs(24 * 3600);
        let deadline = self.duration(&meta, "deadline").unwrap_or(DEFAULT_DEADLINE);
        self.deadline = deadline;
        let name = self
            .req_string(&meta, "name", "a short name for reports")
            .map(|s| s.0);
        let description = self.string(&meta, "description").map(|s| s.0);
        self.finish(&meta, &["name", "description", "deadline"]);

        let vars = self.vars(&top);
        let server = if top.has("server") {
            self.ctx = "[server]".into();
            self.scope = Scope::Server;
            self.server_table(&top)
        } else {
            None
        };
        self.server = match &server {
            None => ServerTrack::None,
            Some(s) if s.autostart => ServerTrack::Running,
            Some(_) => ServerTrack::Stopped(0),
        };

        self.ctx.clear();
        let mut steps = Vec::new();
        match top.get("step") {
            None => self.err(
                Schema,
                &(0..0),
                "no steps; expected at least one [[step]] table",
            ),
            Some(v) => match v.get_ref() {
                DeValue::Array(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        self.scope = Scope::Step(i);
                        if let Some(step) = self.step(i + 1, item) {
                            steps.push(step);
                        }
                    }
                }
                DeValue::Array(_) => self.err(
                    Schema,
                    &v.span(),
                    "no steps; expected at least one [[step]] table",
                ),
                _ => self.err(
                    Schema,
                    &v.span(),
                    "\"step\" must be an array of tables: write [[step]], not [step]",
                ),
            },
        }
        self.ctx.clear();
        self.check_vars(&vars, &steps);
        Some(Scenario {
            file: self.file.clone(),
            name: name?,
            description,
            deadline,
            vars,
            server,
            steps,
        })
    }

    fn vars(&mut self, top: &Fields<'_, '_>) -> Vec<VarDef> {
        let Some(t) = self.table(top, "vars") else {
            return Vec::new();
        };
        self.ctx = "[vars]".into();
        let mut entries: Vec<_> = t.table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut out = Vec::new();
        for (i, (k, v)) in entries.into_iter().enumerate() {
            self.scope = Scope::Vars(i);
            let name = k.get_ref().to_string();
            if !self.check_var_target(&name, &k.span()) {
                continue;
            }
            match v.get_ref() {
                DeValue::String(s) => {
                    self.note_template(s, &v.span());
                    out.push(VarDef {
                        name,
                        value: s.to_string(),
                        location: self.loc(&k.span()),
                    });
                }
                other => {
                    let got = kind_name(other);
                    self.err(
                        Schema,
                        &v.span(),
                        format!("variable {name:?}: expected a string (quote numbers, e.g. port = \"5173\"), got {got}"),
                    );
                }
            }
        }
        out
    }

    fn server_table(&mut self, top: &Fields<'_, '_>) -> Option<ServerSpec> {
        let t = self.table(top, "server")?;
        let location = self.loc(&t.span);
        let mut command = Vec::new();
        if !t.has("command") {
            self.missing(
                &t,
                "command",
                "the program and its arguments, e.g. [\"npx\", \"vite\"]",
            );
        } else {
            command = self
                .string_list(&t, "command", true)
                .into_iter()
                .map(|s| s.0)
                .collect();
            if command.is_empty() || command[0].is_empty() {
                let span = t.get("command").map_or(t.span.clone(), |v| v.span());
                self.err(Semantic, &span, "field \"command\": expected a non-empty array whose first element is the program");
            }
        }
        let cwd = self.template(&t, "cwd").map(|s| s.0);
        let env = self
            .string_map(&t, "env", true)
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        let ready = self.ready(&t);
        let ready_timeout = self
            .duration(&t, "ready_timeout")
            .unwrap_or(DEFAULT_READY_TIMEOUT.min(self.deadline));
        let stop_timeout = self
            .duration(&t, "stop_timeout")
            .unwrap_or(DEFAULT_STOP_TIMEOUT.min(self.deadline));
        let stop_signal = self.signal(&t, "stop_signal").unwrap_or(Signal::Term);
        let autostart = self.boolean(&t, "autostart").unwrap_or(true);
        self.finish(
            &t,
            &[
                "command",
                "cwd",
                "env",
                "ready",
                "ready_timeout",
                "stop_signal",
                "stop_timeout",
                "autostart",
            ],
        );
        Some(ServerSpec {
            command,
            cwd,
            env,
            ready: ready?,
            ready_timeout,
            stop_signal,
            stop_timeout,
            autostart,
            location,
        })
    }

    fn ready(&mut self, t: &Fields<'_, '_>) -> Option<Ready> {
        if !t.has("ready") {
            self.missing(t, "ready", "{tcp_port = ...}, {http_probe = \"...\"}, {stdout_line = \"regex\"} or {stderr_line = \"regex\"}");
            return None;
        }
        let r = self.table(t, "ready")?;
        let mut known = vec!["tcp_port", "http_probe", "stdout_line", "stderr_line"];
        if r.has("http_probe") {
            known.push("status");
        }
        self.finish(&r, &known);
        let which = self.exactly_one(
            &r,
            &["tcp_port", "http_probe", "stdout_line", "stderr_line"],
            true,
        );
        let out = match which? {
            "tcp_port" => {
                let v = r.get("tcp_port")?;
                match v.get_ref() {
                    DeValue::String(s) => {
                        self.note_template(s, &v.span());
                        Some(Ready::TcpPort(s.to_string()))
                    }
                    _ => self
                        .int(&r, "tcp_port", 1, 65535)
                        .map(|p| Ready::TcpPort(p.to_string())),
                }
            }
            "http_probe" => {
                let (url, span) = self.template(&r, "http_probe")?;
                self.check_url(&url, &span, "http_probe", &["http://", "https://"]);
                let status = self.status(&r, "status");
                Some(Ready::HttpProbe { url, status })
            }
            "stdout_line" => self
                .regex_field(&r, "stdout_line")
                .map(|s| Ready::StdoutLine(s.0)),
            "stderr_line" => self
                .regex_field(&r, "stderr_line")
                .map(|s| Ready::StderrLine(s.0)),
            _ => None,
        };
        out
    }

    fn check_url(&mut self, url: &str, span: &Span, key: &str, schemes: &[&str]) {
        if url.starts_with("${") {
            return;
        }
        if !schemes.iter().any(|s| url.starts_with(s)) {
            self.err(
                Semantic,
                span,
                format!(
                    "field {key:?}: {url:?} is not a valid URL here; expected it to start with {}",
                    schemes.join(" or ")
                ),
            );
        }
    }

    fn signal(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<Signal> {
        let (s, span) = self.string(f, key)?;
        let sig = Signal::parse(&s);
        if sig.is_none() {
            self.err(
                Semantic,
                &span,
                format!(
                    "field {key:?}: unknown signal {s:?}; expected one of {}",
                    Signal::NAMES.join(", ")
                ),
            );
        }
        sig
    }

    // ----- steps ------------------------------------------------------------------

    fn step(&mut self, index: usize, v: &V<'_>) -> Option<Step> {
        let span = v.span();
        self.ctx = format!("step {index}");
        let DeValue::Table(t) = v.get_ref() else {
            self.err(Schema, &span, "expected a table");
            return None;
        };
        let f = Fields::new(t, span.clone());
        let Some(av) = f.get("action") else {
            self.err(
                Schema,
                &span,
                format!(
                    "missing field \"action\"; expected one of {}",
                    ACTION_NAMES.join(", ")
                ),
            );
            return None;
        };
        let DeValue::String(name) = av.get_ref() else {
            self.type_err("action", av, "a string (the action name)");
            return None;
        };
        let name: &str = name;
        let Some(&name) = ACTION_NAMES.iter().find(|a| **a == name) else {
            let hint = did_you_mean(name, ACTION_NAMES.iter().copied());
            self.err(
                Schema,
                &av.span(),
                format!(
                    "unknown action {name:?}{hint}; expected one of {}",
                    ACTION_NAMES.join(", ")
                ),
            );
            return None;
        };
        self.ctx = format!("step {index} (action {name:?})");

        let id = self.string(&f, "id").and_then(|(id, s)| {
            if !is_step_id(&id) {
                self.err(Semantic, &s, format!("field \"id\": {id:?} is not a valid step id; expected letters, digits, '_', '-', '.'"));
                return None;
            }
            if let Some(prev) = self.ids.get(&id) {
                let (line, step) = (prev.line, prev.step);
                self.err(Semantic, &s, format!("duplicate step id {id:?}; step {step} at line {line} already uses it"));
                return None;
            }
            Some((id, s))
        });
        let title = self.template(&f, "title").map(|s| s.0);
        let timeout = self.duration(&f, "timeout");

        let action = match name {
            "connect" => self.connect(&f).map(Action::Connect),
            "send" => self.send(&f).map(Action::Send),
            "expect" => self.expect(&f).map(Action::Expect),
            "expect_silence" => self.expect_silence(&f).map(Action::ExpectSilence),
            "expect_close" => self.expect_close(&f).map(Action::ExpectClose),
            "expect_ack" => self.expect_ack(&f).map(Action::ExpectAck),
            "rpc" => self.rpc(&f).map(Action::Rpc),
            "capture" => self.capture_step(&f).map(Action::Capture),
            "http" => self.http(&f).map(Action::Http),
            "write_file" => self.file_write(&f).map(Action::WriteFile),
            "append_file" => self.file_write(&f).map(Action::AppendFile),
            "delete_file" => self
                .file_path(&f)
                .map(|path| Action::DeleteFile(FileDelete { path })),
            "start_server" => Some(Action::StartServer),
            "stop_server" => Some(Action::StopServer(StopServer {
                signal: self.signal(&f, "signal"),
            })),
            "restart_server" => Some(Action::RestartServer(StopServer {
                signal: self.signal(&f, "signal"),
            })),
            "assert_server" => self.assert_server(&f).map(Action::AssertServer),
            "pause_reading" => self.conn_ref(&f).map(Action::PauseReading),
            "resume_reading" => self.conn_ref(&f).map(Action::ResumeReading),
            "drop_tcp" => self.conn_ref(&f).map(Action::DropTcp),
            "set_ping_policy" => self.set_ping_policy(&f).map(Action::SetPingPolicy),
            "ping" => self.ping(&f).map(Action::Ping),
            "sleep" => self.sleep(&f).map(Action::Sleep),
            "close" => self.close(&f).map(Action::Close),
            _ => None,
        };
        let mut known: Vec<&str> = COMMON_STEP_KEYS.to_vec();
        known.extend_from_slice(action_keys(name));
        self.finish(&f, &known);
        let action = action?;
        self.track(index, &f, &span, &action);
        let line = self.loc(&span).line;
        if let Some((id, _)) = &id {
            let send_conn = match &action {
                Action::Send(s) => Some(s.conn.clone()),
                Action::Rpc(r) => Some(r.conn.clone()),
                _ => None,
            };
            self.ids.insert(
                id.clone(),
                IdInfo {
                    step: index,
                    line,
                    send_conn,
                },
            );
        }
        Some(Step {
            index,
            location: self.loc(&span),
            id: id.map(|i| i.0),
            title,
            timeout,
            action,
        })
    }

    /// Connection, server and timing rules that depend on earlier steps.
    fn track(&mut self, index: usize, f: &Fields<'_, '_>, span: &Span, action: &Action) {
        let conn_span = f.get("conn").map_or(span.clone(), |v| v.span());
        // Connections.
        match action {
            Action::Connect(c) => {
                let not_open = (!c.expect.opens())
                    .then(|| format!("its connect (step {index}) expects the upgrade to fail"));
                self.conns.insert(c.conn.clone(), ConnInfo { not_open });
            }
            other => {
                if let Some(conn) = other.conn() {
                    match self.conns.get(conn) {
                        None => {
                            let hint = did_you_mean(conn, self.conns.keys().map(String::as_str));
                            self.err(
                                Semantic,
                                &conn_span,
                                format!("connection {conn:?} is used before any connect step{hint}; expected a connect step with conn = {conn:?} earlier"),
                            );
                        }
                        Some(ConnInfo {
                            not_open: Some(why),
                        }) if !matches!(other, Action::Capture(_)) => {
                            let why = why.clone();
                            self.err(
                                Semantic,
                                &conn_span,
                                format!("connection {conn:?} is not open here: {why}; connect it again first"),
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
        match action {
            Action::DropTcp(c) => {
                self.mark_closed(&c.conn, format!("step {index} dropped its TCP connection"))
            }
            Action::ExpectClose(c) => {
                self.mark_closed(&c.conn, format!("step {index} waits for it to close"))
            }
            Action::Send(s) => {
                self.sent_on.insert(s.conn.clone());
            }
            Action::Rpc(r) => {
                self.sent_on.insert(r.conn.clone());
            }
            _ => {}
        }
        // Server lifecycle and file actions.
        let server_action = matches!(
            action,
            Action::StartServer
                | Action::StopServer(_)
                | Action::RestartServer(_)
                | Action::AssertServer(_)
        );
        let file_action = matches!(
            action,
            Action::WriteFile(_) | Action::AppendFile(_) | Action::DeleteFile(_)
        );
        if self.server == ServerTrack::None {
            if server_action {
                self.err(
                    Semantic,
                    span,
                    "this action needs a [server] table describing the server to run",
                );
            } else if file_action {
                self.err(
                    Semantic,
                    span,
                    "file actions need a [server] table: paths are relative to its cwd (the project directory)",
                );
            }
        } else {
            let stopped_by = |s: usize| {
                if s == 0 {
                    "it is not started yet (autostart = false)".to_string()
                } else {
                    format!("step {s} stopped it")
                }
            };
            match (action, self.server) {
                (Action::StartServer, ServerTrack::Running) => self.err(
                    Semantic,
                    span,
                    "the server is already running (autostart or an earlier start_server); if it exits on its own, add an assert_server step with state = \"exited\" first",
                ),
                (Action::StartServer, _) => self.server = ServerTrack::Running,
                (Action::StopServer(_), ServerTrack::Stopped(s)) => {
                    self.err(Semantic, span, format!("the server is not running here: {}", stopped_by(s)))
                }
                (Action::StopServer(_), _) => self.server = ServerTrack::Stopped(index),
                (Action::RestartServer(_), ServerTrack::Stopped(s)) => self.err(
                    Semantic,
                    span,
                    format!("the server is not running here ({}); use start_server", stopped_by(s)),
                ),
                (Action::AssertServer(a), ServerTrack::Stopped(s)) if a.state == ServerState::Alive => {
                    self.err(Semantic, span, format!("the server cannot be alive here: {}", stopped_by(s)))
                }
                (Action::AssertServer(a), _) if a.state == ServerState::Exited => {
                    self.server = ServerTrack::Stopped(index)
                }
                _ => {}
            }
        }
        // Fixed waits add up; more than the deadline can never pass.
        let fixed = match action {
            Action::Sleep(s) => s.duration,
            Action::ExpectSilence(s) => s.duration,
            _ => Duration::ZERO,
        };
        if !fixed.is_zero() {
            let before = self.fixed_wait;
            self.fixed_wait += fixed;
            if before <= self.deadline && self.fixed_wait > self.deadline {
                self.err(
                    Semantic,
                    span,
                    format!(
                        "the fixed waits (sleep, expect_silence) up to this step add up to {}, more than the scenario deadline {}",
                        format_duration(self.fixed_wait),
                        format_duration(self.deadline)
                    ),
                );
            }
        }
    }

    fn mark_closed(&mut self, conn: &str, why: String) {
        if let Some(info) = self.conns.get_mut(conn) {
            info.not_open = Some(why);
        }
    }

    fn conn(&mut self, f: &Fields<'_, '_>) -> Option<String> {
        let (c, span) = self.req_string(f, "conn", "the connection name")?;
        if !is_conn_name(&c) {
            self.err(
                Semantic,
                &span,
                format!("field \"conn\": {c:?} is not a valid connection name; expected 1-64 letters, digits, '_', '-', '.', ':'"),
            );
            return None;
        }
        Some(c)
    }

    fn conn_ref(&mut self, f: &Fields<'_, '_>) -> Option<ConnRef> {
        self.conn(f).map(|conn| ConnRef { conn })
    }

    fn within(&mut self, f: &Fields<'_, '_>) -> Duration {
        self.duration(f, "within")
            .unwrap_or(DEFAULT_WITHIN.min(self.deadline))
    }

    fn target(&mut self, f: &Fields<'_, '_>, schemes: &[&str]) -> Option<Target> {
        match self.exactly_one(f, &["url", "path"], true)? {
            "url" => {
                let (u, span) = self.template(f, "url")?;
                self.check_url(&u, &span, "url", schemes);
                Some(Target::Url(u))
            }
            _ => {
                let (p, span) = self.template(f, "path")?;
                if !p.starts_with('/') && !p.starts_with("${") {
                    self.err(
                        Semantic,
                        &span,
                        format!("field \"path\": {p:?} must start with '/'"),
                    );
                }
                Some(Target::Path(p))
            }
        }
    }

    fn method(&mut self, f: &Fields<'_, '_>) -> String {
        match self.string(f, "method") {
            Some((m, span)) => {
                if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                    self.err(Semantic, &span, format!("field \"method\": {m:?} is not an HTTP method; expected e.g. \"GET\", \"POST\""));
                }
                m
            }
            None => "GET".into(),
        }
    }

    fn connect(&mut self, f: &Fields<'_, '_>) -> Option<Connect> {
        let conn = self.conn(f);
        let target = self.target(f, &["ws://", "wss://"]);
        let method = self.method(f);
        let protocols = self
            .string_list(f, "protocols", true)
            .into_iter()
            .map(|s| s.0)
            .collect();
        let headers = self.headers(f, "headers");
        let omit_headers = self
            .string_list(f, "omit_headers", false)
            .into_iter()
            .filter_map(|(h, span)| {
                if is_header_name(&h) {
                    Some(h)
                } else {
                    self.err(
                        Semantic,
                        &span,
                        format!("field \"omit_headers\": {h:?} is not a valid HTTP header name"),
                    );
                    None
                }
            })
            .collect();
        let origin = self.template(f, "origin").map(|s| s.0);
        let query = self
            .string_map(f, "query", true)
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        let answer_pings = self.boolean(f, "answer_pings").unwrap_or(true);
        let within = self.within(f);
        let expect = match self.table(f, "expect") {
            Some(e) => self.connect_expect(&e)?,
            None => ConnectExpect::Upgrade {
                protocol: None,
                headers: None,
            },
        };
        Some(Connect {
            conn: conn?,
            target: target?,
            method,
            protocols,
            headers,
            omit_headers,
            origin,
            query,
            answer_pings,
            within,
            expect,
        })
    }

    fn connect_expect(&mut self, e: &Fields<'_, '_>) -> Option<ConnectExpect> {
        const KEYS: &[&str] = &[
            "status",
            "protocol",
            "headers",
            "body",
            "closed_before_data",
            "refused",
            "no_response_for",
        ];
        self.finish(e, KEYS);
        const OUTCOMES: &[&str] = &["status", "closed_before_data", "refused", "no_response_for"];
        let given = OUTCOMES.iter().filter(|k| e.has(k)).count();
        let which = self.exactly_one(e, OUTCOMES, false);
        if given > 1 {
            return None;
        }
        for flag in ["closed_before_data", "refused"] {
            if self.boolean(e, flag) == Some(false) {
                let span = e.get(flag).map_or(e.span.clone(), |v| v.span());
                self.err(
                    Semantic,
                    &span,
                    format!("field {flag:?}: only true is meaningful; leave it out otherwise"),
                );
            }
        }
        let outcome_only = |p: &mut Self, what: &str| {
            for k in ["protocol", "headers", "body"] {
                if e.has(k) {
                    p.err(
                        Semantic,
                        &e.key_span(k),
                        format!("field {k:?} does not apply with {what}"),
                    );
                }
            }
        };
        match which {
            None | Some("status") => {
                let status = if e.has("status") {
                    self.status(e, "status")?
                } else {
                    101
                };
                let headers = if e.has("headers") {
                    self.header_patterns(e, "headers")
                } else {
                    None
                };
                if status == 101 {
                    if e.has("body") {
                        self.err(Semantic, &e.key_span("body"), "field \"body\" only applies to a refused upgrade (a status other than 101)");
                    }
                    let protocol = self.string_pattern(e, "protocol", true);
                    Some(ConnectExpect::Upgrade { protocol, headers })
                } else {
                    if e.has("protocol") {
                        self.err(
                            Semantic,
                            &e.key_span("protocol"),
                            "field \"protocol\" only applies to status 101",
                        );
                    }
                    let body = self.string_pattern(e, "body", false);
                    Some(ConnectExpect::Status {
                        status,
                        headers,
                        body,
                    })
                }
            }
            Some("closed_before_data") => {
                outcome_only(self, "closed_before_data");
                Some(ConnectExpect::ClosedBeforeData)
            }
            Some("refused") => {
                outcome_only(self, "refused");
                Some(ConnectExpect::Refused)
            }
            Some(_) => {
                outcome_only(self, "no_response_for");
                self.duration(e, "no_response_for")
                    .map(ConnectExpect::NoResponse)
            }
        }
    }

    fn send(&mut self, f: &Fields<'_, '_>) -> Option<Send> {
        let conn = self.conn(f);
        let which = self.exactly_one(f, &["text", "json", "binary_hex", "raw"], true);
        let payload = match which {
            Some("text") => self.template(f, "text").map(|s| SendPayload::Text(s.0)),
            Some("json") => {
                let v = f.get("json")?;
                if !matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_)) {
                    self.type_err(
                        "json",
                        v,
                        "an inline table or array (use text = \"...\" for other JSON)",
                    );
                    None
                } else {
                    self.json("json", v).map(SendPayload::Json)
                }
            }
            Some("binary_hex") => self.hex_field(f, "binary_hex").map(SendPayload::Binary),
            Some(_) => self
                .table(f, "raw")
                .and_then(|r| self.raw(&r))
                .map(SendPayload::Raw),
            None => None,
        };
        // `repeat` builds large messages (oversize probes) without a megabyte literal.
        let payload = match (self.int(f, "repeat", 1, MAX_REPEAT_BYTES), payload) {
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
                self.err(
                    Semantic,
                    &f.key_span("repeat"),
                    "field \"repeat\" makes the message larger than 64 MiB",
                );
                None
            }
            (Some(_), p) => {
                if p.is_some() {
                    self.err(
                        Semantic,
                        &f.key_span("repeat"),
                        "field \"repeat\" applies to text and binary_hex only",
                    );
                }
                None
            }
        };
        let fragment_size = self
            .int(f, "fragment_size", 1, 1 << 32)
            .map(|n| NonZeroUsize::new(n as usize).expect("range starts at 1"));
        if fragment_size.is_some() && which == Some("raw") {
            self.err(
                Semantic,
                &f.key_span("fragment_size"),
                "field \"fragment_size\" does not apply to a raw frame",
            );
        }
        Some(Send {
            conn: conn?,
            payload: payload?,
            fragment_size,
        })
    }

    fn raw(&mut self, r: &Fields<'_, '_>) -> Option<RawFrame> {
        self.finish(
            r,
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
        let opcode = match r.get("opcode") {
            None => {
                self.missing(
                    r,
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
                        self.err(
                            Semantic,
                            &v.span(),
                            format!("field \"opcode\": unknown opcode {s:?}; expected 0-15 or continuation, text, binary, close, ping, pong"),
                        );
                    }
                    code
                }
                _ => self.int(r, "opcode", 0, 15).map(|i| i as u8),
            },
        };
        let fin = self.boolean(r, "fin").unwrap_or(true);
        let rsv = self.int(r, "rsv", 0, 7).map_or(0, |i| i as u8);
        let mask = match r.get("mask") {
            None => MaskSpec::Random,
            Some(v) => {
                match v.get_ref() {
                    DeValue::Boolean(true) => MaskSpec::Random,
                    DeValue::Boolean(false) => MaskSpec::Unmasked,
                    DeValue::String(s) => {
                        match parse_hex(s) {
                            Ok(k) if k.len() == 4 => MaskSpec::Key([k[0], k[1], k[2], k[3]]),
                            Ok(k) => {
                                self.err(Semantic, &v.span(), format!("field \"mask\": a mask key is 4 bytes (8 hex digits), got {}", k.len()));
                                MaskSpec::Random
                            }
                            Err(e) => {
                                self.err(Semantic, &v.span(), format!("field \"mask\": {e}"));
                                MaskSpec::Random
                            }
                        }
                    }
                    _ => {
                        self.type_err("mask", v, "true, false or a 4-byte hex key");
                        MaskSpec::Random
                    }
                }
            }
        };
        let payload = match self.exactly_one(r, &["payload_hex", "payload_text"], false) {
            Some("payload_hex") => Bytes::Hex(self.hex_field(r, "payload_hex")?),
            Some(_) => Bytes::Text(self.template(r, "payload_text")?.0),
            None if r.has("payload_hex") => return None,
            None => Bytes::Hex(Vec::new()),
        };
        let length_encoding = match self.string(r, "length_encoding") {
            None => LengthEncoding::Minimal,
            Some((s, span)) => match s.as_str() {
                "minimal" => LengthEncoding::Minimal,
                "7bit" => LengthEncoding::Bits7,
                "16bit" => LengthEncoding::Bits16,
                "64bit" => LengthEncoding::Bits64,
                _ => {
                    self.err(
                        Semantic,
                        &span,
                        format!("field \"length_encoding\": unknown value {s:?}; expected one of minimal, 7bit, 16bit, 64bit"),
                    );
                    LengthEncoding::Minimal
                }
            },
        };
        let declared_length = self
            .int(r, "declared_length", 0, u64::MAX as i128)
            .map(|i| i as u64);
        let len = declared_length.unwrap_or(payload.as_slice().len() as u64);
        let limit = match length_encoding {
            LengthEncoding::Bits7 => 125,
            LengthEncoding::Bits16 => 65535,
            _ => u64::MAX,
        };
        if len > limit && (declared_length.is_some() || matches!(payload, Bytes::Hex(_))) {
            self.err(
                Semantic,
                &r.key_span("length_encoding"),
                format!(
                    "a length of {len} does not fit the {} length field (at most {limit})",
                    if limit == 125 { "7-bit" } else { "16-bit" }
                ),
            );
        }
        let chop = match r.get("chop") {
            Some(v) if int_value(v.get_ref()) == Some(0) => {
                self.err(Semantic, &v.span(), "field \"chop\": 0 would never write anything; expected a chunk size of at least 1 byte");
                None
            }
            _ => self
                .int(r, "chop", 1, 1 << 32)
                .and_then(|n| NonZeroUsize::new(n as usize)),
        };
        let delay = self
            .int(r, "delay_ms", 0, 60_000)
            .map(|ms| Duration::from_millis(ms as u64));
        if delay.is_some() && !r.has("chop") {
            self.err(
                Semantic,
                &r.key_span("delay_ms"),
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

    /// A message matcher table (`match`, `messages[i]`, `ignore[i]`, `rpc.expect`).
    /// `extra` lists additional allowed keys (e.g. `capture` in `messages`).
    fn matcher(&mut self, key: &str, v: &V<'_>, extra: &[&str]) -> Option<MessageMatcher> {
        let DeValue::Table(t) = v.get_ref() else {
            self.type_err(
                key,
                v,
                "a matcher table like {type = \"json\", json = {...}}",
            );
            return None;
        };
        let m = Fields::new(t, v.span());
        let mut known = MATCHER_KEYS.to_vec();
        known.extend_from_slice(extra);
        self.finish(&m, &known);
        let kind = match self.string(&m, "type") {
            None => None,
            Some((s, span)) => match s.as_str() {
                "text" => Some(MessageType::Text),
                "binary" => Some(MessageType::Binary),
                "json" => Some(MessageType::Json),
                other => {
                    self.err(
                        Semantic,
                        &span,
                        format!(
                            "{key}: unknown message type {other:?}; expected text, binary or json (to match a JSON field named \"type\", write json = {{type = {other:?}}})"
                        ),
                    );
                    return None;
                }
            },
        };
        let text = self.template(&m, "text").map(|s| s.0);
        let regex = self.regex_field(&m, "regex").map(|s| s.0);
        let bytes = if m.has("binary_hex") {
            Some(self.hex_field(&m, "binary_hex")?)
        } else {
            None
        };
        let json = match m.get("json") {
            Some(j) => Some(self.pattern(&format!("{key}.json"), j)?),
            None => None,
        };
        let double_encoded = self.boolean(&m, "double_encoded").unwrap_or(false);
        Some(MessageMatcher {
            kind,
            text,
            regex,
            bytes,
            json,
            double_encoded,
        })
    }

    fn matcher_list(&mut self, f: &Fields<'_, '_>, key: &str) -> Vec<MessageMatcher> {
        let Some(items) = self.array(f, key) else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.matcher(&format!("{key}[{i}]"), item, &[]))
            .collect()
    }

    /// `capture = {var = "path" | {json = ..} | {regex = .., group = n} | {header = ..} | {whole = true}}`.
    fn captures(&mut self, f: &Fields<'_, '_>, http: bool) -> Vec<Capture> {
        let Some(t) = self.table(f, "capture") else {
            return Vec::new();
        };
        let mut entries: Vec<_> = t.table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut out = Vec::new();
        for (k, v) in entries {
            let var = k.get_ref().to_string();
            if !self.check_var_target(&var, &k.span()) {
                continue;
            }
            let source = match v.get_ref() {
                DeValue::String(s) => self
                    .json_path("capture", s, &v.span())
                    .map(CaptureSource::Json),
                DeValue::Table(ct) => {
                    let cf = Fields::new(ct, v.span());
                    self.capture_source(&cf, http)
                }
                _ => {
                    self.type_err(
                        &format!("capture.{var}"),
                        v,
                        "a JSON path string or a table {regex = \"...\", group = 1}",
                    );
                    None
                }
            };
            if let Some(source) = source {
                out.push(Capture { var, source });
            }
        }
        out
    }

    fn capture_source(&mut self, cf: &Fields<'_, '_>, http: bool) -> Option<CaptureSource> {
        self.finish(cf, &["json", "regex", "group", "header", "whole"]);
        let which = self.capture_kind(cf, http)?;
        self.capture_source_only(cf, which)
    }

    /// Which capture form a table uses (`json`, `regex`, `whole`, `header`).
    fn capture_kind(&mut self, cf: &Fields<'_, '_>, http: bool) -> Option<&'static str> {
        let choices: &[&'static str] = if http {
            &["json", "regex", "whole", "header"]
        } else {
            if cf.has("header") {
                self.err(
                    Semantic,
                    &cf.key_span("header"),
                    "header captures only apply to HTTP responses",
                );
                return None;
            }
            &["json", "regex", "whole"]
        };
        let which = self.exactly_one(cf, choices, true)?;
        if cf.has("group") && which != "regex" {
            self.err(
                Semantic,
                &cf.key_span("group"),
                "field \"group\" only applies to a regex capture",
            );
        }
        Some(which)
    }

    fn json_path(&mut self, key: &str, s: &str, span: &Span) -> Option<JsonPath> {
        match JsonPath::parse(s) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(
                    Semantic,
                    span,
                    format!("field {key:?}: {e}; expected a path like a.b[0].c"),
                );
                None
            }
        }
    }

    fn expect(&mut self, f: &Fields<'_, '_>) -> Option<Expect> {
        let conn = self.conn(f);
        let within = self.within(f);
        let which = self.exactly_one(f, &["match", "messages"], true);
        let what = match which {
            Some("match") => {
                if f.has("ordered") {
                    self.err(
                        Semantic,
                        &f.key_span("ordered"),
                        "field \"ordered\" only applies to messages = [...]",
                    );
                }
                let matcher = self.matcher("match", f.get("match")?, &[]);
                let captures = self.captures(f, false);
                Some(ExpectWhat::One(ExpectItem {
                    matcher: matcher?,
                    captures,
                }))
            }
            Some(_) => {
                if f.has("capture") {
                    self.err(
                        Semantic,
                        &f.key_span("capture"),
                        "with messages = [...], put capture = {...} inside the message entry it applies to",
                    );
                }
                let ordered = self.boolean(f, "ordered").unwrap_or(true);
                let items = self.array(f, "messages")?;
                if items.is_empty() {
                    self.err(
                        Semantic,
                        &f.get("messages")?.span(),
                        "field \"messages\": expected at least one matcher",
                    );
                }
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let key = format!("messages[{i}]");
                    let matcher = self.matcher(&key, item, &["capture"]);
                    let captures = match item.get_ref() {
                        DeValue::Table(t) => self.captures(&Fields::new(t, item.span()), false),
                        _ => Vec::new(),
                    };
                    if let Some(matcher) = matcher {
                        out.push(ExpectItem { matcher, captures });
                    }
                }
                Some(ExpectWhat::All {
                    items: out,
                    ordered,
                })
            }
            None => None,
        };
        let ignore = self.matcher_list(f, "ignore");
        let skip_unmatched = self.boolean(f, "skip_unmatched").unwrap_or(false);
        Some(Expect {
            conn: conn?,
            within,
            what: what?,
            ignore,
            skip_unmatched,
        })
    }

    fn expect_silence(&mut self, f: &Fields<'_, '_>) -> Option<ExpectSilence> {
        let conn = self.conn(f);
        if !f.has("for") {
            self.missing(f, "for", "how long to listen, e.g. \"1s\"");
        }
        let duration = self.duration(f, "for");
        let ignore = self.matcher_list(f, "ignore");
        Some(ExpectSilence {
            conn: conn?,
            duration: duration?,
            ignore,
        })
    }

    fn expect_close(&mut self, f: &Fields<'_, '_>) -> Option<ExpectClose> {
        let conn = self.conn(f);
        let within = self.within(f);
        let mut codes = Vec::new();
        if let Some(items) = self.array(f, "codes") {
            for item in items {
                match int_value(item.get_ref()) {
                    Some(c) if (1000..=4999).contains(&c) => codes.push(c as u16),
                    _ => self.err(
                        Semantic,
                        &item.span(),
                        "field \"codes\": expected close codes from 1000 to 4999 (1005 = no status code, 1006 = TCP closed without a close frame)",
                    ),
                }
            }
        }
        let reason = self.string_pattern(f, "reason", false);
        let allow_messages = self.boolean(f, "allow_messages").unwrap_or(true);
        Some(ExpectClose {
            conn: conn?,
            within,
            codes,
            reason,
            allow_messages,
        })
    }

    fn expect_ack(&mut self, f: &Fields<'_, '_>) -> Option<ExpectAck> {
        let conn = self.conn(f);
        let after = match self.string(f, "after") {
            None => {
                if let Some(c) = &conn {
                    if !self.sent_on.contains(c) {
                        let span = f.get("conn").map_or(f.span.clone(), |v| v.span());
                        self.err(
                            Semantic,
                            &span,
                            format!("expect_ack needs an earlier send or rpc on connection {c:?} (or after = \"<step id>\")"),
                        );
                    }
                }
                Some(AckAfter::LastSend)
            }
            Some((id, span)) => match self.ids.get(&id).cloned() {
                None => {
                    let hint = did_you_mean(&id, self.ids.keys().map(String::as_str));
                    self.err(
                        Semantic,
                        &span,
                        format!("field \"after\": no earlier step has id {id:?}{hint}"),
                    );
                    None
                }
                Some(IdInfo {
                    send_conn: None,
                    step,
                    ..
                }) => {
                    self.err(
                        Semantic,
                        &span,
                        format!("field \"after\": step {step} ({id:?}) is not a send or rpc step"),
                    );
                    None
                }
                Some(IdInfo {
                    send_conn: Some(sc),
                    step,
                    ..
                }) => {
                    if conn.as_deref().is_some_and(|c| c != sc) {
                        self.err(
                            Semantic,
                            &span,
                            format!("field \"after\": step {step} ({id:?}) sends on connection {sc:?}, not on this step's connection"),
                        );
                    }
                    Some(AckAfter::Step(id))
                }
            },
        };
        if !f.has("match") {
            self.missing(f, "match", "a matcher for the acknowledgement");
        }
        let matcher = f.get("match").and_then(|m| self.matcher("match", m, &[]));
        let within = self.within(f);
        let captures = self.captures(f, false);
        Some(ExpectAck {
            conn: conn?,
            after: after?,
            matcher: matcher?,
            within,
            captures,
        })
    }

    fn rpc(&mut self, f: &Fields<'_, '_>) -> Option<Rpc> {
        let conn = self.conn(f);
        let request = match f.get("request") {
            None => {
                self.missing(f, "request", "the JSON request as an inline table");
                None
            }
            Some(v) if !matches!(v.get_ref(), DeValue::Table(_)) => {
                self.type_err("request", v, "a table (a JSON object)");
                None
            }
            Some(v) => self.json("request", v),
        };
        let id_path = match self.string(f, "id_path") {
            Some((s, span)) => self.json_path("id_path", &s, &span),
            None => Some(JsonPath::parse("id").expect("static path")),
        };
        let response_id_path = match self.string(f, "response_id_path") {
            Some((s, span)) => self.json_path("response_id_path", &s, &span),
            None => id_path.clone(),
        };
        if let (Some(req), Some(p)) = (&request, &id_path) {
            if let Err(e) = p.lookup(req) {
                let span = f
                    .get("id_path")
                    .or(f.get("request"))
                    .map_or(f.span.clone(), |v| v.span());
                self.err(
                    Semantic,
                    &span,
                    format!("the request has no id at {p} ({e}); expected id_path to point at the request's id field"),
                );
            }
        }
        let response_id = match f.get("response_id") {
            Some(v) => Some(self.json("response_id", v)?),
            None => None,
        };
        let expect = match f.get("expect") {
            Some(v) => Some(self.matcher("expect", v, &[])?),
            None => None,
        };
        let within = self.within(f);
        let captures = self.captures(f, false);
        Some(Rpc {
            conn: conn?,
            request: request?,
            id_path: id_path?,
            response_id_path: response_id_path?,
            response_id,
            expect,
            within,
            captures,
        })
    }

    fn capture_step(&mut self, f: &Fields<'_, '_>) -> Option<CaptureStep> {
        let from = match self.req_string(f, "from", "\"message\" or \"http\"") {
            None => None,
            Some((s, span)) => match s.as_str() {
                "message" => self.conn(f).map(|conn| CaptureFrom::Message { conn }),
                "http" => {
                    if f.has("conn") {
                        self.err(
                            Semantic,
                            &f.key_span("conn"),
                            "field \"conn\" does not apply with from = \"http\"",
                        );
                    }
                    Some(CaptureFrom::Http)
                }
                _ => {
                    self.err(Semantic, &span, format!("field \"from\": unknown source {s:?}; expected \"message\" or \"http\""));
                    None
                }
            },
        };
        let http = matches!(from, Some(CaptureFrom::Http));
        // The capture step carries the source keys on the step itself.
        let source = self
            .capture_kind(f, http)
            .and_then(|w| self.capture_source_only(f, w));
        if !f.has("into") {
            self.missing(f, "into", "the variable to store the value in");
        }
        let var = self.var_name_field(f, "into");
        Some(CaptureStep {
            from: from?,
            capture: Capture {
                var: var?,
                source: source?,
            },
        })
    }

    fn capture_source_only(&mut self, cf: &Fields<'_, '_>, which: &str) -> Option<CaptureSource> {
        match which {
            "json" => {
                let (s, span) = self.string(cf, "json")?;
                self.json_path("json", &s, &span).map(CaptureSource::Json)
            }
            "regex" => {
                let (re, span) = self.regex_field(cf, "regex")?;
                let group = self.int(cf, "group", 0, 99).map_or(1, |g| g as usize);
                if !super::vars::has_refs(&re) {
                    if let Ok(compiled) = compile_regex(&re) {
                        let groups = compiled.captures_len() - 1;
                        if group > groups {
                            self.err(
                                Semantic,
                                &span,
                                format!("the regex has {groups} capture group(s) but group = {group} is asked for; expected a group like (...) in the regex"),
                            );
                        }
                    }
                }
                Some(CaptureSource::Regex { regex: re, group })
            }
            "header" => {
                let (h, span) = self.string(cf, "header")?;
                if !is_header_name(&h) {
                    self.err(
                        Semantic,
                        &span,
                        format!("{h:?} is not a valid HTTP header name"),
                    );
                }
                Some(CaptureSource::Header(h.to_ascii_lowercase()))
            }
            _ => match self.boolean(cf, "whole") {
                Some(true) => Some(CaptureSource::Whole),
                _ => {
                    self.err(
                        Semantic,
                        &cf.key_span("whole"),
                        "field \"whole\": only true is meaningful",
                    );
                    None
                }
            },
        }
    }

    fn http(&mut self, f: &Fields<'_, '_>) -> Option<Http> {
        let method = self.method(f);
        let target = self.target(f, &["http://", "https://"]);
        let headers = self.headers(f, "headers");
        let body = self.template(f, "body").map(|s| s.0);
        let within = self.within(f);
        let expect_status = self.status(f, "expect_status");
        let expect_headers = if f.has("expect_headers") {
            self.header_patterns(f, "expect_headers")
        } else {
            None
        };
        let expect_body = self.string_pattern(f, "expect_body", false);
        let captures = self.captures(f, true);
        Some(Http {
            method,
            target: target?,
            headers,
            body,
            within,
            expect_status,
            expect_headers,
            expect_body,
            captures,
        })
    }

    fn file_path(&mut self, f: &Fields<'_, '_>) -> Option<String> {
        let (p, span) = self.req_string(f, "path", "a path relative to the project directory")?;
        self.note_template(&p, &span);
        // Check the literal parts: a reference can only add text, never remove a "..".
        let literal = super::vars::var_refs(&p)
            .map(|refs| {
                let mut s = p.clone();
                for r in refs.iter().rev() {
                    s.replace_range(r.range.clone(), "v");
                }
                s
            })
            .unwrap_or_else(|_| p.clone());
        if let Err(e) = check_project_path(&literal) {
            self.err(Semantic, &span, format!("field \"path\": {e}"));
            return None;
        }
        Some(p)
    }

    fn file_write(&mut self, f: &Fields<'_, '_>) -> Option<FileWrite> {
        let path = self.file_path(f);
        if !f.has("content") {
            self.missing(f, "content", "the text to write");
        }
        let content = self.template(f, "content").map(|s| s.0);
        Some(FileWrite {
            path: path?,
            content: content?,
        })
    }

    fn assert_server(&mut self, f: &Fields<'_, '_>) -> Option<AssertServer> {
        let state = match self.req_string(f, "state", "\"alive\" or \"exited\"") {
            None => None,
            Some((s, span)) => match s.as_str() {
                "alive" => Some(ServerState::Alive),
                "exited" => Some(ServerState::Exited),
                _ => {
                    self.err(Semantic, &span, format!("field \"state\": unknown state {s:?}; expected \"alive\" or \"exited\""));
                    None
                }
            },
        };
        let exit_code = self.int(f, "exit_code", -255, 255).map(|c| c as i32);
        if exit_code.is_some() && state == Some(ServerState::Alive) {
            self.err(
                Semantic,
                &f.key_span("exit_code"),
                "field \"exit_code\" only applies to state = \"exited\"",
            );
        }
        let within = match state {
            Some(ServerState::Exited) => self.within(f),
            _ => self.duration(f, "within").unwrap_or(Duration::ZERO),
        };
        Some(AssertServer {
            state: state?,
            exit_code,
            within,
        })
    }

    fn set_ping_policy(&mut self, f: &Fields<'_, '_>) -> Option<SetPingPolicy> {
        let conn = self.conn(f);
        if !f.has("answer") {
            self.missing(
                f,
                "answer",
                "true to answer pings with pongs, false to ignore them",
            );
        }
        let answer = self.boolean(f, "answer");
        Some(SetPingPolicy {
            conn: conn?,
            answer: answer?,
        })
    }

    fn ping(&mut self, f: &Fields<'_, '_>) -> Option<Ping> {
        let conn = self.conn(f);
        let payload = match self.exactly_one(f, &["payload", "payload_hex"], false) {
            Some("payload_hex") => Bytes::Hex(self.hex_field(f, "payload_hex")?),
            Some(_) => Bytes::Text(self.template(f, "payload")?.0),
            None if f.has("payload") => return None,
            None => Bytes::Hex(Vec::new()),
        };
        let literal = matches!(&payload, Bytes::Hex(_))
            || matches!(&payload, Bytes::Text(t) if !super::vars::has_refs(t));
        if literal && payload.as_slice().len() > 125 {
            let key = if f.has("payload") {
                "payload"
            } else {
                "payload_hex"
            };
            self.err(
                Semantic,
                &f.key_span(key),
                format!("a ping payload is at most 125 bytes (RFC 6455 5.5), got {}; use send with a raw frame to test oversized control frames", payload.as_slice().len()),
            );
        }
        let expect_pong_within = self
            .duration(f, "expect_pong_within")
            .unwrap_or(DEFAULT_WITHIN.min(self.deadline));
        let record_latency_as = self.var_name_field(f, "record_latency_as");
        Some(Ping {
            conn: conn?,
            payload,
            expect_pong_within,
            record_latency_as,
        })
    }

    fn sleep(&mut self, f: &Fields<'_, '_>) -> Option<Sleep> {
        if !f.has("for") {
            self.missing(f, "for", "how long to wait, e.g. \"500ms\"");
        }
        self.duration(f, "for").map(|duration| Sleep { duration })
    }

    fn close(&mut self, f: &Fields<'_, '_>) -> Option<Close> {
        let conn = self.conn(f);
        let code = match f.get("code") {
            None => None,
            Some(v) => match int_value(v.get_ref()) {
                Some(c @ (1004 | 1005 | 1006 | 1015)) => {
                    self.err(
                        Semantic,
                        &v.span(),
                        format!("field \"code\": {c} is reserved and must not be sent (RFC 6455 7.4.1); use send with a raw close frame to test it"),
                    );
                    None
                }
                Some(c) if (1000..=4999).contains(&c) => Some(c as u16),
                Some(c) => {
                    self.err(
                        Semantic,
                        &v.span(),
                        format!("field \"code\": {c} is not a valid close code; expected 1000-4999 (raw frames can send anything)"),
                    );
                    None
                }
                None => {
                    self.type_err("code", v, "a close code (integer)");
                    None
                }
            },
        };
        let reason = self.template(f, "reason");
        if let Some((r, span)) = &reason {
            if code.is_none() && f.get("code").is_none() && !r.is_empty() {
                self.err(Semantic, span, "a close reason needs a code");
            }
            if !super::vars::has_refs(r) && r.len() > 123 {
                self.err(
                    Semantic,
                    span,
                    format!("a close reason is at most 123 bytes, got {}", r.len()),
                );
            }
        }
        Some(Close {
            conn: conn?,
            code,
            reason: reason.map(|r| r.0).unwrap_or_default(),
        })
    }

    // ----- variables --------------------------------------------------------------

    /// Every `${name}` must be defined where it is used: a built-in, a `[vars]` entry
    /// (earlier ones only, inside `[vars]`), or a capture of an earlier step.
    fn check_vars(&mut self, vars: &[VarDef], steps: &[Step]) {
        let builtins: HashSet<&str> = BUILTIN_VARS
            .iter()
            .copied()
            .filter(|v| *v != "last_sent")
            .collect();
        // defined_before[i] = names visible to step i (0-based, by position in file).
        let mut by_pos: Vec<(usize, HashSet<String>, bool)> = Vec::new();
        let mut defined: HashSet<String> = HashSet::new();
        let mut sent = false;
        let mut first_def: HashMap<String, usize> = HashMap::new();
        for s in steps {
            by_pos.push((s.index - 1, defined.clone(), sent));
            for d in s.action.defines() {
                defined.insert(d.to_string());
                first_def.entry(d.to_string()).or_insert(s.index);
            }
            if matches!(s.action, Action::Send(_) | Action::Rpc(_)) {
                sent = true;
            }
        }
        let var_names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        let uses = std::mem::take(&mut self.uses);
        for u in uses {
            let name = u.name.as_str();
            if builtins.contains(name) {
                continue;
            }
            let (ok, candidates): (bool, Vec<String>) = match u.scope {
                Scope::Vars(i) => {
                    let ok = var_names[..i.min(var_names.len())].contains(&name);
                    (
                        ok,
                        var_names[..i.min(var_names.len())]
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    )
                }
                Scope::Server => (
                    var_names.contains(&name),
                    var_names.iter().map(|s| s.to_string()).collect(),
                ),
                Scope::Step(i) => {
                    let entry = by_pos.iter().find(|(p, _, _)| *p == i);
                    let (caps, sent_before) =
                        entry.map_or((HashSet::new(), false), |(_, d, s)| (d.clone(), *s));
                    let is_ack = steps
                        .iter()
                        .any(|s| s.index - 1 == i && matches!(s.action, Action::ExpectAck(_)));
                    let ok = var_names.contains(&name)
                        || caps.contains(name)
                        || (name == "last_sent" && (sent_before || is_ack));
                    let mut c: Vec<String> = var_names.iter().map(|s| s.to_string()).collect();
                    c.extend(caps);
                    (ok, c)
                }
            };
            if ok {
                continue;
            }
            let mut msg = format!("undefined variable {name:?}");
            if name == "last_sent" {
                msg.push_str(" (it refers to the last message sent, and no send or rpc step comes before this one)");
            } else if let Some(step) = first_def.get(name) {
                msg.push_str(&format!(
                    " (step {step} captures it, but that step has not run yet here)"
                ));
            } else if matches!(u.scope, Scope::Vars(_)) && var_names.contains(&name) {
                msg.push_str(" ([vars] entries may only use entries defined above them)");
            } else {
                let mut all: Vec<&str> = candidates.iter().map(String::as_str).collect();
                all.extend(builtins.iter().copied());
                msg.push_str(&did_you_mean(name, all));
            }
            msg.push_str("; expected a [vars] entry, a built-in (");
            msg.push_str(&BUILTIN_VARS.join(", "));
            msg.push_str("), ${env:NAME}, or a capture of an earlier step");
            self.diags.push(Diagnostic {
                kind: Semantic,
                location: self.loc(&u.span),
                context: u.ctx,
                message: msg,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsing() {
        assert_eq!(
            parse_hex("de ad BE ef").unwrap(),
            vec![0xde, 0xad, 0xbe, 0xef]
        );
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert!(parse_hex("abc").unwrap_err().contains("odd number"));
        assert!(parse_hex("zz")
            .unwrap_err()
            .contains("invalid hex digit 'z'"));
    }

    #[test]
    fn project_paths() {
        assert!(check_project_path("src/dep.js").is_ok());
        assert!(check_project_path("./a/b..c").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "\\x",
            "C:\\x",
            "~/x",
            "../x",
            "a/../../x",
            "a\\..\\x",
            "a\0b",
        ] {
            assert!(check_project_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("expct", ACTION_NAMES.iter().copied()),
            Some("expect")
        );
        assert_eq!(
            suggest("conect", ACTION_NAMES.iter().copied()),
            Some("connect")
        );
        assert_eq!(suggest("zzzzzz", ACTION_NAMES.iter().copied()), None);
    }
}
