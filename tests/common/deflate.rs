//! Generators shared by the permessage-deflate property tests.
//!
//! A message stream is cut from one generated "document", message k a window of it, the way
//! Autobahn's 12.x builds its messages: later messages repeat earlier ones, so context
//! takeover has something to reach back to, and the document mixes random bytes with
//! repeats at distances from 1 byte to well past 32 KiB, so every window size gets
//! references it must and must not use.

use proptest::prelude::*;
use wsspec::codec::deflate::WindowBits;

/// A document of runs: random bytes, short-period repeats, and copies of earlier material
/// from 1 byte to 40 KiB back.
pub fn document() -> impl Strategy<Value = Vec<u8>> {
    let run = prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 1..700).prop_map(Run::Bytes),
        2 => (prop::collection::vec(any::<u8>(), 1..8), 1usize..400)
            .prop_map(|(p, n)| Run::Repeat(p, n)),
        4 => (1usize..40_000, 3usize..600).prop_map(|(back, len)| Run::Copy(back, len)),
    ];
    prop::collection::vec(run, 1..60).prop_map(|runs| {
        let mut doc = Vec::new();
        for r in runs {
            match r {
                Run::Bytes(b) => doc.extend_from_slice(&b),
                Run::Repeat(p, n) => {
                    for _ in 0..n {
                        doc.extend_from_slice(&p);
                    }
                }
                Run::Copy(back, len) => {
                    if doc.is_empty() {
                        continue;
                    }
                    let from = doc.len().saturating_sub(back);
                    for i in 0..len {
                        let b = doc[from + i % (doc.len() - from)];
                        doc.push(b);
                    }
                }
            }
        }
        doc
    })
}

#[derive(Debug, Clone)]
enum Run {
    Bytes(Vec<u8>),
    Repeat(Vec<u8>, usize),
    Copy(usize, usize),
}

/// A document and 1-12 messages cut from it (lengths 0 to 5000, the empty message included).
pub fn message_stream() -> impl Strategy<Value = Vec<Vec<u8>>> {
    (
        document(),
        prop::collection::vec((any::<prop::sample::Index>(), 0usize..5000), 1..12),
    )
        .prop_map(|(doc, cuts)| {
            cuts.into_iter()
                .map(|(at, len)| {
                    if doc.is_empty() {
                        return Vec::new();
                    }
                    let start = at.index(doc.len());
                    doc[start..(start + len).min(doc.len())].to_vec()
                })
                .collect()
        })
}

/// Every window size, 8 to 15.
pub fn window() -> impl Strategy<Value = WindowBits> {
    (8u8..=15).prop_map(|b| WindowBits::new(b).unwrap())
}

/// Splits `data` at the (sorted, deduplicated) cut points, keeping empty pieces.
pub fn split_at<'a>(data: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut last = 0;
    for p in points {
        pieces.push(&data[last..p]);
        last = p;
    }
    pieces.push(&data[last..]);
    pieces
}
