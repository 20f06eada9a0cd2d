//! The scenario language of the scripted peer.
//!
//! A scenario is a TOML file that drives named WebSocket connections through the
//! message sequences of a dev server (Vite HMR, webpack-dev-server, the Module
//! Federation DTS broker), starts and restarts the server under test, edits project
//! files, and asserts on what comes back and how fast. The reference is
//! `docs/scenario-format.md`.
//!
//! Everything here but [`engine`] is pure (it reads files, but opens no connection and
//! starts no process):
//!
//! * [`actions`]: the table of actions, one file per family: how each action is read,
//!   what it uses and defines, how its templates expand, how it is described;
//! * the loader (`read/`): spanned TOML readers, the document's sections, matchers,
//!   the load-time checks, "did you mean" hints; every problem as `file:line:col`;
//! * the model ([`Scenario`], [`Step`], [`StepAction`]), matchers ([`JsonPattern`],
//!   [`MessageMatcher`]), variables ([`Vars`]), JSON paths, durations, the expansion
//!   of a step right before it runs ([`Step::resolve`]), and [`Profile`], the named list
//!   of scenarios a run loads.
//!
//! [`engine`] is the runtime: it runs the steps over the wire peer ([`crate::peer`],
//! with its HTTP client [`crate::peer::http`]), controls the server process
//! ([`engine::process`]) and edits project files, and turns every step into a case of
//! the report.
//!
//! ```
//! use wsspec::scenario::{Scenario, StepAction};
//! let src = r#"
//! [scenario]
//! name = "greeting"
//!
//! [[step]]
//! action = "connect"
//! conn = "hmr"
//! url = "ws://127.0.0.1:${port}/"
//! protocols = ["vite-hmr"]
//!
//! [[step]]
//! action = "expect"
//! conn = "hmr"
//! within = "2s"
//! match = { type = "json", json = { type = "connected" } }
//! "#;
//! let s = Scenario::from_str(src, "greeting.toml").unwrap();
//! assert!(matches!(s.steps[1].action, StepAction::Expect(_)));
//! ```

pub mod actions;
mod describe;
mod duration;
pub mod engine;
mod error;
mod matcher;
mod model;
mod path;
mod profile;
mod read;
mod resolve;
mod vars;

pub use actions::*;
pub use duration::{format_duration, parse_duration, DurationError, MAX_DURATION};
pub use engine::{
    not_run_report, preflight, run_file, run_profile, run_scenario, ConnectDefaults, EngineOptions,
    Preflight, ProfileRun,
};
pub use error::{Diagnostic, DiagnosticKind, Location, ScenarioError, MAX_DIAGNOSTICS};
pub use matcher::{
    CompiledMatcher, JsonKind, JsonPattern, MatcherError, MessageMatcher, MessageRef, MessageType,
    Mismatch, PatternError, WILDCARDS,
};
pub use model::*;
pub use path::{JsonPath, PathError, PathLookupError, PathSegment};
pub use profile::{profile_dirs, LoadError, Profile};
pub use read::parse_hex;
pub use resolve::{ResolveError, StepError};
pub use vars::{
    has_refs, is_var_name, render_value, substitute, substitute_json, substitute_known, var_refs,
    EnvSource, VarError, VarName, VarRef, Vars,
};

use std::path::Path;
use std::sync::Arc;

/// Largest scenario file accepted; a scenario is hand-written text, and the bound
/// keeps a mistaken path (a log, a binary) from being slurped.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;

impl Scenario {
    /// Reads and parses a scenario file; diagnostics are labelled with `path` as given.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let label: Arc<str> = Arc::from(path.display().to_string());
        let io_err = |message: String| {
            ScenarioError::single(Diagnostic {
                kind: DiagnosticKind::Io,
                location: Location::file_only(label.clone()),
                context: String::new(),
                message,
            })
        };
        let meta =
            std::fs::metadata(path).map_err(|e| io_err(format!("cannot read the file: {e}")))?;
        if meta.len() > MAX_SCENARIO_BYTES {
            return Err(io_err(format!(
                "the file is {} bytes; a scenario may be at most {MAX_SCENARIO_BYTES} bytes",
                meta.len()
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| io_err(format!("cannot read the file: {e}")))?;
        let src = String::from_utf8(bytes).map_err(|e| {
            io_err(format!(
                "the file is not UTF-8 (byte offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        read::parse_scenario(&src, label.clone())
    }

    /// Parses a scenario held in memory; `file_label` names it in diagnostics.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(src: &str, file_label: &str) -> Result<Scenario, ScenarioError> {
        read::parse_scenario(src, Arc::from(file_label))
    }

    /// The step with this id.
    pub fn step_by_id(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id.as_deref() == Some(id))
    }
}
