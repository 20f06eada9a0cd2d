//! Runs a selection of cases against one target and builds the [`RunReport`].
//!
//! * Every case gets its own connection.
//! * Up to `jobs` cases are in flight at once, except cases flagged
//!   [`CaseInfo::must_run_alone`], which start only when nothing else is in flight and
//!   finish before anything else starts. Those are the cases whose verdict depends on
//!   timing or that measure the server: 6.4.x (the OK / NON-STRICT / FAILED grade is decided
//!   by which of two one-second windows the server fails in, so a loaded server or machine
//!   could shift the grade), and all of 9.x (messages up to 16 MiB and 1000 round trips:
//!   running them beside other cases would distort their durations, which is what 9.x
//!   reports, and multiply peak memory). Cases whose verdict only depends on event order
//!   (2.10/2.11 ten pings, 5.19/5.20 staged fragments) and cases with ≥ 0.5 s of slack
//!   against a local server run in parallel.
//! * A global deadline guarantees the run ends: a case in flight when it passes is cut and
//!   reported NOT RUN with what it saw so far; cases not started are reported NOT RUN.
//! * A progress callback sees every case report as it is produced.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinSet;

use super::case::{CaseDef, CaseInfo, CaseKind};
use super::describe;
use super::extra;
use super::fuzzer;
use super::spec::FuzzSpec;
use super::verdict;
use crate::peer::{ConnectOptions, Target};
use crate::report::{CaseReport, CloseVerdict, RunReport, Verdict, SCHEMA_VERSION};

/// Callback invoked with each finished case.
pub type Progress = Arc<dyn Fn(&CaseReport) + Send + Sync>;

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
    pub progress: Option<Progress>,
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
    report: CaseReport,
    server: Option<String>,
}

/// Runs `selection` against `target` and returns the report (cases in selection order).
pub async fn run(
    target: &Target,
    opts: &ConnectOptions,
    selection: &[CaseInfo],
    cfg: RunConfig,
) -> RunReport {
    let start = Instant::now();
    let started = rfc3339(SystemTime::now());
    let hard = start + cfg.deadline.unwrap_or(NO_DEADLINE);
    let jobs = cfg.jobs.max(1);
    let defs: HashMap<String, CaseDef> = super::defs()
        .into_iter()
        .map(|d| (d.info.id.clone(), d))
        .collect();
    let target = Arc::new(target.clone());
    let opts = Arc::new(opts.clone());
    let mut results: Vec<Option<CaseReport>> = vec![None; selection.len()];
    let mut first_server: Option<String> = None;
    let mut set: JoinSet<Done> = JoinSet::new();

    let mut finish = |d: Done, results: &mut Vec<Option<CaseReport>>| {
        if first_server.is_none() {
            first_server = d.server;
        }
        if let Some(p) = &cfg.progress {
            p(&d.report);
        }
        results[d.index] = Some(d.report);
    };

    for (index, info) in selection.iter().enumerate() {
        let Some(def) = defs.get(&info.id) else {
            finish(
                Done {
                    index,
                    report: not_run(info, "unknown case id".into(), 0.0),
                    server: None,
                },
                &mut results,
            );
            continue;
        };
        if let Some(reason) = &def.not_run {
            finish(
                Done {
                    index,
                    report: not_run(info, reason.clone(), 0.0),
                    server: None,
                },
                &mut results,
            );
            continue;
        }
        if info.must_run_alone {
            while let Some(r) = set.join_next().await {
                if let Ok(d) = r {
                    finish(d, &mut results);
                }
            }
        } else {
            while set.len() >= jobs {
                if let Some(Ok(d)) = set.join_next().await {
                    finish(d, &mut results);
                }
            }
        }
        if Instant::now() >= hard {
            break;
        }
        let (def, t, o, info2, info3) = (
            def.clone(),
            target.clone(),
            opts.clone(),
            info.clone(),
            info.clone(),
        );
        set.spawn(async move {
            // The case runs in its own task so that a panic (a kit bug) is reported against
            // the case instead of tearing down the run.
            let mut inner = AbortOnDrop(tokio::spawn(async move {
                run_case(&info2, &def, &t, &o, hard).await
            }));
            match (&mut inner.0).await {
                Ok((report, server)) => Done {
                    index,
                    report,
                    server,
                },
                Err(e) => Done {
                    index,
                    report: not_run(&info3, format!("internal error of the kit: {e}"), 0.0),
                    server: None,
                },
            }
        });
        if info.must_run_alone {
            while let Some(r) = set.join_next().await {
                if let Ok(d) = r {
                    finish(d, &mut results);
                }
            }
        }
    }
    while let Some(r) = set.join_next().await {
        if let Ok(d) = r {
            finish(d, &mut results);
        }
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
                let r = not_run(&selection[i], reason, 0.0);
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
    RunReport {
        tool: "wsspec".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        schema: SCHEMA_VERSION,
        kind: "rfc6455".into(),
        agent,
        target: target.url.clone(),
        started,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        strict: cfg.strict,
        cases,
    }
}

/// The report of a run that could not start (the server reset or closed the connection
/// before answering the opening handshake): every selected case NOT RUN, saying why.
pub fn not_run_report(
    target: &Target,
    selection: &[CaseInfo],
    cfg: &RunConfig,
    reason: &str,
) -> RunReport {
    RunReport {
        tool: "wsspec".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        schema: SCHEMA_VERSION,
        kind: "rfc6455".into(),
        agent: if cfg.agent.is_empty() {
            target.url.clone()
        } else {
            cfg.agent.clone()
        },
        target: target.url.clone(),
        started: rfc3339(SystemTime::now()),
        duration_ms: 0.0,
        strict: cfg.strict,
        cases: selection
            .iter()
            .map(|info| {
                not_run(
                    info,
                    format!("the server could not be tested: {reason}"),
                    0.0,
                )
            })
            .collect(),
    }
}

fn blank(info: &CaseInfo) -> CaseReport {
    CaseReport {
        id: info.id.clone(),
        title: info.title.clone(),
        rfc: info.rfc.clone(),
        verdict: Verdict::NotRun,
        close_verdict: None,
        remote_close_code: None,
        duration_ms: 0.0,
        sent: String::new(),
        expected: String::new(),
        observed: String::new(),
        transcript: Vec::new(),
    }
}

fn not_run(info: &CaseInfo, reason: String, duration_ms: f64) -> CaseReport {
    CaseReport {
        verdict: Verdict::NotRun,
        close_verdict: Some(CloseVerdict::NotRun),
        duration_ms,
        observed: format!("not run: {reason}"),
        ..blank(info)
    }
}

/// Runs one case (any kind) and builds its report.
pub(crate) async fn run_case(
    info: &CaseInfo,
    def: &CaseDef,
    target: &Target,
    opts: &ConnectOptions,
    hard: Instant,
) -> (CaseReport, Option<String>) {
    match (def.make)() {
        CaseKind::NotRun(reason) => (not_run(info, reason, 0.0), None),
        CaseKind::Fuzz(spec) => {
            let run = fuzzer::run(target, opts, &spec, hard).await;
            let server = run.server_header.clone();
            (fuzz_report(info, &spec, run), server)
        }
        CaseKind::Handshake(check) => {
            let r = extra::run_handshake(target, opts, check, hard).await;
            let report = CaseReport {
                verdict: if r.cut_by_deadline {
                    Verdict::NotRun
                } else {
                    r.verdict
                },
                duration_ms: r.duration_ms,
                sent: r.sent,
                expected: check.expected(),
                observed: if r.cut_by_deadline {
                    format!("not run: cut off by the run deadline; {}", r.observed)
                } else {
                    r.observed
                },
                transcript: r.transcript,
                ..blank(info)
            };
            (report, None)
        }
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

/// `SystemTime` as RFC 3339 UTC with millisecond precision.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123); // leap day 2000
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.000Z");
    }
}
