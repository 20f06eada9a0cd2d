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
mod trigger;

pub use files::{FileGuard, MAX_FILE};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::report::{CaseReport, RunReport};
use crate::scenario::{LoadError, Profile, Scenario};

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
    /// Name of the server in reports (default: the URL, or the server command).
    pub agent: Option<String>,
}

/// Loads and runs one scenario file.
pub async fn run_file(path: &Path, opts: &EngineOptions) -> Result<RunReport, LoadError> {
    let scn = Scenario::from_file(path).map_err(|e| LoadError::Scenario(vec![e]))?;
    Ok(run_scenario(&scn, opts).await)
}

/// Runs one scenario; always returns a report (problems before the first step, such as
/// an unset environment variable or a server that does not start, are a FAILED `#0`
/// case followed by NOT RUN steps).
pub async fn run_scenario(scn: &Scenario, opts: &EngineOptions) -> RunReport {
    let wall = SystemTime::now();
    let t = Instant::now();
    let (cases, hint) = run_cases(scn, opts, None).await;
    report(opts, scn.name.clone(), hint, wall, t, cases)
}

/// Runs the scenarios of a profile one after the other into one report whose target
/// is the profile's name; with a name, case ids read `<profile>/<scenario>#<n>`.
pub async fn run_profile(profile: &Profile, opts: &EngineOptions) -> RunReport {
    let wall = SystemTime::now();
    let t = Instant::now();
    let mut cases = Vec::new();
    let mut hint = None;
    for s in &profile.scenarios {
        let (c, h) = run_cases(s, opts, profile.name.as_deref()).await;
        cases.extend(c);
        hint = hint.or(h);
    }
    report(opts, profile.target(), hint, wall, t, cases)
}

fn report(
    opts: &EngineOptions,
    target: String,
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
    RunReport::new("scenario", agent, target, wall, t.elapsed(), cases)
}
