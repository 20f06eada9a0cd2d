//! Masking (RFC 6455 §5.3): XOR of the payload with a 4-byte key, position-dependent.

/// XORs `buf` with `key`, where `buf[0]` is payload byte number `offset`.
///
/// The offset lets a caller unmask a payload that arrives in pieces. Masking and unmasking
/// are the same operation. The key is rotated to the offset once, then the kernel set
/// chosen for this kind of CPU runs (AVX-512, AVX-512VL, AVX2, SSE2, NEON or 8 bytes at a
/// time; see [`crate::codec::simd::preferred_order`]); short buffers stay on an inlined
/// 8-byte loop.
#[inline(always)]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    crate::codec::simd::apply_mask(buf, key, offset)
}

/// [`apply_mask`] that also reports whether every unmasked byte is ASCII, so a text
/// payload can skip UTF-8 validation without a second pass.
#[inline(always)]
pub fn apply_mask_ascii(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    crate::codec::simd::apply_mask_ascii(buf, key, offset)
}

/// The obvious byte-at-a-time definition, kept as the oracle for tests and fuzzing.
pub fn apply_mask_scalar(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scalar_for_every_length_and_offset() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in 0..70 {
            for off in 0..8 {
                let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
                let mut a = data.clone();
                let mut b = data.clone();
                apply_mask(&mut a, key, off);
                apply_mask_scalar(&mut b, key, off);
                assert_eq!(a, b, "len {len} off {off}");
            }
        }
    }

    /// The send path's copy-and-mask (two overlapping words from 8 to 16 bytes) appends
    /// exactly the masked payload after what the buffer already holds.
    #[test]
    fn extend_masked_appends_the_masked_payload() {
        let key = [0x9a, 0x01, 0xff, 0x40];
        for len in 0..40 {
            let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(77) ^ 0x5c).collect();
            let mut want = b"head".to_vec();
            let mut masked = data.clone();
            apply_mask_scalar(&mut masked, key, 0);
            want.extend_from_slice(&masked);
            let mut got = b"head".to_vec();
            crate::codec::simd::extend_masked(&mut got, &data, key);
            assert_eq!(got, want, "len {len}");
        }
    }

    #[test]
    fn split_unmasking_equals_whole() {
        let key = [1, 2, 3, 4];
        let mut whole = b"a payload that arrives in pieces".to_vec();
        let mut parts = whole.clone();
        apply_mask(&mut whole, key, 0);
        let (a, b) = parts.split_at_mut(7);
        apply_mask(a, key, 0);
        apply_mask(b, key, 7);
        assert_eq!(whole, parts);
    }
}
