//! Category 5: fragmentation.

use std::time::Duration;

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{
    op, Action, Expectation, ExpectedClose, FrameSpec, FuzzSpec, Obs, Pacing, Stage,
};
use super::{close_after, kill};

const RFC: &str = "RFC 6455 §5.4";

fn f(n: u8) -> Vec<u8> {
    format!("fragment{n}").into_bytes()
}

fn frames(list: &[(u8, bool, Vec<u8>)], mode: Pacing) -> Vec<Action> {
    list.iter()
        .map(|(o, fin, p)| Action::Frame(FrameSpec::new(*o, *fin, p.clone()), mode))
        .collect()
}

fn how(mode: Pacing) -> &'static str {
    match mode {
        Pacing::Plain => "",
        Pacing::Sync => " (frames written one by one)",
        Pacing::Chop { .. } => " (1-byte chops)",
    }
}

const MODES: [Pacing; 3] = [Pacing::Plain, Pacing::Sync, Pacing::chop(1)];

fn fail_case(id: &str, title: String, list: Vec<(u8, bool, Vec<u8>)>, mode: Pacing) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, RFC), move || {
        FuzzSpec::simple(
            frames(&list, mode),
            kill(1.0),
            Expectation::ok(vec![], ExpectedClose::peer(&[1002])),
        )
    })
}

pub(crate) fn defs() -> Vec<CaseDef> {
    let mut v = vec![
        fail_case(
            "5.1",
            "Fragmented ping fails the connection".into(),
            vec![(op::PING, false, f(1)), (op::CONT, true, f(2))],
            Pacing::Plain,
        ),
        fail_case(
            "5.2",
            "Fragmented pong fails the connection".into(),
            vec![(op::PONG, false, f(1)), (op::CONT, true, f(2))],
            Pacing::Plain,
        ),
    ];
    for (i, mode) in MODES.into_iter().enumerate() {
        v.push(CaseDef::fuzz(
            CaseInfo::new(
                format!("5.{}", 3 + i),
                format!("Text message in two fragments is echoed whole{}", how(mode)),
                RFC,
            ),
            move || {
                FuzzSpec::simple(
                    frames(&[(op::TEXT, false, f(1)), (op::CONT, true, f(2))], mode),
                    close_after(1.0),
                    Expectation::ok(
                        vec![Obs::text("fragment1fragment2")],
                        ExpectedClose::normal(),
                    ),
                )
            },
        ));
    }
    for (i, mode) in MODES.into_iter().enumerate() {
        v.push(CaseDef::fuzz(
            CaseInfo::new(
                format!("5.{}", 6 + i),
                format!(
                    "Ping between two text fragments is answered, then the message is echoed{}",
                    how(mode)
                ),
                RFC,
            ),
            move || {
                FuzzSpec::simple(
                    frames(
                        &[
                            (op::TEXT, false, f(1)),
                            (op::PING, true, b"ping payload".to_vec()),
                            (op::CONT, true, f(2)),
                        ],
                        mode,
                    ),
                    close_after(1.0),
                    Expectation::ok(
                        vec![Obs::pong("ping payload"), Obs::text("fragment1fragment2")],
                        ExpectedClose::normal(),
                    ),
                )
            },
        ));
    }
    for (i, mode) in MODES.into_iter().enumerate() {
        v.push(fail_case(
            &format!("5.{}", 9 + i),
            format!(
                "Continuation frame (FIN) with no message open fails the connection{}",
                how(mode)
            ),
            vec![
                (op::CONT, true, b"non-continuation payload".to_vec()),
                (op::TEXT, true, b"Hello, world!".to_vec()),
            ],
            mode,
        ));
    }
    for (i, mode) in MODES.into_iter().enumerate() {
        v.push(fail_case(
            &format!("5.{}", 12 + i),
            format!(
                "Continuation frame (no FIN) with no message open fails the connection{}",
                how(mode)
            ),
            vec![
                (op::CONT, false, b"non-continuation payload".to_vec()),
                (op::TEXT, true, b"Hello, world!".to_vec()),
            ],
            mode,
        ));
    }
    v.push(CaseDef::fuzz(
        CaseInfo::new(
            "5.15",
            "A complete fragmented message, then a continuation and a new text frame inside a second one",
            RFC,
        ),
        || {
            FuzzSpec::simple(
                frames(
                    &[
                        (op::TEXT, false, f(1)),
                        (op::CONT, true, f(2)),
                        (op::CONT, false, f(3)),
                        (op::TEXT, true, f(4)),
                    ],
                    Pacing::Plain,
                ),
                kill(1.0),
                Expectation::ok_or_non_strict(
                    vec![Obs::text("fragment1fragment2")],
                    vec![],
                    ExpectedClose::peer(&[1002]),
                ),
            )
            .note("NON-STRICT when the first message is not echoed before the server fails")
        },
    ));
    let twice = |first_fin: bool| {
        let one = vec![
            (op::CONT, first_fin, f(1)),
            (op::TEXT, false, f(2)),
            (op::CONT, true, f(3)),
        ];
        let mut all = one.clone();
        all.extend(one);
        all
    };
    v.push(fail_case(
        "5.16",
        "Continuation (no FIN) before any message, twice, fails the connection".into(),
        twice(false),
        Pacing::Plain,
    ));
    v.push(fail_case(
        "5.17",
        "Continuation (FIN) before any message, twice, fails the connection".into(),
        twice(true),
        Pacing::Plain,
    ));
    v.push(fail_case(
        "5.18",
        "Second fragment sent with the text opcode fails the connection".into(),
        vec![(op::TEXT, false, f(1)), (op::TEXT, true, f(2))],
        Pacing::Plain,
    ));
    for (id, mode) in [("5.19", Pacing::Plain), ("5.20", Pacing::Sync)] {
        v.push(
            CaseDef::fuzz(
                CaseInfo::new(
                    id,
                    format!(
                        "Five text fragments with pings in between, spread over one second{}",
                        how(mode)
                    ),
                    RFC,
                ),
                move || FuzzSpec {
                    stages: vec![
                        Stage {
                            at: Duration::ZERO,
                            tag: None,
                            actions: frames(
                                &[
                                    (op::TEXT, false, f(1)),
                                    (op::CONT, false, f(2)),
                                    (op::PING, true, b"pongme 1!".to_vec()),
                                ],
                                mode,
                            ),
                            arm: None,
                        },
                        Stage {
                            at: Duration::from_secs(1),
                            tag: None,
                            actions: frames(
                                &[
                                    (op::CONT, false, f(3)),
                                    (op::CONT, false, f(4)),
                                    (op::PING, true, b"pongme 2!".to_vec()),
                                    (op::CONT, true, f(5)),
                                ],
                                mode,
                            ),
                            arm: Some(close_after(1.0)),
                        },
                    ],
                    expect: Expectation::ok(
                        vec![
                            Obs::pong("pongme 1!"),
                            Obs::pong("pongme 2!"),
                            Obs::text("fragment1fragment2fragment3fragment4fragment5"),
                        ],
                        ExpectedClose::normal(),
                    ),
                    note: Some("event order only; timing is not checked".into()),
                },
            )
            .timed(),
        );
    }
    v
}
