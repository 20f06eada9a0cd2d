//! Reports: the shared data model and the writers built on it.
//!
//! * [`model`]: the data model (one [`RunReport`] per run, one [`CaseReport`] per case).
//! * [`json`]: the stable JSON form (schema in `docs/report-schema.md`).
//! * [`junit`]: JUnit XML for CI systems.
//! * [`html`]: a static, self-contained site with a multi-agent matrix.
//! * [`terminal`]: summary table, failure lines and a progress bar.
//! * [`baseline`]: accepted deviations, the pass/fail rule and the exit code.
//!
//! Every writer orders cases with [`ids::compare_ids`] and decides pass/fail with
//! [`policy::Policy`], so the terminal, JUnit, HTML and exit code never disagree.

pub mod baseline;
pub mod error;
pub mod html;
pub mod ids;
pub mod json;
pub mod junit;
pub mod model;
pub mod policy;
pub mod terminal;
pub(crate) mod text;

pub use baseline::{evaluate, evaluate_with, exit_code, Baseline, BaselineEntry, Outcome};
pub use error::ReportError;
pub use html::write_html;
pub use ids::{category, compare_ids};
pub use json::{read_json, write_json};
pub use junit::{write_junit, write_junit_with};
pub use model::*;
pub use policy::{FailReason, Policy, Standing};
pub use terminal::{failure_lines, summary_table, Progress};
