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
    /// Every behaviour verdict, in the order report tables show them (columns of the
    /// terminal summary and of the HTML matrix, the legend).
    pub const ALL: [Verdict; 6] = [
        Verdict::Ok,
        Verdict::NonStrict,
        Verdict::Informational,
        Verdict::Unimplemented,
        Verdict::Failed,
        Verdict::NotRun,
    ];

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
    /// What carried the WebSockets: `http/1.1` (also for reports written before the field
    /// existed), `h2c` or `h2` (RFC 8441 over cleartext or TLS HTTP/2).
    #[serde(default = "default_transport")]
    pub transport: String,
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

/// The most a report file may take. The kit promises reports under 20 MB whatever the
/// server did; transcripts are what can grow, so they are cut to fit (see
/// [`RunReport::fit_transcripts`]), with a note in each cut transcript.
pub const REPORT_BUDGET: usize = 16 << 20;

/// What a transcript entry costs in a written report beyond its strings (field names,
/// punctuation, indentation of pretty JSON), and how much escaping may add to them.
const ENTRY_FRAME: usize = 192;

fn entry_cost(e: &TranscriptEntry) -> usize {
    let text =
        e.conn.len() + e.kind.len() + e.summary.len() + e.hex.as_ref().map_or(0, String::len);
    ENTRY_FRAME + text + text / 4
}

fn case_cost(c: &CaseReport) -> usize {
    let text = c.id.len()
        + c.title.len()
        + c.rfc.len()
        + c.sent.len()
        + c.expected.len()
        + c.observed.len();
    ENTRY_FRAME * 2 + text + text / 4 + c.transcript.iter().map(entry_cost).sum::<usize>()
}

/// Keeps the first two thirds and the last third of `allowance` bytes worth of `t`, with a
/// note where entries were left out.
fn cut_transcript(t: &mut Vec<TranscriptEntry>, allowance: usize) {
    let total: usize = t.iter().map(entry_cost).sum();
    if total <= allowance {
        return;
    }
    let mut head = 0;
    let mut used = 0;
    while head < t.len() && used + entry_cost(&t[head]) <= allowance * 2 / 3 {
        used += entry_cost(&t[head]);
        head += 1;
    }
    let mut tail = t.len();
    let mut tail_used = 0;
    while tail > head && used + tail_used + entry_cost(&t[tail - 1]) <= allowance {
        tail_used += entry_cost(&t[tail - 1]);
        tail -= 1;
    }
    let cut: Vec<TranscriptEntry> = t.drain(head..tail).collect();
    let bytes: usize = cut.iter().map(entry_cost).sum();
    if let Some(first) = cut.first() {
        t.insert(
            head,
            TranscriptEntry {
                t_ms: first.t_ms,
                conn: first.conn.clone(),
                dir: Direction::Event,
                kind: "note".into(),
                summary: format!(
                    "{} entries (about {} KiB) cut here to keep the report under {} MiB",
                    cut.len(),
                    bytes.div_ceil(1024),
                    REPORT_BUDGET >> 20
                ),
                hex: None,
            },
        );
    }
}

fn default_transport() -> String {
    "http/1.1".into()
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
            transport: default_transport(),
            cases,
        }
    }

    /// An estimate, from above, of the size of the JSON report.
    pub fn estimated_size(&self) -> usize {
        4096 + self.cases.iter().map(case_cost).sum::<usize>()
    }

    /// This report, or a copy whose longest transcripts are cut (start and end kept, a note
    /// in the middle) so that it fits in `max_bytes`. Every writer goes through this, so no
    /// server can make a report grow without bound.
    pub fn fit_transcripts(&self, max_bytes: usize) -> std::borrow::Cow<'_, RunReport> {
        let size = self.estimated_size();
        if size <= max_bytes {
            return std::borrow::Cow::Borrowed(self);
        }
        // Water-filling: the largest allowance per transcript that fits, so short
        // transcripts stay whole and only the long ones are cut.
        let fixed: usize = size
            - self
                .cases
                .iter()
                .map(|c| c.transcript.iter().map(entry_cost).sum::<usize>())
                .sum::<usize>();
        let mut costs: Vec<usize> = self
            .cases
            .iter()
            .map(|c| c.transcript.iter().map(entry_cost).sum())
            .collect();
        costs.sort_unstable();
        let mut room = max_bytes.saturating_sub(fixed);
        let mut allowance = 0;
        for (i, &c) in costs.iter().enumerate() {
            let left = costs.len() - i;
            if c * left <= room {
                room -= c;
                allowance = c;
            } else {
                allowance = room / left;
                break;
            }
        }
        let mut r = self.clone();
        for c in &mut r.cases {
            // The note takes room too.
            cut_transcript(&mut c.transcript, allowance.saturating_sub(ENTRY_FRAME * 2));
        }
        std::borrow::Cow::Owned(r)
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

    fn entry(i: usize, hex: usize) -> TranscriptEntry {
        TranscriptEntry {
            t_ms: i as f64,
            conn: "main".into(),
            dir: Direction::Recv,
            kind: "frame".into(),
            summary: format!("ping fin=1 len=4 \"{i}\""),
            hex: Some("ab".repeat(hex / 2)),
        }
    }

    fn report(cases: usize, entries: usize) -> RunReport {
        RunReport {
            tool: "wsspec".into(),
            version: "0".into(),
            schema: SCHEMA_VERSION,
            kind: "rfc6455".into(),
            agent: "a".into(),
            target: "ws://127.0.0.1:1/".into(),
            started: "2000-01-01T00:00:00.000Z".into(),
            duration_ms: 1.0,
            strict: false,
            transport: default_transport(),
            cases: (0..cases)
                .map(|c| CaseReport {
                    id: format!("1.1.{c}"),
                    title: "t".into(),
                    rfc: "RFC 6455".into(),
                    verdict: Verdict::Failed,
                    close_verdict: Some(CloseVerdict::Failed),
                    remote_close_code: None,
                    duration_ms: 1.0,
                    sent: "s".into(),
                    expected: "e".into(),
                    observed: "o".into(),
                    transcript: (0..entries).map(|i| entry(i, 400)).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn small_reports_are_written_whole() {
        let r = report(10, 20);
        assert!(matches!(
            r.fit_transcripts(REPORT_BUDGET),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_flooded_report_is_cut_to_fit_with_a_note() {
        // 120 cases of 400 entries: about 30 MiB of transcript.
        let r = report(120, 400);
        assert!(r.estimated_size() > 2 * REPORT_BUDGET);
        let fitted = r.fit_transcripts(REPORT_BUDGET);
        let json = serde_json::to_vec_pretty(fitted.as_ref()).unwrap();
        assert!(json.len() <= REPORT_BUDGET, "{} bytes", json.len());
        assert!(fitted.estimated_size() <= REPORT_BUDGET);
        for c in &fitted.cases {
            // The start and the end of the conversation survive, the cut is said.
            assert_eq!(c.transcript.first(), r.cases[0].transcript.first());
            assert_eq!(c.transcript.last(), r.cases[0].transcript.last());
            assert!(
                c.transcript
                    .iter()
                    .any(|e| e.kind == "note" && e.summary.contains("cut here")),
                "no note in {}",
                c.id
            );
        }
        // Short transcripts next to long ones stay whole.
        let mut r = report(60, 800);
        r.cases[0].transcript.truncate(5);
        let fitted = r.fit_transcripts(REPORT_BUDGET);
        assert_eq!(fitted.cases[0].transcript, r.cases[0].transcript);
    }
}
