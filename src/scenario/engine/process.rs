//! The server under test as a child process: spawn, output capture, readiness, stop.
//!
//! The child runs in its own process group with stdin from `/dev/null`, or from a pipe
//! the kit keeps open when a step may write to it (an in-process restart on a line of
//! input, as `rs` for nodemon or `r` for Vite's shortcuts). Its stdout
//! and stderr are drained continuously (a dev server that fills a pipe would block),
//! line by line, each line capped at [`MAX_LINE`] bytes, into a ring of the last
//! [`RING_LINES`] lines that reports quote when the server misbehaves. A readiness
//! regex on stdout or stderr is checked by the draining task itself, so no line can
//! slip past between two looks. Stopping signals the whole group, waits a bounded
//! time, then sends `SIGKILL`; dropping a [`ServerProcess`] kills the group at once,
//! so no server outlives the run, whatever happened to it.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use regex::Regex;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::scenario::Signal;

/// Output lines kept per server (both streams together).
pub const RING_LINES: usize = 200;
/// Longest line kept; the rest of a longer line is dropped (and marked).
pub const MAX_LINE: usize = 4096;
/// Grace after `SIGKILL` for the kernel to reap the process.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutStream {
    /// stdout
    Stdout,
    /// stderr
    Stderr,
}

impl OutStream {
    /// `stdout` / `stderr`.
    pub fn name(self) -> &'static str {
        match self {
            OutStream::Stdout => "stdout",
            OutStream::Stderr => "stderr",
        }
    }
}

/// One line of server output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Which stream.
    pub stream: OutStream,
    /// When it was read.
    pub at: Instant,
    /// The text (lossy UTF-8, without the line end).
    pub text: String,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit code, when it exited normally.
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
    /// When the exit was seen.
    pub at: Instant,
}

impl ExitInfo {
    /// The exit code as a shell reports it: the code, or 128 + signal.
    pub fn shell_code(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => -1,
        }
    }

    /// `exit code 3`, `killed by signal 15 (SIGTERM)`.
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => match Signal::from_number(s) {
                Some(g) => format!("killed by signal {s} ({g})"),
                None => format!("killed by signal {s}"),
            },
            (None, None) => "ended (status unknown)".into(),
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Program and arguments (run directly, no shell).
    pub command: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Give the child a pipe as stdin (kept open until it exits) instead of `/dev/null`.
    pub stdin: bool,
}

/// A regex looked for in the output while the server starts.
#[derive(Debug, Clone)]
pub struct LineProbe {
    /// Which stream to watch.
    pub stream: OutStream,
    /// The pattern.
    pub regex: Regex,
}

/// A probe hit: the line and its capture groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeHit {
    /// The matching line.
    pub line: String,
    /// Named groups (`(?P<port>\d+)`), by name.
    pub named: BTreeMap<String, String>,
    /// Numbered groups, 0 = whole match; `None` for groups that did not take part.
    pub groups: Vec<Option<String>>,
    /// When the line was read.
    pub at: Instant,
}

#[derive(Debug, Default)]
struct State {
    lines: VecDeque<OutputLine>,
    total_lines: u64,
    exit: Option<ExitInfo>,
    probe: Option<LineProbe>,
    hit: Option<ProbeHit>,
}

/// Why a process could not be started.
#[derive(Debug)]
pub struct SpawnError {
    /// The program.
    pub program: String,
    /// The OS error.
    pub error: std::io::Error,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start {:?}: {}", self.program, self.error)
    }
}

impl std::error::Error for SpawnError {}

/// Result of [`ServerProcess::stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopOutcome {
    /// The signal sent first.
    pub signal: Signal,
    /// From the signal to the exit.
    pub took: Duration,
    /// True when the process had not exited within the timeout and got `SIGKILL`.
    pub killed: bool,
    /// How it ended; `None` if even `SIGKILL` did not end it in time (should not happen).
    pub exit: Option<ExitInfo>,
    /// True when the process had already exited before the signal.
    pub already_exited: bool,
}

/// A running (or exited) server process.
#[derive(Debug)]
pub struct ServerProcess {
    pid: i32,
    state: Arc<Mutex<State>>,
    changed: watch::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
    /// The write end of its stdin, when [`ProcessSpec::stdin`] asked for a pipe.
    stdin: tokio::sync::Mutex<Option<tokio::process::ChildStdin>>,
    /// When it was spawned.
    pub spawned_at: Instant,
    program: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Safety net for every path that did not stop the server (panic, cancelled run):
        // kill the whole group synchronously. Harmless when it is already gone.
        self.kill_group(libc::SIGKILL);
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl ServerProcess {
    /// Starts `spec` in a new process group, with `probe` watching its output from the
    /// first byte.
    pub fn spawn(
        spec: &ProcessSpec,
        probe: Option<LineProbe>,
    ) -> Result<ServerProcess, SpawnError> {
        let program = spec.command.first().cloned().unwrap_or_default();
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&spec.command[1.min(spec.command.len())..])
            .current_dir(&spec.cwd)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(if spec.stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|error| SpawnError {
            program: program.clone(),
            error,
        })?;
        let spawned_at = Instant::now();
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        let stdin = tokio::sync::Mutex::new(child.stdin.take());
        let state = Arc::new(Mutex::new(State {
            probe,
            ..State::default()
        }));
        let (tx, changed) = watch::channel(0u64);
        let tx = Arc::new(tx);
        let mut tasks = Vec::new();
        if let Some(out) = child.stdout.take() {
            tasks.push(tokio::spawn(drain(
                out,
                OutStream::Stdout,
                state.clone(),
                tx.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            tasks.push(tokio::spawn(drain(
                err,
                OutStream::Stderr,
                state.clone(),
                tx.clone(),
            )));
        }
        let st = state.clone();
        let tx2 = tx.clone();
        tasks.push(tokio::spawn(async move {
            use std::os::unix::process::ExitStatusExt;
            let status = child.wait().await;
            let info = match status {
                Ok(s) => ExitInfo {
                    code: s.code(),
                    signal: s.signal(),
                    at: Instant::now(),
                },
                Err(_) => ExitInfo {
                    code: None,
                    signal: None,
                    at: Instant::now(),
                },
            };
            lock(&st).exit = Some(info);
            tx2.send_modify(|n| *n += 1);
        }));
        Ok(ServerProcess {
            pid,
            state,
            changed,
            tasks,
            stdin,
            spawned_at,
            program,
        })
    }

    /// The process id (also the process group id).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The program name as given.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// How it ended, if it has.
    pub fn exit(&self) -> Option<ExitInfo> {
        lock(&self.state).exit
    }

    /// True while the process has not exited.
    pub fn is_running(&self) -> bool {
        self.exit().is_none()
    }

    /// The last output lines (at most `n`), oldest first.
    pub fn last_lines(&self, n: usize) -> Vec<OutputLine> {
        let g = lock(&self.state);
        let skip = g.lines.len().saturating_sub(n);
        g.lines.iter().skip(skip).cloned().collect()
    }

    /// Output lines read at or after `since`, oldest first (from the ring only).
    pub fn lines_since(&self, since: Instant) -> Vec<OutputLine> {
        lock(&self.state)
            .lines
            .iter()
            .filter(|l| l.at >= since)
            .cloned()
            .collect()
    }

    /// Lines read since the start (including those that left the ring).
    pub fn total_lines(&self) -> u64 {
        lock(&self.state).total_lines
    }

    /// Replaces the output probe (and forgets an earlier hit).
    pub fn set_probe(&self, probe: Option<LineProbe>) {
        let mut g = lock(&self.state);
        g.probe = probe;
        g.hit = None;
    }

    /// The probe hit, if the probe has matched a line.
    pub fn probe_hit(&self) -> Option<ProbeHit> {
        lock(&self.state).hit.clone()
    }

    /// Waits until the probe matches, the process exits, or `deadline`.
    pub async fn wait_probe(&self, deadline: Instant) -> Result<ProbeHit, Option<ExitInfo>> {
        let mut rx = self.changed.clone();
        loop {
            rx.borrow_and_update();
            {
                let g = lock(&self.state);
                if let Some(h) = &g.hit {
                    return Ok(h.clone());
                }
                if let Some(e) = g.exit {
                    return Err(Some(e));
                }
            }
            match tokio::time::timeout_at(deadline.into(), rx.changed()).await {
                Err(_) => return Err(None),
                Ok(Err(_)) => return Err(self.exit()),
                Ok(Ok(())) => {}
            }
        }
    }

    /// Waits for the exit until `deadline`.
    pub async fn wait_exit(&self, deadline: Instant) -> Option<ExitInfo> {
        let mut rx = self.changed.clone();
        loop {
            rx.borrow_and_update();
            if let Some(e) = self.exit() {
                return Some(e);
            }
            match tokio::time::timeout_at(deadline.into(), rx.changed()).await {
                Err(_) => return None,
                Ok(Err(_)) => return self.exit(),
                Ok(Ok(())) => {}
            }
        }
    }

    /// Sends `sig` to the process group; false if it could not be delivered.
    pub fn signal(&self, sig: i32) -> bool {
        self.kill_group(sig)
    }

    /// Sends `sig` to the process itself, not to its group; false if it could not be
    /// delivered.
    pub fn signal_leader(&self, sig: i32) -> bool {
        if self.pid <= 0 || !self.is_running() {
            return false;
        }
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped (it is
        // still running); no memory-safety preconditions.
        unsafe { libc::kill(self.pid, sig) == 0 }
    }

    /// Writes `data` to the process's stdin, bounded by `deadline` (a process that does
    /// not read leaves the pipe full).
    pub async fn write_stdin(&self, data: &[u8], deadline: Instant) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        let mut guard = self.stdin.lock().await;
        let Some(pipe) = guard.as_mut() else {
            return Err("the server's stdin is not a pipe the kit holds".into());
        };
        let write = async {
            pipe.write_all(data).await?;
            pipe.flush().await
        };
        match tokio::time::timeout_at(deadline.into(), write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("cannot write to the server's stdin: {e}")),
            Err(_) => {
                Err("the server did not read its stdin in time (the pipe stayed full)".into())
            }
        }
    }

    fn kill_group(&self, sig: i32) -> bool {
        if self.pid <= 0 {
            return false;
        }
        // SAFETY: kill(2) with a negative pid signals the process group we created with
        // process_group(0); it has no memory-safety preconditions.
        unsafe { libc::kill(-self.pid, sig) == 0 }
    }

    /// Stops the server: `signal` to the group, wait up to `timeout`, then `SIGKILL`.
    /// Bounded by `timeout` plus a short grace.
    pub async fn stop(&self, signal: Signal, timeout: Duration) -> StopOutcome {
        let t0 = Instant::now();
        if let Some(e) = self.exit() {
            // Stray children may still hold the group; make sure they go too.
            self.kill_group(libc::SIGKILL);
            return StopOutcome {
                signal,
                took: Duration::ZERO,
                killed: false,
                exit: Some(e),
                already_exited: true,
            };
        }
        self.kill_group(signal.number());
        let mut exit = self.wait_exit(t0 + timeout).await;
        let mut killed = false;
        if exit.is_none() {
            killed = true;
            self.kill_group(libc::SIGKILL);
            exit = self.wait_exit(Instant::now() + KILL_GRACE).await;
        }
        // Whatever the leader did, leave nothing of the group behind.
        self.kill_group(libc::SIGKILL);
        StopOutcome {
            signal,
            took: exit.map_or(t0.elapsed(), |e| e.at.saturating_duration_since(t0)),
            killed,
            exit,
            already_exited: false,
        }
    }
}

async fn drain<R: AsyncRead + Unpin>(
    mut r: R,
    stream: OutStream,
    state: Arc<Mutex<State>>,
    tx: Arc<watch::Sender<u64>>,
) {
    let mut buf = vec![0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    let mut overflow = false;
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        if n == 0 {
            if !line.is_empty() {
                push_line(&state, &tx, stream, &line, overflow);
            }
            return;
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                push_line(&state, &tx, stream, &line, overflow);
                line.clear();
                overflow = false;
            } else if line.len() < MAX_LINE {
                line.push(b);
            } else {
                overflow = true;
            }
        }
    }
}

fn push_line(
    state: &Mutex<State>,
    tx: &watch::Sender<u64>,
    stream: OutStream,
    raw: &[u8],
    overflow: bool,
) {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let mut text = String::from_utf8_lossy(raw).into_owned();
    if overflow {
        text.push_str(" …(line cut)");
    }
    let at = Instant::now();
    let mut g = lock(state);
    if g.hit.is_none() {
        if let Some(p) = &g.probe {
            if p.stream == stream {
                if let Some(c) = p.regex.captures(&text) {
                    let named = p
                        .regex
                        .capture_names()
                        .flatten()
                        .filter_map(|n| c.name(n).map(|m| (n.to_owned(), m.as_str().to_owned())))
                        .collect();
                    let groups = c.iter().map(|m| m.map(|m| m.as_str().to_owned())).collect();
                    g.hit = Some(ProbeHit {
                        line: text.clone(),
                        named,
                        groups,
                        at,
                    });
                }
            }
        }
    }
    if g.lines.len() >= RING_LINES {
        g.lines.pop_front();
    }
    g.lines.push_back(OutputLine { stream, at, text });
    g.total_lines += 1;
    drop(g);
    tx.send_modify(|n| *n += 1);
}
