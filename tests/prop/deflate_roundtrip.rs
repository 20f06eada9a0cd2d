//! permessage-deflate data path (RFC 7692 §7.2): compress → decompress round trips, the
//! §7.2.3 example messages, and the bound on inflated size.
//!
//! * Round trips over multi-message streams for every window (8-15) and both context
//!   settings, the compressed payload fed whole, in random pieces (empty pieces included, as
//!   an empty final fragment sends them) or byte by byte.
//! * Context takeover is real: without it every message inflates on a fresh decompressor;
//!   with it the stream reaches back into earlier messages (some message does, over the run).
//! * The window is honoured: strict inflation (exact distance check) at the negotiated
//!   window accepts everything the compressor made (8 is checked by the Python test).
//! * A deflate bomb stops at the limit, with at most limit + 1 bytes ever allocated.

use crate::common::deflate::{message_stream, split_at, window};
use proptest::prelude::*;
use wsspec::codec::deflate::{Compressor, Decompressor, DeflateError, WindowBits};
use wsspec::codec::CapacityError;

const MIB: u64 = 1 << 20;

fn inflate_pieces(d: &mut Decompressor, pieces: &[&[u8]]) -> Result<Vec<u8>, DeflateError> {
    let mut out = Vec::new();
    for p in pieces {
        d.inflate(p, &mut out)?;
    }
    d.finish_message(&mut out)?;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn round_trip_streams(
        msgs in message_stream(),
        w in window(),
        nct in any::<bool>(),
        level in prop::sample::select(vec![1u32, 6, 9]),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        bytewise in any::<bool>(),
    ) {
        let mut c = Compressor::with_level(w, nct, level);
        let mut d = Decompressor::new(w, nct, 64 * MIB);
        let mut strict = Decompressor::new(w, nct, 64 * MIB).strict_window(true);
        for m in &msgs {
            let payload = c.compress(m);
            let pieces: Vec<&[u8]> = if bytewise {
                payload.chunks(1).collect()
            } else {
                split_at(&payload, &cuts)
            };
            prop_assert_eq!(&inflate_pieces(&mut d, &pieces).unwrap(), m);
            prop_assert_eq!(&strict.decompress(&payload).unwrap(), m);
            if nct {
                let mut fresh = Decompressor::new(w, true, 64 * MIB);
                prop_assert_eq!(&fresh.decompress(&payload).unwrap(), m);
            }
        }
    }

    /// Inflation stops at the limit: `limit` bytes pass, `limit + 1` do not, and the error
    /// names a size past the limit. (Messages without context takeover, so that each one can
    /// be inflated on its own decompressor with its own limit.)
    #[test]
    fn limit_is_exact(msgs in message_stream(), w in window()) {
        let mut c = Compressor::new(w, true);
        let payloads: Vec<Vec<u8>> = msgs.iter().map(|m| c.compress(m)).collect();
        for (m, p) in msgs.iter().zip(&payloads) {
            let n = m.len() as u64;
            let mut at = Decompressor::new(w, true, n);
            prop_assert_eq!(&at.decompress(p).unwrap(), m);
            if n > 0 {
                let mut below = Decompressor::new(w, true, n - 1);
                match below.decompress(p) {
                    Err(DeflateError::Capacity(CapacityError::MessageTooLarge { size, limit })) => {
                        prop_assert_eq!(limit, n - 1);
                        prop_assert!(size > limit && size <= n);
                    }
                    other => prop_assert!(false, "expected a capacity error, got {:?}", other),
                }
            }
        }
    }
}

/// Context takeover makes later messages smaller and depend on earlier ones: the same
/// message repeated compresses to a few bytes with takeover, and those bytes do not inflate on
/// a fresh decompressor.
#[test]
fn context_takeover_reaches_into_earlier_messages() {
    // Shorter than 250 bytes, the reach of zlib's matcher at the smallest window.
    let text = b"The quick brown fox jumps over the lazy dog; ".repeat(4);
    for bits in 8..=15 {
        let w = WindowBits::new(bits).unwrap();
        let mut keep = Compressor::new(w, false);
        let mut reset = Compressor::new(w, true);
        let first = keep.compress(&text);
        let second = keep.compress(&text);
        assert_eq!(reset.compress(&text), first, "window {bits}");
        assert_eq!(
            reset.compress(&text),
            first,
            "no_context_takeover repeats itself"
        );
        assert!(
            second.len() < first.len() / 2,
            "window {bits}: {second:02x?}"
        );
        let mut d = Decompressor::new(w, false, MIB);
        assert_eq!(d.decompress(&first).unwrap(), text);
        assert_eq!(d.decompress(&second).unwrap(), text);
        let mut fresh = Decompressor::new(w, false, MIB);
        assert!(
            fresh.decompress(&second).is_err(),
            "window {bits}: a takeover message inflated without its context"
        );
    }
}

fn hello_in(bits: u8) -> (Compressor, Decompressor) {
    let w = WindowBits::new(bits).unwrap();
    (Compressor::new(w, false), Decompressor::new(w, false, MIB))
}

/// RFC 7692 §7.2.3.1: "Hello" in one compressed block, whole and in two fragments.
#[test]
fn rfc7692_7_2_3_1_one_block() {
    let (mut c, mut d) = hello_in(15);
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(c.compress(b"Hello"), hello);
    assert_eq!(d.decompress(&hello).unwrap(), b"Hello");
    assert_eq!(
        inflate_pieces(&mut d, &[&hello[..3], &hello[3..]]).unwrap(),
        b"Hello"
    );
}

/// RFC 7692 §7.2.3.2: the second "Hello" reuses the sliding window.
#[test]
fn rfc7692_7_2_3_2_shared_window() {
    let (mut c, mut d) = hello_in(15);
    assert_eq!(
        c.compress(b"Hello"),
        [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    assert_eq!(c.compress(b"Hello"), [0xf2, 0x00, 0x11, 0x00, 0x00]);
    assert_eq!(
        d.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
            .unwrap(),
        b"Hello"
    );
    assert_eq!(
        d.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
        b"Hello"
    );
}

/// RFC 7692 §7.2.3.3: a stored (uncompressed) DEFLATE block.
#[test]
fn rfc7692_7_2_3_3_stored_block() {
    let (_, mut d) = hello_in(15);
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    assert_eq!(d.decompress(&stored).unwrap(), b"Hello");
}

/// RFC 7692 §7.2.3.4: a block with BFINAL set. The next message starts a new DEFLATE stream;
/// under context takeover it may still reach into the window, which is restored.
#[test]
fn rfc7692_7_2_3_4_bfinal_then_shared_window() {
    let (_, mut d) = hello_in(15);
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    assert_eq!(d.decompress(&bfinal).unwrap(), b"Hello");
    assert_eq!(
        d.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
        b"Hello"
    );
    assert_eq!(d.decompress(&bfinal).unwrap(), b"Hello");
    // Without context takeover the back-reference has nothing to reach.
    let mut reset = Decompressor::new(WindowBits::MAX, true, MIB);
    assert_eq!(reset.decompress(&bfinal).unwrap(), b"Hello");
    assert!(matches!(
        reset.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00]),
        Err(DeflateError::CorruptData { .. })
    ));
}

/// RFC 7692 §7.2.3.5: two DEFLATE blocks in one message; the message ends in a non-final
/// block (BFINAL = 0) that is not the stripped empty stored block.
#[test]
fn rfc7692_7_2_3_5_two_blocks_ending_non_final() {
    let (_, mut d) = hello_in(15);
    let two = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(d.decompress(&two).unwrap(), b"Hello");
    let pieces: Vec<&[u8]> = two.chunks(1).collect();
    assert_eq!(inflate_pieces(&mut d, &pieces).unwrap(), b"Hello");
}

/// RFC 7692 §7.2.3.6: a compressed message whose last fragment is empty, and the empty message
/// itself (one `00` byte), between non-empty messages of a takeover stream.
#[test]
fn rfc7692_7_2_3_6_empty_fragment_and_empty_message() {
    let (mut c, mut d) = hello_in(15);
    let hello = c.compress(b"Hello");
    assert_eq!(
        inflate_pieces(&mut d, &[&hello[..], &[][..]]).unwrap(),
        b"Hello"
    );
    let empty = c.compress(b"");
    assert_eq!(empty, [0x00]);
    assert_eq!(
        inflate_pieces(&mut d, &[&[][..], &empty[..], &[][..]]).unwrap(),
        b""
    );
    let again = c.compress(b"Hello");
    assert_eq!(d.decompress(&again).unwrap(), b"Hello");
}

/// Data that stops inside a block is reported, not passed on as a short message: an empty
/// payload (the tail alone opens a stored block) and a block cut in the middle.
#[test]
fn message_cut_inside_a_block_is_incomplete() {
    let (mut c, _) = hello_in(15);
    let text = b"a longer message that needs a dynamic Huffman block, ".repeat(20);
    let payload = c.compress(&text);
    for cut in [0, 1, payload.len() / 2, payload.len() - 1] {
        let mut d = Decompressor::new(WindowBits::MAX, false, MIB);
        let r = d.decompress(&payload[..cut]);
        assert!(
            matches!(
                r,
                Err(DeflateError::IncompleteMessage | DeflateError::CorruptData { .. })
            ),
            "cut at {cut} of {}: {r:?}",
            payload.len()
        );
    }
}

/// Strict window checking catches a compressor that uses a larger window than negotiated,
/// however the payload is split; the default mode accepts it, also however it is split (the
/// verdict never depends on framing: found by the `inflate_bounded` fuzz target, see
/// fuzz/regressions/inflate_bounded/).
#[test]
fn strict_window_catches_a_larger_window() {
    let period: Vec<u8> = (0..2000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let data = period.repeat(4);
    let mut big = Compressor::new(WindowBits::MAX, false);
    let payload = big.compress(&data);
    for bits in 8..=10 {
        let w = WindowBits::new(bits).unwrap();
        for piece in [payload.len(), 7, 1] {
            let pieces: Vec<&[u8]> = payload.chunks(piece).collect();
            let mut strict = Decompressor::new(w, false, MIB).strict_window(true);
            assert!(
                matches!(
                    inflate_pieces(&mut strict, &pieces),
                    Err(DeflateError::CorruptData { .. })
                ),
                "window {bits}, {piece}-byte pieces: strict mode accepted 2000-byte distances"
            );
            let mut default = Decompressor::new(w, false, MIB);
            assert_eq!(inflate_pieces(&mut default, &pieces).unwrap(), data);
        }
    }
    let mut strict =
        Decompressor::new(WindowBits::new(13).unwrap(), false, MIB).strict_window(true);
    assert_eq!(strict.decompress(&payload).unwrap(), data);
}

/// A deflate bomb: 256 MiB of zeros compress to about 250 KiB. Inflating it with a 1 MiB
/// limit stops with a capacity error and never allocates more than the limit + 1 bytes,
/// whether the payload comes whole or in frames.
#[test]
fn deflate_bomb_stops_at_the_limit() {
    let chunk = vec![0u8; 1 << 20];
    let mut payload = Vec::new();
    // One message of 256 MiB, compressed in pieces so the test itself stays small.
    let mut z = flate2::Compress::new(flate2::Compression::best(), false);
    for _ in 0..256 {
        z.compress_vec(&chunk, &mut payload, flate2::FlushCompress::None)
            .unwrap();
        payload.reserve(1 << 16);
    }
    loop {
        payload.reserve(1 << 16);
        z.compress_vec(&[], &mut payload, flate2::FlushCompress::Sync)
            .unwrap();
        if payload.ends_with(&[0, 0, 0xff, 0xff]) {
            break;
        }
    }
    payload.truncate(payload.len() - 4);
    assert!(payload.len() < 400 << 10, "bomb is {} bytes", payload.len());
    for framed in [false, true] {
        let mut d = Decompressor::new(WindowBits::MAX, false, MIB);
        let mut out = Vec::new();
        let r = if framed {
            payload
                .chunks(4096)
                .try_for_each(|p| d.inflate(p, &mut out))
                .and_then(|()| d.finish_message(&mut out))
        } else {
            d.decompress_message(&payload, &mut out)
        };
        match r {
            Err(DeflateError::Capacity(CapacityError::MessageTooLarge { size, limit })) => {
                assert_eq!(limit, MIB);
                assert!(size > MIB && size <= MIB + 1, "size {size}");
            }
            other => panic!("bomb inflated: {other:?}"),
        }
        assert!(
            out.capacity() as u64 <= MIB + 1,
            "framed={framed}: {} bytes allocated for a {MIB}-byte limit",
            out.capacity()
        );
        assert_eq!(out.len() as u64, MIB + 1);
        assert!(out.iter().all(|&b| b == 0));
    }
}
