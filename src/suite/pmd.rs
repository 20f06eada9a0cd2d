//! permessage-deflate checks Autobahn|Testsuite lacks (`pmd.*`), each citing its RFC 7692
//! section.
//!
//! Autobahn's fuzzer accepts any well-formed answer to its offer and only checks echoes, so a
//! server can answer parameters nobody offered, ignore `server_no_context_takeover` or the
//! window it agreed to, or set RSV1 where it must not, and still pass 12.x/13.x. These checks
//! judge the answer with [`AnswerCheck::Strict`] (RFC 7692 as written) and inflate what the
//! server sends under the agreed settings exactly.
//!
//! | id | sends | OK | FAILED |
//! | --- | --- | --- | --- |
//! | pmd.1.1 | bare offer | one element, only offered parameters | anything else |
//! | pmd.1.2 | `server_max_window_bits=10; client_max_window_bits` | windows within the offer | a window above it, one missing |
//! | pmd.2.1 | compressed text, ping, close | pong and close without RSV1 | RSV1 on a control frame |
//! | pmd.2.2 | 64 KiB compressed text | echo, RSV1 on its first frame only | RSV1 on a continuation |
//! | pmd.3.1 | `server_no_context_takeover`, same 2 KiB text twice | both echoes inflate alone | the second needs the first |
//! | pmd.3.2 | `server_max_window_bits=9`, 3 KiB text repeating at 1 KiB | echo inflates within 512 bytes | a reference further back |
//! | pmd.4.1 | 128 MiB of zeros compressed (~128 KiB) | close 1009 | echo or no close (other codes: NON-STRICT) |
//! | pmd.4.2 | the empty message compressed (`00`) | empty text echo | anything else |
//! | pmd.4.3 | "Hello" in two DEFLATE blocks, the last non-final | "Hello" echo | anything else |
//! | pmd.5.1 | 4 KiB compressible text | compressed echo | – (uncompressed: NON-STRICT) |
//!
//! A server that does not accept the offer is UNIMPLEMENTED, as in Autobahn's 12.x/13.x.

use std::time::{Duration, Instant};

use super::case::{CaseDef, CaseInfo, CaseKind};
use super::extra::HandshakeRun;
use crate::codec::deflate::{AnswerCheck, DeflateParams, WindowBits, ALLOWED_RSV};
use crate::codec::error::FrameError;
use crate::codec::frame::{FrameSpec, OpCode};
use crate::codec::message::{Event, Message};
use crate::peer::{ConnectOptions, HandshakeOutcome, Pacing, Peer, PeerEvent, Target};
use crate::report::Verdict;

/// One `pmd.*` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PmdCheck {
    /// pmd.1.1: the answer to a bare offer.
    BareAnswer,
    /// pmd.1.2: the answer to an offer with window parameters.
    WindowAnswer,
    /// pmd.2.1: no RSV1 on pongs and the close frame.
    Rsv1Control,
    /// pmd.2.2: no RSV1 on continuation frames.
    Rsv1Continuation,
    /// pmd.3.1: `server_no_context_takeover` honoured.
    NoContextTakeover,
    /// pmd.3.2: `server_max_window_bits` honoured.
    WindowHonoured,
    /// pmd.4.1: a message inflating beyond the server's limit.
    Bomb,
    /// pmd.4.2: the empty compressed message.
    EmptyMessage,
    /// pmd.4.3: a message of two DEFLATE blocks ending in a non-final one.
    TwoBlocks,
    /// pmd.5.1: a compressible message comes back compressed.
    Compresses,
}

/// Inflated size of pmd.4.1's message: above the usual server limits (Node `ws` 100 MiB,
/// `websockets` 1 MiB, the reference server 64 MiB).
const BOMB: usize = 128 << 20;
/// RFC 7692 §7.2.3.5: "Hello" in two blocks, the first ended by a sync flush.
const TWO_BLOCKS: [u8; 13] = [
    0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
];
/// How long the server has for each step (echoes, close).
const STEP: Duration = Duration::from_secs(5);

impl PmdCheck {
    fn offer(self) -> (DeflateParams, AnswerCheck) {
        let bits = |b| WindowBits::new(b).unwrap_or(WindowBits::MAX);
        let p = DeflateParams::new();
        match self {
            PmdCheck::BareAnswer => (p, AnswerCheck::Strict),
            PmdCheck::WindowAnswer => (
                p.server_max_window_bits(bits(10))
                    .client_max_window_bits(None),
                AnswerCheck::Strict,
            ),
            PmdCheck::NoContextTakeover => (p.server_no_context_takeover(), AnswerCheck::Strict),
            PmdCheck::WindowHonoured => (p.server_max_window_bits(bits(9)), AnswerCheck::Strict),
            _ => (p, AnswerCheck::Autobahn),
        }
    }

    /// What goes out after the handshake: (opcode, payload, already compressed).
    fn messages(self) -> Vec<(OpCode, Vec<u8>, bool)> {
        let text = |n: usize| {
            b"permessage-deflate test message; "
                .iter()
                .cycle()
                .take(n)
                .copied()
                .collect::<Vec<u8>>()
        };
        match self {
            PmdCheck::BareAnswer | PmdCheck::WindowAnswer => Vec::new(),
            PmdCheck::Rsv1Control => vec![(OpCode::Text, b"Hello, deflate".to_vec(), false)],
            PmdCheck::Rsv1Continuation => vec![(OpCode::Text, text(64 << 10), false)],
            PmdCheck::NoContextTakeover => {
                let m = text(2048);
                vec![(OpCode::Text, m.clone(), false), (OpCode::Text, m, false)]
            }
            PmdCheck::WindowHonoured => {
                // Letters with no inner repeats, three times: the only matches are 1 KiB back.
                let mut x: u32 = 0x9e37_79b9;
                let block: Vec<u8> = (0..1024)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        b'a' + (x % 26) as u8
                    })
                    .collect();
                vec![(OpCode::Text, block.repeat(3), false)]
            }
            PmdCheck::Bomb => vec![(OpCode::Binary, Vec::new(), false)],
            PmdCheck::EmptyMessage => vec![(OpCode::Text, vec![0x00], true)],
            PmdCheck::TwoBlocks => vec![(OpCode::Text, TWO_BLOCKS.to_vec(), true)],
            PmdCheck::Compresses => vec![(OpCode::Text, text(4096), false)],
        }
    }

    /// The inflated messages a conforming server echoes.
    fn echoes(self) -> Vec<Vec<u8>> {
        match self {
            PmdCheck::Bomb => Vec::new(),
            PmdCheck::EmptyMessage => vec![Vec::new()],
            PmdCheck::TwoBlocks => vec![b"Hello".to_vec()],
            _ => self.messages().into_iter().map(|(_, m, _)| m).collect(),
        }
    }

    /// The `expected` line of the report.
    pub fn expected(self) -> String {
        match self {
            PmdCheck::BareAnswer => "one permessage-deflate element with only parameters the offer allows (RFC 7692 §5, §7.1)".into(),
            PmdCheck::WindowAnswer => "server_max_window_bits ≤ 10 in the answer, client_max_window_bits (if any) within 8-15 (RFC 7692 §7.1.2)".into(),
            PmdCheck::Rsv1Control => "echo and pong, close reply; no control frame with RSV1 (RFC 7692 §6)".into(),
            PmdCheck::Rsv1Continuation => "the echo, RSV1 on its first frame only (RFC 7692 §6)".into(),
            PmdCheck::NoContextTakeover => "server_no_context_takeover in the answer; both echoes inflate each on its own (RFC 7692 §7.1.1.1)".into(),
            PmdCheck::WindowHonoured => "server_max_window_bits ≤ 9 in the answer; the echo references at most that window back (RFC 7692 §7.1.2.1)".into(),
            PmdCheck::Bomb => "the server fails the connection with 1009 once the message inflates beyond its limit (RFC 7692 §8, RFC 6455 §7.4.1)".into(),
            PmdCheck::EmptyMessage => "an empty text echo (RFC 7692 §7.2.3.6)".into(),
            PmdCheck::TwoBlocks => "the text echo \"Hello\" (RFC 7692 §7.2.3.5)".into(),
            PmdCheck::Compresses => "the echo compressed (RSV1); uncompressed is allowed but NON-STRICT (RFC 7692 §6)".into(),
        }
    }
}

/// The `pmd.*` case definitions.
pub(crate) fn defs() -> Vec<CaseDef> {
    use PmdCheck::*;
    [
        (
            "pmd.1.1",
            "The answer to a bare offer has one element and only allowed parameters",
            "RFC 7692 §5, §7.1",
            BareAnswer,
        ),
        (
            "pmd.1.2",
            "Window sizes in the answer stay within the offer",
            "RFC 7692 §7.1.2",
            WindowAnswer,
        ),
        (
            "pmd.2.1",
            "RSV1 is never set on control frames",
            "RFC 7692 §6",
            Rsv1Control,
        ),
        (
            "pmd.2.2",
            "RSV1 is never set on continuation frames",
            "RFC 7692 §6",
            Rsv1Continuation,
        ),
        (
            "pmd.3.1",
            "server_no_context_takeover is honoured",
            "RFC 7692 §7.1.1.1",
            NoContextTakeover,
        ),
        (
            "pmd.3.2",
            "server_max_window_bits is honoured",
            "RFC 7692 §7.1.2.1",
            WindowHonoured,
        ),
        (
            "pmd.4.1",
            "A message inflating beyond the server's limit is refused with 1009",
            "RFC 7692 §8, RFC 6455 §7.4.1",
            Bomb,
        ),
        (
            "pmd.4.2",
            "The empty compressed message",
            "RFC 7692 §7.2.3.6",
            EmptyMessage,
        ),
        (
            "pmd.4.3",
            "A message of two DEFLATE blocks ending in a non-final block",
            "RFC 7692 §7.2.3.5",
            TwoBlocks,
        ),
        (
            "pmd.5.1",
            "A compressible message is echoed compressed",
            "RFC 7692 §6",
            Compresses,
        ),
    ]
    .into_iter()
    .map(|(id, title, rfc, check)| {
        CaseDef::new(CaseInfo::new(id, title, rfc), move || {
            CaseKind::Deflate(check)
        })
    })
    .collect()
}

/// What came back after the handshake.
#[derive(Default)]
struct Seen {
    /// (inflated payload, binary, RSV1 on its first frame)
    echoes: Vec<(Vec<u8>, bool, bool)>,
    pongs: usize,
    violation: Option<FrameError>,
    close: Option<Option<u16>>,
    eof: bool,
}

/// Reads until `want` echoes (and `pong` pongs) arrived, a close, TCP end or `until`.
async fn read(peer: &mut Peer, seen: &mut Seen, want: usize, pongs: usize, until: Instant) {
    let mut first_rsv1 = false;
    while !seen.eof && (seen.echoes.len() < want || seen.pongs < pongs || seen.close.is_none()) {
        if seen.close.is_none() && seen.echoes.len() >= want && seen.pongs >= pongs {
            return;
        }
        match peer.recv(until).await {
            PeerEvent::Timeout => return,
            PeerEvent::Eof { .. } => seen.eof = true,
            PeerEvent::Violation { error, .. } => {
                seen.violation.get_or_insert(error);
            }
            PeerEvent::Frame { frame, .. } => {
                if matches!(frame.header.opcode, OpCode::Text | OpCode::Binary) {
                    first_rsv1 = frame.header.rsv & ALLOWED_RSV != 0;
                }
                match frame.event {
                    Some(Event::Message(Message::Text(s))) => {
                        seen.echoes.push((s.into_bytes(), false, first_rsv1))
                    }
                    Some(Event::Message(Message::Binary(b))) => {
                        seen.echoes.push((b, !frame.raw_text, first_rsv1))
                    }
                    Some(Event::Pong(_)) => seen.pongs += 1,
                    Some(Event::Close(c)) => {
                        seen.close = Some(c.map(|(code, _)| code));
                        return;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Runs one check on its own connection.
pub async fn run(
    target: &Target,
    opts: &ConnectOptions,
    check: PmdCheck,
    hard_deadline: Instant,
) -> HandshakeRun {
    let started = Instant::now();
    let (offer, answer_check) = check.offer();
    let o = ConnectOptions {
        deflate: Some((vec![offer], answer_check)),
        ..opts.clone()
    };
    let mut sent = format!("offer `{offer}`");
    let done = |verdict, sent: String, observed: String, peer: Option<&Peer>| HandshakeRun {
        verdict,
        sent,
        observed,
        transcript: peer.map(|p| p.transcript_entries()).unwrap_or_default(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        cut_by_deadline: Instant::now() >= hard_deadline,
    };
    let connected =
        tokio::time::timeout_at(hard_deadline.into(), Peer::connect(target, &o, "main")).await;
    let (mut peer, outcome) = match connected {
        Err(_) => {
            return done(
                Verdict::NotRun,
                sent,
                "run deadline reached while connecting".into(),
                None,
            )
        }
        Ok(Err(e)) => return done(Verdict::Failed, sent, format!("no connection: {e}"), None),
        Ok(Ok(x)) => x,
    };
    let cfg = match &outcome {
        HandshakeOutcome::Upgraded { accepted, .. } => accepted.deflate,
        HandshakeOutcome::Invalid { error, .. } => {
            peer.drop_tcp();
            return done(
                Verdict::Failed,
                sent,
                format!("invalid 101: {error}"),
                Some(&peer),
            );
        }
        other => {
            peer.drop_tcp();
            return done(
                Verdict::Failed,
                sent,
                format!("no upgrade: {}", other.describe()),
                Some(&peer),
            );
        }
    };
    let Some(cfg) = cfg else {
        peer.send_close(Some(1000), b"");
        return done(
            Verdict::Unimplemented,
            sent,
            "the server did not accept permessage-deflate".into(),
            Some(&peer),
        );
    };
    let agreed = format!(
        "agreed: server window {}{}",
        cfg.server_max_window_bits,
        if cfg.server_no_context_takeover {
            ", server_no_context_takeover"
        } else {
            ""
        }
    );
    if matches!(check, PmdCheck::BareAnswer | PmdCheck::WindowAnswer) {
        peer.send_close(Some(1000), b"");
        let mut seen = Seen::default();
        read(
            &mut peer,
            &mut seen,
            0,
            0,
            (Instant::now() + STEP).min(hard_deadline),
        )
        .await;
        return done(
            Verdict::Ok,
            sent,
            format!("valid answer; {agreed}"),
            Some(&peer),
        );
    }
    if check == PmdCheck::WindowHonoured {
        peer.strict_inflate_window();
    }
    peer.set_auto_pong(true);
    let messages = check.messages();
    for (op, payload, raw) in &messages {
        if check == PmdCheck::Bomb {
            let body = bomb();
            sent += &format!(
                ", a binary message of {} MiB of zeros compressed to {} bytes",
                BOMB >> 20,
                body.len()
            );
            let mut f = FrameSpec::new(*op, true, body.to_vec());
            f.rsv = ALLOWED_RSV;
            peer.send_frame(&f, Pacing::Plain);
        } else if *raw {
            sent += &format!(", a text frame with RSV1 carrying {:02x?}", payload);
            let mut f = FrameSpec::new(*op, true, payload.clone());
            f.rsv = ALLOWED_RSV;
            peer.send_frame(&f, Pacing::Plain);
        } else {
            sent += &format!(
                ", a compressed {} message of {} bytes",
                if *op == OpCode::Text {
                    "text"
                } else {
                    "binary"
                },
                payload.len()
            );
            peer.send_message(*op, payload, None, true);
        }
    }
    let pongs = usize::from(check == PmdCheck::Rsv1Control);
    if pongs > 0 {
        sent += ", ping \"pmd\"";
        peer.send_frame(
            &FrameSpec::new(OpCode::Ping, true, b"pmd".to_vec()),
            Pacing::Plain,
        );
    }
    let mut seen = Seen::default();
    let want = check.echoes().len();
    let wait = if check == PmdCheck::Bomb {
        STEP * 2
    } else {
        STEP
    };
    read(
        &mut peer,
        &mut seen,
        want,
        pongs,
        (Instant::now() + wait).min(hard_deadline),
    )
    .await;
    if seen.close.is_none() && !seen.eof {
        peer.send_close(Some(1000), b"");
        sent += ", close 1000";
        read(
            &mut peer,
            &mut seen,
            usize::MAX,
            0,
            (Instant::now() + STEP).min(hard_deadline),
        )
        .await;
    }
    peer.drop_tcp();
    let (verdict, observed) = grade(check, &seen, &agreed);
    done(verdict, sent, observed, Some(&peer))
}

/// [`BOMB`] zero bytes as one compressed message (raw DEFLATE, sync flush, tail removed),
/// compressed 1 MiB at a time so the kit never holds the inflated message; made once per
/// process (a run against several servers reuses it).
fn bomb() -> &'static [u8] {
    static BOMB_DATA: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB_DATA.get_or_init(make_bomb)
}

fn make_bomb() -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new_with_window_bits(Compression::fast(), false, 15);
    let chunk = vec![0u8; 1 << 20];
    let mut out = Vec::with_capacity(BOMB / 1000 + 1024);
    for i in 0..BOMB >> 20 {
        let flush = if i + 1 == BOMB >> 20 {
            FlushCompress::Sync
        } else {
            FlushCompress::None
        };
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 4096 {
                out.reserve(64 << 10);
            }
            let before = c.total_in();
            // A live raw-deflate stream fails only on misuse; stop rather than panic.
            if c.compress_vec(&chunk[pos..], &mut out, flush).is_err() {
                return out;
            }
            pos += (c.total_in() - before) as usize;
            if pos == chunk.len() && out.capacity() - out.len() >= 4096 {
                break;
            }
        }
    }
    if out.ends_with(&crate::codec::deflate::TAIL) {
        out.truncate(out.len() - 4);
    }
    out
}

fn grade(check: PmdCheck, seen: &Seen, agreed: &str) -> (Verdict, String) {
    let echoes = seen
        .echoes
        .iter()
        .map(|(m, bin, rsv1)| {
            format!(
                "{} echo of {} bytes{}",
                if *bin { "binary" } else { "text" },
                m.len(),
                if *rsv1 { " (compressed)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let close = match seen.close {
        Some(Some(c)) => format!("close {c}"),
        Some(None) => "close without code".into(),
        None if seen.eof => "TCP closed without a close frame".into(),
        None => "no close".into(),
    };
    let what = format!(
        "{agreed}; {}{close}",
        if echoes.is_empty() {
            String::new()
        } else {
            format!("{echoes}, ")
        }
    );
    if let Some(v) = &seen.violation {
        if !(check == PmdCheck::Bomb && matches!(v, FrameError::Capacity(_))) {
            return (
                Verdict::Failed,
                format!("the server broke a rule: {v}; {what}"),
            );
        }
    }
    if check == PmdCheck::Bomb {
        return match seen.close {
            _ if !seen.echoes.is_empty() => (
                Verdict::Failed,
                format!("the server echoed the message instead of refusing it; {what}"),
            ),
            Some(Some(1009)) => (Verdict::Ok, what),
            Some(_) => (
                Verdict::NonStrict,
                format!("refused, but not with 1009; {what}"),
            ),
            None if seen.eof => (
                Verdict::NonStrict,
                format!("refused without a close frame; {what}"),
            ),
            None => (
                Verdict::Failed,
                format!("no reaction within {} s; {what}", (STEP * 2).as_secs()),
            ),
        };
    }
    let want = check.echoes();
    let got: Vec<&Vec<u8>> = seen.echoes.iter().map(|(m, _, _)| m).collect();
    if got.len() < want.len()
        || got.iter().zip(&want).any(|(g, w)| *g != w)
        || seen.echoes.iter().any(|e| e.1)
    {
        return (Verdict::Failed, format!("wrong or missing echoes; {what}"));
    }
    if check == PmdCheck::Rsv1Control && seen.pongs == 0 {
        return (Verdict::Failed, format!("no pong; {what}"));
    }
    if check == PmdCheck::Compresses && !seen.echoes.iter().all(|e| e.2) {
        return (
            Verdict::NonStrict,
            format!("the echo was not compressed; {what}"),
        );
    }
    (Verdict::Ok, what)
}
