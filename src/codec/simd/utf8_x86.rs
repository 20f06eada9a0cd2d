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

use super::x86::{any_high_256, any_high_512};

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

/// Largest byte value that does not start a sequence needing more bytes than remain in
/// the block, per position (only the last three positions are restricted).
const fn incomplete_max<const N: usize>() -> [u8; N] {
    let mut m = [0xffu8; N];
    m[N - 3] = 0b1111_0000 - 1;
    m[N - 2] = 0b1110_0000 - 1;
    m[N - 1] = 0b1100_0000 - 1;
    m
}

/// The lookup tables and constants of one vector width.
struct Tables<V> {
    b1h: V,
    b1l: V,
    b2h: V,
    nib: V,
    max: V,
}

/// What the block-by-block check carries from one block to the next.
struct State<V> {
    /// The previous block (the context of the next one's first three bytes).
    prev: V,
    /// Nonzero where the previous block ends inside a sequence (its last three bytes).
    incomplete: V,
    /// Accumulated error bits.
    err: V,
}

/// Generates, for one vector width and instruction set: `$tables` (load the tables),
/// `$errors` (error bits of one block given the previous one), `$absorb` (one block into
/// the [`State`]) and `$valid` (whether a whole buffer is valid UTF-8), all from one body.
/// The ISA-specific parts are the intrinsics passed in, `$shift_in` (the input shifted up
/// by one 128-bit lane with the previous block's last lane in front, as the byte
/// alignments work per lane) and `$load_tail` (the last partial block, zero-padded).
macro_rules! utf8_kernels {
    (
        feature $feat:literal, $v:ty, width $w:literal,
        fns $tables:ident, $errors:ident, $absorb:ident, $valid:ident,
        and $and:ident, or $or:ident, xor $xor:ident, srli $srli:ident,
        shuffle $shuffle:ident, subs $subs:ident, set1 $set1:ident, alignr $alignr:ident,
        zero $zero:ident, loadu $loadu:ident, any_high $any_high:ident,
        any_set $any_set:ident, shift_in $shift_in:ident, load_tail $load_tail:ident,
        words $valid_words:ident, from_words $from_words:ident $(,)?
    ) => {
        #[target_feature(enable = $feat)]
        #[inline]
        unsafe fn $tables() -> Tables<$v> {
            static MAX: [u8; $w] = incomplete_max::<$w>();
            // SAFETY: every table holds at least $w bytes.
            Tables {
                b1h: $loadu(B1H.as_ptr().cast()),
                b1l: $loadu(B1L.as_ptr().cast()),
                b2h: $loadu(B2H.as_ptr().cast()),
                nib: $set1(0x0f),
                max: $loadu(MAX.as_ptr().cast()),
            }
        }

        /// Error bits of one block given the previous block.
        #[target_feature(enable = $feat)]
        #[inline]
        fn $errors(t: &Tables<$v>, input: $v, prev: $v) -> $v {
            let shifted = $shift_in(input, prev);
            let prev1 = $alignr::<15>(input, shifted);
            let prev2 = $alignr::<14>(input, shifted);
            let prev3 = $alignr::<13>(input, shifted);
            let sc = $and(
                $and(
                    $shuffle(t.b1h, $and($srli::<4>(prev1), t.nib)),
                    $shuffle(t.b1l, $and(prev1, t.nib)),
                ),
                $shuffle(t.b2h, $and($srli::<4>(input), t.nib)),
            );
            let third = $subs(prev2, $set1((0xe0u8 - 0x80) as i8));
            let fourth = $subs(prev3, $set1((0xf0u8 - 0x80) as i8));
            let must23_80 = $and($or(third, fourth), $set1(-128));
            $xor(must23_80, sc)
        }

        /// Adds one block to `st`. An ASCII block only checks that the previous block did
        /// not end inside a sequence.
        #[target_feature(enable = $feat)]
        #[inline]
        fn $absorb(t: &Tables<$v>, st: &mut State<$v>, input: $v) {
            if !$any_high(input) {
                st.err = $or(st.err, st.incomplete);
            } else {
                st.err = $or(st.err, $errors(t, input, st.prev));
                st.incomplete = $subs(input, t.max);
            }
            st.prev = input;
        }

        /// Whether `buf` is valid UTF-8.
        ///
        /// # Safety
        /// The CPU must support the kernel's features (checked by `Isa::is_available`).
        #[target_feature(enable = $feat)]
        pub(crate) unsafe fn $valid(buf: &[u8]) -> bool {
            let t = $tables();
            let mut st = State {
                prev: $zero(),
                incomplete: $zero(),
                err: $zero(),
            };
            let p = buf.as_ptr();
            let len = buf.len();
            let mut i = 0usize;
            // SAFETY: `i + $w <= len` bounds every full load.
            while i + $w <= len {
                $absorb(&t, &mut st, $loadu(p.add(i).cast()));
                i += $w;
                if i & 1023 == 0 && $any_set(st.err) {
                    return false;
                }
            }
            if i < len {
                // SAFETY: `len - i` bytes remain at `p + i`.
                $absorb(&t, &mut st, $load_tail(p.add(i), len - i));
                // Zero padding follows the real bytes, so a truncated sequence was already
                // caught as too short; the padded block cannot be incomplete.
                st.incomplete = $zero();
            }
            !$any_set($or(st.err, st.incomplete))
        }

        /// Whether the text of at most 16 bytes held in `lo` (bytes 0-7) and `hi` (bytes
        /// 8-15, zero past the end) is valid UTF-8: one block built from the registers,
        /// zero-padded like a tail. A text just unmasked into memory by two 8-byte stores
        /// is checked without loading it back, which waited on the store forwarding.
        ///
        /// # Safety
        /// The CPU must support the kernel's features (checked by `Isa::is_available`).
        #[target_feature(enable = $feat)]
        pub(crate) unsafe fn $valid_words(lo: u64, hi: u64) -> bool {
            let t = $tables();
            let input = $from_words(lo, hi);
            !$any_set($errors(&t, input, $zero()))
        }
    };
}

// ---------------------------------------------------------------------------------------
// AVX-512 (F + BW)
// ---------------------------------------------------------------------------------------

utf8_kernels! {
    feature "avx512f,avx512bw", __m512i, width 64,
    fns tables512, errors512, absorb512, valid_avx512,
    and _mm512_and_si512, or _mm512_or_si512, xor _mm512_xor_si512,
    srli _mm512_srli_epi16, shuffle _mm512_shuffle_epi8, subs _mm512_subs_epu8,
    set1 _mm512_set1_epi8, alignr _mm512_alignr_epi8, zero _mm512_setzero_si512,
    loadu _mm512_loadu_si512, any_high any_high_512, any_set any_set512,
    shift_in shift_in512, load_tail load_tail512,
    words valid_words_avx512, from_words from_words512,
}

/// Bytes 0-15 from two words, the rest zero.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn from_words512(lo: u64, hi: u64) -> __m512i {
    _mm512_zextsi128_si512(_mm_set_epi64x(hi as i64, lo as i64))
}

#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn any_set512(v: __m512i) -> bool {
    _mm512_test_epi8_mask(v, v) != 0
}

/// Qwords [prev.6, prev.7, in.0 .. in.5] (indices >= 8 pick from `prev`).
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn shift_in512(input: __m512i, prev: __m512i) -> __m512i {
    _mm512_permutex2var_epi64(input, _mm512_set_epi64(5, 4, 3, 2, 1, 0, 15, 14), prev)
}

/// # Safety
/// `n < 64` bytes readable at `p`; masked-off lanes are not read and come back as zero.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn load_tail512(p: *const u8, n: usize) -> __m512i {
    _mm512_maskz_loadu_epi8((1u64 << n) - 1, p.cast())
}

// ---------------------------------------------------------------------------------------
// AVX2
// ---------------------------------------------------------------------------------------

utf8_kernels! {
    feature "avx2", __m256i, width 32,
    fns tables256, errors256, absorb256, valid_avx2,
    and _mm256_and_si256, or _mm256_or_si256, xor _mm256_xor_si256,
    srli _mm256_srli_epi16, shuffle _mm256_shuffle_epi8, subs _mm256_subs_epu8,
    set1 _mm256_set1_epi8, alignr _mm256_alignr_epi8, zero _mm256_setzero_si256,
    loadu _mm256_loadu_si256, any_high any_high_256, any_set any_set256,
    shift_in shift_in256, load_tail load_tail256,
    words valid_words_avx2, from_words from_words256,
}

/// Bytes 0-15 from two words, the rest zero.
#[target_feature(enable = "avx2")]
#[inline]
fn from_words256(lo: u64, hi: u64) -> __m256i {
    _mm256_zextsi128_si256(_mm_set_epi64x(hi as i64, lo as i64))
}

#[target_feature(enable = "avx2")]
#[inline]
fn any_set256(v: __m256i) -> bool {
    _mm256_testz_si256(v, v) == 0
}

/// [prev.hi, input.lo].
#[target_feature(enable = "avx2")]
#[inline]
fn shift_in256(input: __m256i, prev: __m256i) -> __m256i {
    _mm256_permute2x128_si256::<0x21>(prev, input)
}

/// # Safety
/// `n < 32` bytes readable at `p`; copied to a zeroed block.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load_tail256(p: *const u8, n: usize) -> __m256i {
    let mut tail = [0u8; 32];
    core::ptr::copy_nonoverlapping(p, tail.as_mut_ptr(), n);
    _mm256_loadu_si256(tail.as_ptr().cast())
}

// ---------------------------------------------------------------------------------------
// Fused: unmask + move down + validate, one pass (AVX-512)
// ---------------------------------------------------------------------------------------

/// Unmasks `span.len` bytes at `span.src` with the (already rotated) key `k`, stores
/// them at `span.dst <= span.src`, and checks them as the continuation of the UTF-8 text
/// `buf[span.msg_start..span.dst]`, which must already have been validated (except for a
/// sequence left open at its end, which this call completes or rejects). With `last`,
/// the text must also end on a code point boundary. Returns whether no error was found.
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
    span: super::Span,
    k: [u8; 4],
    last: bool,
) -> bool {
    let super::Span {
        src,
        dst,
        len,
        msg_start,
    } = span;
    let t = tables512();
    let have = dst - msg_start;
    let mut ctx = [0u8; 64];
    let take = have.min(64);
    ctx[64 - take..].copy_from_slice(&buf[dst - take..dst]);
    let prev = _mm512_loadu_si512(ctx.as_ptr().cast());
    let mut st = State {
        prev,
        incomplete: _mm512_subs_epu8(prev, t.max),
        err: _mm512_setzero_si512(),
    };
    let kv = _mm512_set1_epi32(i32::from_ne_bytes(k));
    let base = buf.as_mut_ptr();
    let (s, d) = (base.add(src), base.add(dst));
    let mut i = 0usize;
    // SAFETY: loads stay in `src..src + len` and stores in `dst..dst + len`, both inside
    // `buf`. As `dst <= src`, a store never reaches source bytes not loaded yet.
    while i + 64 <= len {
        let input = _mm512_xor_si512(_mm512_loadu_si512(s.add(i).cast()), kv);
        _mm512_storeu_si512(d.add(i).cast(), input);
        absorb512(&t, &mut st, input);
        i += 64;
    }
    let rem = len - i;
    if rem > 0 {
        let m: __mmask64 = (1u64 << rem) - 1;
        let input = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(load_tail512(s.add(i), rem), kv));
        _mm512_mask_storeu_epi8(d.add(i).cast(), m, input);
        if !any_high_512(input) {
            st.err = _mm512_or_si512(st.err, st.incomplete);
        } else {
            let e = errors512(&t, input, st.prev);
            // Past the real bytes sits zero padding: in the last fragment it exposes a
            // truncated sequence, elsewhere the next fragment supplies the real bytes.
            st.err = _mm512_or_si512(st.err, if last { e } else { _mm512_maskz_mov_epi8(m, e) });
        }
    } else if last {
        st.err = _mm512_or_si512(st.err, st.incomplete);
    }
    !any_set512(st.err)
}
