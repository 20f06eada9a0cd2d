//! `wsspec scenario` end to end: the real binary, exit codes 0/1/2, diagnostics with
//! file:line:column, JSON reports, profile directories. The server under test is the
//! binary's own `wsspec serve`, started by the scenario's `[server]` section.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wsspec");

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wsspec-engine-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

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

/// A scenario that starts `wsspec serve` on `${port}` and talks to it.
fn echo_scenario(name: &str, expect_text: &str) -> String {
    format!(
        r#"
[scenario]
name = "{name}"
deadline = "20s"

[vars]
bin = "wsspec"

[server]
command = ["${{bin}}", "serve", "--port", "${{port}}"]
ready = {{ stdout_line = '^LISTENING (?P<port>\d+)$' }}
ready_timeout = "10s"

[[step]]
action = "connect"
conn = "a"
path = "/"

[[step]]
action = "send"
conn = "a"
text = "hello"

[[step]]
action = "expect"
conn = "a"
match = {{ text = "{expect_text}" }}

[[step]]
action = "close"
conn = "a"
code = 1000

[[step]]
action = "expect_close"
conn = "a"
codes = [1000]
"#
    )
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
    assert_eq!(r.target, "good");
    let ids: Vec<&str> = r.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "good#0",
            "good#1",
            "good#2",
            "good#3",
            "good#4",
            "good#5",
            "good#cleanup"
        ]
    );
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

#[test]
fn a_profile_directory_is_one_report() {
    let d = scratch("profile");
    let prof = d.join("echo-profile");
    std::fs::create_dir_all(&prof).unwrap();
    write(&prof, "a.toml", &echo_scenario("first", "hello"));
    write(&prof, "b.toml", &echo_scenario("second", "hello"));
    std::fs::write(prof.join("notes.txt"), "not a scenario").unwrap();
    let json = d.join("p.json");
    let bin_var = format!("bin={BIN}");
    let o = wsspec(
        &[
            "scenario",
            prof.to_str().unwrap(),
            "--var",
            &bin_var,
            "--json",
            json.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
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
