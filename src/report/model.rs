//! The report data model shared by the RFC 6455 suite and the scenario engine.
//!
//! Every writer (terminal, JSON, JUnit, HTML) reads this model and nothing else, so a
//! scenario step and an Autobahn case land in the same formats. The JSON form of
//! [`RunReport`] is the stable schema documented in `docs/report-schema.md`; field
//! names here are that schema, so renaming one is a breaking change.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Schema version written into every JSON report; bump on incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Outcome of a case's behaviour, with Autobahn's vocabulary plus `NOT RUN`.
///
/// `NotRun` exists so that a case the kit cannot execute (permessage-deflate before it is
/// implemented, a case cut off by the global deadline) is never mistaken for a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    /// The server did what the RFC requires.
    #[serde(rename = "OK")]
    Ok,
    /// A SHOULD or a preferred behaviour was not followed; passes unless `--strict`.
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    /// Behaviour the RFC leaves open; recorded, never a failure.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    /// An optional feature (e.g. permessage-deflate) the server does not offer.
    #[serde(rename = "UNIMPLEMENTED")]
    Unimplemented,
    /// The server violated a MUST, or did not answer as required.
    #[serde(rename = "FAILED")]
    Failed,
    /// The kit did not execute the case; never counted as a pass.
    #[serde(rename = "NOT RUN")]
    NotRun,
}

impl Verdict {
    /// The label used in every report format.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::Unimplemented => "UNIMPLEMENTED",
            Verdict::Failed => "FAILED",
            Verdict::NotRun => "NOT RUN",
        }
    }

    /// True for outcomes that make the run exit non-zero.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Failed)
    }
}

/// Outcome of the closing handshake (Autobahn's `behaviorClose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CloseVerdict {
    /// Closed by the expected endpoint, cleanly, with an allowed code.
    #[serde(rename = "OK")]
    Ok,
    /// Wrong endpoint closed first, or the handshake never completed.
    #[serde(rename = "FAILED")]
    Failed,
    /// The server sent a close code outside the allowed list.
    #[serde(rename = "WRONG CODE")]
    WrongCode,
    /// A clean close was required but no close frame came from the server.
    #[serde(rename = "UNCLEAN")]
    Unclean,
    /// The kit had to drop TCP because the server kept it open (RFC 6455 §7.1.1).
    #[serde(rename = "FAILED BY CLIENT")]
    FailedByClient,
    /// Behaviour left open by the RFC.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    /// Not evaluated.
    #[serde(rename = "NOT RUN")]
    NotRun,
}

impl CloseVerdict {
    /// The label used in every report format.
    pub fn label(self) -> &'static str {
        match self {
            CloseVerdict::Ok => "OK",
            CloseVerdict::Failed => "FAILED",
            CloseVerdict::WrongCode => "WRONG CODE",
            CloseVerdict::Unclean => "UNCLEAN",
            CloseVerdict::FailedByClient => "FAILED BY CLIENT",
            CloseVerdict::Informational => "INFORMATIONAL",
            CloseVerdict::NotRun => "NOT RUN",
        }
    }
}

/// Direction of a transcript entry as seen from the kit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Bytes or a frame the kit wrote.
    Sent,
    /// Bytes or a frame the kit read.
    Recv,
    /// Something that is not traffic: a timer, TCP end, a process event, a note.
    Event,
}

/// One line of a wire transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// Milliseconds since the case (or scenario) started.
    pub t_ms: f64,
    /// Connection name (`main` for suite cases; the scenario's name otherwise).
    pub conn: String,
    /// Who produced the entry.
    pub dir: Direction,
    /// `http`, `frame`, `bytes`, `close`, `tcp-eof`, `tcp-error`, `timer`, `process`, `note`.
    pub kind: String,
    /// Human-readable decoding (e.g. `text fin=1 len=13 "Hello, world!"`).
    pub summary: String,
    /// Raw bytes as lowercase hex, when the entry carries bytes (capped by the writer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

/// The result of one case or one scenario step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// Case id, e.g. `6.4.3`, `h.1.2`, or `vite/token-policy#3` for scenario steps.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// The rule checked, e.g. `RFC 6455 §5.2` (free text for scenario steps).
    pub rfc: String,
    /// Behaviour verdict.
    pub verdict: Verdict,
    /// Close verdict; `None` for checks that have no closing handshake.
    #[serde(default)]
    pub close_verdict: Option<CloseVerdict>,
    /// Close code the server sent, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_close_code: Option<u16>,
    /// Wall time of the case.
    pub duration_ms: f64,
    /// What the kit sent, in one line.
    #[serde(default)]
    pub sent: String,
    /// What a conforming server does, in one line.
    pub expected: String,
    /// What came back, in one line.
    pub observed: String,
    /// The wire conversation.
    #[serde(default)]
    pub transcript: Vec<TranscriptEntry>,
}

/// A whole run: the suite against one target, or one scenario/profile run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always `wsspec`.
    pub tool: String,
    /// Crate version that produced the report.
    pub version: String,
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema: u32,
    /// `rfc6455` or `scenario`.
    pub kind: String,
    /// Display name of the server (agent), e.g. `built-in`, `ws 8.18`, or the URL.
    pub agent: String,
    /// URL under test (or the profile name for scenarios).
    pub target: String,
    /// Start time, RFC 3339 UTC.
    pub started: String,
    /// Whole-run wall time.
    pub duration_ms: f64,
    /// Whether `--strict` was in force (NON-STRICT counted as FAILED).
    #[serde(default)]
    pub strict: bool,
    /// Per-case results in execution order.
    pub cases: Vec<CaseReport>,
}

impl CaseReport {
    /// A case with its id, title and rule and nothing else yet: verdict NOT RUN, no
    /// close verdict, nothing sent or observed. Producers fill in what they know
    /// (`CaseReport { verdict, observed, ..CaseReport::new(id, title, rfc) }`).
    pub fn new(id: impl Into<String>, title: impl Into<String>, rfc: impl Into<String>) -> Self {
        CaseReport {
            id: id.into(),
            title: title.into(),
            rfc: rfc.into(),
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

    /// A case the kit did not run; `observed` says `not run: <reason>`.
    pub fn not_run(
        id: impl Into<String>,
        title: impl Into<String>,
        rfc: impl Into<String>,
        reason: &str,
    ) -> Self {
        CaseReport {
            observed: format!("not run: {reason}"),
            ..CaseReport::new(id, title, rfc)
        }
    }
}

impl RunReport {
    /// The report of a run of `kind` (`rfc6455`, `scenario`) that started at `started`
    /// and took `took`; the start is written as RFC 3339 UTC with milliseconds.
    pub fn new(
        kind: &str,
        agent: String,
        target: String,
        started: SystemTime,
        took: Duration,
        cases: Vec<CaseReport>,
    ) -> Self {
        RunReport {
            tool: "wsspec".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            schema: SCHEMA_VERSION,
            kind: kind.into(),
            agent,
            target,
            started: humantime::format_rfc3339_millis(started).to_string(),
            duration_ms: took.as_secs_f64() * 1000.0,
            strict: false,
            cases,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn run_report_start_is_rfc3339_utc_with_milliseconds() {
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123); // leap day 2000
        let r = RunReport::new(
            "scenario",
            "a".into(),
            "t".into(),
            t,
            Duration::ZERO,
            vec![],
        );
        assert_eq!(r.started, "2000-02-29T00:00:00.123Z");
        let r = RunReport::new(
            "rfc6455",
            "a".into(),
            "t".into(),
            UNIX_EPOCH,
            Duration::ZERO,
            vec![],
        );
        assert_eq!(r.started, "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn not_run_says_so() {
        let c = CaseReport::not_run("1.1.1", "t", "RFC 6455 §5.6", "the deadline passed");
        assert_eq!(c.verdict, Verdict::NotRun);
        assert_eq!(c.observed, "not run: the deadline passed");
    }
}
