//! The `sleep` action: a fixed wait.

use std::time::Duration;

use super::{ActionSpec, Uses};
use crate::scenario::duration::format_duration;
use crate::scenario::read::{Fields, Reader};

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! time_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Wait.
            Sleep(Sleep),
        ] $($rest)* }
    };
}
pub(crate) use time_actions;

/// `sleep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sleep {
    /// `for`.
    pub duration: Duration,
}

impl ActionSpec for Sleep {
    const NAME: &'static str = "sleep";
    const KEYS: &'static [&'static str] = &["for"];
    const CHECK: &'static str = "sleep";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        if !f.has("for") {
            r.missing(f, "for", "how long to wait, e.g. \"500ms\"");
        }
        r.duration(f, "for").map(|duration| Sleep { duration })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            fixed_wait: self.duration,
            ..Uses::default()
        }
    }

    fn title(&self) -> String {
        format!("sleep {}", format_duration(self.duration))
    }
}
