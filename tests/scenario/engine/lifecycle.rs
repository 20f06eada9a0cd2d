//! The engine's `[server]` handling: start and readiness (TCP port, HTTP probe, output
//! line with a captured port), stop, restart, assert_server, crashes as findings,
//! servers that never get ready or ignore SIGTERM, and file edits that are always
//! restored. The servers are `python3 -m http.server`, `sh` and `wsspec serve`
//! children on 127.0.0.1.
//!
//! Each test is a scenario file in `tests/scenarios/lifecycle/` with its expected
//! verdicts at the top (see `tests/common/scenario.rs`); the tests written out below add
//! what a table cannot say: files restored, processes gone.

use crate::common::scenario::{all_gone, check_scenario, run, scenario_tests, started_pids, vs};
use wsspec::report::Verdict::Ok as Pass;
use wsspec::scenario::{EngineOptions, Scenario};

scenario_tests!("lifecycle":
    a_crash_is_a_finding,
    an_expected_exit_is_asserted,
    an_exit_with_another_code_fails,
    server_exits_before_ready,
    ready_line_captures_the_port,
    external_server_makes_lifecycle_not_run,
    in_process_restart_on_a_signal,
    in_process_restart_on_stdin,
    in_process_restart_that_ends_the_server,
    in_process_restart_without_a_trigger;
    python_http_server,
    files_restored_after_a_failure,
    server_never_ready,
    sigterm_ignored,
    restart_reports_recovery,
    project_dir_option,
);

/// Asserts that every server process the run started is gone.
async fn no_server_left(r: &wsspec::report::RunReport, started: usize) {
    let pids = started_pids(r);
    assert_eq!(pids.len(), started, "{pids:?}");
    assert!(all_gone(&pids).await, "server {pids:?} survived the run");
}

#[tokio::test]
async fn python_http_server() {
    let (r, dir) = check_scenario("lifecycle/python_http_server").await;
    // Files are back: content restored, created file and directory gone.
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "original\n"
    );
    assert!(!dir.join("sub").exists());
    // The server's own output is in the transcripts.
    assert!(
        r.cases
            .iter()
            .flat_map(|c| &c.transcript)
            .any(|e| e.kind == "process" && e.summary.contains("GET /sub/new.txt")),
        "no server output in the transcripts"
    );
    no_server_left(&r, 2).await;
}

#[tokio::test]
async fn files_restored_after_a_failure() {
    let (r, dir) = check_scenario("lifecycle/files_restored_after_a_failure").await;
    assert_eq!(
        std::fs::read_to_string(dir.join("a.js")).unwrap(),
        "export const a = 1;\n"
    );
    assert!(!dir.join("deep").exists());
    no_server_left(&r, 1).await;
}

#[tokio::test]
async fn server_never_ready() {
    let (r, _) = check_scenario("lifecycle/server_never_ready").await;
    no_server_left(&r, 1).await;
}

#[tokio::test]
async fn sigterm_ignored() {
    let (r, _) = check_scenario("lifecycle/sigterm_ignored").await;
    no_server_left(&r, 1).await;
}

#[tokio::test]
async fn restart_reports_recovery() {
    let (r, _) = check_scenario("lifecycle/restart_reports_recovery").await;
    no_server_left(&r, 2).await;
}

#[tokio::test]
async fn project_dir_option() {
    // Without the option (the table): the missing cwd is a setup failure naming it.
    let (_, dir) = check_scenario("lifecycle/project_dir_option").await;
    let s = Scenario::from_file(&dir.join("project_dir_option.toml")).unwrap();
    let elsewhere = crate::common::scenario::scratch("projdir");
    std::fs::write(elsewhere.join("app.js"), "v1").unwrap();
    let o = EngineOptions {
        project_dir: Some(elsewhere.clone()),
        ..Default::default()
    };
    let r = run(&s, &o).await;
    assert_eq!(
        vs(&r),
        vec![Pass, Pass, Pass],
        "{}",
        crate::common::scenario::dump(&r)
    );
    let canon = std::fs::canonicalize(&elsewhere).unwrap();
    assert!(
        r.cases[1]
            .observed
            .contains(&canon.join("app.js").display().to_string()),
        "{}",
        crate::common::scenario::dump(&r)
    );
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("app.js")).unwrap(),
        "v1"
    );
}
