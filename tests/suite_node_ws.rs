//! The RFC 6455 suite against the Node `ws` echo server from conformance/servers/ (installed
//! with `npm ci` from the committed lockfile when missing). `ws` is a conforming server, so no
//! case may FAIL; the NON-STRICT and INFORMATIONAL outcomes are printed for the record.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use wsspec::peer::{ConnectOptions, Target};
use wsspec::report::Verdict;
use wsspec::suite::{catalog, run, select, RunConfig};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        // Stop by pid: SIGTERM first (ws-echo exits 0 on it), then make sure.
        unsafe_kill(self.0.id());
        let _ = self.0.wait();
    }
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    std::thread::sleep(Duration::from_millis(200));
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

fn start_ws_echo() -> (Server, u16) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/servers");
    let status = Command::new("bash")
        .arg(dir.join("ensure-installed.sh"))
        .status()
        .expect("bash runs ensure-installed.sh");
    assert!(
        status.success(),
        "npm ci for conformance/servers failed: {status}"
    );
    let mut child = Command::new("node")
        .arg(dir.join("ws-echo.js"))
        .args(["--port", "0", "--host", "127.0.0.1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(p) = line.strip_prefix("LISTENING ") {
                let _ = tx.send(p.trim().parse::<u16>().ok());
            }
        }
    });
    let server = Server(child);
    let port = rx
        .recv_timeout(Duration::from_secs(20))
        .ok()
        .flatten()
        .expect("ws-echo.js prints LISTENING <port> within 20 s");
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
        .map(|c| {
            format!(
                "{} {:?}: {} | observed: {}",
                c.id, c.verdict, c.title, c.observed
            )
        })
        .collect();
    for c in report
        .cases
        .iter()
        .filter(|c| !matches!(c.verdict, Verdict::Ok | Verdict::Failed))
    {
        println!(
            "{} {} ({:?}): {}",
            c.id,
            c.verdict.label(),
            c.close_verdict,
            c.observed
        );
    }
    assert!(failed.is_empty(), "ws failed cases:\n{}", failed.join("\n"));
}
