//! Proof of `wsspec fuzz` (issue 16): with a fixed seed and a bounded number of runs,
//! the fuzzer finds, without being told their shapes,
//!
//! * each fault planted in wsspec's json-pubsub application (`wsspec serve --app
//!   json-pubsub --plant X`): a crash on a mistyped field, a hang on deep nesting, a
//!   dropped bystander, a protocol violation;
//! * the real crashes of the servers in `conformance/servers/`: Vite 8 on a malformed
//!   custom event, the Module Federation broker on a schema-invalid action;
//!
//! and nothing against the correct json-pubsub application in the same budget. Each
//! finding is minimised and written as a scenario file, and `wsspec scenario` on that
//! file fails at the oracle's step (and, for the planted faults, passes against the
//! fixed application). The seeds are the targets' own valid traffic
//! (`conformance/scenarios/examples/json-pubsub.toml`, `conformance/profiles/vite/
//! custom-events.toml`, `conformance/profiles/mf-broker/flow-attach.toml`): none of them
//! holds a crashing shape. Runs-to-first-finding are printed per target (`--nocapture`).
//!
//! The tests run in parallel (one server each); Vite and the broker need Node.js and
//! the servers installed from the lockfile: without `node` they print NOT RUN, except
//! under CI, where that is an error.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::broker::broker_lock;
use common::node::node_ready;
use wsspec::target_fuzz::{fuzz, ExecConfig, FuzzOptions, FuzzRun, Levels, Oracle};

const SEED: u64 = 1;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wsspec")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wsspec-fuzz-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_fuzz(opts: FuzzOptions) -> FuzzRun {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cap = opts.duration + Duration::from_secs(120);
    rt.block_on(async { tokio::time::timeout(cap, fuzz(&opts)).await })
        .expect("the fuzzing session ends by its own time box")
}

fn pubsub_options(plant: &str, findings: &Path, runs: u64) -> FuzzOptions {
    FuzzOptions {
        target: repo()
            .join("conformance/scenarios/examples/json-pubsub.toml")
            .display()
            .to_string(),
        vars: vec![
            ("wsspec".into(), bin().into()),
            ("plant".into(), plant.into()),
        ],
        seed: SEED,
        runs,
        duration: Duration::from_secs(90),
        levels: Levels::default(),
        exec: ExecConfig {
            probe_timeout: Duration::from_secs(1),
            ..Default::default()
        },
        max_findings: 1,
        findings_dir: Some(findings.to_path_buf()),
        ..Default::default()
    }
}

/// `wsspec scenario FILE [args]`: exit code and stdout.
fn replay(file: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(bin())
        .arg("scenario")
        .arg(file)
        .args(extra)
        .env("COLUMNS", "200")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The finding's scenario fails at its oracle step.
fn assert_replay_fails(f: &wsspec::target_fuzz::Finding, extra: &[&str]) -> String {
    let file = f.file.as_ref().expect("the finding was written");
    let (code, out) = replay(file, extra);
    assert_eq!(
        code,
        1,
        "replay of {} must fail:\n{out}\n{}",
        file.display(),
        f.scenario
    );
    let oracle_line = out
        .lines()
        .find(|l| l.starts_with("FAILED") && !l.contains("#cleanup"))
        .unwrap_or_else(|| panic!("no failed step in:\n{out}"));
    let step = match f.oracle {
        Oracle::ProtocolViolation => "",
        Oracle::BystanderDropped => "-oracle",
        _ => "-oracle-",
    };
    assert!(oracle_line.contains(step), "{oracle_line}\n{out}");
    out
}

fn planted(plant: &str, want: Oracle) {
    let dir = tmp(plant);
    let t = Instant::now();
    let mut opts = pubsub_options(plant, &dir, 400);
    if want == Oracle::NotAccepting {
        // Every run that reproduces a hang waits out the probe; a shorter probe keeps
        // the minimisation (about 20 such runs) within seconds.
        opts.exec.probe_timeout = Duration::from_millis(500);
    }
    let run = run_fuzz(opts);
    assert!(run.untested.is_none(), "{:?}", run.untested);
    assert_eq!(
        run.findings.len(),
        1,
        "plant {plant}: {:#?}",
        run.report.cases
    );
    let f = &run.findings[0];
    assert_eq!(f.oracle, want, "plant {plant}: {}", f.detail);
    println!(
        "json-pubsub --plant {plant}: first finding at run {} of seed {SEED} ({:?}), minimised to {:?} in {:.1} s total: {}",
        run.first_finding_run.unwrap(),
        f.oracle,
        f.minimised.cost(),
        t.elapsed().as_secs_f64(),
        wsspec::target_fuzz::describe_input(&f.minimised)
    );
    assert!(f.minimised.cost() <= f.input.cost());
    assert_eq!(
        f.minimised.sends.len(),
        1,
        "one message is enough: {:?}",
        f.minimised
    );
    // The replay fails against the planted fault and passes against the fixed app.
    assert_replay_fails(f, &[]);
    let (code, out) = replay(f.file.as_ref().unwrap(), &["--var", "plant=none"]);
    assert_eq!(code, 0, "the replay passes once the fault is gone:\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn finds_planted_crash() {
    planted("crash", Oracle::ServerExited);
}

#[test]
fn finds_planted_hang() {
    planted("hang", Oracle::NotAccepting);
}

#[test]
fn finds_planted_bystander_drop() {
    planted("drop_bystander", Oracle::BystanderDropped);
}

#[test]
fn finds_planted_protocol_violation() {
    planted("violation", Oracle::ProtocolViolation);
}

#[test]
fn reports_nothing_against_the_correct_application() {
    let dir = tmp("none");
    let mut opts = pubsub_options("none", &dir, 200);
    opts.max_findings = 8;
    let run = run_fuzz(opts);
    assert!(run.untested.is_none(), "{:?}", run.untested);
    assert_eq!(run.runs, 200, "the whole budget ran");
    assert!(
        run.findings.is_empty(),
        "false findings: {:#?}",
        run.findings
            .iter()
            .map(|f| (&f.oracle, &f.detail, &f.minimised))
            .collect::<Vec<_>>()
    );
    // One-offs (a probe slowed by a busy machine) are re-run and dropped, not reported.
    println!(
        "json-pubsub, no plant: {} runs, {} unconfirmed one-offs",
        run.runs, run.unconfirmed
    );
    assert!(
        run.kept > 3,
        "answers of several shapes were seen: {}",
        run.kept
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_seed_same_inputs() {
    let dict = wsspec::target_fuzz::Dictionary::default();
    let base = wsspec::target_fuzz::Input {
        handshake: None,
        sends: vec![wsspec::target_fuzz::Send {
            conn: 0,
            what: wsspec::target_fuzz::What::Text(r#"{"op":"subscribe","topic":"a"}"#.into()),
        }],
    };
    let gen = |seed| {
        (0..100)
            .map(|run| {
                let mut rng = wsspec::target_fuzz::run_rng(seed, run);
                wsspec::target_fuzz::mutate::mutate(&base, Levels::default(), &dict, &mut rng)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(gen(7), gen(7));
    assert_ne!(gen(7), gen(8));
}

// ---------------------------------------------------------------- the CLI

#[test]
fn cli_exit_codes_reports_and_corpus() {
    let dir = tmp("cli");
    let out = Command::new(bin())
        .args(["fuzz", "conformance/scenarios/examples/json-pubsub.toml"])
        .args([
            "--var",
            &format!("wsspec={}", bin()),
            "--var",
            "plant=crash",
        ])
        .args([
            "--seed",
            "1",
            "--runs",
            "60",
            "--duration",
            "60s",
            "--max-findings",
            "1",
        ])
        .args(["--probe-timeout", "1s", "--no-progress"])
        .arg("--findings-dir")
        .arg(dir.join("findings"))
        .arg("--corpus")
        .arg(dir.join("corpus"))
        .arg("--json")
        .arg(dir.join("r.json"))
        .arg("--junit")
        .arg(dir.join("j.xml"))
        .arg("--html")
        .arg(dir.join("html"))
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(dir.join("findings/finding-1.toml").is_file(), "{text}");
    let json = std::fs::read_to_string(dir.join("r.json")).unwrap();
    assert!(json.contains("fuzz/finding-1-crash"), "{json}");
    assert!(
        json.contains("topic.startsWith"),
        "the crash's output is quoted: {json}"
    );
    assert!(std::fs::read_to_string(dir.join("j.xml"))
        .unwrap()
        .contains("finding-1-crash"));
    assert!(dir.join("html/index.html").is_file());
    let kept = std::fs::read_dir(dir.join("corpus")).unwrap().count();
    assert!(kept > 0, "the corpus keeps inputs between runs");

    // Nothing listens: could not test, exit 2, with a report.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(bin())
        .args([
            "fuzz",
            &format!("ws://127.0.0.1:{port}/"),
            "--runs",
            "5",
            "--no-progress",
        ])
        .arg("--findings-dir")
        .arg(dir.join("none"))
        .arg("--json")
        .arg(dir.join("r2.json"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(dir.join("r2.json"))
        .unwrap()
        .contains("NOT RUN"));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- real servers

fn real(target: &str, name: &str, runs: u64) -> Option<FuzzRun> {
    let dir = tmp(name);
    let opts = FuzzOptions {
        target: repo().join(target).display().to_string(),
        seed: SEED,
        runs,
        duration: Duration::from_secs(120),
        max_findings: 1,
        findings_dir: Some(dir),
        ..Default::default()
    };
    let t = Instant::now();
    let run = run_fuzz(opts);
    assert!(run.untested.is_none(), "{name}: {:?}", run.untested);
    if let Some(f) = run.findings.first() {
        println!(
            "{name}: first finding at run {} of seed {SEED} ({:?}) in {:.1} s: {} -> {}",
            run.first_finding_run.unwrap(),
            f.oracle,
            t.elapsed().as_secs_f64(),
            wsspec::target_fuzz::describe_input(&f.minimised),
            f.detail.lines().next().unwrap_or("")
        );
    }
    Some(run)
}

#[test]
fn finds_the_vite_malformed_custom_event_crash() {
    if !node_ready("the real-server fuzz tests") {
        return;
    }
    let run = real("conformance/profiles/vite/custom-events.toml", "vite", 150).unwrap();
    assert_eq!(run.findings.len(), 1, "{:#?}", run.report.cases);
    let f = &run.findings[0];
    assert_eq!(f.oracle, Oracle::ServerExited, "{}", f.detail);
    assert!(f.detail.contains("TypeError"), "{}", f.detail);
    let text = match &f.minimised.sends[..] {
        [one] => match &one.what {
            wsspec::target_fuzz::What::Text(t) => t.clone(),
            w => panic!("{w:?}"),
        },
        s => panic!("one message is enough: {s:?}"),
    };
    assert!(
        text.contains("\"custom\"") && text.contains("vite:"),
        "a Vite custom event: {text}"
    );
    assert_replay_fails(f, &[]);
    let _ = std::fs::remove_dir_all(f.file.as_ref().unwrap().parent().unwrap());
}

#[test]
fn finds_the_broker_schema_crash() {
    if !node_ready("the real-server fuzz tests") {
        return;
    }
    let _lock = broker_lock();
    let run = real(
        "conformance/profiles/mf-broker/flow-attach.toml",
        "mf-broker",
        150,
    )
    .unwrap();
    assert_eq!(run.findings.len(), 1, "{:#?}", run.report.cases);
    let f = &run.findings[0];
    assert_eq!(f.oracle, Oracle::ServerExited, "{}", f.detail);
    assert_eq!(f.minimised.sends.len(), 1, "{:?}", f.minimised);
    assert_replay_fails(f, &[]);
    let _ = std::fs::remove_dir_all(f.file.as_ref().unwrap().parent().unwrap());
}

/// A server wsspec did not start (`--url`): its crash shows as "stops accepting
/// connections", the finding is kept as found, and the session ends with exit 1.
#[test]
fn url_target_crash_is_not_accepting() {
    use std::io::{BufRead, BufReader};
    let dir = tmp("url");
    let mut server = Command::new(bin())
        .args([
            "serve",
            "--port",
            "0",
            "--app",
            "json-pubsub",
            "--plant",
            "crash",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap()
        .parse()
        .unwrap();
    let mut opts = pubsub_options("crash", &dir, 100);
    opts.url = Some(format!("ws://127.0.0.1:{port}/"));
    let run = run_fuzz(opts);
    // Stop it by its pid whatever happened (it should have exited already).
    let _ = server.kill();
    let _ = server.wait();
    assert!(run.untested.is_none(), "{:?}", run.untested);
    assert_eq!(run.findings.len(), 1, "{:#?}", run.report.cases);
    let f = &run.findings[0];
    assert_eq!(f.oracle, Oracle::NotAccepting, "{}", f.detail);
    assert!(f.scenario.contains("pass --url"), "{}", f.scenario);
    println!(
        "json-pubsub --plant crash behind --url: first finding at run {}",
        run.first_finding_run.unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bare URL (generic seeds): the reference echo server with a fault switch is caught
/// by the matching oracle, and the correct one gives nothing.
#[test]
fn url_target_echo_server_faults() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for (fault, want) in [
            ("no_pong", Some(Oracle::Unresponsive)),
            ("mask_server_frames", Some(Oracle::ProtocolViolation)),
            ("", None),
        ] {
            let faults = wsspec::server::Faults::parse(fault).unwrap();
            let cfg = wsspec::server::ServerConfig::with_faults(faults);
            let server = wsspec::server::bind("127.0.0.1:0".parse().unwrap(), cfg)
                .await
                .unwrap();
            let opts = FuzzOptions {
                target: server.url(),
                seed: SEED,
                runs: 60,
                duration: Duration::from_secs(60),
                exec: ExecConfig {
                    probe_timeout: Duration::from_secs(1),
                    ..Default::default()
                },
                max_findings: 1,
                ..Default::default()
            };
            let run = fuzz(&opts).await;
            server.shutdown().await;
            assert!(run.untested.is_none(), "{fault}: {:?}", run.untested);
            let got = run.findings.first().map(|f| f.oracle);
            assert_eq!(got, want, "fault {fault:?}: {:#?}", run.report.cases);
            if want.is_none() {
                assert_eq!(run.runs, 60);
            }
        }
    });
}
