//! Connection actions: `connect`, `close`, `drop_tcp`, `pause_reading`,
//! `resume_reading`, `set_ping_policy` and `ping`.

use std::time::Duration;

use serde_json::Value;
use toml::de::DeValue;

use super::{ActionSpec, ConnUse, Uses};
use crate::scenario::duration::format_duration;
use crate::scenario::model::{Address, Bytes, DEFAULT_WITHIN};
use crate::scenario::read::{int_value, is_header_name, Fields, Reader, Semantic};
use crate::scenario::resolve::{
    sub, sub_address, sub_bytes, sub_opt, sub_pairs, sub_pattern, ResolveError,
};
use crate::scenario::vars::{has_refs, Vars};

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! connections_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Open a WebSocket connection.
            Connect(Connect),
            /// Start the closing handshake.
            Close(Close),
            /// Drop the TCP connection without a close frame.
            DropTcp(DropTcp),
            /// Stop reading from the socket (let the server's writes back up).
            PauseReading(PauseReading),
            /// Resume reading.
            ResumeReading(ResumeReading),
            /// Whether the peer answers the server's pings.
            SetPingPolicy(SetPingPolicy),
            /// Send a ping and time the pong.
            Ping(Ping),
            /// Assert that the server broke no RFC 6455 rule on the connection so far.
            ExpectConforming(ExpectConforming),
        ] $($rest)* }
    };
}
pub(crate) use connections_actions;

/// `connect`.
#[derive(Debug, Clone, PartialEq)]
pub struct Connect {
    /// `conn`: the name later steps use.
    pub conn: String,
    /// `url` (`ws://` or `wss://`) or `path`.
    pub target: Address,
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
    /// `deflate`: permessage-deflate offers (RFC 7692 §5), e.g.
    /// `"permessage-deflate; server_no_context_takeover"` (several separated by commas). The
    /// answer is checked as RFC 7692 says; once accepted, `send` compresses every text and
    /// binary message and received messages are inflated.
    pub deflate: Option<Vec<crate::codec::deflate::DeflateParams>>,
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
    /// with this HTTP status (or, `status = "4xx"`, any status of that class).
    Status {
        /// The status, or its class.
        status: StatusExpect,
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

/// The HTTP status a refused upgrade must carry.
///
/// RFC 6455 §4.2.2 leaves the status of a refusal to the server ("an appropriate HTTP
/// error code (e.g., 403 Forbidden)"), so a check such as "a foreign Origin is refused"
/// must accept the whole class, while a profile of one server pins its exact status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusExpect {
    /// Exactly this status (100-599).
    Exact(u16),
    /// Any status of this class: `4` for `"4xx"` (1-5).
    Class(u16),
}

impl StatusExpect {
    /// Whether `status` is what is expected.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusExpect::Exact(s) => s == status,
            StatusExpect::Class(c) => status / 100 == c,
        }
    }
}

impl std::fmt::Display for StatusExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusExpect::Exact(s) => write!(f, "{s}"),
            StatusExpect::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// `status = 403` or `status = "4xx"`.
fn status_expect(r: &mut Reader<'_>, e: &Fields<'_, '_>) -> Option<StatusExpect> {
    let v = e.get("status")?;
    if let DeValue::String(s) = v.get_ref() {
        let b = s.as_bytes();
        if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && s[1..].eq_ignore_ascii_case("xx") {
            return Some(StatusExpect::Class(u16::from(b[0] - b'0')));
        }
        r.err(
            Semantic,
            &v.span(),
            format!("field \"status\": {s:?} is not a status class; expected an integer from 100 to 599 or one of \"1xx\" .. \"5xx\""),
        );
        return None;
    }
    r.status(e, "status").map(StatusExpect::Exact)
}

impl ConnectExpect {
    /// True when the connection is open after a successful step.
    pub fn opens(&self) -> bool {
        matches!(self, ConnectExpect::Upgrade { .. })
    }
}

/// The permessage-deflate offers of a `deflate` field.
fn deflate_offers(s: &str) -> Result<Vec<crate::codec::deflate::DeflateParams>, String> {
    use crate::codec::deflate::{parse_extensions, DeflateParams, Side, PERMESSAGE_DEFLATE};
    let list = parse_extensions(s.as_bytes()).map_err(|e| e.to_string())?;
    list.iter()
        .map(|e| {
            if e.name != PERMESSAGE_DEFLATE {
                return Err(format!(
                    "expected permessage-deflate offers, got {:?}",
                    e.name
                ));
            }
            DeflateParams::from_params(&e.params, Side::Offer).map_err(|e| e.to_string())
        })
        .collect()
}

impl ActionSpec for Connect {
    const NAME: &'static str = "connect";
    const KEYS: &'static [&'static str] = &[
        "conn",
        "url",
        "path",
        "method",
        "protocols",
        "headers",
        "omit_headers",
        "origin",
        "query",
        "answer_pings",
        "within",
        "expect",
        "deflate",
    ];
    const CHECK: &'static str = "opening handshake";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let target = r.target(f, &["ws://", "wss://"]);
        let method = r.method(f);
        let protocols = r
            .string_list(f, "protocols", true)
            .into_iter()
            .map(|s| s.0)
            .collect();
        let headers = r.headers(f, "headers");
        let omit_headers = r
            .string_list(f, "omit_headers", false)
            .into_iter()
            .filter_map(|(h, span)| {
                if is_header_name(&h) {
                    Some(h)
                } else {
                    r.err(
                        Semantic,
                        &span,
                        format!("field \"omit_headers\": {h:?} is not a valid HTTP header name"),
                    );
                    None
                }
            })
            .collect();
        let origin = r.template(f, "origin").map(|s| s.0);
        let query = r
            .string_map(f, "query", true)
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        let answer_pings = r.boolean(f, "answer_pings").unwrap_or(true);
        let deflate = r
            .string(f, "deflate")
            .and_then(|(s, span)| match deflate_offers(&s) {
                Ok(o) => Some(o),
                Err(e) => {
                    r.err(Semantic, &span, format!("field \"deflate\": {e}"));
                    None
                }
            });
        let within = r.within(f);
        let expect = match r.table(f, "expect") {
            Some(e) => connect_expect(r, &e)?,
            None => ConnectExpect::Upgrade {
                protocol: None,
                headers: None,
            },
        };
        Some(Connect {
            conn: conn?,
            target: target?,
            method,
            protocols,
            headers,
            omit_headers,
            origin,
            query,
            answer_pings,
            deflate,
            within,
            expect,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            conn: ConnUse::Opens {
                conn: &self.conn,
                stays_open: self.expect.opens(),
            },
            ..Uses::default()
        }
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_address(&mut self.target, vars)?;
        for p in &mut self.protocols {
            sub(p, vars)?;
        }
        sub_pairs(&mut self.headers, vars)?;
        sub_opt(&mut self.origin, vars)?;
        sub_pairs(&mut self.query, vars)?;
        match &mut self.expect {
            ConnectExpect::Upgrade { protocol, headers } => {
                sub_pattern(protocol, vars)?;
                sub_pattern(headers, vars)?;
            }
            ConnectExpect::Status { headers, body, .. } => {
                sub_pattern(headers, vars)?;
                sub_pattern(body, vars)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn title(&self) -> String {
        let to = match &self.target {
            Address::Url(u) => u.clone(),
            Address::Path(p) => p.clone(),
        };
        let outcome = match &self.expect {
            ConnectExpect::Upgrade { .. } => "expect 101".to_string(),
            ConnectExpect::Status { status, .. } => format!("expect HTTP {status}"),
            ConnectExpect::ClosedBeforeData => "expect TCP closed before any data".into(),
            ConnectExpect::Refused => "expect the connect to be refused".into(),
            ConnectExpect::NoResponse(d) => {
                format!("expect no answer for {}", format_duration(*d))
            }
        };
        format!("connect {} to {to}, {outcome}", self.conn)
    }
}

fn connect_expect(r: &mut Reader<'_>, e: &Fields<'_, '_>) -> Option<ConnectExpect> {
    const KEYS: &[&str] = &[
        "status",
        "protocol",
        "headers",
        "body",
        "closed_before_data",
        "refused",
        "no_response_for",
    ];
    r.finish(e, KEYS);
    const OUTCOMES: &[&str] = &["status", "closed_before_data", "refused", "no_response_for"];
    let given = OUTCOMES.iter().filter(|k| e.has(k)).count();
    let which = r.exactly_one(e, OUTCOMES, false);
    if given > 1 {
        return None;
    }
    for flag in ["closed_before_data", "refused"] {
        if r.boolean(e, flag) == Some(false) {
            let span = e.get(flag).map_or(e.span.clone(), |v| v.span());
            r.err(
                Semantic,
                &span,
                format!("field {flag:?}: only true is meaningful; leave it out otherwise"),
            );
        }
    }
    let outcome_only = |p: &mut Reader<'_>, what: &str| {
        for k in ["protocol", "headers", "body"] {
            if e.has(k) {
                p.err(
                    Semantic,
                    &e.key_span(k),
                    format!("field {k:?} does not apply with {what}"),
                );
            }
        }
    };
    match which {
        None | Some("status") => {
            let status = if e.has("status") {
                status_expect(r, e)?
            } else {
                StatusExpect::Exact(101)
            };
            let headers = if e.has("headers") {
                r.header_patterns(e, "headers")
            } else {
                None
            };
            if status == StatusExpect::Exact(101) || status == StatusExpect::Class(1) {
                if status == StatusExpect::Class(1) {
                    r.err(
                        Semantic,
                        &e.key_span("status"),
                        "field \"status\": \"1xx\" is not a refusal; use 101 for an upgrade",
                    );
                    return None;
                }
                if e.has("body") {
                    r.err(Semantic, &e.key_span("body"), "field \"body\" only applies to a refused upgrade (a status other than 101)");
                }
                let protocol = r.string_pattern(e, "protocol", true);
                Some(ConnectExpect::Upgrade { protocol, headers })
            } else {
                if e.has("protocol") {
                    r.err(
                        Semantic,
                        &e.key_span("protocol"),
                        "field \"protocol\" only applies to status 101",
                    );
                }
                let body = r.string_pattern(e, "body", false);
                Some(ConnectExpect::Status {
                    status,
                    headers,
                    body,
                })
            }
        }
        Some("closed_before_data") => {
            outcome_only(r, "closed_before_data");
            Some(ConnectExpect::ClosedBeforeData)
        }
        Some("refused") => {
            outcome_only(r, "refused");
            Some(ConnectExpect::Refused)
        }
        Some(_) => {
            outcome_only(r, "no_response_for");
            r.duration(e, "no_response_for")
                .map(ConnectExpect::NoResponse)
        }
    }
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

impl ActionSpec for Close {
    const NAME: &'static str = "close";
    const KEYS: &'static [&'static str] = &["conn", "code", "reason"];
    const CHECK: &'static str = "close";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let code = match f.get("code") {
            None => None,
            Some(v) => match int_value(v.get_ref()) {
                Some(c @ (1004 | 1005 | 1006 | 1015)) => {
                    r.err(
                        Semantic,
                        &v.span(),
                        format!("field \"code\": {c} is reserved and must not be sent (RFC 6455 7.4.1); use send with a raw close frame to test it"),
                    );
                    None
                }
                Some(c) if (1000..=4999).contains(&c) => Some(c as u16),
                Some(c) => {
                    r.err(
                        Semantic,
                        &v.span(),
                        format!("field \"code\": {c} is not a valid close code; expected 1000-4999 (raw frames can send anything)"),
                    );
                    None
                }
                None => {
                    r.type_err("code", v, "a close code (integer)");
                    None
                }
            },
        };
        let reason = r.template(f, "reason");
        if let Some((text, span)) = &reason {
            if code.is_none() && f.get("code").is_none() && !text.is_empty() {
                r.err(Semantic, span, "a close reason needs a code");
            }
            if !has_refs(text) && text.len() > 123 {
                r.err(
                    Semantic,
                    span,
                    format!("a close reason is at most 123 bytes, got {}", text.len()),
                );
            }
        }
        Some(Close {
            conn: conn?,
            code,
            reason: reason.map(|(text, _)| text).unwrap_or_default(),
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses::conn(&self.conn)
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub(&mut self.reason, vars)?;
        if self.reason.len() > 123 {
            return Err(ResolveError::Invalid(format!(
                "the close reason is {} bytes after substitution; at most 123 are allowed",
                self.reason.len()
            )));
        }
        Ok(())
    }

    fn title(&self) -> String {
        match self.code {
            Some(code) => format!("close {} with {code}", self.conn),
            None => format!("close {} without a code", self.conn),
        }
    }
}

/// `drop_tcp`: closes TCP without a close frame; the connection is closed afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropTcp {
    /// `conn`.
    pub conn: String,
}

impl ActionSpec for DropTcp {
    const NAME: &'static str = "drop_tcp";
    const KEYS: &'static [&'static str] = &["conn"];
    const CHECK: &'static str = "TCP drop";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        r.conn(f).map(|conn| DropTcp { conn })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            conn: ConnUse::Closes {
                conn: &self.conn,
                why: "dropped its TCP connection",
            },
            ..Uses::default()
        }
    }

    fn title(&self) -> String {
        format!("drop the TCP connection of {}", self.conn)
    }
}

/// `expect_conforming`: the server broke no RFC 6455 rule on the connection so far
/// (frames it sent, as the peer decodes them); usable after the connection closed.
/// `wsspec fuzz` writes it into the replay of a protocol-violation finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectConforming {
    /// `conn`.
    pub conn: String,
}

impl ActionSpec for ExpectConforming {
    const NAME: &'static str = "expect_conforming";
    const KEYS: &'static [&'static str] = &["conn"];
    const CHECK: &'static str = "RFC 6455 conformance of the server's frames";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        r.conn(f).map(|conn| ExpectConforming { conn })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            conn: ConnUse::Reads(&self.conn),
            ..Uses::default()
        }
    }

    fn title(&self) -> String {
        format!("the server broke no RFC 6455 rule on {}", self.conn)
    }
}

/// `pause_reading` (`ON = false`: stop reading from the socket, so the server's writes
/// back up in TCP) or `resume_reading` (`ON = true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetReading<const ON: bool> {
    /// `conn`.
    pub conn: String,
}

/// `pause_reading`.
pub type PauseReading = SetReading<false>;
/// `resume_reading`.
pub type ResumeReading = SetReading<true>;

impl<const ON: bool> ActionSpec for SetReading<ON> {
    const NAME: &'static str = if ON {
        "resume_reading"
    } else {
        "pause_reading"
    };
    const KEYS: &'static [&'static str] = &["conn"];
    const CHECK: &'static str = "flow control";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        r.conn(f).map(|conn| SetReading { conn })
    }

    fn uses(&self) -> Uses<'_> {
        Uses::conn(&self.conn)
    }

    fn title(&self) -> String {
        let verb = if ON { "resume reading" } else { "stop reading" };
        format!("{verb} {}", self.conn)
    }
}

/// `set_ping_policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPingPolicy {
    /// `conn`.
    pub conn: String,
    /// `answer`: reply to pings with pongs.
    pub answer: bool,
}

impl ActionSpec for SetPingPolicy {
    const NAME: &'static str = "set_ping_policy";
    const KEYS: &'static [&'static str] = &["conn", "answer"];
    const CHECK: &'static str = "ping policy";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        if !f.has("answer") {
            r.missing(
                f,
                "answer",
                "true to answer pings with pongs, false to ignore them",
            );
        }
        let answer = r.boolean(f, "answer");
        Some(SetPingPolicy {
            conn: conn?,
            answer: answer?,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses::conn(&self.conn)
    }

    fn title(&self) -> String {
        format!(
            "{} pings on {}",
            if self.answer { "answer" } else { "ignore" },
            self.conn
        )
    }
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

impl ActionSpec for Ping {
    const NAME: &'static str = "ping";
    const KEYS: &'static [&'static str] = &[
        "conn",
        "payload",
        "payload_hex",
        "expect_pong_within",
        "record_latency_as",
    ];
    const CHECK: &'static str = "ping/pong";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let payload = match r.exactly_one(f, &["payload", "payload_hex"], false) {
            Some("payload_hex") => Bytes::Hex(r.hex_field(f, "payload_hex")?),
            Some(_) => Bytes::Text(r.template(f, "payload")?.0),
            None if f.has("payload") => return None,
            None => Bytes::Hex(Vec::new()),
        };
        let literal =
            matches!(&payload, Bytes::Hex(_)) || matches!(&payload, Bytes::Text(t) if !has_refs(t));
        if literal && payload.as_slice().len() > 125 {
            let key = if f.has("payload") {
                "payload"
            } else {
                "payload_hex"
            };
            r.err(
                Semantic,
                &f.key_span(key),
                format!("a ping payload is at most 125 bytes (RFC 6455 5.5), got {}; use send with a raw frame to test oversized control frames", payload.as_slice().len()),
            );
        }
        let expect_pong_within = r
            .duration(f, "expect_pong_within")
            .unwrap_or(DEFAULT_WITHIN.min(r.deadline));
        let record_latency_as = r.var_name_field(f, "record_latency_as");
        Some(Ping {
            conn: conn?,
            payload,
            expect_pong_within,
            record_latency_as,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses::conn(&self.conn)
    }

    fn defines(&self) -> Vec<&str> {
        self.record_latency_as.iter().map(String::as_str).collect()
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_bytes(&mut self.payload, vars)?;
        let n = self.payload.as_slice().len();
        if n > 125 {
            return Err(ResolveError::Invalid(format!(
                "the ping payload is {n} bytes after substitution; at most 125 are allowed"
            )));
        }
        Ok(())
    }

    fn title(&self) -> String {
        format!("ping on {}", self.conn)
    }
}
