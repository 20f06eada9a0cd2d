//! The RFC 6455 server suite: Autobahn|Testsuite's fuzzingclient cases (same ids,
//! parameters, timers and verdict rules) plus the checks Autobahn lacks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use wsspec::peer::{ConnectOptions, Target};
//! use wsspec::suite::{self, RunConfig};
//! let target = Target::parse("ws://127.0.0.1:9001/")?;
//! let catalog = suite::catalog();
//! let selection = suite::select(&catalog, &["6.4.*".into()], &[], false)?;
//! let report = suite::run(&target, &ConnectOptions::default(), &selection, RunConfig {
//!     jobs: 4,
//!     ..Default::default()
//! })
//! .await;
//! # Ok(()) }
//! ```
//!
//! Modules: [`spec`] (what a case sends and expects), [`fuzzer`] (Autobahn's client state
//! machine over the wire peer), [`verdict`] (the two verdicts), [`autobahn`] (the catalog,
//! one module per category), [`extra`] (`h.*` handshake and `x.*` framing checks with their
//! grading decisions), [`select`](mod@select) (`--cases` / `--exclude`), [`runner`] (parallelism,
//! deadline, progress).
//!
//! Deviations from Autobahn, each deliberate:
//! * close codes 1012-1014 from the server are valid (IANA registry); Autobahn rejects them;
//! * every case is bounded in time: after a server-initiated close the kit waits at most
//!   2 s for the server to close TCP when no kill timer is pending, each case has a safety
//!   cap, and the run has a global deadline; Autobahn can wait forever in those situations;
//! * the kit answers at most 1000 server pings per case and records at most 100 000 events
//!   / 128 MiB, so a hostile server cannot exhaust memory; server messages are limited by
//!   `ConnectOptions::limits` (32 MiB by default; a bigger one fails the connection with 1009);
//! * permessage-deflate (12.x, 13.x) uses generated stand-ins for Autobahn's data files
//!   (same sizes and types, see `autobahn::deflate_data`); a server that refuses the offer
//!   is UNIMPLEMENTED, as in Autobahn;
//! * 9.5/9.6 write their chops back to back and 9.7/9.8 pipeline their 1000 messages, where
//!   Autobahn takes a reactor turn per chop and waits for each echo: same verdict rules,
//!   durations that measure throughput instead of round trips;
//! * the handshake uses the caller's `ConnectOptions` (subprotocols, Origin, headers), so
//!   servers that require them can be tested; Autobahn offers nothing.

pub mod autobahn;
pub(crate) mod case;
pub(crate) mod describe;
pub mod extra;
pub mod extra_framing;
pub mod fuzzer;
pub mod http2;
pub mod pmd;
pub mod runner;
pub mod select;
pub mod spec;
pub mod verdict;
pub mod wire_checks;

pub use case::{CaseInfo, Catalog, Selection};
pub use runner::{run, OnCaseDone, RunConfig};
pub use select::{select, SelectError};

use case::CaseDef;

/// Every case in execution order: `h.*`, then Autobahn's categories in numeric order, then `x.*`.
pub(crate) fn defs() -> Vec<CaseDef> {
    let mut v = extra::handshake_defs();
    v.extend(autobahn::defs());
    v.extend(extra_framing::framing_defs());
    v.extend(pmd::defs());
    v
}

/// The catalog of every case the suite knows (517 Autobahn cases plus the extra checks).
pub fn catalog() -> Catalog {
    Catalog { cases: defs() }
}

/// The catalog for a target: over HTTP/2 (`h2c://`, `h2://`) the `h.*` checks, which write
/// raw HTTP/1.1, are NOT RUN (their counterparts are `h2.1.*`), and the RFC 8441 checks
/// `h2.*` are added. Over HTTP/1.1 it is [`catalog()`].
pub fn catalog_for(target: &crate::peer::Target) -> Catalog {
    if !target.http2 {
        return catalog();
    }
    let mut cases: Vec<CaseDef> = defs()
        .into_iter()
        .map(|d| {
            if d.info.category == "h" {
                CaseDef::not_run(
                    d.info,
                    "an HTTP/1.1 handshake check: over HTTP/2 see its h2.1.* counterpart (docs/http2.md)",
                )
            } else {
                d
            }
        })
        .collect();
    cases.extend(http2::defs());
    Catalog { cases }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_unique() {
        let cat = catalog();
        let c: Vec<&CaseInfo> = cat.iter().collect();
        for w in c.windows(2) {
            assert!(
                w[0].sort_key() < w[1].sort_key(),
                "{} / {}",
                w[0].id,
                w[1].id
            );
        }
        assert!(c
            .iter()
            .all(|x| !x.title.is_empty() && x.rfc.starts_with("RFC")));
    }

    #[test]
    fn run_alone_flags() {
        let cat = catalog();
        let c: Vec<&CaseInfo> = cat.iter().collect();
        let alone: Vec<&str> = c
            .iter()
            .filter(|x| x.must_run_alone && !x.id.starts_with("9."))
            .map(|x| x.id.as_str())
            .collect();
        assert!(alone.is_empty(), "{alone:?}");
        let all = defs();
        let timed: Vec<&str> = all
            .iter()
            .filter(|d| d.timed)
            .map(|d| d.info.id.as_str())
            .collect();
        assert_eq!(
            timed,
            vec!["5.19", "5.20", "6.4.1", "6.4.2", "6.4.3", "6.4.4", "x.4.1"]
        );
        assert!(c
            .iter()
            .filter(|x| x.id.starts_with("9."))
            .all(|x| x.must_run_alone));
        assert!(c.iter().filter(|x| x.slow).all(|x| x.category == "9"));
    }
}
