//! Client checks Autobahn lacks (`c.*`), each with its RFC 6455 section.
//!
//! Autobahn's fuzzingserver never judges the client's opening handshake, never answers
//! with a broken 101, never sends a masked frame, and cannot see masking keys (a frame
//! masked with the key 0 or with the same key every time looks conforming to it). These
//! checks run as cases of the client run (`/runCase?case=N` like the others, after
//! Autobahn's ids), each on its own connection:
//!
//! | id | what | RFC 6455 |
//! | --- | --- | --- |
//! | `c.1.1` | the request is a valid opening handshake (GET, HTTP/1.1, Host, `Upgrade: websocket`, `Connection: Upgrade`, a key of 16 bytes in base64, version 13) | §4.1 |
//! | `c.1.2` | the key is new for each connection | §4.1 |
//! | `c.2.1`-`c.2.4` | the client fails the connection on a 101 with a wrong `Sec-WebSocket-Accept`, a subprotocol it did not offer, an extension it did not offer, no `Upgrade` header | §4.1 |
//! | `c.3.1` | the client fails the connection on a masked server frame | §5.1 |
//! | `c.4.1` | every client frame is masked, with a key that is not 0 and differs from frame to frame | §5.3 |
//!
//! Grading: a violated MUST is FAILED. "Fails the connection" means the client echoes
//! nothing and closes TCP within [`FAIL_WINDOW`] (a close frame before that is tolerated);
//! an echo is FAILED (it used the connection), an open connection after the window is
//! FAILED (it did not fail it).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::codec::frame::{FrameSpec, Masking, OpCode};
use crate::codec::handshake::{
    accept_response, derive_accept_key, validate_request, HandshakeError, ValidRequest,
};
use crate::codec::http::{Headers, RequestHead};
use crate::codec::message::Event;
use crate::peer::{Pacing, Peer, PeerEvent};
use crate::report::{CaseReport, Verdict};
use crate::suite::case::{CaseDef, CaseInfo, CaseKind};

/// How long a client has to fail the connection after a broken 101 or a masked frame.
pub const FAIL_WINDOW: Duration = Duration::from_secs(2);
/// Messages sent in `c.4.1`, each to be echoed in its own masked frame.
const MASK_PROBES: usize = 4;

/// What a check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    Request,
    FreshKey,
    BadAccept,
    UnofferedProtocol,
    UnofferedExtension,
    NoUpgrade,
    MaskedFrame,
    MaskKeys,
}

const TABLE: &[(&str, &str, &str, Check)] = &[
    (
        "c.1.1",
        "The opening handshake request is valid: GET, HTTP/1.1, Host, Upgrade, Connection, a 16-byte key, version 13",
        "RFC 6455 §4.1",
        Check::Request,
    ),
    (
        "c.1.2",
        "Sec-WebSocket-Key is new for each connection",
        "RFC 6455 §4.1",
        Check::FreshKey,
    ),
    (
        "c.2.1",
        "The client fails the connection on a wrong Sec-WebSocket-Accept",
        "RFC 6455 §4.1",
        Check::BadAccept,
    ),
    (
        "c.2.2",
        "The client fails the connection on a subprotocol it did not offer",
        "RFC 6455 §4.1",
        Check::UnofferedProtocol,
    ),
    (
        "c.2.3",
        "The client fails the connection on an extension it did not offer",
        "RFC 6455 §4.1, §9.1",
        Check::UnofferedExtension,
    ),
    (
        "c.2.4",
        "The client fails the connection on a 101 without an Upgrade header",
        "RFC 6455 §4.1",
        Check::NoUpgrade,
    ),
    (
        "c.3.1",
        "The client fails the connection on a masked server frame",
        "RFC 6455 §5.1",
        Check::MaskedFrame,
    ),
    (
        "c.4.1",
        "Client frames are masked with a non-zero key that differs from frame to frame",
        "RFC 6455 §5.3",
        Check::MaskKeys,
    ),
];

/// The `c.*` cases, for the client catalog. The server runner never sees them.
pub(crate) fn defs() -> Vec<CaseDef> {
    TABLE
        .iter()
        .map(|(id, title, rfc, _)| {
            CaseDef::new(CaseInfo::new(*id, *title, rfc), || {
                CaseKind::NotRun("a client check; run it with `wsspec clients`".into())
            })
        })
        .collect()
}

/// The check behind a case id.
pub(crate) fn by_id(id: &str) -> Option<Check> {
    TABLE.iter().find(|t| t.0 == id).map(|t| t.3)
}

fn verdict(
    info: &CaseInfo,
    v: Verdict,
    expected: &str,
    observed: String,
    peer: &Peer,
) -> CaseReport {
    CaseReport {
        verdict: v,
        expected: expected.into(),
        observed,
        transcript: peer.transcript_entries(),
        ..CaseReport::new(&info.id, &info.title, &info.rfc)
    }
}

/// Runs `check` on a connection whose request head was read; `earlier_keys` are the keys of
/// the agent's earlier connections.
pub(crate) async fn run(
    check: Check,
    info: &CaseInfo,
    mut peer: Peer,
    request: &RequestHead,
    earlier_keys: &HashSet<String>,
) -> CaseReport {
    let started = Instant::now();
    let valid = validate_request(request);
    let valid = match (check, valid) {
        (Check::Request, Err(e)) => {
            peer.send_http(crate::codec::handshake::reject_response(&e));
            peer.shutdown_write();
            return verdict(
                info,
                Verdict::Failed,
                "a request that passes RFC 6455 §4.1",
                format!("RFC 6455 §{}: {e}", e.rfc_section()),
                &peer,
            );
        }
        (_, Err(e)) => return invalid_request(info, peer, e),
        (_, Ok(v)) => v,
    };
    let upgrade = || accept_response(&valid, None, &Headers::default());
    match check {
        Check::Request => {
            peer.send_http(upgrade());
            super::control_close(&mut peer).await;
            verdict(
                info,
                Verdict::Ok,
                "a request that passes RFC 6455 §4.1",
                format!("valid request for {}", valid.target),
                &peer,
            )
        }
        Check::FreshKey => {
            peer.send_http(upgrade());
            super::control_close(&mut peer).await;
            let expected = "a key no earlier connection of this client used";
            if earlier_keys.is_empty() {
                return CaseReport {
                    close_verdict: None,
                    ..verdict(
                        info,
                        Verdict::NotRun,
                        expected,
                        "not run: no earlier connection of this client to compare with".into(),
                        &peer,
                    )
                };
            }
            let (v, obs) = if earlier_keys.contains(&valid.key) {
                (
                    Verdict::Failed,
                    format!(
                        "key {} was already used by an earlier connection",
                        valid.key
                    ),
                )
            } else {
                (
                    Verdict::Ok,
                    format!(
                        "key {} is new (compared with {} earlier connections)",
                        valid.key,
                        earlier_keys.len()
                    ),
                )
            };
            verdict(info, v, expected, obs, &peer)
        }
        Check::BadAccept
        | Check::UnofferedProtocol
        | Check::UnofferedExtension
        | Check::NoUpgrade => {
            let answer = broken_answer(check, &valid);
            peer.send_http(answer.into_bytes());
            probe_failure(info, peer, "an invalid 101", started).await
        }
        Check::MaskedFrame => {
            peer.send_http(upgrade());
            peer.send_frame(
                &FrameSpec::new(OpCode::Text, true, b"masked by the server".to_vec())
                    .masked(Masking::Key([0x11, 0x22, 0x33, 0x44])),
                Pacing::Plain,
            );
            probe_failure(info, peer, "a masked server frame", started).await
        }
        Check::MaskKeys => {
            peer.send_http(upgrade());
            mask_keys(info, peer).await
        }
    }
}

/// A request that breaks §4.1 on a case that needs a valid one.
fn invalid_request(info: &CaseInfo, mut peer: Peer, e: HandshakeError) -> CaseReport {
    peer.send_http(crate::codec::handshake::reject_response(&e));
    peer.shutdown_write();
    verdict(
        info,
        Verdict::Failed,
        "a valid opening handshake, then the check",
        format!(
            "the opening handshake never completed: RFC 6455 §{}: {e}",
            e.rfc_section()
        ),
        &peer,
    )
}

/// The 101 of a `c.2.*` check: valid but for the one thing the check breaks.
fn broken_answer(check: Check, valid: &ValidRequest) -> String {
    let good =
        String::from_utf8_lossy(&accept_response(valid, None, &Headers::default())).into_owned();
    let body = good.trim_end_matches("\r\n");
    match check {
        Check::BadAccept => {
            body.replace(
                &derive_accept_key(valid.key.as_bytes()),
                &derive_accept_key(b"not the client's key"),
            ) + "\r\n\r\n"
        }
        Check::UnofferedProtocol => {
            let name = (0..)
                .map(|i| format!("wsspec-unoffered-{i}"))
                .find(|n| !valid.protocols.contains(n))
                .unwrap_or_default();
            format!("{body}\r\nSec-WebSocket-Protocol: {name}\r\n\r\n")
        }
        Check::UnofferedExtension => {
            format!("{body}\r\nSec-WebSocket-Extensions: x-wsspec-unoffered\r\n\r\n")
        }
        _ => body.replace("Upgrade: websocket\r\n", "") + "\r\n\r\n",
    }
}

/// Sends a text message, then judges whether the client failed the connection: nothing
/// echoed and TCP closed within [`FAIL_WINDOW`].
async fn probe_failure(
    info: &CaseInfo,
    mut peer: Peer,
    what: &str,
    started: Instant,
) -> CaseReport {
    peer.send_frame(
        &FrameSpec::new(OpCode::Text, true, b"echo me if you dare".to_vec()),
        Pacing::Plain,
    );
    let expected =
        format!("the client fails the connection on {what}: no echo, TCP closed within 2 s");
    let until = Instant::now() + FAIL_WINDOW;
    loop {
        match peer.recv(until).await {
            PeerEvent::Frame { frame, .. } => match frame.event {
                Some(Event::Message(_)) => {
                    peer.drop_tcp();
                    return verdict(
                        info,
                        Verdict::Failed,
                        &expected,
                        format!("the client accepted {what} and echoed a message"),
                        &peer,
                    );
                }
                Some(Event::Close(c)) => {
                    // Failing an established connection starts with a close frame (§7.1.7);
                    // the client then waits for the server to close TCP (§7.1.1): do so.
                    peer.send_close(Some(1000), b"");
                    peer.shutdown_write();
                    let ms = started.elapsed().as_millis();
                    let code = c.map_or("no code".to_string(), |(code, _)| format!("code {code}"));
                    linger_close(&mut peer).await;
                    return verdict(
                        info,
                        Verdict::Ok,
                        &expected,
                        format!("the client sent a close frame ({code}) {ms} ms after {what}"),
                        &peer,
                    );
                }
                _ => {}
            },
            PeerEvent::Violation { .. } => {}
            PeerEvent::Eof { .. } => {
                let ms = started.elapsed().as_millis();
                return verdict(
                    info,
                    Verdict::Ok,
                    &expected,
                    format!("the client closed TCP {ms} ms after {what}"),
                    &peer,
                );
            }
            PeerEvent::Timeout => {
                peer.drop_tcp();
                return verdict(
                    info,
                    Verdict::Failed,
                    &expected,
                    format!(
                        "the client kept the connection open for {} s after {what}",
                        FAIL_WINDOW.as_secs()
                    ),
                    &peer,
                );
            }
        }
    }
}

/// `c.4.1`: sends [`MASK_PROBES`] messages, collects the keys of the client's frames.
async fn mask_keys(info: &CaseInfo, mut peer: Peer) -> CaseReport {
    let expected = "each echo in a frame masked with a non-zero key, no key used twice";
    for i in 0..MASK_PROBES {
        peer.send_frame(
            &FrameSpec::new(OpCode::Text, true, format!("mask probe {i}").into_bytes()),
            Pacing::Plain,
        );
    }
    let until = Instant::now() + FAIL_WINDOW;
    let mut keys: Vec<Option<[u8; 4]>> = Vec::new();
    let mut echoes = 0;
    while echoes < MASK_PROBES {
        match peer.recv(until).await {
            PeerEvent::Frame { frame, .. } => {
                keys.push(frame.header.mask);
                if matches!(frame.event, Some(Event::Message(_))) {
                    echoes += 1;
                }
                if matches!(frame.event, Some(Event::Close(_))) {
                    break;
                }
            }
            PeerEvent::Violation { .. } => {}
            PeerEvent::Eof { .. } | PeerEvent::Timeout => break,
        }
    }
    super::control_close(&mut peer).await;
    let hex = |k: &Option<[u8; 4]>| match k {
        Some(k) => format!("{:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3]),
        None => "none".into(),
    };
    let list = keys.iter().map(hex).collect::<Vec<_>>().join(", ");
    let distinct: HashSet<&Option<[u8; 4]>> = keys.iter().collect();
    let (v, why) = if echoes < MASK_PROBES {
        (
            Verdict::Failed,
            format!("{echoes} of {MASK_PROBES} messages echoed; keys seen: [{list}]"),
        )
    } else if keys.iter().any(Option::is_none) {
        (
            Verdict::Failed,
            format!("unmasked client frame; keys: [{list}]"),
        )
    } else if keys.contains(&Some([0; 4])) {
        (
            Verdict::Failed,
            format!("masking key 0 (masks nothing); keys: [{list}]"),
        )
    } else if distinct.len() < keys.len() {
        (
            Verdict::Failed,
            format!("a masking key used twice; keys: [{list}]"),
        )
    } else {
        (
            Verdict::Ok,
            format!("{} frames, all keys distinct: [{list}]", keys.len()),
        )
    };
    verdict(info, v, expected, why, &peer)
}

/// Waits a bounded time for the client to close TCP after the kit's close, then drops it.
async fn linger_close(peer: &mut Peer) {
    let until = Instant::now() + Duration::from_secs(1);
    loop {
        if let PeerEvent::Eof { .. } | PeerEvent::Timeout = peer.recv(until).await {
            break;
        }
    }
    peer.drop_tcp();
}
