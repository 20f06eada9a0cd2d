//! The parsed form of a scenario file. An engine walks [`Scenario::steps`] and
//! `match`es on [`StepAction`] (the actions' own types are in `scenario::actions`); every
//! step keeps its [`Location`] for reports.
//!
//! Strings documented as *templates* may contain `${...}` references and are expanded
//! at execution time ([`Step::resolve`]). Names (connections, variables, step ids),
//! durations, numbers and JSON paths are never templates.

use super::actions::StepAction;
use super::duration::format_duration;
use super::error::Location;
use super::path::JsonPath;
use std::time::Duration;

/// Default `[scenario] deadline`.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);
/// Default `within` of `connect`, `expect`, `expect_close`, `expect_ack`, `rpc`,
/// `http`, `assert_server`, and of `ping`'s `expect_pong_within`.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(5);
/// Default `[server] ready_timeout`.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `[server] stop_timeout`: how long a stop signal may take before KILL.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Variables the caller provides (or the engine maintains) without a `[vars]` entry.
/// `port` may also be given a default in `[vars]`; the caller's value wins.
pub const BUILTIN_VARS: &[&str] = &["host", "port", "project_dir", "scenario_dir", "last_sent"];

/// Built-ins that `[vars]` and captures may not redefine.
pub const RESERVED_VARS: &[&str] = &["host", "project_dir", "scenario_dir", "last_sent"];

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The label the file was loaded under.
    pub file: std::sync::Arc<str>,
    /// `[scenario] name`.
    pub name: String,
    /// `[scenario] description`.
    pub description: Option<String>,
    /// `[scenario] deadline`: the whole run, server start included, must finish
    /// within this; what is left is reported NOT RUN.
    pub deadline: Duration,
    /// `[vars]`, in file order. Values are templates that may use built-ins,
    /// `${env:..}` and earlier entries.
    pub vars: Vec<VarDef>,
    /// `[server]`: the server under test, if the scenario starts one.
    pub server: Option<ServerSpec>,
    /// `[[step]]`, in order.
    pub steps: Vec<Step>,
}

/// One `[vars]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarDef {
    /// Variable name.
    pub name: String,
    /// Template value.
    pub value: String,
    /// Where it is defined.
    pub location: Location,
}

/// A POSIX signal a scenario may send to the server, by name (`TERM`, `USR2`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal {
    name: &'static str,
    number: i32,
}

macro_rules! signals {
    ($($name:ident = $num:ident,)*) => {
        impl Signal {
            $(
                #[doc = concat!("SIG", stringify!($name))]
                pub const $name: Signal = Signal { name: stringify!($name), number: libc::$num };
            )*
            /// Every signal a scenario may name, in `kill -l` order.
            pub const ALL: &'static [Signal] = &[$(Signal::$name,)*];
        }
    };
}

signals! {
    HUP = SIGHUP, INT = SIGINT, QUIT = SIGQUIT, ILL = SIGILL, TRAP = SIGTRAP,
    ABRT = SIGABRT, BUS = SIGBUS, FPE = SIGFPE, KILL = SIGKILL, USR1 = SIGUSR1,
    SEGV = SIGSEGV, USR2 = SIGUSR2, PIPE = SIGPIPE, ALRM = SIGALRM, TERM = SIGTERM,
    CHLD = SIGCHLD, CONT = SIGCONT, STOP = SIGSTOP, TSTP = SIGTSTP, TTIN = SIGTTIN,
    TTOU = SIGTTOU, URG = SIGURG, XCPU = SIGXCPU, XFSZ = SIGXFSZ, VTALRM = SIGVTALRM,
    PROF = SIGPROF, WINCH = SIGWINCH, IO = SIGIO, SYS = SIGSYS,
}

impl Signal {
    /// Name without the `SIG` prefix.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The signal's number on this system.
    pub fn number(self) -> i32 {
        self.number
    }

    /// Parses `TERM`, `SIGTERM`, `USR2`, ... (case-sensitive, as in `kill -l`).
    pub fn parse(s: &str) -> Option<Signal> {
        let name = s.strip_prefix("SIG").unwrap_or(s);
        Signal::ALL.iter().copied().find(|g| g.name == name)
    }

    /// The signal with this number, if a scenario could name it.
    pub fn from_number(n: i32) -> Option<Signal> {
        Signal::ALL.iter().copied().find(|g| g.number == n)
    }

    /// Every accepted name (without `SIG`), for error messages.
    pub fn names() -> impl Iterator<Item = &'static str> + Clone {
        Signal::ALL.iter().map(|g| g.name)
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SIG{}", self.name)
    }
}

/// `[server]`: how to run the server under test.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// `command`: program and arguments (templates), not run through a shell.
    pub command: Vec<String>,
    /// `cwd` (template): the project directory, relative to the scenario file's
    /// directory unless absolute. File actions are relative to it.
    pub cwd: Option<String>,
    /// `env`: extra environment (values are templates), in file order.
    pub env: Vec<(String, String)>,
    /// `ready`: how to tell the server is up.
    pub ready: Ready,
    /// `ready_timeout`.
    pub ready_timeout: Duration,
    /// `stop_signal`: sent by `stop_server`/`restart_server` and at the end.
    pub stop_signal: Signal,
    /// `stop_timeout`: wait after the stop signal before KILL.
    pub stop_timeout: Duration,
    /// `autostart`: start before step 1 (default true).
    pub autostart: bool,
    /// Where `[server]` is.
    pub location: Location,
}

/// `[server] ready = {...}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Ready {
    /// `{tcp_port = 5173}` or `{tcp_port = "${port}"}`: a TCP connect to 127.0.0.1
    /// succeeds. Template of a port number.
    TcpPort(String),
    /// `{http_probe = "http://127.0.0.1:${port}/", status = 200}`: a GET answers
    /// (with that status, if given). Template URL.
    HttpProbe {
        /// URL template.
        url: String,
        /// Required status, if any.
        status: Option<u16>,
    },
    /// `{stdout_line = "ready in"}`: a line of the server's stdout matches the regex.
    StdoutLine(String),
    /// `{stderr_line = "..."}`: a line of the server's stderr matches the regex.
    StderrLine(String),
}

/// One `[[step]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based position in the file.
    pub index: usize,
    /// Where the `[[step]]` header is.
    pub location: Location,
    /// `id`: a name other steps (`expect_ack after`) and reports refer to.
    pub id: Option<String>,
    /// `title`: free text for reports.
    pub title: Option<String>,
    /// `timeout`: hard cap on the step's execution, on top of its own windows.
    pub timeout: Option<Duration>,
    /// `needs`: the ids of the earlier steps this one depends on. `None`: it depends on
    /// every earlier step (it is NOT RUN after any FAILED one). `Some`: it runs when
    /// exactly these were OK, whatever else failed, so a later check that tests
    /// something else still runs.
    pub needs: Option<Vec<String>>,
    /// What to do.
    pub action: StepAction,
}

impl Step {
    /// `step 3 (action "expect")`: the prefix of load-time diagnostics and of
    /// [`StepError`](super::StepError)s, so both read the same.
    pub fn label(&self) -> String {
        format!("step {} (action {:?})", self.index, self.action.name())
    }

    /// What a report shows for the step: the title, else the id, else the label.
    pub fn display_name(&self) -> String {
        self.title
            .clone()
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| self.label())
    }
}

/// Where a request goes: a full URL, or a path on `<scheme>://${host}:${port}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `url` (template).
    Url(String),
    /// `path` (template), starting with `/`.
    Path(String),
}

/// Bytes given either as text (a template) or as hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bytes {
    /// `payload_text` / `payload`: UTF-8 of a template.
    Text(String),
    /// `payload_hex`.
    Hex(Vec<u8>),
}

impl Bytes {
    /// The bytes (text as written, before substitution).
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Text(s) => s.as_bytes(),
            Bytes::Hex(b) => b,
        }
    }
}

/// `capture = {var = ...}` entry: store part of a message/response in a variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// Variable name.
    pub var: String,
    /// What to take.
    pub source: CaptureSource,
}

/// What a [`Capture`] takes.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureSource {
    /// `"path"` or `{json = "path"}`: the JSON value at the path (typed).
    Json(JsonPath),
    /// `{regex = "...", group = 1}`: a regex group of the text/body (template regex).
    Regex {
        /// The regex (template).
        regex: String,
        /// Capture group, default 1 (0 = whole match).
        group: usize,
    },
    /// `{header = "name"}`: an HTTP response header (name lower-cased).
    Header(String),
    /// `{whole = true}`: the whole text payload / body.
    Whole,
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} steps, deadline {})",
            self.name,
            self.steps.len(),
            format_duration(self.deadline)
        )
    }
}
