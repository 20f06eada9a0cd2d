//! Server-role actions: the kit plays the server for a client under test. `listen`
//! opens a named listener on 127.0.0.1 (or another loopback address), `accept` takes the client's next connection
//! (asserting on its opening handshake, answering 101 or refusing), `restart_listener`
//! closes everything and refuses for a while, `expect_reconnect` measures how the client
//! comes back (the delay sequence and its shape). An accepted connection is a named
//! connection like one `connect` opened, so every connection step works on it.

use std::time::Duration;

use serde_json::Value;
use toml::de::DeValue;

use super::{ActionSpec, ConnUse, Uses};
use crate::scenario::duration::format_duration;
use crate::scenario::read::{is_conn_name, Fields, Reader, Semantic};
use crate::scenario::resolve::{sub_opt, sub_pattern, ResolveError};
use crate::scenario::vars::Vars;

/// This family's rows of the action table (see `actions/mod.rs`).
macro_rules! listen_actions {
    ($consumer:ident [$($done:tt)*] $($rest:ident)*) => {
        $crate::scenario::actions::collect_families! { $consumer [$($done)*
            /// Open a listener on 127.0.0.1 (the kit plays the server).
            Listen(Listen),
            /// Accept the client's next connection on a listener.
            Accept(Accept),
            /// Close a listener and its connections, refuse for a while, listen again.
            RestartListener(RestartListener),
            /// Wait for the client to come back, refusing some attempts; judge the delays.
            ExpectReconnect(ExpectReconnect),
        ] $($rest)* }
    };
}
pub(crate) use listen_actions;

/// Reads the `listener` field: a name like a connection's.
fn listener_name(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<String> {
    let (s, span) = r.req_string(f, "listener", "the listener's name (from its listen step)")?;
    if !is_conn_name(&s) {
        r.err(
            Semantic,
            &span,
            format!("field \"listener\": {s:?} is not a valid name; expected letters, digits, '_' or '-'"),
        );
        return None;
    }
    Some(s)
}

/// `listen`: a listener on 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// `listener`: its name.
    pub listener: String,
    /// `host` (default 127.0.0.1): a loopback address (127.0.0.0/8), so one machine can
    /// play two (a remote's broker on 127.0.0.2).
    pub host: std::net::Ipv4Addr,
    /// `port`: 0 (the default) lets the kit choose a free port.
    pub port: u16,
    /// `port_var`: the variable that receives the port (default `<listener>_port`).
    pub port_var: String,
}

impl ActionSpec for Listen {
    const NAME: &'static str = "listen";
    const KEYS: &'static [&'static str] = &["listener", "host", "port", "port_var"];
    const CHECK: &'static str = "server role";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let listener = listener_name(r, f)?;
        let host = match r.string(f, "host") {
            None => std::net::Ipv4Addr::LOCALHOST,
            Some((h, span)) => match h.parse::<std::net::Ipv4Addr>() {
                Ok(a) if a.is_loopback() => a,
                _ => {
                    r.err(
                        Semantic,
                        &span,
                        format!("field \"host\": {h:?} is not a loopback IPv4 address; expected 127.x.y.z (the kit listens on this machine only)"),
                    );
                    return None;
                }
            },
        };
        let port = r.int(f, "port", 0, 65535).unwrap_or(0) as u16;
        let port_var = match r.var_name_field(f, "port_var") {
            Some(v) => v,
            None => format!("{}_port", listener.replace('-', "_")),
        };
        Some(Listen {
            listener,
            host,
            port,
            port_var,
        })
    }

    fn defines(&self) -> Vec<&str> {
        vec![self.port_var.as_str()]
    }

    fn title(&self) -> String {
        match self.port {
            0 => format!("listen as {} on {}", self.listener, self.host),
            p => format!("listen as {} on {}:{p}", self.listener, self.host),
        }
    }
}

/// What an `accept` asserts on the client's opening handshake (`expect = {...}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestExpect {
    /// `path`: string pattern for the path (without the query).
    pub path: Option<Value>,
    /// `query`: table of parameter → string pattern (`"$absent"` allowed).
    pub query: Option<Value>,
    /// `protocols`: string pattern for the offered subprotocols, joined by `", "`.
    pub protocols: Option<Value>,
    /// `origin`: string pattern for `Origin` (`"$absent"` allowed).
    pub origin: Option<Value>,
    /// `headers`: header patterns (names lower-cased).
    pub headers: Option<Value>,
    /// `fresh_key` (default true): the `Sec-WebSocket-Key` was not used by an earlier
    /// connection of this listener (RFC 6455 4.1: a fresh random nonce per connection).
    pub fresh_key: bool,
}

/// Refused attempts: `refuse = {count = N, status = 503}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refuse {
    /// How many attempts are refused before one is accepted.
    pub count: u32,
    /// The HTTP status of the refusal (default 503).
    pub status: u16,
}

/// `accept`: the client's next connection on `listener`, named `conn`.
#[derive(Debug, Clone, PartialEq)]
pub struct Accept {
    /// `listener`, `conn`, `within`, `answer_pings`.
    pub take: Take,
    /// `expect`: assertions on the opening handshake.
    pub expect: RequestExpect,
    /// `protocol` (template): the subprotocol to select; it must be among the offers.
    pub protocol: Option<String>,
    /// `refuse`: attempts answered with an HTTP error first.
    pub refuse: Option<Refuse>,
}

/// The keys of a step with a [`Take`] ([`Take::read`] reads them), then its own.
macro_rules! take_keys {
    ($($key:literal),*) => {
        ["listener", "conn", "within", "answer_pings", $($key),*]
    };
}

/// The connection an `accept` or `expect_reconnect` step takes from a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    /// `listener`.
    pub listener: String,
    /// `conn`: the name later steps use.
    pub conn: String,
    /// `within`: for the connection (and its handshake; for `expect_reconnect` all the
    /// attempts) to arrive.
    pub within: Duration,
    /// `answer_pings` (default true) on the accepted connection.
    pub answer_pings: bool,
}

impl Take {
    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Take> {
        let listener = listener_name(r, f);
        let conn = r.conn(f);
        let within = r.within(f);
        let answer_pings = r.boolean(f, "answer_pings").unwrap_or(true);
        Some(Take {
            listener: listener?,
            conn: conn?,
            within,
            answer_pings,
        })
    }

    /// The step opens `conn`, which stays open for the steps after.
    fn uses(&self) -> Uses<'_> {
        Uses {
            conn: ConnUse::Opens {
                conn: &self.conn,
                stays_open: true,
            },
            ..Uses::default()
        }
    }
}

fn read_request_expect(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> RequestExpect {
    let Some(e) = r.table(f, "expect") else {
        return RequestExpect {
            fresh_key: true,
            ..RequestExpect::default()
        };
    };
    r.finish(
        &e,
        &[
            "path",
            "query",
            "protocols",
            "origin",
            "headers",
            "fresh_key",
        ],
    );
    RequestExpect {
        path: r.string_pattern(&e, "path", false),
        query: query_patterns(r, &e),
        protocols: r.string_pattern(&e, "protocols", true),
        origin: r.string_pattern(&e, "origin", true),
        headers: if e.has("headers") {
            r.header_patterns(&e, "headers")
        } else {
            None
        },
        fresh_key: r.boolean(&e, "fresh_key").unwrap_or(true),
    }
}

/// `query = {name = pattern}`: one string pattern per parameter (`"$absent"` allowed).
fn query_patterns(r: &mut Reader<'_>, e: &Fields<'_, '_>) -> Option<Value> {
    let t = r.table(e, "query")?;
    let mut out = serde_json::Map::new();
    for (k, v) in t.table.iter() {
        let name = k.get_ref().to_string();
        if !matches!(v.get_ref(), DeValue::String(_)) {
            r.type_err(&format!("query.{name}"), v, "a string pattern");
            continue;
        }
        if let Some(p) = r.pattern_with(&format!("query.{name}"), v, true) {
            out.insert(name, p);
        }
    }
    Some(Value::Object(out))
}

fn read_refuse(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Refuse> {
    let t = r.table(f, "refuse")?;
    r.finish(&t, &["count", "status"]);
    let count = r.int(&t, "count", 0, 1000).unwrap_or(1) as u32;
    let status = match r.int(&t, "status", 300, 599) {
        Some(s) => s as u16,
        None => 503,
    };
    Some(Refuse { count, status })
}

impl ActionSpec for Accept {
    const NAME: &'static str = "accept";
    const KEYS: &'static [&'static str] = &take_keys!["expect", "protocol", "refuse"];
    const CHECK: &'static str = "server role";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let take = Take::read(r, f);
        let expect = read_request_expect(r, f);
        let protocol = r.template(f, "protocol").map(|s| s.0);
        let refuse = read_refuse(r, f);
        Some(Accept {
            take: take?,
            expect,
            protocol,
            refuse,
        })
    }

    fn uses(&self) -> Uses<'_> {
        self.take.uses()
    }

    fn resolve(&mut self, vars: &Vars) -> Result<(), ResolveError> {
        sub_opt(&mut self.protocol, vars)?;
        let e = &mut self.expect;
        for p in [
            &mut e.path,
            &mut e.query,
            &mut e.protocols,
            &mut e.origin,
            &mut e.headers,
        ] {
            sub_pattern(p, vars)?;
        }
        Ok(())
    }

    fn title(&self) -> String {
        let refuse = match self.refuse {
            Some(Refuse { count, status }) if count > 0 => {
                format!(" after refusing {count} attempt(s) with HTTP {status}")
            }
            _ => String::new(),
        };
        format!(
            "accept {} on listener {}{refuse}",
            self.take.conn, self.take.listener
        )
    }
}

/// How `restart_listener` ends the listener's open connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndConns {
    /// `close = "drop"`: TCP is cut without a close frame (a crash).
    Drop,
    /// `close = 1001`: a close frame with this code (a graceful shutdown).
    Code(u16),
}

/// `restart_listener`: close the listener and its connections, refuse connections for
/// `down_for`, then listen again on the same port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartListener {
    /// `listener`.
    pub listener: String,
    /// `close` (default 1001).
    pub close: EndConns,
    /// `down_for` (default 0): how long nothing listens.
    pub down_for: Duration,
}

impl ActionSpec for RestartListener {
    const NAME: &'static str = "restart_listener";
    const KEYS: &'static [&'static str] = &["listener", "close", "down_for"];
    const CHECK: &'static str = "server role";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let listener = listener_name(r, f);
        let close = match f.get("close") {
            None => EndConns::Code(1001),
            Some(v) => match v.get_ref() {
                DeValue::String(s) if s.as_ref() == "drop" => EndConns::Drop,
                _ => match r.int(f, "close", 1000, 4999) {
                    Some(c) => EndConns::Code(c as u16),
                    None => {
                        r.err(
                            Semantic,
                            &v.span(),
                            "field \"close\": expected \"drop\" or a close code 1000-4999",
                        );
                        return None;
                    }
                },
            },
        };
        let down_for = r.duration(f, "down_for").unwrap_or(Duration::ZERO);
        Some(RestartListener {
            listener: listener?,
            close,
            down_for,
        })
    }

    fn uses(&self) -> Uses<'_> {
        Uses {
            fixed_wait: self.down_for,
            ..Uses::default()
        }
    }

    fn title(&self) -> String {
        let how = match self.close {
            EndConns::Drop => "dropping its connections".to_string(),
            EndConns::Code(c) => format!("closing its connections with {c}"),
        };
        format!(
            "restart listener {} ({how}, down for {})",
            self.listener,
            format_duration(self.down_for)
        )
    }
}

/// The expected shape of the reconnect delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// `"any"`: only that the client comes back.
    Any,
    /// `"constant"`: every delay within 30% of their median.
    Constant,
    /// `"growing"`: every delay at least 1.25 times the one before.
    Growing,
    /// `"capped"`: never shrinking (by more than 20%), and none above `max_delay`.
    Capped,
}

impl Backoff {
    /// The name in files.
    pub fn name(self) -> &'static str {
        match self {
            Backoff::Any => "any",
            Backoff::Constant => "constant",
            Backoff::Growing => "growing",
            Backoff::Capped => "capped",
        }
    }
}

/// `expect_reconnect`: the client connects again on `listener` within the window; the
/// first `refuse` attempts are refused (HTTP 503), the next is accepted as `conn`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectReconnect {
    /// `listener`, `conn`, `within` (for all the attempts), `answer_pings`.
    pub take: Take,
    /// `after`: the connection whose end starts the first delay (default: the step's
    /// start).
    pub after: Option<String>,
    /// `refuse`: attempts refused with HTTP 503 before one is accepted (default 0).
    pub refuse: u32,
    /// `backoff` (default `"any"`).
    pub backoff: Backoff,
    /// `min_delay`: no delay may be shorter.
    pub min_delay: Option<Duration>,
    /// `max_delay`: no delay may be longer.
    pub max_delay: Option<Duration>,
}

impl ActionSpec for ExpectReconnect {
    const NAME: &'static str = "expect_reconnect";
    const KEYS: &'static [&'static str] =
        &take_keys!["after", "refuse", "backoff", "min_delay", "max_delay"];
    const CHECK: &'static str = "reconnect";

    fn read(r: &mut Reader<'_>, f: &Fields<'_, '_>) -> Option<Self> {
        let take = Take::read(r, f);
        let after = r.string(f, "after").map(|s| s.0);
        let refuse = r.int(f, "refuse", 0, 1000).unwrap_or(0) as u32;
        let backoff = match r.string(f, "backoff") {
            None => Backoff::Any,
            Some((s, span)) => match s.as_str() {
                "any" => Backoff::Any,
                "constant" => Backoff::Constant,
                "growing" => Backoff::Growing,
                "capped" => Backoff::Capped,
                _ => {
                    r.err(
                        Semantic,
                        &span,
                        format!("field \"backoff\": unknown shape {s:?}; expected \"any\", \"constant\", \"growing\" or \"capped\""),
                    );
                    return None;
                }
            },
        };
        if backoff != Backoff::Any && refuse < 1 {
            r.err(
                Semantic,
                &f.key_span("backoff"),
                "field \"backoff\": a shape needs at least two delays; set refuse = 1 or more",
            );
        }
        let min_delay = r.duration(f, "min_delay");
        let max_delay = r.duration(f, "max_delay");
        if backoff == Backoff::Capped && max_delay.is_none() {
            r.missing(
                f,
                "max_delay",
                "the cap of the delays (with backoff = \"capped\")",
            );
        }
        Some(ExpectReconnect {
            take: take?,
            after,
            refuse,
            backoff,
            min_delay,
            max_delay,
        })
    }

    fn uses(&self) -> Uses<'_> {
        self.take.uses()
    }

    fn title(&self) -> String {
        let shape = match self.backoff {
            Backoff::Any => String::new(),
            b => format!(", {} back-off", b.name()),
        };
        format!(
            "expect the client back on {} within {}{shape}",
            self.take.listener,
            format_duration(self.take.within)
        )
    }
}
