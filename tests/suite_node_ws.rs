//! The RFC 6455 suite against the Node `ws` echo server from conformance/servers/ (installed
//! with `npm ci` from the committed lockfile when missing). `ws` is a conforming server, so no
//! case may FAIL; the NON-STRICT and INFORMATIONAL outcomes are printed for the record.

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
        .args(["--port", "0", "--host", "127.0.0.1"]);
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
