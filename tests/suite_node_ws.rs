//! The RFC 6455 suite against the Node `ws` echo server from conformance/servers/ (installed
//! with `npm ci` from the committed lockfile when missing). `ws` is a conforming server, so no
//! case may FAIL; the NON-STRICT and INFORMATIONAL outcomes are printed for the record. With
//! permessage-deflate, `ws` and Python `websockets` pass every deflate check.

mod common;
mod differential;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::suite::show;
use differential::ServerProcess;
use wsspec::peer::{ConnectOptions, Target};
use wsspec::report::Verdict;
use wsspec::suite::{catalog, run, select, RunConfig};

fn start_ws_echo() -> (ServerProcess, u16) {
    start_ws_echo_with(&[])
}

fn start_ws_echo_with(extra: &[&str]) -> (ServerProcess, u16) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/servers");
    let status = Command::new("bash")
        .arg(dir.join("ensure-installed.sh"))
        .status()
        .expect("bash runs ensure-installed.sh");
    assert!(
        status.success(),
        "npm ci for conformance/servers failed: {status}"
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("ws-echo.js"))
        .args(["--port", "0", "--host", "127.0.0.1"])
        .args(extra);
    // Stopped by pid (SIGTERM, then SIGKILL) when dropped.
    let log = std::env::temp_dir().join(format!("wsspec-ws-echo-{}.log", std::process::id()));
    let server = ServerProcess::start(cmd, &log).unwrap_or_else(|e| panic!("{e}"));
    let port = server.port;
    (server, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_passes_every_default_case() {
    let (_server, port) = start_ws_echo();
    let target = Target::parse(&format!("ws://127.0.0.1:{port}/")).unwrap();
    let selection = select(&catalog(), &[], &[], false).unwrap();
    let cfg = RunConfig {
        jobs: 4,
        deadline: Some(Duration::from_secs(240)),
        agent: "ws (node)".into(),
        ..Default::default()
    };
    let report = run(&target, &ConnectOptions::default(), &selection, cfg).await;
    assert_eq!(report.cases.len(), selection.len());
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Failed || c.verdict == Verdict::NotRun)
        .map(show)
        .collect();
    for c in report
        .cases
        .iter()
        .filter(|c| !matches!(c.verdict, Verdict::Ok | Verdict::Failed))
    {
        println!("{}", show(c));
    }
    assert!(failed.is_empty(), "ws failed cases:\n{}", failed.join("\n"));
}

/// The `pmd.*` checks (RFC 7692 §5-8) and row .1 of every 12.j/13.j against a correct
/// permessage-deflate server: all OK (all 216 12.x/13.x cases are compared with Autobahn by
/// scripts/autobahn/compare-deflate.sh).
async fn passes_the_deflate_checks(name: &str, port: u16) {
    let url = format!("ws://127.0.0.1:{port}/");
    let mut ids = vec!["pmd.*".to_string()];
    ids.extend((1..=5).map(|j| format!("12.{j}.1")));
    ids.extend((1..=7).map(|j| format!("13.{j}.1")));
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let report = common::suite::run(&url, &ids, 4, Some(Duration::from_secs(120))).await;
    let pmd = report
        .cases
        .iter()
        .filter(|c| c.id.starts_with("pmd."))
        .count();
    assert_eq!((pmd, report.cases.len()), (10, 22), "{name}");
    let bad: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Ok)
        .map(show)
        .collect();
    assert!(bad.is_empty(), "{name}:\n{}", bad.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_with_deflate_passes_the_deflate_checks() {
    let (_server, port) = start_ws_echo_with(&["--deflate"]);
    passes_the_deflate_checks("ws with perMessageDeflate", port).await;
}

/// Python `websockets` negotiates permessage-deflate by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_passes_the_deflate_checks() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = match differential::run_installer(
        &repo.join("scripts/autobahn/install.sh"),
        Some("websockets"),
    ) {
        Ok(p) => p,
        Err(why) => return differential::unavailable("Python `websockets`", &why),
    };
    let mut cmd = Command::new(python);
    cmd.arg(repo.join("conformance/servers/websockets-echo.py"))
        .args(["--port", "0"]);
    let log = std::env::temp_dir().join(format!("wsspec-websockets-{}.log", std::process::id()));
    let server = ServerProcess::start(cmd, &log).unwrap_or_else(|e| panic!("{e}"));
    passes_the_deflate_checks("Python websockets", server.port).await;
}
