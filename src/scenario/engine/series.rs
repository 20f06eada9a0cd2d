//! How `expect_series` runs: it watches the connection for the whole window, takes
//! every matching message out of the queue (or notes every ping), and then judges the
//! count and the gaps between consecutive items. A count above `max_count` fails at
//! once; a connection that ends stops the watch (what came before is still judged, and
//! the end is named).

use std::time::{Duration, Instant};

use super::expect::closed_text;
use super::runner::{Outcome, RunStep, Runner, StepCx, Window};
use crate::scenario::actions::{ExpectSeries, SeriesOf};
use crate::scenario::describe::{self, ms, short};
use crate::scenario::format_duration;

/// Gaps between consecutive times, and from `t0` to the first.
fn gaps(t0: Instant, at: &[Instant]) -> (Option<Duration>, Vec<Duration>) {
    let first = at.first().map(|a| a.saturating_duration_since(t0));
    let g = at
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]))
        .collect();
    (first, g)
}

fn list_ms(ds: &[Duration]) -> String {
    if ds.is_empty() {
        return "none".into();
    }
    let v: Vec<String> = ds
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
        .collect();
    format!("[{}] ms", v.join(", "))
}

impl RunStep for ExpectSeries {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let t0 = cx.t0;
        let what = match &self.of {
            SeriesOf::Messages(m) => describe::matcher(m),
            SeriesOf::Pings => "pings".into(),
        };
        let mut expected = match self.max_count {
            Some(0) => format!("no {what}"),
            Some(max) if max == self.min_count => format!("exactly {max} × {what}"),
            Some(max) => format!("{}-{max} × {what}", self.min_count),
            None => format!("at least {} × {what}", self.min_count),
        };
        expected += &format!(" within {}", format_duration(self.window));
        if let Some(d) = self.min_interval {
            expected += &format!(", gaps ≥ {}", format_duration(d));
        }
        if let Some(d) = self.max_interval {
            expected += &format!(", gaps ≤ {}", format_duration(d));
        }
        let compiled = match &self.of {
            SeriesOf::Messages(m) => match m.compile() {
                Ok(c) => Some(c),
                Err(e) => return Outcome::failed("", expected, e.to_string()),
            },
            SeriesOf::Pings => None,
        };
        let Some(conn) = r.conns.get(&self.conn) else {
            return r.not_open(&self.conn);
        };
        let Window { until, cut } = r.window(t0, self.window);
        let mut times: Vec<Instant> = Vec::new();
        let mut samples: Vec<String> = Vec::new();
        let max = self.max_count.map(|m| m as usize);
        let mut ended: Option<String> = None;
        let res = conn
            .wait_for(until, |st| {
                match &compiled {
                    Some(m) => {
                        let mut i = 0;
                        while i < st.queue.len() {
                            if m.matches(st.queue[i].as_ref()) {
                                if let Some(msg) = st.take(i) {
                                    times.push(msg.at);
                                    if samples.len() < 3 {
                                        samples.push(short(&msg.text_lossy(), 80));
                                    }
                                }
                            } else {
                                i += 1;
                            }
                        }
                    }
                    None => {
                        times = st
                            .pings
                            .iter()
                            .filter(|(_, at)| *at >= t0)
                            .map(|(_, at)| *at)
                            .collect();
                    }
                }
                if max.is_some_and(|m| times.len() > m) {
                    return Some(());
                }
                if st.close_frame.is_some() || st.finished() {
                    ended = Some(closed_text(st));
                    return Some(());
                }
                None
            })
            .await;
        let _ = res;
        let (first, g) = gaps(t0, &times);
        let mut observed = format!(
            "{} × {what}; first after {}, gaps {}",
            times.len(),
            first.map_or("none".into(), ms),
            list_ms(&g)
        );
        if !samples.is_empty() {
            observed += &format!("; e.g. {}", samples.join(" | "));
        }
        let mut problems = Vec::new();
        if let Some(m) = max {
            if times.len() > m {
                problems.push(format!(
                    "more than {m} within {}",
                    ms(Instant::now().saturating_duration_since(t0))
                ));
            }
        }
        if times.len() < self.min_count as usize {
            problems.push(format!("fewer than {}{cut}", self.min_count));
        }
        if let Some(d) = self.min_interval {
            if let Some(bad) = g.iter().find(|x| **x < d) {
                problems.push(format!("a gap of {} < {}", ms(*bad), format_duration(d)));
            }
        }
        if let Some(d) = self.max_interval {
            let mut all: Vec<Duration> = first.into_iter().collect();
            all.extend(g.iter().copied());
            if let Some(bad) = all.iter().find(|x| **x > d) {
                problems.push(format!("a gap of {} > {}", ms(*bad), format_duration(d)));
            }
        }
        if let Some(e) = &ended {
            observed += &format!("; {e}");
        }
        if problems.is_empty() {
            Outcome::ok("", expected, observed)
        } else {
            Outcome::failed("", expected, format!("{}: {observed}", problems.join(", ")))
        }
    }
}
