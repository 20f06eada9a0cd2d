//! SIMD kernels below the reference codec and the zero-copy reader: masking and UTF-8
//! validity, with runtime CPU dispatch.
//!
//! Both [`crate::codec::mask`] / [`crate::codec::utf8`] (the reference codec) and
//! [`crate::codec::fast`] (the zero-copy reader) call down into this module; nothing here
//! depends on either of them.
//!
//! `unsafe` appears only in the `#[target_feature]` kernels (`x86`, `utf8_x86`, `neon`) and
//! the dispatch calling them, each with its safety contract; everything public is safe.
//!
//! Every kernel computes the same thing as [`crate::codec::mask::apply_mask_scalar`]:
//! `buf[i] ^= key[(offset + i) % 4]`. The `_ascii` variants additionally answer whether
//! every *resulting* byte is below 0x80, which lets a text payload skip UTF-8 validation
//! without a second pass over it.
//!
//! Selection happens once per process ([`best_isa`]): AVX-512 (F+BW), then AVX2, then
//! SSE2 on x86/x86_64; NEON on aarch64; a portable 8-bytes-at-a-time loop elsewhere.
//! Short buffers never leave the portable inline path, because for them the call into
//! a non-inlinable `#[target_feature]` function costs more than the work.

use std::sync::atomic::{AtomicU8, Ordering};

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod utf8_x86;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86;

/// An instruction set a kernel is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Plain Rust, 8 bytes per step; available everywhere.
    Portable,
    /// x86 SSE2, 16 bytes per step.
    Sse2,
    /// x86 AVX2, 32 bytes per step.
    Avx2,
    /// x86 AVX-512 F+BW, 64 bytes per step with a masked vector tail.
    Avx512,
    /// aarch64 NEON (Advanced SIMD), 16 bytes per step.
    Neon,
}

impl Isa {
    /// Whether this CPU can run kernels for `self`.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Sse2 => std::is_x86_feature_detected!("sse2"),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx512 => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx2")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    fn code(self) -> u8 {
        match self {
            Isa::Portable => 1,
            Isa::Sse2 => 2,
            Isa::Avx2 => 3,
            Isa::Avx512 => 4,
            Isa::Neon => 5,
        }
    }

    fn from_code(c: u8) -> Isa {
        match c {
            2 => Isa::Sse2,
            3 => Isa::Avx2,
            4 => Isa::Avx512,
            5 => Isa::Neon,
            _ => Isa::Portable,
        }
    }
}

/// Every kernel set this CPU can run, fastest last (for tests and benchmarks).
pub fn available_isas() -> Vec<Isa> {
    [Isa::Portable, Isa::Sse2, Isa::Neon, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|i| i.is_available())
        .collect()
}

static BEST: AtomicU8 = AtomicU8::new(0);

/// The kernel set [`apply_mask`] uses: the widest one this CPU supports, detected once.
#[inline]
pub fn best_isa() -> Isa {
    match BEST.load(Ordering::Relaxed) {
        0 => {
            let best = *available_isas().last().unwrap_or(&Isa::Portable);
            BEST.store(best.code(), Ordering::Relaxed);
            best
        }
        c => Isa::from_code(c),
    }
}

/// Makes [`best_isa`] (and so every dispatching entry point) use `isa` from now on, for
/// tests and benchmarks that exercise each kernel set through the public API. All kernel
/// sets compute identical results, so other threads are only moved to another code path.
/// Returns false, changing nothing, when this CPU cannot run `isa`.
pub fn force_isa(isa: Isa) -> bool {
    if !isa.is_available() {
        return false;
    }
    BEST.store(isa.code(), Ordering::Relaxed);
    true
}

/// Below this length the portable inline loop wins over a dispatched SIMD call.
const INLINE_MAX: usize = 32;

/// The key rotated so that element 0 applies to payload byte `offset`.
#[inline(always)]
pub(crate) fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let r = offset & 3;
    [key[r], key[(r + 1) & 3], key[(r + 2) & 3], key[(r + 3) & 3]]
}

/// XORs `buf` with `key`, `buf[0]` being payload byte `offset`, with the best kernel.
#[inline(always)]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let k = rotate_key(key, offset);
    if buf.len() <= INLINE_MAX {
        portable::xor::<false>(buf, k);
    } else {
        dispatch_best::<false>(buf, k);
    }
}

/// [`apply_mask`] that also returns whether all unmasked bytes are ASCII (< 0x80).
#[inline(always)]
pub fn apply_mask_ascii(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    let k = rotate_key(key, offset);
    if buf.len() <= INLINE_MAX {
        portable::xor::<true>(buf, k)
    } else {
        dispatch_best::<true>(buf, k)
    }
}

/// The out-of-line part of the entry points: long buffers go to the widest kernel.
#[inline(never)]
fn dispatch_best<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    dispatch::<ASCII>(best_isa(), buf, k)
}

/// [`apply_mask`] with a chosen kernel set. Returns false, leaving `buf` untouched, when
/// this CPU cannot run it. For property tests and benchmarks.
pub fn apply_mask_with(isa: Isa, buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    if !isa.is_available() {
        return false;
    }
    dispatch::<false>(isa, buf, rotate_key(key, offset));
    true
}

/// [`apply_mask_ascii`] with a chosen kernel set; `None` when this CPU cannot run it.
pub fn apply_mask_ascii_with(
    isa: Isa,
    buf: &mut [u8],
    key: [u8; 4],
    offset: usize,
) -> Option<bool> {
    if !isa.is_available() {
        return None;
    }
    Some(dispatch::<true>(isa, buf, rotate_key(key, offset)))
}

/// Runs the kernel for `isa`; callers have checked availability (or got it from
/// [`best_isa`], which only returns available sets).
#[inline]
fn dispatch<const ASCII: bool>(isa: Isa, buf: &mut [u8], k: [u8; 4]) -> bool {
    match isa {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: `isa` is only Avx512/Avx2/Sse2 when `Isa::is_available` confirmed the
        // CPU features the `#[target_feature]` kernel is compiled for.
        Isa::Avx512 => unsafe { x86::xor_avx512::<ASCII>(buf, k) },
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: as above, AVX2 was detected.
        Isa::Avx2 => unsafe { x86::xor_avx2::<ASCII>(buf, k) },
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: as above, SSE2 was detected.
        Isa::Sse2 => unsafe { x86::xor_sse2::<ASCII>(buf, k) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON was detected.
        Isa::Neon => unsafe { neon::xor_neon::<ASCII>(buf, k) },
        _ => portable::xor::<ASCII>(buf, k),
    }
}

/// Whether `buf` is entirely valid UTF-8, with the best kernel: AVX-512 or AVX2 lookup
/// kernels on x86, simdutf8 (SSE4.2, NEON or its scalar code) elsewhere. Yes/no only; see
/// [`crate::codec::utf8::Utf8Validator`] for exact error offsets.
#[inline]
pub fn utf8_valid(buf: &[u8]) -> bool {
    utf8_dispatch(best_isa(), buf)
}

/// Runs the UTF-8 kernel for `isa`, which the caller knows to be available.
#[inline]
fn utf8_dispatch(isa: Isa, buf: &[u8]) -> bool {
    match isa {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: `isa` comes from `best_isa` or was checked by `Isa::is_available`.
        Isa::Avx512 => unsafe { utf8_x86::valid_avx512(buf) },
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { utf8_x86::valid_avx2(buf) },
        _ => simdutf8::basic::from_utf8(buf).is_ok(),
    }
}

/// One pass over a masked text fragment: unmask `buf[src..src + len]`, move it down to
/// `dst`, and validate it as the continuation of the text `buf[msg_start..dst]` (valid
/// so far, possibly ending inside a sequence); with `last` the text must also end on a
/// code point boundary. `None` when no fused kernel exists for `isa` (then nothing was
/// touched); otherwise whether the text is still valid (the bytes are moved either way).
///
/// Without `last`, a sequence left open at the very end is only checked as far as the
/// following fragment is needed to judge it: whether that open tail (at most 3 bytes,
/// from its lead byte on) is a valid prefix, e.g. that it is not `F5` or `F4 90`, is the
/// caller's check ([`crate::codec::fast::MessageReader`] replays it through the exact
/// validator).
///
/// # Panics
/// Unless `msg_start <= dst <= src` and `src + len <= buf.len()`.
#[allow(clippy::too_many_arguments)]
pub fn unmask_move_validate_with(
    isa: Isa,
    buf: &mut [u8],
    src: usize,
    dst: usize,
    len: usize,
    msg_start: usize,
    key: [u8; 4],
    last: bool,
) -> Option<bool> {
    assert!(msg_start <= dst && dst <= src && src.checked_add(len).is_some_and(|e| e <= buf.len()));
    match isa {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Avx512 if isa.is_available() => {
            // SAFETY: AVX-512 F+BW detected; the bounds are asserted above.
            Some(unsafe {
                utf8_x86::unmask_move_validate_avx512(buf, src, dst, len, msg_start, key, last)
            })
        }
        _ => None,
    }
}

/// [`unmask_move_validate_with`] for the best kernel set, with the key applying from
/// payload offset 0.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn unmask_move_validate(
    buf: &mut [u8],
    src: usize,
    dst: usize,
    len: usize,
    msg_start: usize,
    key: [u8; 4],
    last: bool,
) -> Option<bool> {
    match best_isa() {
        Isa::Avx512 => {
            unmask_move_validate_with(Isa::Avx512, buf, src, dst, len, msg_start, key, last)
        }
        _ => None,
    }
}

/// [`utf8_valid`] with a chosen kernel set; `None` when this CPU cannot run it. ISAs
/// without a UTF-8 kernel of their own use simdutf8.
pub fn utf8_valid_with(isa: Isa, buf: &[u8]) -> Option<bool> {
    if !isa.is_available() {
        return None;
    }
    Some(utf8_dispatch(isa, buf))
}

pub(crate) mod portable {
    /// XOR with an already rotated key, 8 bytes per step; returns "all ASCII" when
    /// `ASCII` is set (and `true` otherwise).
    #[inline(always)]
    pub(crate) fn xor<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
        let k8 = u32::from_ne_bytes(k) as u64 * 0x1_0000_0001;
        let mut acc = 0u64;
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            let v = u64::from_ne_bytes(w) ^ k8;
            if ASCII {
                acc |= v;
            }
            c.copy_from_slice(&v.to_ne_bytes());
        }
        let mut tail_acc = 0u8;
        for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
            *b ^= k[i & 3];
            if ASCII {
                tail_acc |= *b;
            }
        }
        !ASCII || (acc & 0x8080_8080_8080_8080 == 0 && tail_acc < 0x80)
    }
}
