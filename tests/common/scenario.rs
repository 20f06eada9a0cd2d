//! Scenario runs for the `engine_*` tests: scenario files in a scratch directory, small
//! scripted WebSocket and HTTP servers on 127.0.0.1, report inspection, and the table
//! runner of `tests/scenarios/` ([`check_scenario`], [`scenario_tests!`]).
//!
//! # Table-driven scenarios
//!
//! A file `tests/scenarios/<area>/<name>.toml` is a scenario with its expectations at
//! the top, in `#>` comment lines (so the file stays a scenario `wsspec scenario` runs):
//!
//! ```toml
//! #> fixture = "echo"                        # what ${port} points at (see Fixture)
//! #> verdicts = ["OK", "FAILED", "NOT RUN"]   # every case of the report, in order
//! #> keep_going = true                        # EngineOptions; also deadline, agent, vars
//! #> [case.2]                                 # the case whose id ends in #2
//! #> observed = ['expected "a", got "b"']     # substrings of its observed line
//! ```
//!
//! [`check_scenario`] runs the file against its fixture and checks every expectation;
//! it returns the report and the scratch directory for the few checks a table cannot
//! say (files restored, processes gone). In an area's test file,
//! `scenario_tests!("messages": echo_round_trip, ...)` makes one test per file and a
//! test that every file of the area has one.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use serde::Deserialize;
use wsspec::report::{CaseReport, RunReport, Verdict};
use wsspec::scenario::{parse_duration, run_scenario, EngineOptions, Scenario};

pub type Ws = WebSocketStream<TcpStream>;

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Asserts that every case of `r` is OK but `failed` (FAILED) and `skipped` (NOT RUN: the
/// step that needs it), and returns the failed case: how a profile run pins the one known
/// defect of a real program. `dump` (the run, one case a line) goes into every message.
pub fn only_failure<'a>(
    r: &'a RunReport,
    failed: &str,
    skipped: &str,
    dump: &str,
) -> &'a CaseReport {
    for c in &r.cases {
        let want = if c.id == failed {
            Verdict::Failed
        } else if c.id == skipped {
            Verdict::NotRun
        } else {
            Verdict::Ok
        };
        assert_eq!(c.verdict, want, "{}\n{dump}", c.id);
    }
    r.cases
        .iter()
        .find(|c| c.id == failed)
        .unwrap_or_else(|| panic!("no case {failed}\n{dump}"))
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch(tag: &str) -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("wsspec-engine-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A scenario file whose server is `program serve --port ${port}` (this build's binary,
/// or a `${var}` naming it), ready when it prints its port, followed by `steps` (TOML):
/// what the tests of the command line and of the reports run end to end.
pub fn serve_scenario(name: &str, deadline: &str, program: &str, steps: &str) -> String {
    format!(
        r#"[scenario]
name = "{name}"
deadline = "{deadline}"

[server]
command = ["{program}", "serve", "--port", "${{port}}"]
ready = {{ stdout_line = '^LISTENING (?P<port>\d+)$' }}
ready_timeout = "10s"

[[step]]
action = "connect"
conn = "a"
path = "/"
{steps}"#
    )
}

/// Steps on connection `a`: send `text`, expect `echo` back within `within`.
pub fn echo_steps(text: &str, echo: &str, within: &str) -> String {
    format!(
        r#"
[[step]]
action = "send"
conn = "a"
text = "{text}"

[[step]]
action = "expect"
conn = "a"
within = "{within}"
match = {{ text = "{echo}" }}
"#
    )
}

/// Writes `src` as `name` into `dir` and loads it (panics with the diagnostics if it
/// does not load: the tests' scenarios must be valid).
pub fn load_in(dir: &Path, name: &str, src: &str) -> Scenario {
    let p = dir.join(name);
    std::fs::write(&p, src).unwrap();
    match Scenario::from_file(&p) {
        Ok(s) => s,
        Err(e) => panic!("scenario does not load:\n{e}"),
    }
}

/// Loads `src` from a scratch directory.
pub fn load(src: &str) -> Scenario {
    load_in(&scratch("scn"), "t.toml", src)
}

/// Options pointing `${port}`/`${host}` at `addr`.
pub fn opts_for(addr: SocketAddr) -> EngineOptions {
    EngineOptions {
        base_url: Some(format!("ws://{addr}/")),
        ..Default::default()
    }
}

/// Runs with a hard outer bound, so a hanging engine fails the test instead of
/// hanging it.
pub async fn run(s: &Scenario, opts: &EngineOptions) -> RunReport {
    tokio::time::timeout(Duration::from_secs(60), run_scenario(s, opts))
        .await
        .expect("the engine must end on its own")
}

/// `(id, verdict)` of every case.
pub fn verdicts(r: &RunReport) -> Vec<(String, Verdict)> {
    r.cases.iter().map(|c| (c.id.clone(), c.verdict)).collect()
}

/// Verdicts only, in order.
pub fn vs(r: &RunReport) -> Vec<Verdict> {
    r.cases.iter().map(|c| c.verdict).collect()
}

/// The case with this id suffix (`#3`, `#cleanup`).
pub fn case<'a>(r: &'a RunReport, suffix: &str) -> &'a CaseReport {
    r.cases
        .iter()
        .find(|c| c.id.ends_with(suffix))
        .unwrap_or_else(|| panic!("no case ending in {suffix:?}: {:#?}", verdicts(r)))
}

/// Prints the report (for failing assertions).
pub fn dump(r: &RunReport) -> String {
    let mut s = String::new();
    for c in &r.cases {
        s += &format!(
            "{} [{}] {}\n   sent: {}\n   expected: {}\n   observed: {}\n",
            c.id,
            c.verdict.label(),
            c.title,
            c.sent,
            c.expected,
            c.observed
        );
    }
    s
}

/// A WebSocket server on 127.0.0.1 that runs `handler` for every connection
/// (tungstenite, an implementation independent of wsspec's codec).
pub async fn ws_server<F, Fut>(handler: F) -> (SocketAddr, JoinHandle<()>)
where
    F: Fn(Ws) -> Fut + Send + Sync + 'static + Clone,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                return;
            };
            let h = handler.clone();
            tokio::spawn(async move {
                if let Ok(Ok(ws)) = tokio::time::timeout(
                    Duration::from_secs(5),
                    tokio_tungstenite::accept_async(tcp),
                )
                .await
                {
                    let _ = tokio::time::timeout(Duration::from_secs(30), h(ws)).await;
                }
            });
        }
    });
    (addr, task)
}

/// Sends text messages.
pub async fn send_texts(ws: &mut Ws, texts: &[&str]) {
    for t in texts {
        ws.send(Message::text(t.to_string())).await.unwrap();
    }
}

/// A JSON RPC echo: every `{id, method}` text gets `{id, result: method}`; also
/// answers `{"type":"Action", "kind": K}` with an ack `{"type":"API","kind":K,"code":0}`.
pub async fn rpc_echo(mut ws: Ws) {
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(t.as_str()) else {
            continue;
        };
        let reply = if let Some(k) = v.get("kind") {
            serde_json::json!({"type": "API", "kind": k, "code": 0})
        } else {
            serde_json::json!({"id": v.get("id").cloned().unwrap_or_default(), "result": v.get("method").cloned().unwrap_or_default()})
        };
        // Noise first, so correlation has to skip a message.
        let _ = ws
            .send(Message::text(r#"{"type":"noise"}"#.to_string()))
            .await;
        if ws.send(Message::text(reply.to_string())).await.is_err() {
            return;
        }
    }
}

/// A plain HTTP server answering every request with `response` (raw bytes), then
/// closing.
pub async fn http_server(response: Vec<u8>) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = l.accept().await else {
                return;
            };
            let resp = response.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                // Write in small pieces so the client has to reassemble.
                for piece in resp.chunks(7) {
                    if tcp.write_all(piece).await.is_err() {
                        return;
                    }
                }
                let _ = tcp.shutdown().await;
            });
        }
    });
    (addr, task)
}

/// Pids the engine reported starting (from `started … (pid N)` transcript entries).
pub fn started_pids(r: &RunReport) -> Vec<i32> {
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

fn pid_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// True once none of `pids` runs any more (waits up to a second).
pub async fn all_gone(pids: &[i32]) -> bool {
    for _ in 0..50 {
        if pids.iter().all(|p| !pid_alive(*p)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// The expectations of a table-driven scenario (the `#>` lines).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// The server `${port}` points at; none for a scenario with `[server]`.
    fixture: Option<Fixture>,
    /// The verdict of every case, in report order.
    verdicts: Vec<Verdict>,
    #[serde(default)]
    keep_going: bool,
    /// Replaces the scenario's deadline.
    deadline: Option<String>,
    agent: Option<String>,
    /// `--var`s; `{wsspec}` (the binary), `{closed_port}` (a port nothing listens on),
    /// `{echo_url}` (a second reference echo server) and `{scenarios_dir}`
    /// (`tests/scenarios`) are filled in.
    #[serde(default)]
    vars: BTreeMap<String, String>,
    /// Files written next to the scenario (the project directory) before the run.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// The whole run ends within this.
    max_run: Option<String>,
    /// The report's `kind` and `agent`.
    kind: Option<String>,
    report_agent: Option<String>,
    /// Checks of single cases, by the part of the case id after `#`.
    #[serde(default)]
    case: BTreeMap<String, CaseCheck>,
}

/// A fixture: a named server, or a scripted one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Fixture {
    /// `echo` (wsspec's reference server), `rpc-echo`, `never-acks`, `closer`,
    /// `silent`, `pinger`, `later`, `http-ok`.
    Named(String),
    /// A WebSocket server that waits `after`, sends the `send` texts and a `ping`, then
    /// stays open and quiet.
    Script {
        after: Option<String>,
        #[serde(default)]
        send: Vec<String>,
        ping: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseCheck {
    id: Option<String>,
    title: Option<String>,
    sent: Option<String>,
    /// Substrings of `observed`, all present.
    #[serde(default)]
    observed: Vec<String>,
    observed_starts: Option<String>,
    remote_close_code: Option<u16>,
    /// The case took less than this many milliseconds.
    max_ms: Option<f64>,
    /// Entries the case's transcript must hold.
    #[serde(default)]
    transcript: Vec<EntryCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryCheck {
    kind: Option<String>,
    conn: Option<String>,
    /// A substring of the entry's summary.
    has: String,
}

fn duration(s: &str) -> Duration {
    parse_duration(s).unwrap_or_else(|e| panic!("bad duration {s:?} in an expectation: {e}"))
}

/// The directory of the table-driven scenarios.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

/// Keeps a fixture server alive for the run.
enum Running {
    Reference(wsspec::server::RunningServer),
    Task(JoinHandle<()>),
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::Task(t) = self {
            t.abort();
        }
    }
}

async fn reference_server() -> wsspec::server::RunningServer {
    wsspec::server::bind(
        "127.0.0.1:0".parse().unwrap(),
        wsspec::server::ServerConfig::default(),
    )
    .await
    .unwrap()
}

/// Starts a fixture; the base URL for `${host}`/`${port}` and what keeps it alive.
async fn start_fixture(f: &Fixture) -> (String, Running) {
    let ws = |(addr, t): (SocketAddr, JoinHandle<()>)| (format!("ws://{addr}/"), Running::Task(t));
    match f {
        Fixture::Named(n) => match n.as_str() {
            "echo" => {
                let s = reference_server().await;
                (format!("ws://{}/", s.local_addr), Running::Reference(s))
            }
            "deflate-echo" => {
                let s = wsspec::server::bind(
                    "127.0.0.1:0".parse().unwrap(),
                    wsspec::server::ServerConfig {
                        deflate: Some(Default::default()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                (format!("ws://{}/", s.local_addr), Running::Reference(s))
            }
            "rpc-echo" => ws(ws_server(rpc_echo).await),
            "never-acks" => ws(ws_server(never_acks).await),
            "closer" => ws(ws_server(closer).await),
            "silent" => ws(ws_server(silent).await),
            "pinger" => ws(ws_server(pinger).await),
            "later" => ws(ws_server(later).await),
            "http-ok" => {
                let (addr, t) =
                    http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()).await;
                (format!("http://{addr}/"), Running::Task(t))
            }
            other => panic!("unknown fixture {other:?}"),
        },
        Fixture::Script { after, send, ping } => {
            let after = after.as_deref().map(duration).unwrap_or_default();
            let (send, ping) = (send.clone(), ping.clone());
            ws(ws_server(move |mut ws| {
                let (send, ping) = (send.clone(), ping.clone());
                async move {
                    tokio::time::sleep(after).await;
                    for t in &send {
                        ws.send(Message::text(t.clone())).await.unwrap();
                    }
                    if let Some(p) = ping {
                        let _ = ws.send(Message::Ping(p.into_bytes().into())).await;
                    }
                    // Keep reading (pongs, closes) and stay open.
                    let _ = tokio::time::timeout(Duration::from_secs(10), async {
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                }
            })
            .await)
        }
    }
}

/// Answers every message with `{"type":"unrelated"}`, never with what was asked for.
async fn never_acks(mut ws: Ws) {
    while let Some(Ok(_)) = ws.next().await {
        let _ = ws
            .send(Message::text(r#"{"type":"unrelated"}"#.to_string()))
            .await;
    }
}

/// Pings at once, then says in a text message whether a pong came back within 400 ms
/// (`pong:yes` / `pong:no`).
async fn pinger(mut ws: Ws) {
    let _ = ws.send(Message::Ping(b"p1".to_vec().into())).await;
    let got = tokio::time::timeout(Duration::from_millis(400), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Pong(p) = m {
                return p.as_ref() == b"p1";
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let answer = if got { "pong:yes" } else { "pong:no" };
    let _ = ws.send(Message::text(answer.to_string())).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
}

/// Answers every text message with "late", 200 ms later.
async fn later(mut ws: Ws) {
    while let Some(Ok(m)) = ws.next().await {
        if m.is_text() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = ws.send(Message::text("late".to_string())).await;
        }
    }
}

/// Keeps the connection open and sends nothing.
async fn silent(ws: Ws) {
    let _keep_open = ws;
    tokio::time::sleep(Duration::from_secs(20)).await;
}

/// Closes as the first message asks: `nocode` (a close frame without a code), `drop`
/// (TCP, no close frame), `going` (1001 "bye now").
async fn closer(mut ws: Ws) {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        return;
    };
    match t.as_str() {
        "nocode" => {
            let _ = ws.send(Message::Close(None)).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
        }
        "drop" => drop(ws),
        "going" => {
            let _ = ws
                .send(Message::Close(Some(CloseFrame {
                    code: CloseCode::Away,
                    reason: "bye now".into(),
                })))
                .await;
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
        }
        _ => {}
    }
}

/// The `#>` lines of a scenario file, as TOML.
fn expectations(text: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix("#>"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `tests/scenarios/<name>.toml` against its fixture and checks every expectation
/// of its `#>` lines. Returns the report and the directory it ran in (the scenario's
/// directory, and its project directory when it has `[server]`).
pub async fn check_scenario(name: &str) -> (RunReport, PathBuf) {
    let path = scenarios_dir().join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let expect: Expect = toml::from_str(&expectations(&text))
        .unwrap_or_else(|e| panic!("{name}: the #> expectations do not parse: {e}"));
    let dir = scratch(&name.replace('/', "-"));
    for (f, content) in &expect.files {
        std::fs::write(dir.join(f), content).unwrap();
    }
    let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
    let s = load_in(&dir, &file_name, &text);
    let mut keep = Vec::new();
    let mut opts = EngineOptions {
        keep_going: expect.keep_going,
        deadline: expect.deadline.as_deref().map(duration),
        agent: expect.agent.clone(),
        ..Default::default()
    };
    if let Some(f) = &expect.fixture {
        let (url, running) = start_fixture(f).await;
        opts.base_url = Some(url);
        keep.push(running);
    }
    for (k, v) in &expect.vars {
        let mut v = v
            .replace("{wsspec}", env!("CARGO_BIN_EXE_wsspec"))
            .replace("{scenarios_dir}", &scenarios_dir().display().to_string());
        if v.contains("{closed_port}") {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            v = v.replace("{closed_port}", &port.to_string());
        }
        if v.contains("{echo_url}") {
            let srv = reference_server().await;
            v = v.replace("{echo_url}", &srv.url());
            keep.push(Running::Reference(srv));
        }
        opts.vars.push((k.clone(), v));
    }
    let t = Instant::now();
    let r = run(&s, &opts).await;
    let took = t.elapsed();
    drop(keep);
    let report = dump(&r);
    if let Some(max) = &expect.max_run {
        assert!(took < duration(max), "{name}: took {took:?}\n{report}");
    }
    assert_eq!(vs(&r), expect.verdicts, "{name}: verdicts\n{report}");
    if let Some(k) = &expect.kind {
        assert_eq!(&r.kind, k, "{name}: kind");
    }
    if let Some(a) = &expect.report_agent {
        assert_eq!(&r.agent, a, "{name}: agent");
    }
    for (key, want) in &expect.case {
        let c = r
            .cases
            .iter()
            .find(|c| c.id.rsplit_once('#').is_some_and(|(_, k)| k == key))
            .unwrap_or_else(|| panic!("{name}: no case #{key}\n{report}"));
        check_case(name, c, want, &report);
    }
    (r, dir)
}

fn check_case(name: &str, c: &CaseReport, want: &CaseCheck, report: &str) {
    let at = format!("{name}: case {}", c.id);
    if let Some(id) = &want.id {
        assert_eq!(&c.id, id, "{at}: id");
    }
    if let Some(t) = &want.title {
        assert_eq!(&c.title, t, "{at}: title");
    }
    if let Some(sent) = &want.sent {
        assert_eq!(&c.sent, sent, "{at}: sent\n{report}");
    }
    for o in &want.observed {
        assert!(
            c.observed.contains(o.as_str()),
            "{at}: observed lacks {o:?}\n{report}"
        );
    }
    if let Some(p) = &want.observed_starts {
        assert!(
            c.observed.starts_with(p.as_str()),
            "{at}: observed does not start with {p:?}\n{report}"
        );
    }
    if let Some(code) = want.remote_close_code {
        assert_eq!(c.remote_close_code, Some(code), "{at}: remote close code");
    }
    if let Some(max) = want.max_ms {
        assert!(c.duration_ms < max, "{at}: took {} ms", c.duration_ms);
    }
    for e in &want.transcript {
        assert!(
            c.transcript.iter().any(|t| {
                e.kind.as_ref().is_none_or(|k| &t.kind == k)
                    && e.conn.as_ref().is_none_or(|n| &t.conn == n)
                    && t.summary.contains(e.has.as_str())
            }),
            "{at}: no transcript entry {e:?} in {:#?}",
            c.transcript
        );
    }
}

/// Asserts that every `*.toml` of `tests/scenarios/<area>` is one of `names`, and the
/// other way round.
pub fn assert_area_is_covered(area: &str, names: &[&str]) {
    let mut files: Vec<String> = std::fs::read_dir(scenarios_dir().join(area))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "toml" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "tests/scenarios/{area}: files and tests differ"
    );
}

/// One test per scenario file of an area that needs no checks beyond its table, and a
/// test that every file of the area is covered (those with extra checks have their own
/// test functions, named after the file, listed after `;`).
#[allow(unused_macros)] // only the test files of an area use it
macro_rules! scenario_tests {
    ($area:literal: $($name:ident),* $(,)? $(; $($own:ident),* $(,)?)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::common::scenario::check_scenario(concat!($area, "/", stringify!($name))).await;
            }
        )*

        #[test]
        fn every_scenario_file_has_a_test() {
            $crate::common::scenario::assert_area_is_covered(
                $area,
                &[$(stringify!($name),)* $($(stringify!($own),)*)?],
            );
        }
    };
}
#[allow(unused_imports)]
pub(crate) use scenario_tests;
