//! WebSockets over HTTP/2 (RFC 8441) against hypercorn 0.18.0 (PyPI, pinned in
//! conformance/servers/requirements-hypercorn.txt, installed under target/autobahn/hypercorn
//! by scripts/autobahn/install.sh), serving conformance/servers/h2-hypercorn-echo.py.
//!
//! hypercorn's defects show up as pinned verdicts: it never ends a WebSocket's stream
//! (no END_STREAM after the close handshake), it drops a stream from its table while it is
//! still open, so the client's END_STREAM (or any DATA) on it afterwards kills the whole
//! connection (h2.3.1 FAILED, with a transcript of the HTTP/2 frames around the WebSocket
//! frames), and it accepts any `:protocol` (h2.2.1 FAILED).
//!
//! The cases run one at a time (`jobs = 1`): a case that kills the connection would
//! otherwise take the cases beside it down too, and the pinned verdicts would depend on
//! timing. Outside CI, a machine that cannot build the venv skips loudly; in CI
//! (`CI` set) that fails.

mod common;
mod differential;

use std::path::Path;
use std::process::Command;

use common::h2::{not_ok, opts, run_cases, self_signed, transcript_text};
use common::scenario::scratch;
use common::suite::case;
use differential::ServerProcess;
use wsspec::report::{CloseVerdict, RunReport, Verdict};

/// The venv's python, or `None` (with the reason printed) when this machine cannot have it.
fn hypercorn_python() -> Option<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/autobahn/install.sh"))
        .arg("hypercorn")
        .output()
        .expect("bash runs install.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            let program = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            Some(Path::new(&program).with_file_name("python"))
        }
        Some(2) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: hypercorn cannot be installed on this machine: {stderr}");
            None
        }
        _ => panic!("install.sh hypercorn failed ({}): {stderr}", out.status),
    }
}

fn start(python: &Path, extra: &[&str], name: &str) -> ServerProcess {
    let app =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/servers/h2-hypercorn-echo.py");
    let mut cmd = Command::new(python);
    cmd.arg(app).args(extra);
    let log = scratch(name).join("server.log");
    ServerProcess::start(cmd, &log).unwrap_or_else(|e| panic!("{e}"))
}

fn pinned(report: &RunReport, want: &[(&str, Verdict, Option<CloseVerdict>)]) {
    let mut wrong = Vec::new();
    for &(id, v, cv) in want {
        let c = case(report, id);
        if c.verdict != v || c.close_verdict != cv {
            wrong.push(format!(
                "{id}: got {} / {:?}, pinned {} / {cv:?}: {}",
                c.verdict.label(),
                c.close_verdict,
                v.label(),
                c.observed
            ));
        }
    }
    assert!(wrong.is_empty(), "verdicts moved:\n{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hypercorn_over_h2c_and_its_defects() {
    let Some(python) = hypercorn_python() else {
        return;
    };
    let server = start(&python, &[], "h2-hypercorn");
    let url = format!("h2c://127.0.0.1:{}/", server.port);
    let cases = [
        "h2.*", "1.1.1", "1.1.2", "2.1", "2.2", "5.1", "5.3", "7.1.1", "7.1.2", "7.3.1", "7.7.1",
    ];
    let o = opts();
    let report = run_cases(&url, &cases, 1, &o).await;
    for l in not_ok(&report) {
        println!("{l}");
    }
    use CloseVerdict as C;
    use Verdict as V;
    pinned(
        &report,
        &[
            ("h2.1.1", V::Ok, None),
            ("h2.1.2", V::Ok, None),
            // 400 without sec-websocket-version: 13.
            ("h2.1.3", V::NonStrict, None),
            ("h2.1.4", V::Ok, None),
            ("h2.1.5", V::Ok, None),
            // Any :protocol is taken as a WebSocket.
            ("h2.2.1", V::Failed, None),
            ("h2.2.2", V::NotRun, None),
            // The kit's END_STREAM after the close handshake kills the connection.
            ("h2.3.1", V::Failed, None),
            ("h2.3.2", V::Ok, None),
            ("h2.3.3", V::Ok, None),
            ("h2.4.1", V::Ok, None),
            // No END_STREAM after the close handshake: the kit has to reset the stream.
            ("1.1.1", V::Ok, Some(C::FailedByClient)),
            ("1.1.2", V::Ok, Some(C::FailedByClient)),
            ("2.1", V::Ok, Some(C::Unclean)),
            ("2.2", V::Ok, Some(C::Unclean)),
            // A protocol error gets no close frame; the kit's close on the dropped stream
            // then kills the connection.
            ("5.1", V::Ok, Some(C::Failed)),
            ("5.3", V::Ok, Some(C::Unclean)),
            ("7.1.1", V::Ok, Some(C::FailedByClient)),
            ("7.1.2", V::Ok, Some(C::Unclean)),
            ("7.3.1", V::Ok, Some(C::FailedByClient)),
            ("7.7.1", V::Ok, Some(C::FailedByClient)),
        ],
    );
    // The defect's transcript: the close handshake inside DATA frames, no END_STREAM from
    // the server, the kit's END_STREAM, then the connection gone.
    let t = transcript_text(case(&report, "h2.3.1"));
    for needle in [
        ":protocol websocket",
        "Recv h2 HEADERS stream",
        "Sent frame close",
        "Sent h2 DATA stream",
        "Recv h2 DATA stream",
        "Recv frame close",
        "no END_STREAM from the server",
        "Sent h2 END_STREAM",
        "the HTTP/2 connection is gone",
    ] {
        assert!(t.contains(needle), "{needle} missing in\n{t}");
    }
    assert!(!t.contains("Recv h2 END_STREAM"), "{t}");
    println!("h2.3.1 transcript:\n{t}");
    assert!(
        o.http2.connections_opened() > 1,
        "the kit opened a new connection after hypercorn dropped one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hypercorn_over_tls_h2_and_http11_side_by_side() {
    let Some(python) = hypercorn_python() else {
        return;
    };
    let dir = scratch("h2-hypercorn-tls");
    let (cert, key) = self_signed(&dir);
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let server = start(&python, &["--tls", c, k], "h2-hypercorn-tls-srv");
    let cases = ["h2.1.1", "h2.1.2", "h2.3.3", "1.1.1", "2.1"];
    let h2 = run_cases(
        &format!("h2://127.0.0.1:{}/", server.port),
        &cases,
        1,
        &opts(),
    )
    .await;
    assert_eq!(h2.transport, "h2");
    use CloseVerdict as C;
    use Verdict as V;
    pinned(
        &h2,
        &[
            ("h2.1.1", V::Ok, None),
            ("h2.1.2", V::Ok, None),
            ("h2.3.3", V::Ok, None),
            ("1.1.1", V::Ok, Some(C::FailedByClient)),
            ("2.1", V::Ok, Some(C::Unclean)),
        ],
    );
    // The same server over HTTP/1.1 (ALPN http/1.1) closes TCP after the close handshake.
    let h1 = run_cases(
        &format!("wss://127.0.0.1:{}/", server.port),
        &["1.1.1", "2.1"],
        1,
        &opts(),
    )
    .await;
    assert_eq!(h1.transport, "http/1.1");
    pinned(
        &h1,
        &[("1.1.1", V::Ok, Some(C::Ok)), ("2.1", V::Ok, Some(C::Ok))],
    );
}
