//! Run-level checks (`x.2.2`-`x.2.4`): rules about every frame the server sends, judged over
//! the frames of every fuzzing case of the run rather than one case's own exchange.
//!
//! x.2.1 looks at the echoes of its own messages; a server that masks only its close frames,
//! uses a 64-bit length only for pongs, or answers data after its close only when a case
//! provokes it, passes that. These checks collect [`WireFacts`] from each fuzzing
//! connection (every frame the kit read, recorded or not) and grade once all cases are done:
//! any masked frame, any non-minimal length, any data frame after the server's own close
//! frame is FAILED (each is a MUST on the sender). The report names how many frames and cases
//! were looked at and the first offending frame with its case. With no fuzzing case in the
//! run there is nothing to look at: NOT RUN.

use super::case::CaseInfo;
use super::fuzzer::WireFacts;
use crate::report::{CaseReport, CloseVerdict, Verdict};

/// Which rule a run-level check enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunCheck {
    /// x.2.2: no server frame is masked (§5.1).
    Unmasked,
    /// x.2.3: every server frame uses the minimal length encoding (§5.2).
    MinimalLength,
    /// x.2.4: no data frame after the server's own close frame (§5.5.1).
    NoDataAfterClose,
}

impl RunCheck {
    fn kind(self) -> &'static str {
        match self {
            RunCheck::Unmasked => "masked",
            RunCheck::MinimalLength => "non-minimal",
            RunCheck::NoDataAfterClose => "data-after-close",
        }
    }

    fn count(self, w: &WireFacts) -> u64 {
        match self {
            RunCheck::Unmasked => w.masked,
            RunCheck::MinimalLength => w.non_minimal,
            RunCheck::NoDataAfterClose => w.data_after_close,
        }
    }

    /// The `expected` line of the report.
    pub fn expected(self) -> &'static str {
        match self {
            RunCheck::Unmasked => {
                "no frame the server sent in any case of the run has the MASK bit set"
            }
            RunCheck::MinimalLength => {
                "every frame the server sent in any case of the run uses the minimal length encoding"
            }
            RunCheck::NoDataAfterClose => {
                "no data frame follows the server's own close frame in any case of the run"
            }
        }
    }
}

/// Grades `check` over the wire facts of every fuzzing case of the run (`(case id, facts)`).
pub fn grade(info: &CaseInfo, check: RunCheck, seen: &[(String, WireFacts)]) -> CaseReport {
    let frames: u64 = seen.iter().map(|(_, w)| w.frames).sum();
    let mut report = CaseReport {
        close_verdict: None,
        sent: "nothing of its own: looks at the frames of every fuzzing case of this run".into(),
        expected: check.expected().into(),
        ..CaseReport::new(&info.id, &info.title, &info.rfc)
    };
    if seen.is_empty() {
        report.verdict = Verdict::NotRun;
        report.close_verdict = Some(CloseVerdict::NotRun);
        report.observed =
            "not run: no fuzzing case ran in this run, so there are no server frames to check"
                .into();
        return report;
    }
    let bad: Vec<&(String, WireFacts)> = seen.iter().filter(|(_, w)| check.count(w) > 0).collect();
    let total: u64 = bad.iter().map(|(_, w)| check.count(w)).sum();
    if bad.is_empty() {
        report.verdict = Verdict::Ok;
        report.observed = format!(
            "{frames} server frames in {} cases, none {}",
            seen.len(),
            check.kind()
        );
        return report;
    }
    let (id, w) = bad[0];
    let first = w
        .first
        .iter()
        .find(|(k, _)| *k == check.kind())
        .map(|(_, d)| d.as_str())
        .unwrap_or("?");
    let ids: Vec<&str> = bad.iter().take(8).map(|(id, _)| id.as_str()).collect();
    report.verdict = Verdict::Failed;
    report.observed = format!(
        "{total} {} frame(s) of {frames} server frames, in {} of {} cases ({}{}); first in case {id}, {first}",
        check.kind(),
        bad.len(),
        seen.len(),
        ids.join(", "),
        if bad.len() > ids.len() { ", ..." } else { "" },
    );
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(frames: u64, masked: u64) -> WireFacts {
        WireFacts {
            frames,
            masked,
            first: if masked > 0 {
                vec![("masked", "frame #1: text fin=1 len=3".into())]
            } else {
                vec![]
            },
            ..Default::default()
        }
    }

    #[test]
    fn grading() {
        let info = CaseInfo::new("x.2.2", "t", "RFC 6455 §5.1");
        let r = grade(&info, RunCheck::Unmasked, &[]);
        assert_eq!(r.verdict, Verdict::NotRun);
        let ok = vec![("1.1.1".to_string(), facts(3, 0))];
        let r = grade(&info, RunCheck::Unmasked, &ok);
        assert_eq!(r.verdict, Verdict::Ok);
        assert!(r.observed.contains("3 server frames in 1 cases"));
        let bad = vec![
            ("1.1.1".to_string(), facts(3, 0)),
            ("2.1".to_string(), facts(2, 2)),
        ];
        let r = grade(&info, RunCheck::Unmasked, &bad);
        assert_eq!(r.verdict, Verdict::Failed);
        assert!(r.observed.contains("first in case 2.1"), "{}", r.observed);
        assert_eq!(
            grade(&info, RunCheck::MinimalLength, &bad).verdict,
            Verdict::Ok
        );
    }
}
