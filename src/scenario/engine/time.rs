//! How `sleep` runs.

use super::runner::{Outcome, RunStep, Runner, StepCx, Window};
use crate::scenario::actions::Sleep;
use crate::scenario::describe::ms;
use crate::scenario::format_duration;

impl RunStep for Sleep {
    async fn run(&self, r: &mut Runner<'_>, cx: &StepCx<'_>) -> Outcome {
        let Window { until, cut } = r.window(cx.t0, self.duration);
        tokio::time::sleep_until(until.into()).await;
        if cut.is_empty() {
            Outcome::ok("", "", format!("slept {}", format_duration(self.duration)))
        } else {
            Outcome::failed("", "", format!("slept {}{cut}", ms(cx.t0.elapsed())))
        }
    }
}
