//! The framing, ping and closing checks Autobahn's fuzzingclient lacks (`x.*`), each with the
//! RFC section it enforces. Grading policy as in [`super::extra`]: a violated MUST is FAILED,
//! a SHOULD (or the preferred form of an answer) NON-STRICT.
//!
//! | id | what the kit sends | OK | NON-STRICT | FAILED |
//! |---|---|---|---|---|
//! | x.1.1 | unmasked text frame | server closes (1002 or no code) or drops TCP | other close code | echo, or no reaction |
//! | x.1.2 | 64-bit length with the top bit set | close 1002/1009 or drop | other close code | no reaction |
//! | x.1.3-x.1.5 | ping, pong, close with RSV1 set | close 1002 or drop | other close code | pong, normal close reply, or no reaction |
//! | x.2.1 | echoes of 0…65536 bytes | server frames unmasked, RSV 0, minimal length | – | otherwise |
//! | x.2.2-x.2.4 | nothing: every fuzzing case's frames (run-level) | no masked frame / no non-minimal length / no data frame after the server's close | – | any |
//! | x.3.1 | close reason ending in a truncated UTF-8 sequence | close 1002/1007 or drop | – | other code |
//! | x.3.2-x.3.4 | close 1012, 1013, 1014 | reply 1000, the same code, or empty | reply 1002 | unclean |
//! | x.3.5 | close 1015 | reply 1002, empty, or drop | – | reply 1000 or 1015 |
//! | x.3.6-x.3.9 | close 1000 with a 123-byte UTF-8 reason, 1001, 3000, 4999 | reply with the same code (or empty) | another code | unclean |
//! | x.4.1 | nothing for 300 ms after the 101, then a message | echo, clean close | – | TCP ended, no echo |
//! | x.4.2 | a frame with reserved opcode 3 | close frame 1002, then TCP close | TCP closed without a close frame | echo or no reaction |
//! | x.5.1 | ping with 125 distinct bytes | pong with the same 125 bytes | – | otherwise |
//! | x.5.2 | ping, text, ping, binary | pong, echo, pong, echo in that order | – | otherwise |
//! | x.5.3-x.5.5 | 4-fragment text, a ping after fragment 1, 2 or 3 | pong, then the whole echo | – | otherwise |
//! | x.5.6 | unsolicited 125-byte pong, then text | the echo only | – | a pong back, or no echo |
//! | x.5.7 | unsolicited pong inside a fragmented text | the echo only | – | otherwise |
//! | x.5.8 | two pings back to back between fragments | both pongs in order, then the echo | – | otherwise |
//! | x.6.1-x.6.3 | zero-length first / every / first binary fragment | the assembled echo | – | otherwise |
//! | x.6.4 | a 4-byte code point split 1+2+1 across three text fragments | the assembled echo | – | failing the connection |
//! | x.6.5 | as x.6.4 with a ping between the split fragments | pong, then the echo | – | otherwise |
//! | x.6.6 | text fragment (FIN=0), then close 1000 | close reply 1000, no message | another code | unclean |
//!
//! Why a server's non-minimal length encoding is FAILED (x.2.1): §5.2 puts "the minimal
//! number of bytes MUST be used" on the sender, and the server is the sender here. Receivers
//! may tolerate it (the kit's codec does), but the server broke a MUST.
//!
//! Why 1012-1014 answered with 1002 is NON-STRICT: those codes were registered with IANA
//! after RFC 6455; §7.4.2 reserves 1000-2999 for such registrations, so they are valid, but
//! RFC 6455 has no rule requiring a receiver to accept a code it predates.
//!
//! Why x.3.6-x.3.9 grade another reply code NON-STRICT: §5.5.1 says the endpoint "typically
//! echos the status code it received"; echoing is the expected form, not a MUST.
//!
//! Why a missing close frame in x.4.2 is NON-STRICT: §7.1.7 says an endpoint failing an
//! established connection SHOULD send a close frame first. A server that half-closes TCP
//! right after its 101 passes most "the server must fail the connection" Autobahn cases (the
//! connection ends and no event arrives); x.4.1 and x.4.2 are what catch it.
//!
//! The run-level checks x.2.2-x.2.4 are graded in [`super::wire_checks`].

use std::time::Duration;

use super::case::{CaseDef, CaseInfo};
use super::spec::{
    op, Action, CaseTimer, Expectation, ExpectedClose, FrameSpec, FuzzSpec, Obs, Pacing, Rules,
    Stage,
};
use super::wire_checks::RunCheck;
use crate::codec::close::close_payload;
use crate::codec::frame::Masking;
use crate::report::Verdict;

fn x(
    id: &str,
    title: &str,
    rfc: &str,
    make: impl Fn() -> FuzzSpec + Send + Sync + 'static,
) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, rfc), make)
}

fn feed(wrong_code: Verdict) -> Rules {
    Rules {
        close_feeds_behavior: true,
        wrong_code_grade: Some(wrong_code),
        ..Default::default()
    }
}

fn kill(secs: u64) -> CaseTimer {
    CaseTimer::Kill(Duration::from_secs(secs))
}

/// The framing and closing checks (`x.*`), run by the fuzzer.
pub(crate) fn framing_defs() -> Vec<CaseDef> {
    let mut v = vec![
        x(
            "x.1.1",
            "Unmasked client frame makes the server close the connection",
            "RFC 6455 §5.1, §5.3",
            || {
                let mut f = FrameSpec::new(op::TEXT, true, b"Hello, world!".to_vec());
                f.mask = Masking::Unmasked;
                FuzzSpec::simple(
                vec![Action::Frame(f, Pacing::Plain)],
                kill(1),
                Expectation::ok(vec![], ExpectedClose::peer(&[1002])).with_rules(feed(Verdict::NonStrict)),
            )
            .note("a server MUST close on an unmasked frame; it MAY send 1002 (another code is NON-STRICT)")
            },
        ),
        x(
            "x.1.2",
            "64-bit payload length with the most significant bit set fails the connection",
            "RFC 6455 §5.2",
            || {
                let mut f = FrameSpec::new(op::TEXT, true, b"Hello".to_vec());
                f.declared_len = Some((1u64 << 63) | 5);
                FuzzSpec::simple(
                    vec![Action::Frame(f, Pacing::Plain)],
                    kill(1),
                    Expectation::ok(vec![], ExpectedClose::peer(&[1002, 1009]))
                        .with_rules(feed(Verdict::NonStrict)),
                )
                .note("1002 (protocol error) or 1009 (too big) are both fine; ws answers 1009")
            },
        ),
        x(
            "x.2.1",
            "Server frames are unmasked, have RSV clear and use the minimal length encoding",
            "RFC 6455 §5.1, §5.2",
            || {
                let sizes = [0usize, 1, 125, 126, 127, 65535, 65536];
                let payloads: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![b'*'; n]).collect();
                FuzzSpec::simple(
                payloads.iter().map(|p| Action::message(op::TEXT, p.clone())).collect(),
                kill(10),
                Expectation::ok(payloads.iter().map(|p| Obs::text(p.clone())).collect(), ExpectedClose::normal())
                    .with_rules(feed(Verdict::Failed)),
            )
            .note("echoes of 0, 1, 125, 126, 127, 65535 and 65536 bytes; the minimal length MUST is on the sender (§5.2)")
            },
        ),
        x(
            "x.3.1",
            "Close reason ending inside a UTF-8 sequence fails the connection",
            "RFC 6455 §5.5.1, §8.1",
            || {
                FuzzSpec::simple(
                    vec![Action::Close(close_payload(1000, b"Hello\xce"))],
                    kill(1),
                    Expectation::ok(vec![], ExpectedClose::me(&[1002, 1007], false))
                        .with_rules(feed(Verdict::Failed)),
                )
            },
        ),
    ];
    for (i, (code, name)) in [
        (1012u16, "Service Restart"),
        (1013, "Try Again Later"),
        (1014, "Bad Gateway"),
    ]
    .into_iter()
    .enumerate()
    {
        v.push(x(
            &format!("x.3.{}", i + 2),
            &format!("Close with the IANA-registered code {code} ({name}) is accepted"),
            "RFC 6455 §7.4.2; IANA WebSocket close code registry",
            move || {
                FuzzSpec::simple(
                    vec![Action::close(code, b"")],
                    kill(1),
                    Expectation::ok(vec![], ExpectedClose::me(&[1000, code], true)).with_rules(feed(Verdict::NonStrict)),
                )
                .note("answering 1002 is NON-STRICT: the code is registered, but RFC 6455 predates it")
            },
        ));
    }
    v.push(x(
        "x.3.5",
        "Close with code 1015 (reserved for TLS failures) fails the connection",
        "RFC 6455 §7.4.1",
        || {
            FuzzSpec::simple(
                vec![Action::close(1015, b"")],
                kill(1),
                Expectation::ok(vec![], ExpectedClose::me(&[1002], false))
                    .with_rules(feed(Verdict::Failed)),
            )
            .note("1015 MUST NOT be set in a close frame; echoing it or answering 1000 fails")
        },
    ));
    v.extend(more_defs());
    v.sort_by_key(|d| d.info.sort_key());
    v
}

/// A case the kit closes once the expected events have arrived (`me [1000] clean`).
fn echo_case(actions: Vec<Action>, events: Vec<Obs>) -> FuzzSpec {
    FuzzSpec::simple(
        actions,
        kill(2),
        Expectation::ok(events, ExpectedClose::normal()).with_rules(feed(Verdict::Failed)),
    )
}

/// A frame the server must fail the connection on (1002, or a TCP drop).
fn must_fail(f: FrameSpec) -> FuzzSpec {
    FuzzSpec::simple(
        vec![Action::Frame(f, Pacing::Plain)],
        kill(1),
        Expectation::ok(vec![], ExpectedClose::peer(&[1002])).with_rules(feed(Verdict::NonStrict)),
    )
}

fn fr(opcode: u8, fin: bool, payload: &[u8]) -> Action {
    Action::frame(opcode, fin, payload.to_vec())
}

/// Four text fragments with a ping after fragment `after` (1-3).
fn ping_between(after: usize) -> FuzzSpec {
    let parts: [&[u8]; 4] = [b"frag1", b"frag2", b"frag3", b"frag4"];
    let mut a = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let opcode = if i == 0 { op::TEXT } else { op::CONT };
        a.push(fr(opcode, i == 3, p));
        if i + 1 == after {
            a.push(fr(op::PING, true, b"between"));
        }
    }
    echo_case(
        a,
        vec![Obs::pong(b"between".to_vec()), Obs::text(parts.concat())],
    )
}

/// U+1F600 split 1 + 2 + 1 bytes across three fragments, with an optional ping in between.
fn split_code_point(ping: bool) -> FuzzSpec {
    let mut a = vec![fr(op::TEXT, false, b"a\xf0")];
    if ping {
        a.push(fr(op::PING, true, b"mid"));
    }
    a.push(fr(op::CONT, false, b"\x9f\x98"));
    a.push(fr(op::CONT, true, b"\x80b"));
    let mut events = Vec::new();
    if ping {
        events.push(Obs::pong(b"mid".to_vec()));
    }
    events.push(Obs::text("a\u{1F600}b".as_bytes().to_vec()));
    echo_case(a, events)
}

/// Close with `code` and `reason`: the reply echoes the code (a different one is NON-STRICT).
fn close_echo(code: u16, reason: &'static [u8]) -> FuzzSpec {
    FuzzSpec::simple(
        vec![Action::close(code, reason)],
        kill(1),
        Expectation::ok(vec![], ExpectedClose::me(&[code], true))
            .with_rules(feed(Verdict::NonStrict)),
    )
    .note("RFC 6455 §5.5.1: the reply typically echoes the code; another code is NON-STRICT")
}

/// The checks added for the gaps the differential test against Autobahn showed.
fn more_defs() -> Vec<CaseDef> {
    let mut v = Vec::new();
    for (i, (opcode, name)) in [(op::PING, "Ping"), (op::PONG, "Pong"), (op::CLOSE, "Close")]
        .into_iter()
        .enumerate()
    {
        v.push(x(
            &format!("x.1.{}", i + 3),
            &format!("{name} frame with RSV1 set fails the connection"),
            "RFC 6455 §5.2, §5.5",
            move || {
                let payload: Vec<u8> = if opcode == op::CLOSE {
                    close_payload(1000, b"")
                } else {
                    b"rsv1".to_vec()
                };
                must_fail(FrameSpec::new(opcode, true, payload).rsv(4))
                    .note("no extension defines RSV1 on a control frame (permessage-deflate sets it on data frames only)")
            },
        ));
    }
    for (id, title, rfc, check) in [
        (
            "x.2.2",
            "No frame the server sends in any case of the run is masked",
            "RFC 6455 §5.1",
            RunCheck::Unmasked,
        ),
        (
            "x.2.3",
            "Every frame the server sends in any case of the run uses the minimal length encoding",
            "RFC 6455 §5.2",
            RunCheck::MinimalLength,
        ),
        (
            "x.2.4",
            "No data frame follows the server's own close frame in any case of the run",
            "RFC 6455 §5.5.1",
            RunCheck::NoDataAfterClose,
        ),
    ] {
        v.push(CaseDef::run_level(CaseInfo::new(id, title, rfc), check));
    }
    // 11 × "κόσμε " (11 bytes each) + "12": 123 bytes, the most a close reason can hold.
    const REASON: &[u8] =
        "κόσμε κόσμε κόσμε κόσμε κόσμε κόσμε κόσμε κόσμε κόσμε κόσμε κόσμε 12".as_bytes();
    for (i, (code, reason, what)) in [
        (
            1000u16,
            REASON,
            "1000 with a 123-byte multi-byte UTF-8 reason",
        ),
        (1001, &b""[..], "1001 (going away)"),
        (3000, &b""[..], "3000 (registered for libraries)"),
        (4999, &b""[..], "4999 (private use)"),
    ]
    .into_iter()
    .enumerate()
    {
        v.push(x(
            &format!("x.3.{}", i + 6),
            &format!("Close {what} is answered with the same code"),
            "RFC 6455 §5.5.1, §7.4",
            move || close_echo(code, reason),
        ));
    }
    v.push(x(
        "x.4.1",
        "The server keeps the connection open after the 101 until the client has sent something",
        "RFC 6455 §4.2.2, §7.1.1",
        || FuzzSpec {
            stages: vec![
                Stage::start(vec![], kill(2)),
                Stage {
                    at: Duration::from_millis(300),
                    tag: None,
                    actions: vec![Action::message(op::TEXT, b"still there?".to_vec())],
                    arm: None,
                },
            ],
            expect: Expectation::ok(vec![Obs::text(b"still there?".to_vec())], ExpectedClose::normal())
                .with_rules(feed(Verdict::Failed)),
            note: Some("nothing is sent for 300 ms after the 101; a server that half-closes TCP then never echoes".into()),
        },
    ).timed());
    v.push(x(
        "x.4.2",
        "A frame with a reserved opcode is answered with a close frame before TCP closes",
        "RFC 6455 §5.2, §7.1.7",
        || {
            FuzzSpec::simple(
                vec![fr(3, true, b"reserved")],
                kill(1),
                Expectation::ok(
                    vec![],
                    ExpectedClose {
                        closed_by_me: false,
                        codes: vec![1002],
                        require_clean: true,
                    },
                )
                .with_rules(Rules {
                    unclean_grade: Some(Verdict::NonStrict),
                    ..feed(Verdict::NonStrict)
                }),
            )
            .note("§7.1.7: the server SHOULD send a close frame (1002) before closing TCP; a bare TCP close is NON-STRICT")
        },
    ));
    v.push(x(
        "x.5.1",
        "Ping with 125 distinct payload bytes is answered with exactly those bytes",
        "RFC 6455 §5.5.2, §5.5.3",
        || {
            let p: Vec<u8> = (0u8..125).collect();
            echo_case(vec![fr(op::PING, true, &p)], vec![Obs::pong(p)])
        },
    ));
    v.push(x(
        "x.5.2",
        "Pings between data messages are answered in order with the echoes",
        "RFC 6455 §5.5.2, §5.4",
        || {
            echo_case(
                vec![
                    fr(op::PING, true, b"first"),
                    fr(op::TEXT, true, b"one"),
                    fr(op::PING, true, b"second"),
                    fr(op::BINARY, true, b"two"),
                ],
                vec![
                    Obs::pong(b"first".to_vec()),
                    Obs::text(b"one".to_vec()),
                    Obs::pong(b"second".to_vec()),
                    Obs::binary(b"two".to_vec()),
                ],
            )
        },
    ));
    for after in 1..=3 {
        v.push(x(
            &format!("x.5.{}", after + 2),
            &format!("Ping after fragment {after} of a 4-fragment text message is answered before the echo"),
            "RFC 6455 §5.4, §5.5.2",
            move || ping_between(after),
        ));
    }
    v.push(x(
        "x.5.6",
        "Unsolicited pong of 125 bytes is ignored",
        "RFC 6455 §5.5.3",
        || {
            echo_case(
                vec![
                    fr(op::PONG, true, &[b'u'; 125]),
                    fr(op::TEXT, true, b"after pong"),
                ],
                vec![Obs::text(b"after pong".to_vec())],
            )
        },
    ));
    v.push(x(
        "x.5.7",
        "Unsolicited pong inside a fragmented text message is ignored",
        "RFC 6455 §5.5.3, §5.4",
        || {
            echo_case(
                vec![
                    fr(op::TEXT, false, b"be"),
                    fr(op::PONG, true, b"unsolicited"),
                    fr(op::CONT, true, b"fore"),
                ],
                vec![Obs::text(b"before".to_vec())],
            )
        },
    ));
    v.push(x(
        "x.5.8",
        "Two pings back to back between fragments are both answered, in order",
        "RFC 6455 §5.4, §5.5.2",
        || {
            echo_case(
                vec![
                    fr(op::BINARY, false, b"\x01\x02"),
                    fr(op::PING, true, b"p1"),
                    fr(op::PING, true, b"p2"),
                    fr(op::CONT, true, b"\x03"),
                ],
                vec![
                    Obs::pong(b"p1".to_vec()),
                    Obs::pong(b"p2".to_vec()),
                    Obs::binary(b"\x01\x02\x03".to_vec()),
                ],
            )
        },
    ));
    v.push(x(
        "x.6.1",
        "Text message whose first and last fragments are empty is assembled",
        "RFC 6455 §5.4",
        || {
            echo_case(
                vec![
                    fr(op::TEXT, false, b""),
                    fr(op::CONT, false, b"Hello"),
                    fr(op::CONT, true, b""),
                ],
                vec![Obs::text(b"Hello".to_vec())],
            )
        },
    ));
    v.push(x(
        "x.6.2",
        "Text message made only of empty fragments is an empty message",
        "RFC 6455 §5.4",
        || {
            echo_case(
                vec![
                    fr(op::TEXT, false, b""),
                    fr(op::CONT, false, b""),
                    fr(op::CONT, true, b""),
                ],
                vec![Obs::text(Vec::new())],
            )
        },
    ));
    v.push(x(
        "x.6.3",
        "Binary message with an empty first fragment is assembled",
        "RFC 6455 §5.4",
        || {
            echo_case(
                vec![
                    fr(op::BINARY, false, b""),
                    fr(op::CONT, true, &[0, 0xff, 7]),
                ],
                vec![Obs::binary(vec![0, 0xff, 7])],
            )
        },
    ));
    v.push(x(
        "x.6.4",
        "Text message with a 4-byte code point split across three fragments is valid",
        "RFC 6455 §5.4, §5.6, §8.1",
        || split_code_point(false),
    ));
    v.push(x(
        "x.6.5",
        "Ping between the fragments of a split code point is answered; the message stays valid",
        "RFC 6455 §5.4, §5.5.2, §8.1",
        || split_code_point(true),
    ));
    v.push(x(
        "x.6.6",
        "Close after the first fragment of a message is answered with a close, no message",
        "RFC 6455 §5.4, §5.5.1",
        || {
            FuzzSpec::simple(
                vec![
                    fr(op::TEXT, false, b"never finished"),
                    Action::close(1000, b""),
                ],
                kill(1),
                Expectation::ok(vec![], ExpectedClose::me(&[1000], true))
                    .with_rules(feed(Verdict::NonStrict)),
            )
        },
    ));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_thirty_checks_each_with_a_rule() {
        let v = framing_defs();
        assert!(v.len() >= 30, "{} x.* checks", v.len());
        for d in &v {
            assert!(d.info.id.starts_with("x."), "{}", d.info.id);
            assert!(d.info.rfc.starts_with("RFC 6455 §"), "{}", d.info.id);
            assert!(!d.info.title.is_empty());
        }
    }
}
