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
//!   case's URL and stops it by its process id when the case ends;
//! * `--exec-driver 'CMD {url}'` ([`exec::run_drivers`]): the kit starts `jobs` copies of
//!   an unchanged Autobahn driver, each with the base URL of a shard (`/shard/K`), and the
//!   shards share the cases: a driver's `/shard/K/runCase?case=n` gets the next case not
//!   yet given out (the timed ones first), and once none is left an empty close.
//!   One process start per driver instead of one per case, and the cases run in parallel.
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
mod deflate;
mod endpoint;
use endpoint::{parse_endpoint, Endpoint};
pub mod exec;
pub mod reference;
mod wording;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
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
use crate::suite::case::{CaseDef, CaseKind, Lane};
use crate::suite::spec::{FrameSpec, Handler};
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
/// the server suite; 12.x/13.x answer the client's permessage-deflate offer as
/// [`deflate`] describes), then the client checks Autobahn lacks (`c.*`, see [`checks`]);
/// `h.*` and `x.*` are server checks.
pub fn catalog() -> Catalog {
    let mut cases: Vec<CaseDef> = crate::suite::autobahn::defs();
    for d in &mut cases {
        d.info.title = wording::for_client(&d.info.title);
        // A client under test is started once per case (`--exec`) or paced by its driver,
        // and most clients offer permessage-deflate: the 216 deflate cases would turn a
        // run of seconds into many minutes, so in this role they join with `--all` or by id.
        if d.info.category == "12" || d.info.category == "13" {
            d.info.slow = true;
        }
    }
    cases.extend(checks::defs());
    Catalog { cases }
}

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
    /// Shards for parallel drivers (`/shard/K/...`, K < `shards`); 0: none.
    pub shards: usize,
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
            shards: 0,
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
    /// The cases not yet given to a shard, and what each shard got.
    shards: Mutex<Shards>,
}

/// Whether the limits cases (9.x, up to 16 MiB echoed) may run while the timed cases
/// (6.4.x, 5.19, 5.20) sleep on their one-second pauses. Those verdicts depend on the
/// client answering within a pause, and a slow client (an interpreter) busy with a big
/// echo can miss it when both share the only CPU; from two CPUs on, the one big case in
/// flight (its lane allows one) leaves a CPU to the timed cases' clients, and starting
/// the 9.x cases only after the timed ones put their whole time after the timed cases' 2 s
/// (about 40% of a run of categories 1-10 against the Node `ws` client).
pub(crate) fn limits_beside_timed() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}

/// How parallel drivers share the cases ([`ServeConfig::shards`]).
#[derive(Debug, Default)]
struct Shards {
    /// Case numbers per shard (what its `/getCaseCount` answers): half as many again as
    /// its fair share, so that the shards that drew the long cases leave their share to
    /// the others; numbers past the end of the queue get an empty close ([`Shards::assign`]).
    counts: Vec<usize>,
    /// Case indices not given out yet: the timed cases first, the 9.x cases next on two
    /// CPUs or more and last on one, else in selection order.
    queue: VecDeque<usize>,
    /// (shard, its case number n) → case index.
    given: HashMap<(usize, usize), usize>,
    /// Cases given out and not finished yet.
    running: HashSet<usize>,
    /// [`limits_beside_timed`], asked once (it reads the CPU set from the OS).
    beside_timed: bool,
}

impl Shards {
    fn new(selection: &Selection, n: usize) -> Self {
        if n == 0 {
            return Shards::default();
        }
        let total = selection.len();
        let fair = total.div_ceil(n);
        let counts = vec![(fair + fair.div_ceil(2)).min(total); n];
        // The timed cases first; the limits cases (9.x) next where they may run beside the
        // timed ones (one at a time, they are the longest chain of a run), else last (see
        // `assign`).
        let early = limits_beside_timed();
        let mut queue: Vec<usize> = (0..total).collect();
        queue.sort_by_key(|&i| {
            let d = &selection.cases[i];
            (d.lane() != Lane::Timed, d.info.must_run_alone != early)
        });
        Shards {
            counts,
            queue: queue.into(),
            beside_timed: early,
            ..Default::default()
        }
    }

    /// The case of shard `shard`'s number `n` (1-based): the one it got before, or the
    /// next in the queue, passing over a big case while another big one runs, and on a
    /// single CPU the 9.x cases while a timed case runs (as [`exec::run`] does); `None` once
    /// every case was given out (the number is then answered with an empty close and
    /// records nothing, as Autobahn does for an excluded case).
    fn assign(
        &mut self,
        selection: &Selection,
        shard: usize,
        n: usize,
    ) -> Result<Option<usize>, String> {
        let count = *self.counts.get(shard).ok_or_else(|| {
            format!(
                "no shard {shard} (shards 0 to {})",
                self.counts.len().saturating_sub(1)
            )
        })?;
        if !(1..=count).contains(&n) {
            return Err(format!(
                "case={n}: shard {shard} has cases 1 to {count} (see its /getCaseCount)"
            ));
        }
        if let Some(&i) = self.given.get(&(shard, n)) {
            return Ok(Some(i));
        }
        let lane = |i: usize| selection.cases[i].lane();
        let limits = |i: usize| selection.cases[i].info.must_run_alone;
        let alone_busy = self.running.iter().any(|&i| lane(i) == Lane::Alone);
        let timed_busy = !self.beside_timed && self.running.iter().any(|&i| lane(i) == Lane::Timed);
        let pos = self
            .queue
            .iter()
            .position(|&i| !(alone_busy && lane(i) == Lane::Alone || timed_busy && limits(i)))
            .unwrap_or(0);
        let Some(i) = self.queue.remove(pos) else {
            return Ok(None);
        };
        self.running.insert(i);
        self.given.insert((shard, n), i);
        Ok(Some(i))
    }
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
        started: SystemTime::now(),
        start,
        hard,
        base_url: format!("ws://{local_addr}"),
        results: Mutex::new(BTreeMap::new()),
        changed: watch::channel(0).0,
        stop: watch::channel(false).0,
        updates: watch::channel(0).0,
        keys: Mutex::new(BTreeMap::new()),
        shards: Mutex::new(Shards::new(&cfg.selection, cfg.shards)),
        cfg,
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
        lock(&self.shards).running.remove(&index);
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
    let parsed =
        parse_endpoint(&request.target, &hub.cfg.selection, hub.cfg.shards).and_then(|e| match e {
            Endpoint::ShardCase { shard, n, agent } => lock(&hub.shards)
                .assign(&hub.cfg.selection, shard, n)
                .map(|index| match index {
                    Some(index) => Endpoint::RunCase { index, agent },
                    None => Endpoint::Drained,
                }),
            e => Ok(e),
        });
    let endpoint = match parsed {
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
    let mut upgrade_headers = Headers(vec![(
        "Server".into(),
        format!("wsspec/{}", env!("CARGO_PKG_VERSION")).into_bytes(),
    )]);
    // A case's payloads are built once, here: 12.x/13.x answer the client's offer with them.
    let kind = match &endpoint {
        Endpoint::RunCase { index, .. } => Some((hub.cfg.selection.cases[*index].make)()),
        _ => None,
    };
    let mut agreed = None;
    if let Some(CaseKind::Fuzz(spec)) = &kind {
        if let Some(Handler::Deflate(d)) = &spec.expect.handler {
            match deflate::accept(d, request.headers.get_all("sec-websocket-extensions")) {
                Ok(a) => agreed = a,
                Err(e) => {
                    // As Autobahn's server: a malformed offer fails the opening handshake.
                    let why = format!("the client's permessage-deflate offer is malformed: {e}");
                    peer.send_refusal(400, "Bad Request", &format!("{why}\n"));
                    linger(&mut peer).await;
                    if let Endpoint::RunCase { index, agent } = &endpoint {
                        hub.record(agent, *index, not_opened(*index, &hub.cfg.selection, &why));
                    }
                    return;
                }
            }
        }
    }
    if let Some(a) = &agreed {
        upgrade_headers.0.push((
            "Sec-WebSocket-Extensions".into(),
            a.answer.to_string().into_bytes(),
        ));
    }
    peer.send_upgrade(&valid, None, &upgrade_headers);
    if let Some(a) = agreed {
        peer.enable_deflate(a.config);
    }
    match endpoint {
        Endpoint::CaseCount => {
            peer.send_text(hub.cfg.selection.len().to_string().as_bytes());
            control_close(&mut peer).await;
        }
        Endpoint::ShardCaseCount { shard } => {
            let n = lock(&hub.shards).counts.get(shard).copied().unwrap_or(0);
            peer.send_text(n.to_string().as_bytes());
            control_close(&mut peer).await;
        }
        Endpoint::Drained => control_close(&mut peer).await,
        // Resolved to `RunCase` or `Drained` above.
        Endpoint::ShardCase { .. } => peer.drop_tcp(),
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
            let Some(kind) = kind else { return };
            let report = run_case(&hub, &def, kind, peer, valid.target.clone()).await;
            hub.record(&agent, index, report);
        }
    }
}

/// Runs one case on an upgraded connection and grades it.
async fn run_case(
    hub: &Hub,
    def: &CaseDef,
    kind: CaseKind,
    mut peer: Peer,
    target: String,
) -> CaseReport {
    let info = &def.info;
    match kind {
        CaseKind::Fuzz(spec) => {
            let handshake = format!("101 to GET {target}");
            let run = crate::suite::fuzzer::run_accepted(peer, &spec, hub.hard, handshake).await;
            wording::report_for_client(crate::suite::runner::fuzz_report(info, &spec, run), &spec)
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

    /// Shards hand out every case once, the timed ones first, give a shard's repeated
    /// number the same case, and answer the numbers past the queue's end with nothing.
    #[test]
    fn shards_share_the_cases() {
        let cat = catalog();
        let sel = crate::suite::select(&cat, &["5.*".into(), "6.4.*".into()], &[], false).unwrap();
        let mut s = Shards::new(&sel, 3);
        let fair = sel.len().div_ceil(3);
        assert!(s.counts.iter().all(|&c| c > fair && c <= sel.len()));
        let first = s.assign(&sel, 0, 1).unwrap().unwrap();
        assert_eq!(sel.cases[first].lane(), Lane::Timed);
        assert_eq!(s.assign(&sel, 0, 1), Ok(Some(first)));
        let mut seen = HashSet::new();
        let mut drained = 0;
        for (k, &c) in s.counts.clone().iter().enumerate() {
            for n in 1..=c {
                match s.assign(&sel, k, n).unwrap() {
                    Some(i) => assert!(seen.insert(i), "case {i} given twice"),
                    None => drained += 1,
                }
            }
            assert!(s.assign(&sel, k, c + 1).is_err());
        }
        assert_eq!(seen.len(), sel.len());
        assert_eq!(drained, s.counts.iter().sum::<usize>() - sel.len());
    }
}
