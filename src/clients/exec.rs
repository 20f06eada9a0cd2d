//! `--exec 'CMD {url}'`: the kit drives the client itself, one process per case.
//!
//! For each case the command runs through `sh -c` in its own process group, with `{url}`
//! replaced by the case's URL quoted for the shell (the URL is also in `WSSPEC_URL`). The
//! case runs when the client connects; when it ends, the process group is stopped by its
//! id (SIGTERM, then SIGKILL after [`STOP_GRACE`]). A client that does not connect within
//! the opening-handshake limit, or whose process ends first, fails the case (its opening
//! handshake never completed), with the end of its output in the report.
//!
//! Up to `jobs` cases run at once, each with its own process; the cases that measure
//! timing or throughput (6.4.x, 9.x) run alone, as in `wsspec run`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{not_opened, ClientServer, OPEN_HANDSHAKE_TIMEOUT};
use crate::report::{Direction, TranscriptEntry};
use crate::scenario::engine::process::{ProcessSpec, ServerProcess};
use crate::scenario::Signal;

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
pub async fn run(server: Arc<ClientServer>, cfg: ExecConfig) {
    let jobs = cfg.jobs.max(1);
    let hard = server.hub.hard;
    let cfg = Arc::new(cfg);
    let mut set: JoinSet<()> = JoinSet::new();
    let n = server.selection().len();
    for index in 0..n {
        let def = &server.selection().cases[index];
        let alone = def.info.must_run_alone;
        if def.not_run.is_some() {
            // Nothing to start a client for: recorded NOT RUN without a process.
            let why = def.not_run.clone().unwrap_or_default();
            server.record(&cfg.agent, index, super::not_run(def, &why));
            continue;
        }
        if alone {
            while set.join_next().await.is_some() {}
        } else {
            while set.len() >= jobs {
                set.join_next().await;
            }
        }
        if Instant::now() >= hard {
            break;
        }
        let (s, c) = (server.clone(), cfg.clone());
        set.spawn(async move { run_one(&s, &c, index, hard).await });
        if alone {
            while set.join_next().await.is_some() {}
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
    let connect_by = (Instant::now() + OPEN_HANDSHAKE_TIMEOUT).min(hard);
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
                "the client did not connect within {} s",
                OPEN_HANDSHAKE_TIMEOUT.as_secs()
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
