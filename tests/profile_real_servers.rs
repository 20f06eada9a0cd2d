//! The conformance profiles against the real servers of `conformance/servers/`:
//! Vite 8.3.8, webpack-dev-server 5.2.7 and the Module Federation DTS broker 2.9.2.
//!
//! Each test installs the servers once (`ensure-installed.sh`, from the lockfile),
//! runs a whole profile with the library engine (which starts and stops every server
//! by its process group, on 127.0.0.1) and then pins the verdict a correct kit must
//! give for each step, as established in shared/protocols/*.md: what the servers do
//! right must be OK, each known defect must be FAILED at exactly its step, and
//! nothing else may fail. Apps are copied to temporary folders before any edit;
//! broker runs are serialised (its port 16322 is fixed), also across processes.
//!
//! Without `node` on PATH the tests print NOT RUN and return, except under CI (`CI`
//! set), where that is an error.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::broker::{broker_lock, BROKER_PORT};
use common::node::node_ready;
use common::wire::free_port;
use wsspec::report::{RunReport, Verdict};
use wsspec::scenario::{ConnectDefaults, EngineOptions, Profile};

const MAGIC: &str = "1hpzW-zo2z-o8io-gfmV1-2cb1d82";
/// Upper bound for one whole profile run; the engine bounds every scenario by its
/// deadline, this only keeps a slip from hanging the test binary.
const PROFILE_CAP: Duration = Duration::from_secs(420);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn servers_dir() -> PathBuf {
    repo().join("conformance/servers")
}

/// The real servers, installed once per test binary (`common::node`). `None`: node is
/// missing and this is not CI, so the caller reports NOT RUN.
fn servers() -> Option<PathBuf> {
    node_ready("the real-server profile tests").then(servers_dir)
}

/// Waits for a child with a deadline; kills it (by pid) when the deadline passes.
fn wait_bounded(
    child: &mut std::process::Child,
    limit: Duration,
) -> Result<std::process::ExitStatus, String> {
    let end = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(s);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {limit:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A copy of a probe project in a fresh temporary folder, removed on drop.
struct AppCopy {
    dir: PathBuf,
}

impl AppCopy {
    fn new(app: &str) -> AppCopy {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("wsspec-profile-{}-{n}-{app}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&servers_dir().join(app), &dir);
        AppCopy { dir }
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap()
    }
}

impl Drop for AppCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Runs every scenario of a profile directory (or one file) and indexes the cases.
fn run_profile(target: &str, opts: EngineOptions) -> Cases {
    let path = repo().join(target);
    let profile = Profile::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let run = rt.block_on(async {
        tokio::time::timeout(PROFILE_CAP, wsspec::scenario::run_profile(&profile, &opts))
            .await
            .unwrap_or_else(|_| panic!("{target}: still running after {PROFILE_CAP:?}"))
    });
    // Every server here starts: a run that tested nothing is a broken set-up.
    assert_eq!(run.untested, None, "{target}");
    let cases = Cases::new(run.report);
    println!(
        "{target}: {} cases in {:.1} s",
        cases.report.cases.len(),
        started.elapsed().as_secs_f64()
    );
    for c in &cases.report.cases {
        println!(
            "  {:<62} {:<8} {}",
            c.id,
            c.verdict.label(),
            c.observed.chars().take(160).collect::<String>()
        );
    }
    cases
}

struct Cases {
    report: RunReport,
}

impl Cases {
    fn new(report: RunReport) -> Cases {
        Cases { report }
    }

    /// The wire transcript of a scenario up to and including case `c` (a case only
    /// holds what happened since the previous one), for failure messages.
    fn transcript(&self, c: &wsspec::report::CaseReport) -> String {
        let scenario = c.id.split('#').next().unwrap_or("");
        let mut out = String::new();
        for k in &self.report.cases {
            if k.id.split('#').next() == Some(scenario) {
                out += &format!("--- {} {}\n", k.id, k.verdict.label());
                out += &wsspec::report::terminal::transcript_text(k, 60, 0);
            }
            if k.id == c.id {
                break;
            }
        }
        out
    }

    /// The case of step `id` in `scenario` (`profile/scenario#<n>-<id>`).
    fn case(&self, scenario: &str, id: &str) -> &wsspec::report::CaseReport {
        let suffix = format!("-{id}");
        self.report
            .cases
            .iter()
            .find(|c| {
                c.id.split_once('#').is_some_and(|(s, rest)| {
                    (s == scenario || s.ends_with(&format!("/{scenario}")))
                        && rest.ends_with(&suffix)
                        && rest[..rest.len() - suffix.len()]
                            .chars()
                            .all(|ch| ch.is_ascii_digit())
                })
            })
            .unwrap_or_else(|| {
                panic!(
                    "no case for {scenario}#{id}; ids: {:?}",
                    self.report.cases.iter().map(|c| &c.id).collect::<Vec<_>>()
                )
            })
    }

    fn ok(&self, scenario: &str, ids: &[&str]) {
        for id in ids {
            let c = self.case(scenario, id);
            assert_eq!(
                c.verdict,
                Verdict::Ok,
                "{}: expected OK, got {} ({})\n{}",
                c.id,
                c.verdict.label(),
                c.observed,
                self.transcript(c)
            );
        }
    }

    /// Asserts FAILED and that the evidence names what went wrong.
    fn failed(&self, scenario: &str, id: &str, evidence: &str) {
        let c = self.case(scenario, id);
        assert_eq!(
            c.verdict,
            Verdict::Failed,
            "{}: expected FAILED (a known defect of the real server), got {} ({})",
            c.id,
            c.verdict.label(),
            c.observed
        );
        assert!(
            c.observed.contains(evidence),
            "{}: the evidence should mention {evidence:?}: {}",
            c.id,
            c.observed
        );
    }

    /// Each row (scenario, step id, evidence) is FAILED with that evidence, and no other
    /// case is (a step may have several rows, one per piece of evidence).
    fn failed_exactly(&self, rows: &[(&str, &str, &str)]) {
        let mut steps: Vec<(&str, &str)> = Vec::new();
        for &(scenario, id, evidence) in rows {
            self.failed(scenario, id, evidence);
            if !steps.contains(&(scenario, id)) {
                steps.push((scenario, id));
            }
        }
        self.exactly_failed(&steps);
    }

    /// Every FAILED case must be one of `expected` (scenario, step id), and every
    /// expected one must have failed: nothing passes or fails by accident.
    fn exactly_failed(&self, expected: &[(&str, &str)]) {
        let failed: Vec<&str> = self
            .report
            .cases
            .iter()
            .filter(|c| c.verdict == Verdict::Failed)
            .map(|c| c.id.as_str())
            .collect();
        for id in &failed {
            let case = self.report.cases.iter().find(|c| c.id == *id).unwrap();
            assert!(
                expected
                    .iter()
                    .any(|(s, step)| self.case(s, step).id == *id),
                "unexpected FAILED case {id}: {}\n{}",
                case.observed,
                self.transcript(case)
            );
        }
        assert_eq!(
            failed.len(),
            expected.len(),
            "FAILED cases: {failed:?}, expected: {expected:?}"
        );
    }

    /// The engine's own bookkeeping: every scenario's start and cleanup went well
    /// (servers stopped by signal, edited files restored).
    fn setup_and_cleanup_ok(&self) {
        for c in &self.report.cases {
            if c.id.ends_with("#0") || c.id.ends_with("#cleanup") {
                assert_eq!(c.verdict, Verdict::Ok, "{}: {}", c.id, c.observed);
            }
        }
    }

    /// Asserts that the server's output during step `id` holds `line` (evidence that a
    /// trigger really restarted it).
    fn logged(&self, scenario: &str, id: &str, line: &str) {
        let c = self.case(scenario, id);
        assert!(
            c.transcript
                .iter()
                .any(|e| e.kind == "process" && e.summary.contains(line)),
            "{}: the server's output should hold {line:?}\n{}",
            c.id,
            self.transcript(c)
        );
    }

    fn not_run(&self, scenario: &str, id: &str) {
        let c = self.case(scenario, id);
        assert_eq!(c.verdict, Verdict::NotRun, "{}: {}", c.id, c.observed);
    }
}

fn vars(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn vite_cmd(servers: &Path) -> String {
    format!(
        "node -r {s}/loopback-only.cjs {s}/node_modules/vite/bin/vite.js",
        s = servers.display()
    )
}

fn wds_cmd(servers: &Path) -> String {
    format!(
        "node {}/node_modules/webpack-cli/bin/cli.js serve",
        servers.display()
    )
}

#[test]
fn vite_profile_on_vite_8() {
    let Some(_) = servers() else { return };
    let app = AppCopy::new("vite-app");
    let original_dep = app.read("src/dep.js");
    let r = run_profile(
        "conformance/profiles/vite",
        EngineOptions {
            project_dir: Some(app.dir.clone()),
            ..Default::default()
        },
    );
    r.setup_and_cleanup_ok();
    r.ok(
        "handshake",
        &["token", "upgrade", "greeting", "close-echoed"],
    );
    r.ok(
        "origin-token",
        &[
            "foreign-no-token",
            "foreign-wrong-token",
            "null-origin-no-token",
            "same-site-empty-token",
            "dns-rebinding-host",
            "right-token-accepted",
            "right-token-greeting",
        ],
    );
    r.ok("hmr-update", &["update-accepted", "update-self-accepted"]);
    r.ok("hmr-css", &["css-update"]);
    r.ok(
        "hmr-full-reload",
        &["full-reload-html", "full-reload-plain"],
    );
    r.ok(
        "hmr-error",
        &[
            "update-before-parse",
            "reimport-fails",
            "error-pushed",
            "update-after-fix",
        ],
    );
    r.ok(
        "ping",
        &["vite-ping-upgrade", "vite-ping-closed-1000", "http-ping"],
    );
    r.ok(
        "restart",
        &[
            "restart",
            "old-socket-cut",
            "old-token-refused",
            "new-token-accepted",
            "greeting-after-restart",
        ],
    );
    r.ok(
        "custom-events",
        &["invoke-rpc", "junk-ignored", "still-serving"],
    );
    // Vite 8.3.8 exits (code 1) on each of these payloads (protocol note 2.5).
    let crashes = [
        "survive-invalidate-null",
        "survive-invalidate-shape",
        "survive-invoke-null",
        "survive-invoke-shape",
    ];
    for s in crashes {
        r.ok(s, &["send-malformed"]);
        r.not_run(s, "new-upgrade");
    }
    let expected: Vec<_> = crashes
        .iter()
        .map(|s| (*s, "server-survives", "exit code 1"))
        .collect();
    r.failed_exactly(&expected);
    assert_eq!(
        app.read("src/dep.js"),
        original_dep,
        "edited files are restored"
    );
}

#[test]
fn webpack_dev_server_profile_on_wds_5() {
    let Some(_) = servers() else { return };
    let app = AppCopy::new("wds-app");
    let r = run_profile(
        "conformance/profiles/webpack-dev-server",
        EngineOptions {
            project_dir: Some(app.dir.clone()),
            ..Default::default()
        },
    );
    r.setup_and_cleanup_ok();
    r.ok("greeting", &["upgrade", "greeting", "ping-answered"]);
    r.ok("rebuild", &["invalid-hash-ok", "still-ok"]);
    r.ok("static-changed", &["static-changed"]);
    r.ok(
        "heartbeat",
        &[
            "silent-peer-terminated",
            "polite-peer-kept",
            "polite-peer-pong",
        ],
    );
    for probe in [
        "no-origin",
        "foreign-origin",
        "cve-2025-30360",
        "dns-rebinding",
    ] {
        r.ok(
            "origin-policy",
            &[probe, &format!("{probe}-error"), &format!("{probe}-closed")],
        );
    }
    r.ok(
        "origin-policy",
        &["same-host-accepted", "same-host-greeting"],
    );
    r.exactly_failed(&[]);
}

#[test]
fn mf_broker_profile_on_dts_plugin_2_9_2() {
    let Some(_) = servers() else { return };
    let _lock = broker_lock();
    let r = run_profile("conformance/profiles/mf-broker", EngineOptions::default());
    r.setup_and_cleanup_ok();
    // The flows the broker gets right.
    r.ok(
        "flow-attach",
        &["attach", "attach-second", "fan-out-1", "fan-out-2"],
    );
    r.ok("flow-web-client", &["reload-web-client"]);
    r.ok("flow-shelter", &["attached-on-register"]);
    r.ok(
        "flow-restart-reattach",
        &[
            "restart",
            "reattached-after-restart",
            "fan-out-after-restart",
        ],
    );
    r.ok("heartbeat", &["client-ping-answered"]);
    r.ok("exit-subscriber", &["broker-alive"]);
    // "exit-0" needs only the SIGTERM step, so it runs after "close-1001" failed.
    r.ok("shutdown-close", &["sigterm", "exit-0"]);
    // One check per weakness of the protocol note's table (section 8), with the evidence
    // the report must give.
    const NOTHING: &str = "no message arrived on this connection at all";
    r.failed_exactly(&[
        ("registration-ack", "publisher-acknowledged", NOTHING),
        // The web-client registration does not depend on the publisher's (needs).
        ("registration-ack", "web-client-acknowledged", NOTHING),
        ("identity-mismatch", "subscription-state-reported", NOTHING),
        (
            "stale-publisher",
            "fetch-types-reaches-new-socket",
            "nothing matching within 1s",
        ),
        // The attach check needs only B's registration: the broker answers the new
        // subscriber with a serialisation error and a close without a status code.
        (
            "stale-publisher",
            "attach-carries-new-tar",
            "TypeError: Converting circular structure to JSON",
        ),
        ("stale-publisher", "attach-carries-new-tar", "(1005)"),
        ("close-cleanup", "subscriber-told", "within 2s"),
        (
            "heartbeat",
            "dead-peer-dropped",
            "still open after 10s: the server sent 0 pings in 10s",
        ),
        (
            "shutdown-notice",
            "notice-is-json-object",
            "expected an object",
        ),
        ("shutdown-close", "close-1001", "1006"),
        ("survive-null", "server-survives", "exit code 1"),
        ("survive-schema", "server-survives", "exit code 1"),
        ("exit-subscriber", "publisher-kept", NOTHING),
        (
            "identity-ownership",
            "forged-update-not-forwarded",
            "spoofed.zip",
        ),
        // "forger-told" needs only the forged send.
        ("identity-ownership", "forger-told", NOTHING),
        ("identity-unknown", "unknown-identity-reported", NOTHING),
        ("http-answers", "plain-get-answered", "timed out"),
        ("http-answers", "wrong-path-answered", "timed out"),
    ]);
}

/// The generic checks every server gets; cswsh depends on the server's Origin policy.
fn generic_common(r: &Cases) {
    r.setup_and_cleanup_ok();
    r.ok(
        "restart",
        &[
            "works-before",
            "restart",
            "old-connection-closed",
            "upgrade-after-restart",
            "works-after-restart",
            "stop",
            "start",
            "upgrade-after-stop-start",
            "works-after-stop-start",
        ],
    );
    r.ok(
        "malformed",
        &[
            "invalid-utf8-fails-connection",
            "server-survives",
            "bystander-unaffected",
            "new-upgrade",
            "new-connection-works",
        ],
    );
    r.ok(
        "oversized",
        &[
            "send-2mib",
            "server-survives",
            "bystander-unaffected",
            "new-upgrade",
        ],
    );
    r.ok("cswsh", &["control-upgrade"]);
    r.ok("restart-in-process", &["upgrade-before", "works-before"]);
}

/// The steps of generic/restart-in-process after the trigger.
const IN_PROCESS_AFTER: [&str; 3] = [
    "settle-after-restart",
    "upgrade-after-in-process-restart",
    "works-after-in-process-restart",
];

/// Without a trigger the in-process restart and what needs it are NOT RUN (never OK).
fn no_in_process_trigger(r: &Cases) {
    r.not_run("restart-in-process", "restart-in-process");
    for id in IN_PROCESS_AFTER {
        r.not_run("restart-in-process", id);
    }
}

/// Every foreign Origin of generic/cswsh gets its own verdict (each needs only the
/// control upgrade).
const FOREIGN_ORIGINS: [&str; 4] = [
    "foreign-origin",
    "null-origin",
    "look-alike-origin",
    "ip-literal-origin",
];

#[test]
fn generic_profile_on_vite() {
    let Some(servers) = servers() else { return };
    let app = AppCopy::new("vite-app");
    let r = run_profile(
        "conformance/profiles/generic",
        EngineOptions {
            project_dir: Some(app.dir.clone()),
            vars: vars(&[
                ("protocol", "vite-hmr".into()),
                ("server_cmd", vite_cmd(&servers)),
                // Vite restarts its server in process when its config file changes.
                ("restart_trigger", "command:touch vite.config.mjs".into()),
            ]),
            ..Default::default()
        },
    );
    generic_common(&r);
    r.ok("cswsh", &FOREIGN_ORIGINS);
    r.ok("restart-in-process", &["restart-in-process"]);
    r.ok("restart-in-process", &IN_PROCESS_AFTER);
    r.logged(
        "restart-in-process",
        "restart-in-process",
        "server restarted.",
    );
    r.exactly_failed(&[]);
}

#[test]
fn generic_profile_on_wds() {
    let Some(servers) = servers() else { return };
    let app = AppCopy::new("wds-app");
    let port = free_port();
    let r = run_profile(
        "conformance/profiles/generic",
        EngineOptions {
            project_dir: Some(app.dir.clone()),
            vars: vars(&[
                ("port", port.to_string()),
                ("path", "/ws".into()),
                ("server_cmd", wds_cmd(&servers)),
            ]),
            connect: ConnectDefaults {
                origin: Some(format!("http://127.0.0.1:{port}")),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    generic_common(&r);
    no_in_process_trigger(&r);
    // WDS refuses foreign Origins only after the 101 (its own profile checks that);
    // the generic check wants the refusal before the upgrade.
    r.failed_exactly(&FOREIGN_ORIGINS.map(|id| ("cswsh", id, "sec-websocket-accept")));
}

#[test]
fn generic_profile_on_mf_broker() {
    let Some(servers) = servers() else { return };
    let _lock = broker_lock();
    let r = run_profile(
        "conformance/profiles/generic",
        EngineOptions {
            vars: vars(&[
                ("port", BROKER_PORT.to_string()),
                ("path", format!("/?WEB_SOCKET_CONNECT_MAGIC_ID={MAGIC}")),
                (
                    "server_cmd",
                    format!("node {}/mf-broker.js", servers.display()),
                ),
            ]),
            ..Default::default()
        },
    );
    generic_common(&r);
    no_in_process_trigger(&r);
    // The broker has no Origin check at all.
    r.failed_exactly(&FOREIGN_ORIGINS.map(|id| ("cswsh", id, "sec-websocket-accept")));
}

/// A `ws` server of conformance/servers that restarts in process: `bug` keeps the
/// WebSocketServer it closed in stop(), `fixed` makes a new one on every start().
fn ws_restart_cmd(servers: &Path, variant: &str) -> String {
    format!("node {}/ws-restart-{variant}.js", servers.display())
}

/// The whole generic profile against one of the ws restart servers, restarted in
/// process by SIGUSR2; a process restart (generic/restart) passes either way.
fn generic_on_ws_restart(variant: &str) -> Cases {
    let servers = servers_dir();
    let r = run_profile(
        "conformance/profiles/generic",
        EngineOptions {
            vars: vars(&[
                ("server_cmd", ws_restart_cmd(&servers, variant)),
                ("restart_trigger", "signal:USR2".into()),
            ]),
            ..Default::default()
        },
    );
    generic_common(&r);
    r.ok("cswsh", &FOREIGN_ORIGINS);
    r.ok("restart-in-process", &["restart-in-process"]);
    r.logged(
        "restart-in-process",
        "restart-in-process",
        "restarting in process (SIGUSR2)",
    );
    r
}

/// The in-process stop/start bug: after the restart every upgrade gets the plain HTTP
/// handler's 200, and the generic profile says exactly that.
#[test]
fn generic_profile_fails_the_in_process_restart_bug() {
    let Some(_) = servers() else { return };
    let r = generic_on_ws_restart("bug");
    r.failed(
        "restart-in-process",
        "upgrade-after-in-process-restart",
        "HTTP 200 OK instead of 101",
    );
    r.not_run("restart-in-process", "works-after-in-process-restart");
    r.exactly_failed(&[("restart-in-process", "upgrade-after-in-process-restart")]);
}

/// Its fix passes the whole generic profile: every case OK.
#[test]
fn generic_profile_passes_the_in_process_restart_fix() {
    let Some(_) = servers() else { return };
    let r = generic_on_ws_restart("fixed");
    r.ok("restart-in-process", &IN_PROCESS_AFTER);
    r.exactly_failed(&[]);
    for c in &r.report.cases {
        assert_eq!(c.verdict, Verdict::Ok, "{}: {}", c.id, c.observed);
    }
}

/// Every other trigger form reaches the servers (their output names the trigger), and
/// the bug fails and the fix passes whichever asked for the restart.
#[test]
fn every_trigger_form_restarts_the_ws_servers_in_process() {
    let Some(servers) = servers() else { return };
    for (trigger, logged) in [
        (
            "http:POST /__restart",
            "restarting in process (POST /__restart)",
        ),
        ("stdin:rs", "restarting in process (stdin \"rs\")"),
        (
            "command:kill -USR2 $SERVER_PID",
            "restarting in process (SIGUSR2)",
        ),
    ] {
        for variant in ["bug", "fixed"] {
            let r = run_profile(
                "conformance/profiles/generic/restart-in-process.toml",
                EngineOptions {
                    vars: vars(&[
                        ("server_cmd", ws_restart_cmd(&servers, variant)),
                        ("restart_trigger", trigger.into()),
                    ]),
                    ..Default::default()
                },
            );
            r.setup_and_cleanup_ok();
            r.ok(
                "restart-in-process",
                &["works-before", "restart-in-process"],
            );
            r.logged("restart-in-process", "restart-in-process", logged);
            if variant == "bug" {
                r.failed(
                    "restart-in-process",
                    "upgrade-after-in-process-restart",
                    "HTTP 200 OK",
                );
                r.exactly_failed(&[("restart-in-process", "upgrade-after-in-process-restart")]);
            } else {
                r.ok("restart-in-process", &IN_PROCESS_AFTER);
                r.exactly_failed(&[]);
            }
        }
    }
}

/// The binary: a profile file by path, reports on disk, exit code by verdict.
#[test]
fn cli_runs_profile_files_and_exits_by_verdict() {
    let Some(_) = servers() else { return };
    let app = AppCopy::new("vite-app");
    let out = app.dir.join("wsspec-report.json");
    let run = |file: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsspec"))
            .current_dir(repo())
            .args(["scenario", file, "--project-dir"])
            .arg(&app.dir)
            .arg("--json")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let status = wait_bounded(&mut child, Duration::from_secs(120)).unwrap();
        let report = wsspec::report::read_json(&out).unwrap_or_else(|e| panic!("{e}"));
        (status.code(), report)
    };
    let (code, report) = run("conformance/profiles/vite/ping.toml");
    assert_eq!(code, Some(0), "all steps OK -> exit 0");
    assert!(report.cases.iter().all(|c| c.verdict == Verdict::Ok));
    let (code, report) = run("conformance/profiles/vite/survive-invoke-null.toml");
    assert_eq!(code, Some(1), "a FAILED step -> exit 1");
    let c = Cases::new(report);
    c.failed("survive-invoke-null", "server-survives", "exit code 1");
}
