//! The scenario engine: runs a [`Scenario`] against a server and reports every step as
//! a [`CaseReport`], in the same formats as the RFC 6455 suite.
//!
//! ```no_run
//! # async fn demo() {
//! use wsspec::scenario::engine::{run_file, EngineOptions};
//! let opts = EngineOptions {
//!     base_url: Some("ws://127.0.0.1:5173/".into()),
//!     ..Default::default()
//! };
//! let report = run_file(std::path::Path::new("greeting.toml"), &opts).await.unwrap();
//! println!("{} steps", report.cases.len());
//! # }
//! ```
//!
//! Semantics (the user-facing form is section "Running scenarios" of
//! `docs/scenario-format.md`):
//!
//! * Steps run in file order. Each becomes one case with id `<scenario>#<n>` (plus
//!   `-<step id>` when the step has an id; `<profile>/` in front when run as part of a
//!   profile). A scenario with `[server]` gets a `#0` case for the start and a
//!   `#cleanup` case for the stop and the file restoration.
//! * After a FAILED step the remaining steps are NOT RUN (unless
//!   [`EngineOptions::keep_going`]); the cleanup (closing connections, stopping the
//!   server, restoring files) always runs, also after the deadline.
//! * Every wait is bounded by its own window, the step's `timeout` and the scenario's
//!   global deadline; when the deadline passes, the running step fails and the rest
//!   are NOT RUN. The run always ends with a report.
//! * Connections are read continuously in the background, so pings are answered (by
//!   default, like a browser) and messages are queued while other steps run. A close
//!   frame from the server is answered with a close frame, as browsers do.
//! * Each case's transcript holds everything recorded on every connection, the HTTP
//!   client and the server process (its output lines, kind `process`) since the
//!   previous case ended, in time order; times count from the scenario start.

mod conn;
mod connections;
mod expect;
mod files;
mod http;
pub mod process;
mod runner;
mod send;
mod server;
mod time;

pub use files::{FileGuard, MAX_FILE};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::report::{CaseReport, RunReport, SCHEMA_VERSION};
use crate::scenario::{Scenario, ScenarioError};

use runner::run_cases;

/// Largest number of transcript entries attached to one case; the middle of a longer
/// window is left out (and says so).
pub const MAX_CASE_ENTRIES: usize = 2000;

/// Connection defaults from the command line, applied to every `connect` step that
/// does not set its own.
#[derive(Debug, Clone, Default)]
pub struct ConnectDefaults {
    /// Extra request headers (a step's header of the same name wins).
    pub headers: Vec<(String, String)>,
    /// `Origin` for steps without `origin` or an `Origin` header.
    pub origin: Option<String>,
    /// Do not verify TLS certificates (`wss://`, `https://`).
    pub insecure: bool,
}

/// How to run a scenario.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// The server under test, `ws://host:port/` (or `http://`, `wss://`, `https://`):
    /// sets `${host}` and `${port}`. With a `[server]` section it means "that server is
    /// already running": nothing is started, and server actions are NOT RUN.
    pub base_url: Option<String>,
    /// `--var name=value` overrides; they win over `[vars]` and built-ins.
    pub vars: Vec<(String, String)>,
    /// The project directory (server cwd and root of file actions), instead of
    /// `[server] cwd`.
    pub project_dir: Option<PathBuf>,
    /// Replaces the scenario's `deadline`.
    pub deadline: Option<Duration>,
    /// Connection defaults.
    pub connect: ConnectDefaults,
    /// Run the steps after a failed one instead of reporting them NOT RUN.
    pub keep_going: bool,
    /// Profile name: case ids become `<profile>/<scenario>#<n>`.
    pub profile: Option<String>,
    /// Name of the server in reports (default: the URL, or the server command).
    pub agent: Option<String>,
}

/// A scenario file (or profile) that could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// One or more files have problems; every diagnostic names file, line and column.
    Scenario(Vec<ScenarioError>),
    /// The path is neither a scenario file nor a directory holding some.
    Path(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Scenario(errs) => {
                for (i, e) in errs.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            LoadError::Path(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LoadError {}

/// Loads and runs one scenario file.
pub async fn run_file(path: &Path, opts: &EngineOptions) -> Result<RunReport, LoadError> {
    let scn = Scenario::from_file(path).map_err(|e| LoadError::Scenario(vec![e]))?;
    Ok(run_scenario(&scn, opts).await)
}

/// The scenario files of a profile directory (`*.toml`, sorted by name), or the file
/// itself.
pub fn scenario_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(LoadError::Path(format!(
            "{}: no such scenario file or profile directory",
            path.display()
        )));
    }
    let rd =
        std::fs::read_dir(path).map_err(|e| LoadError::Path(format!("{}: {e}", path.display())))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(LoadError::Path(format!(
            "{}: the directory holds no *.toml scenario files",
            path.display()
        )));
    }
    Ok(files)
}

/// Loads every file first (reporting all problems of all files), then runs them one
/// after the other into one report whose `target` is `target` (when empty: the
/// scenario names).
pub async fn run_files(
    paths: &[PathBuf],
    target: &str,
    opts: &EngineOptions,
) -> Result<RunReport, LoadError> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match Scenario::from_file(p) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(LoadError::Scenario(errors));
    }
    let wall = SystemTime::now();
    let t = Instant::now();
    let mut cases = Vec::new();
    let mut hint = None;
    for s in &scenarios {
        let (c, h) = run_cases(s, opts).await;
        cases.extend(c);
        hint = hint.or(h);
    }
    let names;
    let target = if target.is_empty() {
        names = scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        &names
    } else {
        target
    };
    Ok(report(opts, target, hint, wall, t, cases))
}

/// Runs one scenario; always returns a report (problems before the first step, such as
/// an unset environment variable or a server that does not start, are a FAILED `#0`
/// case followed by NOT RUN steps).
pub async fn run_scenario(scn: &Scenario, opts: &EngineOptions) -> RunReport {
    let wall = SystemTime::now();
    let t = Instant::now();
    let (cases, hint) = run_cases(scn, opts).await;
    let target = opts.profile.clone().unwrap_or_else(|| scn.name.clone());
    report(opts, &target, hint, wall, t, cases)
}

fn report(
    opts: &EngineOptions,
    target: &str,
    server_command: Option<String>,
    wall: SystemTime,
    t: Instant,
    cases: Vec<CaseReport>,
) -> RunReport {
    let agent = opts.agent.clone().unwrap_or_else(|| {
        if let Some(u) = &opts.base_url {
            return u.clone();
        }
        server_command.unwrap_or_else(|| "external".into())
    });
    RunReport {
        tool: "wsspec".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        schema: SCHEMA_VERSION,
        kind: "scenario".into(),
        agent,
        target: target.into(),
        started: humantime::format_rfc3339_seconds(wall).to_string(),
        duration_ms: t.elapsed().as_secs_f64() * 1000.0,
        strict: false,
        cases,
    }
}
