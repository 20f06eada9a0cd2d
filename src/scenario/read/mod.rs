//! The scenario loader: walks the spanned TOML tree (`toml::de::DeTable`) so that every
//! diagnostic can point at the exact key or value, and builds the [`Scenario`] model.
//!
//! * [`fields`]: the typed readers of one TOML table (strings, templates, durations,
//!   integers, headers, JSON values, targets, ...), each reporting its own problems;
//! * [`document`]: the sections (`[scenario]`, `[vars]`, `[server]`, `[[step]]`);
//! * the actions' own fields are read by their types in [`super::actions`];
//! * [`matchers`]: message matchers, JSON and string patterns, captures;
//! * [`check`]: the rules that depend on earlier steps (connections, server state, fixed
//!   waits, step ids) and on the whole file (variables);
//! * [`suggest`]: "did you mean" hints.
//!
//! Loading never stops at the first problem: every reader reports what it finds (up to
//! [`MAX_DIAGNOSTICS`]) and the file is rejected if anything was reported.

mod check;
mod document;
mod fields;
mod matchers;
mod suggest;

pub(crate) use check::IdInfo;
pub use fields::parse_hex;
pub(crate) use fields::{int_value, is_conn_name, is_header_name, Fields};
pub(crate) use suggest::did_you_mean;

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{
    Diagnostic, DiagnosticKind, LineIndex, Location, ScenarioError, MAX_DIAGNOSTICS,
};
use super::model::{Scenario, DEFAULT_DEADLINE};
use check::Checks;
use fields::kind_name;

pub(crate) type Span = Range<usize>;
pub(crate) type V<'i> = Spanned<DeValue<'i>>;

pub(crate) use DiagnosticKind::{Schema, Semantic};

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
    let mut r = Reader {
        src,
        file,
        lines,
        diags: Vec::new(),
        ctx: String::new(),
        deadline: DEFAULT_DEADLINE,
        checks: Checks::default(),
    };
    let scenario = r.document(root.get_ref());
    match scenario {
        Some(s) if r.diags.is_empty() => Ok(s),
        _ => {
            if r.diags.is_empty() {
                // A construct was rejected without a diagnostic: a bug, but never an
                // "OK" for a file we could not read.
                r.diags.push(Diagnostic {
                    kind: Schema,
                    location: Location::file_only(r.file.clone()),
                    context: String::new(),
                    message: "could not build the scenario".into(),
                });
            }
            Err(ScenarioError::new(r.diags))
        }
    }
}

/// The loader's state: the source, the diagnostics so far, the context they are
/// reported in, and what the checks have learnt from the steps read so far.
pub(crate) struct Reader<'s> {
    src: &'s str,
    file: Arc<str>,
    lines: LineIndex,
    diags: Vec<Diagnostic>,
    /// `[server]`, `step 3 (action "expect")`, ...: the prefix of every diagnostic.
    ctx: String,
    /// The scenario's deadline: no duration may exceed it.
    pub(crate) deadline: Duration,
    checks: Checks,
}

impl Reader<'_> {
    pub(crate) fn loc(&self, span: &Span) -> Location {
        self.lines.location(self.src, &self.file, span)
    }

    /// Reports a problem at `span`, in the current context.
    pub(crate) fn err(&mut self, kind: DiagnosticKind, span: &Span, message: impl Into<String>) {
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

    /// `field "x": expected <expected>, got <kind of v>`.
    pub(crate) fn type_err(&mut self, key: &str, v: &V<'_>, expected: &str) {
        let got = kind_name(v.get_ref());
        self.err(
            Schema,
            &v.span(),
            format!("field {key:?}: expected {expected}, got {got}"),
        );
    }

    /// A required field is missing; reported at the table that lacks it.
    pub(crate) fn missing(&mut self, f: &Fields<'_, '_>, key: &str, what: &str) {
        self.err(Schema, &f.span, format!("missing field {key:?} ({what})"));
    }

    /// Reports keys that are not in `known`.
    pub(crate) fn finish(&mut self, f: &Fields<'_, '_>, known: &[&str]) {
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
}
