//! The one SIMD routine of the HTTP parser: find the first byte below a bound or equal to
//! DEL, 16 bytes per step with SSE2 (part of every x86_64 CPU, so no runtime detection).
//! Other architectures use the portable word-at-a-time scan in `parse.rs`; a test checks
//! both against a plain byte loop. Measured on request heads with long header values
//! (browser User-Agent and Cookie): the SSE2 scan is what brings the parser level with
//! httparse (see `benches/http_parse.rs`).

/// Scans the whole 16-byte blocks of `rest` for the first byte below `n` or equal to 0x7f:
/// `(index, true)` when found, else `(bytes scanned, false)` for a byte loop to finish.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn find_stop(rest: &[u8], n: u8) -> (usize, bool) {
    use std::arch::x86_64::{
        __m128i, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8,
        _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut at = 0;
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always available;
    // every load reads the 16 bytes at `at..at + 16`, inside `rest` by the loop condition,
    // and `_mm_loadu_si128` has no alignment requirement.
    unsafe {
        let bound = _mm_set1_epi8(n as i8);
        let del = _mm_set1_epi8(0x7f);
        while at + 16 <= rest.len() {
            let x = _mm_loadu_si128(rest.as_ptr().add(at) as *const __m128i);
            // Unsigned x >= n  <=>  max(x, n) == x; and x != DEL.
            let at_least = _mm_cmpeq_epi8(_mm_max_epu8(x, bound), x);
            let ok = _mm_andnot_si128(_mm_cmpeq_epi8(x, del), at_least);
            let mask = _mm_movemask_epi8(ok) as u32;
            if mask != 0xffff {
                return (at + (!mask).trailing_zeros() as usize, true);
            }
            at += 16;
        }
    }
    (at, false)
}
