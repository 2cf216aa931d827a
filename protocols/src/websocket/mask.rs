//! Unmasking (and masking: the operation is its own inverse) of frame payloads in place.
//!
//! [`apply_mask`] XORs eight bytes at a time with the key repeated into a `u64` (safe code
//! that the compiler vectorises); [`apply_mask_bytewise`] is the one-byte-at-a-time reference
//! the tests compare it against and the bench measures it beside.

/// XORs `buf` with `key`, as if `buf` started at byte `offset` of the payload (so a payload
/// unmasked in several pieces gives the same result as in one).
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    // Head: until the slice is 8-byte aligned, so the word loop reads aligned memory.
    let head = buf.as_ptr().align_offset(8).min(buf.len());
    let (front, rest) = buf.split_at_mut(head);
    for (i, b) in front.iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
    let key = rotate(key, head);
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = rest.chunks_exact_mut(32);
    for chunk in &mut chunks {
        // Four independent words per step: the optimiser turns this into vector XORs.
        for lane in chunk.chunks_exact_mut(8) {
            let v = u64::from_ne_bytes(lane.try_into().unwrap()) ^ word;
            lane.copy_from_slice(&v.to_ne_bytes());
        }
    }
    let tail = chunks.into_remainder();
    let mut words = tail.chunks_exact_mut(8);
    for lane in &mut words {
        let v = u64::from_ne_bytes(lane.try_into().unwrap()) ^ word;
        lane.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// The reference implementation: one byte at a time.
pub fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) & 3];
    }
}

/// The key as seen from payload byte `offset`.
#[inline]
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let r = offset & 3;
    [key[r], key[(r + 1) & 3], key[(r + 2) & 3], key[(r + 3) & 3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_mask_matches_bytewise_for_every_length_alignment_and_offset() {
        let key = [0x12, 0x9a, 0xff, 0x01];
        let src: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..9 {
            for len in 0..(src.len() - start) {
                for offset in 0..4 {
                    let mut a = src.clone();
                    let mut b = src.clone();
                    apply_mask(&mut a[start..start + len], key, offset);
                    apply_mask_bytewise(&mut b[start..start + len], key, offset);
                    assert_eq!(a, b, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn masking_in_pieces_equals_masking_at_once() {
        let key = [1, 2, 3, 4];
        let src: Vec<u8> = (0..100u8).collect();
        let mut whole = src.clone();
        apply_mask(&mut whole, key, 0);
        for split in 0..src.len() {
            let mut parts = src.clone();
            let (a, b) = parts.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split);
            assert_eq!(parts, whole);
        }
    }
}
