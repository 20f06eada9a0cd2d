//! Shared by `tests/h2_*.rs`: starting the HTTP/2 WebSocket servers, a throw-away
//! self-signed certificate, and running a selection over HTTP/2. Each test crate uses part.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use wsspec::peer::{ConnectOptions, Target};
use wsspec::report::{CaseReport, RunReport, Verdict};
use wsspec::suite::{catalog_for, run, select, RunConfig};

/// A directory under the system temp dir, unique to this test process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wsspec-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

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
    let target = Target::parse(url).unwrap();
    let patterns: Vec<String> = cases.iter().map(|s| s.to_string()).collect();
    let selection = select(&catalog_for(&target), &patterns, &[], false).unwrap();
    let cfg = RunConfig {
        jobs,
        deadline: Some(Duration::from_secs(180)),
        ..Default::default()
    };
    run(&target, opts, &selection, cfg).await
}

/// The case `id` of `report`.
pub fn case<'a>(report: &'a RunReport, id: &str) -> &'a CaseReport {
    report
        .cases
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id} in the report"))
}

/// One line per case that is not OK, for assertion messages and the log.
pub fn not_ok(report: &RunReport) -> Vec<String> {
    report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Ok)
        .map(|c| {
            format!(
                "{} {} ({:?}): {}",
                c.id,
                c.verdict.label(),
                c.close_verdict,
                c.observed
            )
        })
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
