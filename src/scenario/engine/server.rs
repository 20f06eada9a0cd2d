//! The scenario's server: start and readiness, stop, restart, exit bookkeeping
//! ([`ServerCtl`]), and how the server actions run (`start_server`, `stop_server`,
//! `restart_server`, `assert_server`); `server_checks.rs` observes it from outside.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::preflight::port_option_warning;
use super::process::{ExitInfo, LineProbe, OutStream, ProcessSpec, ServerProcess, StopOutcome};
use super::trigger::empty_trigger;
use crate::peer::http::{fetch, HttpClientError, HttpRequest};
use crate::peer::transcript::Transcript;
use crate::report::{Direction, TranscriptEntry};
use crate::scenario::actions::{
    AssertServer, RestartServer, ServerState, StartServer, StopServer, Trigger, TriggerField,
};
use crate::scenario::describe::ms;
use crate::scenario::matcher::compile_regex;
use crate::scenario::{format_duration, render_value, Ready, ServerSpec, Signal, Vars};

use super::runner::{Outcome, RunStep, Runner, StepCx, Window};

/// Output lines searched for the error line of a crash when the server misbehaves.
const SEARCHED_LINES: usize = 200;

/// A free TCP port on 127.0.0.1 (bound and released; the usual small race applies).
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

pub(super) struct ServerCtl {
    spec: ServerSpec,
    cwd: PathBuf,
    proc: Option<ServerProcess>,
    retired: Vec<ServerProcess>,
    /// The scenario stopped it, or asserted that it exited: an exit is no finding.
    expect_down: bool,
    /// The exit was already mentioned in a step's observed text.
    exit_noted: bool,
    /// A step already failed because of the exit.
    exit_reported: bool,
    /// When the last restart began (for "first upgrade after restart").
    pub restart_began: Option<Instant>,
    /// Lifecycle events (start, ready, exit) for the report's server transcript.
    pub(super) events: Transcript,
    /// Keep a pipe to the server's stdin (a step may write to it).
    stdin: bool,
}

impl ServerCtl {
    pub fn new(spec: ServerSpec, cwd: PathBuf, events: Transcript, stdin: bool) -> Self {
        ServerCtl {
            spec,
            cwd,
            proc: None,
            retired: Vec::new(),
            expect_down: true,
            exit_noted: false,
            exit_reported: false,
            restart_began: None,
            events,
            stdin,
        }
    }

    /// The project directory the server runs in.
    pub fn cwd(&self) -> &std::path::Path {
        &self.cwd
    }

    pub fn command_line(&self) -> String {
        self.spec.command.join(" ")
    }

    pub fn stop_signal(&self) -> Signal {
        self.spec.stop_signal
    }

    pub fn process(&self) -> Option<&ServerProcess> {
        self.proc.as_ref()
    }

    /// `exit code 3; last output: …` for reports.
    pub fn exit_text(&self, e: &ExitInfo) -> String {
        let mut s = e.describe();
        if let Some(p) = &self.proc {
            s.push_str(&format!(
                ", {} after the start",
                ms(e.at.saturating_duration_since(p.spawned_at))
            ));
        }
        let tail = self.last_output();
        if !tail.is_empty() {
            s.push_str(&format!("; last output: {tail}"));
        }
        s
    }

    /// The output worth quoting, from the error line of a crash when there is one
    /// (`report::text::output_summary`).
    pub fn last_output(&self) -> String {
        let Some(p) = &self.proc else {
            return String::new();
        };
        let lines = p.last_lines(SEARCHED_LINES);
        let lines: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l.stream.name(), l.text.as_str()))
            .collect();
        crate::report::text::output_summary(&lines)
    }

    /// Marks the current exit as expected (the scenario asserted it).
    pub fn acknowledge_exit(&mut self) {
        self.expect_down = true;
    }

    /// Marks that a step failed because of the exit.
    pub fn exit_reported(&mut self) {
        self.exit_reported = true;
    }

    /// Once per unexpected exit: a note for the step during which it was seen.
    pub fn unexpected_exit_note(&mut self) -> Option<String> {
        let e = self.proc.as_ref()?.exit()?;
        // A step that already failed because of the exit quotes it itself.
        if self.expect_down || self.exit_noted || self.exit_reported {
            return None;
        }
        self.exit_noted = true;
        Some(format!(
            "the server exited during this step ({})",
            self.exit_text(&e)
        ))
    }

    /// Starts the server and waits until it is ready; `Ok` carries the observation.
    pub async fn start(&mut self, vars: &mut Vars, deadline: Instant) -> Result<String, String> {
        if let Some(old) = self.proc.take() {
            self.retired.push(old);
        }
        let probe = self.line_probe()?;
        let spec = ProcessSpec {
            command: self.spec.command.clone(),
            cwd: self.cwd.clone(),
            env: self.spec.env.clone(),
            stdin: self.stdin,
        };
        let t0 = Instant::now();
        let proc = ServerProcess::spawn(&spec, probe).map_err(|e| e.to_string())?;
        self.events.push(
            Direction::Event,
            "process",
            format!(
                "started {} (pid {}) in {}",
                self.command_line(),
                proc.pid(),
                self.cwd.display()
            ),
            None,
        );
        self.proc = Some(proc);
        self.expect_down = false;
        self.exit_noted = false;
        self.exit_reported = false;
        let ready_deadline = (t0 + self.spec.ready_timeout).min(deadline);
        let cut = if t0 + self.spec.ready_timeout > deadline {
            " (cut short by the scenario deadline)"
        } else {
            ""
        };
        let res = self.wait_ready(ready_deadline, vars).await;
        let took = t0.elapsed();
        match res {
            Ok(detail) => {
                self.events.push(
                    Direction::Event,
                    "process",
                    format!("ready after {}: {detail}", ms(took)),
                    None,
                );
                Ok(format!("ready after {} ({detail})", ms(took)))
            }
            Err(why) => {
                let p = self.proc.as_ref().expect("set above");
                let mut s = match p.exit() {
                    Some(e) => {
                        self.exit_reported = true;
                        format!(
                            "the server exited before it was ready ({})",
                            self.exit_text(&e)
                        )
                    }
                    None => {
                        let tail = self.last_output();
                        let port = vars.get("port").map(render_value);
                        let hint = port_option_warning(&self.command_line(), port.as_deref())
                            .map(|w| format!("; {w}"))
                            .unwrap_or_default();
                        format!(
                            "not ready within {}{cut}: {why}{}{hint}",
                            format_duration(self.spec.ready_timeout),
                            if tail.is_empty() {
                                " (no output)".to_string()
                            } else {
                                format!("; last output: {tail}")
                            }
                        )
                    }
                };
                s = s.replace('\n', " ");
                Err(s)
            }
        }
    }

    /// The probe that watches the output for `ready`, when it is an output line.
    fn line_probe(&self) -> Result<Option<LineProbe>, String> {
        Ok(match &self.spec.ready {
            Ready::StdoutLine(re) => Some(LineProbe {
                stream: OutStream::Stdout,
                regex: compile_regex(re)?,
            }),
            Ready::StderrLine(re) => Some(LineProbe {
                stream: OutStream::Stderr,
                regex: compile_regex(re)?,
            }),
            _ => None,
        })
    }

    /// Before an in-process restart is asked for: the server must run, and a probe on
    /// its output must only count lines from now on. Returns whether `ready` is such a
    /// probe (it then tells the restarted server from the old one by itself).
    pub fn before_in_process_restart(&mut self) -> Result<bool, String> {
        let probe = self.line_probe()?;
        let line_ready = probe.is_some();
        if let Some(p) = &self.proc {
            if let Some(e) = p.exit() {
                self.exit_reported = true;
                return Err(format!(
                    "the server is not running ({})",
                    self.exit_text(&e)
                ));
            }
            p.set_probe(probe);
        }
        Ok(line_ready)
    }

    /// After an in-process restart was asked for at `t0`: waits `settle`, then for
    /// `ready`, and checks that the process kept running throughout.
    pub async fn after_in_process_restart(
        &mut self,
        t0: Instant,
        settle: Duration,
        vars: &mut Vars,
        deadline: Instant,
    ) -> Result<String, String> {
        self.restart_began = Some(t0);
        let exited = |s: &mut ServerCtl, e: ExitInfo| {
            s.exit_reported = true;
            format!(
                "the server exited on the trigger ({}); an in-process restart keeps the process running",
                s.exit_text(&e)
            )
        };
        let settled = (t0 + settle).min(deadline);
        match &self.proc {
            Some(p) => {
                if let Some(e) = p.wait_exit(settled).await {
                    return Err(exited(self, e));
                }
            }
            None => tokio::time::sleep_until(settled.into()).await,
        }
        if self.proc.is_none() && self.line_probe()?.is_some() {
            return Ok(format!(
                "waited {} (the output of a server started elsewhere cannot be watched for the ready line)",
                format_duration(settle)
            ));
        }
        let ready_deadline = (Instant::now() + self.spec.ready_timeout).min(deadline);
        let res = self.wait_ready(ready_deadline, vars).await;
        if let Some(e) = self.proc.as_ref().and_then(ServerProcess::exit) {
            return Err(exited(self, e));
        }
        let took = ms(t0.elapsed());
        match res {
            Ok(detail) => {
                self.events.push(
                    Direction::Event,
                    "process",
                    format!("ready again {took} after the trigger: {detail}"),
                    None,
                );
                let kept = match &self.proc {
                    Some(p) => format!("; the process kept running (pid {})", p.pid()),
                    None => String::new(),
                };
                Ok(format!(
                    "ready again {took} after the trigger ({detail}){kept}"
                ))
            }
            Err(why) => Err(format!(
                "not ready within {} of the trigger: {why}",
                format_duration(self.spec.ready_timeout)
            )),
        }
    }

    /// Waits until `ready` holds; without a process of its own (a server started
    /// elsewhere) only the TCP and HTTP probes can be used.
    async fn wait_ready(&self, deadline: Instant, vars: &mut Vars) -> Result<String, String> {
        let gone = || self.proc.as_ref().is_some_and(|p| p.exit().is_some());
        match &self.spec.ready {
            Ready::TcpPort(port) => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| format!("ready.tcp_port {port:?} is not a port number"))?;
                loop {
                    if gone() {
                        return Err("exited".into());
                    }
                    let attempt = tokio::time::timeout(
                        Duration::from_millis(250),
                        tokio::net::TcpStream::connect(("127.0.0.1", port)),
                    )
                    .await;
                    if let Ok(Ok(_)) = attempt {
                        return Ok(format!("127.0.0.1:{port} accepts TCP"));
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("127.0.0.1:{port} did not accept TCP"));
                    }
                    let next = (Instant::now() + Duration::from_millis(25)).min(deadline);
                    tokio::time::sleep_until(next.into()).await;
                }
            }
            Ready::HttpProbe { url, status } => {
                let mut last;
                loop {
                    if gone() {
                        return Err("exited".into());
                    }
                    let attempt_deadline = (Instant::now() + Duration::from_secs(2)).min(deadline);
                    match fetch(&HttpRequest::get(url.clone()), attempt_deadline, None).await {
                        Ok(r) if status.is_none_or(|s| s == r.head.status) => {
                            return Ok(format!("GET {url} answered {}", r.head.status))
                        }
                        Ok(r) => {
                            last = format!(
                                "GET {url} answered {} (waiting for {})",
                                r.head.status,
                                status.unwrap_or_default()
                            )
                        }
                        Err(e @ (HttpClientError::Url(_) | HttpClientError::NotLoopback(_))) => {
                            return Err(format!("ready.http_probe: {e}"))
                        }
                        Err(e) => last = format!("GET {url}: {e}"),
                    }
                    if Instant::now() >= deadline {
                        return Err(last);
                    }
                    let next = (Instant::now() + Duration::from_millis(50)).min(deadline);
                    tokio::time::sleep_until(next.into()).await;
                }
            }
            Ready::StdoutLine(re) | Ready::StderrLine(re) => {
                let stream = if matches!(self.spec.ready, Ready::StdoutLine(_)) {
                    "stdout"
                } else {
                    "stderr"
                };
                let Some(p) = &self.proc else {
                    return Err(format!(
                        "the {stream} of a server started elsewhere cannot be watched"
                    ));
                };
                match p.wait_probe(deadline).await {
                    Ok(hit) => {
                        let mut set = Vec::new();
                        for (name, value) in &hit.named {
                            vars.set(name.clone(), value.clone());
                            set.push(format!("{name} = {value}"));
                        }
                        let mut s = format!("{stream} line {:?}", hit.line);
                        if !set.is_empty() {
                            s.push_str(&format!("; set {}", set.join(", ")));
                        }
                        Ok(s)
                    }
                    Err(Some(_)) => Err("exited".into()),
                    Err(None) => Err(format!("no {stream} line matched /{re}/")),
                }
            }
        }
    }

    /// Stops the server with `signal` (bounded by the stop timeout plus a KILL grace).
    pub async fn stop(&mut self, signal: Signal) -> Result<StopOutcome, String> {
        let Some(p) = &self.proc else {
            return Err("no server process is running (it was never started)".into());
        };
        let was_expected = self.expect_down;
        self.expect_down = true;
        self.events.push(
            Direction::Sent,
            "process",
            format!("SIG{} to process group {}", signal.name(), p.pid()),
            None,
        );
        let out = p.stop(signal, self.spec.stop_timeout).await;
        if out.already_exited {
            if was_expected || self.exit_reported {
                return Err("the server had already exited".into());
            }
            self.exit_reported = true;
            let e = out.exit.expect("already exited");
            return Err(format!(
                "the server had already exited on its own before the signal ({})",
                self.exit_text(&e)
            ));
        }
        Ok(out)
    }

    /// Describes a stop; `Err` when the server had to be killed.
    pub fn judge_stop(&self, out: &StopOutcome) -> Result<String, String> {
        let exit = out
            .exit
            .map(|e| e.describe())
            .unwrap_or_else(|| "no exit seen even after SIGKILL".into());
        if out.killed && out.signal != Signal::KILL {
            Err(format!(
                "did not exit within {} of SIG{}; killed with SIGKILL ({exit})",
                format_duration(self.spec.stop_timeout),
                out.signal.name()
            ))
        } else {
            Ok(format!(
                "SIG{}: {exit} after {}",
                out.signal.name(),
                ms(out.took)
            ))
        }
    }

    /// End of run: report an exit no step expected, stop a running server.
    pub async fn teardown(&mut self) -> Result<String, String> {
        let Some(p) = &self.proc else {
            return Ok("the server was not running".into());
        };
        let mut problems = Vec::new();
        if let Some(e) = p.exit() {
            p.signal(libc::SIGKILL);
            if !self.expect_down && !self.exit_reported {
                problems.push(format!(
                    "the server exited on its own and no step expected it ({})",
                    self.exit_text(&e)
                ));
            }
            return match problems.pop() {
                Some(p) => Err(p),
                None => Ok("the server had already stopped".into()),
            };
        }
        let sig = self.spec.stop_signal;
        match self.stop(sig).await {
            Ok(out) => self
                .judge_stop(&out)
                .map(|s| format!("server stopped: {s}")),
            Err(e) => Err(e),
        }
    }

    /// Transcript entries for the server processes: spawn, output lines (from the
    /// ring) and exit, with `lo < t_ms <= hi`.
    pub fn entries(&self, started: Instant, lo: f64, hi: f64) -> Vec<TranscriptEntry> {
        let ms = |t: Instant| t.saturating_duration_since(started).as_secs_f64() * 1000.0;
        let mut v = Vec::new();
        for p in self.retired.iter().chain(self.proc.iter()) {
            let mut push = |t_ms: f64, dir: Direction, summary: String| {
                if t_ms > lo && t_ms <= hi {
                    v.push(TranscriptEntry {
                        t_ms,
                        conn: "server".into(),
                        dir,
                        kind: "process".into(),
                        summary,
                        hex: None,
                    });
                }
            };
            for l in p.last_lines(usize::MAX) {
                push(
                    ms(l.at),
                    Direction::Recv,
                    format!("{}: {}", l.stream.name(), l.text),
                );
            }
            if let Some(e) = p.exit() {
                push(
                    ms(e.at),
                    Direction::Event,
                    format!("process {} ended: {}", p.pid(), e.describe()),
                );
            }
        }
        v
    }
}

/// The default `settle` of an in-process restart whose `ready` probe is TCP or HTTP:
/// long enough for a server to have closed its old listener.
const DEFAULT_SETTLE: Duration = Duration::from_secs(1);

impl Runner<'_> {
    /// NOT RUN for a server action when the server was started by someone else.
    pub(super) fn external_not_run(&self, what: &str) -> Option<Outcome> {
        if self.external {
            Some(Outcome::not_run(
                what.to_string(),
                "the server was started by someone else (--url); the kit cannot control it",
            ))
        } else {
            None
        }
    }

    async fn start_server(&mut self) -> Outcome {
        if let Some(o) = self.external_not_run("the server starts and becomes ready") {
            return o;
        }
        let deadline = self.step_cap;
        let Some(s) = &mut self.server else {
            return Outcome::failed("", "", "the scenario has no [server] section");
        };
        let sent = s.command_line();
        match s.start(&mut self.vars, deadline).await {
            Ok(obs) => Outcome::ok(sent, "the server becomes ready", obs),
            Err(e) => Outcome::failed(sent, "the server becomes ready", e),
        }
    }

    /// `stop_server` and `restart_server`: the stop, judged, then the start when
    /// `restart`.
    async fn stop_server(&mut self, signal: Option<Signal>, restart: bool) -> Outcome {
        let what = if restart {
            "the server stops on the signal, starts again and becomes ready"
        } else {
            "the server exits on the signal within the stop timeout"
        };
        if let Some(o) = self.external_not_run(what) {
            return o;
        }
        let deadline = self.step_cap;
        let Some(s) = &mut self.server else {
            return Outcome::failed("", what, "the scenario has no [server] section");
        };
        let sig = signal.unwrap_or(s.stop_signal());
        let sent = format!("SIG{}", sig.name());
        let t_stop = Instant::now();
        let stop = match s.stop(sig).await {
            Ok(out) => s.judge_stop(&out),
            Err(e) => Err(e),
        };
        if !restart {
            return match stop {
                Ok(obs) => Outcome::ok(sent, what, obs),
                Err(e) => Outcome::failed(sent, what, e),
            };
        }
        let stop_text = match &stop {
            Ok(t) | Err(t) => t.clone(),
        };
        s.restart_began = Some(t_stop);
        let started = s.start(&mut self.vars, deadline).await;
        let recovery = ms(t_stop.elapsed());
        match (stop, started) {
            (Ok(_), Ok(obs)) => Outcome::ok(
                sent,
                what,
                format!(
                    "stopped ({stop_text}); {obs}; recovery {recovery} from the signal to ready"
                ),
            ),
            (Err(_), Ok(obs)) => Outcome::failed(sent, what, format!("{stop_text}; then {obs}")),
            (_, Err(e)) => Outcome::failed(sent, what, format!("stopped ({stop_text}); {e}")),
        }
    }

    /// `restart_server trigger = ...`: asks the running server to restart itself, then
    /// waits for it to be ready again in the same process.
    async fn restart_in_process(
        &mut self,
        field: &TriggerField,
        settle: Option<Duration>,
    ) -> Outcome {
        let what = "the server restarts in process and is ready again, still the same process";
        let text = field.text.trim();
        if text.is_empty() {
            return Outcome::not_run(what, empty_trigger(&field.written));
        }
        let trigger = match Trigger::parse(text) {
            Ok(t) => t,
            Err(e) => return Outcome::failed("", what, e),
        };
        if self.external && trigger.needs_process() {
            return Outcome::not_run(
                what,
                "the server was started by someone else (--url): the kit cannot signal it or write to its stdin (an http: or command: trigger works)",
            );
        }
        let deadline = self.step_cap;
        let Some(s) = &mut self.server else {
            return Outcome::failed("", what, "the scenario has no [server] section");
        };
        let line_ready = match s.before_in_process_restart() {
            Ok(l) => l,
            Err(e) => return Outcome::failed(text, what, e),
        };
        let t0 = Instant::now();
        let sent = match self.deliver(&trigger, deadline).await {
            Ok(d) => d,
            Err(e) => return Outcome::failed(text, what, e),
        };
        let settle = settle.unwrap_or(if line_ready {
            Duration::ZERO
        } else {
            DEFAULT_SETTLE
        });
        let Some(s) = &mut self.server else {
            return Outcome::failed(sent, what, "the scenario has no [server] section");
        };
        match s
            .after_in_process_restart(t0, settle, &mut self.vars, deadline)
            .await
        {
            Ok(obs) => Outcome::ok(sent, what, obs),
            Err(e) => Outcome::failed(sent, what, e),
        }
    }
}

impl RunStep for StartServer {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        r.start_server().await
    }
}

impl RunStep for StopServer {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        r.stop_server(self.signal, false).await
    }
}

impl RunStep for RestartServer {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        match &self.trigger {
            Some(t) => r.restart_in_process(t, self.settle).await,
            None => r.stop_server(self.signal, true).await,
        }
    }
}

impl RunStep for AssertServer {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let a = self;
        let t0 = cx.t0;
        let expected = match (a.state, a.exit_code) {
            (ServerState::Alive, _) if a.within.is_zero() => "the server is running".to_string(),
            (ServerState::Alive, _) => {
                format!("the server keeps running for {}", format_duration(a.within))
            }
            (ServerState::Exited, Some(c)) => format!(
                "the server exits with code {c} within {}",
                format_duration(a.within)
            ),
            (ServerState::Exited, None) => {
                format!("the server exits within {}", format_duration(a.within))
            }
        };
        if let Some(o) = r.external_not_run(&expected) {
            return o;
        }
        let Window {
            until: deadline,
            cut,
        } = r.window(t0, a.within);
        let Some(s) = &mut r.server else {
            return Outcome::failed("", expected, "the scenario has no [server] section");
        };
        let Some(p) = s.process() else {
            return Outcome::failed("", expected, "the server was never started");
        };
        match a.state {
            ServerState::Alive => {
                let pid = p.pid();
                let exit = if a.within.is_zero() {
                    p.exit()
                } else {
                    p.wait_exit(deadline).await
                };
                match exit {
                    Some(e) => {
                        let t = s.exit_text(&e);
                        s.exit_reported();
                        Outcome::failed("", expected, format!("the server has exited: {t}"))
                    }
                    None if cut.is_empty() => Outcome::ok(
                        "",
                        expected,
                        format!("running (pid {pid}) for {}", ms(t0.elapsed())),
                    ),
                    None => Outcome::failed(
                        "",
                        expected,
                        format!("running (pid {pid}) for {}{cut}", ms(t0.elapsed())),
                    ),
                }
            }
            ServerState::Exited => match p.wait_exit(deadline).await {
                None => Outcome::still_running(expected, p.pid(), a.within, cut),
                Some(e) => {
                    let t = s.exit_text(&e);
                    s.acknowledge_exit();
                    match a.exit_code {
                        Some(c) if c != e.shell_code() => Outcome::failed(
                            "",
                            expected,
                            format!("exited with {t} (code {})", e.shell_code()),
                        ),
                        _ => Outcome::ok("", expected, format!("exited: {t}")),
                    }
                }
            },
        }
    }
}
