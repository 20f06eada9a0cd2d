//! Server actions: `start_server`, `stop_server`, `restart_server` (also in process,
//! through a [`Trigger`]), `assert_server`, `assert_listening` and `expect_output`;
//! they all need `[server]`.

use std::time::Duration;

use super::{ActionSpec, ServerUse, Uses};
use crate::scenario::matcher::compile_regex;
use crate::scenario::model::{Address, Signal};
use crate::scenario::read::{Fields, Reader, Semantic};
use crate::scenario::resolve::{sub, ResolveError};
use crate::scenario::vars::{has_refs, Vars};

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! server_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Start the server.
            StartServer(StartServer),
            /// Stop the server.
            StopServer(StopServer),
            /// Stop, then start the server; or restart it in process.
            RestartServer(RestartServer),
            /// Check the server process state.
            AssertServer(AssertServer),
            /// Check where the server's processes listen.
            AssertListening(AssertListening),
            /// Wait for (or rule out) a line of the server's output.
            ExpectOutput(ExpectOutput),
        ] $($rest)* }
    };
}
pub(crate) use server_actions;

/// Uses of a step that does `what` to the server.
fn server_use(what: ServerUse) -> Uses<'static> {
    Uses {
        server: Some(what),
        ..Uses::default()
    }
}

/// `start_server`: no fields; starts the server and waits for `ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartServer;

impl ActionSpec for StartServer {
    const NAME: &'static str = "start_server";
    const KEYS: &'static [&'static str] = &[];
    const CHECK: &'static str = "server lifecycle";

    fn read(_: &mut Reader<'_>, _: &Fields<'_, '_>) -> Option<Self> {
        Some(StartServer)
    }

    fn uses(&self) -> Uses<'_> {
        server_use(ServerUse::Start)
    }

    fn title(&self) -> String {
        "start the server".into()
    }
}

/// `stop_server`: the stop signal, then `KILL` after `[server] stop_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopServer {
    /// `signal`; `None` = `[server] stop_signal`.
    pub signal: Option<Signal>,
}

impl ActionSpec for StopServer {
    const NAME: &'static str = "stop_server";
    const KEYS: &'static [&'static str] = &["signal"];
    const CHECK: &'static str = "server lifecycle";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        Some(StopServer {
            signal: r.signal(f, "signal"),
        })
    }

    fn uses(&self) -> Uses<'_> {
        server_use(ServerUse::Stop)
    }

    fn title(&self) -> String {
        "stop the server".into()
    }
}

/// `restart_server`: stop the process and start it again, or, with `trigger`, ask the
/// running process to restart its server itself (an in-process restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartServer {
    /// `signal` for the stop; `None` = `[server] stop_signal`. Not with `trigger`.
    pub signal: Option<Signal>,
    /// `trigger`: how to ask for an in-process restart.
    pub trigger: Option<TriggerField>,
    /// `settle`: with `trigger`, the wait before the `ready` probe when that probe
    /// cannot tell the old server from the restarted one (TCP or HTTP: the old server
    /// may still answer); `None` = 1 s for those, none for an output line.
    pub settle: Option<Duration>,
}

/// `restart_server trigger`: a template, kept as written so that an empty value can
/// name the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerField {
    /// As written in the file.
    pub written: String,
    /// After expansion (the same as `written` until the step runs).
    pub text: String,
}

/// How an in-process restart is asked for: the text of `restart_server trigger`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// `signal:USR2`: the signal goes to the server process itself, not to its group
    /// (helpers in the group, such as Vite's esbuild, would die of a signal they do not
    /// handle).
    Signal(Signal),
    /// `http:POST /__restart`, `http:/__restart` (POST), `http:GET http://127.0.0.1:${port}/x`:
    /// a control request that must get a 2xx or 3xx answer.
    Http {
        /// The method (default `POST`).
        method: String,
        /// A path on the server, or a full `http://` URL.
        target: Address,
    },
    /// `stdin:rs`: the text and a newline, written to the server's stdin.
    Stdin(String),
    /// `command:touch vite.config.mjs`: a shell command (`sh -c`) run in the project
    /// directory with `PORT` and `SERVER_PID` set; it must exit 0.
    Command(String),
}

/// The forms of a trigger, for messages.
pub const TRIGGER_FORMS: &str =
    "signal:USR2, http:POST /path (or a URL), stdin:TEXT or command:SHELL COMMAND";

impl Trigger {
    /// Parses the text of a trigger.
    pub fn parse(s: &str) -> Result<Trigger, String> {
        let bad = |why: String| Err(format!("trigger {s:?}: {why}; expected {TRIGGER_FORMS}"));
        let Some((kind, rest)) = s.split_once(':') else {
            return bad("no kind before ':'".into());
        };
        match kind.trim() {
            "signal" => match Signal::parse(rest.trim()) {
                Some(sig) => Ok(Trigger::Signal(sig)),
                None => bad(format!("unknown signal {:?}", rest.trim())),
            },
            "http" => {
                let rest = rest.trim();
                let (method, target) = match rest.split_once(char::is_whitespace) {
                    Some((m, t)) => (m.to_string(), t.trim()),
                    None => ("POST".to_string(), rest),
                };
                if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                    return bad(format!(
                        "method {method:?} is not an upper-case HTTP method"
                    ));
                }
                let target = if target.starts_with('/') {
                    Address::Path(target.to_string())
                } else if target.starts_with("http://") || target.starts_with("https://") {
                    Address::Url(target.to_string())
                } else {
                    return bad(format!(
                        "{target:?} is neither a path starting with / nor an http:// URL"
                    ));
                };
                Ok(Trigger::Http { method, target })
            }
            "stdin" => Ok(Trigger::Stdin(rest.to_string())),
            "command" if rest.trim().is_empty() => bad("the command is empty".into()),
            "command" => Ok(Trigger::Command(rest.trim().to_string())),
            other => bad(format!("unknown kind {other:?}")),
        }
    }

    /// Whether delivering it needs the server process the kit started.
    pub fn needs_process(&self) -> bool {
        matches!(self, Trigger::Signal(_) | Trigger::Stdin(_))
    }
}

impl ActionSpec for RestartServer {
    const NAME: &'static str = "restart_server";
    const KEYS: &'static [&'static str] = &["signal", "trigger", "settle"];
    const CHECK: &'static str = "server lifecycle";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let signal = r.signal(f, "signal");
        let trigger = r.template(f, "trigger").map(|(written, span)| {
            if !has_refs(&written) {
                if let Err(e) = Trigger::parse(&written) {
                    r.err(Semantic, &span, format!("field \"trigger\": {e}"));
                }
            }
            TriggerField {
                text: written.clone(),
                written,
            }
        });
        let settle = r.duration(f, "settle");
        if f.has("signal") && f.has("trigger") {
            r.err(
                Semantic,
                &f.key_span("trigger"),
                "fields \"signal\" and \"trigger\" cannot be combined: \"signal\" stops the process, \"trigger\" asks it to restart in process (\"trigger = 'signal:USR2'\" sends a signal for that)",
            );
        }
        if f.has("settle") && !f.has("trigger") {
            r.err(
                Semantic,
                &f.key_span("settle"),
                "field \"settle\" only applies with \"trigger\" (an in-process restart)",
            );
        }
        Some(RestartServer {
            signal,
            trigger,
            settle,
        })
    }

    fn uses(&self) -> Uses<'_> {
        let stdin = self.trigger.as_ref().is_some_and(|t| {
            has_refs(&t.written) || matches!(Trigger::parse(&t.written), Ok(Trigger::Stdin(_)))
        });
        Uses {
            stdin,
            ..server_use(ServerUse::Restart)
        }
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        if let Some(t) = &mut self.trigger {
            sub(&mut t.text, vars)?;
            if !t.text.trim().is_empty() {
                Trigger::parse(&t.text).map_err(ResolveError::Invalid)?;
            }
        }
        Ok(())
    }

    fn title(&self) -> String {
        match &self.trigger {
            Some(t) if !t.text.trim().is_empty() => {
                format!("restart the server in process ({})", t.text)
            }
            Some(_) => "restart the server in process".into(),
            None => "restart the server".into(),
        }
    }
}

/// `assert_server state = ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// The process is running.
    Alive,
    /// The process has exited.
    Exited,
}

/// `assert_server`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertServer {
    /// `state`.
    pub state: ServerState,
    /// `exit_code` (only with `exited`).
    pub exit_code: Option<i32>,
    /// `within`: for `exited`, how long to wait for the exit; for `alive`, how long
    /// the process must stay up (default 0: checked once).
    pub within: Duration,
}

impl ActionSpec for AssertServer {
    const NAME: &'static str = "assert_server";
    const KEYS: &'static [&'static str] = &["state", "exit_code", "within"];
    const CHECK: &'static str = "server lifecycle";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let (state, exit_code, within) = read_process_state(r, f);
        Some(AssertServer {
            state: state?,
            exit_code,
            within,
        })
    }

    fn uses(&self) -> Uses<'_> {
        server_use(match self.state {
            ServerState::Alive => ServerUse::ExpectAlive,
            ServerState::Exited => ServerUse::ExpectExit,
        })
    }

    fn title(&self) -> String {
        match self.state {
            ServerState::Alive => "the server is alive".into(),
            ServerState::Exited => "the server has exited".into(),
        }
    }
}

/// The `state` / `exit_code` / `within` fields shared by `assert_server` and
/// `assert_client`: `exit_code` only with `exited`; `within` is the wait for `exited`
/// (required) or how long an `alive` process must stay up (default 0).
pub(super) fn read_process_state(
    r: &mut Reader<'_>,
    f: &Fields<'_, '_>,
) -> (Option<ServerState>, Option<i32>, Duration) {
    let state = match r.req_string(f, "state", "\"alive\" or \"exited\"") {
        None => None,
        Some((s, span)) => {
            match s.as_str() {
                "alive" => Some(ServerState::Alive),
                "exited" => Some(ServerState::Exited),
                _ => {
                    r.err(Semantic, &span, format!("field \"state\": unknown state {s:?}; expected \"alive\" or \"exited\""));
                    None
                }
            }
        }
    };
    let exit_code = r.int(f, "exit_code", -255, 255).map(|c| c as i32);
    if exit_code.is_some() && state == Some(ServerState::Alive) {
        r.err(
            Semantic,
            &f.key_span("exit_code"),
            "field \"exit_code\" only applies to state = \"exited\"",
        );
    }
    let within = match state {
        Some(ServerState::Exited) => r.within(f),
        _ => r.duration(f, "within").unwrap_or(Duration::ZERO),
    };
    (state, exit_code, within)
}

/// `assert_listening on = ...`: the addresses the server may listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenScope {
    /// `"loopback"`: 127.0.0.0/8 and `::1` only.
    Loopback,
}

/// `assert_listening`: every TCP socket the server's processes listen on, and every
/// bind they asked for (as the `loopback-only.cjs` preload reports it), is within
/// `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertListening {
    /// `on`.
    pub on: ListenScope,
}

impl ActionSpec for AssertListening {
    const NAME: &'static str = "assert_listening";
    const KEYS: &'static [&'static str] = &["on"];
    const CHECK: &'static str = "server binding";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let (on, span) = r.req_string(f, "on", "\"loopback\"")?;
        match on.as_str() {
            "loopback" => Some(AssertListening {
                on: ListenScope::Loopback,
            }),
            _ => {
                r.err(
                    Semantic,
                    &span,
                    format!("field \"on\": unknown scope {on:?}; expected \"loopback\""),
                );
                None
            }
        }
    }

    fn uses(&self) -> Uses<'_> {
        server_use(ServerUse::ExpectAlive)
    }

    fn title(&self) -> String {
        match self.on {
            ListenScope::Loopback => "the server listens on loopback only".into(),
        }
    }
}

/// `expect_output`: a line of the server's output (stdout or stderr, since the current
/// server process started) that must appear, or with `absent` must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectOutput {
    /// `regex` (template): searched in each line.
    pub regex: String,
    /// `absent`: no line may match (by the end of `within`).
    pub absent: bool,
    /// `within` (default 0: the lines printed so far): how long to wait for the line,
    /// or with `absent` how long to keep watching.
    pub within: Duration,
}

impl ActionSpec for ExpectOutput {
    const NAME: &'static str = "expect_output";
    const KEYS: &'static [&'static str] = &["regex", "absent", "within"];
    const CHECK: &'static str = "server output";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        if !f.has("regex") {
            r.missing(f, "regex", "a regex matched against each output line");
        }
        let regex = r.regex_field(f, "regex").map(|s| s.0);
        let absent = r.boolean(f, "absent").unwrap_or(false);
        let within = r.duration(f, "within").unwrap_or(Duration::ZERO);
        Some(ExpectOutput {
            regex: regex?,
            absent,
            within,
        })
    }

    fn uses(&self) -> Uses<'_> {
        server_use(ServerUse::ExpectAlive)
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub(&mut self.regex, vars)?;
        compile_regex(&self.regex)
            .map_err(|e| ResolveError::Invalid(format!("field \"regex\": {e}")))?;
        Ok(())
    }

    fn title(&self) -> String {
        if self.absent {
            format!("the server prints no line matching /{}/", self.regex)
        } else {
            format!("the server prints a line matching /{}/", self.regex)
        }
    }
}
