//! Checks Autobahn's fuzzingclient lacks: the opening handshake (`h.*`) here, the framing,
//! ping and closing rules (`x.*`) in [`super::extra_framing`]. Each names the RFC section it
//! enforces.
//!
//! Grading policy: a violated MUST is FAILED, a SHOULD (or the preferred form of an answer)
//! is NON-STRICT, behaviour the RFC leaves open is INFORMATIONAL; `--strict` counts
//! NON-STRICT as a failure at report time. The decisions per check:
//!
//! | id | request / frame | OK | NON-STRICT | FAILED | INFORMATIONAL |
//! |---|---|---|---|---|---|
//! | h.1.1 | conforming upgrade | valid 101 (accept key, Upgrade, Connection) | – | anything else | – |
//! | h.2.1 | `Sec-WebSocket-Version: 99` | 4xx listing 13 in `Sec-WebSocket-Version` | 4xx without it; other error status; TCP closed or no answer | 101 | – |
//! | h.2.2-h.2.3, h.2.6 | key of 8 bytes, no key, POST | 4xx | other non-101 status; TCP closed or no answer | 101 | – |
//! | h.2.7-h.2.8 | HTTP/1.0, no Host | 4xx | other non-101 status; TCP closed or no answer; 101 | – | – |
//! | h.2.4-h.2.5 | no `Upgrade`, `Connection` without `Upgrade` | any non-101 answer (it is plain HTTP) | TCP closed or no answer | 101 | – |
//! | h.3.1 | two made-up subprotocols | none or one of the offered | – | any other selection | server refused |
//! | h.3.2 | no subprotocol | none selected | – | one selected | server refused |
//! | h.4.1 | no extension offered | none accepted | – | one accepted | server refused |
//! | h.4.2 | `x-wsspec-bogus` offered | not accepted | – | accepted | server refused |
//!
//! Why the form of a handshake refusal is only NON-STRICT: §4.2.1 says the server MUST stop
//! processing and return an error response, and §4.4 that it MUST list its versions. The
//! part with consequences is not switching protocols (graded FAILED). A refusal without a
//! status, or without the version list, leaves the client in the same place (no
//! connection, §4.1), and widely used servers do it (tungstenite closes TCP without an
//! answer), so it is reported as NON-STRICT and becomes a failure under `--strict`.
//!
//! Why upgrading an HTTP/1.0 request or one without `Host` (h.2.7, h.2.8) is only
//! NON-STRICT: §4.2.1 lists "HTTP/1.1 or higher" and "a Host header" among the things a
//! server MUST check, but both belong to the HTTP framing the handshake rides on (Host is
//! optional in HTTP/1.0), the key exchange that proves the client speaks WebSocket is still
//! complete, and the most widely deployed servers (Node's `ws`, hence Vite and
//! webpack-dev-server) accept such requests. A 101 to them is reported, and fails under
//! `--strict`; a 101 to any other malformed request is FAILED.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::case::{CaseDef, CaseInfo, CaseKind};
use crate::codec::handshake::HandshakeError;
use crate::peer::{ConnectOptions, HandshakeOutcome, Peer, Target};
use crate::report::{TranscriptEntry, Verdict};

/// Subprotocols offered by h.3.1 (no server knows them).
pub const MADE_UP_PROTOCOLS: [&str; 2] = ["wsspec-a.example", "wsspec-b.example"];
/// Extension offered by h.4.2.
pub const BOGUS_EXTENSION: &str = "x-wsspec-bogus";

/// How h.2.x breaks the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// `Sec-WebSocket-Version: 99`.
    Version99,
    /// A key that is base64 of 8 bytes.
    ShortKey,
    /// No `Sec-WebSocket-Key`.
    MissingKey,
    /// No `Upgrade` header.
    MissingUpgrade,
    /// `Connection: keep-alive` (no `Upgrade` token).
    NoConnectionUpgrade,
    /// Method `POST`.
    Post,
    /// `HTTP/1.0`.
    Http10,
    /// No `Host` header.
    MissingHost,
}

impl Malformed {
    /// Whether a server may answer the request as ordinary HTTP (it is not a WebSocket
    /// handshake at all without the upgrade headers).
    fn plain_http(self) -> bool {
        matches!(
            self,
            Malformed::MissingUpgrade | Malformed::NoConnectionUpgrade
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Malformed::Version99 => "Sec-WebSocket-Version: 99",
            Malformed::ShortKey => "Sec-WebSocket-Key of 8 bytes (12 base64 characters)",
            Malformed::MissingKey => "no Sec-WebSocket-Key header",
            Malformed::MissingUpgrade => "no Upgrade header",
            Malformed::NoConnectionUpgrade => "Connection: keep-alive (no Upgrade token)",
            Malformed::Post => "method POST",
            Malformed::Http10 => "HTTP/1.0",
            Malformed::MissingHost => "no Host header",
        }
    }
}

/// An opening-handshake check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeCheck {
    /// h.1.1: a conforming request gets a valid 101.
    Accept,
    /// h.2.x: a malformed request is refused.
    Reject(Malformed),
    /// h.3.1: subprotocol chosen only from the offer.
    Protocols,
    /// h.3.2: no subprotocol without an offer.
    NoProtocol,
    /// h.4.1: no extension without an offer.
    NoExtension,
    /// h.4.2: an unknown extension is not accepted.
    BogusExtension,
}

/// Result of a handshake check.
#[derive(Debug, Clone)]
pub struct HandshakeRun {
    /// Grade.
    pub verdict: Verdict,
    /// What was sent, one line.
    pub sent: String,
    /// What was observed, one line.
    pub observed: String,
    /// Wire transcript.
    pub transcript: Vec<TranscriptEntry>,
    /// Wall time.
    pub duration_ms: f64,
    /// The run's deadline cut the check short.
    pub cut_by_deadline: bool,
}

impl HandshakeCheck {
    /// The `expected` line of the report.
    pub fn expected(self) -> String {
        match self {
            HandshakeCheck::Accept => "101 Switching Protocols with Upgrade: websocket, Connection: Upgrade and the correct Sec-WebSocket-Accept".into(),
            HandshakeCheck::Reject(Malformed::Version99) => "a 4xx answer (426 or 400) with Sec-WebSocket-Version listing 13; never 101".into(),
            HandshakeCheck::Reject(m) if m.plain_http() => "no upgrade: any non-101 answer (the request may be served as plain HTTP)".into(),
            HandshakeCheck::Reject(_) => "a 4xx answer such as 400 Bad Request; never 101".into(),
            HandshakeCheck::Protocols => "101 with no Sec-WebSocket-Protocol or exactly one of the offered values".into(),
            HandshakeCheck::NoProtocol => "101 without Sec-WebSocket-Protocol".into(),
            HandshakeCheck::NoExtension => "101 without Sec-WebSocket-Extensions".into(),
            HandshakeCheck::BogusExtension => format!("101 that does not accept {BOGUS_EXTENSION}"),
        }
    }
}

fn list_has(h: &crate::codec::http::Headers, name: &str, value: &str) -> bool {
    h.list(name).iter().any(|v| v.trim() == value)
}

/// Runs one handshake check on a fresh connection; never past `hard_deadline`.
pub async fn run_handshake(
    target: &Target,
    opts: &ConnectOptions,
    check: HandshakeCheck,
    hard_deadline: Instant,
) -> HandshakeRun {
    let started = Instant::now();
    let mut o = opts.clone();
    match check {
        HandshakeCheck::Protocols => {
            o.protocols
                .extend(MADE_UP_PROTOCOLS.iter().map(|s| s.to_string()));
        }
        HandshakeCheck::NoProtocol => o.protocols.clear(),
        HandshakeCheck::NoExtension => o.extensions.clear(),
        HandshakeCheck::BogusExtension => o.extensions.push(BOGUS_EXTENSION.into()),
        _ => {}
    }
    let mut req = o.request(target);
    let mut sent = match check {
        HandshakeCheck::Reject(m) => format!("upgrade request with {}", m.describe()),
        HandshakeCheck::Protocols => format!(
            "upgrade request offering subprotocols {}",
            o.protocols.join(", ")
        ),
        HandshakeCheck::NoProtocol => "upgrade request without Sec-WebSocket-Protocol".into(),
        HandshakeCheck::NoExtension => "upgrade request without Sec-WebSocket-Extensions".into(),
        HandshakeCheck::BogusExtension => format!(
            "upgrade request offering extensions {}",
            o.extensions.join(", ")
        ),
        HandshakeCheck::Accept => "conforming upgrade request".into(),
    };
    if let HandshakeCheck::Reject(m) = check {
        match m {
            Malformed::Version99 => req.version = Some("99".into()),
            Malformed::ShortKey => req.key = B64.encode(rand::random::<[u8; 8]>()),
            Malformed::MissingUpgrade => req.upgrade = None,
            Malformed::NoConnectionUpgrade => req.connection = Some("keep-alive".into()),
            Malformed::Post => req.method = "POST".into(),
            Malformed::Http10 => req.http_version = "HTTP/1.0".into(),
            Malformed::MissingHost => req.host = None,
            Malformed::MissingKey => {}
        }
    }
    let bytes = if check == HandshakeCheck::Reject(Malformed::MissingKey) {
        let text = String::from_utf8_lossy(&req.to_bytes()).into_owned();
        text.split("\r\n")
            .filter(|l| !l.to_ascii_lowercase().starts_with("sec-websocket-key:"))
            .collect::<Vec<_>>()
            .join("\r\n")
            .into_bytes()
    } else {
        req.to_bytes()
    };
    let fin = |verdict, observed: String, transcript, sent: String, cut| HandshakeRun {
        verdict,
        sent,
        observed,
        transcript,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        cut_by_deadline: cut,
    };
    let peer = tokio::time::timeout_at(
        hard_deadline.into(),
        Peer::open(target, &o, "main", started),
    )
    .await;
    let mut peer = match peer {
        Err(_) => {
            return fin(
                Verdict::NotRun,
                "run deadline reached while connecting".into(),
                Vec::new(),
                sent,
                true,
            )
        }
        Ok(Err(e)) => {
            return fin(
                Verdict::Failed,
                format!("no connection: {e}"),
                Vec::new(),
                sent,
                false,
            )
        }
        Ok(Ok(p)) => p,
    };
    let deadline = (Instant::now() + o.handshake_timeout).min(hard_deadline);
    let outcome = match check {
        HandshakeCheck::Reject(_) => {
            peer.send_request_bytes(bytes);
            peer.read_response_head(o.head_limits, deadline).await
        }
        _ => peer.handshake(&req, o.head_limits, deadline).await,
    };
    if let Some(line) = String::from_utf8_lossy(&req.to_bytes()).lines().next() {
        if !matches!(check, HandshakeCheck::Reject(_)) {
            sent = format!("{sent} ({line})");
        }
    }
    let cut =
        matches!(outcome, HandshakeOutcome::Timeout { .. }) && Instant::now() >= hard_deadline;
    peer.drop_tcp();
    let transcript = peer.transcript_entries();
    if cut {
        return fin(
            Verdict::NotRun,
            "run deadline reached while waiting for the answer".into(),
            transcript,
            sent,
            true,
        );
    }
    let (verdict, observed) = grade(check, &outcome, o.handshake_timeout);
    fin(verdict, observed, transcript, sent, false)
}

/// Grades a handshake outcome (pure; see the module table).
pub fn grade(
    check: HandshakeCheck,
    outcome: &HandshakeOutcome,
    waited: Duration,
) -> (Verdict, String) {
    let no_answer = |what: String| -> (Verdict, String) {
        match check {
            HandshakeCheck::Reject(_) => (
                Verdict::NonStrict,
                format!("{what}; the upgrade was refused, but RFC 6455 §4.2.1 asks for an HTTP error response"),
            ),
            HandshakeCheck::Accept => (Verdict::Failed, what),
            _ => (Verdict::Informational, format!("{what}; the rule was not exercised")),
        }
    };
    match outcome {
        HandshakeOutcome::ClosedBeforeResponse { .. } => no_answer(outcome.describe()),
        HandshakeOutcome::Timeout { .. } => {
            no_answer(format!("no answer within {} s", waited.as_secs_f64()))
        }
        HandshakeOutcome::Malformed(e) => (
            Verdict::Failed,
            format!("the answer is not valid HTTP: {e}"),
        ),
        HandshakeOutcome::Rejected { response } | HandshakeOutcome::Invalid { response, .. }
            if matches!(check, HandshakeCheck::Reject(_)) =>
        {
            let HandshakeCheck::Reject(m) = check else {
                unreachable!()
            };
            let status = response.status;
            let line = format!("HTTP {} {}", status, response.reason);
            if status == 101 && matches!(m, Malformed::Http10 | Malformed::MissingHost) {
                // See the module docs: the request is otherwise a complete WebSocket
                // handshake, so accepting it breaks the HTTP framing rule of §4.2.1, not
                // the key exchange; graded like a SHOULD (FAILED under --strict).
                return (
                    Verdict::NonStrict,
                    format!(
                        "{line}: the server upgraded a request RFC 6455 §4.2.1 says to refuse ({})",
                        m.describe()
                    ),
                );
            }
            if status == 101 {
                return (
                    Verdict::Failed,
                    format!("{line}: the server switched protocols on a request RFC 6455 requires it to refuse ({})", m.describe()),
                );
            }
            if m.plain_http() {
                return (Verdict::Ok, format!("{line} (no upgrade)"));
            }
            if !(400..500).contains(&status) {
                return (
                    Verdict::NonStrict,
                    format!("{line}: refused, but with a status that is not a client error (400 expected)"),
                );
            }
            if m == Malformed::Version99 {
                let versions = response.headers.list("sec-websocket-version");
                if !list_has(&response.headers, "sec-websocket-version", "13") {
                    return (
                        Verdict::NonStrict,
                        format!(
                            "{line} without a Sec-WebSocket-Version header listing 13 (got {:?}; RFC 6455 §4.4)",
                            versions
                        ),
                    );
                }
                return (
                    Verdict::Ok,
                    format!("{line}, Sec-WebSocket-Version: {}", versions.join(", ")),
                );
            }
            (Verdict::Ok, line)
        }
        HandshakeOutcome::Rejected { response } => match check {
            HandshakeCheck::Accept => (
                Verdict::Failed,
                format!(
                    "a conforming upgrade request was answered with HTTP {} {}",
                    response.status, response.reason
                ),
            ),
            _ => (
                Verdict::Informational,
                format!(
                    "the server refused the upgrade (HTTP {} {}); the rule was not exercised",
                    response.status, response.reason
                ),
            ),
        },
        HandshakeOutcome::Invalid { error, .. } => {
            let what = match error {
                HandshakeError::ProtocolNotOffered(p) => format!("the server selected subprotocol {p:?}, which was not offered (RFC 6455 §4.1, §4.2.2)"),
                HandshakeError::ExtensionNotOffered(e) => format!("the server accepted extension {e:?}, which was not offered (RFC 6455 §4.1, §9.1)"),
                e => format!("invalid 101: {e} (RFC 6455 §{})", e.rfc_section()),
            };
            (Verdict::Failed, what)
        }
        HandshakeOutcome::Upgraded { accepted, .. } => match check {
            HandshakeCheck::Accept => (Verdict::Ok, "valid 101".into()),
            HandshakeCheck::Protocols | HandshakeCheck::NoProtocol => match &accepted.protocol {
                None => (Verdict::Ok, "101 without a subprotocol".into()),
                Some(p) => (
                    Verdict::Ok,
                    format!("101 selecting the offered subprotocol {p:?}"),
                ),
            },
            HandshakeCheck::NoExtension => (Verdict::Ok, "101 without extensions".into()),
            HandshakeCheck::BogusExtension => {
                let bogus = accepted.extensions.iter().any(|e| {
                    e.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .eq_ignore_ascii_case(BOGUS_EXTENSION)
                });
                if bogus {
                    (
                        Verdict::Failed,
                        format!("the server accepted the unknown extension {BOGUS_EXTENSION} (RFC 6455 §9.1)"),
                    )
                } else if accepted.extensions.is_empty() {
                    (Verdict::Ok, "101 without extensions".into())
                } else {
                    (
                        Verdict::Ok,
                        format!("101 accepting only {}", accepted.extensions.join(", ")),
                    )
                }
            }
            HandshakeCheck::Reject(_) => {
                unreachable!("rejection checks read the head without validation")
            }
        },
    }
}

fn h(id: &str, title: &str, rfc: &str, check: HandshakeCheck) -> CaseDef {
    CaseDef::new(CaseInfo::new(id, title, rfc), move || {
        CaseKind::Handshake(check)
    })
}

/// The opening-handshake checks (`h.*`).
pub(crate) fn handshake_defs() -> Vec<CaseDef> {
    use HandshakeCheck::*;
    use Malformed::*;
    vec![
        h(
            "h.1.1",
            "A conforming upgrade request gets a valid 101 with the right Sec-WebSocket-Accept",
            "RFC 6455 §4.2.2, §4.1",
            Accept,
        ),
        h(
            "h.2.1",
            "Unsupported Sec-WebSocket-Version 99 is refused with the supported versions",
            "RFC 6455 §4.2.2, §4.4",
            Reject(Version99),
        ),
        h(
            "h.2.2",
            "Sec-WebSocket-Key that is not 16 bytes is refused",
            "RFC 6455 §4.2.1 item 5",
            Reject(ShortKey),
        ),
        h(
            "h.2.3",
            "Missing Sec-WebSocket-Key is refused",
            "RFC 6455 §4.2.1 item 5",
            Reject(MissingKey),
        ),
        h(
            "h.2.4",
            "Missing Upgrade header: no upgrade",
            "RFC 6455 §4.2.1 item 3",
            Reject(MissingUpgrade),
        ),
        h(
            "h.2.5",
            "Connection header without the Upgrade token: no upgrade",
            "RFC 6455 §4.2.1 item 4",
            Reject(NoConnectionUpgrade),
        ),
        h(
            "h.2.6",
            "Upgrade request with method POST is refused",
            "RFC 6455 §4.2.1 item 1",
            Reject(Post),
        ),
        h(
            "h.2.7",
            "Upgrade request over HTTP/1.0 is refused",
            "RFC 6455 §4.2.1 item 1",
            Reject(Http10),
        ),
        h(
            "h.2.8",
            "Upgrade request without Host is refused",
            "RFC 6455 §4.2.1 item 2",
            Reject(MissingHost),
        ),
        h(
            "h.3.1",
            "Subprotocol is selected only from the offered list",
            "RFC 6455 §4.2.2, §4.1",
            Protocols,
        ),
        h(
            "h.3.2",
            "No subprotocol is selected when none is offered",
            "RFC 6455 §4.2.2, §4.1",
            NoProtocol,
        ),
        h(
            "h.4.1",
            "No extension is accepted when none is offered",
            "RFC 6455 §4.1, §9.1",
            NoExtension,
        ),
        h(
            "h.4.2",
            "An unknown extension offer is not accepted",
            "RFC 6455 §9.1",
            BogusExtension,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::handshake::Accepted;
    use crate::codec::http::{Headers, ResponseHead};

    fn head(status: u16, headers: &[(&str, &str)]) -> ResponseHead {
        ResponseHead {
            version: (1, 1),
            status,
            reason: "X".into(),
            headers: Headers(
                headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                    .collect(),
            ),
        }
    }

    fn rejected(status: u16, headers: &[(&str, &str)]) -> HandshakeOutcome {
        HandshakeOutcome::Rejected {
            response: head(status, headers),
        }
    }

    const W: Duration = Duration::from_secs(5);

    #[test]
    fn version_99_grading() {
        let c = HandshakeCheck::Reject(Malformed::Version99);
        assert_eq!(
            grade(c, &rejected(426, &[("Sec-WebSocket-Version", "13")]), W).0,
            Verdict::Ok
        );
        assert_eq!(
            grade(c, &rejected(400, &[("Sec-WebSocket-Version", "13, 8")]), W).0,
            Verdict::Ok
        );
        assert_eq!(grade(c, &rejected(400, &[]), W).0, Verdict::NonStrict);
        assert_eq!(
            grade(c, &rejected(400, &[("Sec-WebSocket-Version", "8")]), W).0,
            Verdict::NonStrict
        );
        assert_eq!(
            grade(c, &rejected(500, &[("Sec-WebSocket-Version", "13")]), W).0,
            Verdict::NonStrict
        );
        assert_eq!(grade(c, &rejected(101, &[]), W).0, Verdict::Failed);
        let closed = HandshakeOutcome::ClosedBeforeResponse { received: vec![] };
        assert_eq!(grade(c, &closed, W).0, Verdict::NonStrict);
        let t = HandshakeOutcome::Timeout { received: vec![] };
        assert_eq!(grade(c, &t, W).0, Verdict::NonStrict);
    }

    #[test]
    fn plain_http_requests_may_get_any_answer() {
        let c = HandshakeCheck::Reject(Malformed::MissingUpgrade);
        assert_eq!(grade(c, &rejected(200, &[]), W).0, Verdict::Ok);
        assert_eq!(grade(c, &rejected(426, &[]), W).0, Verdict::Ok);
        assert_eq!(grade(c, &rejected(101, &[]), W).0, Verdict::Failed);
        let c = HandshakeCheck::Reject(Malformed::MissingHost);
        assert_eq!(grade(c, &rejected(200, &[]), W).0, Verdict::NonStrict);
        assert_eq!(grade(c, &rejected(400, &[]), W).0, Verdict::Ok);
    }

    #[test]
    fn negotiation_grading() {
        let up = |protocol: Option<&str>, ext: &[&str]| HandshakeOutcome::Upgraded {
            response: head(101, &[]),
            accepted: Accepted {
                protocol: protocol.map(str::to_owned),
                extensions: ext.iter().map(|s| s.to_string()).collect(),
            },
        };
        assert_eq!(
            grade(HandshakeCheck::Protocols, &up(None, &[]), W).0,
            Verdict::Ok
        );
        assert_eq!(
            grade(
                HandshakeCheck::Protocols,
                &up(Some("wsspec-a.example"), &[]),
                W
            )
            .0,
            Verdict::Ok
        );
        let bad = HandshakeOutcome::Invalid {
            response: head(101, &[]),
            error: HandshakeError::ProtocolNotOffered("chat".into()),
        };
        assert_eq!(grade(HandshakeCheck::Protocols, &bad, W).0, Verdict::Failed);
        assert_eq!(
            grade(HandshakeCheck::NoProtocol, &bad, W).0,
            Verdict::Failed
        );
        assert_eq!(
            grade(HandshakeCheck::Protocols, &rejected(400, &[]), W).0,
            Verdict::Informational
        );
        assert_eq!(
            grade(
                HandshakeCheck::BogusExtension,
                &up(None, &["x-wsspec-bogus"]),
                W
            )
            .0,
            Verdict::Failed
        );
        assert_eq!(
            grade(HandshakeCheck::BogusExtension, &up(None, &[]), W).0,
            Verdict::Ok
        );
        let ext = HandshakeOutcome::Invalid {
            response: head(101, &[]),
            error: HandshakeError::ExtensionNotOffered("permessage-deflate".into()),
        };
        assert_eq!(
            grade(HandshakeCheck::NoExtension, &ext, W).0,
            Verdict::Failed
        );
        assert_eq!(
            grade(HandshakeCheck::Accept, &rejected(403, &[]), W).0,
            Verdict::Failed
        );
        assert_eq!(
            grade(HandshakeCheck::Accept, &up(None, &[]), W).0,
            Verdict::Ok
        );
    }
}
