//! Execution-time expansion of `${...}` over whole steps, `[vars]` and `[server]`.
//!
//! Each action expands its own fields (`ActionSpec::resolve`, with the helpers here).
//! The engine calls [`Scenario::initial_vars`] once, [`ServerSpec::resolve`] before
//! starting the server, and [`Step::resolve`] right before running each step (after
//! setting `last_sent`; for `expect_ack`, `last_sent` must hold the message named by
//! `after`). The result has no references left, and the checks that could not run at
//! load time (paths, payload sizes, patterns) have run on the final text.

use super::actions::check_project_path;
use super::error::{Diagnostic, DiagnosticKind, Location, ScenarioError};
use super::matcher::{compile_regex, JsonPattern, MessageMatcher};
use super::model::{Address, Bytes, Capture, CaptureSource, Ready, Scenario, ServerSpec, Step};
use super::vars::{substitute, substitute_json, VarError, Vars};
use serde_json::Value;
use std::fmt;

/// Why a step could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// A reference could not be expanded.
    Var(VarError),
    /// The expanded text breaks a rule (path escape, oversized payload, bad pattern).
    Invalid(String),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Var(e) => e.fmt(f),
            ResolveError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ResolveError {}

impl From<VarError> for ResolveError {
    fn from(e: VarError) -> Self {
        ResolveError::Var(e)
    }
}

/// A [`ResolveError`] with the step's location, e.g.
/// `a.toml:14:1: step 3 (action "expect"): undefined variable "token"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// Where the step is.
    pub location: Location,
    /// `step N (action "...")`.
    pub step: String,
    /// What went wrong.
    pub error: ResolveError,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.step, self.error)
    }
}

impl std::error::Error for StepError {}

/// What the substitution helpers return.
pub(crate) type R = Result<(), ResolveError>;

pub(crate) fn sub(s: &mut String, vars: &Vars) -> R {
    if s.contains('$') {
        *s = substitute(s, vars)?;
    }
    Ok(())
}

pub(crate) fn sub_opt(s: &mut Option<String>, vars: &Vars) -> R {
    if let Some(s) = s {
        sub(s, vars)?;
    }
    Ok(())
}

pub(crate) fn sub_pairs(pairs: &mut [(String, String)], vars: &Vars) -> R {
    for (_, v) in pairs {
        sub(v, vars)?;
    }
    Ok(())
}

pub(crate) fn sub_json(v: &mut Value, vars: &Vars) -> R {
    *v = substitute_json(v, vars)?;
    Ok(())
}

pub(crate) fn sub_pattern(v: &mut Option<Value>, vars: &Vars) -> R {
    if let Some(v) = v {
        sub_json(v, vars)?;
        JsonPattern::compile_optional(v).map_err(|e| ResolveError::Invalid(e.to_string()))?;
    }
    Ok(())
}

pub(crate) fn sub_matcher(m: &mut MessageMatcher, vars: &Vars) -> R {
    *m = m.substituted(vars)?;
    m.compile()
        .map_err(|e| ResolveError::Invalid(e.to_string()))?;
    Ok(())
}

pub(crate) fn sub_captures(caps: &mut [Capture], vars: &Vars) -> R {
    for c in caps {
        if let CaptureSource::Regex { regex, .. } = &mut c.source {
            sub(regex, vars)?;
            compile_regex(regex).map_err(ResolveError::Invalid)?;
        }
    }
    Ok(())
}

pub(crate) fn sub_address(t: &mut Address, vars: &Vars) -> R {
    match t {
        Address::Url(s) | Address::Path(s) => sub(s, vars),
    }
}

pub(crate) fn sub_path(p: &mut String, vars: &Vars) -> R {
    sub(p, vars)?;
    check_project_path(p).map_err(ResolveError::Invalid)
}

pub(crate) fn sub_bytes(b: &mut Bytes, vars: &Vars) -> R {
    if let Bytes::Text(t) = b {
        sub(t, vars)?;
    }
    Ok(())
}

impl Step {
    /// A copy of the step with every template expanded and re-checked.
    pub fn resolve(&self, vars: &Vars) -> Result<Step, StepError> {
        let mut out = self.clone();
        let result = out
            .action
            .resolve(vars)
            .and_then(|()| sub_opt(&mut out.title, vars));
        match result {
            Ok(()) => Ok(out),
            Err(error) => Err(StepError {
                location: self.location.clone(),
                step: self.label(),
                error,
            }),
        }
    }
}

impl ServerSpec {
    /// A copy with `command`, `cwd`, `env` and `ready` expanded.
    pub fn resolve(&self, vars: &Vars) -> Result<ServerSpec, StepError> {
        let mut out = self.clone();
        let result = (|| -> R {
            for c in &mut out.command {
                sub(c, vars)?;
            }
            sub_opt(&mut out.cwd, vars)?;
            sub_pairs(&mut out.env, vars)?;
            match &mut out.ready {
                Ready::TcpPort(p) => {
                    sub(p, vars)?;
                    if !matches!(p.parse::<u16>(), Ok(n) if n > 0) {
                        return Err(ResolveError::Invalid(format!(
                            "ready.tcp_port is {p:?}; expected a port number from 1 to 65535"
                        )));
                    }
                }
                Ready::HttpProbe { url, .. } => sub(url, vars)?,
                Ready::StdoutLine(re) | Ready::StderrLine(re) => {
                    sub(re, vars)?;
                    compile_regex(re).map_err(ResolveError::Invalid)?;
                }
            }
            Ok(())
        })();
        result.map(|()| out).map_err(|error| StepError {
            location: self.location.clone(),
            step: "[server]".into(),
            error,
        })
    }
}

impl Scenario {
    /// The variables the first step sees: `builtins` (set by the caller: `host`,
    /// `port`, `project_dir`, `scenario_dir`, and its `${env:..}` source), then each
    /// `[vars]` entry in file order, expanded. A `[vars]` entry the caller already
    /// set (e.g. a default `port`) keeps the caller's value.
    pub fn initial_vars(&self, builtins: Vars) -> Result<Vars, ScenarioError> {
        let mut vars = builtins;
        for def in &self.vars {
            if vars.contains(&def.name) {
                continue;
            }
            match substitute(&def.value, &vars) {
                Ok(v) => vars.set(def.name.clone(), v),
                Err(e) => {
                    return Err(ScenarioError::single(Diagnostic {
                        kind: DiagnosticKind::Semantic,
                        location: def.location.clone(),
                        context: "[vars]".into(),
                        message: format!("variable {:?}: {e}", def.name),
                    }))
                }
            }
        }
        Ok(vars)
    }
}
