//! How the client-under-test actions run: `start_client` spawns the process (in its own
//! process group, output captured like the server's) and waits for its ready line;
//! `stop_client` stops it by its pid. Clients still running at cleanup are stopped there.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use regex::Regex;

use super::process::{LineProbe, OutStream, ProcessSpec, ServerProcess};
use super::runner::{Outcome, RunStep, Runner, StepCx, Window};
use crate::report::{Direction, TranscriptEntry};
use crate::scenario::actions::{AssertClient, ServerState, StartClient, StopClient};
use crate::scenario::describe::{ms, short};
use crate::scenario::format_duration;
use crate::scenario::vars::render_value;

/// A client process the scenario started, with its name.
#[derive(Debug)]
pub(super) struct ClientProc {
    pub proc: ServerProcess,
}

/// The last lines of a client's output, for reports.
fn tail(p: &ServerProcess, n: usize) -> String {
    let lines: Vec<String> = p
        .last_lines(n)
        .into_iter()
        .map(|l| format!("{}: {}", l.stream.name(), short(&l.text, 160)))
        .collect();
    if lines.is_empty() {
        "no output".into()
    } else {
        format!("last output: {}", lines.join(" | "))
    }
}

impl RunStep for StartClient {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let sent = self.command.join(" ");
        let expected = match &self.ready {
            Some(re) => format!(
                "the client prints a line matching {re:?} within {}",
                format_duration(self.within)
            ),
            None => "the client starts".into(),
        };
        if let Some(old) = r.clients.get(&self.client) {
            if old.proc.is_running() {
                return Outcome::failed(
                    sent,
                    expected,
                    format!(
                        "client {:?} is already running (pid {}); stop it first",
                        self.client,
                        old.proc.pid()
                    ),
                );
            }
        }
        let scenario_dir = r
            .vars
            .get("scenario_dir")
            .map(render_value)
            .unwrap_or_else(|| ".".into());
        let cwd = match &self.cwd {
            None => PathBuf::from(&scenario_dir),
            Some(c) if Path::new(c).is_absolute() => PathBuf::from(c),
            Some(c) => Path::new(&scenario_dir).join(c),
        };
        let probe = match &self.ready {
            None => None,
            Some(re) => match Regex::new(re) {
                Ok(regex) => Some(LineProbe {
                    stream: OutStream::Stdout,
                    regex,
                }),
                Err(e) => return Outcome::failed(sent, expected, format!("field \"ready\": {e}")),
            },
        };
        let spec = ProcessSpec {
            command: self.command.clone(),
            cwd,
            env: self.env.clone(),
            stdin: false,
        };
        let proc = match ServerProcess::spawn(&spec, probe.clone()) {
            Ok(p) => p,
            Err(e) => return Outcome::failed(sent, expected, e.to_string()),
        };
        r.events.note(format!(
            "client {} started: pid {} ({})",
            self.client,
            proc.pid(),
            short(&sent, 200)
        ));
        let pid = proc.pid();
        let until = r.window(cx.t0, self.within).until;
        let res = match probe {
            None => Ok(()),
            Some(_) => proc.wait_probe(until).await.map(|_| ()),
        };
        let out = match res {
            Ok(()) => Outcome::ok(
                sent.clone(),
                expected.clone(),
                format!(
                    "client {} ready (pid {pid}) after {:.0} ms",
                    self.client,
                    proc.spawned_at.elapsed().as_secs_f64() * 1000.0
                ),
            ),
            Err(Some(exit)) => Outcome::failed(
                sent.clone(),
                expected.clone(),
                format!(
                    "the client exited before it was ready: {}; {}",
                    exit.describe(),
                    tail(&proc, 5)
                ),
            ),
            Err(None) => Outcome::failed(
                sent.clone(),
                expected.clone(),
                format!(
                    "no ready line within {}; {}",
                    format_duration(self.within),
                    tail(&proc, 5)
                ),
            ),
        };
        r.clients.insert(self.client.clone(), ClientProc { proc });
        out
    }
}

impl RunStep for StopClient {
    async fn run(&self, r: &mut Runner<'_>, _: &StepCx<'_>) -> Outcome {
        let sent = format!("SIG{} to client {}", self.signal.name(), self.client);
        let expected = format!(
            "the client exits within {} of the signal",
            format_duration(self.within)
        );
        let Some(c) = r.clients.get(&self.client) else {
            return Outcome::failed(
                sent,
                expected,
                format!("no client {:?} was started", self.client),
            );
        };
        let out = c.proc.stop(self.signal, self.within).await;
        let how = match out.exit {
            Some(e) => e.describe(),
            None => "did not end even after SIGKILL".into(),
        };
        if out.already_exited {
            return Outcome::failed(
                sent,
                expected,
                format!("the client had already exited ({how})"),
            );
        }
        if out.killed {
            return Outcome::failed(
                sent,
                expected,
                format!(
                    "still running after {}; killed with SIGKILL ({how})",
                    format_duration(self.within)
                ),
            );
        }
        Outcome::ok(
            sent,
            expected,
            format!(
                "exited after {:.0} ms ({how})",
                out.took.as_secs_f64() * 1000.0
            ),
        )
    }
}

impl RunStep for AssertClient {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let expected = match (self.state, self.exit_code) {
            (ServerState::Alive, _) if self.within.is_zero() => {
                format!("client {} is running", self.client)
            }
            (ServerState::Alive, _) => format!(
                "client {} keeps running for {}",
                self.client,
                format_duration(self.within)
            ),
            (ServerState::Exited, Some(c)) => format!(
                "client {} exits with code {c} within {}",
                self.client,
                format_duration(self.within)
            ),
            (ServerState::Exited, None) => format!(
                "client {} exits within {}",
                self.client,
                format_duration(self.within)
            ),
        };
        let Window { until, cut } = r.window(cx.t0, self.within);
        let Some(c) = r.clients.get(&self.client) else {
            return Outcome::failed(
                "",
                expected,
                format!("no client {:?} was started", self.client),
            );
        };
        let p = &c.proc;
        match self.state {
            ServerState::Alive => {
                let exit = if self.within.is_zero() {
                    p.exit()
                } else {
                    p.wait_exit(until).await
                };
                match exit {
                    Some(e) => Outcome::failed(
                        "",
                        expected,
                        format!("the client has exited: {}; {}", e.describe(), tail(p, 5)),
                    ),
                    None if cut.is_empty() => Outcome::ok(
                        "",
                        expected,
                        format!("running (pid {}) for {}", p.pid(), ms(cx.t0.elapsed())),
                    ),
                    None => {
                        Outcome::failed("", expected, format!("running (pid {}){cut}", p.pid()))
                    }
                }
            }
            ServerState::Exited => match p.wait_exit(until).await {
                None => Outcome::still_running(expected, p.pid(), self.within, cut),
                Some(e) => match self.exit_code {
                    Some(code) if code != e.shell_code() => Outcome::failed(
                        "",
                        expected,
                        format!("exited: {}; {}", e.describe(), tail(p, 5)),
                    ),
                    _ => Outcome::ok("", expected, format!("exited: {}", e.describe())),
                },
            },
        }
    }
}

impl Runner<'_> {
    /// Stops every client still running (by pid: its process group), for the cleanup
    /// case; returns one note per client.
    pub(super) async fn stop_clients(&mut self) -> Vec<String> {
        let mut notes = Vec::new();
        let mut names: Vec<String> = self.clients.keys().cloned().collect();
        names.sort();
        for name in names {
            let Some(c) = self.clients.get(&name) else {
                continue;
            };
            if !c.proc.is_running() {
                continue;
            }
            let out = c
                .proc
                .stop(crate::scenario::Signal::TERM, Duration::from_secs(3))
                .await;
            notes.push(format!(
                "client {name} (pid {}) stopped{}",
                c.proc.pid(),
                if out.killed { " with SIGKILL" } else { "" }
            ));
        }
        notes
    }

    /// Transcript entries of the client processes (spawn output and exit), with
    /// `lo < t_ms <= hi`.
    pub(super) fn client_entries(&self, lo: f64, hi: f64) -> Vec<TranscriptEntry> {
        let ms = |t: Instant| t.saturating_duration_since(self.started).as_secs_f64() * 1000.0;
        let mut v = Vec::new();
        for (name, c) in &self.clients {
            let mut push = |t_ms: f64, dir: Direction, summary: String| {
                if t_ms > lo && t_ms <= hi {
                    v.push(TranscriptEntry {
                        t_ms,
                        conn: format!("client {name}"),
                        dir,
                        kind: "process".into(),
                        summary,
                        hex: None,
                    });
                }
            };
            for l in c.proc.last_lines(usize::MAX) {
                push(
                    ms(l.at),
                    Direction::Recv,
                    format!("{}: {}", l.stream.name(), l.text),
                );
            }
            if let Some(e) = c.proc.exit() {
                push(
                    ms(e.at),
                    Direction::Event,
                    format!("process {} ended: {}", c.proc.pid(), e.describe()),
                );
            }
        }
        v
    }
}
