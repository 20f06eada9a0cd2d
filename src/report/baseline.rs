//! Baselines: accepted deviations for a given server, the run's pass/fail decision and
//! the exit code.
//!
//! File format (documented in `docs/report-schema.md`):
//!
//! ```json
//! {
//!   "tool": "wsspec",
//!   "schema": 1,
//!   "cases": {
//!     "3.2": ["NON-STRICT"],
//!     "7.13.1": ["INFORMATIONAL", "close:INFORMATIONAL"]
//!   }
//! }
//! ```
//!
//! Each id maps to the outcomes accepted for it: behaviour verdict labels as-is, close
//! verdict labels prefixed with `close:`. A failing outcome is excused only when the
//! baseline lists exactly that outcome for that id.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde::Deserialize;

use super::error::{parse_error, read_capped, ReportError};
use super::ids::{compare_ids, sorted_cases};
use super::json::write_atomic;
use super::model::{CaseReport, CloseVerdict, RunReport, Verdict};
use super::policy::{
    close_rank, close_verdict_from_label, verdict_from_label, verdict_rank, FailReason, Policy,
};

/// Baseline format version.
pub const BASELINE_SCHEMA: u32 = 1;

/// Largest baseline file accepted by [`Baseline::load`].
const MAX_BASELINE_BYTES: u64 = 16 << 20;

/// One accepted outcome for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaselineEntry {
    /// A behaviour verdict (written as its label, e.g. `NON-STRICT`).
    Verdict(Verdict),
    /// A close verdict (written `close:<label>`, e.g. `close:WRONG CODE`).
    Close(CloseVerdict),
}

impl BaselineEntry {
    /// The string written in the baseline file.
    pub fn token(self) -> String {
        match self {
            BaselineEntry::Verdict(v) => v.label().to_string(),
            BaselineEntry::Close(c) => format!("close:{}", c.label()),
        }
    }

    /// Parses a baseline token; `None` if it is not in the vocabulary.
    pub fn parse(token: &str) -> Option<Self> {
        match token.strip_prefix("close:") {
            Some(c) => close_verdict_from_label(c.trim()).map(BaselineEntry::Close),
            None => verdict_from_label(token).map(BaselineEntry::Verdict),
        }
    }

    fn from_reason(r: FailReason) -> Self {
        match r {
            FailReason::Behaviour(v) => BaselineEntry::Verdict(v),
            FailReason::Close(c) => BaselineEntry::Close(c),
        }
    }
}

/// Accepted outcomes per case id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Case id to accepted outcomes (no duplicates; order as loaded or recorded).
    pub cases: BTreeMap<String, Vec<BaselineEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    tool: String,
    #[serde(default = "default_schema")]
    schema: u32,
    #[serde(default)]
    cases: BTreeMap<String, Vec<String>>,
}

fn default_schema() -> u32 {
    BASELINE_SCHEMA
}

impl Baseline {
    /// An empty baseline (every case is expected to be OK).
    pub fn new() -> Self {
        Baseline::default()
    }

    /// Reads a baseline file; errors name the file and the offending id or line.
    pub fn load(path: &Path) -> Result<Self, ReportError> {
        let text = read_capped(path, MAX_BASELINE_BYTES)?;
        let raw: RawBaseline = serde_json::from_str(&text).map_err(|e| parse_error(path, e))?;
        if raw.tool != "wsspec" {
            return Err(ReportError::WrongTool {
                path: path.to_path_buf(),
                found: raw.tool,
            });
        }
        if raw.schema > BASELINE_SCHEMA {
            return Err(ReportError::UnsupportedSchema {
                path: path.to_path_buf(),
                found: raw.schema,
                supported: BASELINE_SCHEMA,
            });
        }
        let mut b = Baseline::new();
        for (id, tokens) in raw.cases {
            for t in tokens {
                let entry =
                    BaselineEntry::parse(&t).ok_or_else(|| ReportError::BadBaselineEntry {
                        path: path.to_path_buf(),
                        id: id.clone(),
                        entry: t.clone(),
                    })?;
                b.insert(&id, entry);
            }
        }
        Ok(b)
    }

    /// Records every outcome of `report` that is neither OK nor failing by nature:
    /// behaviour NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, NOT RUN, and close WRONG CODE,
    /// FAILED BY CLIENT, INFORMATIONAL, NOT RUN. FAILED behaviour and FAILED/UNCLEAN
    /// close verdicts are never recorded: accepting a failure has to be done by hand.
    pub fn from_report(report: &RunReport) -> Self {
        let mut b = Baseline::new();
        for case in &report.cases {
            if !matches!(case.verdict, Verdict::Ok | Verdict::Failed) {
                b.insert(&case.id, BaselineEntry::Verdict(case.verdict));
            }
            if let Some(cv) = case.close_verdict {
                if !matches!(
                    cv,
                    CloseVerdict::Ok | CloseVerdict::Failed | CloseVerdict::Unclean
                ) {
                    b.insert(&case.id, BaselineEntry::Close(cv));
                }
            }
        }
        b
    }

    /// Adds an accepted outcome for `id` (no-op if already listed).
    pub fn insert(&mut self, id: &str, entry: BaselineEntry) {
        let list = self.cases.entry(id.to_string()).or_default();
        if !list.contains(&entry) {
            list.push(entry);
        }
    }

    /// The outcomes accepted for `id` (empty when the id is not listed).
    pub fn accepted(&self, id: &str) -> &[BaselineEntry] {
        self.cases.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The file contents: ids in numeric order, one id per line.
    pub fn to_json_string(&self) -> String {
        let mut ids: Vec<&String> = self.cases.keys().collect();
        ids.sort_by(|a, b| compare_ids(a, b));
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\n  \"tool\": \"wsspec\",\n  \"schema\": {BASELINE_SCHEMA},\n  \"cases\": {{"
        );
        for (i, id) in ids.iter().enumerate() {
            let tokens: Vec<String> = self.cases[*id]
                .iter()
                .map(|e| json_str(&e.token()))
                .collect();
            let _ = write!(
                out,
                "{}\n    {}: [{}]",
                if i == 0 { "" } else { "," },
                json_str(id),
                tokens.join(", ")
            );
        }
        if !ids.is_empty() {
            out.push_str("\n  ");
        }
        out.push_str("}\n}\n");
        out
    }

    /// Writes the baseline file (atomically, creating parent directories).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        write_atomic(path, self.to_json_string().as_bytes())
    }
}

fn json_str(s: &str) -> String {
    // Serialising a &str cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The run's verdict after applying the policy and the baseline. All lists hold case ids
/// in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Cases that fail the run (not excused by the baseline).
    pub failed: Vec<String>,
    /// Cases worse than their baseline (an id absent from the baseline is expected OK).
    /// A regression that is not also in `failed` does not change the exit code.
    pub regressions: Vec<String>,
    /// Failing cases excused because the baseline lists exactly their failing outcome.
    pub accepted: Vec<String>,
    /// Cases with behaviour NOT RUN: never a pass, shown, but not a failure by themselves.
    pub not_run: Vec<String>,
    /// Listed cases now better than every outcome their baseline accepts (the baseline is
    /// stale and may be refreshed).
    pub improved: Vec<String>,
    /// Number of cases evaluated.
    pub total: usize,
}

impl Outcome {
    /// True when nothing fails the run.
    pub fn passed(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Evaluates `report` with the default [`Policy`] for `strict` and an optional baseline.
pub fn evaluate(report: &RunReport, strict: bool, baseline: Option<&Baseline>) -> Outcome {
    evaluate_with(report, &Policy::new(strict), baseline)
}

/// Evaluates `report` with an explicit policy (e.g. extra failing close verdicts).
pub fn evaluate_with(report: &RunReport, policy: &Policy, baseline: Option<&Baseline>) -> Outcome {
    let mut out = Outcome {
        total: report.cases.len(),
        ..Outcome::default()
    };
    for case in sorted_cases(report) {
        let listed = baseline.map(|b| b.accepted(&case.id)).unwrap_or(&[]);
        let reasons = policy.fail_reasons(case);
        if !reasons.is_empty() {
            let excused = reasons
                .iter()
                .all(|r| listed.contains(&BaselineEntry::from_reason(*r)));
            if excused {
                out.accepted.push(case.id.clone());
            } else {
                out.failed.push(case.id.clone());
            }
        }
        if case.verdict == Verdict::NotRun {
            out.not_run.push(case.id.clone());
        }
        if baseline.is_some() {
            match compare_to_baseline(case, listed) {
                Change::Worse => out.regressions.push(case.id.clone()),
                Change::Better => out.improved.push(case.id.clone()),
                Change::Same => {}
            }
        }
    }
    out
}

enum Change {
    Worse,
    Same,
    Better,
}

/// Compares a case with what its baseline entries accept, behaviour and close separately.
///
/// A dimension the baseline does not mention is expected OK. An outcome listed verbatim is
/// never worse; otherwise it is worse if it ranks above the worst accepted outcome.
fn compare_to_baseline(case: &CaseReport, listed: &[BaselineEntry]) -> Change {
    let verdicts: Vec<Verdict> = listed
        .iter()
        .filter_map(|e| match e {
            BaselineEntry::Verdict(v) => Some(*v),
            BaselineEntry::Close(_) => None,
        })
        .collect();
    let closes: Vec<CloseVerdict> = listed
        .iter()
        .filter_map(|e| match e {
            BaselineEntry::Close(c) => Some(*c),
            BaselineEntry::Verdict(_) => None,
        })
        .collect();

    let b_cur = verdict_rank(case.verdict);
    let (b_worse, b_better) = if verdicts.contains(&case.verdict) {
        (false, false)
    } else if verdicts.is_empty() {
        (b_cur > verdict_rank(Verdict::Ok), false)
    } else {
        let max = verdicts.iter().map(|v| verdict_rank(*v)).max().unwrap_or(0);
        let min = verdicts.iter().map(|v| verdict_rank(*v)).min().unwrap_or(0);
        (b_cur > max, b_cur < min)
    };

    let c_cur = close_rank(case.close_verdict);
    let listed_close = case.close_verdict.is_some_and(|c| closes.contains(&c));
    let (c_worse, c_better) = if listed_close {
        (false, false)
    } else if closes.is_empty() {
        (c_cur > 0, false)
    } else {
        let max = closes
            .iter()
            .map(|c| close_rank(Some(*c)))
            .max()
            .unwrap_or(0);
        let min = closes
            .iter()
            .map(|c| close_rank(Some(*c)))
            .min()
            .unwrap_or(0);
        (c_cur > max, c_cur < min)
    };

    if b_worse || c_worse {
        Change::Worse
    } else if b_better || c_better {
        Change::Better
    } else {
        Change::Same
    }
}

/// Process exit code for an outcome: 0 when nothing fails the run, 1 otherwise.
pub fn exit_code(outcome: &Outcome) -> i32 {
    if outcome.failed.is_empty() {
        0
    } else {
        1
    }
}
