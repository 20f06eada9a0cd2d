//! Developer aid, ignored by default: runs one profile (or one scenario file) named by
//! `WSSPEC_PROFILE` with the library engine and prints every case, so a profile can be
//! tried against a real server without the CLI. Vars come from `WSSPEC_VARS`
//! (`k=v;k=v`), the project directory from `WSSPEC_PROJECT_DIR`.
//!
//! `WSSPEC_PROFILE=conformance/profiles/vite cargo test --test profile_dev -- --ignored --nocapture`

use std::path::PathBuf;
use wsspec::scenario::{run_profile, EngineOptions, Profile};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "developer aid: needs WSSPEC_PROFILE and the real servers"]
async fn run_profile_from_env() {
    let Ok(target) = std::env::var("WSSPEC_PROFILE") else {
        eprintln!("NOT RUN: set WSSPEC_PROFILE to a profile directory or scenario file");
        return;
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(&target);
    let profile = Profile::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
    let vars = std::env::var("WSSPEC_VARS")
        .unwrap_or_default()
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (k.to_string(), v.to_string())
        })
        .collect();
    let opts = EngineOptions {
        vars,
        project_dir: std::env::var("WSSPEC_PROJECT_DIR").ok().map(PathBuf::from),
        connect: wsspec::scenario::ConnectDefaults {
            origin: std::env::var("WSSPEC_ORIGIN").ok(),
            ..Default::default()
        },
        keep_going: std::env::var("WSSPEC_KEEP_GOING").is_ok(),
        ..Default::default()
    };
    let report = run_profile(&profile, &opts).await.report;
    for c in &report.cases {
        println!(
            "{:<60} {:<8} {:>8.0} ms  {}",
            c.id,
            c.verdict.label(),
            c.duration_ms,
            c.observed.chars().take(300).collect::<String>()
        );
        if std::env::var("WSSPEC_TRANSCRIPT").is_ok() && c.verdict.label() == "FAILED" {
            println!("{}", wsspec::report::terminal::transcript_text(c, 60, 64));
        }
    }
    println!("total {:.0} ms", report.duration_ms);
}
