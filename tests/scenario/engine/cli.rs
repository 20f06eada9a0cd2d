//! `wsspec scenario` end to end: the real binary, exit codes 0/1/2, diagnostics with
//! file:line:column, JSON reports, profile directories. The server under test is the
//! binary's own `wsspec serve`, started by the scenario's `[server]` section.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::scenario::{echo_steps, scratch, serve_scenario};

const BIN: &str = env!("CARGO_BIN_EXE_wsspec");

/// Runs the binary with a hard time limit (kills it past the limit).
fn wsspec(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "wsspec {args:?} did not end within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A scenario that starts `${bin} serve` on `${port}` (`--var bin=` names this build's
/// binary), sends "hello", expects `expect_text` back and closes.
fn echo_scenario(name: &str, expect_text: &str) -> String {
    let steps = echo_steps("hello", expect_text, "5s")
        + r#"
[[step]]
action = "close"
conn = "a"
code = 1000

[[step]]
action = "expect_close"
conn = "a"
codes = [1000]

[vars]
bin = "wsspec"
"#;
    serve_scenario(name, "20s", "${bin}", &steps)
}

fn write(dir: &Path, name: &str, src: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, src).unwrap();
    p.display().to_string()
}

#[test]
fn broken_scenario_is_a_usage_error_with_positions() {
    let d = scratch("broken");
    let f = write(
        &d,
        "bad.toml",
        "[scenario]\nname = \"bad\"\n\n[[step]]\naction = \"expct\"\nconn = \"a\"\n\n[[step]]\naction = \"send\"\nconn = \"zz\"\ntext = \"x\"\n",
    );
    let o = wsspec(&["scenario", &f], Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "{f}:5:10: step 1: unknown action \"expct\" (did you mean \"expect\"?)"
        )),
        "{}",
        text(&o)
    );
    assert!(
        err.contains(&format!(
            "{f}:10:8: step 2 (action \"send\"): connection \"zz\""
        )),
        "{}",
        text(&o)
    );
    // Nothing ran: no report table on stdout.
    assert!(o.stdout.is_empty(), "{}", text(&o));
}

#[test]
fn bad_arguments_are_usage_errors() {
    let o = wsspec(
        &["scenario", "no-such-profile-xyz"],
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such scenario file"));
    let d = scratch("args");
    let f = write(&d, "ok.toml", &echo_scenario("ok", "hello"));
    let o = wsspec(
        &["scenario", &f, "--var", "no-equals"],
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = wsspec(
        &["scenario", &f, "--url", "ftp://127.0.0.1/"],
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn passing_and_failing_runs_set_the_exit_code_and_write_json() {
    let d = scratch("run");
    let good = write(&d, "good.toml", &echo_scenario("good", "hello"));
    let json = d.join("good.json");
    let bin_var = format!("bin={BIN}");
    let o = wsspec(
        &[
            "scenario",
            &good,
            "--var",
            &bin_var,
            "--json",
            json.to_str().unwrap(),
        ],
        Duration::from_secs(40),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = wsspec::report::read_json(&json).unwrap();
    assert_eq!(r.kind, "scenario");
    // One file is named after its directory, as when the directory runs.
    let dir = d.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(r.target, format!("{dir}/good"));
    let ids: Vec<String> = r.cases.iter().map(|c| c.id.clone()).collect();
    let want: Vec<String> = ["0", "1", "2", "3", "4", "5", "cleanup"]
        .iter()
        .map(|n| format!("{dir}/good#{n}"))
        .collect();
    assert_eq!(ids, want);
    assert!(r.agent.contains("serve --port"), "{}", r.agent);
    assert!(!r.agent.contains("${"), "{}", r.agent);

    let bad = write(&d, "bad.toml", &echo_scenario("bad", "goodbye"));
    let o = wsspec(
        &["scenario", &bad, "--var", &bin_var],
        Duration::from_secs(40),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("expected text \"goodbye\", got \"he"),
        "{}",
        text(&o)
    );
}

/// A profile directory `echo-profile` in a fresh scratch directory: scenario `first`
/// (passes) and scenario `second`, which expects `second_text` back. Returns the
/// scratch directory, the profile directory and the second file.
fn echo_profile(tag: &str, second_text: &str) -> (PathBuf, PathBuf, String) {
    let d = scratch(tag);
    let prof = d.join("echo-profile");
    std::fs::create_dir_all(&prof).unwrap();
    write(&prof, "a.toml", &echo_scenario("first", "hello"));
    let second = write(&prof, "b.toml", &echo_scenario("second", second_text));
    (d, prof, second)
}

/// `wsspec scenario <path> --var bin=<this wsspec> <extra>`.
fn scenario_with_bin(path: &Path, extra: &[&str]) -> Output {
    let bin_var = format!("bin={BIN}");
    let mut args = vec!["scenario", path.to_str().unwrap(), "--var", &bin_var];
    args.extend_from_slice(extra);
    wsspec(&args, Duration::from_secs(60))
}

#[test]
fn a_profile_directory_is_one_report() {
    let (d, prof, _) = echo_profile("profile", "hello");
    std::fs::write(prof.join("notes.txt"), "not a scenario").unwrap();
    let json = d.join("p.json");
    let o = scenario_with_bin(&prof, &["--json", json.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = wsspec::report::read_json(&json).unwrap();
    assert_eq!(r.target, "echo-profile");
    assert_eq!(r.cases.len(), 14);
    assert_eq!(r.cases[0].id, "echo-profile/first#0");
    assert_eq!(r.cases[7].id, "echo-profile/second#0");
    assert!(r
        .cases
        .iter()
        .all(|c| c.verdict == wsspec::report::Verdict::Ok));
}

/// A baseline written from a profile run applies to a run of one of its files: the
/// case ids are the same, so the NOT RUN cases it lists are no regression.
#[test]
fn a_profile_baseline_applies_to_one_of_its_files() {
    let (d, prof, bad) = echo_profile("baseline", "goodbye");
    let baseline = d.join("baseline.json");
    let o = scenario_with_bin(&prof, &["--write-baseline", baseline.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(written.contains("echo-profile/second#4"), "{written}");
    let run_with_baseline = |file: &str| {
        scenario_with_bin(Path::new(file), &["--baseline", baseline.to_str().unwrap()])
    };
    // The FAILED step is no baseline entry, so it stays a regression; the NOT RUN
    // steps after it are listed, so they are none.
    let o = run_with_baseline(&bad);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("regressions against the baseline: echo-profile/second#3\n"),
        "{}",
        text(&o)
    );
    // The same file in a directory of another name has other ids: its NOT RUN cases
    // are then regressions against that baseline.
    let other = d.join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    let moved = write(&other, "b.toml", &echo_scenario("second", "goodbye"));
    let o = run_with_baseline(&moved);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("regressions against the baseline: elsewhere/second#3, elsewhere/second#4"),
        "{}",
        text(&o)
    );
}

/// "Could not test" is exit 2, with the requested reports written, every case NOT RUN
/// with the reason: a server that is not there, a host that is not this machine, a
/// profile whose server command is a variable nobody set, a server that never starts.
#[test]
fn untestable_runs_exit_2_and_still_write_their_reports() {
    let d = scratch("untestable");
    let f = write(&d, "echo.toml", &echo_scenario("echo", "hello"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let check = |args: &[&str], json: &Path, says: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--no-progress", "--json", json.to_str().unwrap()]);
        let o = wsspec(&all, Duration::from_secs(60));
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("could not test: "), "{}", text(&o));
        for s in says {
            assert!(err.contains(s), "stderr lacks {s:?}\n{}", text(&o));
        }
        let r = wsspec::report::read_json(json).unwrap_or_else(|e| panic!("{e}\n{}", text(&o)));
        assert!(!r.cases.is_empty());
        assert!(
            r.cases
                .iter()
                .any(|c| c.verdict == wsspec::report::Verdict::NotRun
                    && says.iter().all(|s| c.observed.contains(s))),
            "no NOT RUN case gives the reason: {:?}",
            r.cases.iter().map(|c| &c.observed).collect::<Vec<_>>()
        );
        r
    };
    let url = format!("ws://127.0.0.1:{closed}/");
    let r = check(
        &["scenario", &f, "--url", &url],
        &d.join("closed.json"),
        &["nothing accepts TCP at 127.0.0.1:"],
    );
    assert!(r
        .cases
        .iter()
        .all(|c| c.verdict == wsspec::report::Verdict::NotRun));
    // 192.0.2.0/24 is TEST-NET-1: refused as not loopback before anything is sent.
    check(
        &["scenario", &f, "--url", "ws://192.0.2.1:80/"],
        &d.join("remote.json"),
        &["not an address on this machine"],
    );
    let r = check(
        &["scenario", "generic"],
        &d.join("generic.json"),
        &["${server_cmd} is empty", "--var server_cmd="],
    );
    assert!(r
        .cases
        .iter()
        .all(|c| c.verdict == wsspec::report::Verdict::NotRun));
    assert!(r.cases.iter().all(|c| c.id.starts_with("generic/")));
    // The server exits at once in every scenario: nothing was tested.
    let dead = write(
        &d,
        "dead.toml",
        "[scenario]\nname = \"dead\"\n[server]\ncommand = [\"sh\", \"-c\", \"echo 'Error: Cannot find module /x/server.js' >&2; exit 1\"]\nready = { tcp_port = \"${port}\" }\n[[step]]\naction = \"sleep\"\nfor = \"1ms\"\n",
    );
    let r = check(
        &["scenario", &dead],
        &d.join("dead.json"),
        &[
            "the server exited before it was ready",
            "Cannot find module /x/server.js",
        ],
    );
    assert_eq!(r.cases[0].verdict, wsspec::report::Verdict::Failed);
    // The suite, too: every selected case NOT RUN.
    let r = check(
        &["run", &url, "--cases", "1.1.*"],
        &d.join("run.json"),
        &["cannot connect"],
    );
    assert!(r
        .cases
        .iter()
        .all(|c| c.verdict == wsspec::report::Verdict::NotRun));
}

/// A server command that sets its own port where the kit cannot be waiting for it (a
/// `$PORT` the user's shell expanded) is warned about before the run.
#[test]
fn an_expanded_port_is_warned_about_before_the_run() {
    let o = wsspec(
        &[
            "scenario",
            "conformance/profiles/generic/restart.toml",
            "--no-progress",
            "--var",
            "server_cmd=sh -c 'exit 1' --port ",
        ],
        Duration::from_secs(60),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: the server command")
            && err.contains("gives --port no value")
            && err.contains("single quotes"),
        "{}",
        text(&o)
    );
    let o = wsspec(
        &[
            "scenario",
            "conformance/profiles/generic/restart.toml",
            "--no-progress",
            "--var",
            "server_cmd=sh -c 'exit 1' --port 3000",
        ],
        Duration::from_secs(60),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sets port 3000 (--port)")
            && String::from_utf8_lossy(&o.stderr).contains("--var port=3000"),
        "{}",
        text(&o)
    );
}
