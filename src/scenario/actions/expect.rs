//! The expect family: `expect`, `expect_silence`, `expect_close`, `expect_ack`, `rpc`
//! (a send that waits for its answer) and `capture` (a value from the last message).

use std::time::Duration;

use serde_json::Value;
use toml::de::DeValue;

use super::{ActionSpec, ConnUse, Uses};
use crate::scenario::describe::{json, matcher};
use crate::scenario::duration::format_duration;
use crate::scenario::matcher::MessageMatcher;
use crate::scenario::model::{Bytes, Capture};
use crate::scenario::path::JsonPath;
use crate::scenario::read::{did_you_mean, int_value, Fields, IdInfo, Reader, Semantic};
use crate::scenario::resolve::{
    sub_bytes, sub_captures, sub_json, sub_matcher, sub_pattern, ResolveError,
};
use crate::scenario::vars::Vars;

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! expect_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
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
            /// Wait for a ping from the server.
            ExpectPing(ExpectPing),
        ] $($rest)* }
    };
}
pub(crate) use expect_actions;

fn capture_names(c: &[Capture]) -> Vec<&str> {
    c.iter().map(|c| c.var.as_str()).collect()
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

impl ActionSpec for Expect {
    const NAME: &'static str = "expect";
    const KEYS: &'static [&'static str] = &[
        "conn",
        "within",
        "match",
        "messages",
        "ordered",
        "capture",
        "ignore",
        "skip_unmatched",
    ];
    const CHECK: &'static str = "message match";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let within = r.within(f);
        let which = r.exactly_one(f, &["match", "messages"], true);
        let what = match which {
            Some("match") => {
                if f.has("ordered") {
                    r.err(
                        Semantic,
                        &f.key_span("ordered"),
                        "field \"ordered\" only applies to messages = [...]",
                    );
                }
                let matcher = r.matcher("match", f.get("match")?, &[]);
                let captures = r.captures(f, false);
                Some(ExpectWhat::One(ExpectItem {
                    matcher: matcher?,
                    captures,
                }))
            }
            Some(_) => {
                if f.has("capture") {
                    r.err(
                        Semantic,
                        &f.key_span("capture"),
                        "with messages = [...], put capture = {...} inside the message entry it applies to",
                    );
                }
                let ordered = r.boolean(f, "ordered").unwrap_or(true);
                let items = r.array(f, "messages")?;
                if items.is_empty() {
                    r.err(
                        Semantic,
                        &f.get("messages")?.span(),
                        "field \"messages\": expected at least one matcher",
                    );
                }
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let key = format!("messages[{i}]");
                    let matcher = r.matcher(&key, item, &["capture"]);
                    let captures = match item.get_ref() {
                        DeValue::Table(t) => r.captures(&Fields::new(t, item.span()), false),
                        _ => Vec::new(),
                    };
                    if let Some(matcher) = matcher {
                        out.push(ExpectItem { matcher, captures });
                    }
                }
                Some(ExpectWhat::All {
                    items: out,
                    ordered,
                })
            }
            None => None,
        };
        let ignore = r.matcher_list(f, "ignore");
        let skip_unmatched = r.boolean(f, "skip_unmatched").unwrap_or(false);
        Some(Expect {
            conn: conn?,
            within,
            what: what?,
            ignore,
            skip_unmatched,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses::conn(&self.conn)
    }

    fn defines(&self) -> Vec<&str> {
        match &self.what {
            ExpectWhat::One(item) => capture_names(&item.captures),
            ExpectWhat::All { items, .. } => items
                .iter()
                .flat_map(|i| capture_names(&i.captures))
                .collect(),
        }
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        let items = match &mut self.what {
            ExpectWhat::One(item) => std::slice::from_mut(item),
            ExpectWhat::All { items, .. } => items.as_mut_slice(),
        };
        for item in items {
            sub_matcher(&mut item.matcher, vars)?;
            sub_captures(&mut item.captures, vars)?;
        }
        for m in &mut self.ignore {
            sub_matcher(m, vars)?;
        }
        Ok(())
    }

    fn title(&self) -> String {
        match &self.what {
            ExpectWhat::One(i) => format!("expect on {}: {}", self.conn, matcher(&i.matcher)),
            ExpectWhat::All { items, ordered } => format!(
                "expect on {}: {} messages{}",
                self.conn,
                items.len(),
                if *ordered {
                    " in order"
                } else {
                    " in any order"
                }
            ),
        }
    }
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

impl ActionSpec for ExpectSilence {
    const NAME: &'static str = "expect_silence";
    const KEYS: &'static [&'static str] = &["conn", "for", "ignore"];
    const CHECK: &'static str = "silence";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        if !f.has("for") {
            r.missing(f, "for", "how long to listen, e.g. \"1s\"");
        }
        let duration = r.duration(f, "for");
        let ignore = r.matcher_list(f, "ignore");
        Some(ExpectSilence {
            conn: conn?,
            duration: duration?,
            ignore,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            fixed_wait: self.duration,
            ..Uses::conn(&self.conn)
        }
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        for m in &mut self.ignore {
            sub_matcher(m, vars)?;
        }
        Ok(())
    }

    fn title(&self) -> String {
        format!(
            "expect silence on {} for {}",
            self.conn,
            format_duration(self.duration)
        )
    }
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

impl ActionSpec for ExpectClose {
    const NAME: &'static str = "expect_close";
    const KEYS: &'static [&'static str] = &["conn", "within", "codes", "reason", "allow_messages"];
    const CHECK: &'static str = "close";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let within = r.within(f);
        let mut codes = Vec::new();
        if let Some(items) = r.array(f, "codes") {
            for item in items {
                match int_value(item.get_ref()) {
                    Some(c) if (1000..=4999).contains(&c) => codes.push(c as u16),
                    _ => r.err(
                        Semantic,
                        &item.span(),
                        "field \"codes\": expected close codes from 1000 to 4999 (1005 = no status code, 1006 = TCP closed without a close frame)",
                    ),
                }
            }
        }
        let reason = r.string_pattern(f, "reason", false);
        let allow_messages = r.boolean(f, "allow_messages").unwrap_or(true);
        Some(ExpectClose {
            conn: conn?,
            within,
            codes,
            reason,
            allow_messages,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            conn: ConnUse::Closes {
                conn: &self.conn,
                why: "waits for it to close",
            },
            ..Uses::default()
        }
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_pattern(&mut self.reason, vars)
    }

    fn title(&self) -> String {
        if self.codes.is_empty() {
            format!("expect {} to close", self.conn)
        } else {
            format!("expect {} to close with {:?}", self.conn, self.codes)
        }
    }
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

impl ActionSpec for ExpectAck {
    const NAME: &'static str = "expect_ack";
    const KEYS: &'static [&'static str] = &["conn", "after", "match", "within", "capture"];
    const CHECK: &'static str = "acknowledgement";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let after = match r.string(f, "after") {
            None => {
                if let Some(c) = &conn {
                    if !r.sent_before(c) {
                        let span = f.get("conn").map_or(f.span.clone(), |v| v.span());
                        r.err(
                            Semantic,
                            &span,
                            format!("expect_ack needs an earlier send or rpc on connection {c:?} (or after = \"<step id>\")"),
                        );
                    }
                }
                Some(AckAfter::LastSend)
            }
            Some((id, span)) => match r.step_with_id(&id).cloned() {
                None => {
                    let hint = did_you_mean(&id, r.step_ids());
                    r.err(
                        Semantic,
                        &span,
                        format!("field \"after\": no earlier step has id {id:?}{hint}"),
                    );
                    None
                }
                Some(IdInfo {
                    send_conn: None,
                    step,
                    ..
                }) => {
                    r.err(
                        Semantic,
                        &span,
                        format!("field \"after\": step {step} ({id:?}) is not a send or rpc step"),
                    );
                    None
                }
                Some(IdInfo {
                    send_conn: Some(sc),
                    step,
                    ..
                }) => {
                    if conn.as_deref().is_some_and(|c| c != sc) {
                        r.err(
                            Semantic,
                            &span,
                            format!("field \"after\": step {step} ({id:?}) sends on connection {sc:?}, not on this step's connection"),
                        );
                    }
                    Some(AckAfter::Step(id))
                }
            },
        };
        if !f.has("match") {
            r.missing(f, "match", "a matcher for the acknowledgement");
        }
        let matcher = f.get("match").and_then(|m| r.matcher("match", m, &[]));
        let within = r.within(f);
        let captures = r.captures(f, false);
        Some(ExpectAck {
            conn: conn?,
            after: after?,
            matcher: matcher?,
            within,
            captures,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            acks: true,
            ..Uses::conn(&self.conn)
        }
    }

    fn defines(&self) -> Vec<&str> {
        capture_names(&self.captures)
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_matcher(&mut self.matcher, vars)?;
        sub_captures(&mut self.captures, vars)
    }

    fn title(&self) -> String {
        format!(
            "expect on {} the answer: {}",
            self.conn,
            matcher(&self.matcher)
        )
    }
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

impl ActionSpec for Rpc {
    const NAME: &'static str = "rpc";
    const KEYS: &'static [&'static str] = &[
        "conn",
        "request",
        "id_path",
        "response_id_path",
        "response_id",
        "expect",
        "within",
        "capture",
    ];
    const CHECK: &'static str = "request/response";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let request = match f.get("request") {
            None => {
                r.missing(f, "request", "the JSON request as an inline table");
                None
            }
            Some(v) if !matches!(v.get_ref(), DeValue::Table(_)) => {
                r.type_err("request", v, "a table (a JSON object)");
                None
            }
            Some(v) => r.json("request", v),
        };
        let id_path = match r.string(f, "id_path") {
            Some((s, span)) => r.json_path("id_path", &s, &span),
            None => Some(JsonPath::parse("id").expect("static path")),
        };
        let response_id_path = match r.string(f, "response_id_path") {
            Some((s, span)) => r.json_path("response_id_path", &s, &span),
            None => id_path.clone(),
        };
        if let (Some(req), Some(p)) = (&request, &id_path) {
            if let Err(e) = p.lookup(req) {
                let span = f
                    .get("id_path")
                    .or(f.get("request"))
                    .map_or(f.span.clone(), |v| v.span());
                r.err(
                    Semantic,
                    &span,
                    format!("the request has no id at {p} ({e}); expected id_path to point at the request's id field"),
                );
            }
        }
        let response_id = match f.get("response_id") {
            Some(v) => Some(r.json("response_id", v)?),
            None => None,
        };
        let expect = match f.get("expect") {
            Some(v) => Some(r.matcher("expect", v, &[])?),
            None => None,
        };
        let within = r.within(f);
        let captures = r.captures(f, false);
        Some(Rpc {
            conn: conn?,
            request: request?,
            id_path: id_path?,
            response_id_path: response_id_path?,
            response_id,
            expect,
            within,
            captures,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            sends: true,
            ..Uses::conn(&self.conn)
        }
    }

    fn defines(&self) -> Vec<&str> {
        capture_names(&self.captures)
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_json(&mut self.request, vars)?;
        if let Some(id) = &mut self.response_id {
            sub_json(id, vars)?;
        }
        if let Some(m) = &mut self.expect {
            sub_matcher(m, vars)?;
        }
        sub_captures(&mut self.captures, vars)?;
        if self.id_path.get(&self.request).is_none() {
            return Err(ResolveError::Invalid(format!(
                "the request has no id at {}",
                self.id_path
            )));
        }
        Ok(())
    }

    fn title(&self) -> String {
        format!("rpc on {}: {}", self.conn, json(&self.request))
    }
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

impl ActionSpec for CaptureStep {
    const NAME: &'static str = "capture";
    const KEYS: &'static [&'static str] = &[
        "from", "conn", "json", "regex", "group", "header", "whole", "into",
    ];
    const CHECK: &'static str = "capture";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let from = match r.req_string(f, "from", "\"message\" or \"http\"") {
            None => None,
            Some((s, span)) => match s.as_str() {
                "message" => r.conn(f).map(|conn| CaptureFrom::Message { conn }),
                "http" => {
                    if f.has("conn") {
                        r.err(
                            Semantic,
                            &f.key_span("conn"),
                            "field \"conn\" does not apply with from = \"http\"",
                        );
                    }
                    Some(CaptureFrom::Http)
                }
                _ => {
                    r.err(Semantic, &span, format!("field \"from\": unknown source {s:?}; expected \"message\" or \"http\""));
                    None
                }
            },
        };
        let http = matches!(from, Some(CaptureFrom::Http));
        // The capture step carries the source keys on the step itr.
        let source = r
            .capture_kind(f, http)
            .and_then(|w| r.capture_source_only(f, w));
        if !f.has("into") {
            r.missing(f, "into", "the variable to store the value in");
        }
        let var = r.var_name_field(f, "into");
        Some(CaptureStep {
            from: from?,
            capture: Capture {
                var: var?,
                source: source?,
            },
        })
    }

    fn uses(&self) -> Uses<'_> {
        match &self.from {
            CaptureFrom::Message { conn } => Uses {
                conn: ConnUse::Reads(conn),
                ..Uses::default()
            },
            CaptureFrom::Http => Uses::default(),
        }
    }

    fn defines(&self) -> Vec<&str> {
        vec![self.capture.var.as_str()]
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_captures(std::slice::from_mut(&mut self.capture), vars)
    }

    fn title(&self) -> String {
        format!("capture {}", self.capture.var)
    }
}

/// `expect_ping`: the server pings this connection within the window.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectPing {
    /// `conn`.
    pub conn: String,
    /// `within`, from the step's start; pings that came earlier do not count.
    pub within: Duration,
    /// `payload` (template text) or `payload_hex`: the ping must carry exactly this;
    /// `None` accepts any payload.
    pub payload: Option<Bytes>,
}

impl ActionSpec for ExpectPing {
    const NAME: &'static str = "expect_ping";
    const KEYS: &'static [&'static str] = &["conn", "within", "payload", "payload_hex"];
    const CHECK: &'static str = "ping/pong";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let conn = r.conn(f);
        let within = r.within(f);
        let payload = match r.exactly_one(f, &["payload", "payload_hex"], false) {
            Some("payload_hex") => Some(Bytes::Hex(r.hex_field(f, "payload_hex")?)),
            Some(_) => Some(Bytes::Text(r.template(f, "payload")?.0)),
            None if f.has("payload") => return None,
            None => None,
        };
        Some(ExpectPing {
            conn: conn?,
            within,
            payload,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses::conn(&self.conn)
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        match &mut self.payload {
            Some(b) => sub_bytes(b, vars),
            None => Ok(()),
        }
    }

    fn title(&self) -> String {
        format!("expect a ping on {}", self.conn)
    }
}
