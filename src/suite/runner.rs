//! Runs a selection of cases against one target and builds the [`RunReport`].
//!
//! * Every case gets its own connection.
//! * Up to `jobs` cases are in flight at once. Cases flagged [`CaseInfo::must_run_alone`]
//!   (the 9.x cases with messages of 4-16 MiB; the lighter 9.x cases, 1 MiB at most, run as
//!   the others do) run one at a time in a lane of their own, which starts at the beginning of the run and takes one of the `jobs`
//!   slots: never two of them at once, so peak memory stays that of one 16 MiB exchange,
//!   while the short cases use the other slots. Their durations are measured beside other
//!   traffic (they measure throughput, see [`super::fuzzer`]); their verdicts do not depend
//!   on time (timers of 10 s and more).
//! * Timed cases (6.4.x, 5.19, 5.20, x.4.1: they spend their time in pauses of up to one
//!   second between stages) start first, all at once, outside the `jobs` limit, and sleep
//!   beside the rest. 6.4.x's grade is decided by which of two one-second windows the server
//!   fails in; a local server answers within milliseconds of each stage, so the windows have
//!   ~1 s of slack, and the differential test against Autobahn (which runs its cases one
//!   by one) shows the same verdicts on every server compared.
//! * A global deadline guarantees the run ends: a case in flight when it passes is cut and
//!   reported NOT RUN with what it saw so far; cases not started are reported NOT RUN.
//! * A progress callback sees every case report as it is produced.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use super::case::{CaseDef, CaseInfo, CaseKind, Lane, Selection};
use super::describe;
use super::extra;
use super::fuzzer;
use super::fuzzer::WireFacts;
use super::spec::FuzzSpec;
use super::verdict;
use super::wire_checks;
use crate::peer::{ConnectOptions, Target};
use crate::report::{CaseReport, CloseVerdict, RunReport, Verdict};

/// Called with each finished case (a progress bar, a live log).
pub type OnCaseDone = Arc<dyn Fn(&CaseReport) + Send + Sync>;

/// How to run a selection.
#[derive(Clone, Default)]
pub struct RunConfig {
    /// Cases in flight at once (0 is treated as 1).
    pub jobs: usize,
    /// Wall-time budget of the whole run; `None` = no limit beyond the cases' own timers.
    pub deadline: Option<Duration>,
    /// Recorded in the report: NON-STRICT counts as a failure.
    pub strict: bool,
    /// Display name of the server; empty = the `Server` header of the first 101, else the URL.
    pub agent: String,
    /// Called once per case, in completion order.
    pub progress: Option<OnCaseDone>,
}

impl fmt::Debug for RunConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunConfig")
            .field("jobs", &self.jobs)
            .field("deadline", &self.deadline)
            .field("strict", &self.strict)
            .field("agent", &self.agent)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Long enough to mean "no deadline" while keeping `Instant` arithmetic safe.
const NO_DEADLINE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Aborts the case task when the run is abandoned (its future dropped), so that no case
/// outlives the caller.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Done {
    index: usize,
    timed: bool,
    lane: bool,
    report: CaseReport,
    server: Option<String>,
    wire: Option<WireFacts>,
}

/// Runs `selection` against `target` and returns the report (cases in selection order).
pub async fn run(
    target: &Target,
    opts: &ConnectOptions,
    selection: &Selection,
    cfg: RunConfig,
) -> RunReport {
    let start = Instant::now();
    let started = SystemTime::now();
    let hard = start + cfg.deadline.unwrap_or(NO_DEADLINE);
    let jobs = cfg.jobs.max(1);
    let target = Arc::new(target.clone());
    let opts = Arc::new(opts.clone());
    let mut results: Vec<Option<CaseReport>> = vec![None; selection.len()];
    let mut first_server: Option<String> = None;
    let mut set: JoinSet<Done> = JoinSet::new();

    let mut wire: Vec<(usize, WireFacts)> = Vec::new();
    let mut deferred: Vec<usize> = Vec::new();
    let mut finish = |d: Done, results: &mut Vec<Option<CaseReport>>| {
        if first_server.is_none() {
            first_server = d.server;
        }
        if let Some(w) = d.wire {
            wire.push((d.index, w));
        }
        if let Some(p) = &cfg.progress {
            p(&d.report);
        }
        results[d.index] = Some(d.report);
    };

    // Three queues: timed cases (all started at once, outside `jobs`), the one-at-a-time
    // lane of the limits cases, and the rest; the lane and the rest share the `jobs` slots.
    let mut timed_q: VecDeque<usize> = VecDeque::new();
    let mut lane_q: VecDeque<usize> = VecDeque::new();
    let mut rest_q: VecDeque<usize> = VecDeque::new();
    for (index, def) in selection.cases.iter().enumerate() {
        if let Some(reason) = &def.not_run {
            let report = not_run(&def.info, reason.clone(), 0.0);
            finish(
                Done {
                    index,
                    timed: false,
                    lane: false,
                    report,
                    server: None,
                    wire: None,
                },
                &mut results,
            );
        } else if def.run_level.is_some() {
            deferred.push(index);
        } else {
            match def.lane() {
                Lane::Timed => timed_q.push_back(index),
                Lane::Alone => lane_q.push_back(index),
                Lane::Shared => rest_q.push_back(index),
            }
        }
    }
    // Cases that send the same compressed messages go side by side, after the rest and
    // largest first (the deflate cache keeps a bounded window of what they share).
    rest_q
        .make_contiguous()
        .sort_by_key(|&i| match selection.cases[i].shares {
            None => (false, std::cmp::Reverse(0), 0),
            Some((len, set)) => (true, std::cmp::Reverse(len), set),
        });
    // (timed, lane): which queue a case came from, so its slot is given back to the right one.
    let spawn = |set: &mut JoinSet<Done>, i: usize, kind: (bool, bool)| {
        spawn_case(set, i, &selection.cases[i], &target, &opts, hard, kind)
    };
    let mut timed_in_flight = 0usize;
    let mut lane_busy = false;
    loop {
        if Instant::now() >= hard {
            break;
        }
        while let Some(i) = timed_q.pop_front() {
            spawn(&mut set, i, (true, false));
            timed_in_flight += 1;
        }
        let slots_free = set.len() - timed_in_flight < jobs;
        if slots_free && !lane_busy {
            if let Some(i) = lane_q.pop_front() {
                spawn(&mut set, i, (false, true));
                lane_busy = true;
                continue;
            }
        }
        if slots_free {
            if let Some(i) = rest_q.pop_front() {
                spawn(&mut set, i, (false, false));
                continue;
            }
        }
        match set.join_next().await {
            Some(Ok(d)) => {
                timed_in_flight -= usize::from(d.timed);
                lane_busy &= !d.lane;
                finish(d, &mut results);
            }
            // A case task that did not report (aborted): what it was is unknown, so the
            // counts are made safe rather than exact.
            Some(Err(_)) => {
                timed_in_flight = timed_in_flight.min(set.len());
                lane_busy = false;
            }
            None => break,
        }
    }
    while let Some(r) = set.join_next().await {
        if let Ok(d) = r {
            finish(d, &mut results);
        }
    }
    // Run-level checks, over every fuzzing case that ran (in selection order).
    wire.sort_by_key(|(i, _)| *i);
    let seen: Vec<(String, WireFacts)> = wire
        .into_iter()
        .map(|(i, w)| (selection.cases[i].info.id.clone(), w))
        .collect();
    for index in deferred {
        let def = &selection.cases[index];
        let Some(check) = def.run_level else { continue };
        let report = wire_checks::grade(&def.info, check, &seen);
        if let Some(p) = &cfg.progress {
            p(&report);
        }
        results[index] = Some(report);
    }
    let mut cases = Vec::with_capacity(selection.len());
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(r) => cases.push(r),
            None => {
                let reason = if Instant::now() >= hard {
                    format!(
                        "the run deadline ({}) was reached before the case started",
                        humantime::format_duration(cfg.deadline.unwrap_or(NO_DEADLINE))
                    )
                } else {
                    "the case task ended without a result (internal error of the kit)".into()
                };
                let r = not_run(&selection.cases[i].info, reason, 0.0);
                if let Some(p) = &cfg.progress {
                    p(&r);
                }
                cases.push(r);
            }
        }
    }
    let agent = if !cfg.agent.is_empty() {
        cfg.agent.clone()
    } else {
        first_server.unwrap_or_else(|| target.url.clone())
    };
    let mut report = RunReport::new(
        "rfc6455",
        agent,
        target.url.clone(),
        started,
        start.elapsed(),
        cases,
    );
    report.strict = cfg.strict;
    report.transport = target.transport().into();
    report
}

/// Spawns one case in its own task; `kind` is (timed, lane).
fn spawn_case(
    set: &mut JoinSet<Done>,
    index: usize,
    def: &CaseDef,
    target: &Arc<Target>,
    opts: &Arc<ConnectOptions>,
    hard: Instant,
    kind: (bool, bool),
) {
    let (def, t, o) = (def.clone(), target.clone(), opts.clone());
    let info = def.info.clone();
    let (timed, lane) = kind;
    set.spawn(async move {
        // The case runs in its own task so that a panic (a kit bug) is reported against
        // the case instead of tearing down the run.
        let info2 = info.clone();
        let mut inner = AbortOnDrop(tokio::spawn(async move {
            run_case(&info2, &def, &t, &o, hard).await
        }));
        match (&mut inner.0).await {
            Ok((report, server, wire)) => Done {
                index,
                timed,
                lane,
                report,
                server,
                wire,
            },
            Err(e) => Done {
                index,
                timed,
                lane,
                report: not_run(&info, format!("internal error of the kit: {e}"), 0.0),
                server: None,
                wire: None,
            },
        }
    });
}

/// Started at the beginning of the run, outside the `jobs` limit.
/// A case of `info` with nothing but its id, title and rule.
fn blank(info: &CaseInfo) -> CaseReport {
    CaseReport::new(&info.id, &info.title, &info.rfc)
}

pub(crate) fn not_run(info: &CaseInfo, reason: String, duration_ms: f64) -> CaseReport {
    CaseReport {
        close_verdict: Some(CloseVerdict::NotRun),
        duration_ms,
        ..CaseReport::not_run(&info.id, &info.title, &info.rfc, &reason)
    }
}

/// Runs one case (any kind) and builds its report.
pub(crate) async fn run_case(
    info: &CaseInfo,
    def: &CaseDef,
    target: &Target,
    opts: &ConnectOptions,
    hard: Instant,
) -> (CaseReport, Option<String>, Option<WireFacts>) {
    match (def.make)() {
        CaseKind::NotRun(reason) => (not_run(info, reason, 0.0), None, None),
        CaseKind::Http2(check) => (
            super::http2::run(info, check, target, opts, hard).await,
            None,
            None,
        ),
        CaseKind::RunLevel => (
            not_run(
                info,
                "a run-level check is graded by the runner after every other case".into(),
                0.0,
            ),
            None,
            None,
        ),
        CaseKind::Fuzz(spec) => {
            let run = fuzzer::run(target, opts, &spec, hard).await;
            let server = run.server_header.clone();
            let wire = (!run.cut_by_deadline && run.obs.opened).then(|| run.wire.clone());
            (fuzz_report(info, &spec, run), server, wire)
        }
        CaseKind::Deflate(check) => (
            check_report(
                info,
                check.expected(),
                super::pmd::run(target, opts, check, hard).await,
            ),
            None,
            None,
        ),
        CaseKind::Handshake(check) => (
            check_report(
                info,
                check.expected(),
                extra::run_handshake(target, opts, check, hard).await,
            ),
            None,
            None,
        ),
    }
}

/// The report of a check that runs its own exchange (handshake and permessage-deflate
/// checks); a run cut by the deadline is NOT RUN and says so.
fn check_report(info: &CaseInfo, expected: String, r: extra::HandshakeRun) -> CaseReport {
    let (verdict, observed) = if r.cut_by_deadline {
        (
            Verdict::NotRun,
            format!("not run: cut off by the run deadline; {}", r.observed),
        )
    } else {
        (r.verdict, r.observed)
    };
    CaseReport {
        verdict,
        duration_ms: r.duration_ms,
        sent: r.sent,
        expected,
        observed,
        transcript: r.transcript,
        ..blank(info)
    }
}

/// Grades a fuzzing run and fills the report lines.
pub(crate) fn fuzz_report(info: &CaseInfo, spec: &FuzzSpec, run: fuzzer::FuzzRun) -> CaseReport {
    let sent = describe::sent(spec);
    let expected = describe::expected(spec);
    if run.cut_by_deadline {
        let observed = format!(
            "not run: cut off by the run deadline after {:.0} ms; so far: {}",
            run.duration_ms,
            describe::observed(&run, &[])
        );
        return CaseReport {
            verdict: Verdict::NotRun,
            close_verdict: Some(CloseVerdict::NotRun),
            remote_close_code: run.obs.remote_close_code,
            duration_ms: run.duration_ms,
            sent,
            expected,
            observed,
            transcript: run.transcript,
            ..blank(info)
        };
    }
    let j = verdict::judge(&spec.expect, &run.obs);
    CaseReport {
        verdict: j.behavior,
        close_verdict: Some(j.close),
        remote_close_code: run.obs.remote_close_code,
        duration_ms: run.duration_ms,
        sent,
        expected,
        observed: describe::observed(&run, &j.why),
        transcript: run.transcript,
        ..blank(info)
    }
}
