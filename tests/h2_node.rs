//! WebSockets over HTTP/2 (RFC 8441) against Node's `node:http2` with
//! `enableConnectProtocol` (conformance/servers/h2-echo.mjs, no npm packages): the whole
//! default suite over h2c on one HTTP/2 connection, a part of it over TLS with ALPN h2, and
//! the refusal of `:protocol` by the same server with the setting off. The echo is
//! conforming, so nothing may FAIL.

mod common;
mod differential;

use std::path::Path;
use std::process::Command;

use common::h2::{not_ok, opts, run_cases, self_signed, transcript_text};
use common::scenario::scratch;
use common::suite::case;
use differential::ServerProcess;
use wsspec::peer::{Peer, PeerError, Target};
use wsspec::report::Verdict;

fn start(extra: &[&str], name: &str) -> ServerProcess {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/servers/h2-echo.mjs");
    let mut cmd = Command::new("node");
    cmd.arg(script).args(["--port", "0"]).args(extra);
    let log = scratch(name).join("server.log");
    ServerProcess::start(cmd, &log).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_suite_passes_on_one_connection() {
    let server = start(&[], "h2-node-h2c");
    let url = format!("h2c://127.0.0.1:{}/", server.port);
    let o = opts();
    let report = run_cases(&url, &[], 4, &o).await;
    for l in not_ok(&report) {
        println!("{l}");
    }
    assert_eq!(report.transport, "h2c");
    assert_eq!(
        o.http2.connections_opened(),
        1,
        "one HTTP/2 connection per run"
    );
    let failed: Vec<String> = not_ok(&report)
        .into_iter()
        .filter(|l| l.contains(" FAILED "))
        .collect();
    assert!(failed.is_empty(), "failed over h2c:\n{}", failed.join("\n"));
    // Autobahn's cases all ran; the HTTP/1.1 handshake checks did not (h2.1.* instead).
    for c in &report.cases {
        let expect_not_run = c.id.starts_with("h.") || c.id == "h2.2.2";
        assert_eq!(
            c.verdict == Verdict::NotRun,
            expect_not_run,
            "{} {}",
            c.id,
            c.observed
        );
    }
    // The transcript shows the HTTP/2 frames next to the WebSocket frames inside them.
    let t = transcript_text(case(&report, "7.1.1"));
    for needle in [
        "h2 HEADERS stream",
        ":protocol websocket",
        "h2 HEADERS stream",
        ":status 200",
        "h2 DATA stream",
        "frame text",
        "Recv h2 END_STREAM",
        "frame close",
    ] {
        assert!(t.contains(needle), "{needle} missing in\n{t}");
    }
    let t = transcript_text(case(&report, "h2.3.1"));
    assert!(t.contains("Sent h2 END_STREAM"), "{t}");
    assert!(t.contains("answers PING"), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn_h2_passes() {
    let dir = scratch("h2-node-tls");
    let (cert, key) = self_signed(&dir);
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let server = start(&["--tls", "--cert", c, "--key", k], "h2-node-tls-srv");
    let url = format!("h2://127.0.0.1:{}/", server.port);
    let report = run_cases(&url, &["1.*", "2.*", "5.*", "7.1.*", "h2.*"], 4, &opts()).await;
    assert_eq!(report.transport, "h2");
    let bad: Vec<String> = not_ok(&report)
        .into_iter()
        .filter(|l| l.contains(" FAILED ") || (l.contains(" NOT RUN ") && !l.starts_with("h2.2.2")))
        .collect();
    assert!(bad.is_empty(), "over TLS h2:\n{}", bad.join("\n"));
    // The case that opened the run's one connection says how.
    let opened: Vec<_> = report
        .cases
        .iter()
        .filter(|c| transcript_text(c).contains("HTTP/2 connection #1"))
        .filter(|c| transcript_text(c).contains("TLS, ALPN h2"))
        .collect();
    assert_eq!(opened.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_setting_protocol_is_a_stream_error() {
    let server = start(&["--no-connect-protocol"], "h2-node-nocp");
    let url = format!("h2c://127.0.0.1:{}/", server.port);
    // The peer refuses to send :protocol before the server enabled it (RFC 8441 §4).
    let o = opts();
    let target = Target::parse(&url).unwrap();
    let err = Peer::connect(&target, &o, "main").await.err();
    assert!(matches!(err, Some(PeerError::NoExtendedConnect)), "{err:?}");
    let report = run_cases(&url, &["h2.1.1", "h2.2.2", "1.1.1"], 1, &o).await;
    let (setting, refused) = (case(&report, "h2.1.1"), case(&report, "h2.2.2"));
    assert_eq!(setting.verdict, Verdict::Failed, "{}", setting.observed);
    assert_eq!(refused.verdict, Verdict::Ok, "{}", refused.observed);
    assert!(
        refused.observed.contains("RST_STREAM PROTOCOL_ERROR"),
        "{}",
        refused.observed
    );
    let ws = case(&report, "1.1.1");
    assert_eq!(ws.verdict, Verdict::Failed, "{}", ws.observed);
    assert!(
        ws.observed.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
        "{}",
        ws.observed
    );
    assert_eq!(
        o.http2.connections_opened(),
        1,
        "the stream error left the connection usable"
    );
}

#[test]
fn the_cli_runs_over_h2c_and_names_the_transport() {
    let server = start(&[], "h2-node-cli");
    let dir = scratch("h2-node-cli-out");
    let json = dir.join("report.json");
    let url = format!("h2c://127.0.0.1:{}/", server.port);
    let out = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args([
            "run",
            &url,
            "--cases",
            "1.1.*,h2.*",
            "--no-progress",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report = wsspec::report::read_json(&json).unwrap();
    assert_eq!(report.transport, "h2c");
    assert_eq!(report.cases.len(), 8 + 11);
    // The comparison matrix says which transport a column ran over.
    let html = dir.join("html");
    let rep = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .arg("report")
        .arg("--html")
        .arg(&html)
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        rep.status.success(),
        "{}",
        String::from_utf8_lossy(&rep.stderr)
    );
    let index = std::fs::read_to_string(html.join("index.html")).unwrap();
    assert!(index.contains("over h2c"), "no transport in the matrix");
    let list = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(["run", &url, "--list", "--cases", "h.1.1,h2.*"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("h2.3.1") && text.contains("RFC 8441 §5"),
        "{text}"
    );
}
