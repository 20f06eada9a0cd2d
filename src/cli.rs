//! The `wsspec` command line: it maps arguments to the options of the suite, the
//! scenario engine, the built-in server and the report writers, and one error type to
//! the exit code.
//!
//! Exit codes: 0 when no case failed, 1 when any did, 2 when the run could not happen
//! (a bad argument, a scenario that does not load, a server that cannot be reached, a
//! report that cannot be written): a run that did not happen is never a pass. When the
//! server under test cannot be tested (not on this machine, not answering, a scenario
//! whose server needs a variable nobody set, no scenario getting past its setup), the
//! requested reports are still written, every case NOT RUN with the reason.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::peer::{ConnectOptions, Target};
use crate::report::{self, Baseline, Policy, Progress, RunReport};
use crate::scenario::{ConnectDefaults, EngineOptions, LoadError, Profile};

/// Exit code for a run that could not happen (see [`CliError`]).
pub const EXIT_USAGE: i32 = 2;

/// Why a command could not do its job. Every kind exits with [`EXIT_USAGE`].
#[derive(Debug)]
pub enum CliError {
    /// A bad argument or option; the message names it.
    Usage(String),
    /// Scenario files that do not load; every diagnostic names file, line and column.
    Load(LoadError),
    /// The server under test cannot be reached, or the built-in one cannot start.
    Server(String),
    /// The run could not test the server; the reports were written with the reason.
    Untested(String),
    /// A file cannot be read or written.
    Io(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        EXIT_USAGE
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Server(m) | CliError::Io(m) => f.write_str(m),
            CliError::Untested(m) => write!(f, "could not test: {m}"),
            CliError::Load(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CliError {}

impl From<LoadError> for CliError {
    fn from(e: LoadError) -> Self {
        CliError::Load(e)
    }
}

/// What a command returns: the exit code of a run that happened (0 or 1), or why it
/// could not happen.
type Exit = Result<i32, CliError>;

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
    /// Test WebSocket clients: listen, play Autobahn's cases from the server side.
    Clients(crate::clients::cli::ClientsArgs),
    /// Fuzz the server under test (a URL, a profile or a scenario file); exit 1 on findings.
    Fuzz(crate::target_fuzz::cli::FuzzArgs),
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Serve(_) => "serve",
            Command::Report(_) => "report",
            Command::Scenario(_) => "scenario",
            Command::Clients(_) => "clients",
            Command::Fuzz(_) => "fuzz",
        }
    }

    async fn run(self) -> Exit {
        match self {
            Command::Run(a) => run_suite(a).await,
            Command::Serve(a) => serve(a).await,
            Command::Report(a) => merge_reports(a),
            Command::Scenario(a) => run_scenarios(a).await,
            Command::Clients(a) => crate::clients::cli::run(a).await,
            Command::Fuzz(a) => crate::target_fuzz::cli::run(a).await,
        }
    }
}

/// Connection options of every command that connects to a server.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectArgs {
    /// Extra request header, `Name: value` (repeatable); a scenario step's own header of
    /// the same name wins.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// `Origin` header to send (in a scenario: for every connect step that sets none).
    #[arg(long)]
    pub origin: Option<String>,
    /// Do not verify TLS certificates (`wss://`, `https://`; self-signed dev certificates).
    #[arg(long)]
    pub insecure: bool,
}

impl ConnectArgs {
    /// The `--header` values as (name, value) pairs.
    fn header_pairs(&self) -> Result<Vec<(String, String)>, CliError> {
        self.headers
            .iter()
            .map(|h| {
                let (n, v) = split_arg(h, ':', "--header", "`Name: value`")?;
                if n.trim().is_empty() {
                    return Err(CliError::Usage(format!(
                        "--header {h:?}: empty header name"
                    )));
                }
                Ok((n.trim().to_owned(), v.trim().to_owned()))
            })
            .collect()
    }
}

/// `key<sep>value`, or a usage error naming `option` and the expected form.
fn split_arg<'a>(
    arg: &'a str,
    sep: char,
    option: &str,
    form: &str,
) -> Result<(&'a str, &'a str), CliError> {
    arg.split_once(sep)
        .ok_or_else(|| CliError::Usage(format!("{option} {arg:?}: expected {form}")))
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
    /// started in-process and tested. WebSockets over HTTP/2 (RFC 8441): h2c://HOST:PORT/PATH
    /// (cleartext, prior knowledge) or h2://HOST:PORT/PATH (TLS, ALPN h2); see docs/http2.md.
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
    /// Subprotocol to offer (repeatable), e.g. `--protocol vite-hmr`.
    #[arg(long = "protocol", value_name = "NAME")]
    protocols: Vec<String>,
    /// Query parameter to append to the URL, `key=value` (repeatable), e.g. a token.
    #[arg(long = "query", value_name = "KEY=VALUE")]
    query: Vec<String>,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl RunArgs {
    /// The peer's options for every case.
    fn connect_options(&self) -> Result<ConnectOptions, CliError> {
        let mut query = Vec::new();
        for q in &self.query {
            let (k, v) = split_arg(q, '=', "--query", "`key=value`")?;
            query.push((k.to_owned(), v.to_owned()));
        }
        Ok(ConnectOptions {
            origin: self.connect.origin.clone(),
            insecure: self.connect.insecure,
            protocols: self.protocols.clone(),
            headers: self.connect.header_pairs()?,
            query,
            ..Default::default()
        })
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0 = any free port; the chosen port is printed).
    #[arg(long, default_value_t = 9001)]
    port: u16,
    /// Deliberate faults, comma separated (see `--fault help`), to see what the suite catches.
    #[arg(long, value_delimiter = ',')]
    fault: Vec<String>,
    /// Accept permessage-deflate (RFC 7692) offers and compress every echo.
    #[arg(long)]
    deflate: bool,
    /// Play an application instead of echoing: `json-pubsub` (src/server/app_pubsub.rs).
    #[arg(long, value_name = "APP")]
    app: Option<String>,
    /// Faults planted in the `--app`, comma separated: crash, hang, drop_bystander,
    /// violation, all (targets for `wsspec fuzz`).
    #[arg(long, value_delimiter = ',', requires = "app")]
    plant: Vec<String>,
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
    /// Connection defaults for every `connect` step.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Reports to write.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl ScenarioArgs {
    /// The engine's options; errors name the offending argument.
    fn engine_options(&self) -> Result<EngineOptions, CliError> {
        let mut vars = Vec::new();
        for v in &self.vars {
            let (k, val) = split_arg(v, '=', "--var", "NAME=VALUE")?;
            if !crate::scenario::is_var_name(k) {
                return Err(CliError::Usage(format!(
                    "--var {v:?}: {k:?} is not a variable name (letters, digits, '_'; not starting with a digit)"
                )));
            }
            vars.push((k.to_owned(), val.to_owned()));
        }
        if let Some(u) = &self.url {
            let parsed =
                url::Url::parse(u).map_err(|e| CliError::Usage(format!("--url {u:?}: {e}")))?;
            if !matches!(parsed.scheme(), "ws" | "wss" | "http" | "https") {
                return Err(CliError::Usage(format!(
                    "--url {u:?}: scheme {:?}; expected ws, wss, http or https",
                    parsed.scheme()
                )));
            }
        }
        Ok(EngineOptions {
            base_url: self.url.clone(),
            vars,
            project_dir: self.project_dir.clone(),
            deadline: self.deadline,
            connect: ConnectDefaults {
                headers: self.connect.header_pairs()?,
                origin: self.connect.origin.clone(),
                insecure: self.connect.insecure,
            },
            keep_going: self.keep_going,
            agent: self.agent.clone(),
        })
    }
}

/// `wsspec scenario`: loads every file first (all problems reported as
/// `file:line:column: ...`, exit 2), checks what can be checked before a run (warnings
/// on stderr; a server that cannot be tested is exit 2 with a NOT RUN report), runs
/// them, writes the reports.
async fn run_scenarios(a: ScenarioArgs) -> Exit {
    use crate::scenario::engine::{not_run_report, preflight, run_profile};
    let opts = a.engine_options()?;
    let profile = Profile::load(&a.path, &crate::scenario::profile_dirs())?;
    let pre = preflight(&profile, &opts).await;
    for w in &pre.warnings {
        eprintln!("wsspec scenario: warning: {w}");
    }
    if let Some(why) = pre.untestable {
        return untestable(&not_run_report(&profile, &opts, &why), &a.output, why);
    }
    let run = run_profile(&profile, &opts).await;
    match run.untested {
        Some(why) => untestable(&run.report, &a.output, why),
        None => finish(&run.report, &a.output),
    }
}

/// Writes and prints the report of a run that could not test the server, and returns
/// the error that exits 2 with `why`.
fn untestable(report: &RunReport, out: &OutputArgs, why: String) -> Exit {
    finish(report, out)?;
    Err(CliError::Untested(why))
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
    let name = cli.command.name();
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
    match rt.block_on(cli.command.run()) {
        Ok(code) => code,
        // Scenario diagnostics name their file, line and column already.
        Err(e @ CliError::Load(LoadError::Scenario(_))) => {
            eprintln!("{e}");
            e.exit_code()
        }
        Err(e) => {
            eprintln!("wsspec {name}: {e}");
            e.exit_code()
        }
    }
}

async fn run_suite(a: RunArgs) -> Exit {
    // Over HTTP/2 the catalog differs (h2.* added, h.* not run): know the transport first.
    let catalog = match a.url.as_deref().map(Target::parse) {
        Some(Ok(t)) => crate::suite::catalog_for(&t),
        _ => crate::suite::catalog(),
    };
    let selection = crate::suite::select(&catalog, &a.cases, &a.exclude, a.all)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if a.list {
        // A closed pipe (`| head`) ends the listing quietly, like any Unix tool.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for c in selection.iter() {
            if writeln!(out, "{:<10} {:<14} {}", c.id, c.rfc, c.title).is_err() {
                return Ok(0);
            }
        }
        eprintln!("{} cases", selection.len());
        return Ok(0);
    }
    let opts = a.connect_options()?;
    let mut builtin = None;
    let (target, agent) = match &a.url {
        Some(url) => {
            let t = Target::parse(url).map_err(|e| CliError::Usage(e.to_string()))?;
            let agent = a.agent.clone().unwrap_or_else(|| url.clone());
            if let Err(e) = t.resolve() {
                let why = format!("{url}: {e}");
                let report = suite_not_run(&selection, agent, url, &why);
                return untestable(&report, &a.output, why);
            }
            (t, agent)
        }
        None => {
            // With permessage-deflate on, so that 12.x/13.x and pmd.* run too.
            let cfg = crate::server::ServerConfig {
                deflate: Some(Default::default()),
                ..Default::default()
            };
            let s = crate::server::bind("127.0.0.1:0".parse().expect("literal address"), cfg)
                .await
                .map_err(|e| CliError::Server(format!("cannot start the built-in server: {e}")))?;
            let t = Target::local(s.local_addr, "/");
            eprintln!(
                "wsspec: no URL given; testing the built-in reference server at {}",
                t.url
            );
            builtin = Some(s);
            (t, a.agent.clone().unwrap_or_else(|| "built-in".into()))
        }
    };
    // Refuse early when nothing listens, or when the server resets or closes every
    // connection before answering: one opening handshake tells. Such a server cannot be
    // tested, which is exit 2 with a report saying why. The probe waits at most a second
    // for the answer: a server slow to answer is tested (and graded) by the cases themselves.
    let probe = ConnectOptions {
        handshake_timeout: opts.handshake_timeout.min(Duration::from_secs(1)),
        ..opts.clone()
    };
    let unreachable = match crate::peer::Peer::connect(&target, &probe, "probe").await {
        // An HTTP/2 server without RFC 8441 is testable: h2.2.2 needs exactly that, and
        // every WebSocket case fails for it.
        Err(crate::peer::PeerError::NoExtendedConnect) => None,
        Err(e) => Some(e.to_string()),
        Ok((_, o @ crate::peer::HandshakeOutcome::ClosedBeforeResponse { .. })) => {
            Some(o.describe())
        }
        Ok(_) => None,
    };
    if let Some(e) = unreachable {
        let why = format!("{}: {e}", target.url);
        let report = suite_not_run(&selection, agent, &target.url, &why);
        return untestable(&report, &a.output, why);
    }
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
    let report = crate::suite::run(&target, &opts, &selection, cfg).await;
    progress.finish();
    if let Some(s) = builtin {
        s.shutdown().await;
    }
    finish(&report, &a.output)
}

/// The suite report of a run that could not reach the server: every selected case NOT
/// RUN with `why`.
fn suite_not_run(
    selection: &crate::suite::Selection,
    agent: String,
    url: &str,
    why: &str,
) -> RunReport {
    let cases = selection
        .iter()
        .map(|c| crate::suite::runner::not_run(c, format!("could not test: {why}"), 0.0))
        .collect();
    RunReport::new(
        "rfc6455",
        agent,
        url.to_string(),
        std::time::SystemTime::now(),
        Duration::ZERO,
        cases,
    )
}

/// Writes every requested report, prints the summary, and returns the exit code.
pub fn finish(report: &RunReport, out: &OutputArgs) -> Exit {
    let policy = Policy::new(out.strict);
    let baseline = match &out.baseline {
        Some(p) => Some(Baseline::load(p).map_err(|e| CliError::Io(e.to_string()))?),
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
    // Every report is attempted even when one cannot be written.
    let mut unwritten = Vec::new();
    let mut write = |what: &str, r: std::io::Result<()>| {
        if let Err(e) = r {
            unwritten.push(format!("cannot write the {what} report: {e}"));
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
    if !unwritten.is_empty() {
        return Err(CliError::Io(unwritten.join("; ")));
    }
    Ok(report::exit_code(&outcome))
}

async fn serve(a: ServeArgs) -> Exit {
    if let Some(app) = &a.app {
        return serve_app(app, &a).await;
    }
    let faults = crate::server::Faults::parse(&a.fault.join(","))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let cfg = crate::server::ServerConfig {
        faults,
        deflate: a.deflate.then(Default::default),
        ..Default::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], a.port));
    let server = crate::server::bind(addr, cfg)
        .await
        .map_err(|e| CliError::Server(format!("cannot listen on {addr}: {e}")))?;
    println!("LISTENING {}", server.local_addr.port());
    eprintln!(
        "wsspec: reference echo server on ws://{}/ (Ctrl-C to stop)",
        server.local_addr
    );
    wait_for_stop_signal().await;
    server.shutdown().await;
    Ok(0)
}

/// `wsspec serve --app NAME [--plant ...]`.
async fn serve_app(app: &str, a: &ServeArgs) -> Exit {
    if app != "json-pubsub" {
        return Err(CliError::Usage(format!(
            "--app {app:?}: unknown application; expected json-pubsub"
        )));
    }
    if !a.fault.is_empty() {
        return Err(CliError::Usage(
            "--fault belongs to the echo server; an --app takes --plant".into(),
        ));
    }
    let plants = crate::server::app_pubsub::Plants::parse(&a.plant.join(","))
        .map_err(|e| CliError::Usage(format!("--plant: {e}")))?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], a.port));
    let server = crate::server::app_pubsub::bind_pubsub(addr, plants)
        .await
        .map_err(|e| CliError::Server(format!("cannot listen on {addr}: {e}")))?;
    println!("LISTENING {}", server.local_addr.port());
    eprintln!(
        "wsspec: json-pubsub application on ws://{}/ (plants: {:?}; Ctrl-C to stop)",
        server.local_addr, plants
    );
    wait_for_stop_signal().await;
    server.shutdown().await;
    Ok(0)
}

fn merge_reports(a: ReportArgs) -> Exit {
    let reports = a
        .inputs
        .iter()
        .map(|p| report::read_json(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Io(e.to_string()))?;
    report::write_html(&reports, &a.html)
        .map_err(|e| CliError::Io(format!("cannot write {}: {e}", a.html.display())))?;
    println!("wrote {}", a.html.join("index.html").display());
    Ok(0)
}

/// Waits for Ctrl-C or SIGTERM (tests and CI stop servers by pid with SIGTERM).
pub(crate) async fn wait_for_stop_signal() {
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
