//! Checks of RFC 8441 itself (`h2.*`), run when the target is `h2c://` or `h2://`, and the
//! HTTP/2 counterparts of the opening-handshake checks (`h.*` writes raw HTTP/1.1, which an
//! HTTP/2 stream cannot carry, so those are NOT RUN over HTTP/2).
//!
//! Grading follows [`super::extra`]: a broken MUST is FAILED, a SHOULD or a preferred form
//! NON-STRICT, what the RFC leaves open INFORMATIONAL, and a check whose precondition the
//! server does not meet NOT RUN.
//!
//! | id | sent | OK | NON-STRICT | FAILED | counterpart of |
//! |---|---|---|---|---|---|
//! | h2.1.1 | (connection preface) | SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 | – | absent or 0 | – |
//! | h2.1.2 | conforming extended CONNECT | `200`, no `sec-websocket-accept` | `200` with `sec-websocket-accept` | anything else | h.1.1 |
//! | h2.1.3 | `sec-websocket-version: 99` | 4xx with `sec-websocket-version` listing 13 | other refusal | `200` | h.2.1 |
//! | h2.1.4 | two made-up subprotocols | none or one of them selected | – | another selected | h.3.1 |
//! | h2.1.5 | `x-wsspec-bogus` offered | not accepted | – | accepted | h.4.2 |
//! | h2.2.1 | `:protocol x-wsspec-unknown` | refused (non-2xx or RST_STREAM), connection alive | – | `200`, or the connection killed | – |
//! | h2.2.2 | `:protocol websocket` to a server without the setting | RST_STREAM (stream error), connection alive | a 4xx | `200`, or GOAWAY / the connection killed | – |
//! | h2.3.1 | close 1000, then END_STREAM after the server's | close echoed, server END_STREAM, connection alive after ours | no END_STREAM from the server within 1 s | no close reply, or the connection killed | 7.x close handshake |
//! | h2.3.2 | two WebSockets, RST_STREAM CANCEL on one mid-message | the other echoes, connection alive | – | otherwise | – |
//! | h2.3.3 | interleaved fragments on two WebSockets | each echoes its own message | – | otherwise | – |
//! | h2.4.1 | one 256 KiB binary message (4× the initial window) | echoed whole | – | otherwise | – |

use std::time::{Duration, Instant};

use super::case::{CaseDef, CaseInfo, CaseKind};
use super::extra::{BOGUS_EXTENSION, MADE_UP_PROTOCOLS};
use crate::codec::frame::{FrameSpec, OpCode};
use crate::codec::message::{Event, Message};
use crate::peer::h2::{self as h2p, StreamAnswer, StreamRequest};
use crate::peer::{ConnectOptions, HandshakeOutcome, Pacing, Peer, PeerEvent, Target, Transcript};
use crate::report::{CaseReport, TranscriptEntry, Verdict};

/// An RFC 8441 check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum H2Check {
    /// h2.1.1.
    SettingAdvertised,
    /// h2.1.2.
    Accept,
    /// h2.1.3.
    Version99,
    /// h2.1.4.
    Protocols,
    /// h2.1.5.
    BogusExtension,
    /// h2.2.1.
    UnknownProtocol,
    /// h2.2.2.
    WithoutSetting,
    /// h2.3.1.
    CloseEndsStream,
    /// h2.3.2.
    ResetOneStream,
    /// h2.3.3.
    Interleaved,
    /// h2.4.1.
    LargeMessage,
}

const ALL: [(H2Check, &str, &str, &str); 11] = [
    (
        H2Check::SettingAdvertised,
        "h2.1.1",
        "The server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 1",
        "RFC 8441 §3",
    ),
    (
        H2Check::Accept,
        "h2.1.2",
        "A conforming extended CONNECT gets 200 without Sec-WebSocket-Accept",
        "RFC 8441 §4, §5",
    ),
    (
        H2Check::Version99,
        "h2.1.3",
        "sec-websocket-version: 99 is refused with a 4xx listing 13",
        "RFC 8441 §5, RFC 6455 §4.4",
    ),
    (
        H2Check::Protocols,
        "h2.1.4",
        "Subprotocol only from the offer (two made-up values)",
        "RFC 8441 §5, RFC 6455 §4.1",
    ),
    (
        H2Check::BogusExtension,
        "h2.1.5",
        "An unknown extension offered is not accepted",
        "RFC 8441 §5, RFC 6455 §9.1",
    ),
    (
        H2Check::UnknownProtocol,
        "h2.2.1",
        "An unknown :protocol value is refused",
        "RFC 8441 §4",
    ),
    (
        H2Check::WithoutSetting,
        "h2.2.2",
        ":protocol to a server that did not enable it is a stream error, not a connection error",
        "RFC 8441 §3, RFC 9113 §8.1.1",
    ),
    (
        H2Check::CloseEndsStream,
        "h2.3.1",
        "After the close handshake each side ends its stream (END_STREAM); the connection survives",
        "RFC 8441 §5, RFC 6455 §7.1.1",
    ),
    (
        H2Check::ResetOneStream,
        "h2.3.2",
        "RST_STREAM CANCEL of one WebSocket leaves the others and the connection working",
        "RFC 8441 §5",
    ),
    (
        H2Check::Interleaved,
        "h2.3.3",
        "Two WebSockets on one connection with interleaved fragments stay isolated",
        "RFC 8441 §5, RFC 9113 §5",
    ),
    (
        H2Check::LargeMessage,
        "h2.4.1",
        "A message larger than the initial flow-control window goes through",
        "RFC 8441 §5, RFC 9113 §5.2",
    ),
];

/// The `h2.*` case definitions (only in the HTTP/2 catalog).
pub(crate) fn defs() -> Vec<CaseDef> {
    ALL.iter()
        .map(|&(check, id, title, rfc)| {
            CaseDef::new(CaseInfo::new(id, title, rfc), move || {
                CaseKind::Http2(check)
            })
        })
        .collect()
}

impl H2Check {
    fn expected(self) -> &'static str {
        match self {
            H2Check::SettingAdvertised => "SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 in the server's SETTINGS",
            H2Check::Accept => ":status 200, no sec-websocket-accept (RFC 8441 §5: key and accept are not used)",
            H2Check::Version99 => "a 4xx with sec-websocket-version listing 13; never 200",
            H2Check::Protocols => "200 with no sec-websocket-protocol or exactly one of the offered values",
            H2Check::BogusExtension => "200 that does not accept x-wsspec-bogus",
            H2Check::UnknownProtocol => "a refusal (non-2xx status or RST_STREAM); the connection stays usable",
            H2Check::WithoutSetting => "RST_STREAM PROTOCOL_ERROR (a malformed request is a stream error); no GOAWAY",
            H2Check::CloseEndsStream => "close 1000 echoed, END_STREAM from the server within 1 s, the connection answers PING after the kit's END_STREAM",
            H2Check::ResetOneStream => "the second WebSocket echoes after the first was reset; the connection answers PING",
            H2Check::Interleaved => "each WebSocket echoes exactly its own message",
            H2Check::LargeMessage => "the 262144-byte message echoed whole",
        }
    }
}

/// Wait for an answer to a PING after a stream ended.
const PING_WAIT: Duration = Duration::from_secs(2);

struct Out {
    verdict: Verdict,
    sent: String,
    observed: String,
    transcript: Vec<TranscriptEntry>,
}

fn out(verdict: Verdict, sent: &str, observed: String, transcript: Vec<TranscriptEntry>) -> Out {
    Out {
        verdict,
        sent: sent.to_owned(),
        observed,
        transcript,
    }
}

/// Runs one check against `target` (which must be an HTTP/2 target) and builds its report.
pub(crate) async fn run(
    info: &CaseInfo,
    check: H2Check,
    target: &Target,
    opts: &ConnectOptions,
    hard: Instant,
) -> CaseReport {
    let t0 = Instant::now();
    let o = match tokio::time::timeout_at(hard.into(), run_check(check, target, opts)).await {
        Ok(o) => o,
        Err(_) => out(
            Verdict::NotRun,
            "",
            "not run: cut off by the run deadline".into(),
            Vec::new(),
        ),
    };
    CaseReport {
        verdict: o.verdict,
        duration_ms: t0.elapsed().as_secs_f64() * 1000.0,
        sent: o.sent,
        expected: check.expected().into(),
        observed: o.observed,
        transcript: o.transcript,
        ..CaseReport::new(&info.id, &info.title, &info.rfc)
    }
}

/// Opens a WebSocket with `o`'s offers; on failure the check's outcome.
async fn ws(
    target: &Target,
    o: &ConnectOptions,
    conn: &str,
    sent: &str,
) -> Result<(Peer, HandshakeOutcome), Out> {
    match Peer::connect(target, o, conn).await {
        Ok(x) => Ok(x),
        Err(e) => Err(out(
            Verdict::Failed,
            sent,
            format!("no WebSocket: {e}"),
            Vec::new(),
        )),
    }
}

/// Reads until a data message, close or end; `None` on the deadline.
async fn next_message(p: &mut Peer, deadline: Instant) -> Result<Message, String> {
    loop {
        match p.recv(deadline).await {
            PeerEvent::Frame { frame, .. } => match frame.event {
                Some(Event::Message(m)) => return Ok(m),
                Some(Event::Close(c)) => return Err(format!("close frame {c:?}")),
                _ => {}
            },
            PeerEvent::Violation { error, .. } => return Err(format!("violation: {error}")),
            PeerEvent::Eof { error, .. } => {
                return Err(format!(
                    "stream ended ({})",
                    error.unwrap_or_else(|| "END_STREAM".into())
                ))
            }
            PeerEvent::Timeout => return Err("no message in time".into()),
        }
    }
}

fn merged(a: &Peer, b: &Peer) -> Vec<TranscriptEntry> {
    let mut v = a.transcript_entries();
    v.extend(b.transcript_entries());
    v.sort_by(|x, y| x.t_ms.total_cmp(&y.t_ms));
    v
}

async fn alive(opts: &ConnectOptions) -> Result<(), String> {
    let n = opts.http2.connections_opened();
    h2p::connection_alive(&opts.http2, n, PING_WAIT).await
}

async fn run_check(check: H2Check, target: &Target, opts: &ConnectOptions) -> Out {
    if !target.http2 {
        return out(
            Verdict::NotRun,
            "",
            "needs an h2c:// or h2:// target".into(),
            Vec::new(),
        );
    }
    let deadline = || Instant::now() + opts.handshake_timeout;
    match check {
        H2Check::SettingAdvertised | H2Check::UnknownProtocol | H2Check::WithoutSetting => {
            raw_request(check, target, opts).await
        }
        H2Check::Accept | H2Check::Version99 | H2Check::Protocols | H2Check::BogusExtension => {
            let mut o = opts.clone();
            let sent = match check {
                H2Check::Accept => "conforming extended CONNECT (no sec-websocket-key)".to_owned(),
                H2Check::Version99 => {
                    o.headers
                        .push(("Sec-WebSocket-Version".into(), "99".into()));
                    "extended CONNECT with sec-websocket-version: 99".into()
                }
                H2Check::Protocols => {
                    o.protocols = MADE_UP_PROTOCOLS.iter().map(|s| s.to_string()).collect();
                    format!("extended CONNECT offering {}", o.protocols.join(", "))
                }
                _ => {
                    o.extensions.push(BOGUS_EXTENSION.into());
                    format!("extended CONNECT offering {}", o.extensions.join(", "))
                }
            };
            handshake_check(check, target, &o, &sent).await
        }
        H2Check::CloseEndsStream => close_check(target, opts).await,
        H2Check::ResetOneStream | H2Check::Interleaved => two_streams(check, target, opts).await,
        H2Check::LargeMessage => {
            let sent = "one 262144-byte binary message";
            let (mut p, outcome) = match ws(target, opts, "main", sent).await {
                Ok(x) => x,
                Err(o) => return o,
            };
            if !outcome.is_upgraded() {
                return out(
                    Verdict::Failed,
                    sent,
                    outcome.describe(),
                    p.transcript_entries(),
                );
            }
            let payload: Vec<u8> = (0..262_144u32).map(|i| (i % 251) as u8).collect();
            p.send_frame(
                &FrameSpec::new(OpCode::Binary, true, payload.clone()),
                Pacing::Plain,
            );
            let r = next_message(&mut p, Instant::now() + Duration::from_secs(10)).await;
            p.send_close(Some(1000), b"");
            let _ = p.recv(deadline()).await;
            let (v, why) = match r {
                Ok(Message::Binary(b)) if b == payload => (
                    Verdict::Ok,
                    "echoed whole through WINDOW_UPDATEs".to_owned(),
                ),
                Ok(Message::Binary(b)) => {
                    (Verdict::Failed, format!("echo differs ({} bytes)", b.len()))
                }
                Ok(Message::Text(_)) => (Verdict::Failed, "echo came back as text".into()),
                Err(e) => (Verdict::Failed, e),
            };
            out(v, sent, why, p.transcript_entries())
        }
    }
}

/// h2.1.1, h2.2.1, h2.2.2: requests built by hand on the pool's connection.
async fn raw_request(check: H2Check, target: &Target, opts: &ConnectOptions) -> Out {
    let tr = Transcript::new("main", Instant::now());
    let mut req = StreamRequest::websocket(target.resource.clone());
    let sent = match check {
        H2Check::UnknownProtocol => {
            req.protocol = Some("x-wsspec-unknown".into());
            "extended CONNECT with :protocol x-wsspec-unknown"
        }
        H2Check::WithoutSetting => {
            req.ignore_setting = true;
            "extended CONNECT although the server did not enable SETTINGS_ENABLE_CONNECT_PROTOCOL"
        }
        _ => "conforming extended CONNECT",
    };
    let r = h2p::open_stream(opts, target, &req, &tr).await;
    let (info, answer) = match r {
        Err(e) => {
            return out(
                Verdict::Failed,
                sent,
                format!("no HTTP/2 connection: {e}"),
                tr.entries(),
            )
        }
        Ok(x) => x,
    };
    match check {
        H2Check::SettingAdvertised => {
            let v = if info.connect_protocol { Verdict::Ok } else { Verdict::Failed };
            let obs = format!(
                "SETTINGS_ENABLE_CONNECT_PROTOCOL = {}; the extended CONNECT got {}",
                u8::from(info.connect_protocol),
                answer_line(&answer)
            );
            out(v, sent, obs, tr.entries())
        }
        H2Check::WithoutSetting if info.connect_protocol => out(
            Verdict::NotRun,
            sent,
            "the server enabled SETTINGS_ENABLE_CONNECT_PROTOCOL, so it cannot be asked without it; run against a server with the setting off".into(),
            tr.entries(),
        ),
        _ => {
            let line = answer_line(&answer);
            let refused_by_status = matches!(&answer, StreamAnswer::Response(h, _) if !(200..300).contains(&h.status));
            let accepted = matches!(&answer, StreamAnswer::Response(h, _) if (200..300).contains(&h.status));
            drop(answer);
            let live = alive(opts).await;
            let (v, why) = match (&live, check) {
                (Err(e), _) => (Verdict::Failed, format!("{line}; the HTTP/2 connection did not survive: {e}")),
                (Ok(()), _) if accepted => (Verdict::Failed, format!("{line}: the server accepted it")),
                (Ok(()), H2Check::WithoutSetting) if refused_by_status => (
                    Verdict::NonStrict,
                    format!("{line}; RFC 9113 §8.1.1 makes the request malformed: a stream error (RST_STREAM PROTOCOL_ERROR) is expected"),
                ),
                (Ok(()), _) => (Verdict::Ok, format!("{line}; the connection answers PING")),
            };
            tr.note(match &live {
                Ok(()) => "the HTTP/2 connection answers PING".to_owned(),
                Err(e) => format!("the HTTP/2 connection is gone: {e}"),
            });
            out(v, sent, why, tr.entries())
        }
    }
}

fn answer_line(a: &StreamAnswer) -> String {
    match a {
        StreamAnswer::Response(h, _) => format!(":status {}", h.status),
        StreamAnswer::Refused(why) => why.clone(),
        StreamAnswer::Timeout => "no answer in time".into(),
    }
}

/// h2.1.2-h2.1.5: the HTTP/2 counterparts of h.1.1, h.2.1, h.3.1, h.4.2.
async fn handshake_check(check: H2Check, target: &Target, o: &ConnectOptions, sent: &str) -> Out {
    let (mut p, outcome) = match Peer::connect(target, o, "main").await {
        Ok(x) => x,
        Err(e) => {
            let v = if check == H2Check::Version99 {
                Verdict::Ok
            } else {
                Verdict::Failed
            };
            return out(v, sent, format!("refused: {e}"), Vec::new());
        }
    };
    let (v, why) = match (&outcome, check) {
        (HandshakeOutcome::Upgraded { response, .. }, H2Check::Accept) => {
            if response.headers.get("sec-websocket-accept").is_some() {
                (Verdict::NonStrict, "200 carrying sec-websocket-accept, which RFC 8441 §5 says is not used over HTTP/2".to_owned())
            } else {
                (Verdict::Ok, "200 without sec-websocket-accept".to_owned())
            }
        }
        (HandshakeOutcome::Upgraded { .. }, H2Check::Version99) => (
            Verdict::Failed,
            "200: the server accepted version 99".into(),
        ),
        (HandshakeOutcome::Upgraded { accepted, .. }, _) => (
            Verdict::Ok,
            format!(
                "200, subprotocol {:?}, extensions {:?}",
                accepted.protocol, accepted.extensions
            ),
        ),
        (HandshakeOutcome::Invalid { error, .. }, _) => (
            Verdict::Failed,
            format!("200 violating RFC 6455 §{}: {error}", error.rfc_section()),
        ),
        (HandshakeOutcome::Rejected { response }, H2Check::Version99) => {
            let lists = response
                .headers
                .list("sec-websocket-version")
                .iter()
                .any(|v| v.trim() == "13");
            if (400..500).contains(&response.status) && lists {
                (
                    Verdict::Ok,
                    format!(":status {} with sec-websocket-version 13", response.status),
                )
            } else {
                (
                    Verdict::NonStrict,
                    format!(
                        ":status {}; RFC 6455 §4.4 asks for a 4xx listing the supported versions",
                        response.status
                    ),
                )
            }
        }
        (HandshakeOutcome::Rejected { response }, H2Check::Accept) => (
            Verdict::Failed,
            format!(":status {} (RFC 8441 §5: success is 200)", response.status),
        ),
        (other, _) => (
            Verdict::Informational,
            format!("{}; the rule was not exercised", other.describe()),
        ),
    };
    if outcome.is_upgraded() {
        p.send_close(Some(1000), b"");
        let _ = p.recv(Instant::now() + Duration::from_secs(1)).await;
    }
    out(v, sent, why, p.transcript_entries())
}

/// h2.3.1: the close handshake, then END_STREAM both ways, then the connection must live.
async fn close_check(target: &Target, opts: &ConnectOptions) -> Out {
    let sent =
        "close 1000; END_STREAM once the server's close frame (and END_STREAM, if any) arrived";
    let (mut p, outcome) = match ws(target, opts, "main", sent).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if !outcome.is_upgraded() {
        return out(
            Verdict::Failed,
            sent,
            outcome.describe(),
            p.transcript_entries(),
        );
    }
    p.send_close(Some(1000), b"");
    let mut close = None;
    let mut end: Option<Option<String>> = None;
    let until = Instant::now() + Duration::from_secs(1);
    while end.is_none() {
        match p.recv(until).await {
            PeerEvent::Frame { frame, .. } => {
                if let Some(Event::Close(c)) = frame.event {
                    close = Some(c);
                }
            }
            PeerEvent::Violation { .. } => {}
            PeerEvent::Eof { error, .. } => end = Some(error),
            PeerEvent::Timeout => break,
        }
    }
    let server_ended = matches!(end, Some(None));
    if end.is_none() {
        p.transcript()
            .note("no END_STREAM from the server within 1 s of the close handshake; the kit ends its side anyway");
        p.shutdown_write();
    }
    // Give the END_STREAM time to reach the server and the server time to misbehave.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let live = alive(opts).await;
    p.transcript().note(match &live {
        Ok(()) => "the HTTP/2 connection answers PING".to_owned(),
        Err(e) => format!("the HTTP/2 connection is gone: {e}"),
    });
    let (v, why) = match (&close, &end, &live) {
        (_, _, Err(e)) => (
            Verdict::Failed,
            format!("the HTTP/2 connection died after the kit's END_STREAM ({e}): every other WebSocket on it is lost"),
        ),
        (None, _, _) => (Verdict::Failed, "no close frame in reply".into()),
        (_, Some(Some(e)), _) => (Verdict::Failed, format!("the stream ended with an error: {e}")),
        (Some(c), _, Ok(())) if server_ended => (
            Verdict::Ok,
            format!("close {c:?} echoed, END_STREAM from the server, connection alive"),
        ),
        (Some(c), _, Ok(())) => (
            Verdict::NonStrict,
            format!("close {c:?} echoed, but no END_STREAM from the server within 1 s (RFC 8441 §5 maps the server's TCP close to END_STREAM); connection alive"),
        ),
    };
    out(v, sent, why, p.transcript_entries())
}

/// h2.3.2, h2.3.3: two WebSockets on one connection.
async fn two_streams(check: H2Check, target: &Target, opts: &ConnectOptions) -> Out {
    let sent = match check {
        H2Check::ResetOneStream => {
            "A: first fragment of a text message, then RST_STREAM CANCEL; B: text \"still here\""
        }
        _ => "A and B: text messages in two fragments each, interleaved A1 B1 A2 B2",
    };
    let (mut a, oa) = match ws(target, opts, "A", sent).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let (mut b, ob) = match ws(target, opts, "B", sent).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if !oa.is_upgraded() || !ob.is_upgraded() {
        return out(
            Verdict::Failed,
            sent,
            format!("A: {}; B: {}", oa.describe(), ob.describe()),
            merged(&a, &b),
        );
    }
    let wait = || Instant::now() + Duration::from_secs(3);
    let frag = |op, fin, s: &str| FrameSpec::new(op, fin, s.as_bytes().to_vec());
    let (v, why) = if check == H2Check::ResetOneStream {
        a.send_frame(&frag(OpCode::Text, false, "half a mess"), Pacing::Sync);
        tokio::time::sleep(Duration::from_millis(100)).await;
        a.drop_tcp();
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.send_frame(&frag(OpCode::Text, true, "still here"), Pacing::Plain);
        let r = next_message(&mut b, wait()).await;
        let live = alive(opts).await;
        match (r, live) {
            (Ok(Message::Text(t)), Ok(())) if t == "still here" => (
                Verdict::Ok,
                "B echoed after A was reset; the connection answers PING".to_owned(),
            ),
            (r, live) => (Verdict::Failed, format!("B: {r:?}; connection: {live:?}")),
        }
    } else {
        a.send_frame(&frag(OpCode::Text, false, "alpha-"), Pacing::Sync);
        b.send_frame(&frag(OpCode::Text, false, "bravo-"), Pacing::Sync);
        tokio::time::sleep(Duration::from_millis(20)).await;
        a.send_frame(&frag(OpCode::Continuation, true, "one"), Pacing::Sync);
        b.send_frame(&frag(OpCode::Continuation, true, "two"), Pacing::Sync);
        let ra = next_message(&mut a, wait()).await;
        let rb = next_message(&mut b, wait()).await;
        match (&ra, &rb) {
            (Ok(Message::Text(x)), Ok(Message::Text(y)))
                if x == "alpha-one" && y == "bravo-two" =>
            {
                (
                    Verdict::Ok,
                    "A echoed \"alpha-one\", B \"bravo-two\"".to_owned(),
                )
            }
            _ => (Verdict::Failed, format!("A: {ra:?}; B: {rb:?}")),
        }
    };
    for p in [&mut a, &mut b] {
        if !p.is_closed() {
            p.send_close(Some(1000), b"");
        }
    }
    let _ = b.recv(Instant::now() + Duration::from_millis(500)).await;
    out(v, sent, why, merged(&a, &b))
}
