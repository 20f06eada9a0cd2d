//! The `wsspec fuzz` subcommand: arguments to [`FuzzOptions`](super::FuzzOptions), the
//! session to the report and the exit code (0 nothing found, 1 findings, 2 could not
//! test).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::cli::{finish, parse_duration, CliError, OutputArgs};

/// `wsspec fuzz` (docs/fuzzing.md).
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// A `ws://` URL, a scenario file, a profile directory or a profile name.
    pub target: String,
    /// With a scenario or profile: the server already runs at this URL (nothing is started).
    #[arg(long)]
    pub url: Option<String>,
    /// Sets a scenario variable (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Seed of the run (the same seed and budget give the same inputs).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Runs at most.
    #[arg(long, default_value_t = 1000)]
    pub runs: u64,
    /// Time box for the whole session, minimisation included.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Mutation levels, comma separated: frames, handshake, messages (or all).
    #[arg(long, default_value = "all")]
    pub levels: String,
    /// A liveness probe's pong later than this is a finding.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub latency_bound: Duration,
    /// How long the liveness probe waits for an upgrade and a pong.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub probe_timeout: Duration,
    /// Directory of kept inputs, read at the start and added to during the run.
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// Where the `finding-N.toml` replay scenarios are written.
    #[arg(long, value_name = "DIR", default_value = "wsspec-findings")]
    pub findings_dir: PathBuf,
    /// Stop after this many distinct findings.
    #[arg(long, default_value_t = 8)]
    pub max_findings: usize,
    /// Name of the server in reports.
    #[arg(long)]
    pub agent: Option<String>,
    /// Reports to write.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wsspec fuzz`: exit 1 on findings, 2 when nothing could be tested.
pub async fn run(a: FuzzArgs) -> Result<i32, CliError> {
    let levels =
        super::Levels::parse(&a.levels).map_err(|e| CliError::Usage(format!("--levels: {e}")))?;
    let mut vars = Vec::new();
    for v in &a.vars {
        let (k, val) = v
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--var {v:?}: expected NAME=VALUE")))?;
        vars.push((k.to_owned(), val.to_owned()));
    }
    let opts = super::FuzzOptions {
        target: a.target.clone(),
        url: a.url.clone(),
        vars,
        seed: a.seed,
        runs: a.runs,
        duration: a.duration,
        levels,
        exec: super::ExecConfig {
            latency_bound: a.latency_bound,
            probe_timeout: a.probe_timeout,
            ..Default::default()
        },
        max_findings: a.max_findings.max(1),
        corpus: a.corpus.clone(),
        findings_dir: Some(a.findings_dir.clone()),
        agent: a.agent.clone(),
        ..Default::default()
    };
    let run = super::fuzz(&opts).await;
    eprintln!(
        "wsspec fuzz: {} runs, {} finding(s){}",
        run.runs,
        run.findings.len(),
        run.first_finding_run
            .map(|r| format!(", first at run {r}"))
            .unwrap_or_default()
    );
    for f in &run.findings {
        if let Some(p) = &f.file {
            eprintln!(
                "  finding {} ({}): wsspec scenario {}",
                f.number,
                f.oracle.id(),
                p.display()
            );
        }
    }
    match run.untested {
        Some(why) => {
            finish(&run.report, &a.output)?;
            Err(CliError::Untested(why))
        }
        None => finish(&run.report, &a.output),
    }
}
