//! For `tests/h2_*.rs`: a throw-away self-signed certificate, and running a selection
//! over HTTP/2 with the options that accept it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use wsspec::peer::ConnectOptions;
use wsspec::report::{CaseReport, RunReport, Verdict};

use super::suite::show;

/// A self-signed certificate for 127.0.0.1 (EC P-256, one day) made with the `openssl`
/// command line; returns (cert, key). The kit connects with `insecure`.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs (the TLS tests need the openssl command line)");
    assert!(status.success(), "openssl req failed: {status}");
    (cert, key)
}

/// Options for a run: `insecure` for the self-signed certificate.
pub fn opts() -> ConnectOptions {
    ConnectOptions {
        insecure: true,
        ..ConnectOptions::default()
    }
}

/// Runs `cases` (the HTTP/2 catalog for h2c/h2 targets) against `url` with `jobs`.
pub async fn run_cases(url: &str, cases: &[&str], jobs: usize, opts: &ConnectOptions) -> RunReport {
    super::suite::run_with(url, cases, jobs, Some(Duration::from_secs(180)), opts).await
}

/// One line per case that is not OK, for assertion messages and the log.
pub fn not_ok(report: &RunReport) -> Vec<String> {
    report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Ok)
        .map(show)
        .collect()
}

/// The transcript of `c`, one entry a line (kind and summary).
pub fn transcript_text(c: &CaseReport) -> String {
    c.transcript
        .iter()
        .map(|e| format!("{:?} {} {}", e.dir, e.kind, e.summary))
        .collect::<Vec<_>>()
        .join("\n")
}
