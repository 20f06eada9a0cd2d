//! x86 / x86_64 masking kernels (SSE2, AVX2, AVX-512 at 512 and at 256 bits).
//!
//! Each kernel XORs with an already rotated key (see `simd::rotate_key`), so the
//! pattern is 4-periodic from `buf[0]`; every vector step is a multiple of 4 bytes and
//! the broadcast key never needs re-rotating except after the alignment head. The AVX2
//! and SSE2 kernels take long buffers byte by byte to a 64-byte boundary so that no
//! vector store splits a cache line; the AVX-512 kernel instead stores two overlapping
//! unaligned edge vectors around an aligned middle (see `xor_avx512_edges`).
//!
//! The `_ascii` flavour (const `ASCII = true`) ORs every result into an accumulator and
//! reports whether no byte had its top bit set.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::{portable, rotate_key};

/// Buffers at least this long get an alignment head (AVX2 and SSE2 kernels).
const ALIGN_FROM: usize = 512;

/// Splits off the bytes before the first 64-byte boundary (long buffers only), XORs them
/// bytewise, and returns the rest with the key rotated to match it.
#[inline(always)]
fn align_head(buf: &mut [u8], k: [u8; 4]) -> (&mut [u8], [u8; 4], u8) {
    if buf.len() < ALIGN_FROM {
        return (buf, k, 0);
    }
    let head = buf.as_ptr().align_offset(64).min(buf.len());
    let (h, rest) = buf.split_at_mut(head);
    let mut acc = 0u8;
    for (i, b) in h.iter_mut().enumerate() {
        *b ^= k[i & 3];
        acc |= *b;
    }
    (rest, rotate_key(k, head), acc)
}

/// AVX-512 kernel for buffers of 64 bytes or more, with no masked operation: the first
/// and the last 64 bytes are loaded (unaligned) and XORed before anything is stored, the
/// 64-byte-aligned middle is processed in place, and then the two edge vectors are stored.
/// Where an edge overlaps the middle it writes the same (correct) bytes again, because it
/// was computed from the original input. Only the two edge stores can split a line.
///
/// # Safety
/// As [`xor_avx512`]; additionally `buf.len() >= 64`.
#[target_feature(enable = "avx512f,avx512bw,avx2")]
unsafe fn xor_avx512_edges<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    let len = buf.len();
    debug_assert!(len >= 64);
    let p = buf.as_mut_ptr();
    let last = len - 64;
    // SAFETY: len >= 64, so [0, 64) and [last, len) are inside `buf`.
    let first_v = _mm512_xor_si512(
        _mm512_loadu_si512(p.cast()),
        _mm512_set1_epi32(i32::from_ne_bytes(k)),
    );
    let last_v = _mm512_xor_si512(
        _mm512_loadu_si512(p.add(last).cast()),
        _mm512_set1_epi32(i32::from_ne_bytes(rotate_key(k, last))),
    );
    let mut i = p.align_offset(64).min(64);
    let kv = _mm512_set1_epi32(i32::from_ne_bytes(rotate_key(k, i)));
    let mut acc = _mm512_or_si512(first_v, last_v);
    // SAFETY: `i + 256 <= len` / `i + 64 <= len` keep every access inside `buf`.
    while i + 256 <= len {
        let q = p.add(i);
        let a = _mm512_xor_si512(_mm512_loadu_si512(q.cast()), kv);
        let b = _mm512_xor_si512(_mm512_loadu_si512(q.add(64).cast()), kv);
        let c = _mm512_xor_si512(_mm512_loadu_si512(q.add(128).cast()), kv);
        let d = _mm512_xor_si512(_mm512_loadu_si512(q.add(192).cast()), kv);
        _mm512_storeu_si512(q.cast(), a);
        _mm512_storeu_si512(q.add(64).cast(), b);
        _mm512_storeu_si512(q.add(128).cast(), c);
        _mm512_storeu_si512(q.add(192).cast(), d);
        if ASCII {
            acc = _mm512_or_si512(
                acc,
                _mm512_or_si512(_mm512_or_si512(a, b), _mm512_or_si512(c, d)),
            );
        }
        i += 256;
    }
    while i + 64 <= len {
        let q = p.add(i);
        let a = _mm512_xor_si512(_mm512_loadu_si512(q.cast()), kv);
        _mm512_storeu_si512(q.cast(), a);
        if ASCII {
            acc = _mm512_or_si512(acc, a);
        }
        i += 64;
    }
    // The bytes after `i` (< 64) are inside [last, len), the ones before the first
    // boundary inside [0, 64).
    _mm512_storeu_si512(p.add(last).cast(), last_v);
    _mm512_storeu_si512(p.cast(), first_v);
    !ASCII || _mm512_movepi8_mask(acc) == 0
}

/// AVX-512 kernel: [`xor_avx512_edges`] from 64 bytes on, else one masked operation.
///
/// No masked operation on buffers of 64 bytes or more, by measurement on Zen 5: 10k
/// masked 1 KiB frames, each 8 bytes past a line boundary, took about 170 µs per pass
/// with a masked head to the next 64-byte boundary plus a masked tail per frame, about
/// 135 µs with 16 unaligned full-width stores, and about 120 µs with the overlapping
/// unaligned edges around an aligned middle.
///
/// # Safety
/// The CPU must support `avx512f`, `avx512bw` and `avx2` (checked by `Isa::is_available`).
#[target_feature(enable = "avx512f,avx512bw,avx2")]
pub(crate) unsafe fn xor_avx512<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    let len = buf.len();
    if len >= 64 {
        return xor_avx512_edges::<ASCII>(buf, k);
    }
    // len < 64, so the shift cannot overflow; masked-off lanes are neither read nor
    // written (AVX-512 fault suppression).
    let m: __mmask64 = (1u64 << len) - 1;
    let p = buf.as_mut_ptr();
    let kv = _mm512_set1_epi32(i32::from_ne_bytes(k));
    let a = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p.cast()), kv);
    _mm512_mask_storeu_epi8(p.cast(), m, a);
    !ASCII || _mm512_movepi8_mask(_mm512_maskz_mov_epi8(m, a)) == 0
}

/// AVX-512VL kernel: 256-bit vectors with AVX-512 masking. From 32 bytes on, the first and
/// last 32 bytes are XORed from the original input before anything is stored (as in
/// [`xor_avx512_edges`], at half the width), the 32-byte-aligned middle runs 4 x 32 bytes
/// per step; below 32 bytes, one masked load and store.
///
/// # Safety
/// The CPU must support `avx512f`, `avx512bw`, `avx512vl` and `avx2` (checked by
/// `Isa::is_available`).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
pub(crate) unsafe fn xor_avx512vl<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    let len = buf.len();
    let p = buf.as_mut_ptr();
    if len < 32 {
        // len < 32, so the shift cannot overflow; masked-off lanes are neither read nor
        // written (fault suppression), and are zero in `a` before the XOR.
        let m: __mmask32 = (1u32 << len) - 1;
        let a = _mm256_xor_si256(
            _mm256_maskz_loadu_epi8(m, p.cast()),
            _mm256_set1_epi32(i32::from_ne_bytes(k)),
        );
        _mm256_mask_storeu_epi8(p.cast(), m, a);
        return !ASCII || (_mm256_movemask_epi8(a) as u32) & m == 0;
    }
    let last = len - 32;
    // SAFETY: len >= 32, so [0, 32) and [last, len) are inside `buf`.
    let first_v = _mm256_xor_si256(
        _mm256_loadu_si256(p.cast()),
        _mm256_set1_epi32(i32::from_ne_bytes(k)),
    );
    let last_v = _mm256_xor_si256(
        _mm256_loadu_si256(p.add(last).cast()),
        _mm256_set1_epi32(i32::from_ne_bytes(rotate_key(k, last))),
    );
    // At most 31, so [0, i) lies inside the first edge.
    let mut i = p.align_offset(32).min(32);
    let kv = _mm256_set1_epi32(i32::from_ne_bytes(rotate_key(k, i)));
    let mut acc = _mm256_or_si256(first_v, last_v);
    // SAFETY: `i + 128 <= len` / `i + 32 <= len` keep every access inside `buf`.
    while i + 128 <= len {
        let q = p.add(i);
        let a = _mm256_xor_si256(_mm256_load_si256(q.cast()), kv);
        let b = _mm256_xor_si256(_mm256_load_si256(q.add(32).cast()), kv);
        let c = _mm256_xor_si256(_mm256_load_si256(q.add(64).cast()), kv);
        let d = _mm256_xor_si256(_mm256_load_si256(q.add(96).cast()), kv);
        _mm256_store_si256(q.cast(), a);
        _mm256_store_si256(q.add(32).cast(), b);
        _mm256_store_si256(q.add(64).cast(), c);
        _mm256_store_si256(q.add(96).cast(), d);
        if ASCII {
            acc = _mm256_or_si256(
                acc,
                _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d)),
            );
        }
        i += 128;
    }
    while i + 32 <= len {
        let q = p.add(i);
        let a = _mm256_xor_si256(_mm256_load_si256(q.cast()), kv);
        _mm256_store_si256(q.cast(), a);
        if ASCII {
            acc = _mm256_or_si256(acc, a);
        }
        i += 32;
    }
    // The bytes after `i` (< 32) are inside [last, len).
    _mm256_storeu_si256(p.add(last).cast(), last_v);
    _mm256_storeu_si256(p.cast(), first_v);
    !ASCII || _mm256_movemask_epi8(acc) == 0
}

/// AVX2 kernel: 4 x 32 bytes per step, then 32, then the portable loop for < 32 bytes.
///
/// # Safety
/// The CPU must support `avx2` (checked by `Isa::is_available`).
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn xor_avx2<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    let (rest, k, head_acc) = align_head(buf, k);
    let len = rest.len();
    let p = rest.as_mut_ptr();
    let kv = _mm256_set1_epi32(i32::from_ne_bytes(k));
    let mut acc = _mm256_setzero_si256();
    let mut i = 0usize;
    // SAFETY: `i + 128 <= len` / `i + 32 <= len` keep every access inside `rest`.
    while i + 128 <= len {
        let q = p.add(i);
        let a = _mm256_xor_si256(_mm256_loadu_si256(q.cast()), kv);
        let b = _mm256_xor_si256(_mm256_loadu_si256(q.add(32).cast()), kv);
        let c = _mm256_xor_si256(_mm256_loadu_si256(q.add(64).cast()), kv);
        let d = _mm256_xor_si256(_mm256_loadu_si256(q.add(96).cast()), kv);
        _mm256_storeu_si256(q.cast(), a);
        _mm256_storeu_si256(q.add(32).cast(), b);
        _mm256_storeu_si256(q.add(64).cast(), c);
        _mm256_storeu_si256(q.add(96).cast(), d);
        if ASCII {
            acc = _mm256_or_si256(
                acc,
                _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d)),
            );
        }
        i += 128;
    }
    while i + 32 <= len {
        let q = p.add(i);
        let a = _mm256_xor_si256(_mm256_loadu_si256(q.cast()), kv);
        _mm256_storeu_si256(q.cast(), a);
        if ASCII {
            acc = _mm256_or_si256(acc, a);
        }
        i += 32;
    }
    // i is a multiple of 4, so the tail starts at key index 0.
    let tail_ascii = portable::xor::<ASCII>(&mut rest[i..], k);
    !ASCII || (_mm256_movemask_epi8(acc) == 0 && head_acc < 0x80 && tail_ascii)
}

/// SSE2 kernel: 4 x 16 bytes per step, then 16, then the portable loop for < 16 bytes.
///
/// # Safety
/// The CPU must support `sse2` (checked by `Isa::is_available`; baseline on x86_64).
#[target_feature(enable = "sse2")]
pub(crate) unsafe fn xor_sse2<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    let (rest, k, head_acc) = align_head(buf, k);
    let len = rest.len();
    let p = rest.as_mut_ptr();
    let kv = _mm_set1_epi32(i32::from_ne_bytes(k));
    let mut acc = _mm_setzero_si128();
    let mut i = 0usize;
    // SAFETY: `i + 64 <= len` / `i + 16 <= len` keep every access inside `rest`.
    while i + 64 <= len {
        let q = p.add(i);
        let a = _mm_xor_si128(_mm_loadu_si128(q.cast()), kv);
        let b = _mm_xor_si128(_mm_loadu_si128(q.add(16).cast()), kv);
        let c = _mm_xor_si128(_mm_loadu_si128(q.add(32).cast()), kv);
        let d = _mm_xor_si128(_mm_loadu_si128(q.add(48).cast()), kv);
        _mm_storeu_si128(q.cast(), a);
        _mm_storeu_si128(q.add(16).cast(), b);
        _mm_storeu_si128(q.add(32).cast(), c);
        _mm_storeu_si128(q.add(48).cast(), d);
        if ASCII {
            acc = _mm_or_si128(acc, _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)));
        }
        i += 64;
    }
    while i + 16 <= len {
        let q = p.add(i);
        let a = _mm_xor_si128(_mm_loadu_si128(q.cast()), kv);
        _mm_storeu_si128(q.cast(), a);
        if ASCII {
            acc = _mm_or_si128(acc, a);
        }
        i += 16;
    }
    let tail_ascii = portable::xor::<ASCII>(&mut rest[i..], k);
    !ASCII || (_mm_movemask_epi8(acc) == 0 && head_acc < 0x80 && tail_ascii)
}
