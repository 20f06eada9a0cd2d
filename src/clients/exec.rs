//! `--exec 'CMD {url}'`: the kit drives the client itself, one process per case.
//!
//! For each case the command runs through `sh -c` in its own process group, with `{url}`
//! replaced by the case's URL quoted for the shell (the URL is also in `WSSPEC_URL`). The
//! case runs when the client connects; when it ends, the process group is stopped by its
//! id (SIGTERM, then SIGKILL after [`STOP_GRACE`]). A client that does not connect within
//! [`CONNECT_TIMEOUT`], or whose process ends first, fails the case (its opening handshake
//! never completed), with the end of its output in the report.
//!
//! Up to `jobs` cases run at once, each with its own process, scheduled as `wsspec run`
//! schedules its cases ([`run`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{not_opened, ClientServer};
use crate::report::{Direction, TranscriptEntry};
use crate::scenario::engine::process::{ProcessSpec, ServerProcess};
use crate::scenario::Signal;
use crate::suite::case::Lane;

/// How long a started client has to connect. Starting a process is not part of the case
/// (Autobahn's 5 s opening-handshake limit counts from the TCP accept, and so does the
/// kit's), and an interpreter can take seconds to start on a loaded machine.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client process gets to exit after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(1);
/// Output lines of a failing client quoted in its case report.
const QUOTED_LINES: usize = 20;

/// How to run the command.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// The shell command, with `{url}` where the case URL goes.
    pub command: String,
    /// The agent name the cases are recorded under.
    pub agent: String,
    /// Cases in flight at once (0 is treated as 1).
    pub jobs: usize,
    /// Working directory of the command.
    pub cwd: std::path::PathBuf,
}

/// Quotes `s` for a POSIX shell (single quotes).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The command line for one case.
pub fn command_for(template: &str, url: &str) -> String {
    if template.contains("{url}") {
        template.replace("{url}", &shell_quote(url))
    } else {
        format!("{template} {}", shell_quote(url))
    }
}

/// Runs every selected case with the command; returns when all have a result or the
/// server's deadline passed (the rest are then NOT RUN in the report).
///
/// Scheduling follows the server suite's rules ([`Lane`]): the timed cases (6.4.x, 5.19,
/// 5.20: they sleep on one-second pauses) all start first, outside the `jobs` limit; the
/// big 9.x cases take one slot of their own, one at a time; the rest fill the other slots.
/// On a single CPU the 9.x cases start only once the timed cases are done (see
/// [`super::limits_beside_timed`]).
/// Each case has its own URL (`case=N`), so concurrent connections are told apart.
pub async fn run(server: Arc<ClientServer>, cfg: ExecConfig) {
    let jobs = cfg.jobs.max(1);
    let hard = server.hub.hard;
    let cfg = Arc::new(cfg);
    let mut set: JoinSet<Lane> = JoinSet::new();
    let mut queues: [VecDeque<usize>; 3] = Default::default();
    for (index, def) in server.selection().cases.iter().enumerate() {
        if let Some(why) = &def.not_run {
            // Nothing to start a client for: recorded NOT RUN without a process.
            server.record(&cfg.agent, index, super::not_run(def, why));
            continue;
        }
        let q = match def.lane() {
            Lane::Timed => 0,
            Lane::Alone => 1,
            Lane::Shared => 2,
        };
        queues[q].push_back(index);
    }
    let [timed, mut alone, mut shared] = queues;
    let spawn = |set: &mut JoinSet<Lane>, index: usize, lane: Lane| {
        let (s, c) = (server.clone(), cfg.clone());
        set.spawn(async move {
            run_one(&s, &c, index, hard).await;
            lane
        });
    };
    let mut timed_in_flight = timed.len();
    for i in timed {
        spawn(&mut set, i, Lane::Timed);
    }
    let mut alone_busy = false;
    let limits = |i: usize| server.selection().cases[i].info.must_run_alone;
    let beside_timed = super::limits_beside_timed();
    while Instant::now() < hard {
        let slot_free = set.len().saturating_sub(timed_in_flight) < jobs;
        let limits_ok = beside_timed || timed_in_flight == 0;
        if slot_free && !alone_busy && limits_ok {
            if let Some(i) = alone.pop_front() {
                spawn(&mut set, i, Lane::Alone);
                alone_busy = true;
                continue;
            }
        }
        if slot_free {
            if let Some(&i) = shared.front() {
                if limits_ok || !limits(i) {
                    shared.pop_front();
                    spawn(&mut set, i, Lane::Shared);
                    continue;
                }
            }
        }
        match set.join_next().await {
            Some(Ok(Lane::Timed)) => timed_in_flight -= 1,
            Some(Ok(Lane::Alone)) => alone_busy = false,
            Some(Ok(Lane::Shared)) => {}
            // A case task that panicked (a kit bug): its lane is unknown, so the counts are
            // made safe rather than exact.
            Some(Err(_)) => {
                timed_in_flight = timed_in_flight.min(set.len());
                alone_busy = false;
            }
            None => break,
        }
    }
    while set.join_next().await.is_some() {}
}

async fn run_one(server: &ClientServer, cfg: &ExecConfig, index: usize, hard: Instant) {
    let url = server.case_url(index + 1, &cfg.agent);
    let spec = ProcessSpec {
        command: vec!["sh".into(), "-c".into(), command_for(&cfg.command, &url)],
        cwd: cfg.cwd.clone(),
        env: vec![("WSSPEC_URL".into(), url.clone())],
        stdin: false,
    };
    let proc = match ServerProcess::spawn(&spec, None) {
        Ok(p) => p,
        Err(e) => {
            let r = not_opened(index, server.selection(), &e.to_string());
            server.record(&cfg.agent, index, r);
            return;
        }
    };
    // The client must connect within the opening-handshake limit, unless its process
    // ends first.
    let connect_by = (Instant::now() + CONNECT_TIMEOUT).min(hard);
    let started = tokio::select! {
        s = server.wait_started(&cfg.agent, index, connect_by) => s,
        _ = proc.wait_exit(connect_by) => {
            // It may have connected and finished just before exiting.
            server.wait_started(&cfg.agent, index, Instant::now() + Duration::from_millis(200)).await
        }
    };
    if !started {
        let why = match proc.exit() {
            Some(e) => format!(
                "the client process ended ({}) without connecting",
                e.describe()
            ),
            None => format!(
                "the client did not connect within {} s of its start",
                CONNECT_TIMEOUT.as_secs()
            ),
        };
        proc.stop(Signal::TERM, STOP_GRACE).await;
        let mut r = not_opened(index, server.selection(), &why);
        r.transcript = output_entries(&proc);
        server.record(&cfg.agent, index, r);
        return;
    }
    // The case's own timers bound it; the hub's deadline cuts it at the latest.
    let _ = server
        .wait_result(&cfg.agent, index, hard + Duration::from_secs(5))
        .await;
    proc.stop(Signal::TERM, STOP_GRACE).await;
}

/// Runs `cfg.jobs` copies of an Autobahn driver command, copy K with `{url}` replaced by
/// the base URL of shard K (`ws://127.0.0.1:PORT/shard/K`; the server must listen with
/// [`super::ServeConfig::shards`] = `jobs`); returns when every copy has exited or the
/// server's deadline passed (the copies still running are then stopped). The drivers name
/// the agent themselves (`agent=`). Returns one line per driver that failed: its exit
/// and the end of its output.
pub async fn run_drivers(server: Arc<ClientServer>, cfg: ExecConfig) -> Vec<String> {
    let hard = server.hub.hard;
    let mut set = JoinSet::new();
    for k in 0..cfg.jobs.max(1) {
        let url = format!("{}/shard/{k}", server.base_url());
        let spec = ProcessSpec {
            command: vec!["sh".into(), "-c".into(), command_for(&cfg.command, &url)],
            cwd: cfg.cwd.clone(),
            env: vec![("WSSPEC_URL".into(), url.clone())],
            stdin: false,
        };
        set.spawn(async move {
            let proc = match ServerProcess::spawn(&spec, None) {
                Ok(p) => p,
                Err(e) => return Some(format!("driver {k}: cannot start: {e}")),
            };
            let exit = proc.wait_exit(hard).await;
            proc.stop(Signal::TERM, STOP_GRACE).await;
            match exit {
                Some(e) if e.shell_code() == 0 => None,
                other => {
                    let how = other.map_or("was stopped at the deadline".into(), |e| {
                        format!("ended ({})", e.describe())
                    });
                    let tail: Vec<String> = proc
                        .last_lines(QUOTED_LINES)
                        .into_iter()
                        .map(|l| format!("  {}", l.text))
                        .collect();
                    Some(format!("driver {k} {how}\n{}", tail.join("\n")))
                }
            }
        });
    }
    let mut failed = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(Some(f)) = r {
            failed.push(f);
        }
    }
    failed
}

/// The end of the client's output, for the report of a case it never opened.
fn output_entries(proc: &ServerProcess) -> Vec<TranscriptEntry> {
    let t0 = proc.spawned_at;
    proc.last_lines(QUOTED_LINES)
        .into_iter()
        .map(|l| TranscriptEntry {
            t_ms: l.at.saturating_duration_since(t0).as_secs_f64() * 1000.0,
            conn: "client".into(),
            dir: Direction::Event,
            kind: l.stream.name().into(),
            summary: l.text,
            hex: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_quoted_for_the_shell() {
        assert_eq!(
            command_for(
                "node c.js {url}",
                "ws://127.0.0.1:1/runCase?case=1&agent=a'b"
            ),
            r"node c.js 'ws://127.0.0.1:1/runCase?case=1&agent=a'\''b'"
        );
        assert_eq!(command_for("./c", "ws://x/"), "./c 'ws://x/'");
    }
}
