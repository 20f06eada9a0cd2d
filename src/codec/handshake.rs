//! The opening handshake (RFC 6455 §4), both roles, without IO.
//!
//! Client side: [`ClientRequest`] builds the upgrade request (random key, subprotocols,
//! extensions, extra headers, query) and [`ClientRequest::validate_response`] checks the
//! server's answer against §4.1. Server side: [`validate_request`] checks a client request
//! against §4.2.1 and [`accept_response`] / [`reject_response`] build the answer (§4.2.2).

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha1::{Digest, Sha1};

use super::deflate::{validate_answer, AnswerCheck, DeflateConfig, DeflateParams, ExtensionError};
use super::http::{Headers, RequestHead, ResponseHead};

/// The GUID of §1.3 appended to the key before hashing.
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (§4.2.2 item 5.4): base64(SHA-1(key + GUID)).
pub fn derive_accept_key(key: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(key);
    h.update(WS_GUID.as_bytes());
    B64.encode(h.finalize())
}

/// A fresh random `Sec-WebSocket-Key`: 16 random bytes, base64 (§4.1 item 7).
pub fn generate_key() -> String {
    B64.encode(rand::random::<[u8; 16]>())
}

/// A handshake that does not satisfy RFC 6455 §4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// §4.2.1 item 1: the method MUST be GET.
    MethodNotGet(String),
    /// §4.2.1 item 1: HTTP/1.1 or higher is required.
    HttpVersionTooOld((u8, u8)),
    /// §4.2.1 item 2: a `Host` header is required.
    MissingHost,
    /// §4.2.1 item 3 / §4.1 item 2 of the response: `Upgrade` must contain `websocket`.
    MissingUpgradeWebsocket,
    /// §4.2.1 item 4 / §4.1 item 3 of the response: `Connection` must contain `Upgrade`.
    MissingConnectionUpgrade,
    /// §4.2.1 item 5: `Sec-WebSocket-Key` missing.
    MissingKey,
    /// §4.2.1 item 5: the key must be base64 of exactly 16 bytes.
    InvalidKey(String),
    /// §4.2.1 item 6: `Sec-WebSocket-Version` must be 13 (answered with 426 and the version, §4.4).
    UnsupportedVersion(Option<String>),
    /// §4.1 (client item 1): the server answered with a status other than 101.
    NotSwitchingProtocols(u16),
    /// §4.1 (client item 4): `Sec-WebSocket-Accept` missing or not the expected value.
    AcceptMismatch {
        /// Value a conforming server sends.
        expected: String,
        /// Value received, if any.
        got: Option<String>,
    },
    /// §4.1 (client item 6): the server selected a subprotocol the client did not offer,
    /// or more than one.
    ProtocolNotOffered(String),
    /// §4.1 (client item 5): the server accepted an extension the client did not offer.
    ExtensionNotOffered(String),
    /// §4.1 (client item 5) with RFC 7692 §5-7: the server's permessage-deflate answer is
    /// malformed or does not fit the offers.
    DeflateAnswer(ExtensionError),
}

impl HandshakeError {
    /// The RFC 6455 section the error enforces.
    pub fn rfc_section(&self) -> &'static str {
        match self {
            HandshakeError::NotSwitchingProtocols(_)
            | HandshakeError::AcceptMismatch { .. }
            | HandshakeError::ProtocolNotOffered(_)
            | HandshakeError::ExtensionNotOffered(_)
            | HandshakeError::DeflateAnswer(_) => "4.1",
            HandshakeError::UnsupportedVersion(_) => "4.2.1, 4.4",
            _ => "4.2.1",
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::MethodNotGet(m) => write!(f, "method {m} (GET required)"),
            HandshakeError::HttpVersionTooOld((a, b)) => {
                write!(f, "HTTP/{a}.{b} (HTTP/1.1 required)")
            }
            HandshakeError::MissingHost => write!(f, "no Host header"),
            HandshakeError::MissingUpgradeWebsocket => {
                write!(f, "Upgrade header lacks the websocket token")
            }
            HandshakeError::MissingConnectionUpgrade => {
                write!(f, "Connection header lacks the Upgrade token")
            }
            HandshakeError::MissingKey => write!(f, "no Sec-WebSocket-Key"),
            HandshakeError::InvalidKey(k) => {
                write!(f, "Sec-WebSocket-Key {k:?} is not base64 of 16 bytes")
            }
            HandshakeError::UnsupportedVersion(v) => {
                write!(f, "Sec-WebSocket-Version {v:?} (13 required)")
            }
            HandshakeError::NotSwitchingProtocols(s) => write!(f, "status {s} (101 required)"),
            HandshakeError::AcceptMismatch { expected, got } => {
                write!(f, "Sec-WebSocket-Accept {got:?}, expected {expected:?}")
            }
            HandshakeError::ProtocolNotOffered(p) => {
                write!(f, "server selected subprotocol {p:?} that was not offered")
            }
            HandshakeError::ExtensionNotOffered(e) => {
                write!(f, "server accepted extension {e:?} that was not offered")
            }
            HandshakeError::DeflateAnswer(e) => {
                write!(f, "invalid permessage-deflate answer: {e}")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// A client's upgrade request, built field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// Value of the `Host` header (`host:port`); `None` omits the header (for negative tests).
    pub host: Option<String>,
    /// Path plus query, e.g. `/?token=abc`.
    pub target: String,
    /// `Sec-WebSocket-Key` as sent.
    pub key: String,
    /// Offered subprotocols, in preference order.
    pub protocols: Vec<String>,
    /// Offered extensions (each a full offer such as `permessage-deflate; client_max_window_bits`).
    pub extensions: Vec<String>,
    /// Extra header lines, sent after the standard ones (e.g. `Origin`).
    pub headers: Vec<(String, String)>,
    /// Method, `GET` unless a negative test changes it.
    pub method: String,
    /// HTTP version string, `HTTP/1.1` unless a negative test changes it.
    pub http_version: String,
    /// `Sec-WebSocket-Version`; `None` omits it.
    pub version: Option<String>,
    /// `Upgrade` header value; `None` omits it.
    pub upgrade: Option<String>,
    /// `Connection` header value; `None` omits it.
    pub connection: Option<String>,
    /// permessage-deflate offers (also listed in `extensions`) and how the answer is judged.
    pub deflate: Option<(Vec<DeflateParams>, AnswerCheck)>,
}

impl ClientRequest {
    /// A conforming request for `target` on `host`, with a fresh random key.
    pub fn new(host: impl Into<String>, target: impl Into<String>) -> Self {
        ClientRequest {
            host: Some(host.into()),
            target: target.into(),
            key: generate_key(),
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            method: "GET".into(),
            http_version: "HTTP/1.1".into(),
            version: Some("13".into()),
            upgrade: Some("websocket".into()),
            connection: Some("Upgrade".into()),
            deflate: None,
        }
    }

    /// Offers permessage-deflate with `offers` in preference order (RFC 7692 §5), one header
    /// element each; the answer is then checked as `check` says and its configuration
    /// lands in [`Accepted::deflate`].
    pub fn deflate(mut self, offers: Vec<DeflateParams>, check: AnswerCheck) -> Self {
        self.extensions.extend(offers.iter().map(|o| o.to_string()));
        self.deflate = Some((offers, check));
        self
    }

    /// Adds a subprotocol offer.
    pub fn protocol(mut self, p: impl Into<String>) -> Self {
        self.protocols.push(p.into());
        self
    }

    /// Adds an extension offer.
    pub fn extension(mut self, e: impl Into<String>) -> Self {
        self.extensions.push(e.into());
        self
    }

    /// Adds a header line.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets `Origin`.
    pub fn origin(self, origin: impl Into<String>) -> Self {
        self.header("Origin", origin)
    }

    /// Appends `key=value` to the query of the target (values are sent as given).
    pub fn query(mut self, key: &str, value: &str) -> Self {
        let sep = if self.target.contains('?') { '&' } else { '?' };
        self.target = format!("{}{sep}{key}={value}", self.target);
        self
    }

    /// The request bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("{} {} {}\r\n", self.method, self.target, self.http_version);
        if let Some(h) = &self.host {
            s += &format!("Host: {h}\r\n");
        }
        if let Some(u) = &self.upgrade {
            s += &format!("Upgrade: {u}\r\n");
        }
        if let Some(c) = &self.connection {
            s += &format!("Connection: {c}\r\n");
        }
        s += &format!("Sec-WebSocket-Key: {}\r\n", self.key);
        if let Some(v) = &self.version {
            s += &format!("Sec-WebSocket-Version: {v}\r\n");
        }
        if !self.protocols.is_empty() {
            s += &format!("Sec-WebSocket-Protocol: {}\r\n", self.protocols.join(", "));
        }
        if !self.extensions.is_empty() {
            s += &format!(
                "Sec-WebSocket-Extensions: {}\r\n",
                self.extensions.join(", ")
            );
        }
        for (n, v) in &self.headers {
            s += &format!("{n}: {v}\r\n");
        }
        s += "\r\n";
        s.into_bytes()
    }

    /// Checks a server response against §4.1 (the client's validation steps).
    pub fn validate_response(&self, resp: &ResponseHead) -> Result<Accepted, HandshakeError> {
        if resp.status != 101 {
            return Err(HandshakeError::NotSwitchingProtocols(resp.status));
        }
        let h = &resp.headers;
        if !h.has_token("upgrade", "websocket") {
            return Err(HandshakeError::MissingUpgradeWebsocket);
        }
        if !h.has_token("connection", "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        let expected = derive_accept_key(self.key.as_bytes());
        let got = h.get_str("sec-websocket-accept");
        if h.count("sec-websocket-accept") != 1 || got.as_deref() != Some(expected.as_str()) {
            return Err(HandshakeError::AcceptMismatch { expected, got });
        }
        self.validate_negotiation(h)
    }

    /// The part of the response check that does not depend on the HTTP version: the
    /// subprotocol (§4.1 item 6) and extensions (item 5) must come from the offer. Also
    /// used for the `200` of a WebSocket over HTTP/2 (RFC 8441 §5, which keeps these
    /// headers unchanged).
    pub fn validate_negotiation(&self, h: &Headers) -> Result<Accepted, HandshakeError> {
        let protos = h.list("sec-websocket-protocol");
        let protocol = match protos.as_slice() {
            [] => None,
            [p] if self.protocols.iter().any(|o| o == p) => Some(p.clone()),
            _ => return Err(HandshakeError::ProtocolNotOffered(protos.join(", "))),
        };
        let deflate = match &self.deflate {
            Some((offers, check)) => {
                validate_answer(offers, h.get_all("sec-websocket-extensions"), *check)
                    .map_err(HandshakeError::DeflateAnswer)?
            }
            None => None,
        };
        let offered: Vec<String> = self.extensions.iter().map(|e| extension_name(e)).collect();
        let mut extensions = Vec::new();
        for ext in h.list("sec-websocket-extensions") {
            let name = extension_name(&ext);
            if !offered.iter().any(|o| o.eq_ignore_ascii_case(&name)) {
                return Err(HandshakeError::ExtensionNotOffered(ext));
            }
            extensions.push(ext);
        }
        Ok(Accepted {
            protocol,
            extensions,
            deflate,
        })
    }
}

fn extension_name(offer: &str) -> String {
    offer.split(';').next().unwrap_or("").trim().to_owned()
}

/// What a validated 101 response negotiated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Selected subprotocol.
    pub protocol: Option<String>,
    /// Accepted extensions, as sent by the server.
    pub extensions: Vec<String>,
    /// The permessage-deflate settings, when it was offered ([`ClientRequest::deflate`]) and
    /// accepted.
    pub deflate: Option<DeflateConfig>,
}

/// A client request that passed §4.2.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    /// Request target (path and query).
    pub target: String,
    /// `Sec-WebSocket-Key` as sent.
    pub key: String,
    /// Offered subprotocols in order.
    pub protocols: Vec<String>,
    /// Offered extensions.
    pub extensions: Vec<String>,
    /// `Origin`, if present.
    pub origin: Option<String>,
    /// `Host`.
    pub host: String,
}

/// Checks a client's upgrade request against §4.2.1.
pub fn validate_request(req: &RequestHead) -> Result<ValidRequest, HandshakeError> {
    if req.method != "GET" {
        return Err(HandshakeError::MethodNotGet(req.method.clone()));
    }
    if req.version < (1, 1) {
        return Err(HandshakeError::HttpVersionTooOld(req.version));
    }
    let h = &req.headers;
    let host = h.get_str("host").ok_or(HandshakeError::MissingHost)?;
    if !h.has_token("upgrade", "websocket") {
        return Err(HandshakeError::MissingUpgradeWebsocket);
    }
    if !h.has_token("connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let key = h
        .get_str("sec-websocket-key")
        .ok_or(HandshakeError::MissingKey)?;
    match B64.decode(key.as_bytes()) {
        Ok(raw) if raw.len() == 16 && h.count("sec-websocket-key") == 1 => {}
        _ => return Err(HandshakeError::InvalidKey(key)),
    }
    let version = h.get_str("sec-websocket-version");
    if version.as_deref() != Some("13") {
        return Err(HandshakeError::UnsupportedVersion(version));
    }
    Ok(ValidRequest {
        target: req.target.clone(),
        key,
        protocols: h.list("sec-websocket-protocol"),
        extensions: h.list("sec-websocket-extensions"),
        origin: h.get_str("origin"),
        host,
    })
}

/// The 101 answer to a valid request, selecting `protocol` (which must be one offered).
pub fn accept_response(req: &ValidRequest, protocol: Option<&str>, extra: &Headers) -> Vec<u8> {
    let mut s = String::from(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    );
    s += &format!(
        "Sec-WebSocket-Accept: {}\r\n",
        derive_accept_key(req.key.as_bytes())
    );
    if let Some(p) = protocol.filter(|p| req.protocols.iter().any(|o| o == p)) {
        s += &format!("Sec-WebSocket-Protocol: {p}\r\n");
    }
    for (n, v) in &extra.0 {
        s += &format!("{n}: {}\r\n", String::from_utf8_lossy(v));
    }
    s += "\r\n";
    s.into_bytes()
}

/// The error answer for a request that failed §4.2.1: 426 with `Sec-WebSocket-Version: 13`
/// for a version mismatch (§4.4), 405 for a method other than GET, else 400.
pub fn reject_response(err: &HandshakeError) -> Vec<u8> {
    let (status, reason, extra) = match err {
        HandshakeError::UnsupportedVersion(_) => {
            (426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n")
        }
        HandshakeError::MethodNotGet(_) => (405, "Method Not Allowed", "Allow: GET\r\n"),
        HandshakeError::HttpVersionTooOld(_) => (400, "Bad Request", ""),
        _ => (400, "Bad Request", ""),
    };
    let body = format!("{err}\n");
    format!(
        "HTTP/1.1 {status} {reason}\r\n{extra}Connection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::frame::Status;
    use crate::codec::http::{parse_request, parse_response, HeadLimits};

    #[test]
    fn rfc_example_accept_key() {
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn round_trip_both_roles() {
        let req = ClientRequest::new("127.0.0.1:1", "/")
            .protocol("vite-hmr")
            .protocol("x")
            .origin("http://a");
        let Status::Complete(head, _) =
            parse_request(&req.to_bytes(), HeadLimits::default()).unwrap()
        else {
            panic!()
        };
        let valid = validate_request(&head).unwrap();
        assert_eq!(valid.protocols, ["vite-hmr", "x"]);
        assert_eq!(valid.origin.as_deref(), Some("http://a"));
        let resp = accept_response(&valid, Some("vite-hmr"), &Headers::default());
        let Status::Complete(rh, _) = parse_response(&resp, HeadLimits::default()).unwrap() else {
            panic!()
        };
        assert_eq!(
            req.validate_response(&rh).unwrap().protocol.as_deref(),
            Some("vite-hmr")
        );
    }

    #[test]
    fn request_rules() {
        let check = |r: ClientRequest| {
            let Status::Complete(h, _) =
                parse_request(&r.to_bytes(), HeadLimits::default()).unwrap()
            else {
                panic!()
            };
            validate_request(&h)
        };
        let base = ClientRequest::new("h", "/");
        let mut r = base.clone();
        r.version = Some("99".into());
        assert!(matches!(
            check(r),
            Err(HandshakeError::UnsupportedVersion(_))
        ));
        let mut r = base.clone();
        r.key = B64.encode([0u8; 15]);
        assert!(matches!(check(r), Err(HandshakeError::InvalidKey(_))));
        let mut r = base.clone();
        r.method = "POST".into();
        assert!(matches!(check(r), Err(HandshakeError::MethodNotGet(_))));
        let mut r = base.clone();
        r.http_version = "HTTP/1.0".into();
        assert!(matches!(
            check(r),
            Err(HandshakeError::HttpVersionTooOld((1, 0)))
        ));
        let mut r = base.clone();
        r.host = None;
        assert_eq!(check(r), Err(HandshakeError::MissingHost));
        let mut r = base.clone();
        r.connection = Some("keep-alive".into());
        assert_eq!(check(r), Err(HandshakeError::MissingConnectionUpgrade));
        let mut r = base;
        r.upgrade = None;
        assert_eq!(check(r), Err(HandshakeError::MissingUpgradeWebsocket));
    }

    #[test]
    fn response_rules() {
        let req = ClientRequest::new("h", "/").protocol("a");
        let accept = derive_accept_key(req.key.as_bytes());
        let parse = |s: String| match parse_response(s.as_bytes(), HeadLimits::default()).unwrap() {
            Status::Complete(h, _) => h,
            _ => panic!(),
        };
        let ok = format!("HTTP/1.1 101 X\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
        assert!(req.validate_response(&parse(ok)).is_ok());
        let bad_proto = format!("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: b\r\n\r\n");
        assert!(matches!(
            req.validate_response(&parse(bad_proto)),
            Err(HandshakeError::ProtocolNotOffered(_))
        ));
        let bad_ext = format!("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
        assert!(matches!(
            req.validate_response(&parse(bad_ext)),
            Err(HandshakeError::ExtensionNotOffered(_))
        ));
        let bad_accept = "HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n".to_string();
        assert!(matches!(
            req.validate_response(&parse(bad_accept)),
            Err(HandshakeError::AcceptMismatch { .. })
        ));
    }
}
