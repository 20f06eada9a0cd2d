//! The `wsspec` command line: argument parsing and the glue between the suite, the
//! scenario engine, the built-in server and the report writers.
//!
//! Exit codes: 0 when no case failed, 1 when any did, 2 for usage errors and for a server
//! that could not be reached at all (an unreachable server is never a pass).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::peer::{ConnectOptions, Target};
use crate::report::{self, Baseline, Policy, Progress, RunReport};

/// Exit code for usage errors and unreachable servers.
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "wsspec",
    version,
    about = "WebSocket (RFC 6455) conformance test kit"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the RFC 6455 suite against a server (the built-in reference server if no URL is given).
    Run(RunArgs),
    /// Run the built-in reference echo server.
    Serve(ServeArgs),
    /// Merge JSON reports into one HTML comparison matrix (one column per report).
    Report(ReportArgs),
    /// Run scenario files (the scripted peer) against a dev server.
    Scenario(ScenarioArgs),
}

/// Options shared by every command that connects to a server.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectArgs {
    /// Extra request header, `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// `Origin` header to send.
    #[arg(long)]
    pub origin: Option<String>,
    /// Subprotocol to offer (repeatable), e.g. `--protocol vite-hmr`.
    #[arg(long = "protocol", value_name = "NAME")]
    pub protocols: Vec<String>,
    /// Query parameter to append to the URL, `key=value` (repeatable), e.g. a token.
    #[arg(long = "query", value_name = "KEY=VALUE")]
    pub query: Vec<String>,
    /// Do not verify the TLS certificate of a wss:// server (self-signed dev certificates).
    #[arg(long)]
    pub insecure: bool,
}

impl ConnectArgs {
    /// Builds peer options; errors name the offending argument.
    pub fn to_options(&self) -> Result<ConnectOptions, String> {
        let mut o = ConnectOptions {
            origin: self.origin.clone(),
            insecure: self.insecure,
            ..Default::default()
        };
        o.protocols = self.protocols.clone();
        for h in &self.headers {
            let (n, v) = h
                .split_once(':')
                .ok_or_else(|| format!("--header {h:?}: expected `Name: value`"))?;
            if n.trim().is_empty() {
                return Err(format!("--header {h:?}: empty header name"));
            }
            o.headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        for q in &self.query {
            let (k, v) = q
                .split_once('=')
                .ok_or_else(|| format!("--query {q:?}: expected `key=value`"))?;
            o.query.push((k.to_owned(), v.to_owned()));
        }
        Ok(o)
    }
}

/// Report outputs shared by the suite and the scenario runner.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputArgs {
    /// Write the JSON report (schema: docs/report-schema.md).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report into this directory.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
    /// Accept the outcomes listed in this baseline file; fail only on regressions.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record this run's non-OK, non-FAILED outcomes as a baseline file.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Count NON-STRICT (and WRONG CODE / FAILED BY CLIENT close verdicts) as failures.
    #[arg(long)]
    pub strict: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Print every failed case's transcript to the terminal.
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Server URL, e.g. ws://127.0.0.1:8080/ws. Without it, the built-in reference server is
    /// started in-process and tested.
    url: Option<String>,
    /// Case selection, comma separated; `*` is a wildcard (`1.*,6.4.*`).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Cases to leave out, comma separated (`9.*`).
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Include the slow limits/performance cases (9.*) in the default set.
    #[arg(long)]
    all: bool,
    /// List the selected cases (id, title, RFC section) and exit.
    #[arg(long)]
    list: bool,
    /// Cases run in parallel (timing-sensitive cases always run alone).
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Global deadline for the whole run; cases not started by then are reported NOT RUN.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    deadline: Duration,
    /// Name of the server in reports (default: the URL, or `built-in`).
    #[arg(long)]
    agent: Option<String>,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0 = any free port; the chosen port is printed).
    #[arg(long, default_value_t = 9001)]
    port: u16,
    /// Deliberate faults, comma separated (see `--fault help`), to see what the suite catches.
    #[arg(long, value_delimiter = ',')]
    fault: Vec<String>,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// JSON reports written by `wsspec run --json` or `wsspec scenario --json`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory for the HTML matrix.
    #[arg(long, value_name = "DIR")]
    html: PathBuf,
}

/// `wsspec scenario`: one scenario file, a profile directory, or a profile name.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// A scenario file, a directory of `*.toml` scenarios (a profile), or the name of a
    /// profile under `conformance/profiles/`.
    pub path: String,
    /// The server under test, e.g. `ws://127.0.0.1:5173/`: sets `${host}` and `${port}`.
    /// With a `[server]` section it means "already running": nothing is started and
    /// server actions are reported NOT RUN.
    #[arg(long)]
    pub url: Option<String>,
    /// Sets a scenario variable, overriding `[vars]` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Project directory (server cwd, root of file edits) instead of `[server] cwd`.
    #[arg(long, value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
    /// Replaces every scenario's own deadline.
    #[arg(long, value_parser = parse_duration)]
    pub deadline: Option<Duration>,
    /// Run the steps after a failed one instead of reporting them NOT RUN.
    #[arg(long)]
    pub keep_going: bool,
    /// Name of the server in reports (default: the URL or the server command).
    #[arg(long)]
    pub agent: Option<String>,
    /// Extra request header for every connect, `Name: value` (repeatable; a step's own
    /// header of the same name wins).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// `Origin` for every connect step that sets none.
    #[arg(long)]
    pub origin: Option<String>,
    /// Do not verify TLS certificates (`wss://`, `https://`).
    #[arg(long)]
    pub insecure: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where profile names are looked up: `conformance/profiles` under the current
/// directory, then under the source tree the binary was built from.
fn profile_dirs() -> Vec<PathBuf> {
    vec![
        PathBuf::from("conformance/profiles"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance/profiles"),
    ]
}

/// Resolves the `wsspec scenario` argument to files and a profile name (`None` for a
/// single file).
fn scenario_target(arg: &str) -> Result<(Vec<PathBuf>, Option<String>), String> {
    let p = std::path::Path::new(arg);
    let dir = if p.exists() {
        p.to_path_buf()
    } else if !arg.contains('/') && !arg.ends_with(".toml") {
        match profile_dirs()
            .into_iter()
            .map(|d| d.join(arg))
            .find(|d| d.is_dir())
        {
            Some(d) => d,
            None => {
                let mut known: Vec<String> = profile_dirs()
                    .iter()
                    .filter_map(|d| std::fs::read_dir(d).ok())
                    .flatten()
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                known.sort();
                known.dedup();
                return Err(format!(
                    "{arg:?}: no such scenario file, directory or profile{}",
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!(" (profiles: {})", known.join(", "))
                    }
                ));
            }
        }
    } else {
        return Err(format!("{arg}: no such scenario file or directory"));
    };
    let files = crate::scenario::scenario_files(&dir).map_err(|e| e.to_string())?;
    let profile = if dir.is_dir() {
        let name = std::fs::canonicalize(&dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| arg.to_owned());
        Some(name)
    } else {
        None
    };
    Ok((files, profile))
}

/// Turns the command line into engine options; errors name the offending argument.
fn scenario_options(a: &ScenarioArgs) -> Result<crate::scenario::EngineOptions, String> {
    let mut vars = Vec::new();
    for v in &a.vars {
        let (k, val) = v
            .split_once('=')
            .ok_or_else(|| format!("--var {v:?}: expected NAME=VALUE"))?;
        if !crate::scenario::is_var_name(k) {
            return Err(format!(
                "--var {v:?}: {k:?} is not a variable name (letters, digits, '_'; not starting with a digit)"
            ));
        }
        vars.push((k.to_owned(), val.to_owned()));
    }
    let mut headers = Vec::new();
    for h in &a.headers {
        let (n, v) = h
            .split_once(':')
            .ok_or_else(|| format!("--header {h:?}: expected `Name: value`"))?;
        if n.trim().is_empty() {
            return Err(format!("--header {h:?}: empty header name"));
        }
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    if let Some(u) = &a.url {
        let parsed = url::Url::parse(u).map_err(|e| format!("--url {u:?}: {e}"))?;
        if !matches!(parsed.scheme(), "ws" | "wss" | "http" | "https") {
            return Err(format!(
                "--url {u:?}: scheme {:?}; expected ws, wss, http or https",
                parsed.scheme()
            ));
        }
    }
    Ok(crate::scenario::EngineOptions {
        base_url: a.url.clone(),
        vars,
        project_dir: a.project_dir.clone(),
        deadline: a.deadline,
        connect: crate::scenario::ConnectDefaults {
            headers,
            origin: a.origin.clone(),
            insecure: a.insecure,
        },
        keep_going: a.keep_going,
        profile: None,
        agent: a.agent.clone(),
    })
}

/// `wsspec scenario`: loads every file first (all problems reported as
/// `file:line:column: ...`, exit 2), runs them, writes the reports.
pub async fn run_scenarios(a: ScenarioArgs) -> i32 {
    let (files, profile) = match scenario_target(&a.path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wsspec scenario: {e}");
            return EXIT_USAGE;
        }
    };
    let mut opts = match scenario_options(&a) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("wsspec scenario: {e}");
            return EXIT_USAGE;
        }
    };
    let target = profile.clone().unwrap_or_default();
    opts.profile = profile;
    let report = match crate::scenario::run_files(&files, &target, &opts).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_USAGE;
        }
    };
    finish(&report, &a.output)
}

/// Parses `250ms`, `2s`, `10m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (expected e.g. 500ms, 2s, 10m)"))
}

/// Entry point used by `main`; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wsspec: cannot start the async runtime: {e}");
            return EXIT_USAGE;
        }
    };
    rt.block_on(async move {
        match cli.command {
            Command::Run(a) => run_suite(a).await,
            Command::Serve(a) => serve(a).await,
            Command::Report(a) => merge_reports(a),
            Command::Scenario(a) => run_scenarios(a).await,
        }
    })
}

async fn run_suite(a: RunArgs) -> i32 {
    let catalog = crate::suite::catalog();
    let selection = match crate::suite::select(&catalog, &a.cases, &a.exclude, a.all) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wsspec run: {e}");
            return EXIT_USAGE;
        }
    };
    if a.list {
        // A closed pipe (`| head`) ends the listing quietly, like any Unix tool.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for c in &selection {
            if writeln!(out, "{:<10} {:<14} {}", c.id, c.rfc, c.title).is_err() {
                return 0;
            }
        }
        eprintln!("{} cases", selection.len());
        return 0;
    }
    let opts = match a.connect.to_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("wsspec run: {e}");
            return EXIT_USAGE;
        }
    };
    let mut builtin = None;
    let (target, agent) = match &a.url {
        Some(url) => match Target::parse(url) {
            Ok(t) => {
                if let Err(e) = t.resolve() {
                    eprintln!("wsspec run: {e}");
                    return EXIT_USAGE;
                }
                (t, a.agent.clone().unwrap_or_else(|| url.clone()))
            }
            Err(e) => {
                eprintln!("wsspec run: {e}");
                return EXIT_USAGE;
            }
        },
        None => {
            let cfg = crate::server::ServerConfig::default();
            match crate::server::bind("127.0.0.1:0".parse().expect("literal address"), cfg).await {
                Ok(s) => {
                    let t = Target::local(s.local_addr, "/");
                    eprintln!(
                        "wsspec: no URL given; testing the built-in reference server at {}",
                        t.url
                    );
                    builtin = Some(s);
                    (t, a.agent.clone().unwrap_or_else(|| "built-in".into()))
                }
                Err(e) => {
                    eprintln!("wsspec run: cannot start the built-in server: {e}");
                    return EXIT_USAGE;
                }
            }
        }
    };
    // Refuse early when nothing listens: an unreachable server is a usage error, not a run.
    // One opening handshake tells a server that resets or closes every connection before
    // answering apart; it cannot be tested, which is exit 2 with a report saying why.
    // The probe waits at most a second for the answer: a server slow to answer is tested
    // (and graded) by the cases themselves.
    let probe = ConnectOptions {
        handshake_timeout: opts.handshake_timeout.min(Duration::from_secs(1)),
        ..opts.clone()
    };
    let unreachable = match crate::peer::Peer::connect(&target, &probe, "probe").await {
        Err(e) => Some(e.to_string()),
        Ok((_, o @ crate::peer::HandshakeOutcome::ClosedBeforeResponse { .. })) => {
            Some(o.describe())
        }
        Ok(_) => None,
    };
    let progress = Arc::new(Progress::new(selection.len(), !a.output.no_progress));
    let p2 = progress.clone();
    let cfg = crate::suite::RunConfig {
        jobs: a.jobs.max(1),
        deadline: Some(a.deadline),
        strict: a.output.strict,
        agent,
        progress: Some(Arc::new(move |c: &report::CaseReport| {
            p2.finish_case(&c.id, c.verdict)
        })),
    };
    if let Some(why) = unreachable {
        eprintln!("wsspec run: {}: {why}; no case can run", target.url);
        let report = crate::suite::not_run_report(&target, &selection, &cfg, &why);
        return finish(&report, &a.output).max(EXIT_USAGE);
    }
    let report = crate::suite::run(&target, &opts, &selection, cfg).await;
    progress.finish();
    if let Some(s) = builtin {
        s.shutdown().await;
    }
    finish(&report, &a.output)
}

/// Writes every requested report, prints the summary, and returns the exit code.
pub fn finish(report: &RunReport, out: &OutputArgs) -> i32 {
    let policy = Policy::new(out.strict);
    let baseline = match &out.baseline {
        Some(p) => match Baseline::load(p) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("wsspec: {e}");
                return EXIT_USAGE;
            }
        },
        None => None,
    };
    print!("{}", report::terminal::summary_table_with(report, &policy));
    let failures = report::terminal::failure_lines_with(report, &policy);
    if !failures.is_empty() {
        println!("\n{failures}");
    }
    if out.verbose {
        for c in report
            .cases
            .iter()
            .filter(|c| !policy.fail_reasons(c).is_empty())
        {
            println!(
                "\n--- {} {}\n{}",
                c.id,
                c.title,
                report::terminal::transcript_text(c, 200, 256)
            );
        }
    }
    let mut io_failed = false;
    let mut write = |what: &str, r: std::io::Result<()>| {
        if let Err(e) = r {
            eprintln!("wsspec: cannot write the {what} report: {e}");
            io_failed = true;
        }
    };
    if let Some(p) = &out.json {
        write("JSON", report::write_json(report, p));
    }
    if let Some(p) = &out.junit {
        write("JUnit", report::write_junit_with(report, p, &policy));
    }
    if let Some(d) = &out.html {
        write("HTML", report::write_html(std::slice::from_ref(report), d));
    }
    if let Some(p) = &out.write_baseline {
        write("baseline", Baseline::from_report(report).save(p));
    }
    let outcome = report::evaluate_with(report, &policy, baseline.as_ref());
    if !outcome.regressions.is_empty() && baseline.is_some() {
        println!(
            "regressions against the baseline: {}",
            outcome.regressions.join(", ")
        );
    }
    if io_failed {
        return EXIT_USAGE;
    }
    report::exit_code(&outcome)
}

async fn serve(a: ServeArgs) -> i32 {
    let faults = match crate::server::Faults::parse(&a.fault.join(",")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("wsspec serve: {e}");
            return EXIT_USAGE;
        }
    };
    let cfg = crate::server::ServerConfig {
        faults,
        ..Default::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], a.port));
    let server = match crate::server::bind(addr, cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wsspec serve: cannot listen on {addr}: {e}");
            return EXIT_USAGE;
        }
    };
    println!("LISTENING {}", server.local_addr.port());
    eprintln!(
        "wsspec: reference echo server on ws://{}/ (Ctrl-C to stop)",
        server.local_addr
    );
    wait_for_stop_signal().await;
    server.shutdown().await;
    0
}

fn merge_reports(a: ReportArgs) -> i32 {
    let mut reports = Vec::new();
    for p in &a.inputs {
        match report::read_json(p) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("wsspec report: {e}");
                return EXIT_USAGE;
            }
        }
    }
    if let Err(e) = report::write_html(&reports, &a.html) {
        eprintln!("wsspec report: cannot write {}: {e}", a.html.display());
        return EXIT_USAGE;
    }
    println!("wrote {}", a.html.join("index.html").display());
    0
}

/// Waits for Ctrl-C or SIGTERM (tests and CI stop servers by pid with SIGTERM).
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
