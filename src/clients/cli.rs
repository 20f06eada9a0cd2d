//! `wsspec clients`: the command line of client testing (kept here so that `src/cli.rs`
//! only names the subcommand).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::exec::ExecConfig;
use super::ServeConfig;
use crate::cli::{finish, parse_duration, CliError, OutputArgs};
use crate::report::{self, Baseline, Policy, Progress, RunReport};

/// `wsspec clients`: test WebSocket clients, the kit playing Autobahn's fuzzingserver.
#[derive(Debug, Args)]
pub struct ClientsArgs {
    /// Port to listen on (default 9001 for drivers; any free port with --exec).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Start this shell command once per case, with `{url}` replaced by the case URL
    /// (quoted for the shell), and stop it by its process id when the case ends.
    /// Without it, the kit waits for an Autobahn driver (`/getCaseCount`,
    /// `/runCase?case=N&agent=A`, `/updateReports?agent=A`).
    #[arg(long, value_name = "CMD", conflicts_with = "exec_driver")]
    pub exec: Option<String>,
    /// Start this Autobahn driver command `--jobs` times at once, with `{url}` replaced by
    /// the base URL of a shard (`ws://127.0.0.1:PORT/shard/K`); the shards share the cases
    /// (each `runCase` gets the next case not yet run, then empty closes once none is
    /// left), so unchanged drivers run them in parallel with one process start per driver.
    /// The drivers name the agent (`agent=`).
    #[arg(long, value_name = "CMD")]
    pub exec_driver: Option<String>,
    /// Name of the client in reports (with --exec; drivers name themselves with `agent=`).
    #[arg(long)]
    pub agent: Option<String>,
    /// Case selection, comma separated; `*` is a wildcard (`1.*,6.4.*`).
    #[arg(long, value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Cases to leave out, comma separated (`9.*`).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Include the slow cases in the default set: limits/performance (9.*) and
    /// permessage-deflate (12.*, 13.*; the client must offer the extension).
    #[arg(long)]
    pub all: bool,
    /// List the selected cases with their driver numbers and exit.
    #[arg(long)]
    pub list: bool,
    /// Cases in flight at once with --exec (default: twice the CPUs, at least 4), drivers
    /// with --exec-driver (default: as many, and two more than the timed cases selected,
    /// so that the drivers sleeping in them leave others free). The timed cases (6.4.x,
    /// 5.19, 5.20) start first; the 4-16 MiB 9.x cases run one at a time.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Global deadline; cases not finished by then are NOT RUN.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub deadline: Duration,
    /// Keep serving after `/updateReports` (as Autobahn does) until `/stopServer`,
    /// `shutdownOnComplete=true`, SIGTERM or the deadline; by default the kit stops after
    /// the first `/updateReports`, so `wsspec clients & driver; wait $!` gives the exit code.
    #[arg(long)]
    pub keep_serving: bool,
    /// Reports to write.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Cases and drivers in flight by default: they mostly wait on the client and on timers,
/// so twice the CPUs, and at least 4.
fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 2)
        .max(4)
}

/// The path for `agent`'s report when several agents share one option: `report.json`
/// becomes `report.<agent>.json`.
fn per_agent(path: &Path, agent: &str, several: bool) -> PathBuf {
    if !several {
        return path.to_path_buf();
    }
    let slug: String = agent
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(e) => format!("{stem}.{slug}.{}", e.to_string_lossy()),
        None => format!("{stem}.{slug}"),
    };
    path.with_file_name(name)
}

/// Writes the requested report files for every agent (no terminal output): what
/// `/updateReports` does.
fn write_reports(reports: &[RunReport], out: &OutputArgs) -> Result<(), String> {
    let policy = Policy::new(out.strict);
    let several = reports.len() > 1;
    let mut errors = Vec::new();
    for r in reports {
        if let Some(p) = &out.json {
            if let Err(e) = report::write_json(r, &per_agent(p, &r.agent, several)) {
                errors.push(format!("cannot write the JSON report: {e}"));
            }
        }
        if let Some(p) = &out.junit {
            if let Err(e) = report::write_junit_with(r, &per_agent(p, &r.agent, several), &policy) {
                errors.push(format!("cannot write the JUnit report: {e}"));
            }
        }
    }
    if let Some(d) = &out.html {
        if !reports.is_empty() {
            if let Err(e) = report::write_html(reports, d) {
                errors.push(format!("cannot write the HTML report: {e}"));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Runs `wsspec clients`.
pub async fn run(a: ClientsArgs) -> Result<i32, CliError> {
    let catalog = super::catalog();
    let selection = crate::suite::select(&catalog, &a.cases, &a.exclude, a.all)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if a.list {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for (i, c) in selection.iter().enumerate() {
            if writeln!(out, "{:>4} {:<10} {:<14} {}", i + 1, c.id, c.rfc, c.title).is_err() {
                return Ok(0);
            }
        }
        eprintln!("{} cases", selection.len());
        return Ok(0);
    }
    if let Some(b) = &a.output.baseline {
        // Checked before a client is run, so a typo costs nothing.
        Baseline::load(b).map_err(|e| CliError::Io(e.to_string()))?;
    }
    let exec_mode = a.exec.is_some() || a.exec_driver.is_some();
    let timed = selection
        .cases
        .iter()
        .filter(|d| d.lane() == crate::suite::case::Lane::Timed)
        .count();
    let jobs = a.jobs.unwrap_or(if a.exec_driver.is_some() {
        default_jobs().max(timed + 2)
    } else {
        default_jobs()
    });
    let port = a.port.unwrap_or(if exec_mode { 0 } else { 9001 });
    let addr = SocketAddr::new(a.bind, port);
    let total = selection.len();
    let progress = Arc::new(Progress::new(
        total,
        !a.output.no_progress && (a.exec.is_some() || a.exec_driver.is_some()),
    ));
    let p2 = progress.clone();
    let out = a.output.clone();
    let cfg = ServeConfig {
        selection,
        deadline: Some(a.deadline),
        strict: a.output.strict,
        on_result: Some(Arc::new(move |_agent, c| p2.finish_case(&c.id, c.verdict))),
        on_update_reports: Some(Arc::new(move |reports| write_reports(reports, &out))),
        shards: if a.exec_driver.is_some() {
            jobs.max(1)
        } else {
            0
        },
        ..Default::default()
    };
    let server = Arc::new(
        super::listen(addr, cfg)
            .await
            .map_err(|e| CliError::Server(format!("cannot listen on {addr}: {e}")))?,
    );
    println!("LISTENING {}", server.local_addr.port());
    let cwd = || std::env::current_dir().map_err(|e| CliError::Io(e.to_string()));
    if let Some(cmd) = &a.exec_driver {
        let ec = ExecConfig {
            command: cmd.clone(),
            agent: String::new(),
            jobs,
            cwd: cwd()?,
        };
        let failed = tokio::select! {
            f = super::exec::run_drivers(server.clone(), ec) => f,
            _ = crate::cli::wait_for_stop_signal() => Vec::new(),
        };
        progress.finish();
        for f in failed {
            eprintln!("wsspec clients: {f}");
        }
        return finish_agents(&server, &a);
    }
    match &a.exec {
        Some(cmd) => {
            let agent = a.agent.clone().unwrap_or_else(|| {
                cmd.split_whitespace()
                    .next()
                    .map(|p| p.rsplit('/').next().unwrap_or(p).to_owned())
                    .unwrap_or_else(|| "client".into())
            });
            let ec = ExecConfig {
                command: cmd.clone(),
                agent: agent.clone(),
                jobs,
                cwd: cwd()?,
            };
            tokio::select! {
                _ = super::exec::run(server.clone(), ec) => {}
                _ = tokio::time::sleep(a.deadline + Duration::from_secs(10)) => {}
            }
            progress.finish();
            let report = server.report(&agent);
            finish(&report, &a.output)
        }
        None => {
            eprintln!(
                "wsspec clients: {total} cases; drivers connect to {}/getCaseCount, {}/runCase?case=N&agent=NAME, {}/updateReports?agent=NAME",
                server.base_url(),
                server.base_url(),
                server.base_url()
            );
            tokio::select! {
                _ = server.stopped() => {}
                _ = async { server.reports_updated().await }, if !a.keep_serving => {}
                _ = tokio::time::sleep(a.deadline) => {
                    eprintln!("wsspec clients: the deadline was reached");
                }
                _ = crate::cli::wait_for_stop_signal() => {}
            }
            finish_agents(&server, &a)
        }
    }
}

/// Writes the reports of every agent that ran a case (one file per agent when there are
/// several) and returns the worst exit code.
fn finish_agents(server: &super::ClientServer, a: &ClientsArgs) -> Result<i32, CliError> {
    let reports = server.reports();
    if reports.is_empty() {
        return Err(CliError::Untested(
            "no client ran any case (a driver must open /runCase?case=N&agent=NAME)".into(),
        ));
    }
    let mut code = 0;
    let several = reports.len() > 1;
    for r in &reports {
        let out = OutputArgs {
            json: a
                .output
                .json
                .as_deref()
                .map(|p| per_agent(p, &r.agent, several)),
            junit: a
                .output
                .junit
                .as_deref()
                .map(|p| per_agent(p, &r.agent, several)),
            html: None,
            write_baseline: a
                .output
                .write_baseline
                .as_deref()
                .map(|p| per_agent(p, &r.agent, several)),
            ..a.output.clone()
        };
        code = code.max(finish(r, &out)?);
    }
    if let Some(d) = &a.output.html {
        report::write_html(&reports, d)
            .map_err(|e| CliError::Io(format!("cannot write the HTML report: {e}")))?;
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_agent_paths() {
        let p = Path::new("out/report.json");
        assert_eq!(
            per_agent(p, "ws 8", false),
            PathBuf::from("out/report.json")
        );
        assert_eq!(
            per_agent(p, "ws 8", true),
            PathBuf::from("out/report.ws_8.json")
        );
    }
}
