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

mod client;
mod conn;
mod connections;
mod expect;
mod files;
mod http;
mod lifecycle;
mod listen;
mod listener;
mod preflight;
pub mod process;
mod runner;
mod send;
mod series;
mod server;
mod server_checks;
mod time;
mod trigger;

pub use files::{FileGuard, MAX_FILE};
pub use preflight::{port_option_warning, preflight, Preflight};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::report::{CaseReport, RunReport};
use crate::scenario::{LoadError, Profile, Scenario};

use runner::{not_run_cases, run_cases};

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

/// A profile's run: its report, and why nothing could be tested, when so.
#[derive(Debug, Clone)]
pub struct ProfileRun {
    /// The report (always written, also when nothing could be tested).
    pub report: RunReport,
    /// Set when no scenario got past its setup (the server never became ready, a
    /// project directory is missing, ...): the run tested nothing, which is "could not
    /// test" (exit 2), not a verdict on the server.
    pub untested: Option<String>,
}

/// Loads and runs one scenario file; its case ids carry its directory's name, as when
/// the directory runs (see [`Profile`]).
pub async fn run_file(path: &Path, opts: &EngineOptions) -> Result<RunReport, LoadError> {
    let profile = Profile::from_path(path)?;
    Ok(run_profile(&profile, opts).await.report)
}

/// Runs one scenario; always returns a report (problems before the first step, such as
/// an unset environment variable or a server that does not start, are a FAILED `#0`
/// case followed by NOT RUN steps).
pub async fn run_scenario(scn: &Scenario, opts: &EngineOptions) -> RunReport {
    let wall = SystemTime::now();
    let t = Instant::now();
    let run = run_cases(scn, opts, None).await;
    report(
        opts,
        scn.name.clone(),
        run.server_command,
        wall,
        t.elapsed(),
        run.cases,
    )
}

/// Runs the scenarios of a profile one after the other into one report whose target
/// is the profile's name; with a name, case ids read `<profile>/<scenario>#<n>`.
pub async fn run_profile(profile: &Profile, opts: &EngineOptions) -> ProfileRun {
    let wall = SystemTime::now();
    let t = Instant::now();
    let mut cases = Vec::new();
    let mut hint = None;
    let mut setup_failures = Vec::new();
    for s in &profile.scenarios {
        let run = run_cases(s, opts, profile.name.as_deref()).await;
        cases.extend(run.cases);
        hint = hint.or(run.server_command);
        if let Some(why) = run.setup_failed {
            setup_failures.push(format!("{}: {why}", s.name));
        }
    }
    let untested = (!profile.scenarios.is_empty()
        && setup_failures.len() == profile.scenarios.len())
    .then(|| match setup_failures.as_slice() {
        [one] => format!("the setup failed, so no step ran ({one})"),
        many => format!(
            "the setup of all {} scenarios failed, so no step ran (first: {})",
            many.len(),
            many[0]
        ),
    });
    ProfileRun {
        report: report(opts, profile.target(), hint, wall, t.elapsed(), cases),
        untested,
    }
}

/// The report of a profile that could not be tested at all (`reason`, e.g. from
/// [`preflight`]): every case a run would have, NOT RUN, saying why.
pub fn not_run_report(profile: &Profile, opts: &EngineOptions, reason: &str) -> RunReport {
    let cases = profile
        .scenarios
        .iter()
        .flat_map(|s| not_run_cases(s, opts, profile.name.as_deref(), reason))
        .collect();
    let hint = profile
        .scenarios
        .iter()
        .find_map(|s| s.server.as_ref())
        .filter(|_| opts.base_url.is_none())
        .map(|s| s.command.join(" "));
    report(
        opts,
        profile.target(),
        hint,
        SystemTime::now(),
        Duration::ZERO,
        cases,
    )
}

fn report(
    opts: &EngineOptions,
    target: String,
    server_command: Option<String>,
    wall: SystemTime,
    took: Duration,
    cases: Vec<CaseReport>,
) -> RunReport {
    let agent = opts.agent.clone().unwrap_or_else(|| {
        if let Some(u) = &opts.base_url {
            return u.clone();
        }
        server_command.unwrap_or_else(|| "external".into())
    });
    RunReport::new("scenario", agent, target, wall, took, cases)
}
