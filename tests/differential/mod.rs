//! Support for `tests/autobahn_differential.rs`: installing the real Autobahn|Testsuite,
//! starting the servers under test, running `wstest` and `wsspec run` against the same server
//! process, and comparing their verdicts case by case under the allow-list.
//!
//! Everything here is bounded: servers are started on 127.0.0.1 and stopped by pid, every
//! child process has a deadline, and every wait polls with a limit.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use wsspec::report::RunReport;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the Python environments and every run's raw output live.
pub fn work_dir() -> PathBuf {
    std::env::var_os("WSSPEC_AUTOBAHN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/autobahn"))
}

/// True under CI (`CI=true`), where a missing reference or server is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A prerequisite this machine lacks: a loud skip outside CI, a failure with `CI=true`.
pub fn unavailable(what: &str, why: &str) {
    let msg = format!("{what} is not available on this machine: {why}");
    assert!(!in_ci(), "{msg} (CI=true: the differential test must run)");
    loud(&format!("\n==== SKIPPED (not run, NOT a pass): {msg}\n"));
}

/// Writes to the process's real stderr: libtest captures `eprintln!` of passing tests, and a
/// skip or the agreement table must show in a plain `cargo test` run.
pub fn loud(text: &str) {
    use std::io::Write;
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{text}");
}

// ---------------------------------------------------------------------------------------------
// Installing (scripts/autobahn/install.sh, conformance/servers/ensure-installed.sh)

/// Runs an installer script; `Ok(stdout)` on success, `Err(reason)` when it says this machine
/// cannot run it (exit 2); panics on any other failure (the script's stderr says why).
pub fn run_installer(script: &Path, arg: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new("bash");
    cmd.arg(script);
    if let Some(a) = arg {
        cmd.arg(a);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
        Some(2) => Err(stderr.trim().to_owned()),
        _ => panic!(
            "{} {} failed ({}):\n{stderr}",
            script.display(),
            arg.unwrap_or(""),
            out.status
        ),
    }
}

/// The real `wstest`, installed on first use; `None` (after a loud skip) when this machine
/// cannot run it.
pub fn wstest() -> Option<PathBuf> {
    static WSTEST: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut g = WSTEST.lock().unwrap_or_else(|p| p.into_inner());
    let r = g.get_or_insert_with(|| {
        run_installer(&repo().join("scripts/autobahn/install.sh"), Some("wstest"))
            .map(PathBuf::from)
    });
    match r {
        Ok(p) => Some(p.clone()),
        Err(why) => {
            unavailable("the real Autobahn|Testsuite (wstest)", why);
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Servers under test

/// Sends `sig` to `pid` (a process this test started).
fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid we own; no memory is shared.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Waits for `child` to exit within `limit`; kills it (by pid) if it does not.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// A server process that printed `LISTENING <port>`; SIGTERM (then SIGKILL) by pid on drop.
pub struct ServerProcess {
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl ServerProcess {
    /// Starts `cmd` (stdout piped for the ready line, stderr to `log`) and waits up to 30 s
    /// for `LISTENING <port>`.
    pub fn start(mut cmd: Command, log: &Path) -> Result<ServerProcess, String> {
        let err = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout after the ready line, so the server never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(p) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send(p.trim().parse::<u16>().ok());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(port)) => Ok(ServerProcess { child, port }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "{cmd:?} printed no `LISTENING <port>` within 30 s (stderr: {})",
                    log.display()
                ))
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        signal(self.child.id(), libc::SIGTERM);
        if wait_bounded(&mut self.child, Duration::from_secs(5)).is_none() {
            eprintln!("server pid {} ignored SIGTERM; killed", self.child.id());
        }
    }
}

/// A running server under test: its URL and whatever keeps it alive (dropping it stops it).
pub struct Running {
    /// `ws://127.0.0.1:PORT` (no path: Autobahn appends none).
    pub url: String,
    _guard: Box<dyn Send>,
}

impl Running {
    /// Wraps a server that lives as long as `guard`.
    pub fn new(port: u16, guard: impl Send + 'static) -> Running {
        Running {
            url: format!("ws://127.0.0.1:{port}"),
            _guard: Box::new(guard),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running the two tools

/// One case of Autobahn's `index.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct AbCase {
    /// Autobahn's `behavior`.
    pub behavior: String,
    /// Autobahn's `behaviorClose`.
    #[serde(rename = "behaviorClose")]
    pub behavior_close: String,
    /// Close code the server sent.
    #[serde(rename = "remoteCloseCode")]
    pub remote_close_code: Option<u16>,
    /// Case wall time in ms (from the opening handshake).
    pub duration: u64,
    /// The per-case report (HTML name; the JSON sits beside it).
    pub reportfile: String,
}

/// What Autobahn's per-case JSON says about a case, in one line (for failure output).
pub fn ab_detail(outdir: &Path, c: &AbCase) -> String {
    let json = outdir.join(c.reportfile.replace(".html", ".json"));
    let Ok(text) = std::fs::read_to_string(&json) else {
        return format!("(no {})", json.display());
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return format!("(unreadable {})", json.display());
    };
    let mut received = v["received"].to_string();
    if received.len() > 160 {
        let cut = (0..=160).rev().find(|&i| received.is_char_boundary(i));
        received.truncate(cut.unwrap_or(0));
        received.push('…');
    }
    format!(
        "received={received} closedByMe={} wasClean={} droppedByMe={} remoteCloseCode={} localCloseCode={} ({})",
        v["closedByMe"],
        v["wasClean"],
        v["droppedByMe"],
        v["remoteCloseCode"],
        v["localCloseCode"],
        json.display()
    )
}

/// Autobahn's verdicts by case id, each with the directory holding its per-case report.
pub type AbIndex = BTreeMap<String, (AbCase, PathBuf)>;

/// Runs `wstest -m fuzzingclient` against `url` for `cases`, in `shards` processes at once
/// (each on a share of `cases`, all against the same server), each bounded by `limit`.
/// Returns the merged `index.json` entries and the directories holding the per-case files.
pub fn run_wstest(
    wstest: &Path,
    agent: &str,
    url: &str,
    cases: &[String],
    shards: usize,
    dir: &Path,
    limit: Duration,
) -> Result<(AbIndex, Duration), String> {
    let t = Instant::now();
    // Shards get single ids round robin, so slow neighbours (6.4.x, 7.x) spread out. The
    // patterns are expanded with wsspec's own selection; the unsharded runs of all of 1-10
    // (reference server, real servers) check that it selects exactly Autobahn's ids.
    let ids: Vec<String> = if shards > 1 {
        let catalog = wsspec::suite::catalog();
        wsspec::suite::select(&catalog, cases, &[], false)
            .map_err(|e| format!("case selection {cases:?}: {e}"))?
            .iter()
            .map(|c| c.id.clone())
            .collect()
    } else {
        cases.to_vec()
    };
    let shards = shards.clamp(1, ids.len().max(1));
    let mut children = Vec::new();
    for s in 0..shards {
        let part: Vec<&String> = ids.iter().skip(s).step_by(shards).collect();
        let sdir = dir.join(format!("wstest-{s}"));
        let _ = std::fs::remove_dir_all(&sdir);
        std::fs::create_dir_all(&sdir).map_err(|e| format!("{}: {e}", sdir.display()))?;
        let spec = serde_json::json!({
            "outdir": sdir.join("report"),
            "servers": [{"agent": agent, "url": url}],
            "cases": part,
            "exclude-cases": ["12.*", "13.*"],
            "exclude-agent-cases": {},
        });
        std::fs::write(sdir.join("spec.json"), spec.to_string()).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(sdir.join("wstest.log")).map_err(|e| e.to_string())?;
        let child = Command::new(wstest)
            .args(["-m", "fuzzingclient", "-s", "spec.json"])
            .current_dir(&sdir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", wstest.display()))?;
        children.push((child, sdir));
    }
    let mut merged = BTreeMap::new();
    let end = t + limit;
    for (mut child, sdir) in children {
        let left = end.saturating_duration_since(Instant::now());
        match wait_bounded(&mut child, left) {
            Some(s) if s.success() => {}
            Some(s) => return Err(format!("wstest exited with {s}; see {}", sdir.display())),
            None => {
                return Err(format!(
                    "wstest did not finish within {limit:?}; killed (see {})",
                    sdir.display()
                ))
            }
        }
        let report = sdir.join("report");
        let index = report.join("index.json");
        let text =
            std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
        let mut all: BTreeMap<String, BTreeMap<String, AbCase>> =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", index.display()))?;
        // Autobahn writes an agent only once one of its connections got through the opening
        // handshake; no agent means it could not run a single case (a server that resets every
        // connection first), which `compare` checks as such.
        let cases = all.remove(agent).unwrap_or_default();
        for (id, c) in cases {
            merged.insert(id, (c, report.clone()));
        }
    }
    Ok((merged, t.elapsed()))
}

/// The wsspec binary under test (`WSSPEC_DIFF_BIN` overrides the one cargo built).
pub fn wsspec_bin() -> PathBuf {
    std::env::var_os("WSSPEC_DIFF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wsspec")))
}

/// Runs `wsspec run URL --cases ... --json` (the CLI, as a user would) with `extra` arguments.
pub fn run_wsspec(
    agent: &str,
    url: &str,
    cases: &[String],
    extra: &[&str],
    dir: &Path,
    limit: Duration,
) -> Result<(RunReport, Duration), String> {
    let json = dir.join("wsspec.json");
    let _ = std::fs::remove_file(&json);
    let log = std::fs::File::create(dir.join("wsspec.log")).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(wsspec_bin());
    cmd.arg("run").arg(format!("{url}/"));
    if !cases.is_empty() {
        cmd.arg("--cases").arg(cases.join(","));
    }
    cmd.args(extra)
        .args(["--no-progress", "--agent", agent, "--json"])
        .arg(&json)
        .arg("--deadline")
        .arg(format!("{}s", limit.as_secs().saturating_sub(5).max(1)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    let t = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start wsspec: {e}"))?;
    let status = wait_bounded(&mut child, limit)
        .ok_or_else(|| format!("wsspec run did not end within {limit:?}; killed"))?;
    let took = t.elapsed();
    let report = wsspec::report::read_json(&json).map_err(|e| {
        format!(
            "wsspec run exited with {status} and wrote no readable report ({e}); see {}",
            dir.join("wsspec.log").display()
        )
    })?;
    Ok((report, took))
}

// ---------------------------------------------------------------------------------------------
// The allow-list (conformance/autobahn/allow-list.toml)

/// Which of the two verdicts an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Field {
    /// Autobahn's `behavior`.
    #[serde(rename = "behavior")]
    Behavior,
    /// Autobahn's `behaviorClose`.
    #[serde(rename = "behaviorClose")]
    BehaviorClose,
}

impl Field {
    /// The name as Autobahn's report spells it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Behavior => "behavior",
            Field::BehaviorClose => "behaviorClose",
        }
    }
}

/// A deliberate difference: wsspec gives `wsspec` where Autobahn gives `autobahn`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    /// Case id, or a pattern with `*` (Autobahn's semantics: anchored at the start).
    pub cases: String,
    /// Server name, or `*`.
    pub server: String,
    /// The verdict concerned.
    pub verdict: Field,
    /// wsspec's value.
    pub wsspec: String,
    /// Autobahn's value.
    pub autobahn: String,
    /// Why wsspec differs.
    pub reason: String,
    /// The RFC text that makes wsspec's verdict the right one.
    pub rfc: String,
}

/// A case where Autobahn's own verdict varies between runs against a server: any value
/// Autobahn was seen to give is accepted from wsspec (when Autobahn gave one of them too).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Varies {
    /// Case id or pattern.
    pub cases: String,
    /// Server name (no `*`: the variation is a property of one server's timing).
    pub server: String,
    /// The verdict concerned.
    pub verdict: Field,
    /// Every value Autobahn gave over the measured runs.
    pub autobahn: Vec<String>,
    /// What was measured: runs and counts per value.
    pub measured: String,
    /// Why the verdict varies.
    pub reason: String,
}

/// The whole allow-list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowList {
    /// Deliberate differences.
    #[serde(default)]
    pub difference: Vec<Difference>,
    /// Verdicts Autobahn itself does not repeat.
    #[serde(default)]
    pub varies: Vec<Varies>,
}

/// Autobahn's case-pattern semantics: with `*`, a regex anchored at the start (`.` literal).
pub fn case_matches(pattern: &str, id: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == id;
    }
    let re = format!("^{}", pattern.replace('.', "\\.").replace('*', ".*"));
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(id))
}

const VERDICTS: &[&str] = &[
    "OK",
    "NON-STRICT",
    "INFORMATIONAL",
    "UNIMPLEMENTED",
    "FAILED",
    "WRONG CODE",
    "UNCLEAN",
    "FAILED BY CLIENT",
];

impl AllowList {
    /// Reads and checks the file; errors name the file and the entry.
    pub fn load(path: &Path) -> Result<AllowList, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let list: AllowList =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for (i, d) in list.difference.iter().enumerate() {
            let at = format!(
                "{}: [[difference]] #{} ({})",
                path.display(),
                i + 1,
                d.cases
            );
            for v in [&d.wsspec, &d.autobahn] {
                if !VERDICTS.contains(&v.as_str()) {
                    return Err(format!("{at}: unknown verdict {v:?}"));
                }
            }
            if d.wsspec == d.autobahn {
                return Err(format!("{at}: wsspec and autobahn are the same value"));
            }
            if d.reason.trim().is_empty() || d.rfc.trim().is_empty() {
                return Err(format!("{at}: reason and rfc must say why"));
            }
        }
        for (i, v) in list.varies.iter().enumerate() {
            let at = format!("{}: [[varies]] #{} ({})", path.display(), i + 1, v.cases);
            if v.server == "*" {
                return Err(format!("{at}: name one server, not `*`"));
            }
            if v.autobahn.len() < 2 || v.autobahn.iter().any(|x| !VERDICTS.contains(&x.as_str())) {
                return Err(format!(
                    "{at}: autobahn must list at least two known verdicts"
                ));
            }
            if v.measured.trim().is_empty() || v.reason.trim().is_empty() {
                return Err(format!("{at}: measured and reason must be filled in"));
            }
        }
        Ok(list)
    }

    /// Whether one verdict's disagreement is covered; the label names the entry used.
    fn covers(&self, server: &str, id: &str, field: Field, ab: &str, ws: &str) -> Option<String> {
        for (i, d) in self.difference.iter().enumerate() {
            if d.verdict == field
                && (d.server == "*" || d.server == server)
                && case_matches(&d.cases, id)
                && d.autobahn == ab
                && d.wsspec == ws
            {
                return Some(format!("difference #{}", i + 1));
            }
        }
        for (i, v) in self.varies.iter().enumerate() {
            if v.verdict == field
                && v.server == server
                && case_matches(&v.cases, id)
                && v.autobahn.iter().any(|x| x == ab)
                && v.autobahn.iter().any(|x| x == ws)
            {
                return Some(format!("varies #{}", i + 1));
            }
        }
        None
    }
}

/// Allow-list entries that no disagreement needed in this group of comparisons although
/// their server was compared on their cases: stale, so the list stays short and true.
///
/// A `[[difference]]` is stale when a server it names (or any, for `*`) was compared in
/// `Identical` mode on at least one id it covers, and no disagreement of the group used it.
/// A `[[varies]]` entry cannot be judged by one run (Autobahn agreeing with wsspec in this
/// run is exactly what varies), so it is stale only when its server was compared and none
/// of the compared ids matches its cases (it names a case that no longer exists).
pub fn stale_entries(allow: &AllowList, results: &[&Comparison]) -> Vec<String> {
    let compared = |server: &str, cases: &str| {
        results.iter().any(|c| {
            c.mode == Some(Mode::Identical)
                && (server == "*" || c.server == server)
                && c.ids.iter().any(|id| case_matches(cases, id))
        })
    };
    let server_compared = |server: &str| {
        results
            .iter()
            .any(|c| c.mode == Some(Mode::Identical) && c.server == server)
    };
    let used = |label: &str| results.iter().any(|c| c.used.contains(label));
    let mut out = Vec::new();
    for (i, d) in allow.difference.iter().enumerate() {
        let label = format!("difference #{}", i + 1);
        if compared(&d.server, &d.cases) && !used(&label) {
            out.push(format!(
                "{label} (cases {}, server {}, {} {:?} where Autobahn gives {:?}) matched no \
                 disagreement although its server was compared on its cases: remove it or narrow it",
                d.cases,
                d.server,
                d.verdict.name(),
                d.wsspec,
                d.autobahn
            ));
        }
    }
    for (i, v) in allow.varies.iter().enumerate() {
        let label = format!("varies #{}", i + 1);
        if server_compared(&v.server) && !compared(&v.server, &v.cases) {
            out.push(format!(
                "{label} (cases {}, server {}) names no case compared on that server: remove it",
                v.cases, v.server
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The comparison

/// How strictly a server's verdicts are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Both verdicts identical for every Autobahn id (allow-list aside).
    Identical,
    /// Behaviour only, one way: wsspec never passes a case Autobahn fails (hostile servers).
    NeverPassesAFailure,
}

/// One case on which the tools disagree.
#[derive(Debug, Clone)]
pub struct Disagreement {
    /// Server name.
    pub server: String,
    /// Case id.
    pub id: String,
    /// Autobahn's (behavior, behaviorClose).
    pub autobahn: (String, String),
    /// wsspec's (verdict, close verdict).
    pub wsspec: (String, String),
    /// wsspec's observed text.
    pub observed: String,
    /// Autobahn's per-case facts.
    pub autobahn_detail: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} [{}]: Autobahn {} / {}, wsspec {} / {}\n    wsspec observed: {}\n    Autobahn: {}",
            self.id,
            self.server,
            self.autobahn.0,
            self.autobahn.1,
            self.wsspec.0,
            self.wsspec.1,
            self.observed,
            self.autobahn_detail
        )
    }
}

/// The comparison of one server's two runs.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Server name.
    pub server: String,
    /// Autobahn ids compared.
    pub cases: usize,
    /// Cases with identical behavior and close verdicts.
    pub identical: usize,
    /// Disagreements covered by the allow-list or, for hostile servers, by the behaviour-only
    /// rule: (id, why).
    pub allowed: Vec<(String, String)>,
    /// Disagreements not covered.
    pub disagreements: Vec<Disagreement>,
    /// Problems with the runs themselves (a case one tool did not run, ...).
    pub errors: Vec<String>,
    /// The mode the server was compared in (the allow-list applies to `Identical` only).
    pub mode: Option<Mode>,
    /// Every Autobahn id compared.
    pub ids: Vec<String>,
    /// Allow-list entries that covered at least one disagreement (`difference #N`,
    /// `varies #N`).
    pub used: BTreeSet<String>,
}

/// Compares Autobahn's verdicts (`ab`, with the directory holding each case's report) with
/// wsspec's report for `server`.
pub fn compare(
    server: &str,
    ab: &AbIndex,
    ws: &RunReport,
    allow: &AllowList,
    mode: Mode,
) -> Comparison {
    let mut out = Comparison {
        server: server.to_owned(),
        mode: Some(mode),
        ids: ab.keys().cloned().collect(),
        ..Default::default()
    };
    let ws_cases: BTreeMap<&str, &wsspec::report::CaseReport> =
        ws.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let ab_ids: BTreeSet<&str> = ab.keys().map(String::as_str).collect();
    if ws_cases.is_empty() {
        out.errors.push(format!(
            "{server}: wsspec's report lists no case (not even NOT RUN with its reason)"
        ));
    }
    for (id, w) in ws_cases.iter().filter(|(id, _)| !ab_ids.contains(*id)) {
        // Autobahn records a case only once its connection got through the opening handshake
        // (against a server that resets every connection first it records none). For hostile
        // servers that is compared as "no result": wsspec must not pass such a case either.
        let wv = w.verdict.label();
        let passes = matches!(wv, "OK" | "NON-STRICT" | "INFORMATIONAL");
        if mode == Mode::NeverPassesAFailure && !passes {
            out.cases += 1;
            out.allowed.push((
                (*id).to_owned(),
                format!("Autobahn recorded no result; wsspec {wv}"),
            ));
        } else {
            out.errors.push(format!(
                "{server}: wsspec ran {id} ({wv}), which Autobahn did not run"
            ));
        }
    }
    for (id, (a, dir)) in ab {
        out.cases += 1;
        let Some(w) = ws_cases.get(id.as_str()) else {
            out.errors
                .push(format!("{server}: Autobahn ran {id}, which wsspec did not"));
            continue;
        };
        let wv = w.verdict.label().to_owned();
        let wc = w
            .close_verdict
            .map(|c| c.label().to_owned())
            .unwrap_or_else(|| "-".into());
        if wv == a.behavior && wc == a.behavior_close {
            out.identical += 1;
            continue;
        }
        let covered = match mode {
            Mode::Identical => {
                let b = (wv == a.behavior)
                    .then(String::new)
                    .or_else(|| allow.covers(server, id, Field::Behavior, &a.behavior, &wv));
                let c = (wc == a.behavior_close).then(String::new).or_else(|| {
                    allow.covers(server, id, Field::BehaviorClose, &a.behavior_close, &wc)
                });
                match (b, c) {
                    (Some(b), Some(c)) => {
                        out.used
                            .extend([&b, &c].into_iter().filter(|l| !l.is_empty()).cloned());
                        Some(
                            [b, c]
                                .into_iter()
                                .filter(|l| !l.is_empty())
                                .collect::<Vec<_>>()
                                .join(", "),
                        )
                    }
                    _ => None,
                }
            }
            Mode::NeverPassesAFailure => {
                let passes = matches!(wv.as_str(), "OK" | "NON-STRICT" | "INFORMATIONAL");
                (a.behavior != "FAILED" || !passes).then(|| {
                    format!(
                        "behaviour-only comparison (Autobahn {} / {}, wsspec {wv} / {wc})",
                        a.behavior, a.behavior_close
                    )
                })
            }
        };
        match covered {
            Some(entry) => out.allowed.push((id.clone(), entry)),
            None => out.disagreements.push(Disagreement {
                server: server.to_owned(),
                id: id.clone(),
                autobahn: (a.behavior.clone(), a.behavior_close.clone()),
                wsspec: (wv, wc),
                observed: w.observed.clone(),
                autobahn_detail: ab_detail(dir, a),
            }),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Running many servers

/// Caps how many server comparisons run at the same moment across every test of the binary
/// (`WSSPEC_DIFF_JOBS`, default 4). Autobahn mostly waits on its timers (a whole run used
/// about half of one core); measured: Autobahn's verdicts against `ws`, `websockets` and the
/// reference server varied on the same three `websockets` cases whether 1, 3 or 6 servers
/// were compared at once, and on no other case.
pub struct Slots {
    free: Mutex<Option<usize>>,
    cv: Condvar,
}

impl Slots {
    /// The binary-wide pool.
    pub fn global() -> &'static Slots {
        static SLOTS: Slots = Slots {
            free: Mutex::new(None),
            cv: Condvar::new(),
        };
        &SLOTS
    }

    /// Runs `f` holding one slot.
    pub fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut g = self.free.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let free = g.get_or_insert_with(|| {
                    std::env::var("WSSPEC_DIFF_JOBS")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(4usize)
                        .max(1)
                });
                if *free > 0 {
                    *free -= 1;
                    break;
                }
                g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
            }
        }
        struct Release<'a>(&'a Slots);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                let mut g = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
                *g.get_or_insert(0) += 1;
                self.0.cv.notify_one();
            }
        }
        let _r = Release(self);
        f()
    }
}

/// Runs every job on worker threads, each job holding a [`Slots::global`] slot, and returns
/// the results in the jobs' order.
pub fn run_all<J: Send, R: Send>(jobs: Vec<J>, f: impl Fn(J) -> R + Sync) -> Vec<R> {
    let n = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<VecDeque<_>>());
    let results = Mutex::new((0..n).map(|_| None).collect::<Vec<Option<R>>>());
    std::thread::scope(|s| {
        for _ in 0..n.min(16) {
            s.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some((i, job)) = next else { return };
                let r = Slots::global().with(|| f(job));
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// The per-server summary table and, when anything disagrees, the full list.
pub fn render(results: &[(Comparison, Duration, Duration)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<46} {:>6} {:>10} {:>9} {:>9} {:>9}",
        "server", "cases", "identical", "accepted", "Autobahn", "wsspec"
    );
    for (c, ab, ws) in results {
        let _ = writeln!(
            s,
            "{:<46} {:>6} {:>10} {:>9} {:>8.1}s {:>8.1}s",
            c.server,
            c.cases,
            c.identical,
            c.allowed.len(),
            ab.as_secs_f64(),
            ws.as_secs_f64()
        );
    }
    for (c, _, _) in results {
        for (id, entry) in &c.allowed {
            let _ = writeln!(s, "accepted: {id} [{}] by {entry}", c.server);
        }
    }
    let bad: Vec<&Disagreement> = results
        .iter()
        .flat_map(|(c, _, _)| &c.disagreements)
        .collect();
    let errors: Vec<&String> = results.iter().flat_map(|(c, _, _)| &c.errors).collect();
    if !bad.is_empty() || !errors.is_empty() {
        let _ = writeln!(
            s,
            "\n{} disagreement(s) with the real Autobahn|Testsuite:",
            bad.len()
        );
        for d in bad {
            let _ = writeln!(s, "  {d}");
        }
        for e in errors {
            let _ = writeln!(s, "  run problem: {e}");
        }
    }
    s
}
