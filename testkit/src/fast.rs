//! Bodies of the fuzz targets for the SIMD fast path: `fast_vs_reference` and
//! `utf8_pieces`. Each must give exactly what the reference code gives on the same input,
//! under every kernel set this CPU can run.
//!
//! * `fast_vs_reference`: [`FrameIter`] against `parse_header` + the scalar unmask, and
//!   [`MessageReader`] against [`StreamDecoder`] (via `drive::decode_chunked`), events and
//!   errors in order.
//! * `utf8_pieces`: `validate`, [`Utf8Validator`] fed in seeded pieces and byte by byte,
//!   every `utf8_valid_with` kernel and the fused unmask-move-validate kernel, against the
//!   fail-fast answer derived from `std::str::from_utf8`.

use wsspec::codec::fast::{FastEvent, FrameIter, MessageReader};
use wsspec::codec::frame::{parse_header, HeaderRules, Role, Status};
use wsspec::codec::mask::apply_mask_scalar;
use wsspec::codec::simd::{
    available_isas, best_isa, force_isa, unmask_move_validate_with, utf8_valid_with, Isa,
};
use wsspec::codec::utf8::{validate, Utf8Error, Utf8Validator};
use wsspec::codec::{Event, FrameError, Limits, Message};

use crate::drive::{cuts_from_seed, decode_chunked, every_byte};
use crate::targets::limits_for;

/// The kernel set chosen by `sel`, forced for the whole process until [`Restore`] drops.
/// Every kernel set computes the same results, so other threads (the corpus replay runs
/// next to other tests) only take another code path meanwhile.
struct Restore(Isa);

impl Restore {
    fn force(sel: u8) -> (Restore, Isa) {
        let before = best_isa();
        let isas = available_isas();
        let isa = isas[sel as usize % isas.len()];
        assert!(force_isa(isa));
        (Restore(before), isa)
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        force_isa(self.0);
    }
}

/// Header rules by the two low bits of the configuration byte.
fn rules_for(cfg: u8) -> HeaderRules {
    match cfg & 3 {
        0 => HeaderRules::server(),
        1 => HeaderRules::client(),
        2 => HeaderRules::any_role(),
        _ => HeaderRules {
            role: Some(Role::Server),
            allowed_rsv: 7,
        },
    }
}

/// Byte 0: bits 0-1 header rules (server, client, any role, server with RSV allowed),
/// bit 2 tiny limits, bits 3-7 the kernel set (modulo those available); the rest is the
/// wire.
pub fn fast_vs_reference(data: &[u8]) {
    let Some((&cfg, wire)) = data.split_first() else {
        return;
    };
    let rules = rules_for(cfg);
    let limits = limits_for(cfg & 4 != 0);
    let (_restore, isa) = Restore::force(cfg >> 3);

    check_frame_iter(wire, rules, isa);
    check_message_reader(wire, rules, limits, isa);
}

/// [`FrameIter`] over `wire` against the frames `parse_header` finds, payloads unmasked by
/// the scalar oracle; panics on the first difference (`isa` names the kernel set in force).
pub fn check_frame_iter(wire: &[u8], rules: HeaderRules, isa: Isa) {
    let mut want = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        match parse_header(&wire[pos..], rules) {
            Err(e) => {
                want.push(Err(e));
                break;
            }
            Ok(Status::Partial(_)) => break,
            Ok(Status::Complete(h, n)) => {
                let Some(end) = usize::try_from(h.payload_len)
                    .ok()
                    .and_then(|l| (pos + n).checked_add(l))
                    .filter(|e| *e <= wire.len())
                else {
                    break;
                };
                let mut p = wire[pos + n..end].to_vec();
                if let Some(k) = h.mask {
                    apply_mask_scalar(&mut p, k, 0);
                }
                want.push(Ok((h, p)));
                pos = end;
            }
        }
    }
    let mut buf = wire.to_vec();
    let mut it = FrameIter::new(&mut buf, rules);
    let got: Vec<_> = it
        .by_ref()
        .map(|r| r.map(|f| (f.header, f.payload.to_vec())))
        .collect();
    assert_eq!(got, want, "FrameIter differs from parse_header ({isa:?})");
    if want.last().is_none_or(|r| r.is_ok()) {
        assert_eq!(it.consumed(), pos, "FrameIter::consumed ({isa:?})");
    }
}

/// [`MessageReader`] over `wire` against the events [`StreamDecoder`] reports for the whole
/// input, then its error; panics on the first difference.
pub fn check_message_reader(wire: &[u8], rules: HeaderRules, limits: Limits, isa: Isa) {
    let reference = decode_chunked(rules, limits, wire, &[]);
    let mut want: Vec<Result<Event, FrameError>> = reference
        .frames
        .iter()
        .filter_map(|f| f.event.clone().map(Ok))
        .collect();
    want.extend(reference.error.map(Err));
    let mut buf = wire.to_vec();
    let mut r = MessageReader::new(&mut buf, rules, limits);
    let mut got: Vec<Result<Event, FrameError>> = Vec::new();
    while let Some(ev) = r.next_event() {
        got.push(ev.map(|e| match e {
            FastEvent::Text(t) => Event::Message(Message::Text(
                String::from_utf8(t.to_vec()).expect("MessageReader let invalid UTF-8 through"),
            )),
            FastEvent::Binary(b) => Event::Message(Message::Binary(b.to_vec())),
            FastEvent::Ping(p) => Event::Ping(p.to_vec()),
            FastEvent::Pong(p) => Event::Pong(p.to_vec()),
            FastEvent::Close(c) => Event::Close(c.map(|c| (c.code, c.reason.to_owned()))),
        }));
        assert!(got.len() <= wire.len() + 1, "MessageReader does not stop");
    }
    assert_eq!(
        got, want,
        "MessageReader differs from StreamDecoder ({isa:?})"
    );
}

/// The fail-fast answer derived from std: the offset of the first byte after which the
/// input is no longer a prefix of valid UTF-8 (for a truncated end, the length).
pub fn utf8_oracle(bytes: &[u8]) -> Result<(), Utf8Error> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => {
            let at = e.valid_up_to();
            match e.error_len() {
                None => Err(Utf8Error {
                    offset: bytes.len() as u64,
                    truncated: true,
                }),
                Some(n) => {
                    // A valid lead byte fails at its first bad continuation; anything else
                    // fails on itself.
                    let lead_ok = matches!(bytes[at], 0xc2..=0xf4);
                    Err(Utf8Error {
                        offset: (if lead_ok { at + n } else { at }) as u64,
                        truncated: false,
                    })
                }
            }
        }
    }
}

fn feed_pieces(bytes: &[u8], cuts: &[usize]) -> Result<(), Utf8Error> {
    let mut v = Utf8Validator::new();
    let mut prev = 0;
    for &c in cuts.iter().chain(std::iter::once(&bytes.len())) {
        v.feed(&bytes[prev..c])?;
        prev = c;
    }
    v.finish()
}

/// Byte 0: seed for the piece sizes and the mask key; the rest is the text.
pub fn utf8_pieces(data: &[u8]) {
    let Some((&seed, text)) = data.split_first() else {
        return;
    };
    let want = utf8_oracle(text);
    assert_eq!(validate(text), want, "validate");
    let cuts = cuts_from_seed(text.len(), u64::from(seed), 1 + seed as usize % 97);
    assert_eq!(
        feed_pieces(text, &cuts),
        want,
        "Utf8Validator in pieces {cuts:?}"
    );
    if text.len() <= 4096 {
        assert_eq!(
            feed_pieces(text, &every_byte(text.len())),
            want,
            "Utf8Validator byte by byte"
        );
    }
    let key = [
        seed,
        seed.rotate_left(3) ^ 0x5a,
        !seed,
        seed.wrapping_mul(31),
    ];
    let gap = seed as usize % 19;
    for isa in available_isas() {
        assert_eq!(
            utf8_valid_with(isa, text),
            Some(want.is_ok()),
            "utf8_valid_with({isa:?})"
        );
        // The fused kernel: unmask the text lying `gap` bytes further on, move it to the
        // front and validate it as a whole message.
        let mut buf = vec![0u8; gap];
        let mut masked = text.to_vec();
        apply_mask_scalar(&mut masked, key, 0);
        buf.extend_from_slice(&masked);
        if let Some(valid) =
            unmask_move_validate_with(isa, &mut buf, gap, 0, text.len(), 0, key, true)
        {
            assert_eq!(valid, want.is_ok(), "unmask_move_validate_with({isa:?})");
            assert_eq!(
                &buf[..text.len()],
                text,
                "fused kernel moved bytes ({isa:?})"
            );
        }
    }
}
