//! UTF-8 validity check (yes/no) for x86: the lookup algorithm of Keiser and Lemire,
//! "Validating UTF-8 In Less Than One Instruction Per Byte" (2021), as in simdjson and
//! simdutf8, written here for 64-byte AVX-512 blocks and 32-byte AVX2 blocks.
//!
//! Three 16-entry table lookups classify each byte pair (previous byte high nibble,
//! previous byte low nibble, current byte high nibble) into error bits; a saturating
//! subtraction finds the bytes that must be 3rd/4th continuation bytes. ASCII blocks only
//! check that the previous block did not end inside a sequence. The tail is zero-padded
//! (masked load / stack copy): a sequence cut by the end of the input is then followed by
//! 0x00, which the tables reject as too short.
//!
//! These kernels only say valid or not; the exact offset of an error is the job of the
//! scalar validator, which the caller runs on failure.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

const TOO_SHORT: u8 = 1 << 0;
const TOO_LONG: u8 = 1 << 1;
const OVERLONG_3: u8 = 1 << 2;
const TOO_LARGE: u8 = 1 << 3;
const SURROGATE: u8 = 1 << 4;
const OVERLONG_2: u8 = 1 << 5;
const TOO_LARGE_1000: u8 = 1 << 6;
const OVERLONG_4: u8 = 1 << 6;
const TWO_CONTS: u8 = 1 << 7;
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

/// Indexed by the high nibble of the previous byte.
const BYTE_1_HIGH: [u8; 16] = [
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TOO_SHORT | OVERLONG_2,
    TOO_SHORT,
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
];

/// Indexed by the low nibble of the previous byte.
const BYTE_1_LOW: [u8; 16] = [
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    CARRY | OVERLONG_2,
    CARRY,
    CARRY,
    CARRY | TOO_LARGE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
];

/// Indexed by the high nibble of the current byte.
const BYTE_2_HIGH: [u8; 16] = [
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
];

/// The 16-byte table repeated in every 128-bit lane, as the shuffles index per lane.
const fn table64(t: &[u8; 16]) -> [u8; 64] {
    let mut out = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        out[i] = t[i & 15];
        i += 1;
    }
    out
}

static B1H: [u8; 64] = table64(&BYTE_1_HIGH);
static B1L: [u8; 64] = table64(&BYTE_1_LOW);
static B2H: [u8; 64] = table64(&BYTE_2_HIGH);
static MAX64: [u8; 64] = incomplete_max::<64>();
static MAX32: [u8; 32] = incomplete_max::<32>();

/// Largest byte value that does not start a sequence needing more bytes than remain in
/// the block, per position (only the last three positions are restricted).
const fn incomplete_max<const N: usize>() -> [u8; N] {
    let mut m = [0xffu8; N];
    m[N - 3] = 0b1111_0000 - 1;
    m[N - 2] = 0b1110_0000 - 1;
    m[N - 1] = 0b1100_0000 - 1;
    m
}

// ---------------------------------------------------------------------------------------
// AVX-512 (F + BW)
// ---------------------------------------------------------------------------------------

struct Tables512 {
    b1h: __m512i,
    b1l: __m512i,
    b2h: __m512i,
    nib: __m512i,
    max: __m512i,
    shift_idx: __m512i,
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn tables512() -> Tables512 {
    // SAFETY: each array is exactly 64 bytes.
    Tables512 {
        b1h: _mm512_loadu_si512(B1H.as_ptr().cast()),
        b1l: _mm512_loadu_si512(B1L.as_ptr().cast()),
        b2h: _mm512_loadu_si512(B2H.as_ptr().cast()),
        nib: _mm512_set1_epi8(0x0f),
        max: _mm512_loadu_si512(MAX64.as_ptr().cast()),
        // Qwords [prev.6, prev.7, in.0 .. in.5]: the input shifted up by one 128-bit lane
        // with the previous block's last lane in front (indices >= 8 pick from `prev`).
        shift_idx: _mm512_set_epi64(5, 4, 3, 2, 1, 0, 15, 14),
    }
}

/// Error bits of one 64-byte block given the previous block.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn block_errors512(t: &Tables512, input: __m512i, prev: __m512i) -> __m512i {
    let shifted = _mm512_permutex2var_epi64(input, t.shift_idx, prev);
    let prev1 = _mm512_alignr_epi8::<15>(input, shifted);
    let prev2 = _mm512_alignr_epi8::<14>(input, shifted);
    let prev3 = _mm512_alignr_epi8::<13>(input, shifted);
    let hi = |v: __m512i| _mm512_and_si512(_mm512_srli_epi16::<4>(v), t.nib);
    let sc = _mm512_and_si512(
        _mm512_and_si512(
            _mm512_shuffle_epi8(t.b1h, hi(prev1)),
            _mm512_shuffle_epi8(t.b1l, _mm512_and_si512(prev1, t.nib)),
        ),
        _mm512_shuffle_epi8(t.b2h, hi(input)),
    );
    let third = _mm512_subs_epu8(prev2, _mm512_set1_epi8((0xe0u8 - 0x80) as i8));
    let fourth = _mm512_subs_epu8(prev3, _mm512_set1_epi8((0xf0u8 - 0x80) as i8));
    let must23_80 = _mm512_and_si512(_mm512_or_si512(third, fourth), _mm512_set1_epi8(-128));
    _mm512_xor_si512(must23_80, sc)
}

/// Whether `buf` is valid UTF-8.
///
/// # Safety
/// The CPU must support `avx512f` and `avx512bw` (checked by `Isa::is_available`).
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn valid_avx512(buf: &[u8]) -> bool {
    let t = tables512();
    let p = buf.as_ptr();
    let len = buf.len();
    if len < 64 {
        // Short text (the common WebSocket message): one zero-padded block, no loop.
        // SAFETY: the mask covers exactly the `len` bytes of `buf`.
        let input = _mm512_maskz_loadu_epi8((1u64 << len) - 1, p.cast());
        if _mm512_movepi8_mask(input) == 0 {
            return true;
        }
        let e = block_errors512(&t, input, _mm512_setzero_si512());
        return _mm512_test_epi8_mask(e, e) == 0;
    }
    let mut prev = _mm512_setzero_si512();
    let mut prev_incomplete = _mm512_setzero_si512();
    let mut err = _mm512_setzero_si512();
    let mut i = 0usize;
    // SAFETY: `i + 64 <= len` bounds every full load; the tail load is masked to the
    // `len - i` remaining bytes (masked-off lanes are not read and come back as zero).
    while i + 64 <= len {
        let input = _mm512_loadu_si512(p.add(i).cast());
        if _mm512_movepi8_mask(input) == 0 {
            err = _mm512_or_si512(err, prev_incomplete);
        } else {
            err = _mm512_or_si512(err, block_errors512(&t, input, prev));
            prev_incomplete = _mm512_subs_epu8(input, t.max);
        }
        prev = input;
        i += 64;
        if i & 1023 == 0 && _mm512_test_epi8_mask(err, err) != 0 {
            return false;
        }
    }
    let rem = len - i;
    if rem > 0 {
        let m: __mmask64 = (1u64 << rem) - 1;
        let input = _mm512_maskz_loadu_epi8(m, p.add(i).cast());
        if _mm512_movepi8_mask(input) == 0 {
            err = _mm512_or_si512(err, prev_incomplete);
        } else {
            err = _mm512_or_si512(err, block_errors512(&t, input, prev));
            // Zero padding follows the real bytes, so a truncated sequence was already
            // caught as too short; the padded block cannot be incomplete.
            prev_incomplete = _mm512_setzero_si512();
        }
    }
    err = _mm512_or_si512(err, prev_incomplete);
    _mm512_test_epi8_mask(err, err) == 0
}

// ---------------------------------------------------------------------------------------
// AVX2
// ---------------------------------------------------------------------------------------

#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load_table256(t: &[u8; 64]) -> __m256i {
    // SAFETY: t holds 64 bytes; 32 are read.
    _mm256_loadu_si256(t.as_ptr().cast())
}

#[target_feature(enable = "avx2")]
#[inline]
unsafe fn block_errors256(tb: &[__m256i; 4], input: __m256i, prev: __m256i) -> __m256i {
    let [b1h, b1l, b2h, nib] = *tb;
    // [prev.hi, input.lo]: the input shifted up by one 128-bit lane.
    let shifted = _mm256_permute2x128_si256::<0x21>(prev, input);
    let prev1 = _mm256_alignr_epi8::<15>(input, shifted);
    let prev2 = _mm256_alignr_epi8::<14>(input, shifted);
    let prev3 = _mm256_alignr_epi8::<13>(input, shifted);
    let hi = |v: __m256i| _mm256_and_si256(_mm256_srli_epi16::<4>(v), nib);
    let sc = _mm256_and_si256(
        _mm256_and_si256(
            _mm256_shuffle_epi8(b1h, hi(prev1)),
            _mm256_shuffle_epi8(b1l, _mm256_and_si256(prev1, nib)),
        ),
        _mm256_shuffle_epi8(b2h, hi(input)),
    );
    let third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((0xe0u8 - 0x80) as i8));
    let fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((0xf0u8 - 0x80) as i8));
    let must23_80 = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8(-128));
    _mm256_xor_si256(must23_80, sc)
}

/// Whether `buf` is valid UTF-8.
///
/// # Safety
/// The CPU must support `avx2` (checked by `Isa::is_available`).
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn valid_avx2(buf: &[u8]) -> bool {
    let tb = [
        load_table256(&B1H),
        load_table256(&B1L),
        load_table256(&B2H),
        _mm256_set1_epi8(0x0f),
    ];
    // SAFETY: MAX32 is 32 bytes.
    let max = _mm256_loadu_si256(MAX32.as_ptr().cast());
    let p = buf.as_ptr();
    let len = buf.len();
    let mut prev = _mm256_setzero_si256();
    let mut prev_incomplete = _mm256_setzero_si256();
    let mut err = _mm256_setzero_si256();
    let mut i = 0usize;
    // SAFETY: `i + 32 <= len` bounds every load; the tail is copied to a zeroed array.
    while i + 32 <= len {
        let input = _mm256_loadu_si256(p.add(i).cast());
        if _mm256_movemask_epi8(input) == 0 {
            err = _mm256_or_si256(err, prev_incomplete);
        } else {
            err = _mm256_or_si256(err, block_errors256(&tb, input, prev));
            prev_incomplete = _mm256_subs_epu8(input, max);
        }
        prev = input;
        i += 32;
    }
    if i < len {
        let mut tail = [0u8; 32];
        tail[..len - i].copy_from_slice(&buf[i..]);
        let input = _mm256_loadu_si256(tail.as_ptr().cast());
        if _mm256_movemask_epi8(input) == 0 {
            err = _mm256_or_si256(err, prev_incomplete);
        } else {
            err = _mm256_or_si256(err, block_errors256(&tb, input, prev));
            prev_incomplete = _mm256_setzero_si256();
        }
    }
    err = _mm256_or_si256(err, prev_incomplete);
    _mm256_testz_si256(err, err) == 1
}

// ---------------------------------------------------------------------------------------
// Fused: unmask + move down + validate, one pass (AVX-512)
// ---------------------------------------------------------------------------------------

/// Unmasks `len` bytes at `src` with the (already rotated) key `k`, stores them at
/// `dst <= src`, and checks them as the continuation of the UTF-8 text
/// `buf[msg_start..dst]`, which must already have been validated (except for a sequence
/// left open at its end, which this call completes or rejects). With `last`, the text
/// must also end on a code point boundary. Returns whether no error was found.
///
/// Each 64-byte block is loaded once: XOR, store, and the lookup checks run on the
/// register. The 64 message bytes before `dst` supply the context of the first block,
/// so sequences split across fragments are checked exactly once, with their real
/// neighbours; in a non-final fragment, checks that would need bytes past the end are
/// left for the next fragment.
///
/// # Safety
/// The CPU must support `avx512f` and `avx512bw`; `msg_start <= dst <= src` and
/// `src + len <= buf.len()` (the safe wrapper asserts both).
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn unmask_move_validate_avx512(
    buf: &mut [u8],
    src: usize,
    dst: usize,
    len: usize,
    msg_start: usize,
    k: [u8; 4],
    last: bool,
) -> bool {
    let t = tables512();
    let have = dst - msg_start;
    let mut ctx = [0u8; 64];
    let take = have.min(64);
    ctx[64 - take..].copy_from_slice(&buf[dst - take..dst]);
    let mut prev = _mm512_loadu_si512(ctx.as_ptr().cast());
    let mut prev_incomplete = _mm512_subs_epu8(prev, t.max);
    let kv = _mm512_set1_epi32(i32::from_ne_bytes(k));
    let base = buf.as_mut_ptr();
    let (s, d) = (base.add(src), base.add(dst));
    let mut err = _mm512_setzero_si512();
    let mut i = 0usize;
    // SAFETY: loads stay in `src..src + len` and stores in `dst..dst + len`, both inside
    // `buf`. As `dst <= src`, a store never reaches source bytes not loaded yet.
    while i + 64 <= len {
        let input = _mm512_xor_si512(_mm512_loadu_si512(s.add(i).cast()), kv);
        _mm512_storeu_si512(d.add(i).cast(), input);
        if _mm512_movepi8_mask(input) == 0 {
            err = _mm512_or_si512(err, prev_incomplete);
        } else {
            err = _mm512_or_si512(err, block_errors512(&t, input, prev));
            prev_incomplete = _mm512_subs_epu8(input, t.max);
        }
        prev = input;
        i += 64;
    }
    let rem = len - i;
    if rem > 0 {
        let m: __mmask64 = (1u64 << rem) - 1;
        let input = _mm512_maskz_mov_epi8(
            m,
            _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, s.add(i).cast()), kv),
        );
        _mm512_mask_storeu_epi8(d.add(i).cast(), m, input);
        if _mm512_movepi8_mask(input) == 0 {
            err = _mm512_or_si512(err, prev_incomplete);
        } else {
            let e = block_errors512(&t, input, prev);
            // Past the real bytes sits zero padding: in the last fragment it exposes a
            // truncated sequence, elsewhere the next fragment supplies the real bytes.
            err = _mm512_or_si512(err, if last { e } else { _mm512_maskz_mov_epi8(m, e) });
        }
    } else if last {
        err = _mm512_or_si512(err, prev_incomplete);
    }
    _mm512_test_epi8_mask(err, err) == 0
}
