//! The differential test: wsspec's verdicts against the real Autobahn|Testsuite's, case by case.
//!
//! wsspec claims Autobahn's case ids and verdicts. This test proves the claim the way the codec
//! is proven against tungstenite: for each server below it runs the real `wstest -m
//! fuzzingclient` (installed by `scripts/autobahn/install.sh` under `target/autobahn/`), then
//! `wsspec run` on the same case ids against the same server process (not at the same moment),
//! and asserts identical `behavior` and `behaviorClose` for every Autobahn id, except what
//! `conformance/autobahn/allow-list.toml` lists (deliberate differences, and the few cases
//! whose Autobahn verdict itself varies between runs).
//!
//! Servers: wsspec's reference server with no fault and with every fault switch, Node `ws`,
//! Python `websockets`, tokio-tungstenite, and (behaviour only: wsspec never passes a case
//! Autobahn fails) every hostile server of `wsspec::server::hostile`.
//!
//! permessage-deflate (12.x/13.x): [`permessage_deflate_subset`] compares [`DEFLATE_SUBSET`]
//! (rows .1-.4 of every 12.j/13.j, and 12.1.11 for fragmentation) on the reference server with
//! `--deflate`, without it (every case UNIMPLEMENTED), with each deflate fault switch (on the
//! cases where its bug shows), on Node `ws` with `perMessageDeflate` and on Python
//! `websockets` (deflate by default). All 216 cases take Autobahn 15+ minutes per server:
//! `scripts/autobahn/compare-deflate.sh` runs [`permessage_deflate_all_216`] (ignored here).
//!
//! Without CPython 2.7 (or Node, or Python >= 3.10) the affected part is skipped loudly; with
//! `CI=true` that is a failure. Raw output of every run stays in `target/autobahn/runs/<server>/`
//! (Autobahn's per-case JSON with its wire log, wsspec's JSON report).
//!
//! Env: `WSSPEC_DIFF_JOBS` (servers compared at once, default 4), `WSSPEC_DIFF_BIN` (another
//! wsspec binary, e.g. a release build), `WSSPEC_DIFF_ONLY` (comma-separated server names),
//! `WSSPEC_DIFF_LIMIT` (seconds each tool may take per server, default 900).

mod common;
mod differential;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use differential::{
    compare, loud, render, repo, run_all, run_installer, run_wsspec, run_wstest, stale_entries,
    unavailable, work_dir, wsspec_bin, wstest, AbCase, AllowList, Comparison, Mode, Running,
    ServerProcess,
};
use wsspec::server::hostile::{spawn_hostile_with, Hostile, HostileLimits};
use wsspec::server::Faults;

/// Autobahn's categories 1-10 (12/13, permessage-deflate, are compared by the tests below).
const ALL: &[&str] = &[
    "1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*",
];
/// Everything but the limits/performance cases.
const ALL_BUT_9: &[&str] = &["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"];

/// The categories each fault switch is compared on, for both tools, and why. A switch runs
/// where its bug can show (measured: these are the categories where Autobahn's verdicts for
/// the switch differ from the no-fault server's), plus 1.* as a control that the rest of the
/// server still works. 9.x is left out where the bug has nothing to do with big messages or
/// long sequences: its cases then only repeat 1.x's exchange, at 1-100 s each.
fn fault_cases(fault: &str) -> (&'static [&'static str], usize, &'static str) {
    match fault {
        // The opening handshake fails: every case fails at once (~3 s for all of them).
        "wrong_accept_key" | "select_unoffered_protocol" | "accept_unoffered_extension" => {
            (ALL, 1, "handshake: every case, each fails at once")
        }
        // Autobahn always sends version 13 and masks every frame: no Autobahn id can show it.
        "accept_any_version" | "accept_unmasked_frames" => {
            (&["1.*"], 1, "no Autobahn case can show it: control only")
        }
        "accept_rsv_bits" => (&["1.*", "3.*"], 1, "reserved bits: 3.x"),
        "accept_reserved_opcodes" => (&["1.*", "4.*"], 1, "reserved opcodes: 4.x"),
        "accept_fragmented_control" | "ignore_fragmentation_errors" => {
            (&["1.*", "5.*"], 1, "fragmentation: 5.x")
        }
        "accept_long_control" => (&["1.*", "2.*", "7.*"], 1, "long control frames: 2.5, 7.3.6"),
        "no_utf8_validation"
        | "late_utf8_validation"
        | "frame_utf8_validation"
        | "utf8_error_close_1002" => (&["1.*", "6.*"], 1, "UTF-8: 6.x"),
        "no_pong" | "pong_wrong_payload" => (&["1.*", "2.*", "5.*"], 1, "pongs: 2.x, 5.x"),
        "accept_invalid_close_codes"
        | "accept_1byte_close"
        | "accept_invalid_close_reason"
        | "respond_after_close" => (&["1.*", "7.*"], 1, "closing handshake: 7.x"),
        // The close handshake of every case; 9.x closes exactly as 1.x does.
        "close_reply_1001" | "no_close_reply" => (ALL_BUT_9, 1, "every close: all but 9.x"),
        // Every case waits 1 s for the server's TCP close, so 6.x is cut to 6.4.x (the
        // fail-fast cases where Autobahn has no kill timer pending: the 2 s guard shows).
        "keep_tcp_open_after_close" => (
            &["1.*", "2.*", "3.*", "4.*", "5.*", "6.4.*", "7.*", "10.*"],
            6,
            "every close, 1 s each: all but 9.x, 6.x cut to 6.4.x, 6 wstest shards",
        ),
        // Every frame the server sends breaks a rule, so every case, 9.x's big echoes too.
        "mask_server_frames" | "non_minimal_lengths" => (ALL, 1, "every server frame: all"),
        // FIN right after the 101: every exchange ends at once, so a broad sample is cheap.
        "half_close_after_upgrade" => (
            &["1.*", "2.*", "3.*", "4.*", "5.*", "7.*"],
            1,
            "TCP half-closed after the 101: every exchange ends at once",
        ),
        "answer_pongs" => (&["1.*", "2.*", "5.*"], 1, "unsolicited pongs: 2.7-2.9"),
        // Legal pings before every echo: every kind of exchange (9.x only repeats them).
        "ping_client" => (ALL_BUT_9, 1, "server pings: every exchange but 9.x"),
        other => panic!(
            "fault switch {other:?} has no category choice in tests/autobahn_differential.rs; \
             add one (which Autobahn categories can show its bug?)"
        ),
    }
}

/// The permessage-deflate cases `cargo test` compares: the four smallest rows of every 12.j
/// and 13.j (every data set and every offer, 1000 messages each) and one fragmented row.
const DEFLATE_SUBSET: &[&str] = &[
    "12.1.1", "12.1.2", "12.1.3", "12.1.4", "12.1.11", "12.2.1", "12.2.2", "12.2.3", "12.2.4",
    "12.3.1", "12.3.2", "12.3.3", "12.3.4", "12.4.1", "12.4.2", "12.4.3", "12.4.4", "12.5.1",
    "12.5.2", "12.5.3", "12.5.4", "13.1.1", "13.1.2", "13.1.3", "13.1.4", "13.2.1", "13.2.2",
    "13.2.3", "13.2.4", "13.3.1", "13.3.2", "13.3.3", "13.3.4", "13.4.1", "13.4.2", "13.4.3",
    "13.4.4", "13.5.1", "13.5.2", "13.5.3", "13.5.4", "13.6.1", "13.6.2", "13.6.3", "13.6.4",
    "13.7.1", "13.7.2", "13.7.3", "13.7.4",
];

/// All of 12.x/13.x.
const DEFLATE_ALL: &[&str] = &["12.*", "13.*"];

/// The deflate cases each deflate fault switch is compared on, and why.
fn deflate_fault_cases(fault: &str) -> (&'static [&'static str], &'static str) {
    match fault {
        // Every echo or the handshake breaks: one case per category shows it.
        "deflate_compress_control" | "deflate_rsv1_on_continuation" | "deflate_two_answers" => {
            (&["12.1.1", "12.2.2", "13.1.1", "13.6.2"], "every case")
        }
        "deflate_ignore_no_context_takeover" => (
            &["13.1.2", "13.2.1", "13.2.2", "13.5.2", "13.6.2", "13.7.2"],
            "offers with server_no_context_takeover: 13.2, 13.5-13.7",
        ),
        "deflate_exceed_window" => (
            &["13.1.2", "13.3.1", "13.3.2", "13.3.4", "13.5.2", "13.7.2"],
            "offers with server_max_window_bits=9: 13.3, 13.5, 13.7",
        ),
        // Autobahn offers client_max_window_bits and accepts uncompressed echoes: control only.
        "deflate_answer_unoffered" | "deflate_never_compress" => (
            &["12.1.1", "13.1.2"],
            "no Autobahn case can show it: control only",
        ),
        other => panic!(
            "deflate fault switch {other:?} has no case choice in tests/autobahn_differential.rs"
        ),
    }
}

/// The cases every hostile server runs (one or two per kind of exchange; the hostile servers
/// ignore what the client sends, so more ids only repeat the same failure at 1-5 s each).
const HOSTILE_CASES: &[&str] = &[
    "1.1.1", "1.2.8", "2.1", "2.5", "2.10", "3.2", "4.1.3", "5.15", "5.19", "6.4.1", "7.1.1",
    "7.3.2", "7.9.1", "10.1.1",
];

/// A server to compare.
enum Kind {
    Reference(Option<&'static str>),
    /// `wsspec serve --deflate`, with a fault switch or not.
    ReferenceDeflate(Option<&'static str>),
    NodeWs(PathBuf),
    /// `ws-echo.js --deflate`.
    NodeWsDeflate(PathBuf),
    PythonWebsockets(PathBuf),
    Tungstenite,
    Hostile(Hostile),
}

struct Job {
    name: String,
    kind: Kind,
    cases: Vec<String>,
    shards: usize,
    mode: Mode,
}

fn job(name: String, kind: Kind, cases: &[&str], shards: usize, mode: Mode) -> Job {
    Job {
        name,
        kind,
        cases: cases.iter().map(|s| s.to_string()).collect(),
        shards,
        mode,
    }
}

/// `hostile-HugeFrame-top_bit_set=true` for `HugeFrame { top_bit_set: true }`.
fn hostile_name(k: &Hostile) -> String {
    let d = format!("{k:?}")
        .replace(" { ", "-")
        .replace(": ", "=")
        .replace(", ", "-")
        .replace(" }", "");
    format!("hostile-{d}")
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// An in-process tokio-tungstenite echo server (`common::wire`, as in
/// tests/suite_tungstenite.rs).
fn start_tungstenite() -> Result<Running, String> {
    let rt = tokio_runtime();
    let echo = common::wire::spawn_on("127.0.0.1:0", common::wire::tungstenite_echo);
    let addr = rt.block_on(echo).ok_or("cannot bind 127.0.0.1")?;
    Ok(Running::new(addr.port(), rt))
}

fn start_hostile(kind: Hostile) -> Result<Running, String> {
    let rt = tokio_runtime();
    let limits = HostileLimits {
        lifetime: Duration::from_secs(300),
        // Enough to break every case; little enough that Autobahn's Python parser keeps up
        // (256 KiB of pings cost it 5-15 s per case).
        max_bytes: match kind {
            Hostile::PingFlood => 64 << 10,
            _ => 256 << 10,
        },
        max_connections: 500,
    };
    let (addr, handle) = rt
        .block_on(spawn_hostile_with(kind, limits))
        .map_err(|e| e.to_string())?;
    // Dropping the handle stops the server, then the runtime goes.
    Ok(Running::new(addr.port(), (handle, rt)))
}

fn start(job: &Job, dir: &std::path::Path) -> Result<Running, String> {
    let log = dir.join("server.log");
    let process = |cmd: Command| {
        ServerProcess::start(cmd, &log).map(|p| {
            let port = p.port;
            Running::new(port, p)
        })
    };
    match &job.kind {
        Kind::Reference(fault) => {
            let mut cmd = Command::new(wsspec_bin());
            cmd.args(["serve", "--port", "0"]);
            if let Some(f) = fault {
                cmd.args(["--fault", f]);
            }
            process(cmd)
        }
        Kind::ReferenceDeflate(fault) => {
            let mut cmd = Command::new(wsspec_bin());
            cmd.args(["serve", "--port", "0", "--deflate"]);
            if let Some(f) = fault {
                cmd.args(["--fault", f]);
            }
            process(cmd)
        }
        Kind::NodeWs(dir) => {
            let mut cmd = Command::new("node");
            cmd.arg(dir.join("ws-echo.js")).args(["--port", "0"]);
            process(cmd)
        }
        Kind::NodeWsDeflate(dir) => {
            let mut cmd = Command::new("node");
            cmd.arg(dir.join("ws-echo.js"))
                .args(["--port", "0", "--deflate"]);
            process(cmd)
        }
        Kind::PythonWebsockets(python) => {
            let mut cmd = Command::new(python);
            cmd.arg(repo().join("conformance/servers/websockets-echo.py"))
                .args(["--port", "0"]);
            process(cmd)
        }
        Kind::Tungstenite => start_tungstenite(),
        Kind::Hostile(k) => start_hostile(*k),
    }
}

type Outcome = (Comparison, Duration, Duration);

/// Starts the server, runs Autobahn, then wsspec, stops the server, compares.
fn run_job(wstest: &std::path::Path, allow: &AllowList, job: Job) -> Outcome {
    let dir = work_dir().join("runs").join(&job.name);
    // Two runs of the differential at once (the ignored 216-case comparison beside
    // `cargo test`) would clobber each other's reports in one server's directory: whoever
    // comes second waits for the first to finish with it.
    std::fs::create_dir_all(work_dir().join("runs")).expect("runs directory");
    let guard = std::fs::File::create(work_dir().join("runs").join(format!("{}.lock", job.name)))
        .expect("run directory lock file");
    guard.lock().expect("run directory lock");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("run directory");
    let fail = |e: String| {
        let c = Comparison {
            server: job.name.clone(),
            errors: vec![format!("{}: {e}", job.name)],
            ..Default::default()
        };
        (c, Duration::ZERO, Duration::ZERO)
    };
    let server = match start(&job, &dir) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // Per tool and server; WSSPEC_DIFF_LIMIT (seconds) raises it for the 216 deflate cases,
    // which Autobahn runs in 15-40 minutes per server on a loaded two-core machine.
    let limit = Duration::from_secs(
        std::env::var("WSSPEC_DIFF_LIMIT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(900),
    );
    let (ab, ab_took) = match run_wstest(
        wstest,
        &job.name,
        &server.url,
        &job.cases,
        job.shards,
        &dir,
        limit,
    ) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let (ws, ws_took) = match run_wsspec(&job.name, &server.url, &job.cases, &[], &dir, limit) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    drop(server);
    (
        compare(&job.name, &ab, &ws, allow, job.mode),
        ab_took,
        ws_took,
    )
}

fn allow_list() -> AllowList {
    AllowList::load(&repo().join("conformance/autobahn/allow-list.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Keeps the jobs `WSSPEC_DIFF_ONLY` names (all when unset).
fn only(jobs: Vec<Job>) -> Vec<Job> {
    match std::env::var("WSSPEC_DIFF_ONLY") {
        Ok(v) if !v.trim().is_empty() => {
            let names: Vec<&str> = v.split(',').map(str::trim).collect();
            jobs.into_iter()
                .filter(|j| names.contains(&j.name.as_str()))
                .collect()
        }
        _ => jobs,
    }
}

/// Runs the jobs, prints the table, and fails with every disagreement.
fn run_group(title: &str, jobs: Vec<Job>) {
    let Some(wstest) = wstest() else { return };
    let allow = allow_list();
    let jobs = only(jobs);
    if jobs.is_empty() {
        eprintln!("{title}: no server selected by WSSPEC_DIFF_ONLY");
        return;
    }
    let results = run_all(jobs, |j| run_job(&wstest, &allow, j));
    let mut text = render(&results);
    let stale = stale_entries(
        &allow,
        &results.iter().map(|(c, _, _)| c).collect::<Vec<_>>(),
    );
    for s in &stale {
        text.push_str(&format!("stale allow-list entry: {s}\n"));
    }
    let bad: usize = results
        .iter()
        .map(|(c, _, _)| c.disagreements.len() + c.errors.len())
        .sum();
    assert!(
        bad == 0,
        "{title}: wsspec and the real Autobahn|Testsuite disagree\n{text}"
    );
    assert!(
        stale.is_empty(),
        "{title}: conformance/autobahn/allow-list.toml has stale entries\n{text}"
    );
    loud(&format!("\n== {title}\n{text}"));
}

#[test]
fn reference_server_without_and_with_every_fault_switch() {
    let mut jobs = vec![job(
        "reference".into(),
        Kind::Reference(None),
        ALL,
        1,
        Mode::Identical,
    )];
    // The deflate switches need `--deflate`: see `permessage_deflate_subset`.
    for f in Faults::NAMES.iter().filter(|f| !f.starts_with("deflate_")) {
        let (cases, shards, _why) = fault_cases(f);
        jobs.push(job(
            format!("reference+{f}"),
            Kind::Reference(Some(f)),
            cases,
            shards,
            Mode::Identical,
        ));
    }
    run_group("reference server, no fault and every fault switch", jobs);
}

#[test]
fn real_servers() {
    let mut jobs = vec![job(
        "tokio-tungstenite".into(),
        Kind::Tungstenite,
        ALL,
        1,
        Mode::Identical,
    )];
    jobs.extend(node_and_python_jobs(ALL, 1, false));
    run_group("real servers", jobs);
}

/// Node `ws` and Python `websockets` on `cases`, each when it can be installed (loudly
/// unavailable otherwise); `deflate` picks Node's `perMessageDeflate` variant and names
/// both jobs `+deflate` (Python's `websockets` offers deflate by default).
fn node_and_python_jobs(cases: &[&str], shards: usize, deflate: bool) -> Vec<Job> {
    let suffix = if deflate { "+deflate" } else { "" };
    let mut jobs = Vec::new();
    let servers = repo().join("conformance/servers");
    match run_installer(&servers.join("ensure-installed.sh"), None) {
        Ok(_) => {
            let kind = if deflate {
                Kind::NodeWsDeflate(servers)
            } else {
                Kind::NodeWs(servers)
            };
            let name = format!("node-ws{suffix}");
            jobs.push(job(name, kind, cases, shards, Mode::Identical));
        }
        Err(why) => unavailable("Node `ws` (conformance/servers)", &why),
    }
    let installer = repo().join("scripts/autobahn/install.sh");
    match run_installer(&installer, Some("websockets")) {
        Ok(python) => {
            let kind = Kind::PythonWebsockets(PathBuf::from(python));
            let name = format!("python-websockets{suffix}");
            jobs.push(job(name, kind, cases, shards, Mode::Identical));
        }
        Err(why) => unavailable("Python `websockets`", &why),
    }
    jobs
}

/// The permessage-deflate jobs: `cases` on the reference server with and without
/// `--deflate`, Node `ws` with `perMessageDeflate`, Python `websockets`, and each deflate
/// fault switch on its own cases.
fn deflate_jobs(cases: &[&str], shards: usize) -> Vec<Job> {
    let mut jobs = vec![
        job(
            "reference+deflate".into(),
            Kind::ReferenceDeflate(None),
            cases,
            shards,
            Mode::Identical,
        ),
        job(
            "reference-no-deflate".into(),
            Kind::Reference(None),
            &["12.1.1", "12.5.18", "13.7.4"],
            1,
            Mode::Identical,
        ),
    ];
    for f in Faults::NAMES.iter().filter(|f| f.starts_with("deflate_")) {
        let (fcases, _why) = deflate_fault_cases(f);
        jobs.push(job(
            format!("reference+deflate+{f}"),
            Kind::ReferenceDeflate(Some(f)),
            fcases,
            2,
            Mode::Identical,
        ));
    }
    jobs.extend(node_and_python_jobs(cases, shards, true));
    jobs
}

#[test]
fn permessage_deflate_subset() {
    run_group(
        "permessage-deflate (12.x/13.x subset): reference, its deflate faults, ws, websockets",
        deflate_jobs(DEFLATE_SUBSET, 4),
    );
}

/// All 216 deflate cases (15+ minutes per server under Autobahn):
/// `scripts/autobahn/compare-deflate.sh`.
#[test]
#[ignore = "30-60 min: run by scripts/autobahn/compare-deflate.sh"]
fn permessage_deflate_all_216() {
    run_group(
        "permessage-deflate (all 216 cases of 12.x/13.x)",
        deflate_jobs(DEFLATE_ALL, 4),
    );
}

#[test]
fn hostile_servers_never_pass_what_autobahn_fails() {
    let jobs = Hostile::ALL
        .iter()
        .map(|k| {
            job(
                hostile_name(k),
                Kind::Hostile(*k),
                HOSTILE_CASES,
                4,
                Mode::NeverPassesAFailure,
            )
        })
        .collect();
    run_group(
        "hostile servers (behaviour: never a pass where Autobahn fails)",
        jobs,
    );
}

#[test]
fn allow_list_is_valid_and_short() {
    let list = allow_list();
    let n = list.difference.len() + list.varies.len();
    assert!(
        n <= 12,
        "the allow-list has {n} entries; keep it short (a difference that is not deliberate is a bug to fix)"
    );
}

/// The comparison itself, on made-up verdicts: each disagreement is listed with both verdict
/// pairs and wsspec's observed text, and only the allow-list's exact values are accepted.
#[test]
fn comparison_lists_each_disagreement_and_honours_only_exact_entries() {
    use std::collections::BTreeMap;
    use wsspec::report::{CaseReport, CloseVerdict, RunReport, Verdict};
    let ab_case = |b: &str, c: &str| AbCase {
        behavior: b.into(),
        behavior_close: c.into(),
        remote_close_code: None,
        duration: 1,
        reportfile: "missing.html".into(),
    };
    let mut ab = BTreeMap::new();
    let dir = std::env::temp_dir();
    ab.insert("1.1.1".to_string(), (ab_case("OK", "OK"), dir.clone()));
    ab.insert(
        "2.5".to_string(),
        (ab_case("FAILED", "FAILED"), dir.clone()),
    );
    ab.insert("3.4".to_string(), (ab_case("OK", "OK"), dir.clone()));
    ab.insert("6.4.1".to_string(), (ab_case("OK", "OK"), dir.clone()));
    let case = |id: &str, v: Verdict, c: CloseVerdict, observed: &str| CaseReport {
        id: id.into(),
        title: String::new(),
        rfc: String::new(),
        verdict: v,
        close_verdict: Some(c),
        remote_close_code: None,
        duration_ms: 1.0,
        sent: String::new(),
        expected: String::new(),
        observed: observed.into(),
        transcript: Vec::new(),
    };
    let ws = RunReport {
        tool: "wsspec".into(),
        version: String::new(),
        schema: 1,
        kind: "rfc6455".into(),
        agent: "s".into(),
        target: String::new(),
        started: String::new(),
        duration_ms: 0.0,
        strict: false,
        transport: "http/1.1".into(),
        cases: vec![
            case("1.1.1", Verdict::Ok, CloseVerdict::Ok, "echo"),
            case("2.5", Verdict::Ok, CloseVerdict::Failed, "pong skipped"),
            case("3.4", Verdict::NonStrict, CloseVerdict::Ok, "events []"),
            case("6.4.1", Verdict::Ok, CloseVerdict::FailedByClient, "guard"),
        ],
    };
    let allow: AllowList = toml::from_str(
        r#"
        [[difference]]
        cases = "6.4.*"
        server = "*"
        verdict = "behaviorClose"
        wsspec = "FAILED BY CLIENT"
        autobahn = "OK"
        reason = "r"
        rfc = "x"
        [[varies]]
        cases = "3.4"
        server = "s"
        verdict = "behavior"
        autobahn = ["OK", "NON-STRICT"]
        measured = "m"
        reason = "r"
        "#,
    )
    .unwrap();
    let c = compare("s", &ab, &ws, &allow, Mode::Identical);
    assert_eq!((c.cases, c.identical, c.allowed.len()), (4, 1, 2));
    assert_eq!(c.disagreements.len(), 1);
    let text = c.disagreements[0].to_string();
    for part in [
        "2.5",
        "[s]",
        "Autobahn FAILED / FAILED",
        "wsspec OK / FAILED",
        "pong skipped",
    ] {
        assert!(text.contains(part), "{part:?} missing in {text}");
    }
    // The variation is per server: another server gets no leeway.
    let other = compare("t", &ab, &ws, &allow, Mode::Identical);
    assert!(other.disagreements.iter().any(|d| d.id == "3.4"));
    // Behaviour-only mode: a pass where Autobahn failed is the only finding.
    let h = compare(
        "s",
        &ab,
        &ws,
        &AllowList::default(),
        Mode::NeverPassesAFailure,
    );
    let ids: Vec<&str> = h.disagreements.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["2.5"]);
    // Staleness: both entries were used against `s`; against `t` only the server-wide
    // difference is judged (it was used) and the varies entry's server was not compared.
    assert!(stale_entries(&allow, &[&c]).is_empty());
    assert!(stale_entries(&allow, &[&other]).is_empty());
    // An entry no disagreement needed while its server ran its cases is stale; a behaviour-only
    // comparison (hostile servers) judges no entry, and a server not compared judges none.
    let mut extra = allow.clone();
    extra.difference.push(wsspec_toml_difference("1.1.*", "s"));
    extra.difference.push(wsspec_toml_difference("1.1.*", "u"));
    extra.varies[0].cases = "3.5".into();
    let c = compare("s", &ab, &ws, &extra, Mode::Identical);
    let stale = stale_entries(&extra, &[&c, &h]);
    assert_eq!(stale.len(), 2, "{stale:#?}");
    assert!(stale[0].starts_with("difference #2 (cases 1.1.*, server s"));
    assert!(stale[1].starts_with("varies #1 (cases 3.5, server s)"));
    assert!(stale_entries(&extra, &[&h]).is_empty());
}

fn wsspec_toml_difference(cases: &str, server: &str) -> differential::Difference {
    toml::from_str(&format!(
        "cases = {cases:?}\nserver = {server:?}\nverdict = \"behavior\"\nwsspec = \"OK\"\n\
         autobahn = \"FAILED\"\nreason = \"r\"\nrfc = \"x\"\n"
    ))
    .unwrap()
}

/// Wall time of `wsspec run --all` next to Autobahn's run of 1-10 on the same server, one
/// server at a time. Not part of `cargo test` (it measures, it asserts nothing about speed):
/// `WSSPEC_DIFF_BIN=target/release/wsspec cargo test --release --test autobahn_differential
/// -- --ignored timing_table --nocapture`; the table goes to stderr and to
/// `target/autobahn/timings.md`.
#[test]
#[ignore]
fn timing_table() {
    let Some(wstest) = wstest() else { return };
    let servers = repo().join("conformance/servers");
    let mut jobs = vec![
        job(
            "reference".into(),
            Kind::Reference(None),
            ALL,
            1,
            Mode::Identical,
        ),
        job(
            "tokio-tungstenite".into(),
            Kind::Tungstenite,
            ALL,
            1,
            Mode::Identical,
        ),
        job(
            "node-ws".into(),
            Kind::NodeWs(servers),
            ALL,
            1,
            Mode::Identical,
        ),
        job(
            "reference+mask_server_frames".into(),
            Kind::Reference(Some("mask_server_frames")),
            ALL,
            1,
            Mode::Identical,
        ),
        job(
            hostile_name(&Hostile::HugeFrame { top_bit_set: true }),
            Kind::Hostile(Hostile::HugeFrame { top_bit_set: true }),
            ALL,
            1,
            Mode::Identical,
        ),
    ];
    if let Ok(python) = run_installer(
        &repo().join("scripts/autobahn/install.sh"),
        Some("websockets"),
    ) {
        jobs.push(job(
            "python-websockets".into(),
            Kind::PythonWebsockets(PathBuf::from(python)),
            ALL,
            1,
            Mode::Identical,
        ));
    }
    let mut table = String::from(
        "| server | Autobahn 1-10 (s) | wsspec run --all (s) | wsspec / Autobahn |\n|---|---|---|---|\n",
    );
    for j in only(jobs) {
        let dir = work_dir().join("timing").join(&j.name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let server = start(&j, &dir).unwrap();
        let limit = Duration::from_secs(1800);
        let (_, ab) = run_wstest(&wstest, &j.name, &server.url, &j.cases, 1, &dir, limit).unwrap();
        let (_, ws) = run_wsspec(&j.name, &server.url, &[], &["--all"], &dir, limit).unwrap();
        drop(server);
        let line = format!(
            "| {} | {:.1} | {:.1} | {:.2} |\n",
            j.name,
            ab.as_secs_f64(),
            ws.as_secs_f64(),
            ws.as_secs_f64() / ab.as_secs_f64()
        );
        eprint!("{line}");
        table.push_str(&line);
    }
    eprintln!("\n{table}");
    std::fs::write(work_dir().join("timings.md"), table).unwrap();
}
