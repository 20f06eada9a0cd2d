//! The engine's `[server]` handling: start and readiness (TCP port, HTTP probe, output
//! line with a captured port), stop, restart, assert_server, crashes as findings,
//! servers that never get ready or ignore SIGTERM, and file edits that are always
//! restored. The servers are `python3 -m http.server` and `sh` children on 127.0.0.1.

#[path = "engine_support.rs"]
mod support;

use std::time::{Duration, Instant};

use support::*;
use wsspec::report::Verdict::{Failed, NotRun, Ok as Pass};
use wsspec::scenario::EngineOptions;

fn pid_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// Pids the engine reported starting (from `started … (pid N)` transcript entries).
fn started_pids(r: &wsspec::report::RunReport) -> Vec<i32> {
    r.cases
        .iter()
        .flat_map(|c| &c.transcript)
        .filter_map(|e| {
            let s = e.summary.strip_prefix("started ")?;
            let p = s.split("(pid ").nth(1)?;
            p.split(')').next()?.parse().ok()
        })
        .collect()
}

async fn all_gone(pids: &[i32]) -> bool {
    for _ in 0..50 {
        if pids.iter().all(|p| !pid_alive(*p)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn python_http_server_start_edit_restart_stop() {
    let dir = scratch("py");
    std::fs::write(dir.join("keep.txt"), "original\n").unwrap();
    let s = load_in(
        &dir,
        "py.toml",
        r#"
[scenario]
name = "py"
deadline = "40s"

[server]
command = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "${port}"]
ready = { http_probe = "http://127.0.0.1:${port}/", status = 200 }
ready_timeout = "15s"

[[step]]
action = "write_file"
path = "sub/new.txt"
content = "hello ${port}"

[[step]]
action = "append_file"
path = "keep.txt"
content = "more\n"

[[step]]
action = "http"
path = "/sub/new.txt"
expect_status = 200
expect_body = "$regex:^hello [0-9]+$"
capture = { body = { whole = true }, ctype = { header = "content-type" } }

[[step]]
action = "http"
path = "/keep.txt"
expect_body = "original\nmore\n"

[[step]]
action = "delete_file"
path = "keep.txt"

[[step]]
action = "http"
path = "/keep.txt"
expect_status = 404

[[step]]
action = "restart_server"

[[step]]
action = "assert_server"
state = "alive"
within = "200ms"

[[step]]
action = "http"
path = "/sub/new.txt"
expect_body = "${body}"

[[step]]
action = "stop_server"

[[step]]
action = "assert_server"
state = "exited"
exit_code = 143
within = "1s"
"#,
    );
    let r = run(&s, &EngineOptions::default()).await;
    let mut want = vec![Pass; 13];
    want[0] = Pass;
    assert_eq!(vs(&r), want, "{}", dump(&r));
    assert_eq!(r.cases[0].id, "py#0");
    assert!(
        r.cases[0].observed.starts_with("ready after"),
        "{}",
        dump(&r)
    );
    assert!(
        r.cases[3].observed.contains("ctype = \"text/plain\""),
        "{}",
        dump(&r)
    );
    assert!(r.cases[7].observed.contains("recovery"), "{}", dump(&r));
    assert!(r.cases[10].observed.contains("SIGTERM"), "{}", dump(&r));
    assert_eq!(r.cases[12].id, "py#cleanup");
    // Files are back: content restored, created file and directory gone.
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "original\n"
    );
    assert!(!dir.join("sub").exists());
    assert!(
        r.cases[12].observed.contains("2 edited file(s) restored"),
        "{}",
        dump(&r)
    );
    // The server's own output is in the transcripts.
    assert!(
        r.cases
            .iter()
            .flat_map(|c| &c.transcript)
            .any(|e| e.kind == "process" && e.summary.contains("GET /sub/new.txt")),
        "no server output in the transcripts"
    );
    let pids = started_pids(&r);
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(all_gone(&pids).await);
}

#[tokio::test]
async fn files_are_restored_when_a_step_fails() {
    let dir = scratch("restore");
    std::fs::write(dir.join("a.js"), "export const a = 1;\n").unwrap();
    let s = load_in(
        &dir,
        "r.toml",
        r#"
[scenario]
name = "restore"

[server]
command = ["sh", "-c", "echo up; exec sleep 30"]
ready = { stdout_line = "^up$" }
ready_timeout = "5s"

[[step]]
action = "write_file"
path = "a.js"
content = "export const a = 2;\n"

[[step]]
action = "write_file"
path = "deep/er/b.js"
content = "x"

[[step]]
action = "write_file"
path = "a.js"
content = "export const a = 3;\n"

[[step]]
action = "assert_server"
state = "exited"
within = "200ms"

[[step]]
action = "delete_file"
path = "a.js"
"#,
    );
    let r = run(&s, &EngineOptions::default()).await;
    assert_eq!(
        vs(&r),
        vec![Pass, Pass, Pass, Pass, Failed, NotRun, Pass],
        "{}",
        dump(&r)
    );
    // Two writes of one file within 100 ms get a note (Vite would drop the second).
    assert!(r.cases[3].observed.contains("edited again"), "{}", dump(&r));
    assert_eq!(
        std::fs::read_to_string(dir.join("a.js")).unwrap(),
        "export const a = 1;\n"
    );
    assert!(!dir.join("deep").exists());
    assert!(all_gone(&started_pids(&r)).await);
}

#[tokio::test]
async fn a_crash_is_a_finding_with_exit_code_and_output() {
    let s = load(
        r#"
[scenario]
name = "crash"

[server]
command = ["sh", "-c", "echo started; sleep 0.3; echo 'fatal: out of cheese' >&2; exit 3"]
ready = { stdout_line = "started" }
ready_timeout = "5s"

[[step]]
action = "sleep"
for = "800ms"

[[step]]
action = "sleep"
for = "10ms"
"#,
    );
    let r = run(&s, &EngineOptions::default()).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Pass, Failed], "{}", dump(&r));
    let during = &r.cases[1];
    assert!(
        during
            .observed
            .contains("the server exited during this step (exit code 3"),
        "{}",
        dump(&r)
    );
    let cleanup = case(&r, "#cleanup");
    assert!(
        cleanup.observed.contains("exited on its own")
            && cleanup.observed.contains("exit code 3")
            && cleanup.observed.contains("out of cheese"),
        "{}",
        dump(&r)
    );
    assert!(
        during
            .transcript
            .iter()
            .any(|e| e.kind == "process" && e.summary.contains("ended: exit code 3")),
        "{:#?}",
        during.transcript
    );
}

#[tokio::test]
async fn an_expected_exit_is_asserted_not_reported() {
    let s = load(
        r#"
[scenario]
name = "exit"

[server]
command = ["sh", "-c", "echo started; sleep 0.2; exit 3"]
ready = { stdout_line = "started" }

[[step]]
action = "assert_server"
state = "exited"
exit_code = 3
within = "3s"
"#,
    );
    let r = run(&s, &EngineOptions::default()).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Pass], "{}", dump(&r));
    let s2 = load(
        r#"
[scenario]
name = "exit2"

[server]
command = ["sh", "-c", "echo started; sleep 0.2; exit 4"]
ready = { stdout_line = "started" }

[[step]]
action = "assert_server"
state = "exited"
exit_code = 3
within = "3s"
"#,
    );
    let r = run(&s2, &EngineOptions::default()).await;
    assert_eq!(vs(&r), vec![Pass, Failed, Pass], "{}", dump(&r));
    assert!(r.cases[1].observed.contains("exit code 4"), "{}", dump(&r));
}

#[tokio::test]
async fn server_that_exits_before_ready_fails_setup() {
    let s = load(
        r#"
[scenario]
name = "early"

[server]
command = ["sh", "-c", "echo 'Error: EADDRINUSE'; exit 1"]
ready = { stdout_line = "listening" }

[[step]]
action = "sleep"
for = "10ms"
"#,
    );
    let r = run(&s, &EngineOptions::default()).await;
    assert_eq!(vs(&r), vec![Failed, NotRun, Pass], "{}", dump(&r));
    assert!(
        r.cases[0].observed.contains("exited before it was ready")
            && r.cases[0].observed.contains("exit code 1")
            && r.cases[0].observed.contains("EADDRINUSE"),
        "{}",
        dump(&r)
    );
    assert!(r.cases[1].observed.contains("setup failed"), "{}", dump(&r));
}

#[tokio::test]
async fn server_never_ready_is_cut_and_killed() {
    let s = load(
        r#"
[scenario]
name = "slow"

[server]
command = ["sh", "-c", "echo booting; exec sleep 30"]
ready = { tcp_port = "${port}" }
ready_timeout = "700ms"

[[step]]
action = "sleep"
for = "10ms"
"#,
    );
    let t = Instant::now();
    let r = run(&s, &EngineOptions::default()).await;
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(vs(&r), vec![Failed, NotRun, Pass], "{}", dump(&r));
    assert!(
        r.cases[0].observed.contains("not ready within 700ms")
            && r.cases[0].observed.contains("booting"),
        "{}",
        dump(&r)
    );
    let pids = started_pids(&r);
    assert_eq!(pids.len(), 1);
    assert!(all_gone(&pids).await, "server {pids:?} survived the run");
}

#[tokio::test]
async fn sigterm_ignored_means_sigkill_and_a_failed_stop() {
    let s = load(
        r#"
[scenario]
name = "stubborn"

[server]
command = ["sh", "-c", "trap '' TERM; echo up; sleep 30; sleep 30"]
ready = { stdout_line = "up" }
stop_timeout = "300ms"

[[step]]
action = "stop_server"
"#,
    );
    let r = run(&s, &EngineOptions::default()).await;
    assert_eq!(vs(&r), vec![Pass, Failed, Pass], "{}", dump(&r));
    assert!(
        r.cases[1]
            .observed
            .contains("did not exit within 300ms of SIGTERM; killed with SIGKILL"),
        "{}",
        dump(&r)
    );
    assert!(all_gone(&started_pids(&r)).await);
}

#[tokio::test]
async fn ready_line_captures_the_port() {
    let s = load(
        r#"
[scenario]
name = "lineport"

[server]
command = ["python3", "-c", "import http.server as h; s = h.HTTPServer(('127.0.0.1', 0), h.SimpleHTTPRequestHandler); print('LISTENING', s.server_port, flush=True); s.serve_forever()"]
ready = { stdout_line = '^LISTENING (?P<port>\d+)$' }
ready_timeout = "15s"

[[step]]
action = "http"
path = "/"
expect_status = 200
"#,
    );
    let r = run(&s, &EngineOptions::default()).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Pass], "{}", dump(&r));
    assert!(r.cases[0].observed.contains("set port = "), "{}", dump(&r));
}

#[tokio::test]
async fn external_server_makes_lifecycle_steps_not_run() {
    let (addr, _t) = http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()).await;
    let s = load(
        r#"
[scenario]
name = "ext"

[server]
command = ["sh", "-c", "exit 9"]
ready = { tcp_port = "${port}" }

[[step]]
action = "http"
path = "/"
expect_body = "ok"

[[step]]
action = "restart_server"

[[step]]
action = "http"
path = "/"
"#,
    );
    let mut o = EngineOptions {
        base_url: Some(format!("http://{addr}/")),
        ..Default::default()
    };
    o.agent = Some("tiny".into());
    let r = run(&s, &o).await;
    assert_eq!(vs(&r), vec![Pass, NotRun, Pass], "{}", dump(&r));
    assert_eq!(r.agent, "tiny");
}

#[tokio::test]
async fn restart_reports_recovery_and_the_first_upgrade() {
    // `wsspec serve` closes every connection with 1001 on SIGINT and exits 0.
    let s = load(
        r#"
[scenario]
name = "restart"
deadline = "30s"

[vars]
bin = "wsspec"

[server]
command = ["${bin}", "serve", "--port", "${port}"]
ready = { tcp_port = "${port}" }
stop_signal = "INT"
ready_timeout = "10s"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "restart_server"

[[step]]
title = "the server said goodbye before going down"
action = "expect_close"
conn = "a"
codes = [1001]

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "stop_server"

[[step]]
action = "assert_server"
state = "exited"
exit_code = 0
"#,
    );
    let o = EngineOptions {
        vars: vec![("bin".into(), env!("CARGO_BIN_EXE_wsspec").into())],
        ..Default::default()
    };
    let r = run(&s, &o).await;
    assert_eq!(vs(&r), vec![Pass; 8], "{}", dump(&r));
    assert!(
        r.cases[2].observed.contains("SIGINT: exit code 0")
            && r.cases[2].observed.contains("recovery"),
        "{}",
        dump(&r)
    );
    assert!(
        r.cases[4].observed.contains("first upgrade")
            && r.cases[4].observed.contains("after the restart began"),
        "{}",
        dump(&r)
    );
    assert!(all_gone(&started_pids(&r)).await);
}

#[tokio::test]
async fn project_dir_option_replaces_the_server_cwd() {
    let elsewhere = scratch("projdir");
    std::fs::write(elsewhere.join("app.js"), "v1").unwrap();
    let s = load(
        r#"
[scenario]
name = "pd"

[server]
command = ["sh", "-c", "test -f app.js && echo here; exec sleep 30"]
cwd = "does-not-exist"
ready = { stdout_line = "^here$" }

[[step]]
action = "write_file"
path = "app.js"
content = "v2 in ${project_dir}"
"#,
    );
    let o = EngineOptions {
        project_dir: Some(elsewhere.clone()),
        ..Default::default()
    };
    let r = run(&s, &o).await;
    assert_eq!(vs(&r), vec![Pass, Pass, Pass], "{}", dump(&r));
    let canon = std::fs::canonicalize(&elsewhere).unwrap();
    assert!(
        r.cases[1]
            .observed
            .contains(&canon.join("app.js").display().to_string()),
        "{}",
        dump(&r)
    );
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("app.js")).unwrap(),
        "v1"
    );
    // Without the option the missing cwd is a setup failure naming it.
    let r = run(&s, &EngineOptions::default()).await;
    assert_eq!(vs(&r), vec![Failed, NotRun], "{}", dump(&r));
    assert!(
        r.cases[0].observed.contains("does-not-exist"),
        "{}",
        dump(&r)
    );
}
