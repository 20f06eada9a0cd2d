//! The client differential: the real Autobahn|Testsuite fuzzingserver (`wstest -m
//! fuzzingserver`, wstest 0.8.2) and `wsspec clients` test the same clients on the same
//! case ids; `behavior` and `behaviorClose` must be identical per case, except the entries
//! of conformance/autobahn/allow-list.toml.
//!
//! Clients: the reference client (no fault, and each fault switch on the categories where
//! its bug shows), tungstenite (in-process, shaped as its autobahn-client example), Node `ws`
//! (conformance/clients/ws-echo-client.js) and Python `websockets`
//! (conformance/clients/websockets-client.py), the last two also with their
//! permessage-deflate offers on a subset of 12.x/13.x. Every case is opened by `casetuple=ID`, so the
//! two tools' case numbering cannot differ. Comparisons run in parallel
//! (`WSSPEC_DIFF_JOBS`), each client against its own wstest process; `WSSPEC_DIFF_ONLY`
//! (names containing one of these words) and `WSSPEC_DIFF_CASES` (ids) narrow the run.
//!
//! wstest's fuzzingserver binds every interface and has no option for it; the test starts it
//! through a small wrapper (written next to its spec) that makes Twisted listen on 127.0.0.1
//! only, and turns its web UI off (`-u 0`).

mod differential;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential::{
    compare, loud, repo, run_installer, unavailable, wait_bounded, wstest, AbCase, AbIndex,
    AllowList, Mode,
};
use wsspec::clients::reference::{self, ClientFaults};
use wsspec::clients::{self, ServeConfig};
use wsspec::report::RunReport;

/// Makes Twisted listen on loopback only, then runs wstest as its own script does.
const LOOPBACK_WRAPPER: &str = include_str!("../conformance/clients/loopback_wstest.py");

/// How a client plays one case URL.
#[derive(Clone)]
enum Client {
    Reference(ClientFaults),
    Tungstenite,
    /// Node `ws`; `true`: with its permessage-deflate offer (`--deflate`).
    Node(bool),
    /// Python `websockets` (the venv's python); `true`: with its permessage-deflate offer.
    Python(String, bool),
}

impl Client {
    async fn play(&self, url: String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        match self {
            Client::Reference(f) => {
                let _ = reference::run(&url, *f, deadline).await;
            }
            Client::Tungstenite => {
                let _ = tokio::task::spawn_blocking(move || tungstenite_case(&url)).await;
            }
            Client::Node(deflate) | Client::Python(_, deflate) => {
                let mut cmd = match self {
                    Client::Python(py, _) => {
                        let mut c = Command::new(py);
                        c.arg(repo().join("conformance/clients/websockets-client.py"));
                        c
                    }
                    _ => {
                        let mut c = Command::new("node");
                        c.arg(repo().join("conformance/clients/ws-echo-client.js"));
                        c
                    }
                };
                if *deflate {
                    cmd.arg("--deflate");
                }
                cmd.arg(&url)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                let _ = tokio::task::spawn_blocking(move || {
                    if let Ok(mut c) = cmd.spawn() {
                        wait_bounded(&mut c, Duration::from_secs(30));
                    }
                })
                .await;
            }
        }
    }
}

fn tungstenite_case(url: &str) {
    use tungstenite::{connect, Message};
    let Ok((mut socket, _)) = connect(url) else {
        return;
    };
    while let Ok(msg) = socket.read() {
        if matches!(msg, Message::Text(_) | Message::Binary(_)) && socket.send(msg).is_err() {
            break;
        }
    }
}

/// A wstest fuzzingserver process; killed by pid on drop.
struct Fuzzingserver {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Fuzzingserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_fuzzingserver(wstest: &Path, dir: &Path, ids: &[String]) -> Fuzzingserver {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let port = free_port();
    let spec = serde_json::json!({
        "url": format!("ws://127.0.0.1:{port}"),
        "outdir": dir.join("report"),
        "cases": ids,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    });
    std::fs::write(dir.join("spec.json"), spec.to_string()).unwrap();
    std::fs::write(dir.join("loopback_wstest.py"), LOOPBACK_WRAPPER).unwrap();
    let python = wstest.parent().unwrap().join("python");
    let log = std::fs::File::create(dir.join("wstest.log")).unwrap();
    let child = Command::new(python)
        .args([
            "-u",
            "loopback_wstest.py",
            "-m",
            "fuzzingserver",
            "-s",
            "spec.json",
            "-u",
            "0",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut fs = Fuzzingserver {
        child,
        port,
        dir: dir.to_path_buf(),
    };
    let end = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < end && fs.child.try_wait().unwrap().is_none(),
            "wstest fuzzingserver did not listen on {port}; see {}",
            dir.join("wstest.log").display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    fs
}

/// Plays every id against wstest, one case after the other as Autobahn drivers do, then
/// asks for the reports and reads `index.json`.
async fn run_autobahn(
    wstest: &Path,
    client: &Client,
    agent: &str,
    ids: &[String],
    dir: &Path,
) -> AbIndex {
    let fs = start_fuzzingserver(wstest, dir, ids);
    let base = format!("ws://127.0.0.1:{}", fs.port);
    for id in ids {
        client
            .play(format!("{base}/runCase?casetuple={id}&agent={agent}"))
            .await;
    }
    let url = format!("{base}/updateReports?agent={agent}");
    tokio::task::spawn_blocking(move || {
        if let Ok((mut s, _)) = tungstenite::connect(url) {
            while s.read().is_ok() {}
        }
    })
    .await
    .unwrap();
    let report = fs.dir.join("report");
    let text = std::fs::read_to_string(report.join("index.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    let mut all: std::collections::BTreeMap<String, std::collections::BTreeMap<String, AbCase>> =
        serde_json::from_str(&text).unwrap();
    all.remove(agent)
        .unwrap_or_default()
        .into_iter()
        .map(|(id, c)| (id, (c, report.clone())))
        .collect()
}

/// The same with `wsspec clients` (the library): sequential too, for timing parity.
async fn run_wsspec(client: &Client, agent: &str, ids: &[String]) -> RunReport {
    let selection = wsspec::suite::select(&clients::catalog(), ids, &[], false).unwrap();
    let cfg = ServeConfig {
        selection,
        deadline: Some(Duration::from_secs(600)),
        ..Default::default()
    };
    let server = clients::listen("127.0.0.1:0".parse().unwrap(), cfg)
        .await
        .unwrap();
    for (i, id) in ids.iter().enumerate() {
        client
            .play(format!(
                "{}/runCase?casetuple={id}&agent={agent}",
                server.base_url()
            ))
            .await;
        server
            .wait_result(agent, i, Instant::now() + Duration::from_secs(30))
            .await;
    }
    server.report(agent)
}

fn expand(patterns: &[&str]) -> Vec<String> {
    let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
    wsspec::suite::select(&clients::catalog(), &p, &["c.*".into()], false)
        .unwrap()
        .iter()
        .map(|c| c.id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wsspec_clients_agrees_with_autobahns_fuzzingserver() {
    let Some(wstest) = wstest() else { return };
    let allow = AllowList::load(&repo().join("conformance/autobahn/allow-list.toml")).unwrap();
    let default_ids = expand(&["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"]);
    let mut runs: Vec<(String, Client, Vec<String>)> = vec![
        (
            "client-reference".into(),
            Client::Reference(ClientFaults::default()),
            default_ids.clone(),
        ),
        (
            "client-tungstenite".into(),
            Client::Tungstenite,
            default_ids.clone(),
        ),
    ];
    for (fault, cats) in [
        (
            "unmasked_frames",
            &["1.1.*", "2.1", "5.1", "7.1.*", "7.3.*"][..],
        ),
        ("no_close_reply", &["1.1.*", "7.1.*", "7.7.1"]),
        ("accept_invalid_utf8", &["6.3.*", "6.4.*", "6.6.*", "7.5.1"]),
        ("wrong_close_code", &["1.1.1", "7.1.*", "7.7.*"]),
        ("no_pong", &["2.*", "5.6", "5.7", "5.8"]),
        (
            "unsolicited_pong",
            &["1.1.1", "1.1.2", "2.1", "5.1", "7.1.1"],
        ),
    ] {
        runs.push((
            format!("client-reference+{fault}"),
            Client::Reference(ClientFaults::parse(fault).unwrap()),
            expand(cats),
        ));
    }
    // The process-per-case clients on a sample of every category (a process start per case
    // costs more than most cases).
    let sample = expand(&[
        "1.1.*", "2.*", "3.*", "4.1.*", "5.1*", "6.2.*", "6.3.*", "6.4.*", "6.6.*", "7.1.*",
        "7.5.1", "7.7.1", "7.9.1", "10.*",
    ]);
    let node_ok = Command::new("bash")
        .arg(repo().join("conformance/servers/ensure-installed.sh"))
        .stdin(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    // permessage-deflate (12.x, 13.x): the 16-byte row of every data set and of every
    // answer variant (1000 round trips each, slow in Autobahn's Python 2 server).
    let deflate = expand(&[
        "12.1.1", "12.2.1", "12.3.1", "12.4.1", "12.5.1", "13.1.1", "13.2.1", "13.3.1", "13.4.1",
        "13.5.1", "13.6.1", "13.7.1",
    ]);
    if node_ok {
        runs.push(("client-node-ws".into(), Client::Node(false), sample.clone()));
        runs.push((
            "client-node-ws+deflate".into(),
            Client::Node(true),
            deflate.clone(),
        ));
    } else {
        unavailable(
            "Node ws (conformance/servers)",
            "ensure-installed.sh failed",
        );
    }
    match run_installer(
        &repo().join("scripts/autobahn/install.sh"),
        Some("websockets"),
    ) {
        Ok(py) => {
            runs.push((
                "client-python-websockets".into(),
                Client::Python(py.clone(), false),
                sample.clone(),
            ));
            runs.push((
                "client-python-websockets+deflate".into(),
                Client::Python(py, true),
                deflate.clone(),
            ));
        }
        Err(why) => unavailable("Python websockets", &why),
    }
    if let Ok(cases) = std::env::var("WSSPEC_DIFF_CASES") {
        // Re-run chosen ids only (e.g. to measure a case whose verdict varies).
        let want: Vec<&str> = cases.split(',').map(str::trim).collect();
        for (_, _, ids) in &mut runs {
            ids.retain(|id| want.contains(&id.as_str()));
        }
        runs.retain(|(_, _, ids)| !ids.is_empty());
    }
    if let Ok(only) = std::env::var("WSSPEC_DIFF_ONLY") {
        runs.retain(|(n, _, _)| only.split(',').any(|o| n.contains(o.trim())));
    }
    let jobs: usize = std::env::var("WSSPEC_DIFF_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(4);
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs));
    let wstest = Arc::new(wstest);
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (name, client, ids) in runs {
        let (sem, wstest) = (sem.clone(), wstest.clone());
        set.spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let dir = repo().join("target/autobahn/client-runs").join(&name);
            let agent = "client";
            let t = Instant::now();
            let ab = run_autobahn(&wstest, &client, agent, &ids, &dir).await;
            let ab_time = t.elapsed();
            let t = Instant::now();
            let mut ws = run_wsspec(&client, agent, &ids).await;
            let ws_time = t.elapsed();
            ws.cases.retain(|c| !c.id.starts_with("c."));
            (name, ab, ws, ab_time, ws_time)
        });
    }
    let mut table = Vec::new();
    let mut failures = Vec::new();
    while let Some(r) = set.join_next().await {
        let (name, ab, ws, ab_time, ws_time) = r.unwrap();
        let c = compare(&name, &ab, &ws, &allow, Mode::Identical);
        table.push(format!(
            "{name:<36} {:>4} cases, {:>4} identical, {:>2} allowed, {:>2} differ; Autobahn {:>6.1} s, wsspec {:>5.1} s ({:.1}x)",
            c.cases,
            c.identical,
            c.allowed.len(),
            c.disagreements.len(),
            ab_time.as_secs_f64(),
            ws_time.as_secs_f64(),
            ab_time.as_secs_f64() / ws_time.as_secs_f64().max(0.001)
        ));
        failures.extend(c.errors);
        failures.extend(c.disagreements.iter().map(|d| d.to_string()));
    }
    table.sort();
    loud(&format!(
        "client differential ({:.0} s):\n{}",
        t0.elapsed().as_secs_f64(),
        table.join("\n")
    ));
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
