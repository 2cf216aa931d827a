//! Timers of slots: each slot's timers form a list through the wheel's entries, so closing a connection cancels its timers in time proportional to their number.

use std::time::Duration;

use super::{Core, HandlerRef, Kind, Slot, SlotId, TimerKind, TimerVal, NIL};
use crate::timer::Key;
use crate::{CloseReason, TimerId};

impl Core {
    pub(super) fn insert_timer(
        &mut self,
        owner: usize,
        after: Duration,
        kind: TimerKind,
    ) -> TimerId {
        let mut ms = after.as_millis() as u64;
        if Duration::from_millis(ms) < after {
            ms += 1; // never early
        }
        let when = self.now_ms() + ms;
        let (owner_gen, head) = match self.slots.get(owner) {
            Some(s) => (s.gen, s.timers),
            None => (0, NIL),
        };
        let (key, gen) = self.timers.insert(
            when,
            TimerVal {
                owner: owner as u32,
                owner_gen,
                kind,
                prev: NIL,
                next: head,
            },
        );
        if head != NIL {
            if let Some(h) = self.timers.get_mut(head) {
                h.prev = key;
            }
        }
        if let Some(s) = self.slots.get_mut(owner) {
            s.timers = key;
        }
        TimerId { key, gen }
    }

    pub(crate) fn set_timer(&mut self, slot: SlotId, after: Duration, tag: u64) -> TimerId {
        if !self.slots.contains(slot) {
            return TimerId { key: NIL, gen: 0 };
        }
        self.insert_timer(slot, after, TimerKind::User(tag))
    }

    /// Unlinks timer `key` from its owner's list (the entry must still be in the wheel).
    pub(super) fn unlink_timer(&mut self, key: Key) {
        let Some(v) = self.timers.get(key) else {
            return;
        };
        let (owner, owner_gen, prev, next) = (v.owner as usize, v.owner_gen, v.prev, v.next);
        if prev != NIL {
            if let Some(p) = self.timers.get_mut(prev) {
                p.next = next;
            }
        } else if let Some(s) = self.slots.get_mut(owner) {
            if s.gen == owner_gen && s.timers == key {
                s.timers = next;
            }
        }
        if next != NIL {
            if let Some(n) = self.timers.get_mut(next) {
                n.prev = prev;
            }
        }
    }

    pub(crate) fn cancel_timer(&mut self, t: TimerId) -> bool {
        if self.timers.gen_of(t.key) != Some(t.gen) {
            return false;
        }
        self.unlink_timer(t.key);
        self.timers.remove(t.key, t.gen).is_some()
    }

    pub(super) fn cancel_owner_timers(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        let mut key = std::mem::replace(&mut s.timers, NIL);
        while key != NIL {
            let next = self.timers.get(key).map_or(NIL, |v| v.next);
            if let Some(gen) = self.timers.gen_of(key) {
                self.timers.remove(key, gen);
            }
            key = next;
        }
    }

    /// Fires every timer due by now.
    pub(crate) fn fire_timers(&mut self) {
        let now = self.now_ms();
        let mut due = std::mem::take(&mut self.due);
        self.timers.advance(now, &mut due);
        for (key, gen) in due.drain(..) {
            if self.timers.gen_of(key) != Some(gen) {
                continue; // cancelled by an earlier callback of this batch
            }
            self.unlink_timer(key);
            let Some(v) = self.timers.take(key, gen) else {
                continue;
            };
            let slot = v.owner as usize;
            let alive = self.slots.get(slot).is_some_and(|s| s.gen == v.owner_gen);
            match v.kind {
                TimerKind::User(tag) if alive => match self.slots.get(slot).map(|s| &s.kind) {
                    Some(Kind::Conn(_)) => {
                        self.with_proto(slot, |p, cx| p.on_timer(cx, tag));
                    }
                    Some(Kind::Datagram(_)) | Some(Kind::Fd(_)) => {
                        self.with_handler(slot, |h, cx, fd| match h {
                            HandlerRef::Datagram(d) => d.on_timer(cx, tag),
                            HandlerRef::Fd(f) => f.on_timer(cx, fd, tag),
                        });
                    }
                    _ => {}
                },
                TimerKind::Idle if alive => self.idle_check(slot),
                TimerKind::AcceptResume if alive => self.resume_listener(slot),
                TimerKind::ShutdownDeadline => {
                    tracing::info!(open = self.conns, "shutdown deadline passed; closing");
                    self.close_all(|| CloseReason::Shutdown);
                    self.stop = true;
                }
                _ => {}
            }
            self.process_dirty();
        }
        self.due = due;
    }

    pub(super) fn idle_check(&mut self, slot: usize) {
        let Some(timeout) = self.config.idle_timeout else {
            return;
        };
        let now = self.now_ms() as u32;
        let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get(slot)
        else {
            return;
        };
        let idle = Duration::from_millis(now.wrapping_sub(c.last_active) as u64);
        if idle >= timeout {
            self.stats.timeouts += 1;
            self.close_now(slot, CloseReason::IdleTimeout);
        } else {
            // Activity since the timer was set: re-arm for the rest (the lazy re-check that
            // makes "reset the idle timeout on every read" a single store).
            self.insert_timer(slot, timeout - idle, TimerKind::Idle);
        }
    }
}
