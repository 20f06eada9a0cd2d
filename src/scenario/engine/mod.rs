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

mod actions;
mod conn;
mod describe;
mod files;
pub mod process;
mod server;

pub use files::{FileGuard, MAX_FILE};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::peer::http::HttpResponse;
use crate::peer::transcript::Transcript;
use crate::report::{CaseReport, Direction, RunReport, TranscriptEntry, Verdict, SCHEMA_VERSION};
use crate::scenario::{
    format_duration, is_var_name, substitute, Scenario, ScenarioError, Step, Vars,
};

use conn::Conn;
use server::ServerCtl;

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

/// Runs one scenario; returns its cases and the server command it started, if any.
async fn run_cases(scn: &Scenario, opts: &EngineOptions) -> (Vec<CaseReport>, Option<String>) {
    let mut r = Runner::new(scn, opts);
    // Every wait inside is already bounded by the deadline; this outer bound only makes
    // sure that a slip somewhere can never keep the run from ending.
    let outer = r.deadline + Duration::from_secs(5);
    if tokio::time::timeout_at(outer.into(), r.run_steps())
        .await
        .is_err()
    {
        r.events
            .note("the run was cut off by the scenario deadline (outer bound)");
    }
    r.fill_not_run("the scenario deadline was reached");
    r.teardown().await;
    let hint = r
        .server
        .as_ref()
        .filter(|_| !r.external)
        .map(ServerCtl::command_line)
        .or_else(|| {
            scn.server
                .as_ref()
                .filter(|_| opts.base_url.is_none())
                .map(|s| s.command.join(" "))
        });
    (r.cases, hint)
}

/// Where a sent message went and when (for `expect_ack`, `rpc`, `last_sent`).
#[derive(Debug, Clone)]
pub(crate) struct SendRecord {
    text: String,
    at: Instant,
}

/// The result of one step.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    verdict: Verdict,
    sent: String,
    expected: String,
    observed: String,
    remote_close_code: Option<u16>,
}

impl Outcome {
    fn ok(
        sent: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Outcome {
            verdict: Verdict::Ok,
            sent: sent.into(),
            expected: expected.into(),
            observed: observed.into(),
            remote_close_code: None,
        }
    }

    fn failed(
        sent: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Outcome {
            verdict: Verdict::Failed,
            ..Outcome::ok(sent, expected, observed)
        }
    }

    fn not_run(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Outcome {
            verdict: Verdict::NotRun,
            ..Outcome::ok("", expected, observed)
        }
    }
}

pub(crate) struct Runner<'a> {
    scn: &'a Scenario,
    opts: &'a EngineOptions,
    prefix: String,
    started: Instant,
    deadline: Instant,
    step_cap: Instant,
    vars: Vars,
    conns: HashMap<String, Conn>,
    transcripts: Vec<Transcript>,
    events: Transcript,
    http_tr: Transcript,
    sends_by_id: HashMap<String, SendRecord>,
    last_send: HashMap<String, SendRecord>,
    last_http: Option<HttpResponse>,
    server: Option<ServerCtl>,
    files: Option<FileGuard>,
    /// `wss`/`https` for `path` targets (from a `wss://`/`https://` base URL).
    tls: bool,
    /// The server was started by someone else (`--url` with a `[server]` section).
    external: bool,
    cursor_ms: f64,
    done_steps: usize,
    cases: Vec<CaseReport>,
}

impl<'a> Runner<'a> {
    fn new(scn: &'a Scenario, opts: &'a EngineOptions) -> Self {
        let started = Instant::now();
        let deadline = started + opts.deadline.unwrap_or(scn.deadline);
        let prefix = match &opts.profile {
            Some(p) => format!("{p}/{}", scn.name),
            None => scn.name.clone(),
        };
        let events = Transcript::new("scenario", started);
        let http_tr = Transcript::new("http", started);
        Runner {
            scn,
            opts,
            prefix,
            started,
            deadline,
            step_cap: deadline,
            vars: Vars::new(),
            conns: HashMap::new(),
            transcripts: vec![events.clone(), http_tr.clone()],
            events,
            http_tr,
            sends_by_id: HashMap::new(),
            last_send: HashMap::new(),
            last_http: None,
            server: None,
            files: None,
            tls: false,
            external: false,
            cursor_ms: -1.0,
            done_steps: 0,
            cases: Vec::new(),
        }
    }

    fn ms(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.started).as_secs_f64() * 1000.0
    }

    /// The end of a window of `d` from `start`, cut by the step timeout and deadline.
    fn until(&self, start: Instant, d: Duration) -> Instant {
        (start + d).min(self.step_cap)
    }

    /// Words for a window that was cut short, or empty.
    fn cut_note(&self, start: Instant, d: Duration) -> &'static str {
        if start + d <= self.step_cap {
            ""
        } else if self.step_cap >= self.deadline {
            " (cut short by the scenario deadline)"
        } else {
            " (cut short by the step timeout)"
        }
    }

    fn case_id(&self, step: &Step) -> String {
        match &step.id {
            Some(id) => format!("{}#{}-{id}", self.prefix, step.index),
            None => format!("{}#{}", self.prefix, step.index),
        }
    }

    fn rfc(&self, check: &str, step: &Step) -> String {
        format!("scenario {check} ({})", step.location)
    }

    async fn run_steps(&mut self) {
        match self.setup().await {
            Err(why) => {
                self.push_setup_case(Outcome::failed("", "a usable scenario setup", why.clone()));
                self.fill_not_run(&format!("not run: the setup failed ({})", first_line(&why)));
                return;
            }
            Ok(Some(out)) => self.push_setup_case(out),
            Ok(None) => {}
        }
        let scn = self.scn;
        let mut stop: Option<String> = None;
        for step in &scn.steps {
            if stop.is_none() && Instant::now() >= self.deadline {
                stop = Some(format!(
                    "not run: the scenario deadline ({}) was reached",
                    format_duration(self.deadline - self.started)
                ));
            }
            if let Some(reason) = &stop {
                self.push_not_run(step, reason);
                continue;
            }
            let t0 = Instant::now();
            self.step_cap = match step.timeout {
                Some(t) => (t0 + t).min(self.deadline),
                None => self.deadline,
            };
            let (title, out) = match self.prepare(step) {
                Err(e) => (
                    step.title.clone().unwrap_or_else(|| describe::title(step)),
                    Outcome::failed("", "", format!("cannot prepare the step: {e}")),
                ),
                Ok(resolved) => {
                    let title = resolved
                        .title
                        .clone()
                        .unwrap_or_else(|| describe::title(&resolved));
                    let cap = self.step_cap;
                    let out =
                        match tokio::time::timeout_at(cap.into(), self.exec(&resolved, t0)).await {
                            Ok(o) => o,
                            Err(_) => Outcome::failed(
                                "",
                                "",
                                if cap < self.deadline {
                                    format!(
                                        "the step timeout ({}) ran out",
                                        format_duration(step.timeout.unwrap_or_default())
                                    )
                                } else {
                                    "the scenario deadline was reached during the step".to_string()
                                },
                            ),
                        };
                    (title, out)
                }
            };
            let out = self.note_server_exit(out);
            let failed = out.verdict == Verdict::Failed;
            let check = describe::check_name(&step.action);
            let case = self.make_case(self.case_id(step), title, self.rfc(check, step), out, t0);
            self.cases.push(case);
            self.done_steps += 1;
            if failed && !self.opts.keep_going {
                stop = Some(format!("not run: step {} failed", step.index));
            }
        }
    }

    /// Expands the step's templates; for `expect_ack`, `${last_sent}` is the message of
    /// the send it acknowledges while the step is prepared.
    fn prepare(&mut self, step: &Step) -> Result<Step, crate::scenario::StepError> {
        if let crate::scenario::Action::ExpectAck(a) = &step.action {
            if let Some(rec) = self.ack_record(a) {
                let saved = self.vars.get("last_sent").cloned();
                self.vars.set("last_sent", rec.text.clone());
                let r = step.resolve(&self.vars);
                match saved {
                    Some(v) => self.vars.set("last_sent", v),
                    None => {
                        self.vars.remove("last_sent");
                    }
                }
                return r;
            }
        }
        step.resolve(&self.vars)
    }

    fn ack_record(&self, a: &crate::scenario::ExpectAck) -> Option<SendRecord> {
        match &a.after {
            crate::scenario::AckAfter::Step(id) => self.sends_by_id.get(id).cloned(),
            crate::scenario::AckAfter::LastSend => self.last_send.get(&a.conn).cloned(),
        }
    }

    fn record_send(&mut self, step: &Step, conn: &str, text: String, at: Instant) {
        let rec = SendRecord {
            text: text.clone(),
            at,
        };
        if let Some(id) = &step.id {
            self.sends_by_id.insert(id.clone(), rec.clone());
        }
        self.last_send.insert(conn.to_owned(), rec);
        self.vars.set("last_sent", text);
    }

    /// Adds a note about a server that exited while no step expected it.
    fn note_server_exit(&mut self, mut out: Outcome) -> Outcome {
        if let Some(s) = &mut self.server {
            if let Some(note) = s.unexpected_exit_note() {
                if !out.observed.is_empty() {
                    out.observed.push_str("; ");
                }
                out.observed.push_str(&note);
            }
        }
        out
    }

    fn push_not_run(&mut self, step: &Step, reason: &str) {
        let title = step.title.clone().unwrap_or_else(|| describe::title(step));
        let check = describe::check_name(&step.action);
        let case = CaseReport {
            id: self.case_id(step),
            title,
            rfc: self.rfc(check, step),
            verdict: Verdict::NotRun,
            close_verdict: None,
            remote_close_code: None,
            duration_ms: 0.0,
            sent: String::new(),
            expected: String::new(),
            observed: reason.to_owned(),
            transcript: Vec::new(),
        };
        self.cases.push(case);
        self.done_steps += 1;
    }

    /// Reports every step that has no case yet as NOT RUN.
    fn fill_not_run(&mut self, reason: &str) {
        let scn = self.scn;
        while self.done_steps < scn.steps.len() {
            let step = &scn.steps[self.done_steps];
            self.push_not_run(step, reason);
        }
    }

    fn push_setup_case(&mut self, out: Outcome) {
        let t0 = self.started;
        let rfc = match &self.scn.server {
            Some(s) => format!("scenario setup ({})", s.location),
            None => format!("scenario setup ({})", self.scn.file),
        };
        let title = if self.scn.server.is_some() && !self.external {
            "start the server and wait until it is ready".to_string()
        } else {
            "prepare the scenario".to_string()
        };
        let case = self.make_case(format!("{}#0", self.prefix), title, rfc, out, t0);
        self.cases.push(case);
    }

    fn make_case(
        &mut self,
        id: String,
        title: String,
        rfc: String,
        out: Outcome,
        t0: Instant,
    ) -> CaseReport {
        let end = Instant::now();
        let transcript = self.take_window(end);
        CaseReport {
            id,
            title,
            rfc,
            verdict: out.verdict,
            close_verdict: None,
            remote_close_code: out.remote_close_code,
            duration_ms: end.duration_since(t0).as_secs_f64() * 1000.0,
            sent: out.sent,
            expected: out.expected,
            observed: out.observed,
            transcript,
        }
    }

    /// Everything recorded since the previous case, in time order.
    fn take_window(&mut self, end: Instant) -> Vec<TranscriptEntry> {
        let lo = self.cursor_ms;
        let hi = self.ms(end);
        let mut v: Vec<TranscriptEntry> = Vec::new();
        for t in &self.transcripts {
            v.extend(
                t.entries()
                    .into_iter()
                    .filter(|e| e.t_ms > lo && e.t_ms <= hi),
            );
        }
        if let Some(s) = &self.server {
            v.extend(s.entries(self.started, lo, hi));
        }
        v.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        if v.len() > MAX_CASE_ENTRIES {
            let keep = MAX_CASE_ENTRIES / 2;
            let omitted = v.len() - 2 * keep;
            let tail = v.split_off(v.len() - keep);
            v.truncate(keep);
            v.push(TranscriptEntry {
                t_ms: tail[0].t_ms,
                conn: "scenario".into(),
                dir: Direction::Event,
                kind: "note".into(),
                summary: format!("{omitted} entries left out here"),
                hex: None,
            });
            v.extend(tail);
        }
        self.cursor_ms = hi;
        v
    }

    /// Variables, project directory, server; `Ok(Some(..))` when there is a setup case
    /// to report.
    async fn setup(&mut self) -> Result<Option<Outcome>, String> {
        let scn = self.scn;
        let opts = self.opts;
        let mut builtins = Vars::new();
        let mut host = "127.0.0.1".to_string();
        let mut port: Option<String> = None;
        if let Some(u) = &opts.base_url {
            let url = url::Url::parse(u)
                .map_err(|e| format!("--url {u:?}: {e} (expected e.g. ws://127.0.0.1:5173/)"))?;
            self.tls = match url.scheme() {
                "ws" | "http" => false,
                "wss" | "https" => true,
                s => {
                    return Err(format!(
                        "--url {u:?}: scheme {s:?}; expected ws, wss, http or https"
                    ))
                }
            };
            host = match url.host() {
                Some(url::Host::Ipv6(a)) => a.to_string(),
                Some(h) => h.to_string(),
                None => return Err(format!("--url {u:?}: no host")),
            };
            port = url.port_or_known_default().map(|p| p.to_string());
            self.external = scn.server.is_some();
        }
        for (k, v) in &opts.vars {
            if !is_var_name(k) {
                return Err(format!(
                    "--var {k:?}: not a variable name; expected letters, digits and '_', not starting with a digit"
                ));
            }
            if k == "port" {
                port = Some(v.clone());
            }
            if k == "host" {
                host = v.clone();
            }
        }
        let port_in_vars = scn.vars.iter().any(|d| d.name == "port");
        let mut free_port = None;
        if port.is_none() && !port_in_vars && scn.server.is_some() && !self.external {
            let p = server::free_port().map_err(|e| format!("cannot pick a free port: {e}"))?;
            free_port = Some(p);
            port = Some(p.to_string());
        }
        builtins.set("host", host);
        if let Some(p) = &port {
            builtins.set("port", p.clone());
        }
        let scenario_dir = scenario_dir(&scn.file);
        builtins.set("scenario_dir", scenario_dir.display().to_string());
        for (k, v) in &opts.vars {
            builtins.set(k.clone(), v.clone());
        }
        let mut project_dir = None;
        if let Some(spec) = &scn.server {
            let resolve_cwd = |vars: &Vars| -> Result<PathBuf, String> {
                let s = match &spec.cwd {
                    Some(t) => substitute(t, vars).map_err(|e| e.to_string())?,
                    None => String::new(),
                };
                Ok(if s.is_empty() {
                    scenario_dir.clone()
                } else if Path::new(&s).is_absolute() {
                    PathBuf::from(s)
                } else {
                    scenario_dir.join(s)
                })
            };
            let dir = match &opts.project_dir {
                Some(d) => d.clone(),
                None => match resolve_cwd(&builtins) {
                    Ok(d) => d,
                    // `cwd` may use `[vars]` entries: expand those first.
                    Err(first) => {
                        let v = scn
                            .initial_vars(builtins.clone())
                            .map_err(|e| e.to_string())?;
                        resolve_cwd(&v)
                            .map_err(|_| format!("{}: [server] cwd: {first}", spec.location))?
                    }
                },
            };
            let dir = std::fs::canonicalize(&dir).map_err(|e| {
                format!("the project directory {} is not usable: {e}", dir.display())
            })?;
            if !dir.is_dir() {
                return Err(format!(
                    "the project directory {} is not a directory",
                    dir.display()
                ));
            }
            builtins.set("project_dir", dir.display().to_string());
            project_dir = Some(dir);
        }
        self.vars = scn.initial_vars(builtins).map_err(|e| e.to_string())?;
        let Some(spec) = &scn.server else {
            return Ok(None);
        };
        let dir = project_dir.unwrap_or(scenario_dir);
        self.files = Some(FileGuard::new(dir.clone()));
        let resolved = spec.resolve(&self.vars).map_err(|e| e.to_string())?;
        let mut ctl = ServerCtl::new(resolved, dir, self.events.clone());
        if self.external {
            self.server = Some(ctl);
            return Ok(None);
        }
        if let Some(p) = free_port {
            self.events
                .note(format!("picked free port {p} on 127.0.0.1 for ${{port}}"));
        }
        if !spec.autostart {
            self.server = Some(ctl);
            return Ok(None);
        }
        let started = ctl.start(&mut self.vars, self.deadline).await;
        let sent = ctl.command_line();
        self.server = Some(ctl);
        match started {
            Ok(obs) => Ok(Some(Outcome::ok(sent, "the server becomes ready", obs))),
            Err(why) => Err(why),
        }
    }

    /// Closes connections, stops the server, restores files; reports a cleanup case
    /// when there was a server or an edited file.
    async fn teardown(&mut self) {
        let t0 = Instant::now();
        self.conns.clear();
        let mut problems: Vec<String> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let had_server = self.server.is_some() && !self.external;
        if let Some(s) = &mut self.server {
            if !self.external {
                match s.teardown().await {
                    Ok(n) => notes.push(n),
                    Err(p) => problems.push(p),
                }
            }
        }
        let mut touched = 0;
        if let Some(g) = &mut self.files {
            touched = g.touched();
            if touched > 0 {
                match g.restore() {
                    Ok(n) => notes.push(format!("{n} edited file(s) restored")),
                    Err(ps) => problems.extend(ps),
                }
            }
        }
        if !had_server && touched == 0 {
            return;
        }
        let out = if problems.is_empty() {
            Outcome::ok(
                "stop the server, restore files",
                "the server stops on its stop signal; every file is restored",
                notes.join("; "),
            )
        } else {
            let mut all = problems;
            all.extend(notes);
            Outcome::failed(
                "stop the server, restore files",
                "the server stops on its stop signal and never exits on its own; every file is restored",
                all.join("; "),
            )
        };
        let rfc = match &self.scn.server {
            Some(s) => format!("scenario cleanup ({})", s.location),
            None => format!("scenario cleanup ({})", self.scn.file),
        };
        let case = self.make_case(
            format!("{}#cleanup", self.prefix),
            "cleanup: stop the server and restore edited files".into(),
            rfc,
            out,
            t0,
        );
        self.cases.push(case);
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The absolute directory of a scenario file (the current directory for a bare name or
/// an in-memory label).
fn scenario_dir(file: &str) -> PathBuf {
    let parent = Path::new(file)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::canonicalize(&parent)
        .or_else(|_| std::env::current_dir())
        .unwrap_or(parent)
}
