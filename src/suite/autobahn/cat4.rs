//! Category 4: reserved opcodes.

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{Action, Expectation, ExpectedClose, FrameSpec, FuzzSpec, Pacing};
use super::{bad_after_valid, kill};

const RFC: &str = "RFC 6455 §5.2";
const HELLO: &[u8] = b"Hello, world!";

fn alone(id: String, opcode: u8, payload: &'static [u8]) -> CaseDef {
    let what = if payload.is_empty() {
        "empty"
    } else {
        "with a payload"
    };
    CaseDef::fuzz(
        CaseInfo::new(
            id,
            format!("Frame with reserved opcode {opcode} ({what}) fails the connection"),
            RFC,
        ),
        move || {
            FuzzSpec::simple(
                vec![Action::frame(opcode, true, payload)],
                kill(1.0),
                Expectation::ok(vec![], ExpectedClose::peer(&[1002])),
            )
        },
    )
}

fn after_valid(id: String, opcode: u8, payload: &'static [u8], mode: Pacing) -> CaseDef {
    let how = if mode == Pacing::chop(1) {
        " (1-byte chops)"
    } else {
        ""
    };
    CaseDef::fuzz(
        CaseInfo::new(
            id,
            format!(
                "Reserved opcode {opcode} after a valid text message fails the connection{how}"
            ),
            RFC,
        ),
        move || bad_after_valid(FrameSpec::new(opcode, true, payload), mode),
    )
}

pub(crate) fn defs() -> Vec<CaseDef> {
    let mut v = Vec::new();
    for (sub, base) in [(1u8, 3u8), (2, 11)] {
        v.push(alone(format!("4.{sub}.1"), base, b""));
        v.push(alone(
            format!("4.{sub}.2"),
            base + 1,
            b"reserved opcode payload",
        ));
        v.push(after_valid(
            format!("4.{sub}.3"),
            base + 2,
            b"",
            Pacing::Plain,
        ));
        v.push(after_valid(
            format!("4.{sub}.4"),
            base + 3,
            HELLO,
            Pacing::Plain,
        ));
        v.push(after_valid(
            format!("4.{sub}.5"),
            base + 4,
            HELLO,
            Pacing::chop(1),
        ));
    }
    v
}
