//! Timers of slots. Each slot's timers form a doubly linked list through the wheel's entries
//! (head in the slot), so closing a connection cancels its timers in time proportional to
//! their number, and a switch of protocol finds the ones the old protocol set.

use std::time::Duration;

use super::{Core, HandlerRef, Kind, Slot, SlotId, TimerKind, TimerVal, NIL};
use crate::boxed::RawTimer;
use crate::connection::flag;
use crate::timer::Key;
use crate::{CloseReason, ConnId, TimerId};

impl Core {
    pub(super) fn insert_timer(
        &mut self,
        owner: usize,
        after: Duration,
        kind: TimerKind,
        payload: RawTimer,
    ) -> TimerId {
        let mut ms = after.as_millis() as u64;
        if Duration::from_millis(ms) < after {
            ms += 1; // never early
        }
        // From the clock rounded up: a deadline counted from a truncated millisecond would
        // fire up to a millisecond early.
        let elapsed = self.now.duration_since(self.start);
        let now_ms = (elapsed.as_nanos() as u64).div_ceil(1_000_000);
        let when = now_ms + ms;
        let head = self.slots.get(owner).map_or(NIL, |s| s.timers);
        let (key, gen) = self.timers.insert(
            when,
            TimerVal {
                payload,
                owner: owner as u32,
                prev: NIL,
                next: head,
                kind,
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

    pub(crate) fn set_timer(&mut self, slot: SlotId, after: Duration, tag: RawTimer) -> TimerId {
        if !self.slots.contains(slot) {
            return TimerId { key: NIL, gen: 0 };
        }
        self.insert_timer(slot, after, TimerKind::User, tag)
    }

    /// Unlinks timer `key` from its owner's list (the entry must still be in the wheel).
    pub(super) fn unlink_timer(&mut self, key: Key) {
        let Some(v) = self.timers.get(key) else {
            return;
        };
        let (owner, prev, next) = (v.owner as usize, v.prev, v.next);
        if prev != NIL {
            if let Some(p) = self.timers.get_mut(prev) {
                p.next = next;
            }
        } else if let Some(s) = self.slots.get_mut(owner) {
            if s.timers == key {
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

    /// Cancels every timer of `slot` (it is closing). Slots are only freed after this, so a
    /// timer never outlives its owner and fires for a later user of the slot.
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

    /// Cancels the timers of `slot` of one kind (all of them: `first_only == false`).
    pub(super) fn cancel_kind(&mut self, slot: usize, kind: TimerKind, first_only: bool) {
        let mut key = self.slots.get(slot).map_or(NIL, |s| s.timers);
        while key != NIL {
            let Some(v) = self.timers.get(key) else { break };
            let next = v.next;
            if v.kind == kind {
                if let Some(gen) = self.timers.gen_of(key) {
                    self.unlink_timer(key);
                    self.timers.remove(key, gen);
                }
                if first_only {
                    return;
                }
            }
            key = next;
        }
    }

    /// The protocol of `slot` changed: the values of its timers belong to the old one.
    pub(super) fn cancel_user_timers(&mut self, slot: usize) {
        self.cancel_kind(slot, TimerKind::User, false);
    }

    /// Fires every timer due by now.
    pub(crate) fn fire_timers(&mut self) {
        self.fire_idle();
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
            let alive = self.slots.contains(slot);
            let tag = v.payload;
            match v.kind {
                TimerKind::User if alive => match self.slots.get(slot).map(|s| &s.kind) {
                    Some(Kind::Conn(_)) => {
                        // SAFETY: user timers of a connection are set through the
                        // `Context<'_, T>` of the protocol that owns it, and cancelled when
                        // it closes or hands the connection to another protocol, so `tag`
                        // holds the timer type of the protocol called here.
                        self.with_proto(slot, |p, core, id| unsafe { p.on_timer(core, id, tag) });
                    }
                    Some(Kind::Datagram(_)) | Some(Kind::Fd(_)) => {
                        // SAFETY: handler timers are only set by `FdContext::set_timer`,
                        // which stores a `u64`.
                        let tag = unsafe { tag.get::<u64>() };
                        self.with_handler(slot, |h, cx, fd| match h {
                            HandlerRef::Datagram(d) => d.on_timer(cx, tag),
                            HandlerRef::Fd(f) => f.on_timer(cx, fd, tag),
                        });
                    }
                    Some(Kind::Channel(_)) => {
                        // SAFETY: as for descriptor handlers, a `u64` from `FdContext`.
                        let tag = unsafe { tag.get::<u64>() };
                        self.with_channel(slot, |c, cx| c.on_timer(cx, tag));
                    }
                    _ => {}
                },
                TimerKind::Idle if alive => {
                    // SAFETY: idle timers carry their timeout in ms as a `u64`.
                    let ms = unsafe { tag.get::<u64>() };
                    self.idle_check(slot, Duration::from_millis(ms));
                }
                TimerKind::AcceptResume if alive => self.resume_listener(slot),
                TimerKind::OutputSoft if alive => self.soft_limit_check(slot),
                TimerKind::ProxyHeader if alive => self.proxy_timeout(slot),
                TimerKind::Linger if alive => self.linger_check(slot),
                #[cfg(feature = "tls")]
                TimerKind::TlsHandshake if alive => self.tls_handshake_check(slot),
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

    /// Arms the soft output limit's check for connection `slot`.
    pub(super) fn arm_soft_limit(&mut self, slot: usize) {
        let after = self.config.output_soft_time;
        self.insert_timer(slot, after, TimerKind::OutputSoft, RawTimer::new(()));
    }

    /// The soft output limit's time ran out. A connection still above it that made no
    /// progress all that time (nothing written to it, nothing read from it) does not read:
    /// closed. One above it that made progress (a slow reader of a large message) is
    /// checked again later.
    fn soft_limit_check(&mut self, slot: usize) {
        let soft = self.config.output_soft_limit;
        let period = self.config.output_soft_time;
        let now = self.now_ms() as u32;
        let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(slot)
        else {
            return;
        };
        c.flags &= !flag::SOFT_OVER;
        if c.out.len() <= soft || c.out.memory_len() <= soft || c.has(flag::NO_OUTPUT_LIMIT) {
            return;
        }
        let quiet = Duration::from_millis(now.wrapping_sub(c.last_active) as u64);
        if quiet >= period {
            tracing::debug!(slot, "output above the soft limit, not read, for too long");
            self.stats.output_limit_closes += 1;
            self.close_now(slot, CloseReason::OutputLimit);
        } else {
            c.flags |= flag::SOFT_OVER;
            self.arm_soft_limit(slot);
        }
    }

    /// An idle timer of the general wheel ran out (a connection whose timeout did not fit
    /// the idle wheel, see `idle.rs`): the connection was idle for `timeout`, or was active
    /// since the timer was set (then it is re-armed for the rest: the lazy re-check that
    /// makes "restart the idle timeout on every read" a single store).
    fn idle_check(&mut self, slot: usize, timeout: Duration) {
        let now = self.now_ms() as u32;
        let Some(Slot {
            gen,
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get(slot)
        else {
            return;
        };
        let id = ConnId::new(slot, *gen);
        let idle = Duration::from_millis(now.wrapping_sub(c.last_active) as u64);
        let ms = RawTimer::new(timeout.as_millis() as u64);
        if idle < timeout {
            self.insert_timer(slot, timeout - idle, TimerKind::Idle, ms);
            return;
        }
        if self.idle_expired(slot, id) {
            // Armed again first: a protocol that ignores the timeout, or whose close cannot
            // flush to a peer that stopped reading, is caught the next time round.
            self.insert_timer(slot, timeout, TimerKind::Idle, ms);
            self.run_on_idle(slot, id);
        }
    }
}
