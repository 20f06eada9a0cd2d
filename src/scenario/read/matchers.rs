//! Message matchers, JSON and string patterns, and captures, as the steps write them.
//!
//! Patterns are compiled at load time (with `"$any"` standing in for `${...}`), so a bad
//! wildcard or regex is a load-time error with a position, not a failed step.

use serde_json::Value;
use toml::de::DeValue;

use super::fields::is_header_name;
use super::{Fields, Reader, Semantic, V};
use crate::scenario::matcher::{compile_regex, JsonPattern, MessageMatcher, MessageType};
use crate::scenario::model::{Capture, CaptureSource};
use crate::scenario::vars::has_refs;

/// Replaces strings that contain `${...}` by `"$any"` so a pattern can be compiled for
/// validation before the values are known.
fn placeholder_json(v: &Value) -> Value {
    match v {
        Value::String(s) if has_refs(s) => Value::String("$any".into()),
        Value::Array(a) => Value::Array(a.iter().map(placeholder_json).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), placeholder_json(v)))
                .collect(),
        ),
        other => other.clone(),
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

/// The matcher, pattern and capture readers.
impl Reader<'_> {
    /// A JSON pattern: converted, then compiled (with placeholders for `${...}`) so
    /// bad wildcards and regexes are reported at load time.
    pub(crate) fn pattern(&mut self, key: &str, v: &V<'_>) -> Option<Value> {
        self.pattern_with(key, v, false)
    }

    /// `optional`: the pattern is for a value that may be missing, so a top-level
    /// `"$absent"` is allowed.
    pub(crate) fn pattern_with(&mut self, key: &str, v: &V<'_>, optional: bool) -> Option<Value> {
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
    pub(crate) fn header_patterns(&mut self, f: &Fields<'_, '_>, key: &str) -> Option<Value> {
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
    pub(crate) fn string_pattern(
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

    /// A message matcher table (`match`, `messages[i]`, `ignore[i]`, `rpc.expect`).
    /// `extra` lists additional allowed keys (e.g. `capture` in `messages`).
    pub(crate) fn matcher(
        &mut self,
        key: &str,
        v: &V<'_>,
        extra: &[&str],
    ) -> Option<MessageMatcher> {
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

    pub(crate) fn matcher_list(&mut self, f: &Fields<'_, '_>, key: &str) -> Vec<MessageMatcher> {
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
    pub(crate) fn captures(&mut self, f: &Fields<'_, '_>, http: bool) -> Vec<Capture> {
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

    pub(crate) fn capture_source(
        &mut self,
        cf: &Fields<'_, '_>,
        http: bool,
    ) -> Option<CaptureSource> {
        self.finish(cf, &["json", "regex", "group", "header", "whole"]);
        let which = self.capture_kind(cf, http)?;
        self.capture_source_only(cf, which)
    }

    /// Which capture form a table uses (`json`, `regex`, `whole`, `header`).
    pub(crate) fn capture_kind(&mut self, cf: &Fields<'_, '_>, http: bool) -> Option<&'static str> {
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

    pub(crate) fn capture_source_only(
        &mut self,
        cf: &Fields<'_, '_>,
        which: &str,
    ) -> Option<CaptureSource> {
        match which {
            "json" => {
                let (s, span) = self.string(cf, "json")?;
                self.json_path("json", &s, &span).map(CaptureSource::Json)
            }
            "regex" => {
                let (re, span) = self.regex_field(cf, "regex")?;
                let group = self.int(cf, "group", 0, 99).map_or(1, |g| g as usize);
                if !has_refs(&re) {
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
}
