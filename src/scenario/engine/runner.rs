//! The runner: the state of one scenario run and its core loop. Setup (variables,
//! project directory, server start), then each step in order (expand its templates,
//! run it within its window, turn its [`Outcome`] into a case with the transcript since
//! the previous case), then teardown (connections, server, files) into `#cleanup`.
//!
//! What each action does is in its family's file ([`RunStep`] impls), setup and teardown
//! in `lifecycle.rs`; this file only knows the order, the time limits and the bookkeeping
//! every step shares.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::client::ClientProc;
use super::conn::Conn;
use super::files::FileGuard;
use super::listener::Listener;
use super::server::ServerCtl;
use super::{EngineOptions, MAX_CASE_ENTRIES};
use crate::peer::http::HttpResponse;
use crate::peer::transcript::Transcript;
use crate::report::{CaseReport, Direction, TranscriptEntry, Verdict};
use crate::scenario::actions::*;
use crate::scenario::model::Address;
use crate::scenario::{
    format_duration, render_value, substitute_known, Scenario, Step, StepError, Vars,
};

/// How one action runs and how its outcome is judged; one impl per action, in the
/// engine file of its family.
pub(super) trait RunStep {
    /// Runs the (resolved) step.
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome;
}

/// What a running step knows about itself.
pub(super) struct StepCx<'s> {
    /// The resolved step.
    pub step: &'s Step,
    /// When it started: windows (`within`, `for`, ...) count from here.
    pub t0: Instant,
}

/// Builds the dispatch from the action table.
macro_rules! run_dispatch {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// Runs the step's action.
        async fn run_action(r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
            match &cx.step.action {
                $(StepAction::$variant(a) => a.run(r, cx).await,)*
            }
        }
    };
}
with_actions!(run_dispatch);

/// A step's window: when it ends (its own limit cut by the step timeout and the
/// deadline) and the words for a window that was cut short (empty otherwise).
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub until: Instant,
    pub cut: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct SendRecord {
    pub text: String,
    pub at: Instant,
}

/// The result of one step.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub verdict: Verdict,
    pub sent: String,
    pub expected: String,
    pub observed: String,
    pub remote_close_code: Option<u16>,
}

impl Outcome {
    pub(super) fn ok(
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

    pub(super) fn failed(
        sent: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Outcome {
            verdict: Verdict::Failed,
            ..Outcome::ok(sent, expected, observed)
        }
    }

    /// OK when the checks found no problem; otherwise FAILED, the problems first.
    pub(super) fn judged(expected: impl Into<String>, observed: &str, problems: &[String]) -> Self {
        if problems.is_empty() {
            Outcome::ok("", expected, observed)
        } else {
            Outcome::failed("", expected, format!("{}: {observed}", problems.join("; ")))
        }
    }

    /// FAILED: a process asserted to exit (`assert_server`, `assert_client`) is still
    /// running when the window closes.
    pub(super) fn still_running(expected: String, pid: i32, within: Duration, cut: &str) -> Self {
        let within = crate::scenario::format_duration(within);
        Outcome::failed(
            "",
            expected,
            format!("still running (pid {pid}) after {within}{cut}"),
        )
    }

    pub(super) fn not_run(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Outcome {
            verdict: Verdict::NotRun,
            ..Outcome::ok("", expected, observed)
        }
    }
}

pub(super) struct Runner<'a> {
    pub(super) scn: &'a Scenario,
    pub(super) opts: &'a EngineOptions,
    pub(super) prefix: String,
    pub(super) started: Instant,
    pub(super) deadline: Instant,
    pub(super) step_cap: Instant,
    pub(super) vars: Vars,
    pub(super) conns: HashMap<String, Conn>,
    pub(super) transcripts: Vec<Transcript>,
    pub(super) events: Transcript,
    pub(super) http_tr: Transcript,
    pub(super) sends_by_id: HashMap<String, SendRecord>,
    pub(super) last_send: HashMap<String, SendRecord>,
    pub(super) last_http: Option<HttpResponse>,
    pub(super) server: Option<ServerCtl>,
    pub(super) files: Option<FileGuard>,
    /// Listeners of the server role (`listen`), by name.
    pub(super) listeners: HashMap<String, Listener>,
    /// Client processes under test (`start_client`), by name.
    pub(super) clients: HashMap<String, ClientProc>,
    /// `wss`/`https` for `path` targets (from a `wss://`/`https://` base URL).
    pub(super) tls: bool,
    /// The server was started by someone else (`--url` with a `[server]` section).
    pub(super) external: bool,
    pub(super) cursor_ms: f64,
    pub(super) done_steps: usize,
    /// The verdict of every step done so far, by its number.
    verdicts: HashMap<usize, Verdict>,
    /// Why the setup failed, if it did (no step could run).
    setup_failed: Option<String>,
    pub(super) cases: Vec<CaseReport>,
}

impl<'a> Runner<'a> {
    pub(super) fn new(scn: &'a Scenario, opts: &'a EngineOptions, profile: Option<&str>) -> Self {
        let started = Instant::now();
        let deadline = started + opts.deadline.unwrap_or(scn.deadline);
        let prefix = match profile {
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
            listeners: HashMap::new(),
            clients: HashMap::new(),
            tls: false,
            external: false,
            cursor_ms: -1.0,
            done_steps: 0,
            verdicts: HashMap::new(),
            setup_failed: None,
            cases: Vec::new(),
        }
    }

    pub(super) fn ms(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.started).as_secs_f64() * 1000.0
    }

    /// The window of `d` from `start`, cut by the step timeout and the deadline.
    pub(super) fn window(&self, start: Instant, d: Duration) -> Window {
        let cut = if start + d <= self.step_cap {
            ""
        } else if self.step_cap >= self.deadline {
            " (cut short by the scenario deadline)"
        } else {
            " (cut short by the step timeout)"
        };
        Window {
            until: (start + d).min(self.step_cap),
            cut,
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

    pub(super) async fn run_steps(&mut self) {
        match self.setup().await {
            Err(why) => {
                self.push_setup_case(Outcome::failed("", "a usable scenario setup", why.clone()));
                self.fill_not_run(&format!("the setup failed ({})", first_line(&why)));
                self.setup_failed = Some(why);
                return;
            }
            Ok(Some(out)) => self.push_setup_case(out),
            Ok(None) => {}
        }
        let scn = self.scn;
        // The first FAILED step: the steps after it that depend on every earlier step
        // are NOT RUN (unless --keep-going); those with `needs` look at what they need.
        let mut failed_at: Option<String> = None;
        let mut past_deadline: Option<String> = None;
        for step in &scn.steps {
            if past_deadline.is_none() && Instant::now() >= self.deadline {
                past_deadline = Some(format!(
                    "the scenario deadline ({}) was reached",
                    format_duration(self.deadline - self.started)
                ));
            }
            let blocked = match (&past_deadline, &step.needs) {
                (Some(reason), _) => Some(reason.clone()),
                (None, Some(needs)) => self.unmet_need(needs),
                (None, None) => failed_at.clone(),
            };
            if let Some(reason) = blocked {
                self.push_not_run(step, &reason);
                continue;
            }
            let t0 = Instant::now();
            self.step_cap = match step.timeout {
                Some(t) => (t0 + t).min(self.deadline),
                None => self.deadline,
            };
            let (title, out) = match self.prepare(step) {
                Err(e) => (
                    substitute_known(
                        &step.title.clone().unwrap_or_else(|| step.action.title()),
                        &self.vars,
                    )
                    .0,
                    Outcome::failed("", "", format!("cannot prepare the step: {e}")),
                ),
                Ok(resolved) => {
                    let title = resolved
                        .title
                        .clone()
                        .unwrap_or_else(|| resolved.action.title());
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
            let check = step.action.check_name();
            let verdict = out.verdict;
            let case = self.make_case(self.case_id(step), title, self.rfc(check, step), out, t0);
            self.cases.push(case);
            self.record_verdict(step, verdict);
            if failed && !self.opts.keep_going && failed_at.is_none() {
                failed_at = Some(format!("step {} failed", step.index));
            }
        }
    }

    /// Counts the step as done with `verdict`, which later steps' `needs` look at.
    fn record_verdict(&mut self, step: &Step, verdict: Verdict) {
        self.done_steps += 1;
        self.verdicts.insert(step.index, verdict);
    }

    /// Why a step with `needs` cannot run: the first needed step that was not OK.
    fn unmet_need(&self, needs: &[String]) -> Option<String> {
        needs.iter().find_map(|id| {
            let step = self.scn.step_by_id(id)?;
            match self.verdicts.get(&step.index) {
                Some(Verdict::Ok) => None,
                Some(Verdict::Failed) => {
                    Some(format!("it needs step {} ({id}), which failed", step.index))
                }
                _ => Some(format!(
                    "it needs step {} ({id}), which was not run",
                    step.index
                )),
            }
        })
    }

    /// Expands the step's templates; for `expect_ack`, `${last_sent}` is the message of
    /// the send it acknowledges while the step is prepared.
    fn prepare(&mut self, step: &Step) -> Result<Step, StepError> {
        if let StepAction::ExpectAck(a) = &step.action {
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

    pub(super) fn ack_record(&self, a: &ExpectAck) -> Option<SendRecord> {
        match &a.after {
            AckAfter::Step(id) => self.sends_by_id.get(id).cloned(),
            AckAfter::LastSend => self.last_send.get(&a.conn).cloned(),
        }
    }

    pub(super) fn record_send(&mut self, step: &Step, conn: &str, text: String, at: Instant) {
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

    /// A NOT RUN case for `step`; `reason` completes "not run: ...". Its title is
    /// expanded as far as the variables known now allow; the reason names the ones
    /// that are not set.
    fn push_not_run(&mut self, step: &Step, reason: &str) {
        let (title, left) = match step.resolve(&self.vars) {
            Ok(r) => (r.title.unwrap_or_else(|| r.action.title()), Vec::new()),
            Err(_) => {
                let raw = step.title.clone().unwrap_or_else(|| step.action.title());
                substitute_known(&raw, &self.vars)
            }
        };
        let reason = match left.as_slice() {
            [] => reason.to_string(),
            [one] => format!("{reason}; {one} in its title is not set"),
            many => format!("{reason}; {} in its title are not set", many.join(", ")),
        };
        let rfc = self.rfc(step.action.check_name(), step);
        let case = CaseReport::not_run(self.case_id(step), title, rfc, &reason);
        self.cases.push(case);
        self.record_verdict(step, Verdict::NotRun);
    }

    /// Reports every step that has no case yet as NOT RUN.
    pub(super) fn fill_not_run(&mut self, reason: &str) {
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

    pub(super) fn make_case(
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
            verdict: out.verdict,
            remote_close_code: out.remote_close_code,
            duration_ms: end.duration_since(t0).as_secs_f64() * 1000.0,
            sent: out.sent,
            expected: out.expected,
            observed: out.observed,
            transcript,
            ..CaseReport::new(id, title, rfc)
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
        v.extend(self.client_entries(lo, hi));
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
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

impl Runner<'_> {
    /// Runs one (resolved) step. A failure on a connection where the server already
    /// broke RFC 6455 says so, since that often explains the failure.
    async fn exec(&mut self, step: &Step, t0: Instant) -> Outcome {
        let cx = StepCx { step, t0 };
        let mut out = run_action(self, &cx).await;
        if out.verdict == Verdict::Failed {
            if let Some(k) = step.action.conn().and_then(|c| self.conns.get(c)) {
                if let Some(v) = k.lock().violation.clone() {
                    let who = if k.is_server() { "client" } else { "server" };
                    out.observed += &format!("; the {who} broke RFC 6455 on this connection: {v}");
                }
            }
        }
        out
    }

    /// The outcome of a step whose connection is not open.
    pub(super) fn not_open(&self, conn: &str) -> Outcome {
        Outcome::failed(
            "",
            "",
            format!("connection {conn:?} is not open (its connect step did not succeed)"),
        )
    }

    /// The URL of an address: a `path` goes to `${host}:${port}` with the plain or the
    /// TLS scheme of `schemes` (`("ws", "wss")`, `("http", "https")`).
    pub(super) fn url_of(&self, t: &Address, schemes: (&str, &str)) -> Result<String, String> {
        match t {
            Address::Url(u) => Ok(u.clone()),
            Address::Path(p) => {
                let host = self
                    .vars
                    .get("host")
                    .map(render_value)
                    .unwrap_or_else(|| "127.0.0.1".into());
                let port = self.vars.get("port").map(render_value).ok_or_else(|| {
                    "${port} is not set: give the server with --url, or --var port=N".to_string()
                })?;
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                let scheme = if self.tls { schemes.1 } else { schemes.0 };
                Ok(format!("{scheme}://{host}:{port}{p}"))
            }
        }
    }
}

/// What one scenario's run gives its report.
pub(super) struct ScenarioCases {
    /// Its cases, in order.
    pub cases: Vec<CaseReport>,
    /// The server command it started, if any (the report's default agent).
    pub server_command: Option<String>,
    /// Why its setup failed, if it did: then none of its steps ran.
    pub setup_failed: Option<String>,
}

/// Runs one scenario (of `profile`, if it is part of one).
pub(super) async fn run_cases(
    scn: &Scenario,
    opts: &EngineOptions,
    profile: Option<&str>,
) -> ScenarioCases {
    let mut r = Runner::new(scn, opts, profile);
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
    let server_command = r
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
    ScenarioCases {
        cases: r.cases,
        server_command,
        setup_failed: r.setup_failed,
    }
}

/// The cases of a scenario that could not be tested at all (`reason`): the setup case
/// (when there would be one) and every step, NOT RUN, with the ids and titles a run
/// would have given them.
pub(super) fn not_run_cases(
    scn: &Scenario,
    opts: &EngineOptions,
    profile: Option<&str>,
    reason: &str,
) -> Vec<CaseReport> {
    let mut r = Runner::new(scn, opts, profile);
    let mut builtins = Vars::new();
    builtins.set("host", "127.0.0.1");
    for (k, v) in &opts.vars {
        builtins.set(k.clone(), v.clone());
    }
    r.vars = scn.initial_vars(builtins).unwrap_or_default();
    r.external = opts.base_url.is_some() && scn.server.is_some();
    if scn.server.is_some() && !r.external {
        r.push_setup_case(Outcome::not_run(
            "the server becomes ready",
            format!("not run: {reason}"),
        ));
    }
    r.fill_not_run(reason);
    r.cases
}
