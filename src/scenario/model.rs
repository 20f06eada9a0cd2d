//! The parsed form of a scenario file. An engine walks [`Scenario::steps`] and
//! `match`es on [`Action`]; every step keeps its [`Location`] for reports.
//!
//! Strings documented as *templates* may contain `${...}` references and are expanded
//! at execution time ([`Step::resolve`]). Names (connections, variables, step ids),
//! durations, numbers and JSON paths are never templates.

use super::duration::format_duration;
use super::error::Location;
use super::matcher::MessageMatcher;
use super::path::JsonPath;
use serde_json::Value;
use std::num::NonZeroUsize;
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

/// Every action name, in documentation order.
pub const ACTION_NAMES: &[&str] = &[
    "connect",
    "send",
    "expect",
    "expect_silence",
    "expect_close",
    "expect_ack",
    "rpc",
    "capture",
    "http",
    "write_file",
    "append_file",
    "delete_file",
    "start_server",
    "stop_server",
    "restart_server",
    "assert_server",
    "pause_reading",
    "resume_reading",
    "drop_tcp",
    "set_ping_policy",
    "ping",
    "sleep",
    "close",
];

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

/// POSIX signals a scenario may send to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGTERM
    Term,
    /// SIGKILL
    Kill,
    /// SIGINT
    Int,
    /// SIGHUP
    Hup,
}

impl Signal {
    /// Accepted spellings: `TERM`, `KILL`, `INT`, `HUP` (optionally `SIG`-prefixed).
    pub const NAMES: &'static [&'static str] = &["TERM", "KILL", "INT", "HUP"];

    /// Name without the `SIG` prefix.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
            Signal::Int => "INT",
            Signal::Hup => "HUP",
        }
    }

    /// Parses `TERM`, `SIGTERM`, ... (case-sensitive, as in `kill -l`).
    pub fn parse(s: &str) -> Option<Signal> {
        match s.strip_prefix("SIG").unwrap_or(s) {
            "TERM" => Some(Signal::Term),
            "KILL" => Some(Signal::Kill),
            "INT" => Some(Signal::Int),
            "HUP" => Some(Signal::Hup),
            _ => None,
        }
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
    /// What to do.
    pub action: Action,
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

/// What a step does. Field names match the scenario file's keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a WebSocket connection.
    Connect(Connect),
    /// Send a message or a raw frame.
    Send(Send),
    /// Wait for one or more messages.
    Expect(Expect),
    /// Assert that no message arrives for a while.
    ExpectSilence(ExpectSilence),
    /// Wait for the connection to close.
    ExpectClose(ExpectClose),
    /// Wait for the reply to an earlier send (timed from that send).
    ExpectAck(ExpectAck),
    /// Send a request and wait for the response with the same id.
    Rpc(Rpc),
    /// Capture a value from the last received message or HTTP response.
    Capture(CaptureStep),
    /// An HTTP request to the server.
    Http(Http),
    /// Write a file in the project directory (restored after the run).
    WriteFile(FileWrite),
    /// Append to a file in the project directory (restored after the run).
    AppendFile(FileWrite),
    /// Delete a file in the project directory (restored after the run).
    DeleteFile(FileDelete),
    /// Start the server.
    StartServer,
    /// Stop the server.
    StopServer(StopServer),
    /// Stop, then start the server.
    RestartServer(StopServer),
    /// Check the server process state.
    AssertServer(AssertServer),
    /// Stop reading from the socket (let the server's writes back up).
    PauseReading(ConnRef),
    /// Resume reading.
    ResumeReading(ConnRef),
    /// Drop the TCP connection without a close frame.
    DropTcp(ConnRef),
    /// Whether the peer answers the server's pings.
    SetPingPolicy(SetPingPolicy),
    /// Send a ping and time the pong.
    Ping(Ping),
    /// Wait.
    Sleep(Sleep),
    /// Start the closing handshake.
    Close(Close),
}

impl Action {
    /// The action name as written in the file.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Connect(_) => "connect",
            Action::Send(_) => "send",
            Action::Expect(_) => "expect",
            Action::ExpectSilence(_) => "expect_silence",
            Action::ExpectClose(_) => "expect_close",
            Action::ExpectAck(_) => "expect_ack",
            Action::Rpc(_) => "rpc",
            Action::Capture(_) => "capture",
            Action::Http(_) => "http",
            Action::WriteFile(_) => "write_file",
            Action::AppendFile(_) => "append_file",
            Action::DeleteFile(_) => "delete_file",
            Action::StartServer => "start_server",
            Action::StopServer(_) => "stop_server",
            Action::RestartServer(_) => "restart_server",
            Action::AssertServer(_) => "assert_server",
            Action::PauseReading(_) => "pause_reading",
            Action::ResumeReading(_) => "resume_reading",
            Action::DropTcp(_) => "drop_tcp",
            Action::SetPingPolicy(_) => "set_ping_policy",
            Action::Ping(_) => "ping",
            Action::Sleep(_) => "sleep",
            Action::Close(_) => "close",
        }
    }

    /// The connection the action works on, if any.
    pub fn conn(&self) -> Option<&str> {
        Some(match self {
            Action::Connect(a) => &a.conn,
            Action::Send(a) => &a.conn,
            Action::Expect(a) => &a.conn,
            Action::ExpectSilence(a) => &a.conn,
            Action::ExpectClose(a) => &a.conn,
            Action::ExpectAck(a) => &a.conn,
            Action::Rpc(a) => &a.conn,
            Action::Capture(CaptureStep {
                from: CaptureFrom::Message { conn },
                ..
            }) => conn,
            Action::PauseReading(a) | Action::ResumeReading(a) | Action::DropTcp(a) => &a.conn,
            Action::SetPingPolicy(a) => &a.conn,
            Action::Ping(a) => &a.conn,
            Action::Close(a) => &a.conn,
            _ => return None,
        })
    }

    /// Variables this action sets when it succeeds.
    pub fn defines(&self) -> Vec<&str> {
        fn caps(c: &[Capture]) -> Vec<&str> {
            c.iter().map(|c| c.var.as_str()).collect()
        }
        match self {
            Action::Expect(e) => match &e.what {
                ExpectWhat::One(item) => caps(&item.captures),
                ExpectWhat::All { items, .. } => {
                    items.iter().flat_map(|i| caps(&i.captures)).collect()
                }
            },
            Action::ExpectAck(a) => caps(&a.captures),
            Action::Rpc(r) => caps(&r.captures),
            Action::Capture(c) => vec![c.capture.var.as_str()],
            Action::Http(h) => caps(&h.captures),
            Action::Ping(p) => p.record_latency_as.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Just a connection name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnRef {
    /// `conn`.
    pub conn: String,
}

/// Where a request goes: a full URL, or a path on `<scheme>://${host}:${port}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `url` (template).
    Url(String),
    /// `path` (template), starting with `/`.
    Path(String),
}

/// `connect`.
#[derive(Debug, Clone, PartialEq)]
pub struct Connect {
    /// `conn`: the name later steps use.
    pub conn: String,
    /// `url` (`ws://` or `wss://`) or `path`.
    pub target: Target,
    /// `method` (default `GET`): lets a scenario probe `POST` upgrades.
    pub method: String,
    /// `protocols`: offered subprotocols, in order (templates).
    pub protocols: Vec<String>,
    /// `headers`: extra or replacing request headers (values are templates).
    pub headers: Vec<(String, String)>,
    /// `omit_headers`: default handshake headers to leave out (e.g. `Host`).
    pub omit_headers: Vec<String>,
    /// `origin` (template): sets the `Origin` header.
    pub origin: Option<String>,
    /// `query`: parameters appended to the URL (values are templates, percent-encoded
    /// by the engine), in file order.
    pub query: Vec<(String, String)>,
    /// `answer_pings` (default true): the initial ping policy.
    pub answer_pings: bool,
    /// `within`: handshake time limit.
    pub within: Duration,
    /// `expect`: what the handshake must produce.
    pub expect: ConnectExpect,
}

/// `connect`'s `expect = {...}`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectExpect {
    /// `{status = 101, protocol = "...", headers = {...}}` (the default).
    Upgrade {
        /// `protocol`: pattern for the selected subprotocol (`"$absent"` for none).
        protocol: Option<Value>,
        /// `headers`: patterns per response header (names lower-cased).
        headers: Option<Value>,
    },
    /// `{status = 400, headers = {...}, body = "..."}`: the upgrade is refused
    /// with this HTTP status.
    Status {
        /// The status.
        status: u16,
        /// `headers` patterns (names lower-cased).
        headers: Option<Value>,
        /// `body` pattern (a string pattern, e.g. `"Bad Request"`, `"$regex:..."`).
        body: Option<Value>,
    },
    /// `{closed_before_data = true}`: the server closes TCP without sending a byte.
    ClosedBeforeData,
    /// `{refused = true}`: the TCP connection is refused.
    Refused,
    /// `{no_response_for = "2s"}`: the server sends nothing and keeps TCP open for
    /// this long (the engine then drops the connection).
    NoResponse(Duration),
}

impl ConnectExpect {
    /// True when the connection is open after a successful step.
    pub fn opens(&self) -> bool {
        matches!(self, ConnectExpect::Upgrade { .. })
    }
}

/// `send`.
#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    /// `conn`.
    pub conn: String,
    /// What to send.
    pub payload: SendPayload,
    /// `fragment_size`: split a text/json/binary message into frames of at most this
    /// many payload bytes.
    pub fragment_size: Option<NonZeroUsize>,
}

/// The message of a `send`.
#[derive(Debug, Clone, PartialEq)]
pub enum SendPayload {
    /// `text` (template): a text message.
    Text(String),
    /// `json` (inline TOML table/array; strings are templates): serialised compactly,
    /// sent as text. Keys come out sorted; use `text` for byte-exact JSON.
    Json(Value),
    /// `binary_hex`: a binary message.
    Binary(Vec<u8>),
    /// `raw = {...}`: one hand-built frame, for protocol-violation tests.
    Raw(RawFrame),
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

/// `raw = {...}` frame of a `send`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFrame {
    /// `opcode`: 0..=15 or a name (`continuation`, `text`, `binary`, `close`, `ping`, `pong`).
    pub opcode: u8,
    /// `fin` (default true).
    pub fin: bool,
    /// `rsv`: the three RSV bits as a number 0..=7 (RSV1 = 4), default 0.
    pub rsv: u8,
    /// `mask`: `true` (random key, default), `false` (unmasked), or a hex key.
    pub mask: MaskSpec,
    /// `payload_hex` or `payload_text` (default empty).
    pub payload: Bytes,
    /// `length_encoding`: force a (non-minimal) length form.
    pub length_encoding: LengthEncoding,
    /// `declared_length`: a length field that lies about the payload size.
    pub declared_length: Option<u64>,
    /// `chop`: write the frame bytes in pieces of this size.
    pub chop: Option<NonZeroUsize>,
    /// `delay_ms`: pause between chopped pieces.
    pub delay: Option<Duration>,
}

/// Masking of a raw frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskSpec {
    /// A fresh random key (what a client must do).
    Random,
    /// No mask bit (a protocol violation for a client).
    Unmasked,
    /// This key.
    Key([u8; 4]),
}

/// Payload length encoding of a raw frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthEncoding {
    /// The shortest form (RFC 6455 requires it).
    Minimal,
    /// `"7bit"`: the length in the 7-bit field (payload <= 125).
    Bits7,
    /// `"16bit"`: 126 + 16-bit length.
    Bits16,
    /// `"64bit"`: 127 + 64-bit length.
    Bits64,
}

/// `expect`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// `conn`.
    pub conn: String,
    /// `within`: the whole step's window.
    pub within: Duration,
    /// `match` or `messages`.
    pub what: ExpectWhat,
    /// `ignore`: messages matching any of these are skipped.
    pub ignore: Vec<MessageMatcher>,
    /// `skip_unmatched` (default false): skip every message that does not match,
    /// instead of failing on it.
    pub skip_unmatched: bool,
}

/// What an `expect` waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectWhat {
    /// `match = {...}` (+ step-level `capture`).
    One(ExpectItem),
    /// `messages = [{...}, ...]`, each entry may carry its own `capture`.
    All {
        /// The entries.
        items: Vec<ExpectItem>,
        /// `ordered` (default true): in this order.
        ordered: bool,
    },
}

/// One awaited message and what to capture from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectItem {
    /// The matcher.
    pub matcher: MessageMatcher,
    /// Captures applied to the message that matched.
    pub captures: Vec<Capture>,
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

/// `expect_silence`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectSilence {
    /// `conn`.
    pub conn: String,
    /// `for`.
    pub duration: Duration,
    /// `ignore`: messages that do not break the silence.
    pub ignore: Vec<MessageMatcher>,
}

/// `expect_close`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectClose {
    /// `conn`.
    pub conn: String,
    /// `within`.
    pub within: Duration,
    /// `codes`: acceptable close codes; empty = any. `1005` = close frame without
    /// a code; `1006` = TCP closed without a close frame.
    pub codes: Vec<u16>,
    /// `reason`: pattern for the close reason (a string pattern).
    pub reason: Option<Value>,
    /// `allow_messages` (default true): data messages before the close are skipped;
    /// false makes any message a failure.
    pub allow_messages: bool,
}

/// `expect_ack`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectAck {
    /// `conn`.
    pub conn: String,
    /// `after`: which send the ack answers.
    pub after: AckAfter,
    /// `match`: the ack; `${last_sent...}` refers to the message named by `after`.
    pub matcher: MessageMatcher,
    /// `within`, measured from that send.
    pub within: Duration,
    /// `capture`.
    pub captures: Vec<Capture>,
}

/// `expect_ack after = ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckAfter {
    /// The last `send`/`rpc` on the same connection (default).
    LastSend,
    /// The `send`/`rpc` step with this id.
    Step(String),
}

/// `rpc`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rpc {
    /// `conn`.
    pub conn: String,
    /// `request`: JSON (strings are templates).
    pub request: Value,
    /// `id_path` (default `id`): where the id sits in the request.
    pub id_path: JsonPath,
    /// `response_id_path` (default = `id_path`): where it sits in the response.
    pub response_id_path: JsonPath,
    /// `response_id`: the id value the response must carry, when it differs from the
    /// request's (Vite: `send:x` → `response:x`); strings are templates.
    pub response_id: Option<Value>,
    /// `expect`: matcher the correlated response must satisfy.
    pub expect: Option<MessageMatcher>,
    /// `within`.
    pub within: Duration,
    /// `capture`: from the response.
    pub captures: Vec<Capture>,
}

/// `capture` step.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureStep {
    /// `from`.
    pub from: CaptureFrom,
    /// `json`/`regex`/`header`/`whole` + `into`.
    pub capture: Capture,
}

/// `capture from = ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureFrom {
    /// `"message"`: the last message received on `conn`.
    Message {
        /// `conn`.
        conn: String,
    },
    /// `"http"`: the last `http` response.
    Http,
}

/// `http`.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// `method` (default GET).
    pub method: String,
    /// `url` (`http://`/`https://`) or `path`.
    pub target: Target,
    /// `headers` (values are templates).
    pub headers: Vec<(String, String)>,
    /// `body` (template).
    pub body: Option<String>,
    /// `within`.
    pub within: Duration,
    /// `expect_status`.
    pub expect_status: Option<u16>,
    /// `expect_headers`: patterns per response header (names lower-cased).
    pub expect_headers: Option<Value>,
    /// `expect_body`: string pattern for the body.
    pub expect_body: Option<Value>,
    /// `capture`.
    pub captures: Vec<Capture>,
}

/// `write_file` / `append_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    /// `path` (template), relative to the project directory, no `..` escape.
    pub path: String,
    /// `content` (template).
    pub content: String,
}

/// `delete_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDelete {
    /// `path` (template), relative to the project directory, no `..` escape.
    pub path: String,
}

/// `stop_server` / `restart_server`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopServer {
    /// `signal`; `None` = `[server] stop_signal`.
    pub signal: Option<Signal>,
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

/// `set_ping_policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPingPolicy {
    /// `conn`.
    pub conn: String,
    /// `answer`: reply to pings with pongs.
    pub answer: bool,
}

/// `ping`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    /// `conn`.
    pub conn: String,
    /// `payload` (template text) or `payload_hex`; at most 125 bytes.
    pub payload: Bytes,
    /// `expect_pong_within`.
    pub expect_pong_within: Duration,
    /// `record_latency_as`: variable receiving the round trip in milliseconds (float).
    pub record_latency_as: Option<String>,
}

/// `sleep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sleep {
    /// `for`.
    pub duration: Duration,
}

/// `close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// `conn`.
    pub conn: String,
    /// `code`; `None` sends a close frame without a status code.
    pub code: Option<u16>,
    /// `reason` (template, at most 123 bytes).
    pub reason: String,
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
