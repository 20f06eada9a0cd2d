//! Category 9: limits and performance (slow; not in the default selection). Behaviour is
//! decided by the echo's type and length only; payload content is not compared.

use super::super::case::{CaseDef, CaseInfo};
use super::super::spec::{
    op, Action, Expectation, ExpectedClose, FrameSpec, FuzzSpec, Handler, Pacing, Rules,
};
use super::{close_after, repeat};

const RFC: &str = "RFC 6455 §5.4, §10.4";
const KI: usize = 1024;
const MI: usize = 1024 * 1024;
const TEXT_PATTERN: &[u8] = b"BAsd7&jh23";
const BIN_PATTERN: &[u8] = &[0x00, 0xfe, 0x23, 0xfa, 0xf0];

fn size_name(n: usize) -> String {
    if n >= MI && n.is_multiple_of(MI) {
        format!("{} MiB", n / MI)
    } else if n >= KI && n.is_multiple_of(KI) {
        format!("{} KiB", n / KI)
    } else {
        format!("{n} B")
    }
}

fn def(
    id: String,
    title: String,
    make: impl Fn() -> (Vec<Action>, Handler) + Send + Sync + 'static,
    wait: f64,
) -> CaseDef {
    CaseDef::fuzz(CaseInfo::new(id, title, RFC).slow().alone(), move || {
        let (actions, handler) = make();
        FuzzSpec::simple(
            actions,
            close_after(wait),
            Expectation {
                outcomes: vec![],
                close: ExpectedClose::normal(),
                rules: Rules::default(),
                handler: Some(handler),
            },
        )
        .note(format!(
            "echo type and length checked; the kit gives up after {wait} s"
        ))
    })
}

fn message(opcode: u8, payload: Vec<u8>, fragment: Option<usize>, mode: Pacing) -> Vec<Action> {
    vec![Action::Message {
        opcode,
        payload,
        fragment,
        mode,
    }]
}

pub(crate) fn defs() -> Vec<CaseDef> {
    let sizes = [64 * KI, 256 * KI, MI, 4 * MI, 8 * MI, 16 * MI];
    let frames = [64, 256, KI, 4 * KI, 16 * KI, 64 * KI, 256 * KI, MI, 4 * MI];
    let chops = [64, 128, 256, 512, 1024, 2048];
    let mut v = Vec::new();
    for (i, (&n, w)) in sizes
        .iter()
        .zip([10.0, 10.0, 100.0, 100.0, 100.0, 100.0])
        .enumerate()
    {
        v.push(def(
            format!("9.1.{}", i + 1),
            format!("Echo of a {} text message in one frame", size_name(n)),
            move || {
                (
                    message(op::TEXT, repeat(TEXT_PATTERN, n), None, Pacing::Plain),
                    Handler::FirstMessage {
                        binary: false,
                        len: n,
                    },
                )
            },
            w,
        ));
    }
    for (i, (&n, w)) in sizes
        .iter()
        .zip([10.0, 10.0, 10.0, 10.0, 100.0, 100.0])
        .enumerate()
    {
        v.push(def(
            format!("9.2.{}", i + 1),
            format!("Echo of a {} binary message in one frame", size_name(n)),
            move || {
                (
                    message(op::BINARY, repeat(BIN_PATTERN, n), None, Pacing::Plain),
                    Handler::FirstMessage {
                        binary: true,
                        len: n,
                    },
                )
            },
            w,
        ));
    }
    for (sub, opcode) in [(3, op::TEXT), (4, op::BINARY)] {
        for (i, &fs) in frames.iter().enumerate() {
            let kind = if opcode == op::TEXT { "text" } else { "binary" };
            v.push(def(
                format!("9.{sub}.{}", i + 1),
                format!(
                    "Echo of a 4 MiB {kind} message in frames of {}",
                    size_name(fs)
                ),
                move || {
                    let byte = if opcode == op::BINARY && i == 0 {
                        0xfe
                    } else {
                        b'*'
                    };
                    (
                        message(opcode, vec![byte; 4 * MI], Some(fs), Pacing::Plain),
                        Handler::FirstMessage {
                            binary: opcode == op::BINARY,
                            len: 4 * MI,
                        },
                    )
                },
                100.0,
            ));
        }
    }
    for (sub, opcode) in [(5, op::TEXT), (6, op::BINARY)] {
        for (i, &c) in chops.iter().enumerate() {
            let kind = if opcode == op::TEXT { "text" } else { "binary" };
            v.push(def(
                format!("9.{sub}.{}", i + 1),
                format!("Echo of a 1 MiB {kind} message, frame written in {c}-byte chops"),
                move || {
                    let p = if opcode == op::TEXT {
                        repeat(TEXT_PATTERN, MI)
                    } else {
                        repeat(BIN_PATTERN, MI)
                    };
                    (
                        vec![Action::Chunked {
                            frame: FrameSpec::new(opcode, true, p),
                            size: c,
                        }],
                        Handler::FirstMessage {
                            binary: opcode == op::BINARY,
                            len: MI,
                        },
                    )
                },
                1000.0,
            ));
        }
    }
    let seq_sizes = [0, 16, 64, 256, KI, 4 * KI];
    let seq_waits = [60.0, 60.0, 60.0, 120.0, 240.0, 480.0];
    for (sub, opcode) in [(7, op::TEXT), (8, op::BINARY)] {
        for (i, (&n, w)) in seq_sizes.iter().zip(seq_waits).enumerate() {
            let kind = if opcode == op::TEXT { "text" } else { "binary" };
            v.push(def(
                format!("9.{sub}.{}", i + 1),
                format!(
                    "1000 round trips of a {} {kind} message, one after the other",
                    size_name(n)
                ),
                move || {
                    let payload = vec![if opcode == op::TEXT { b'*' } else { 0xfe }; n];
                    (
                        message(opcode, payload.clone(), None, Pacing::Plain),
                        Handler::Sequential {
                            binary: opcode == op::BINARY,
                            payload,
                            count: 1000,
                        },
                    )
                },
                w,
            ));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::case::CaseKind;

    #[test]
    fn parameters_of_a_few_cases() {
        let d = defs();
        let get = |id: &str| d.iter().find(|x| x.info.id == id).unwrap();
        assert!(d.iter().all(|x| x.info.slow && x.info.must_run_alone));
        let CaseKind::Fuzz(s) = (get("9.2.5").make)() else {
            panic!()
        };
        assert_eq!(
            s.expect.handler,
            Some(Handler::FirstMessage {
                binary: true,
                len: 8 * MI
            })
        );
        assert_eq!(s.stages[0].arm, Some(close_after(100.0)));
        let CaseKind::Fuzz(s) = (get("9.4.1").make)() else {
            panic!()
        };
        let Action::Message {
            payload, fragment, ..
        } = &s.stages[0].actions[0]
        else {
            panic!()
        };
        assert_eq!(
            (payload[0], payload.len(), *fragment),
            (0xfe, 4 * MI, Some(64))
        );
        let CaseKind::Fuzz(s) = (get("9.4.2").make)() else {
            panic!()
        };
        let Action::Message { payload, .. } = &s.stages[0].actions[0] else {
            panic!()
        };
        assert_eq!(payload[0], b'*');
        let CaseKind::Fuzz(s) = (get("9.8.6").make)() else {
            panic!()
        };
        assert_eq!(s.stages[0].arm, Some(close_after(480.0)));
    }
}
