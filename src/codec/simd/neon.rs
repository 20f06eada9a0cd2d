//! aarch64 NEON masking kernel. Same contract as the x86 kernels: XOR with an already
//! rotated key, optionally reporting whether every result byte is ASCII.

use core::arch::aarch64::*;

use super::portable;

/// NEON kernel: 4 x 16 bytes per step, then 16, then the portable loop for < 16 bytes.
///
/// # Safety
/// The CPU must support `neon` (checked by `Isa::is_available`; baseline on aarch64).
#[target_feature(enable = "neon")]
pub(crate) unsafe fn xor_neon<const ASCII: bool>(buf: &mut [u8], k: [u8; 4]) -> bool {
    let len = buf.len();
    let p = buf.as_mut_ptr();
    let kv = vreinterpretq_u8_u32(vdupq_n_u32(u32::from_ne_bytes(k)));
    let mut acc = vdupq_n_u8(0);
    let mut i = 0usize;
    // SAFETY: `i + 64 <= len` / `i + 16 <= len` keep every access inside `buf`; vld1q/vst1q
    // have no alignment requirement beyond u8.
    while i + 64 <= len {
        let q = p.add(i);
        let a = veorq_u8(vld1q_u8(q), kv);
        let b = veorq_u8(vld1q_u8(q.add(16)), kv);
        let c = veorq_u8(vld1q_u8(q.add(32)), kv);
        let d = veorq_u8(vld1q_u8(q.add(48)), kv);
        vst1q_u8(q, a);
        vst1q_u8(q.add(16), b);
        vst1q_u8(q.add(32), c);
        vst1q_u8(q.add(48), d);
        if ASCII {
            acc = vorrq_u8(acc, vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d)));
        }
        i += 64;
    }
    while i + 16 <= len {
        let q = p.add(i);
        let a = veorq_u8(vld1q_u8(q), kv);
        vst1q_u8(q, a);
        if ASCII {
            acc = vorrq_u8(acc, a);
        }
        i += 16;
    }
    let tail_ascii = portable::xor::<ASCII>(&mut buf[i..], k);
    !ASCII || (vmaxvq_u8(acc) < 0x80 && tail_ascii)
}
