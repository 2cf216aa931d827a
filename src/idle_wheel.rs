//! A timing wheel of 12-byte entries with no cancellation, for idle timeouts.
//!
//! Every idle connection waits on its idle timeout, so what one costs is what an idle
//! connection costs. The general wheel ([`crate::timer`]) keeps 48-byte entries in a slab,
//! doubly linked so any timer can be cancelled in O(1) and a closing connection can find its
//! own. An idle timeout needs neither: it is checked lazily (the connection's `last_active`
//! says whether it is due; a stale entry — the connection closed, or its timeout changed —
//! is dropped when it comes up). So this wheel stores `(key, gen, when)` in plain vectors, one
//! per slot of the same six levels of 64 slots, and never unlinks: 12 bytes an entry.
//!
//! Deadlines are milliseconds since the wheel's start, kept in 32 bits relative to the
//! wheel's current time: a deadline must lie less than 2^31 ms (24 days) ahead.
//!
//! This module owns only the data structure; it must not know about connections.

use crate::timer::{next_occupied, place, LEVELS, SLOTS};

/// The longest delay an entry can be inserted with, in ms.
pub(crate) const MAX_DELAY_MS: u64 = (1 << 31) - 1;

/// An entry: what it is for (`key`, `gen`: the caller's) and when it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    pub key: u32,
    pub gen: u32,
    /// The deadline's low 32 bits.
    when: u32,
}

pub(crate) struct IdleWheel {
    buckets: Vec<Vec<Item>>,
    occupied: [u64; LEVELS],
    /// Entries due at or before `elapsed` when they were inserted.
    expired: Vec<Item>,
    /// Current time of the wheel, in ms since its start.
    elapsed: u64,
}

impl IdleWheel {
    pub(crate) fn new() -> IdleWheel {
        IdleWheel {
            buckets: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            expired: Vec::new(),
            elapsed: 0,
        }
    }

    /// Number of entries (stale ones included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.expired.len() + self.buckets.iter().map(Vec::len).sum::<usize>()
    }

    /// Inserts `(key, gen)`, due at `when` (ms since the start; at most [`MAX_DELAY_MS`]
    /// after the wheel's current time, later ones are clamped to it).
    pub(crate) fn insert(&mut self, when: u64, key: u32, gen: u32) {
        let when = when.min(self.elapsed + MAX_DELAY_MS);
        self.link(Item {
            key,
            gen,
            when: when as u32,
        });
    }

    /// The deadline of `item` in ms since the start (it lies at or after the wheel's time,
    /// and less than 2^31 ms ahead of it).
    fn when_of(&self, item: &Item) -> u64 {
        self.elapsed + item.when.wrapping_sub(self.elapsed as u32) as u64
    }

    /// The earliest deadline, in ms since the start (a lower bound: a slot of a higher level
    /// reports its start, and its entries cascade down when it is reached).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if !self.expired.is_empty() {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, _, start)| start)
    }

    /// Advances the wheel to `now` and moves every entry due by then to `due`.
    pub(crate) fn advance(&mut self, now: u64, due: &mut Vec<Item>) {
        due.append(&mut self.expired);
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now {
                break;
            }
            self.elapsed = self.elapsed.max(start);
            self.occupied[level] &= !(1u64 << slot);
            let items = std::mem::take(&mut self.buckets[level * SLOTS + slot]);
            for item in items {
                if self.when_of(&item) <= now {
                    due.push(item);
                } else {
                    self.link(item);
                }
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        next_occupied(&self.occupied, self.elapsed)
    }

    fn link(&mut self, item: Item) {
        let when = if item.when.wrapping_sub(self.elapsed as u32) > MAX_DELAY_MS as u32 {
            self.elapsed // in the past
        } else {
            self.when_of(&item)
        };
        if when <= self.elapsed {
            self.expired.push(item);
            return;
        }
        let (level, slot) = place(self.elapsed, when);
        self.buckets[level * SLOTS + slot].push(item);
        self.occupied[level] |= 1u64 << slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut IdleWheel, now: u64) -> Vec<u32> {
        let mut due = Vec::new();
        w.advance(now, &mut due);
        due.into_iter().map(|i| i.key).collect()
    }

    #[test]
    fn fires_in_deadline_order_at_the_deadline() {
        let mut w = IdleWheel::new();
        let deadlines = [5u64, 70, 63, 64, 4096, 4095, 300_000, 1, 100_000_000];
        for (i, &d) in deadlines.iter().enumerate() {
            w.insert(d, i as u32, 0);
        }
        let mut now = 0;
        let mut fired = Vec::new();
        while let Some(next) = w.next_deadline() {
            now = next.max(now);
            for k in drain(&mut w, now) {
                assert_eq!(now, deadlines[k as usize], "fired at {now}");
                fired.push(deadlines[k as usize]);
            }
        }
        let mut sorted = deadlines.to_vec();
        sorted.sort();
        assert_eq!(fired, sorted);
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn past_deadlines_fire_on_the_next_advance() {
        let mut w = IdleWheel::new();
        drain(&mut w, 1000);
        w.insert(10, 7, 0);
        assert_eq!(w.next_deadline(), Some(1000));
        assert_eq!(drain(&mut w, 1000), vec![7]);
    }

    #[test]
    fn random_deadlines_match_a_model() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut w = IdleWheel::new();
        let mut live: Vec<(u64, u32)> = Vec::new();
        let mut now = 0u64;
        for step in 0..20_000u32 {
            if rnd(3) < 2 {
                let when = now + rnd(200_000);
                w.insert(when, step, 0);
                live.push((when, step));
            } else {
                now += rnd(5_000);
                let mut fired = drain(&mut w, now);
                let mut expect: Vec<u32> =
                    live.iter().filter(|l| l.0 <= now).map(|l| l.1).collect();
                live.retain(|l| l.0 > now);
                fired.sort();
                expect.sort();
                assert_eq!(fired, expect, "at {now}");
                if let (Some(next), Some(min)) = (w.next_deadline(), live.iter().map(|l| l.0).min())
                {
                    assert!(
                        next <= min,
                        "next_deadline {next} is after the earliest {min}"
                    );
                }
            }
        }
    }
}
