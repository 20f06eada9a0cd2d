//! Category 3: reserved bits without a negotiated extension.

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{op, Action, Expectation, ExpectedClose, FrameSpec, FuzzSpec, Pacing};
use super::{bad_after_valid, kill};

const RFC: &str = "RFC 6455 §5.2";
const HELLO: &[u8] = b"Hello, world!";

fn single(id: &str, title: &str, frame: FrameSpec) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, RFC), move || {
        FuzzSpec::simple(
            vec![Action::Frame(frame.clone(), Pacing::Plain)],
            kill(1.0),
            Expectation::ok(vec![], ExpectedClose::peer(&[1002])),
        )
    })
}

/// Valid text, then the same text with `rsv`, then an empty ping whose pong must not come.
fn after_valid(id: &str, rsv: u8, mode: Pacing, how: &str) -> CaseDef {
    let title = format!("Text message with RSV={rsv} after a valid one fails the connection{how}");
    CaseDef::fuzz(CaseInfo::new(id, title, RFC), move || {
        bad_after_valid(FrameSpec::new(op::TEXT, true, HELLO).rsv(rsv), mode)
    })
}

pub(crate) fn defs() -> Vec<CaseDef> {
    vec![
        single(
            "3.1",
            "Text message with RSV=1 fails the connection",
            FrameSpec::new(op::TEXT, true, HELLO).rsv(1),
        ),
        after_valid("3.2", 2, Pacing::Plain, ""),
        after_valid("3.3", 3, Pacing::Sync, " (frames written one by one)"),
        after_valid("3.4", 4, Pacing::chop(1), " (1-byte chops)"),
        single(
            "3.5",
            "Binary message with RSV=5 fails the connection",
            FrameSpec::new(
                op::BINARY,
                true,
                vec![0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff],
            )
            .rsv(5),
        ),
        single(
            "3.6",
            "Binary message with RSV=6 fails the connection",
            FrameSpec::new(op::BINARY, true, HELLO).rsv(6),
        ),
        single(
            "3.7",
            "Close frame with RSV=7 fails the connection",
            FrameSpec::new(op::CLOSE, true, vec![]).rsv(7),
        ),
    ]
}
