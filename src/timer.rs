//! A hierarchical timing wheel: O(1) insert and cancel, millisecond resolution.
//!
//! Six levels of 64 slots; level `L` slots are `64^L` ms wide, so the wheel spans 64^6 ms
//! (about 2.2 years). A timer lives in the level given by the highest bit in which its
//! deadline differs from the wheel's current time, so every timer in a lower level expires
//! before any in a higher one. Each level keeps a 64-bit occupancy mask, which makes "when is
//! the next deadline" a few `trailing_zeros`, and lets the reactor sleep exactly until then
//! (no periodic tick: an idle reactor with 19,000 idle timeouts does no work until one is due).
//!
//! Entries sit in a slab and are linked into their slot's doubly linked list, so cancelling is
//! an unlink. Expired slots of higher levels cascade their entries down as time advances.
//!
//! This module owns only the data structure; it must not know about connections.

use slab::Slab;

pub(crate) const LEVELS: usize = 6;
pub(crate) const SLOT_BITS: u32 = 6;
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
const NIL: u32 = u32::MAX;
/// `place` of an entry due when inserted, waiting on the expired list.
const EXPIRED: u16 = u16::MAX;
/// `place` of an entry handed out by [`Wheel::advance`] and not yet taken.
const DETACHED: u16 = u16::MAX - 1;

/// A key to an entry of the wheel.
pub(crate) type Key = u32;

struct Entry<T> {
    when: u64,
    gen: u32,
    prev: u32,
    next: u32,
    /// (level, slot) this entry is linked into, [`EXPIRED`] or [`DETACHED`].
    place: u16,
    value: T,
}

pub(crate) struct Wheel<T> {
    entries: Slab<Entry<T>>,
    heads: [[u32; SLOTS]; LEVELS],
    occupied: [u64; LEVELS],
    /// Entries due at or before `elapsed` when they were inserted.
    expired: Vec<u32>,
    /// Current time of the wheel, in ms since its start.
    elapsed: u64,
    next_gen: u32,
    /// When [`advance`](Self::advance) next looks at giving storage back.
    trim_at: u64,
}

/// Entries' storage above which a mostly empty wheel gives memory back: a burst of timers
/// (19,000 handshakes at once) must not leave 48 bytes per connection behind for good.
const TRIM_MIN: usize = 1024;

impl<T> Wheel<T> {
    pub(crate) fn new() -> Wheel<T> {
        Wheel {
            entries: Slab::new(),
            heads: [[NIL; SLOTS]; LEVELS],
            occupied: [0; LEVELS],
            expired: Vec::new(),
            elapsed: 0,
            next_gen: 1,
            trim_at: 0,
        }
    }

    /// Number of pending timers.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Inserts `value`, due at `when` (ms since the wheel's start). Returns key and generation.
    pub(crate) fn insert(&mut self, when: u64, value: T) -> (Key, u32) {
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        let key = self.entries.insert(Entry {
            when,
            gen,
            prev: NIL,
            next: NIL,
            place: EXPIRED,
            value,
        }) as u32;
        self.link(key);
        (key, gen)
    }

    /// Removes the entry `key` if it is still the one of generation `gen`.
    pub(crate) fn remove(&mut self, key: Key, gen: u32) -> Option<T> {
        match self.entries.get(key as usize) {
            Some(e) if e.gen == gen => {}
            _ => return None,
        }
        self.unlink(key);
        let value = self.entries.remove(key as usize).value;
        self.release_if_empty();
        Some(value)
    }

    /// The last entry went: its storage goes too (O(1); keys restart, generations do not).
    fn release_if_empty(&mut self) {
        if self.entries.is_empty() && self.entries.capacity() >= TRIM_MIN {
            self.entries = Slab::new();
        }
    }

    /// Gives back the storage after the last live entry when under a quarter is in use;
    /// at most once a second (it walks the storage).
    fn trim(&mut self, now: u64) {
        if now < self.trim_at {
            return;
        }
        self.trim_at = now + 1000;
        let capacity = self.entries.capacity();
        if capacity >= TRIM_MIN && self.entries.len() < capacity / 4 {
            self.entries.shrink_to_fit();
        }
    }

    /// The value of a live entry.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.entries.get_mut(key as usize).map(|e| &mut e.value)
    }

    /// The value of a live entry.
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        self.entries.get(key as usize).map(|e| &e.value)
    }

    /// The generation of a live entry.
    pub(crate) fn gen_of(&self, key: Key) -> Option<u32> {
        self.entries.get(key as usize).map(|e| e.gen)
    }

    /// Takes a due entry handed out by [`advance`](Self::advance), unless it was removed
    /// (cancelled) since.
    pub(crate) fn take(&mut self, key: Key, gen: u32) -> Option<T> {
        match self.entries.get(key as usize) {
            Some(e) if e.gen == gen && e.place == DETACHED => {
                let value = self.entries.remove(key as usize).value;
                self.release_if_empty();
                Some(value)
            }
            _ => None,
        }
    }

    /// The earliest deadline, in ms since the start (a lower bound: a slot of a higher level
    /// reports its start, and its entries cascade down when it is reached).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if !self.expired.is_empty() {
            return Some(self.elapsed);
        }
        for level in 0..LEVELS {
            if let Some(t) = self.next_in_level(level) {
                return Some(t);
            }
        }
        None
    }

    /// Advances the wheel to `now` and detaches every entry due by then, appending
    /// `(key, gen)` to `due`. Detached entries stay readable until [`take`](Self::take)n, so
    /// the caller can unlink them from its own lists first; a detached entry can still be
    /// removed (cancelled), after which `take` returns `None`.
    pub(crate) fn advance(&mut self, now: u64, due: &mut Vec<(Key, u32)>) {
        for key in std::mem::take(&mut self.expired) {
            let e = &mut self.entries[key as usize];
            e.place = DETACHED;
            due.push((key, e.gen));
        }
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now {
                break;
            }
            self.elapsed = self.elapsed.max(start);
            let mut cur = self.heads[level][slot];
            self.heads[level][slot] = NIL;
            self.occupied[level] &= !(1u64 << slot);
            while cur != NIL {
                let next = self.entries[cur as usize].next;
                let when = self.entries[cur as usize].when;
                if when <= now {
                    let e = &mut self.entries[cur as usize];
                    e.place = DETACHED;
                    due.push((cur, e.gen));
                } else {
                    self.link(cur);
                }
                cur = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
        self.trim(now);
    }

    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        next_occupied(&self.occupied, self.elapsed)
    }

    fn next_in_level(&self, level: usize) -> Option<u64> {
        match self.next_slot() {
            Some((l, _, start)) if l == level => Some(start),
            _ => None,
        }
    }

    fn link(&mut self, key: Key) {
        let when = self.entries[key as usize].when;
        if when <= self.elapsed {
            let e = &mut self.entries[key as usize];
            e.place = EXPIRED;
            self.expired.push(key);
            return;
        }
        let (level, slot) = place(self.elapsed, when);
        let head = self.heads[level][slot];
        {
            let e = &mut self.entries[key as usize];
            e.prev = NIL;
            e.next = head;
            e.place = (level * SLOTS + slot) as u16;
        }
        if head != NIL {
            self.entries[head as usize].prev = key;
        }
        self.heads[level][slot] = key;
        self.occupied[level] |= 1u64 << slot;
    }

    fn unlink(&mut self, key: Key) {
        let (prev, next, place) = {
            let e = &self.entries[key as usize];
            (e.prev, e.next, e.place)
        };
        if place == EXPIRED {
            self.expired.retain(|&k| k != key);
            return;
        }
        if place == DETACHED {
            return;
        }
        let (level, slot) = (place as usize / SLOTS, place as usize % SLOTS);
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.heads[level][slot] = next;
            if next == NIL {
                self.occupied[level] &= !(1u64 << slot);
            }
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }
}

/// The level and slot of a deadline `when` (> `elapsed`): the level is that of the highest
/// 6-bit group in which `when` and the wheel's time differ. Shared with the idle wheel.
pub(crate) fn place(elapsed: u64, when: u64) -> (usize, usize) {
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros();
    let level = ((significant / SLOT_BITS) as usize).min(LEVELS - 1);
    let shift = SLOT_BITS * level as u32;
    (level, ((when >> shift) & (SLOTS as u64 - 1)) as usize)
}

/// The first occupied slot at the wheel's time `elapsed`, lowest level first: its level,
/// slot and start time. Shared with the idle wheel.
pub(crate) fn next_occupied(occupied: &[u64; LEVELS], elapsed: u64) -> Option<(usize, usize, u64)> {
    let (level, &bits) = occupied.iter().enumerate().find(|(_, b)| **b != 0)?;
    let shift = SLOT_BITS * level as u32;
    let cur = ((elapsed >> shift) & (SLOTS as u64 - 1)) as u32;
    // Slots before `cur` in this level hold nothing (entries are placed ahead).
    let mask = bits & (!0u64 << cur);
    let slot = if mask != 0 {
        mask.trailing_zeros()
    } else {
        bits.trailing_zeros()
    };
    let level_range = 1u64 << (shift + SLOT_BITS);
    let base = elapsed & !(level_range - 1);
    Some((level, slot as usize, base + ((slot as u64) << shift)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut Wheel<u32>, now: u64) -> Vec<u32> {
        let mut due = Vec::new();
        w.advance(now, &mut due);
        due.into_iter().filter_map(|(k, g)| w.take(k, g)).collect()
    }

    #[test]
    fn a_burst_of_timers_leaves_no_storage_behind() {
        let mut w: Wheel<u32> = Wheel::new();
        let keys: Vec<_> = (0..5000).map(|i| w.insert(60_000, i)).collect();
        assert!(w.entries.capacity() >= 5000);
        for &(k, g) in &keys {
            assert!(w.remove(k, g).is_some());
        }
        assert!(w.entries.capacity() < TRIM_MIN, "{}", w.entries.capacity());
        // Only the first few stay: the rest of the storage goes at the next advance.
        let keys: Vec<_> = (0..5000).map(|i| w.insert(60_000, i)).collect();
        for &(k, g) in &keys[10..] {
            w.remove(k, g);
        }
        assert!(w.entries.capacity() >= 5000);
        drain(&mut w, 1000);
        assert!(w.entries.capacity() < TRIM_MIN, "{}", w.entries.capacity());
        // The survivors are intact and fire when due.
        let mut fired = drain(&mut w, 60_000);
        fired.sort();
        assert_eq!(fired, (0..10).collect::<Vec<u32>>());
    }

    #[test]
    fn fires_in_deadline_order_across_levels() {
        let mut w = Wheel::new();
        let deadlines = [5u64, 70, 63, 64, 4096, 4095, 300_000, 1, 100_000_000];
        for (i, &d) in deadlines.iter().enumerate() {
            w.insert(d, i as u32);
        }
        let mut fired = Vec::new();
        let mut now = 0;
        while let Some(next) = w.next_deadline() {
            now = next.max(now);
            for v in drain(&mut w, now) {
                fired.push((now, deadlines[v as usize]));
            }
        }
        let order: Vec<u64> = fired.iter().map(|&(_, d)| d).collect();
        let mut sorted = deadlines.to_vec();
        sorted.sort();
        assert_eq!(order, sorted);
        for (at, d) in fired {
            assert_eq!(at, d, "a timer fired at {at} instead of {d}");
        }
    }

    #[test]
    fn cancelled_timers_never_fire() {
        let mut w = Wheel::new();
        let (k1, g1) = w.insert(10, 1);
        let (_k2, _g2) = w.insert(10, 2);
        let (k3, g3) = w.insert(5000, 3);
        assert_eq!(w.remove(k1, g1), Some(1));
        assert_eq!(w.remove(k1, g1), None, "double cancel must be a no-op");
        assert_eq!(w.remove(k3, g3), Some(3));
        assert_eq!(drain(&mut w, 10_000), vec![2]);
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn stale_key_after_reuse_is_ignored() {
        let mut w = Wheel::new();
        let (k, g) = w.insert(10, 1);
        assert_eq!(drain(&mut w, 10), vec![1]);
        let (k2, g2) = w.insert(20, 2);
        assert_eq!(k, k2, "slab reuses the key");
        assert_eq!(
            w.remove(k, g),
            None,
            "old generation must not cancel the new timer"
        );
        assert_eq!(w.remove(k2, g2), Some(2));
    }

    #[test]
    fn a_due_entry_cancelled_before_it_is_taken_never_fires() {
        let mut w = Wheel::new();
        let (k1, g1) = w.insert(10, 1);
        w.insert(10, 2);
        let mut due = Vec::new();
        w.advance(10, &mut due);
        assert_eq!(due.len(), 2);
        assert_eq!(w.remove(k1, g1), Some(1));
        let fired: Vec<u32> = due.into_iter().filter_map(|(k, g)| w.take(k, g)).collect();
        assert_eq!(fired, vec![2]);
    }

    #[test]
    fn past_deadlines_fire_on_next_advance() {
        let mut w = Wheel::new();
        drain(&mut w, 1000);
        w.insert(10, 7);
        assert_eq!(w.next_deadline(), Some(1000));
        assert_eq!(drain(&mut w, 1000), vec![7]);
    }

    #[test]
    fn random_inserts_and_cancels_match_a_model() {
        // A simple LCG keeps the test deterministic without a dependency.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut w = Wheel::new();
        let mut live: Vec<(Key, u32, u64, u32)> = Vec::new();
        let mut now = 0u64;
        for step in 0..20_000u32 {
            match rnd(4) {
                0 | 1 => {
                    let when = now + rnd(200_000);
                    let (k, g) = w.insert(when, step);
                    live.push((k, g, when, step));
                }
                2 if !live.is_empty() => {
                    let i = rnd(live.len() as u64) as usize;
                    let (k, g, _, v) = live.swap_remove(i);
                    assert_eq!(w.remove(k, g), Some(v));
                }
                _ => {
                    now += rnd(5_000);
                    let mut fired = drain(&mut w, now);
                    let mut expect: Vec<u32> = live
                        .iter()
                        .filter(|&&(_, _, when, _)| when <= now)
                        .map(|&(_, _, _, v)| v)
                        .collect();
                    live.retain(|&(_, _, when, _)| when > now);
                    fired.sort();
                    expect.sort();
                    assert_eq!(fired, expect, "at {now}");
                    if let Some(next) = w.next_deadline() {
                        let min = live.iter().map(|l| l.2).min().unwrap();
                        assert!(
                            next <= min,
                            "next_deadline {next} is after the earliest {min}"
                        );
                    }
                }
            }
        }
    }
}
