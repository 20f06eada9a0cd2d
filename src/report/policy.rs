//! The pass/fail rule, in one place, for every writer and the exit code.
//!
//! Autobahn reports the behaviour and the closing handshake separately; a run still needs
//! one answer per case. A case fails when its behaviour is FAILED, when it is NON-STRICT
//! under `--strict`, or when its close verdict is one the [`Policy`] marks failing.

use super::model::{CaseReport, CloseVerdict, Verdict};

/// Which outcomes fail a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `--strict`: NON-STRICT behaviour and [`Policy::close_strict`] verdicts fail too.
    pub strict: bool,
    /// Close verdicts that always fail the case.
    pub close_always: Vec<CloseVerdict>,
    /// Close verdicts that fail the case only under `strict`.
    pub close_strict: Vec<CloseVerdict>,
}

impl Policy {
    /// The default policy.
    ///
    /// FAILED and UNCLEAN close verdicts always fail (Autobahn's fail colour); WRONG CODE
    /// (Autobahn's non-strict colour) and FAILED BY CLIENT (the server kept TCP open, which
    /// RFC 6455 §7.1.1 only asks with SHOULD) fail only under `strict`.
    pub fn new(strict: bool) -> Self {
        Policy {
            strict,
            close_always: vec![CloseVerdict::Failed, CloseVerdict::Unclean],
            close_strict: vec![CloseVerdict::WrongCode, CloseVerdict::FailedByClient],
        }
    }

    /// True if this behaviour verdict fails the case on its own.
    pub fn behaviour_fails(&self, v: Verdict) -> bool {
        v == Verdict::Failed || (self.strict && v == Verdict::NonStrict)
    }

    /// True if this close verdict fails the case on its own.
    pub fn close_fails(&self, v: CloseVerdict) -> bool {
        self.close_always.contains(&v) || (self.strict && self.close_strict.contains(&v))
    }

    /// Every reason this case fails; empty when it does not.
    pub fn fail_reasons(&self, case: &CaseReport) -> Vec<FailReason> {
        let mut out = Vec::new();
        if self.behaviour_fails(case.verdict) {
            out.push(FailReason::Behaviour(case.verdict));
        }
        if let Some(cv) = case.close_verdict {
            if self.close_fails(cv) {
                out.push(FailReason::Close(cv));
            }
        }
        out
    }

    /// How the case counts for the run, the one standing every writer shows.
    pub fn standing(&self, case: &CaseReport) -> Standing {
        if !self.fail_reasons(case).is_empty() {
            return Standing::Failed;
        }
        match case.verdict {
            Verdict::NotRun | Verdict::Unimplemented => Standing::Skipped,
            Verdict::Informational | Verdict::NonStrict => Standing::Noted,
            Verdict::Ok | Verdict::Failed => {
                if case.close_verdict.is_some_and(|c| c != CloseVerdict::Ok) {
                    Standing::Noted
                } else {
                    Standing::Passed
                }
            }
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new(false)
    }
}

/// How a case counts for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Passed with nothing to note.
    Passed,
    /// Passed, with something worth showing (INFORMATIONAL, NON-STRICT without `--strict`,
    /// a non-failing close verdict).
    Noted,
    /// Not executed or not applicable (NOT RUN, UNIMPLEMENTED); never a pass.
    Skipped,
    /// Fails the run (unless a baseline accepts it).
    Failed,
}

/// One reason a case fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The behaviour verdict fails.
    Behaviour(Verdict),
    /// The close verdict fails.
    Close(CloseVerdict),
}

impl FailReason {
    /// Display label, e.g. `FAILED` or `close UNCLEAN`.
    pub fn label(self) -> String {
        match self {
            FailReason::Behaviour(v) => v.label().to_string(),
            FailReason::Close(c) => format!("close {}", c.label()),
        }
    }
}

/// Joins reasons for display: `FAILED + close UNCLEAN`.
pub fn reasons_label(reasons: &[FailReason]) -> String {
    reasons
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// All behaviour verdicts, mildest first.
pub const VERDICTS: [Verdict; 6] = [
    Verdict::Ok,
    Verdict::Informational,
    Verdict::Unimplemented,
    Verdict::NonStrict,
    Verdict::NotRun,
    Verdict::Failed,
];

/// All close verdicts, mildest first.
pub const CLOSE_VERDICTS: [CloseVerdict; 7] = [
    CloseVerdict::Ok,
    CloseVerdict::Informational,
    CloseVerdict::WrongCode,
    CloseVerdict::FailedByClient,
    CloseVerdict::NotRun,
    CloseVerdict::Unclean,
    CloseVerdict::Failed,
];

/// Severity of a behaviour verdict, for "worse than the baseline".
///
/// INFORMATIONAL ranks with OK (the RFC leaves the behaviour open, so neither is better).
/// NOT RUN ranks above NON-STRICT: losing coverage of a case is a regression even though
/// it does not fail the run.
pub fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Ok | Verdict::Informational => 0,
        Verdict::Unimplemented => 1,
        Verdict::NonStrict => 2,
        Verdict::NotRun => 3,
        Verdict::Failed => 4,
    }
}

/// Severity of a close verdict; a case without a closing handshake ranks as OK, and so
/// does INFORMATIONAL.
pub fn close_rank(v: Option<CloseVerdict>) -> u8 {
    match v {
        None | Some(CloseVerdict::Ok) | Some(CloseVerdict::Informational) => 0,
        Some(CloseVerdict::WrongCode) => 1,
        Some(CloseVerdict::FailedByClient) => 2,
        Some(CloseVerdict::NotRun) => 3,
        Some(CloseVerdict::Unclean) => 4,
        Some(CloseVerdict::Failed) => 5,
    }
}

/// Parses a behaviour verdict label (`OK`, `NON-STRICT`, …, `NOT RUN`).
pub fn verdict_from_label(s: &str) -> Option<Verdict> {
    VERDICTS.iter().copied().find(|v| v.label() == s)
}

/// Parses a close verdict label (`OK`, `WRONG CODE`, …).
pub fn close_verdict_from_label(s: &str) -> Option<CloseVerdict> {
    CLOSE_VERDICTS.iter().copied().find(|v| v.label() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for v in VERDICTS {
            assert_eq!(verdict_from_label(v.label()), Some(v));
        }
        for v in CLOSE_VERDICTS {
            assert_eq!(close_verdict_from_label(v.label()), Some(v));
        }
        assert_eq!(verdict_from_label("ok"), None);
    }

    #[test]
    fn close_policy_depends_on_strict() {
        let lax = Policy::new(false);
        let strict = Policy::new(true);
        assert!(lax.close_fails(CloseVerdict::Unclean));
        assert!(!lax.close_fails(CloseVerdict::WrongCode));
        assert!(strict.close_fails(CloseVerdict::WrongCode));
        assert!(!strict.close_fails(CloseVerdict::Informational));
        assert!(!lax.behaviour_fails(Verdict::NonStrict));
        assert!(strict.behaviour_fails(Verdict::NonStrict));
        assert!(!strict.behaviour_fails(Verdict::NotRun));
    }
}
