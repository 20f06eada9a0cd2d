//! What a case is: its catalog entry ([`CaseInfo`]) and, built on demand, what it does.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::extra::HandshakeCheck;
use super::spec::FuzzSpec;
use super::wire_checks::RunCheck;

/// A catalog entry: everything about a case except its payloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseInfo {
    /// Dotted id: Autobahn's (`6.4.3`) or an extra check (`h.2.1`, `x.1.1`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// The rule checked, e.g. `RFC 6455 §5.2`.
    pub rfc: String,
    /// Category: `1`..`13` for Autobahn, `h` (opening handshake) or `x` (framing) for the
    /// checks Autobahn lacks.
    pub category: String,
    /// Long-running (limits/performance; permessage-deflate in the client role); left out of
    /// the default set, run with `--all` or by id.
    pub slow: bool,
    /// Never runs beside another case with this flag: the runners (the server suite and
    /// `wsspec clients`) run them one at a time in a lane of their own (see
    /// [`crate::suite::runner`] for why).
    pub must_run_alone: bool,
}

impl CaseInfo {
    pub(crate) fn new(id: impl Into<String>, title: impl Into<String>, rfc: &str) -> Self {
        let id = id.into();
        let category = id.split('.').next().unwrap_or("").to_owned();
        CaseInfo {
            id,
            title: title.into(),
            rfc: rfc.to_owned(),
            category,
            slow: false,
            must_run_alone: false,
        }
    }

    pub(crate) fn slow(mut self) -> Self {
        self.slow = true;
        self
    }

    pub(crate) fn alone(mut self) -> Self {
        self.must_run_alone = true;
        self
    }

    /// The numeric id tuple Autobahn sorts by; extra checks sort by their own numbers.
    pub fn sort_key(&self) -> (u8, Vec<u32>) {
        let group = match self.category.as_str() {
            "h" => 0,
            "x" => 2,
            "pmd" => 3,
            "h2" => 4,
            _ => 1,
        };
        let nums = self
            .id
            .split('.')
            .filter_map(|p| p.parse::<u32>().ok())
            .collect();
        (group, nums)
    }
}

/// What running a case means.
#[derive(Debug, Clone)]
pub(crate) enum CaseKind {
    /// Driven by the fuzzing client over one WebSocket connection.
    Fuzz(FuzzSpec),
    /// An opening-handshake check with a hand-made request.
    Handshake(HandshakeCheck),
    /// A permessage-deflate check (`pmd.*`).
    Deflate(super::pmd::PmdCheck),
    /// An RFC 8441 check over HTTP/2 (`h2.*`).
    Http2(super::http2::H2Check),
    /// Listed but not executable by this version of the kit; reported NOT RUN. (Every listed
    /// case runs today; kept so a future catalog entry can say so instead of faking a pass.)
    #[allow(dead_code)]
    NotRun(String),
    /// Judged after every other case, over the frames of all fuzzing cases of the run.
    RunLevel,
}

/// A catalog entry plus the constructor of its payloads (built only when the case runs, so
/// that listing the catalog never allocates the 16 MiB messages of 9.x).
#[derive(Clone)]
pub(crate) struct CaseDef {
    pub info: CaseInfo,
    pub make: Arc<dyn Fn() -> CaseKind + Send + Sync>,
    /// Reported without a connection (known at catalog time to be NOT RUN).
    pub not_run: Option<String>,
    /// A run-level check, graded once every other case of the run is done.
    pub run_level: Option<RunCheck>,
    /// Mostly waits on its own pauses (1 s markers): started at the beginning of the run,
    /// beside the other cases and outside the `jobs` limit (see [`crate::suite::runner`]).
    pub timed: bool,
    /// A must-run-alone case light enough (messages of 1 MiB at most) to run beside the
    /// others in the server suite; only the big ones take the one-at-a-time lane.
    pub light: bool,
    /// Cases with the same key send the same compressed messages (12.x/13.x: message length
    /// and data set, [`super::autobahn::deflate_cache`]); the server suite starts them side
    /// by side, after the other cases, largest messages first.
    pub shares: Option<(usize, u8)>,
}

impl CaseDef {
    pub(crate) fn new(info: CaseInfo, make: impl Fn() -> CaseKind + Send + Sync + 'static) -> Self {
        CaseDef {
            info,
            make: Arc::new(make),
            not_run: None,
            run_level: None,
            timed: false,
            light: false,
            shares: None,
        }
    }

    /// Marks a case that mostly sleeps on its pauses (see [`CaseDef::timed`]).
    pub(crate) fn timed(mut self) -> Self {
        self.timed = true;
        self
    }

    /// A run-level check (see [`super::wire_checks`]).
    pub(crate) fn run_level(info: CaseInfo, check: RunCheck) -> Self {
        let mut d = CaseDef::new(info, || CaseKind::RunLevel);
        d.run_level = Some(check);
        d
    }

    /// A listed case the kit cannot execute; reported NOT RUN with `reason`.
    #[allow(dead_code)]
    pub(crate) fn not_run(info: CaseInfo, reason: &str) -> Self {
        let r = reason.to_owned();
        let mut d = CaseDef::new(info, move || CaseKind::NotRun(r.clone()));
        d.not_run = Some(reason.to_owned());
        d
    }

    pub(crate) fn fuzz(
        info: CaseInfo,
        make: impl Fn() -> FuzzSpec + Send + Sync + 'static,
    ) -> Self {
        CaseDef::new(info, move || CaseKind::Fuzz(make()))
    }
}

/// How a runner places a case beside the others (the scheduling rules of
/// [`crate::suite::runner`], shared by the client runners of [`crate::clients`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Mostly sleeps on its pauses: started at the beginning, outside the `jobs` limit.
    Timed,
    /// Big messages (4-16 MiB): never two at once, so peak memory stays that of one.
    Alone,
    /// Everything else: up to `jobs` at once.
    Shared,
}

impl CaseDef {
    /// Where a runner places this case (see [`Lane`]).
    pub(crate) fn lane(&self) -> Lane {
        if self.timed && !self.info.must_run_alone {
            Lane::Timed
        } else if self.info.must_run_alone && !self.light {
            Lane::Alone
        } else {
            Lane::Shared
        }
    }
}

/// Every case the suite knows, in execution order, each with what it does.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) cases: Vec<CaseDef>,
}

/// The cases chosen for a run ([`crate::suite::select()`]), in execution order, each with
/// what it does, so the runner never looks a case up again by its id.
#[derive(Clone)]
pub struct Selection {
    pub(crate) cases: Vec<CaseDef>,
}

macro_rules! case_list {
    ($t:ident) => {
        impl $t {
            /// The catalog entries, in execution order.
            pub fn iter(&self) -> impl ExactSizeIterator<Item = &CaseInfo> + Clone {
                self.cases.iter().map(|d| &d.info)
            }

            /// How many cases.
            pub fn len(&self) -> usize {
                self.cases.len()
            }

            /// True when there is no case.
            pub fn is_empty(&self) -> bool {
                self.cases.is_empty()
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.iter().map(|i| &i.id)).finish()
            }
        }
    };
}
case_list!(Catalog);
case_list!(Selection);
