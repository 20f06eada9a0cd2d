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
//! Selection happens once per process ([`dispatch`]) from a table of CPU kinds
//! ([`preferred_order`]): per family (masking, UTF-8), the kernel set measured fastest on
//! that kind, not the widest one;
//! NEON on aarch64; a portable 8-bytes-at-a-time loop elsewhere. `WSSPEC_ISA=<name>` (see
//! [`Isa::name`]) overrides the table for a process, for comparing kernels on a new CPU.
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
    /// x86 AVX-512 F+BW+VL at 256-bit width: 32 bytes per step, masked short buffers, for
    /// CPUs where 512-bit operations cost more than twice the 256-bit ones.
    Avx512Vl,
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
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx512Vl => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vl")
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
            Isa::Avx512Vl => 6,
        }
    }

    /// Short lower-case name, as used in benchmark function names (`wsspec_<name>`) and by
    /// the `WSSPEC_ISA` override: `scalar` (the portable loop), `sse2`, `avx2`, `avx512`,
    /// `avx512vl`, `neon`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "scalar",
            Isa::Sse2 => "sse2",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
            Isa::Avx512Vl => "avx512vl",
        }
    }

    /// The kernel set called `name` (see [`Isa::name`]).
    pub fn from_name(name: &str) -> Option<Isa> {
        ALL.into_iter().find(|i| i.name() == name)
    }

    fn from_code(c: u8) -> Isa {
        match c {
            2 => Isa::Sse2,
            3 => Isa::Avx2,
            4 => Isa::Avx512,
            5 => Isa::Neon,
            6 => Isa::Avx512Vl,
            _ => Isa::Portable,
        }
    }
}

const ALL: [Isa; 6] = [
    Isa::Portable,
    Isa::Sse2,
    Isa::Neon,
    Isa::Avx2,
    Isa::Avx512Vl,
    Isa::Avx512,
];

/// Every kernel set this CPU can run, narrowest first (for tests and benchmarks).
pub fn available_isas() -> Vec<Isa> {
    ALL.into_iter().filter(|i| i.is_available()).collect()
}

/// The kernel sets in use, packed: masking in the low nibble, UTF-8 in the high one
/// ([`Isa::code`]); 0 until the first call chose them.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// Which kernel set each family of kernels uses. Masking and UTF-8 validation are chosen
/// separately: a wide vector can lose on a plain in-place XOR (bound by cache-line
/// traffic, and by what 512-bit stores cost on the part) while winning on the lookup-heavy
/// UTF-8 check. The fused unmask + UTF-8 kernel of fragmented text counts as UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatch {
    /// Kernel set of [`apply_mask`] and [`apply_mask_ascii`].
    pub mask: Isa,
    /// Kernel set of [`utf8_valid`] and of the fused unmask + validate pass.
    pub utf8: Isa,
}

impl Dispatch {
    fn pack(self) -> u8 {
        self.mask.code() | (self.utf8.code() << 4)
    }

    fn unpack(c: u8) -> Dispatch {
        Dispatch {
            mask: Isa::from_code(c & 0x0f),
            utf8: Isa::from_code(c >> 4),
        }
    }
}

/// The kernel sets in use, chosen once per process: per family, the first available
/// entry of its [`preferred_order`] for this CPU, unless overridden by the environment:
/// `WSSPEC_ISA=<name>` (see [`Isa::name`]) for both families, `WSSPEC_MASK_ISA` /
/// `WSSPEC_UTF8_ISA` for one (an unavailable or unknown name is ignored).
#[inline]
pub fn dispatch() -> Dispatch {
    match CHOSEN.load(Ordering::Relaxed) {
        0 => choose(),
        c => Dispatch::unpack(c),
    }
}

/// The first call's choice for [`dispatch`], out of line: with the environment lookups
/// inlined, `dispatch` itself was not inlined into the per-frame paths and cost a call
/// with a large prologue per kernel call (visible in a profile of `tiny_16b_utf8`).
#[cold]
#[inline(never)]
fn choose() -> Dispatch {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|n| Isa::from_name(n.trim()))
            .filter(|i| i.is_available())
    };
    let first = |order: &[Isa]| {
        order
            .iter()
            .copied()
            .find(|i| i.is_available())
            .unwrap_or(Isa::Portable)
    };
    let orders = preferred_order(&cpu_kind());
    let both = env("WSSPEC_ISA");
    let d = Dispatch {
        mask: env("WSSPEC_MASK_ISA")
            .or(both)
            .unwrap_or_else(|| first(orders.mask)),
        utf8: env("WSSPEC_UTF8_ISA")
            .or(both)
            .unwrap_or_else(|| first(orders.utf8)),
    };
    CHOSEN.store(d.pack(), Ordering::Relaxed);
    d
}

/// The masking kernel set in use ([`Dispatch::mask`]), as [`force_isa`] sets it.
#[inline]
pub fn best_isa() -> Isa {
    dispatch().mask
}

/// The UTF-8 kernel set in use ([`Dispatch::utf8`]).
#[inline]
pub fn utf8_isa() -> Isa {
    dispatch().utf8
}

/// The CPU kind the dispatch table is keyed on: vendor and family (CPUID leaf 0/1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuKind {
    /// CPUID vendor string, e.g. `GenuineIntel`, `AuthenticAMD`; empty off x86.
    pub vendor: String,
    /// Display family (base family + extended family), e.g. 6 for Intel cores, 0x19 for
    /// AMD Zen 3/4, 0x1A for Zen 5.
    pub family: u32,
    /// Display model (extended model folded in).
    pub model: u32,
}

/// This CPU's vendor, family and model.
pub fn cpu_kind() -> CpuKind {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::__cpuid;
        // SAFETY: CPUID leaves 0 and 1 exist on every x86_64 CPU (newer Rust calls
        // `__cpuid` safe, hence the allow).
        #[allow(unused_unsafe)]
        let (l0, l1) = unsafe { (__cpuid(0), __cpuid(1)) };
        let mut v = Vec::with_capacity(12);
        for r in [l0.ebx, l0.edx, l0.ecx] {
            v.extend_from_slice(&r.to_le_bytes());
        }
        let base_family = (l1.eax >> 8) & 0xf;
        let family = if base_family == 0xf {
            base_family + ((l1.eax >> 20) & 0xff)
        } else {
            base_family
        };
        let mut model = (l1.eax >> 4) & 0xf;
        if base_family == 0x6 || base_family == 0xf {
            model |= ((l1.eax >> 16) & 0xf) << 4;
        }
        CpuKind {
            vendor: String::from_utf8_lossy(&v).into_owned(),
            family,
            model,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        CpuKind {
            vendor: String::new(),
            family: 0,
            model: 0,
        }
    }
}

/// Kernel sets in order of preference for one CPU kind, per family of kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orders {
    /// For masking ([`Dispatch::mask`]).
    pub mask: &'static [Isa],
    /// For UTF-8 validation ([`Dispatch::utf8`]).
    pub utf8: &'static [Isa],
}

/// Kernel sets in order of preference for a CPU kind, masking and UTF-8 each by its own
/// measurement: masking by `unmask_1m`, `medium_1k` and `large_1m`, UTF-8 by
/// `tiny_16b_utf8` and `fragmented_64k` of `benches/frame_parse.rs`, whose
/// `wsspec_<isa>` functions show every set side by side in one run
/// (`scripts/bench_ratios.py` names the fastest per group). [`dispatch`] takes the first
/// set of each order the CPU can run. A kind nobody has measured gets the widest set.
pub fn preferred_order(cpu: &CpuKind) -> Orders {
    const WIDEST: &[Isa] = &[Isa::Avx512, Isa::Avx2, Isa::Sse2, Isa::Neon, Isa::Portable];
    const HALF_WIDTH: &[Isa] = &[
        Isa::Avx512Vl,
        Isa::Avx2,
        Isa::Sse2,
        Isa::Neon,
        Isa::Portable,
    ];
    const WIDEST_BOTH: Orders = Orders {
        mask: WIDEST,
        utf8: WIDEST,
    };
    match (cpu.vendor.as_str(), cpu.family) {
        // Zen 5 (family 0x1A), README run: the AVX-512 kernel at 92-105% of a read-only
        // pass, 1.6x tungstenite's; its fused unmask+UTF-8 kernel makes tiny_16b_utf8.
        ("AuthenticAMD", f) if f >= 0x1a => WIDEST_BOTH,
        // Zen 3 / Zen 4 (family 0x19; only Zen 4 has AVX-512, as two 256-bit halves).
        // Measured on an EPYC Zen 4 (model 17), 2 vCPUs under KVM, shared machine,
        // interleaved rounds, time relative to the dispatched AVX-512 path: masking with
        // AVX-512VL / AVX2 at 0.98 on unmask_1m and 0.93 on medium_1k (AVX-512 1.00 /
        // 1.01, SSE2 and portable 1.6 / 1.25), within noise on large_1m; UTF-8 with
        // AVX-512 ahead of AVX2 / AVX-512VL by 1.06x on tiny_16b_utf8 and 1.35x on
        // fragmented_64k (fused kernel), of simdutf8 (SSE2, portable) by 1.5-1.7x.
        ("AuthenticAMD", _) => Orders {
            mask: HALF_WIDTH,
            utf8: WIDEST,
        },
        // Intel cores with AVX-512 (measured on a KVM Xeon reporting family 6 model 167,
        // AVX-512 up to FP16, 2 MiB L2 per core; interleaved rounds, fastest pass per
        // slot). Masking: in two quiet full runs the 512-bit kernel took 18.8 µs per MiB
        // on unmask_1m against 16.2-16.5 µs for the AVX-512VL, AVX2, SSE2 and portable
        // ones (the in-place pass is bound by L1<->L2 line traffic there, so width buys
        // nothing and 512-bit stores cost), hence a 256-bit kernel. UTF-8: the AVX-512
        // set led AVX2 / AVX-512VL by 1.04-1.6x on tiny_16b_utf8 and fragmented_64k
        // (fused unmask + validation), and SSE2 by 2.5x.
        ("GenuineIntel", _) => Orders {
            mask: HALF_WIDTH,
            utf8: WIDEST,
        },
        _ => WIDEST_BOTH,
    }
}

/// Makes every dispatching entry point use `isa` for masking and for UTF-8 from now on,
/// for tests and benchmarks that exercise each kernel set through the public API. All
/// kernel sets compute identical results, so other threads are only moved to another code
/// path. Returns false, changing nothing, when this CPU cannot run `isa`.
pub fn force_isa(isa: Isa) -> bool {
    force_dispatch(Dispatch {
        mask: isa,
        utf8: isa,
    })
}

/// [`force_isa`] with a set per family, e.g. to restore what [`dispatch`] returned
/// before. Returns false, changing nothing, unless this CPU can run both.
pub fn force_dispatch(d: Dispatch) -> bool {
    if !d.mask.is_available() || !d.utf8.is_available() {
        return false;
    }
    CHOSEN.store(d.pack(), Ordering::Relaxed);
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
    mask_short_inline::<false>(buf, key, offset, dispatch_best::<false>);
}

/// Appends `src` masked with `key` (applying from payload byte 0) to `out`: the send path's
/// copy and mask in one. A payload of 8 to 16 bytes goes in as two masked 8-byte words
/// (the second overlapping the first where shorter than 16 bytes: `truncate` steps back
/// over the overlap, whose bytes both words hold alike), so no variable-length copy is
/// called and the masking never re-reads bytes just stored; other payloads are masked in
/// place after the copy.
#[inline(always)]
pub fn extend_masked(out: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    let start = out.len();
    let n = src.len();
    if (8..=16).contains(&n) {
        let (a, b) = portable::masked_words(src, key);
        out.extend_from_slice(&a.to_le_bytes());
        out.truncate(start + n - 8);
        out.extend_from_slice(&b.to_le_bytes());
    } else {
        out.extend_from_slice(src);
        apply_mask(&mut out[start..], key, 0);
    }
}

/// [`apply_mask`] that also returns whether all unmasked bytes are ASCII (< 0x80).
#[inline(always)]
pub fn apply_mask_ascii(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    mask_short_inline::<true>(buf, key, offset, dispatch_best::<true>)
}

/// The one rule of every masking entry point: the key rotated to `offset`, short buffers
/// on the inline portable words, longer ones to `long` (a kernel of the set in use).
#[inline(always)]
fn mask_short_inline<const ASCII: bool>(
    buf: &mut [u8],
    key: [u8; 4],
    offset: usize,
    long: impl FnOnce(&mut [u8], [u8; 4]) -> bool,
) -> bool {
    let k = rotate_key(key, offset);
    if buf.len() <= INLINE_MAX {
        portable::xor_short::<ASCII>(buf, k)
    } else {
        long(buf, k)
    }
}

/// A masking kernel taking an already rotated key (see [`rotate_key`]).
type KernelFn = unsafe fn(&mut [u8], [u8; 4]) -> bool;

/// The masking kernels in use, looked up once for a whole batch of frames: the per-frame
/// call then goes straight to the kernel instead of through the dispatch (an atomic load,
/// a jump table and a second call), which was a measurable share of a 1 KiB frame's cost.
#[derive(Clone, Copy)]
pub(crate) struct Masker {
    plain: KernelFn,
    ascii: KernelFn,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Masker")
    }
}

impl Masker {
    /// The kernels of the masking set [`dispatch`] chooses now.
    #[inline]
    pub(crate) fn current() -> Masker {
        Masker::for_isa(best_isa())
    }

    /// The kernels of `isa`: the one table from kernel sets to masking kernels. Callers
    /// have checked availability (or got `isa` from [`dispatch`], which only returns
    /// available sets).
    fn for_isa(isa: Isa) -> Masker {
        fn pick<const ASCII: bool>(isa: Isa) -> KernelFn {
            match isa {
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Isa::Avx512 => x86::xor_avx512::<ASCII>,
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Isa::Avx512Vl => x86::xor_avx512vl::<ASCII>,
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Isa::Avx2 => x86::xor_avx2::<ASCII>,
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Isa::Sse2 => x86::xor_sse2::<ASCII>,
                #[cfg(target_arch = "aarch64")]
                Isa::Neon => neon::xor_neon::<ASCII>,
                _ => portable_kernel::<ASCII>,
            }
        }
        Masker {
            plain: pick::<false>(isa),
            ascii: pick::<true>(isa),
        }
    }

    /// The kernel itself over `buf` of any length, `k` already rotated.
    #[inline(always)]
    fn kernel<const ASCII: bool>(self, buf: &mut [u8], k: [u8; 4]) -> bool {
        let f = if ASCII { self.ascii } else { self.plain };
        // SAFETY: `for_isa` only hands out kernels of a set `dispatch` chose or its
        // callers checked, i.e. one this CPU can run.
        unsafe { f(buf, k) }
    }

    /// [`apply_mask`] with these kernels.
    #[inline(always)]
    pub(crate) fn apply(self, buf: &mut [u8], key: [u8; 4], offset: usize) {
        mask_short_inline::<false>(buf, key, offset, |b, k| self.kernel::<false>(b, k));
    }

    /// [`apply_mask_ascii`] with these kernels.
    #[inline(always)]
    pub(crate) fn apply_ascii(self, buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
        mask_short_inline::<true>(buf, key, offset, |b, k| self.kernel::<true>(b, k))
    }

    /// Unmasks a text payload in place and answers whether it is valid UTF-8 (yes/no, as
    /// [`utf8_valid`]). Texts of 8 to 16 bytes (chat messages, small JSON) are unmasked as
    /// two words and, unless ASCII, validated from those registers
    /// ([`utf8_valid_words`]): loading them back right after their two 8-byte stores
    /// stalled on store forwarding and cost more than the rest of such a message.
    #[inline(always)]
    pub(crate) fn unmask_valid_text(self, buf: &mut [u8], key: [u8; 4]) -> bool {
        let n = buf.len();
        if (8..=16).contains(&n) {
            let (a, b) = portable::masked_words(buf, key);
            portable::put_words(buf, a, b);
            if (a | b) & 0x8080_8080_8080_8080 == 0 {
                return true;
            }
            // Bytes 8..n are the top n - 8 bytes of the last word (none when n == 8).
            let hi = b.checked_shr(8 * (16 - n) as u32).unwrap_or(0);
            return utf8_valid_words(a, hi);
        }
        self.apply_ascii(buf, key, 0) || utf8_valid(buf)
    }
}

/// Whether the text of at most 16 bytes held in `lo` (bytes 0-7) and `hi` (bytes 8-15,
/// zero past its end) is valid UTF-8, with the UTF-8 kernel set in use.
#[inline]
fn utf8_valid_words(lo: u64, hi: u64) -> bool {
    match utf8_isa() {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: `utf8_isa` only returns available sets.
        Isa::Avx512 => unsafe { utf8_x86::valid_words_avx512(lo, hi) },
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: as above (AVX-512VL implies AVX2 here: `is_available` checks both).
        Isa::Avx2 | Isa::Avx512Vl => unsafe { utf8_x86::valid_words_avx2(lo, hi) },
        _ => {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&lo.to_le_bytes());
            b[8..].copy_from_slice(&hi.to_le_bytes());
            // Zero padding is ASCII and ends no sequence, so a cut one still fails.
            simdutf8::basic::from_utf8(&b).is_ok()
        }
    }
}

/// The portable loop with the kernels' signature.
///
/// # Safety
/// None needed; `unsafe` only to share [`KernelFn`].
unsafe fn portable_kernel<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    portable::xor::<ASCII>(buf, k)
}

/// The out-of-line part of the entry points: long buffers go to the chosen kernel.
#[inline(never)]
fn dispatch_best<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    Masker::current().kernel::<ASCII>(buf, k)
}

/// [`apply_mask`] with a chosen kernel set, its kernel at every length (short buffers
/// included, so tests reach each set's short path). Returns false, leaving `buf`
/// untouched, when this CPU cannot run it. For property tests and benchmarks.
pub fn apply_mask_with(isa: Isa, buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    if !isa.is_available() {
        return false;
    }
    Masker::for_isa(isa).kernel::<false>(buf, rotate_key(key, offset));
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
    Some(Masker::for_isa(isa).kernel::<true>(buf, rotate_key(key, offset)))
}

/// Whether `buf` is entirely valid UTF-8, with the best kernel: AVX-512 or AVX2 lookup
/// kernels on x86, simdutf8 (SSE4.2, NEON or its scalar code) elsewhere. Yes/no only; see
/// [`crate::codec::utf8::Utf8Validator`] for exact error offsets.
#[inline]
pub fn utf8_valid(buf: &[u8]) -> bool {
    utf8_dispatch(utf8_isa(), buf)
}

/// Runs the UTF-8 kernel for `isa`, which the caller knows to be available.
#[inline]
fn utf8_dispatch(isa: Isa, buf: &[u8]) -> bool {
    match isa {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: `isa` comes from `dispatch` or was checked by `Isa::is_available`.
        Isa::Avx512 => unsafe { utf8_x86::valid_avx512(buf) },
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: as above (AVX-512VL implies AVX2 here: `is_available` checks both).
        Isa::Avx2 | Isa::Avx512Vl => unsafe { utf8_x86::valid_avx2(buf) },
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
    let span = Span {
        src,
        dst,
        len,
        msg_start,
    };
    isa.is_available()
        .then(|| fused(isa, buf, span, key, last))
        .flatten()
}

/// Where a fused pass reads, writes and finds its context (see
/// [`unmask_move_validate_with`]): payload `buf[src..src + len]`, moved to `dst`, the
/// message starting at `msg_start`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub(crate) src: usize,
    pub(crate) dst: usize,
    pub(crate) len: usize,
    pub(crate) msg_start: usize,
}

/// [`unmask_move_validate_with`] for the UTF-8 kernel set in use ([`Dispatch::utf8`]),
/// with the key applying from payload offset 0.
#[inline]
pub(crate) fn unmask_move_validate(
    buf: &mut [u8],
    span: Span,
    key: [u8; 4],
    last: bool,
) -> Option<bool> {
    fused(utf8_isa(), buf, span, key, last)
}

/// The fused kernel of an available `isa`, if it has one.
#[inline]
fn fused(isa: Isa, buf: &mut [u8], span: Span, key: [u8; 4], last: bool) -> Option<bool> {
    let Span {
        src,
        dst,
        len,
        msg_start,
    } = span;
    assert!(msg_start <= dst && dst <= src && src.checked_add(len).is_some_and(|e| e <= buf.len()));
    match isa {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: `isa` is available (checked by the callers: `dispatch` only returns
        // available sets), and the bounds are asserted above.
        Isa::Avx512 => Some(unsafe { utf8_x86::unmask_move_validate_avx512(buf, span, key, last) }),
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

    /// The first and the last 8 bytes of `src` (8 to 16 bytes, overlapping below 16) XORed
    /// with the key as it applies at their offsets.
    #[inline(always)]
    pub(crate) fn masked_words(src: &[u8], k: [u8; 4]) -> (u64, u64) {
        let k8 = (u32::from_le_bytes(k) as u64) * 0x1_0000_0001;
        let tail = src.len() - 8;
        let a = u64::from_le_bytes(src[..8].try_into().expect("8 to 16 bytes")) ^ k8;
        let b = u64::from_le_bytes(src[tail..].try_into().expect("8 to 16 bytes"))
            ^ k8.rotate_right(8 * (tail as u32 & 3));
        (a, b)
    }

    /// Stores the words of [`masked_words`]; where they overlap both hold the same bytes.
    #[inline(always)]
    pub(crate) fn put_words(dst: &mut [u8], a: u64, b: u64) {
        let tail = dst.len() - 8;
        dst[tail..].copy_from_slice(&b.to_le_bytes());
        dst[..8].copy_from_slice(&a.to_le_bytes());
    }

    /// [`xor`] for the inline entry points (at most 32 bytes): 8 to 16 bytes as two 8-byte
    /// words without a loop, one at the start and one at the end (overlapping below 16),
    /// both loaded before either is stored, so overlapping bytes are computed from the same
    /// input by both and stored twice with the same value; the second word's key is the
    /// rotated key turned to its offset. Other lengths take [`xor`]'s loop (a 16-byte word
    /// for 17-32 bytes measured slower: a `u128` rotation is not one instruction).
    #[inline(always)]
    pub(crate) fn xor_short<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
        let n = buf.len();
        if !(8..=16).contains(&n) {
            return xor::<ASCII>(buf, k);
        }
        let (a, b) = masked_words(buf, k);
        put_words(buf, a, b);
        !ASCII || (a | b) & 0x8080_8080_8080_8080 == 0
    }
}
