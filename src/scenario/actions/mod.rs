//! The table of scenario actions.
//!
//! Every action is a type in one family file here (`connections`, `send`, `expect`,
//! `http`, `server`, `files`, `time`) that says how it is read: its name, its keys, the
//! connection it uses, what it defines, how its templates are expanded and how it is
//! described (`ActionSpec`). How it runs is the matching `RunStep` impl in the same
//! family file of the engine (`src/scenario/engine/<family>.rs`). Those are the only two
//! places an action lives:
//!
//! 1. here, in its family file: a row in the family's list (the macro `<family>_actions`
//!    at the top of the file) and the type with its `ActionSpec` impl;
//! 2. in the engine's family file: its `RunStep` impl.
//!
//! The rows of all families make [`StepAction`] (one variant per action) and
//! [`ACTIONS`]; the loader, the load-time checks, the describer and the engine's
//! dispatch all take what they need from them. A row without an `ActionSpec` or a
//! `RunStep` impl does not build, so the compiler points at whatever is missing.
//!
//! [`Uses`] is what the load-time checks know about a step without knowing the action:
//! the connection it opens, uses or closes (`connect` dials out; a later `accept` will
//! open a connection the server dialled), what it does to the server, whether it edits
//! files, sends, or waits a fixed time.

use std::time::Duration;

use super::read::{Fields, Reader};
use super::resolve::ResolveError;
use super::vars::Vars;

mod client;
mod connections;
mod expect;
mod files;
mod http;
mod listen;
mod send;
mod series;
mod server;
mod time;

// Every public type of a family is part of the table's vocabulary, so the families are
// re-exported whole: a new action type needs no list here.
pub use client::*;
pub use connections::*;
pub use expect::*;
pub use files::*;
pub use http::*;
pub use listen::*;
pub use send::*;
pub use series::*;
pub use server::*;
pub use time::*;

/// How an action is read and described; one impl per action type.
pub(crate) trait ActionSpec: Sized {
    /// `action = "..."` in the file.
    const NAME: &'static str;
    /// The keys the step may have besides the common ones ([`COMMON_STEP_KEYS`]).
    const KEYS: &'static [&'static str];
    /// The kind of check, for the report's `rfc` column (`scenario <check> (file:line)`).
    const CHECK: &'static str;

    /// Reads the step's fields; every problem is reported on `r` (with its position), and
    /// `None` means the step could not be built.
    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self>;

    /// What the load-time checks need to know about the step.
    fn uses(&self) -> Uses<'_> {
        Uses::default()
    }

    /// Variables the step sets when it succeeds.
    fn defines(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Expands every template in place and re-checks what could not be checked at load
    /// time (sizes, paths, patterns).
    fn resolve(&mut self, _vars: &Vars) -> Result<(), ResolveError> {
        Ok(())
    }

    /// A title for a step that has none: what it does, in a few words.
    fn title(&self) -> String;
}

/// What a step needs and changes, as the load-time checks see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses<'a> {
    /// The connection it works on, and how.
    pub conn: ConnUse<'a>,
    /// What it does to the server under test; every server action needs `[server]`.
    pub server: Option<ServerUse>,
    /// It edits project files (needs `[server]`: paths are relative to its `cwd`).
    pub files: bool,
    /// It may write to the server's stdin, so the engine keeps a pipe to it open.
    pub stdin: bool,
    /// It sends a message: `${last_sent}` is set, and `expect_ack` may answer it.
    pub sends: bool,
    /// Its `${last_sent}` is the send it acknowledges, whatever came before (`expect_ack`).
    pub acks: bool,
    /// A wait that always lasts this long (`sleep`, `expect_silence`); such waits add up
    /// against the scenario deadline.
    pub fixed_wait: Duration,
}

/// How a step uses a named connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConnUse<'a> {
    /// No connection.
    #[default]
    None,
    /// Opens a connection under this name (again, if the name was used before);
    /// `stays_open` is false when the step expects the opening to fail.
    Opens {
        /// The name.
        conn: &'a str,
        /// Whether the connection is open after the step succeeds.
        stays_open: bool,
    },
    /// Works on the open connection.
    Uses(&'a str),
    /// Reads what the connection received, which stays readable after it closed.
    Reads(&'a str),
    /// Works on the open connection and leaves it closed; `why` completes
    /// "step N ...", e.g. "dropped its TCP connection".
    Closes {
        /// The name.
        conn: &'a str,
        /// What the step does to it.
        why: &'static str,
    },
}

impl<'a> ConnUse<'a> {
    /// The connection's name, if the step has one.
    pub fn name(self) -> Option<&'a str> {
        match self {
            ConnUse::None => None,
            ConnUse::Opens { conn, .. }
            | ConnUse::Uses(conn)
            | ConnUse::Reads(conn)
            | ConnUse::Closes { conn, .. } => Some(conn),
        }
    }
}

/// What a step does to the server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerUse {
    /// Starts it; it must not be running.
    Start,
    /// Stops it; it must be running.
    Stop,
    /// Stops and starts it; it must be running.
    Restart,
    /// Checks that it runs; it must not have been stopped.
    ExpectAlive,
    /// Waits for it to exit; it counts as stopped afterwards.
    ExpectExit,
}

impl<'a> Uses<'a> {
    /// Uses of a step that works on the open connection `conn`.
    pub fn conn(conn: &'a str) -> Self {
        Uses {
            conn: ConnUse::Uses(conn),
            ..Uses::default()
        }
    }
}

/// An action's row in [`ACTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionInfo {
    /// `action = "..."`.
    pub name: &'static str,
    /// The keys it takes besides the common ones.
    pub keys: &'static [&'static str],
    /// The kind of check in reports.
    pub check: &'static str,
}

/// Keys every step may have.
pub const COMMON_STEP_KEYS: &[&str] = &["action", "id", "title", "timeout", "needs"];

/// Chains the families' lists into one, then hands it to `$consumer`, a macro that takes
/// `$(#[doc] Variant(Type),)*`. Each family file defines a macro `<family>_actions`
/// that appends its rows to `[...]` and calls this one again with the families left:
///
/// ```text
/// macro_rules! time_actions {
///     ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
///         crate::scenario::actions::collect_families! { $consumer [$($done)*
///             /// Wait.
///             Sleep(Sleep),
///         ] $($rest)* }
///     };
/// }
/// ```
macro_rules! collect_families {
    ($consumer:ident [$($rows:tt)*]) => {
        $consumer! { $($rows)* }
    };
    ($consumer:ident [$($rows:tt)*] $family:ident $($rest:ident)*) => {
        $crate::scenario::actions::$family! { $consumer [$($rows)*] $($rest)* }
    };
}
pub(crate) use collect_families;

/// Calls `$consumer! { $(#[doc] Variant(Type),)* }` with every action, families in
/// documentation order.
macro_rules! with_actions {
    ($consumer:ident) => {
        $crate::scenario::actions::collect_families! {
            $consumer [] connections_actions send_actions expect_actions http_actions
            files_actions server_actions time_actions listen_actions
            client_actions series_actions
        }
    };
}
pub(crate) use with_actions;

/// Builds [`StepAction`], [`ACTIONS`] and the table lookups from the rows.
macro_rules! define_step_action {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// What a step does: one variant per action, named after it; the field names of
        /// each type match the scenario file's keys.
        #[derive(Debug, Clone, PartialEq)]
        pub enum StepAction {
            $($(#[$doc])* $variant($ty),)*
        }

        /// Every action, in documentation order.
        pub const ACTIONS: &[ActionInfo] = &[
            $(ActionInfo {
                name: <$ty as ActionSpec>::NAME,
                keys: <$ty as ActionSpec>::KEYS,
                check: <$ty as ActionSpec>::CHECK,
            },)*
        ];

        impl StepAction {
            /// Reads the action called `name`; `None` for an unknown name or a step that
            /// could not be built (the reader has the diagnostics).
            pub(crate) fn read(
                name: &str,
                r: &mut Reader<'_>,
                f: &Fields<'_, '_>,
            ) -> Option<StepAction> {
                $(if name == <$ty as ActionSpec>::NAME {
                    return <$ty as ActionSpec>::read(r, f).map(StepAction::$variant);
                })*
                None
            }

            /// The action's name as written in the file.
            pub fn name(&self) -> &'static str {
                match self {
                    $(StepAction::$variant(_) => <$ty as ActionSpec>::NAME,)*
                }
            }

            /// The kind of check, for reports.
            pub fn check_name(&self) -> &'static str {
                match self {
                    $(StepAction::$variant(_) => <$ty as ActionSpec>::CHECK,)*
                }
            }

            /// What the load-time checks need to know about the step.
            pub fn uses(&self) -> Uses<'_> {
                match self {
                    $(StepAction::$variant(a) => a.uses(),)*
                }
            }

            /// Variables this action sets when it succeeds.
            pub fn defines(&self) -> Vec<&str> {
                match self {
                    $(StepAction::$variant(a) => a.defines(),)*
                }
            }

            /// A title for a step that has none.
            pub fn title(&self) -> String {
                match self {
                    $(StepAction::$variant(a) => a.title(),)*
                }
            }

            pub(crate) fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
                match self {
                    $(StepAction::$variant(a) => a.resolve(vars),)*
                }
            }
        }
    };
}

with_actions!(define_step_action);

impl StepAction {
    /// The connection the action works on, if any.
    pub fn conn(&self) -> Option<&str> {
        self.uses().conn.name()
    }
}

/// The row of the action called `name`.
pub fn action_info(name: &str) -> Option<&'static ActionInfo> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// Every action name, in documentation order.
pub fn action_names() -> impl Iterator<Item = &'static str> + Clone {
    ACTIONS.iter().map(|a| a.name)
}
