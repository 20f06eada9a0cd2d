//! Typed readers of one spanned TOML table: each reads a key, checks its type and
//! value, reports what is wrong at the key or value (never panics, never stops), and
//! returns what it could read.

use std::time::Duration;

use serde_json::Value;
use toml::de::{DeTable, DeValue};

use super::{Reader, Schema, Semantic, Span, V};
use crate::scenario::duration::{format_duration, parse_duration};
use crate::scenario::matcher::compile_regex;
use crate::scenario::model::{Address, DEFAULT_WITHIN, RESERVED_VARS};
use crate::scenario::path::JsonPath;
use crate::scenario::vars::{has_refs, is_var_name, var_refs, VarName};

/// Reads the fields of one TOML table and remembers which were present.
pub(crate) struct Fields<'a, 'i> {
    pub(crate) table: &'a DeTable<'i>,
    pub(crate) span: Span,
}

impl<'a, 'i> Fields<'a, 'i> {
    pub(crate) fn new(table: &'a DeTable<'i>, span: Span) -> Self {
        Fields { table, span }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a V<'i>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn key_span(&self, key: &str) -> Span {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map_or(self.span.clone(), |(k, _)| k.span())
    }
}

pub(crate) fn kind_name(v: &DeValue<'_>) -> &'static str {
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

pub(crate) fn int_value(v: &DeValue<'_>) -> Option<i128> {
    match v {
        DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
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

pub(crate) fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(crate) fn is_conn_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
}

pub(crate) fn is_step_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// The typed field readers.
impl Reader<'_> {
    pub(crate) fn string(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<(String, Span)> {
        let v = f.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            _ => {
                self.type_err(key, v, "a string");
                None
            }
        }
    }

    pub(crate) fn req_string(
        &mut self,
        f: &Fields<'_, '_>,
        key: &str,
        what: &str,
    ) -> Option<(String, Span)> {
        if !f.has(key) {
            self.missing(f, key, what);
            return None;
        }
        self.string(f, key)
    }

    /// A string that may contain `${...}`: references are recorded for the variable
    /// check.
    pub(crate) fn template(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<(String, Span)> {
        let (s, span) = self.string(f, key)?;
        self.note_template(&s, &span);
        Some((s, span))
    }

    /// Records the `${...}` references of a template for the variable check.
    pub(crate) fn note_template(&mut self, s: &str, span: &Span) {
        match var_refs(s) {
            Ok(refs) => {
                for r in refs {
                    if let VarName::Var(name) = r.name {
                        self.note_var_use(name, span);
                    }
                }
            }
            Err(e) => self.err(Semantic, span, e.to_string()),
        }
    }

    pub(crate) fn boolean(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<bool> {
        let v = f.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.type_err(key, v, "true or false");
                None
            }
        }
    }

    pub(crate) fn int(
        &mut self,
        f: &Fields<'_, '_>,
        key: &str,
        min: i128,
        max: i128,
    ) -> Option<i128> {
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

    pub(crate) fn duration(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<Duration> {
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

    pub(crate) fn table<'a, 'i>(
        &mut self,
        f: &Fields<'a, 'i>,
        key: &str,
    ) -> Option<Fields<'a, 'i>> {
        let v = f.get(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Fields::new(t, v.span())),
            _ => {
                self.type_err(key, v, "a table");
                None
            }
        }
    }

    pub(crate) fn array<'a, 'i>(&mut self, f: &Fields<'a, 'i>, key: &str) -> Option<&'a [V<'i>]> {
        let v = f.get(key)?;
        match v.get_ref() {
            DeValue::Array(a) => Some(a),
            _ => {
                self.type_err(key, v, "an array");
                None
            }
        }
    }

    pub(crate) fn string_list(
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
    pub(crate) fn string_map(
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
    pub(crate) fn headers(&mut self, f: &Fields<'_, '_>, key: &str) -> Vec<(String, String)> {
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
    pub(crate) fn json(&mut self, key: &str, v: &V<'_>) -> Option<Value> {
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

    pub(crate) fn regex_field(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<(String, Span)> {
        let (s, span) = self.template(f, key)?;
        if !has_refs(&s) {
            if let Err(e) = compile_regex(&s) {
                self.err(Semantic, &span, format!("field {key:?}: {e}"));
                return None;
            }
        }
        Some((s, span))
    }

    pub(crate) fn hex_field(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<Vec<u8>> {
        let (s, span) = self.string(f, key)?;
        match parse_hex(&s) {
            Ok(b) => Some(b),
            Err(e) => {
                self.err(Semantic, &span, format!("field {key:?}: {e}"));
                None
            }
        }
    }

    pub(crate) fn var_name_field(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<String> {
        let (s, span) = self.string(f, key)?;
        self.check_var_target(&s, &span).then_some(s)
    }

    pub(crate) fn check_var_target(&mut self, name: &str, span: &Span) -> bool {
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

    pub(crate) fn status(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<u16> {
        self.int(f, key, 100, 599).map(|i| i as u16)
    }

    /// Which one of `keys` is present. Reports a missing choice (when `required`) and
    /// combinations; returns `None` in both cases.
    pub(crate) fn exactly_one(
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

    pub(crate) fn check_url(&mut self, url: &str, span: &Span, key: &str, schemes: &[&str]) {
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

    pub(crate) fn conn(&mut self, f: &Fields<'_, '_>) -> Option<String> {
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

    pub(crate) fn within(&mut self, f: &Fields<'_, '_>) -> Duration {
        self.duration(f, "within")
            .unwrap_or(DEFAULT_WITHIN.min(self.deadline))
    }

    pub(crate) fn target(&mut self, f: &Fields<'_, '_>, schemes: &[&str]) -> Option<Address> {
        match self.exactly_one(f, &["url", "path"], true)? {
            "url" => {
                let (u, span) = self.template(f, "url")?;
                self.check_url(&u, &span, "url", schemes);
                Some(Address::Url(u))
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
                Some(Address::Path(p))
            }
        }
    }

    pub(crate) fn method(&mut self, f: &Fields<'_, '_>) -> String {
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

    pub(crate) fn json_path(&mut self, key: &str, s: &str, span: &Span) -> Option<JsonPath> {
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
}
