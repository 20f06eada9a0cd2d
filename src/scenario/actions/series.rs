//! `expect_series`: a repeated message (or ping) over a window, counted and timed. It
//! measures a client's heartbeat (its interval), its retries of an unacknowledged
//! message (how many, how often, whether they stop), and, with `max_count = 0`, that a
//! message never comes again (no duplicate replay).

use std::time::Duration;

use super::{ActionSpec, Uses};
use crate::scenario::describe::matcher;
use crate::scenario::duration::format_duration;
use crate::scenario::matcher::MessageMatcher;
use crate::scenario::read::{Fields, Reader, Semantic};
use crate::scenario::resolve::{sub_matcher, ResolveError};
use crate::scenario::vars::Vars;

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! series_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Count and time a repeated message or ping over a window.
            ExpectSeries(ExpectSeries),
        ] $($rest)* }
    };
}
pub(crate) use series_actions;

/// What `expect_series` counts.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesOf {
    /// `match = {...}`: data messages that match (consumed; others stay queued).
    Messages(MessageMatcher),
    /// `pings = true`: ping frames from the peer.
    Pings,
}

/// `expect_series`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectSeries {
    /// `conn`.
    pub conn: String,
    /// `match` or `pings`.
    pub of: SeriesOf,
    /// `for`: the window, from the step's start; the step lasts that long unless
    /// `max_count` is exceeded first.
    pub window: Duration,
    /// `min_count` (default 1).
    pub min_count: u32,
    /// `max_count` (default: no limit).
    pub max_count: Option<u32>,
    /// `min_interval`: no two consecutive items closer than this.
    pub min_interval: Option<Duration>,
    /// `max_interval`: no two consecutive items further apart than this (and the
    /// first not later than this after the step's start).
    pub max_interval: Option<Duration>,
}

impl ActionSpec for ExpectSeries {
    const NAME: &'static str = "expect_series";
    const KEYS: &'static [&'static str] = &[
        "conn",
        "match",
        "pings",
        "for",
        "min_count",
        "max_count",
        "min_interval",
        "max_interval",
    ];
    const CHECK: &'static str = "message series";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let of = match r.exactly_one(f, &["match", "pings"], true) {
            Some("match") => r
                .matcher("match", f.get("match")?, &[])
                .map(SeriesOf::Messages),
            Some(_) => match r.boolean(f, "pings") {
                Some(true) => Some(SeriesOf::Pings),
                Some(false) => {
                    r.err(
                        Semantic,
                        &f.key_span("pings"),
                        "field \"pings\": only true is meaningful; use match = {...} for messages",
                    );
                    None
                }
                None => None,
            },
            None => None,
        };
        if !f.has("for") {
            r.missing(f, "for", "the observation window, e.g. \"2s\"");
        }
        let window = r.duration(f, "for");
        let min_count = r.int(f, "min_count", 0, 100_000).unwrap_or(1) as u32;
        let max_count = r.int(f, "max_count", 0, 100_000).map(|n| n as u32);
        if let Some(max) = max_count {
            if max < min_count {
                r.err(
                    Semantic,
                    &f.key_span("max_count"),
                    format!("field \"max_count\": {max} is below min_count ({min_count})"),
                );
            }
        }
        let min_interval = r.duration(f, "min_interval");
        let max_interval = r.duration(f, "max_interval");
        Some(ExpectSeries {
            conn: conn?,
            of: of?,
            window: window?,
            min_count,
            max_count,
            min_interval,
            max_interval,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            fixed_wait: self.window,
            ..Uses::conn(&self.conn)
        }
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        match &mut self.of {
            SeriesOf::Messages(m) => sub_matcher(m, vars),
            SeriesOf::Pings => Ok(()),
        }
    }

    fn title(&self) -> String {
        let what = match &self.of {
            SeriesOf::Messages(m) => matcher(m),
            SeriesOf::Pings => "pings".into(),
        };
        let count = match self.max_count {
            Some(0) => "none".to_string(),
            Some(max) if max == self.min_count => format!("exactly {max}"),
            Some(max) => format!("{}-{max}", self.min_count),
            None => format!("at least {}", self.min_count),
        };
        format!(
            "expect {count} of {what} on {} over {}",
            self.conn,
            format_duration(self.window)
        )
    }
}
