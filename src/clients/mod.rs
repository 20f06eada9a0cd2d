//! Testing WebSocket clients: the kit as Autobahn's fuzzingserver.
//!
//! The kit listens (on 127.0.0.1 unless told otherwise) and plays every Autobahn case from
//! the server side: the same case definitions as `wsspec run` ([`crate::suite`]'s
//! `CaseDef`s, one table for both roles), executed by the same fuzzer state machine over the
//! peer in its server role ([`crate::peer::Peer::accepted`]); where the flow differs (the
//! kit sends unmasked frames, expects masked ones, closes TCP itself after a closing
//! handshake, never grades "failed by client") the difference lives in the executor
//! ([`crate::suite::fuzzer::run_accepted`]).
//!
//! Two ways to drive a client, on the same port:
//!
//! * Autobahn's driver protocol ([`listen`]): `/getCaseCount`, `/runCase?case=N&agent=A`
//!   (or `casetuple=X.Y.Z`), `/updateReports?agent=A`, `/getCaseInfo?case=N`,
//!   `/stopServer`, so the drivers projects already have run unchanged;
//! * `--exec 'CMD {url}'` ([`exec`]): the kit starts the command once per case with the
//!   case's URL and stops it by its process id when the case ends.
//!
//! Robust where Autobahn is not: a `/runCase` without an agent, with an unknown or
//! out-of-range case, or with a malformed query is refused with HTTP 400 and a body that
//! says why, and records nothing (Autobahn records the case under agent `None` and then
//! breaks `/updateReports`); a driver that disconnects mid-case ends only that case (its
//! result is what the case saw); results are kept per (agent, case), a rerun replaces the
//! earlier result of that agent only; `/updateReports` writes what it has (every case
//! without a result is NOT RUN).

mod checks;
pub mod cli;
pub mod exec;
pub mod reference;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::codec::frame::OpCode;
use crate::codec::handshake::validate_request;
use crate::codec::http::{HeadLimits, Headers};
use crate::codec::message::Limits;
use crate::peer::{Pacing, Peer, PeerEvent, RequestOutcome};
use crate::report::{CaseReport, CloseVerdict, RunReport, Verdict};
use crate::suite::case::{CaseDef, CaseKind};
use crate::suite::spec::FrameSpec;
use crate::suite::{Catalog, Selection};

/// The report kind of a client run (a server run is `rfc6455`).
pub const REPORT_KIND: &str = "rfc6455-client";
/// The opening handshake limit from TCP accept (Autobahn's `openHandshakeTimeout`).
pub const OPEN_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 64;
/// How long the kit waits for the client's reply to a close on a control endpoint.
const CONTROL_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The cases a client can be tested with: Autobahn's categories (the same definitions as
/// the server suite), then the client checks Autobahn lacks (`c.*`, see [`checks`]); `h.*`
/// and `x.*` are server checks.
pub fn catalog() -> Catalog {
    let mut cases: Vec<CaseDef> = crate::suite::autobahn::defs()
        .into_iter()
        .map(|d| {
            if d.info.category == "12" || d.info.category == "13" {
                // The server side of permessage-deflate (accepting the client's offer as
                // 13.x prescribes) is not in the executor yet.
                CaseDef::not_run(d.info, DEFLATE_NOT_RUN)
            } else {
                d
            }
        })
        .collect();
    cases.extend(checks::defs());
    Catalog { cases }
}

const DEFLATE_NOT_RUN: &str =
    "permessage-deflate in the client role (the kit accepting the client's offer) is not implemented yet";

/// Called with each finished case (a progress bar, a live log).
pub type OnResult = Arc<dyn Fn(&str, &CaseReport) + Send + Sync>;
/// Called by `/updateReports` with the reports of every agent seen so far; returns an
/// error text when a report cannot be written.
pub type OnUpdateReports = Arc<dyn Fn(&[RunReport]) -> Result<(), String> + Send + Sync>;

/// How the listener runs.
#[derive(Clone)]
pub struct ServeConfig {
    /// The cases, numbered 1.. in this order for `/runCase?case=N`.
    pub selection: Selection,
    /// Global deadline: cases in flight when it passes are cut (NOT RUN).
    pub deadline: Option<Duration>,
    /// Recorded in the reports: NON-STRICT counts as a failure.
    pub strict: bool,
    /// Called with each finished case.
    pub on_result: Option<OnResult>,
    /// Writes the reports for `/updateReports`.
    pub on_update_reports: Option<OnUpdateReports>,
    /// Message limits for what clients send (9.x echoes up to 16 MiB).
    pub limits: Limits,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            selection: Selection { cases: Vec::new() },
            deadline: None,
            strict: false,
            on_result: None,
            on_update_reports: None,
            limits: Limits {
                max_message_size: 32 << 20,
                max_frame_size: 32 << 20,
            },
        }
    }
}

/// Where a case stands for one agent.
#[derive(Debug, Clone)]
enum Slot {
    /// A client connected for it; the case runs.
    Running,
    /// Finished.
    Done(CaseReport),
}

struct Hub {
    cfg: ServeConfig,
    started: SystemTime,
    start: Instant,
    hard: Instant,
    base_url: String,
    /// agent → case index → slot. BTreeMap: reports list agents in a stable order.
    results: Mutex<BTreeMap<String, BTreeMap<usize, Slot>>>,
    /// Bumped on every change of `results`.
    changed: watch::Sender<u64>,
    stop: watch::Sender<bool>,
    /// `/updateReports` calls completed.
    updates: watch::Sender<u64>,
    /// agent → every `Sec-WebSocket-Key` its case connections used (`c.1.2`).
    keys: Mutex<BTreeMap<String, std::collections::HashSet<String>>>,
}

/// A running client-test server.
pub struct ClientServer {
    /// The address it listens on.
    pub local_addr: SocketAddr,
    hub: Arc<Hub>,
    task: JoinHandle<()>,
}

impl Drop for ClientServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the client-test server on `addr` (use port 0 for any free port).
pub async fn listen(addr: SocketAddr, cfg: ServeConfig) -> std::io::Result<ClientServer> {
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let start = Instant::now();
    let hard = start + cfg.deadline.unwrap_or(Duration::from_secs(30 * 24 * 3600));
    let hub = Arc::new(Hub {
        cfg,
        started: SystemTime::now(),
        start,
        hard,
        base_url: format!("ws://{local_addr}"),
        results: Mutex::new(BTreeMap::new()),
        changed: watch::channel(0).0,
        stop: watch::channel(false).0,
        updates: watch::channel(0).0,
        keys: Mutex::new(BTreeMap::new()),
    });
    let h2 = hub.clone();
    let task = tokio::spawn(async move {
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let mut stop = h2.stop.subscribe();
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                r = listener.accept() => {
                    let Ok((tcp, _)) = r else { continue };
                    let Ok(permit) = slots.clone().acquire_owned().await else { break };
                    let h = h2.clone();
                    conns.spawn(async move {
                        serve_connection(h, tcp).await;
                        drop(permit);
                    });
                }
                _ = stop.changed() => break,
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Ok(ClientServer {
        local_addr,
        hub,
        task,
    })
}

impl ClientServer {
    /// `ws://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.hub.base_url
    }

    /// The URL a client opens for case number `n` (1-based) as `agent`.
    pub fn case_url(&self, n: usize, agent: &str) -> String {
        format!(
            "{}/runCase?case={n}&agent={}",
            self.hub.base_url,
            url::form_urlencoded::byte_serialize(agent.as_bytes()).collect::<String>()
        )
    }

    /// The selected cases.
    pub fn selection(&self) -> &Selection {
        &self.hub.cfg.selection
    }

    /// Agents that ran at least one case, in name order.
    pub fn agents(&self) -> Vec<String> {
        lock(&self.hub.results).keys().cloned().collect()
    }

    /// The report of one agent: every selected case, NOT RUN where it has no result.
    pub fn report(&self, agent: &str) -> RunReport {
        self.hub.report(agent)
    }

    /// The reports of every agent seen.
    pub fn reports(&self) -> Vec<RunReport> {
        self.hub.reports()
    }

    /// Waits until case `index` (0-based) of `agent` has started (a client connected for
    /// it) or `deadline` passes; true when it started.
    pub async fn wait_started(&self, agent: &str, index: usize, deadline: Instant) -> bool {
        self.wait_for(agent, index, deadline, |_| true)
            .await
            .is_some()
    }

    /// Waits until case `index` (0-based) of `agent` has a result, at most until `deadline`.
    pub async fn wait_result(
        &self,
        agent: &str,
        index: usize,
        deadline: Instant,
    ) -> Option<CaseReport> {
        match self
            .wait_for(agent, index, deadline, |s| matches!(s, Slot::Done(_)))
            .await
        {
            Some(Slot::Done(r)) => Some(r),
            _ => None,
        }
    }

    async fn wait_for(
        &self,
        agent: &str,
        index: usize,
        deadline: Instant,
        ok: impl Fn(&Slot) -> bool,
    ) -> Option<Slot> {
        let mut rx = self.hub.changed.subscribe();
        loop {
            if let Some(s) = lock(&self.hub.results)
                .get(agent)
                .and_then(|m| m.get(&index))
                .filter(|s| ok(s))
            {
                return Some(s.clone());
            }
            match tokio::time::timeout_at(deadline.into(), rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
    }

    /// Resolves when a client asked to stop the server (`/stopServer`, or `/updateReports`
    /// with `shutdownOnComplete=true`).
    pub async fn stopped(&self) {
        let mut rx = self.hub.stop.subscribe();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Resolves after the next completed `/updateReports`.
    pub async fn reports_updated(&self) {
        let mut rx = self.hub.updates.subscribe();
        rx.borrow_and_update();
        let _ = rx.changed().await;
    }

    /// Records a result obtained without a connection (the `--exec` driver's "the client
    /// never connected").
    pub fn record(&self, agent: &str, index: usize, report: CaseReport) {
        self.hub.record(agent, index, report);
    }

    /// Stops listening; connections in flight are dropped.
    pub async fn shutdown(self) {
        self.hub.stop.send_replace(true);
        self.task.abort();
    }
}

impl Hub {
    fn set(&self, agent: &str, index: usize, slot: Slot) {
        lock(&self.results)
            .entry(agent.to_owned())
            .or_default()
            .insert(index, slot);
        self.changed.send_modify(|n| *n += 1);
    }

    fn record(&self, agent: &str, index: usize, report: CaseReport) {
        if let Some(cb) = &self.cfg.on_result {
            cb(agent, &report);
        }
        self.set(agent, index, Slot::Done(report));
    }

    fn report(&self, agent: &str) -> RunReport {
        let slots = lock(&self.results).get(agent).cloned().unwrap_or_default();
        let cases = self
            .cfg
            .selection
            .cases
            .iter()
            .enumerate()
            .map(|(i, d)| match slots.get(&i) {
                Some(Slot::Done(r)) => r.clone(),
                Some(Slot::Running) => {
                    not_run(d, "the case was still running when the report was written")
                }
                None => not_run(d, "no client ran this case"),
            })
            .collect();
        let mut r = RunReport::new(
            REPORT_KIND,
            agent.to_owned(),
            self.base_url.clone(),
            self.started,
            self.start.elapsed(),
            cases,
        );
        r.strict = self.cfg.strict;
        r
    }

    fn reports(&self) -> Vec<RunReport> {
        let agents: Vec<String> = lock(&self.results).keys().cloned().collect();
        agents.iter().map(|a| self.report(a)).collect()
    }
}

fn not_run(d: &CaseDef, why: &str) -> CaseReport {
    CaseReport {
        close_verdict: Some(CloseVerdict::NotRun),
        ..CaseReport::not_run(&d.info.id, &d.info.title, &d.info.rfc, why)
    }
}

/// A driver request, from the path and query of the upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    CaseCount,
    RunCase { index: usize, agent: String },
    CaseInfo { index: usize },
    UpdateReports { shutdown: bool },
    Stop,
}

/// Parses a request target into the endpoint it names, or the reason it is refused.
fn parse_endpoint(target: &str, selection: &Selection) -> Result<Endpoint, String> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    let one = |name: &str| -> Result<Option<String>, String> {
        match params.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([v]) => Ok(Some(v.clone())),
            Some(_) => Err(format!("query parameter {name:?} given more than once")),
        }
    };
    let case = || -> Result<usize, String> {
        let n = selection.len();
        if let Some(c) = one("case")? {
            return match c.parse::<usize>() {
                Ok(k) if (1..=n).contains(&k) => Ok(k - 1),
                _ => Err(format!(
                    "case={c:?}: expected a case number from 1 to {n} (see /getCaseCount)"
                )),
            };
        }
        if let Some(t) = one("casetuple")? {
            return selection
                .iter()
                .position(|c| c.id == t)
                .ok_or_else(|| format!("casetuple={t:?}: no such case in this run"));
        }
        Err("missing query parameter: case=N (1-based) or casetuple=X.Y.Z".into())
    };
    match path {
        "/getCaseCount" => Ok(Endpoint::CaseCount),
        "/runCase" => {
            let index = case()?;
            let agent = one("agent")?
                .filter(|a| !a.trim().is_empty())
                .ok_or("missing query parameter: agent=NAME (the client's name in the reports)")?;
            Ok(Endpoint::RunCase { index, agent })
        }
        "/getCaseInfo" => Ok(Endpoint::CaseInfo { index: case()? }),
        "/updateReports" => Ok(Endpoint::UpdateReports {
            shutdown: matches!(
                one("shutdownOnComplete")?.as_deref(),
                Some("true" | "yes")
            ),
        }),
        "/stopServer" => Ok(Endpoint::Stop),
        other => Err(format!(
            "unknown path {other:?}; this server answers /getCaseCount, /runCase?case=N&agent=A, /getCaseInfo?case=N, /updateReports?agent=A, /stopServer"
        )),
    }
}

async fn serve_connection(hub: Arc<Hub>, tcp: tokio::net::TcpStream) {
    let started = Instant::now();
    let mut peer = Peer::accepted(tcp, hub.cfg.limits, "main", started);
    let head = peer
        .read_request_head(HeadLimits::default(), started + OPEN_HANDSHAKE_TIMEOUT)
        .await;
    let request = match head {
        RequestOutcome::Request(r) => r,
        RequestOutcome::Malformed(e) => {
            peer.send_refusal(400, "Bad Request", &format!("{e}\n"));
            linger(&mut peer).await;
            return;
        }
        _ => return,
    };
    let endpoint = match parse_endpoint(&request.target, &hub.cfg.selection) {
        Ok(e) => e,
        Err(why) => {
            eprintln!("wsspec clients: refused {}: {why}", request.target);
            peer.send_refusal(400, "Bad Request", &format!("{why}\n"));
            linger(&mut peer).await;
            return;
        }
    };
    if let Endpoint::RunCase { index, agent } = &endpoint {
        let key = request
            .headers
            .get_str("sec-websocket-key")
            .unwrap_or_default();
        let earlier = {
            let mut keys = lock(&hub.keys);
            let set = keys.entry(agent.clone()).or_default();
            let before = set.clone();
            set.insert(key);
            before
        };
        let def = hub.cfg.selection.cases[*index].clone();
        if let Some(check) = checks::by_id(&def.info.id) {
            hub.set(agent, *index, Slot::Running);
            let report = checks::run(check, &def.info, peer, &request, &earlier).await;
            hub.record(agent, *index, report);
            return;
        }
    }
    let valid = match validate_request(&request) {
        Ok(v) => v,
        Err(e) => {
            peer.send_http(crate::codec::handshake::reject_response(&e));
            peer.shutdown_write();
            linger(&mut peer).await;
            if let Endpoint::RunCase { index, agent } = &endpoint {
                let why = format!("invalid request (RFC 6455 §{}): {e}", e.rfc_section());
                hub.record(agent, *index, not_opened(*index, &hub.cfg.selection, &why));
            }
            return;
        }
    };
    let upgrade_headers = Headers(vec![(
        "Server".into(),
        format!("wsspec/{}", env!("CARGO_PKG_VERSION")).into_bytes(),
    )]);
    peer.send_upgrade(&valid, None, &upgrade_headers);
    match endpoint {
        Endpoint::CaseCount => {
            peer.send_text(hub.cfg.selection.len().to_string().as_bytes());
            control_close(&mut peer).await;
        }
        Endpoint::CaseInfo { index } => {
            let info = &hub.cfg.selection.cases[index].info;
            let body = serde_json::json!({ "id": info.id, "description": info.title });
            peer.send_text(body.to_string().as_bytes());
            control_close(&mut peer).await;
        }
        Endpoint::Stop => {
            hub.stop.send_replace(true);
            peer.drop_tcp();
        }
        Endpoint::UpdateReports { shutdown } => {
            if let Some(cb) = &hub.cfg.on_update_reports {
                if let Err(e) = cb(&hub.reports()) {
                    eprintln!("wsspec clients: {e}");
                }
            }
            hub.updates.send_modify(|n| *n += 1);
            control_close(&mut peer).await;
            if shutdown {
                hub.stop.send_replace(true);
            }
        }
        Endpoint::RunCase { index, agent } => {
            let def = hub.cfg.selection.cases[index].clone();
            hub.set(&agent, index, Slot::Running);
            let report = run_case(&hub, &def, peer, valid.target.clone()).await;
            hub.record(&agent, index, report);
        }
    }
}

/// Runs one case on an upgraded connection and grades it.
async fn run_case(hub: &Hub, def: &CaseDef, mut peer: Peer, target: String) -> CaseReport {
    let info = &def.info;
    match (def.make)() {
        CaseKind::Fuzz(spec) => {
            let handshake = format!("101 to GET {target}");
            let run = crate::suite::fuzzer::run_accepted(peer, &spec, hub.hard, handshake).await;
            crate::suite::runner::fuzz_report(info, &spec, run)
        }
        CaseKind::NotRun(reason) => {
            // As Autobahn does for an excluded case: open, close at once, record nothing.
            control_close(&mut peer).await;
            not_run(def, &reason)
        }
        CaseKind::Handshake(_) | CaseKind::Http2(_) => {
            control_close(&mut peer).await;
            not_run(
                def,
                "an opening-handshake check of servers; not a client case",
            )
        }
        CaseKind::Deflate(_) => {
            control_close(&mut peer).await;
            not_run(
                def,
                "a permessage-deflate check of servers; not a client case",
            )
        }
        CaseKind::RunLevel => {
            control_close(&mut peer).await;
            not_run(
                def,
                "a run-level check over a server's frames; not a client case",
            )
        }
    }
}

/// Closes a control connection (empty close payload, as Autobahn's server), waits a bounded
/// time for the client's reply, then closes TCP.
async fn control_close(peer: &mut Peer) {
    peer.send_frame(
        &FrameSpec::new(OpCode::Close, true, Vec::new()),
        Pacing::Plain,
    );
    let until = Instant::now() + CONTROL_CLOSE_WAIT;
    loop {
        match peer.recv(until).await {
            PeerEvent::Frame { frame, .. } if frame.header.opcode == OpCode::Close => break,
            PeerEvent::Frame { .. } | PeerEvent::Violation { .. } => {}
            PeerEvent::Eof { .. } | PeerEvent::Timeout => break,
        }
    }
    peer.shutdown_write();
    linger(peer).await;
}

/// Gives the client a moment to read what was queued and close TCP first.
async fn linger(peer: &mut Peer) {
    let until = Instant::now() + Duration::from_millis(500);
    loop {
        match peer.recv(until).await {
            PeerEvent::Eof { .. } | PeerEvent::Timeout => return,
            _ => {}
        }
    }
}

/// The verdict of a case whose client never opened it (never connected, or its process
/// ended first): the opening handshake did not complete, which Autobahn grades FAILED.
pub fn not_opened(def_index: usize, selection: &Selection, why: &str) -> CaseReport {
    let info = &selection.cases[def_index].info;
    CaseReport {
        verdict: Verdict::Failed,
        close_verdict: Some(CloseVerdict::Failed),
        observed: format!("the opening handshake never completed: {why}"),
        ..CaseReport::new(&info.id, &info.title, &info.rfc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let cat = catalog();
        let sel = crate::suite::select(&cat, &["1.1.*".into()], &[], false).unwrap();
        assert_eq!(
            parse_endpoint("/getCaseCount", &sel),
            Ok(Endpoint::CaseCount)
        );
        assert_eq!(
            parse_endpoint("/runCase?case=2&agent=ws%20client", &sel),
            Ok(Endpoint::RunCase {
                index: 1,
                agent: "ws client".into()
            })
        );
        assert_eq!(
            parse_endpoint("/runCase?casetuple=1.1.3&agent=a", &sel),
            Ok(Endpoint::RunCase {
                index: 2,
                agent: "a".into()
            })
        );
        for bad in [
            "/runCase?case=1",
            "/runCase?case=0&agent=a",
            "/runCase?case=9&agent=a",
            "/runCase?case=x&agent=a",
            "/runCase?agent=a",
            "/runCase?case=1&case=2&agent=a",
            "/runCase?casetuple=2.1&agent=a",
            "/nope",
        ] {
            assert!(parse_endpoint(bad, &sel).is_err(), "{bad}");
        }
        assert_eq!(
            parse_endpoint("/updateReports?agent=a&shutdownOnComplete=true", &sel),
            Ok(Endpoint::UpdateReports { shutdown: true })
        );
    }
}
