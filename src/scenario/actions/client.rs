//! Client-under-test actions: `start_client` runs the client process (a command, ready
//! by an output line, like `[server]`), `stop_client` stops it by its process id,
//! `assert_client` checks that it runs or has exited (with a code). A
//! scenario may run several, by name; every client still running is stopped at
//! cleanup.

use std::time::Duration;

use super::{ActionSpec, ServerState, Uses};
use crate::scenario::duration::format_duration;
use crate::scenario::model::Signal;
use crate::scenario::read::{is_conn_name, Fields, Reader, Semantic};
use crate::scenario::resolve::{sub, sub_opt, sub_pairs, ResolveError};
use crate::scenario::vars::Vars;

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! client_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Start the client under test.
            StartClient(StartClient),
            /// Stop the client under test.
            StopClient(StopClient),
            /// Check the client process state.
            AssertClient(AssertClient),
        ] $($rest)* }
    };
}
pub(crate) use client_actions;

/// Default time for a client to print its ready line.
pub const DEFAULT_CLIENT_READY: Duration = Duration::from_secs(10);

fn client_name(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<String> {
    match r.string(f, "client") {
        None => Some("client".into()),
        Some((s, span)) if !is_conn_name(&s) => {
            r.err(
                Semantic,
                &span,
                format!("field \"client\": {s:?} is not a valid name; expected letters, digits, '_' or '-'"),
            );
            None
        }
        Some((s, _)) => Some(s),
    }
}

/// `start_client`.
#[derive(Debug, Clone, PartialEq)]
pub struct StartClient {
    /// `client` (default `"client"`): its name in later steps and the transcript.
    pub client: String,
    /// `command`: program and arguments (templates), run directly (no shell).
    pub command: Vec<String>,
    /// `cwd` (template): relative to the scenario's directory (the default).
    pub cwd: Option<String>,
    /// `env`: added to the inherited environment (values are templates).
    pub env: Vec<(String, String)>,
    /// `ready` (template regex): a line of its stdout or stderr that says it runs; none:
    /// ready once spawned.
    pub ready: Option<String>,
    /// `within`: for the ready line.
    pub within: Duration,
}

impl ActionSpec for StartClient {
    const NAME: &'static str = "start_client";
    const KEYS: &'static [&'static str] = &["client", "command", "cwd", "env", "ready", "within"];
    const CHECK: &'static str = "client lifecycle";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let client = client_name(r, f);
        if !f.has("command") {
            r.missing(
                f,
                "command",
                "the client's program and arguments, e.g. [\"node\", \"client.js\"]",
            );
        }
        let command: Vec<String> = r
            .string_list(f, "command", true)
            .into_iter()
            .map(|s| s.0)
            .collect();
        if f.has("command") && command.is_empty() {
            r.err(
                Semantic,
                &f.key_span("command"),
                "field \"command\": expected at least the program",
            );
        }
        let cwd = r.template(f, "cwd").map(|s| s.0);
        let env = r
            .string_map(f, "env", true)
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        let ready = r.template(f, "ready").map(|s| s.0);
        let within = if f.has("within") {
            r.within(f)
        } else {
            DEFAULT_CLIENT_READY.min(r.deadline)
        };
        Some(StartClient {
            client: client?,
            command,
            cwd,
            env,
            ready,
            within,
        })
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        for a in &mut self.command {
            sub(a, vars)?;
        }
        sub_opt(&mut self.cwd, vars)?;
        sub_pairs(&mut self.env, vars)?;
        sub_opt(&mut self.ready, vars)?;
        if let Some(re) = &self.ready {
            regex::Regex::new(re)
                .map_err(|e| ResolveError::Invalid(format!("field \"ready\": {e}")))?;
        }
        Ok(())
    }

    fn uses(&self) -> Uses<'_> {
        Uses::default()
    }

    fn title(&self) -> String {
        format!(
            "start client {} ({})",
            self.client,
            self.command.first().map(String::as_str).unwrap_or("")
        )
    }
}

/// `stop_client`: the signal (default `TERM`), then `KILL` after `within`.
#[derive(Debug, Clone, PartialEq)]
pub struct StopClient {
    /// `client` (default `"client"`).
    pub client: String,
    /// `signal` (default `TERM`).
    pub signal: Signal,
    /// `within` (default 5 s): the grace before `KILL`.
    pub within: Duration,
}

impl ActionSpec for StopClient {
    const NAME: &'static str = "stop_client";
    const KEYS: &'static [&'static str] = &["client", "signal", "within"];
    const CHECK: &'static str = "client lifecycle";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let client = client_name(r, f);
        let signal = r.signal(f, "signal").unwrap_or(Signal::TERM);
        let within = if f.has("within") {
            r.within(f)
        } else {
            Duration::from_secs(5).min(r.deadline)
        };
        Some(StopClient {
            client: client?,
            signal,
            within,
        })
    }

    fn title(&self) -> String {
        format!(
            "stop client {} ({}, KILL after {})",
            self.client,
            self.signal.name(),
            format_duration(self.within)
        )
    }
}

/// `assert_client`: the client runs (for `within`), or exits within `within` (with
/// `exit_code`).
#[derive(Debug, Clone, PartialEq)]
pub struct AssertClient {
    /// `client` (default `"client"`).
    pub client: String,
    /// `state`: `"alive"` or `"exited"`.
    pub state: ServerState,
    /// `exit_code` (only with `exited`).
    pub exit_code: Option<i32>,
    /// `within`: for `exited`, how long to wait; for `alive`, how long it must stay up
    /// (default 0: checked once).
    pub within: Duration,
}

impl ActionSpec for AssertClient {
    const NAME: &'static str = "assert_client";
    const KEYS: &'static [&'static str] = &["client", "state", "exit_code", "within"];
    const CHECK: &'static str = "client lifecycle";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let client = client_name(r, f);
        let (state, exit_code, within) = super::server::read_process_state(r, f);
        Some(AssertClient {
            client: client?,
            state: state?,
            exit_code,
            within,
        })
    }

    fn title(&self) -> String {
        match (self.state, self.exit_code) {
            (ServerState::Alive, _) => format!("client {} is alive", self.client),
            (ServerState::Exited, Some(c)) => {
                format!("client {} has exited with code {c}", self.client)
            }
            (ServerState::Exited, None) => format!("client {} has exited", self.client),
        }
    }
}
