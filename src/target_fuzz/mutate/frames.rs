//! The frame level: the same message carried by unusual or invalid framing, built with
//! the codec's one frame description: reserved opcodes, RSV bits, missing mask, FIN
//! cleared, lying or non-minimal lengths, fragmentation, a control frame between
//! fragments, oversized control frames, odd close payloads, chopped writes.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

use crate::target_fuzz::input::{FuzzFrame, What};

fn payload_of(what: &What) -> (u8, Vec<u8>) {
    match what {
        What::Text(s) => (1, s.clone().into_bytes()),
        What::Binary(b) => (2, b.clone()),
        What::Frames { frames, .. } => (
            frames.first().map_or(1, |f| f.opcode),
            frames.iter().flat_map(|f| f.payload.clone()).collect(),
        ),
    }
}

pub(super) fn mutate_frames(what: &mut What, rng: &mut StdRng) {
    let (op, payload) = payload_of(what);
    let (mut frames, mut chop) = match what {
        What::Frames { frames, chop } => (frames.clone(), *chop),
        _ => (vec![FuzzFrame::new(op, true, payload.clone())], None),
    };
    let i = rng.random_range(0..frames.len());
    match rng.random_range(0..12u8) {
        0 => frames[i].opcode = *[3u8, 4, 5, 6, 7, 11, 12, 15].choose(rng).unwrap_or(&3),
        1 => frames[i].rsv = rng.random_range(1..8),
        2 => frames[i].masked = false,
        3 => frames[i].fin = false,
        4 => {
            let len = frames[i].payload.len() as u64;
            frames[i].declared_len = Some(
                *[
                    len + 1,
                    len.saturating_sub(1),
                    1 << 40,
                    u64::MAX >> 1,
                    126,
                    65536,
                ]
                .choose(rng)
                .unwrap_or(&(len + 1)),
            );
        }
        5 => frames[i].long_form = true,
        // fragmentation
        6 | 7 => {
            let n = rng.random_range(2..6usize);
            let size = payload.len().div_ceil(n).max(1);
            let mut out = Vec::new();
            for (k, piece) in payload.chunks(size).enumerate() {
                let last = (k + 1) * size >= payload.len();
                out.push(FuzzFrame::new(
                    if k == 0 { op } else { 0 },
                    last,
                    piece.to_vec(),
                ));
            }
            if out.is_empty() {
                out.push(FuzzFrame::new(op, true, Vec::new()));
            }
            // a control frame (or a stray data frame) between fragments
            if out.len() > 1 && rng.random_bool(0.6) {
                let ctl = match rng.random_range(0..3u8) {
                    0 => FuzzFrame::new(9, true, b"interleaved".to_vec()),
                    1 => FuzzFrame::new(10, true, Vec::new()),
                    _ => FuzzFrame::new(op, true, b"x".to_vec()),
                };
                out.insert(1, ctl);
            }
            frames = out;
        }
        // control frames out of the rules
        8 => {
            let ctl = match rng.random_range(0..4u8) {
                0 => FuzzFrame::new(9, true, vec![b'p'; 126]),
                1 => FuzzFrame::new(9, false, b"frag".to_vec()),
                2 => FuzzFrame::new(8, true, vec![0x03]),
                _ => FuzzFrame::new(
                    8,
                    true,
                    [
                        &(*[999u16, 1005, 1006, 1015, 2999, 5000]
                            .choose(rng)
                            .unwrap_or(&999))
                        .to_be_bytes()[..],
                        b"\xff",
                    ]
                    .concat(),
                ),
            };
            frames.insert(rng.random_range(0..=frames.len()), ctl);
        }
        // a continuation with no message, or a new message inside an open one
        9 => frames.insert(0, FuzzFrame::new(0, rng.random(), b"cont".to_vec())),
        10 => chop = Some(*[1usize, 2, 3, 7].choose(rng).unwrap_or(&1)),
        _ => {
            let f = frames[i].clone();
            frames.insert(i, f);
        }
    }
    *what = What::Frames { frames, chop };
}
