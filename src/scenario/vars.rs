//! Variables and `${...}` substitution.
//!
//! Template syntax inside any string field of a step:
//!
//! * `${name}`: the value of variable `name` (`[A-Za-z_][A-Za-z0-9_]*`);
//! * `${name.path}` / `${name[0]}`: a part of a variable holding JSON (a captured
//!   object, or a string that parses as JSON, like the last sent message), using the
//!   [`JsonPath`] syntax;
//! * `${env:NAME}`: an environment variable of the kit's process;
//! * `$${`: a literal `${`. Any other `$` is literal, so matcher wildcards such as
//!   `"$any"` need no escaping.
//!
//! Variables hold JSON values: `[vars]` entries are strings, captures keep the type of
//! what they captured. In a string context a string is inserted as is and any other
//! value as compact JSON. In a JSON context ([`substitute_json`]) a string that is
//! exactly one reference is replaced by the typed value, so `id = "${req_id}"` can
//! match a numeric id.

use super::path::{JsonPath, PathError};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarError {
    /// `${name}` names no variable.
    Undefined {
        /// The variable name.
        name: String,
    },
    /// `${env:NAME}` names an environment variable that is not set (or not UTF-8).
    EnvUnset {
        /// The environment variable name.
        name: String,
    },
    /// `${name.path}`: the path does not exist in the variable's value.
    PathNotFound {
        /// The variable name.
        name: String,
        /// The path as written.
        path: String,
        /// Why the lookup failed.
        reason: String,
    },
    /// The template itself is malformed (unclosed `${`, bad name, bad path).
    Syntax {
        /// Byte offset of the problem in the template.
        offset: usize,
        /// What was expected.
        message: String,
    },
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarError::Undefined { name } => write!(f, "undefined variable \"{name}\""),
            VarError::EnvUnset { name } => {
                write!(f, "environment variable \"{name}\" is not set")
            }
            VarError::PathNotFound { name, path, reason } => {
                write!(f, "variable \"{name}\" has no {path}: {reason}")
            }
            VarError::Syntax { offset, message } => {
                write!(f, "bad variable reference at offset {offset}: {message}")
            }
        }
    }
}

impl std::error::Error for VarError {}

/// What a `${...}` reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarName {
    /// A scenario variable.
    Var(String),
    /// `env:NAME`.
    Env(String),
}

/// One `${...}` occurrence in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// What is referenced.
    pub name: VarName,
    /// The path after the name (`${last_sent.id}`), if any.
    pub path: Option<JsonPath>,
    /// The path as written, for messages.
    pub path_text: String,
    /// Byte range of the whole `${...}` in the template.
    pub range: std::ops::Range<usize>,
}

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Ref(VarRef),
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// True when `s` is a valid variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_var_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if is_ident_start(c)) && cs.all(is_ident_char)
}

fn parse_template(t: &str) -> Result<Vec<Piece>, VarError> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < t.len() {
        let rest = &t[i..];
        if rest.starts_with("$${") {
            lit.push_str("${");
            i += 3;
        } else if rest.starts_with("${") {
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            let close = rest.find('}').ok_or_else(|| VarError::Syntax {
                offset: i,
                message: "unclosed \"${\"; expected \"}\" (write \"$${\" for a literal \"${\")"
                    .into(),
            })?;
            pieces.push(Piece::Ref(parse_ref(
                &rest[2..close],
                i + 2,
                i..i + close + 1,
            )?));
            i += close + 1;
        } else {
            let ch = rest.chars().next().unwrap_or_default();
            lit.push(ch);
            i += ch.len_utf8();
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

fn parse_ref(
    inner: &str,
    offset: usize,
    range: std::ops::Range<usize>,
) -> Result<VarRef, VarError> {
    let syntax = |message: String| VarError::Syntax { offset, message };
    if let Some(env) = inner.strip_prefix("env:") {
        if !is_var_name(env) {
            return Err(syntax(format!(
                "bad environment variable name {env:?}; expected letters, digits and '_'"
            )));
        }
        return Ok(VarRef {
            name: VarName::Env(env.to_string()),
            path: None,
            path_text: String::new(),
            range,
        });
    }
    let name_len = inner
        .char_indices()
        .find(|&(_, c)| !is_ident_char(c))
        .map_or(inner.len(), |(i, _)| i);
    let name = &inner[..name_len];
    if !is_var_name(name) {
        return Err(syntax(format!(
            "bad variable name {inner:?}; expected a name like ${{token}}, ${{last_sent.id}} or ${{env:HOME}}"
        )));
    }
    let rest = &inner[name_len..];
    let path = if rest.is_empty() {
        None
    } else {
        if !(rest.starts_with('.') || rest.starts_with('[')) {
            return Err(syntax(format!(
                "bad variable name {inner:?}; after the name expected '.', '[' or '}}'"
            )));
        }
        Some(
            JsonPath::parse(rest)
                .map_err(|e: PathError| syntax(format!("in {inner:?}: {}", e.reason)))?,
        )
    };
    Ok(VarRef {
        name: VarName::Var(name.to_string()),
        path,
        path_text: rest.to_string(),
        range,
    })
}

/// Lists the `${...}` references of a template, or the syntax error that stops it.
pub fn var_refs(template: &str) -> Result<Vec<VarRef>, VarError> {
    Ok(parse_template(template)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Ref(r) => Some(r),
            Piece::Lit(_) => None,
        })
        .collect())
}

/// True when the string contains a `${` reference (a `$${` escape is not one), or is
/// malformed; i.e. when its final text is only known after substitution.
pub fn has_refs(template: &str) -> bool {
    template.contains("${") && var_refs(template).map_or(true, |v| !v.is_empty())
}

/// Where `${env:NAME}` values come from.
#[derive(Debug, Clone, Default)]
pub enum EnvSource {
    /// The kit's own process environment.
    #[default]
    Process,
    /// A fixed map (tests, or a caller that wants to sandbox the environment).
    Fixed(BTreeMap<String, String>),
}

/// A set of variables plus an environment source.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, Value>,
    env: EnvSource,
}

impl Vars {
    /// No variables; `${env:...}` reads the process environment.
    pub fn new() -> Self {
        Vars::default()
    }

    /// No variables; `${env:...}` reads only `env`.
    pub fn with_env(env: BTreeMap<String, String>) -> Self {
        Vars {
            values: BTreeMap::new(),
            env: EnvSource::Fixed(env),
        }
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.values.insert(name.into(), value.into());
    }

    /// Removes a variable.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.values.remove(name)
    }

    /// The value of a variable.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// True when the variable is set.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// All variables, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn env_var(&self, name: &str) -> Option<String> {
        match &self.env {
            EnvSource::Process => std::env::var(name).ok(),
            EnvSource::Fixed(m) => m.get(name).cloned(),
        }
    }

    /// Resolves one reference to its (typed) value.
    pub fn resolve(&self, r: &VarRef) -> Result<Cow<'_, Value>, VarError> {
        match &r.name {
            VarName::Env(n) => self
                .env_var(n)
                .map(|s| Cow::Owned(Value::String(s)))
                .ok_or_else(|| VarError::EnvUnset { name: n.clone() }),
            VarName::Var(n) => {
                let v = self
                    .values
                    .get(n)
                    .ok_or_else(|| VarError::Undefined { name: n.clone() })?;
                let Some(path) = &r.path else {
                    return Ok(Cow::Borrowed(v));
                };
                let not_found = |reason: String| VarError::PathNotFound {
                    name: n.clone(),
                    path: r.path_text.clone(),
                    reason,
                };
                // A string that holds JSON (e.g. the text of the last sent message)
                // is looked into as JSON.
                let parsed;
                let doc = match v {
                    Value::String(s) => {
                        parsed = serde_json::from_str::<Value>(s)
                            .map_err(|_| not_found("its value is not JSON".into()))?;
                        &parsed
                    }
                    other => other,
                };
                let found = path.lookup(doc).map_err(|e| not_found(e.to_string()))?;
                Ok(Cow::Owned(found.clone()))
            }
        }
    }
}

/// Renders a value for a string context: strings as is, anything else as JSON.
pub fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Expands every `${...}` in `template`. The error names the missing variable.
///
/// ```
/// use wsspec::scenario::{substitute, Vars};
/// let mut vars = Vars::new();
/// vars.set("port", "5173");
/// assert_eq!(substitute("ws://127.0.0.1:${port}/", &vars).unwrap(), "ws://127.0.0.1:5173/");
/// assert!(substitute("${nope}", &vars).unwrap_err().to_string().contains("\"nope\""));
/// ```
pub fn substitute(template: &str, vars: &Vars) -> Result<String, VarError> {
    if !template.contains('$') {
        return Ok(template.to_string());
    }
    let mut out = String::with_capacity(template.len());
    for piece in parse_template(template)? {
        match piece {
            Piece::Lit(s) => out.push_str(&s),
            Piece::Ref(r) => out.push_str(&render_value(vars.resolve(&r)?.as_ref())),
        }
    }
    Ok(out)
}

/// Expands the references that can be expanded and leaves the others as written, for
/// text shown before a step runs (the title of a step that was not run). Returns the
/// text and the references left in it (`${token}`, `${env:HOME}`), in order.
///
/// ```
/// use wsspec::scenario::{substitute_known, Vars};
/// let mut vars = Vars::new();
/// vars.set("path", "/ws");
/// let (t, left) = substitute_known("connect to ${path}?t=${token}", &vars);
/// assert_eq!(t, "connect to /ws?t=${token}");
/// assert_eq!(left, ["${token}"]);
/// ```
pub fn substitute_known(template: &str, vars: &Vars) -> (String, Vec<String>) {
    let Ok(pieces) = parse_template(template) else {
        return (template.to_string(), Vec::new());
    };
    let mut out = String::with_capacity(template.len());
    let mut left = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Lit(s) => out.push_str(&s),
            Piece::Ref(r) => match vars.resolve(&r) {
                Ok(v) => out.push_str(&render_value(v.as_ref())),
                Err(_) => {
                    let written = &template[r.range.clone()];
                    out.push_str(written);
                    if !left.iter().any(|l| l == written) {
                        left.push(written.to_string());
                    }
                }
            },
        }
    }
    (out, left)
}

/// Expands references in every string (keys included) of a JSON value. A string that
/// is exactly one reference becomes the referenced value with its JSON type.
pub fn substitute_json(value: &Value, vars: &Vars) -> Result<Value, VarError> {
    Ok(match value {
        Value::String(s) => {
            if !s.contains('$') {
                return Ok(value.clone());
            }
            let pieces = parse_template(s)?;
            if let [Piece::Ref(r)] = pieces.as_slice() {
                vars.resolve(r)?.into_owned()
            } else {
                Value::String(substitute(s, vars)?)
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| substitute_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = serde_json::Map::with_capacity(m.len());
            for (k, v) in m {
                out.insert(substitute(k, vars)?, substitute_json(v, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut env = BTreeMap::new();
        env.insert("HOME_DIR".to_string(), "/home/u".to_string());
        let mut v = Vars::with_env(env);
        v.set("port", "5173");
        v.set("n", 42);
        v.set("last_sent", r#"{"id": 7, "data": {"id": "send:x"}}"#);
        v.set("obj", json!({"a": [1, {"b": true}]}));
        v
    }

    #[test]
    fn substitutes_plain_env_and_paths() {
        let v = vars();
        assert_eq!(substitute("p=${port}", &v).unwrap(), "p=5173");
        assert_eq!(substitute("${n}", &v).unwrap(), "42");
        assert_eq!(substitute("${env:HOME_DIR}/x", &v).unwrap(), "/home/u/x");
        assert_eq!(substitute("${last_sent.id}", &v).unwrap(), "7");
        assert_eq!(substitute("${last_sent.data.id}", &v).unwrap(), "send:x");
        assert_eq!(substitute("${obj.a[1].b}", &v).unwrap(), "true");
        assert_eq!(substitute("${obj}", &v).unwrap(), r#"{"a":[1,{"b":true}]}"#);
        assert_eq!(substitute("no refs $any $", &v).unwrap(), "no refs $any $");
        assert_eq!(substitute("$${port} ${port}", &v).unwrap(), "${port} 5173");
        assert_eq!(substitute("é${port}é", &v).unwrap(), "é5173é");
    }

    #[test]
    fn errors_name_the_missing_thing() {
        let v = vars();
        assert_eq!(
            substitute("a ${token} b", &v).unwrap_err(),
            VarError::Undefined {
                name: "token".into()
            }
        );
        assert_eq!(
            substitute("${env:NOPE}", &v).unwrap_err().to_string(),
            "environment variable \"NOPE\" is not set"
        );
        let e = substitute("${last_sent.missing}", &v).unwrap_err();
        assert!(
            e.to_string()
                .contains("variable \"last_sent\" has no .missing"),
            "{e}"
        );
        let e = substitute("${port.x}", &v).unwrap_err();
        assert!(
            e.to_string().contains("cannot take key \"x\" of a number"),
            "{e}"
        );
        let mut w = vars();
        w.set("word", "hello");
        let e = substitute("${word.x}", &w).unwrap_err();
        assert!(e.to_string().contains("not JSON"), "{e}");
        for bad in [
            "${", "x ${port", "${}", "${1a}", "${a b}", "${env:}", "${a.}",
        ] {
            assert!(
                matches!(substitute(bad, &v), Err(VarError::Syntax { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn lists_references() {
        let refs = var_refs("${a}-${env:B}-${c.d[0]}-$${e}").unwrap();
        let names: Vec<_> = refs.iter().map(|r| r.name.clone()).collect();
        assert_eq!(
            names,
            vec![
                VarName::Var("a".into()),
                VarName::Env("B".into()),
                VarName::Var("c".into())
            ]
        );
        assert_eq!(refs[2].path_text, ".d[0]");
        assert_eq!(refs[0].range, 0..4);
        assert!(has_refs("${x}"));
        assert!(!has_refs("$${x} $any"));
    }

    #[test]
    fn json_substitution_keeps_types_for_whole_references() {
        let v = vars();
        let pat =
            json!({"id": "${last_sent.id}", "s": "id=${last_sent.id}", "k${n}": ["${n}", "$any"]});
        assert_eq!(
            substitute_json(&pat, &v).unwrap(),
            json!({"id": 7, "s": "id=7", "k42": [42, "$any"]})
        );
        // A string var stays a string even when it looks like a number.
        assert_eq!(
            substitute_json(&json!("${port}"), &v).unwrap(),
            json!("5173")
        );
    }
}
