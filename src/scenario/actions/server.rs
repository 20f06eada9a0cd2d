//! Server actions: `start_server`, `stop_server`, `restart_server` and
//! `assert_server`; they all need `[server]`.

use std::time::Duration;

use super::{ActionSpec, ServerUse, Uses};
use crate::scenario::model::Signal;
use crate::scenario::read::{Fields, Reader, Semantic};

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! server_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Start the server.
            StartServer(StartServer),
            /// Stop the server.
            StopServer(StopServer),
            /// Stop, then start the server.
            RestartServer(RestartServer),
            /// Check the server process state.
            AssertServer(AssertServer),
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

/// `stop_server` (`RESTART = false`) or `restart_server` (`RESTART = true`: stop, then
/// start and wait for `ready`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerStop<const RESTART: bool> {
    /// `signal`; `None` = `[server] stop_signal`.
    pub signal: Option<Signal>,
}

/// `stop_server`.
pub type StopServer = ServerStop<false>;
/// `restart_server`.
pub type RestartServer = ServerStop<true>;

impl<const RESTART: bool> ActionSpec for ServerStop<RESTART> {
    const NAME: &'static str = if RESTART {
        "restart_server"
    } else {
        "stop_server"
    };
    const KEYS: &'static [&'static str] = &["signal"];
    const CHECK: &'static str = "server lifecycle";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        Some(ServerStop {
            signal: r.signal(f, "signal"),
        })
    }

    fn uses(&self) -> Uses<'_> {
        server_use(if RESTART {
            ServerUse::Restart
        } else {
            ServerUse::Stop
        })
    }

    fn title(&self) -> String {
        let verb = if RESTART { "restart" } else { "stop" };
        format!("{verb} the server")
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
        let state = match r.req_string(f, "state", "\"alive\" or \"exited\"") {
            None => None,
            Some((s, span)) => match s.as_str() {
                "alive" => Some(ServerState::Alive),
                "exited" => Some(ServerState::Exited),
                _ => {
                    r.err(Semantic, &span, format!("field \"state\": unknown state {s:?}; expected \"alive\" or \"exited\""));
                    None
                }
            },
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
