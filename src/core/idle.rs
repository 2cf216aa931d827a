//! Idle timeouts of connections, on the idle wheel ([`crate::idle_wheel`]).
//!
//! An idle timeout restarts on every read and every write progress, and costs no more there
//! than the store of `Conn::last_active`: the wheel holds one entry per connection, due no
//! later than the connection's deadline, and when it comes up the deadline is worked out
//! again from `last_active` — due: the timeout runs out; not yet: the entry goes back in for
//! the rest. Nothing is ever cancelled in the wheel: an entry whose connection closed (its
//! slot's generation differs) or whose timeout was replaced (its ticket differs) is dropped
//! when it comes up. So an idle connection pays 12 bytes for its timeout, not the 48 of an
//! entry of the general wheel with its links.
//!
//! A connection keeps its timeout as a one-byte index into the distinct timeouts in use and
//! its entry's ticket in another byte, both in what was padding of `Conn`. What does not fit
//! (slot indices above 2^24, more than 255 distinct timeouts, timeouts over 24 days) takes the
//! general wheel as before (`TimerKind::Idle`).

use std::time::Duration;

use super::{Core, Kind, Slot, TimerKind};
use crate::boxed::RawTimer;
use crate::connection::{flag, Owner};
use crate::idle_wheel::MAX_DELAY_MS;
use crate::{CloseReason, ConnId};

/// Slot indices up to this fit an idle wheel entry (its key's low 24 bits; the ticket takes
/// the high 8).
const KEY_SLOT_BITS: u32 = 24;

impl Core {
    /// Sets (or with `None` removes) the idle timeout of connection `id`, counted from its
    /// last read or write progress.
    pub(crate) fn set_idle_timeout(&mut self, id: ConnId, after: Option<Duration>) {
        let slot = id.slot();
        let Some(c) = self.conn(id) else { return };
        let (current, queued) = (c.idle, c.has(flag::IDLE_QUEUED));
        let general = self.slots.get(slot).is_some_and(|s| s.timers != super::NIL);
        let Some(after) = after else {
            // Off: the entry stays (dropped when it comes up, or kept if turned on again).
            if general {
                self.cancel_kind(slot, TimerKind::Idle, true);
            }
            if let Some(c) = self.conn_mut(id) {
                c.flags |= flag::IDLE_OFF;
            }
            return;
        };
        let ms = after.as_millis().min(u64::MAX as u128) as u64;
        let ms = ms + u64::from(Duration::from_millis(ms) < after); // never early
        let old_ms = (current != 0).then(|| u64::from(self.idle_ms[current as usize - 1]));
        // The same timeout again (a protocol setting it per request): a flag at most.
        if queued && old_ms == Some(ms) {
            if let Some(c) = self.conn_mut(id) {
                c.flags &= !flag::IDLE_OFF;
            }
            return;
        }
        if general {
            self.cancel_kind(slot, TimerKind::Idle, true);
        }
        let index = if ms <= MAX_DELAY_MS && slot < 1 << KEY_SLOT_BITS {
            self.idle_index(ms)
        } else {
            None
        };
        let now = self.now_ms();
        let Some(c) = self.conn_mut(id) else { return };
        c.flags &= !flag::IDLE_OFF;
        let Some(index) = index else {
            // Does not fit the idle wheel: one entry of the general wheel, as for a timer.
            retire_entry(c);
            c.idle = 0;
            let idle = Duration::from_millis((now as u32).wrapping_sub(c.last_active) as u64);
            self.insert_timer(
                slot,
                after.saturating_sub(idle),
                TimerKind::Idle,
                RawTimer::new(ms),
            );
            return;
        };
        c.idle = index + 1;
        // An entry queued for a timeout no longer than this one comes up early enough: it
        // is kept (and works out the new deadline when it comes up).
        if queued && old_ms.is_some_and(|old| old <= ms) {
            return;
        }
        retire_entry(c);
        c.flags |= flag::IDLE_QUEUED;
        let (ticket, last) = (c.idle_ticket, c.last_active);
        let when = self.last_active_ms(last) + ms;
        let gen = self.slots[slot].gen;
        self.idle.insert(when, key(slot, ticket), gen);
    }

    /// The index of timeout `ms` among those in use (added if new; `None` when 255 are).
    fn idle_index(&mut self, ms: u64) -> Option<u8> {
        let ms = ms as u32;
        if let Some(i) = self.idle_ms.iter().position(|&m| m == ms) {
            return Some(i as u8);
        }
        if self.idle_ms.len() >= u8::MAX as usize {
            return None;
        }
        self.idle_ms.push(ms);
        Some((self.idle_ms.len() - 1) as u8)
    }

    /// `last_active` (the low 32 bits of a time in ms) as ms since the start.
    fn last_active_ms(&self, last_active: u32) -> u64 {
        let now = self.now_ms();
        now - u64::from((now as u32).wrapping_sub(last_active)).min(now)
    }

    /// Handles the idle wheel's entries due by now: a connection idle for its whole timeout
    /// times out, one active since goes back in for the rest.
    pub(super) fn fire_idle(&mut self) {
        let now = self.now_ms();
        let mut due = std::mem::take(&mut self.idle_due);
        self.idle.advance(now, &mut due);
        for item in due.drain(..) {
            let slot = (item.key & ((1 << KEY_SLOT_BITS) - 1)) as usize;
            let ticket = (item.key >> KEY_SLOT_BITS) as u8;
            let Some(Slot {
                gen,
                kind: Kind::Conn(c),
                ..
            }) = self.slots.get_mut(slot)
            else {
                continue; // closed since
            };
            if *gen != item.gen || c.idle_ticket != ticket || !c.has(flag::IDLE_QUEUED) {
                continue; // a later connection in the slot, or a replaced timeout
            }
            let id = ConnId::new(slot, *gen);
            if c.idle == 0 || c.has(flag::IDLE_OFF) {
                c.flags &= !flag::IDLE_QUEUED;
                continue; // the timeout was removed
            }
            let ms = u64::from(self.idle_ms[c.idle as usize - 1]);
            let last = c.last_active;
            let deadline = self.last_active_ms(last) + ms;
            if deadline > now {
                self.idle.insert(deadline, item.key, item.gen);
                continue;
            }
            if self.idle_expired(slot, id) {
                // Back in first: a protocol that ignores the timeout, or whose close cannot
                // flush to a peer that stopped reading, is caught the next time round.
                self.idle.insert(now + ms, item.key, item.gen);
                self.run_on_idle(slot, id);
            }
            self.process_dirty();
        }
        self.idle_due = due;
    }

    /// Connection `slot` was idle for its whole timeout: closed (and counted) if it was
    /// closing already (the second expiry) or is a child socket. True when it stays open and
    /// its protocol's `on_idle` is to be called (the caller re-arms first).
    pub(super) fn idle_expired(&mut self, slot: usize, id: ConnId) -> bool {
        let Some(c) = self.conn_mut(id) else {
            return false;
        };
        let closing = c.has(flag::CLOSE_AFTER_FLUSH | flag::CLOSE_NOW | flag::REFUSED);
        let child = matches!(c.owner, Owner::Child(_));
        if closing || child {
            let group = c.group as usize;
            self.count_timeout(group);
            tracing::debug!(conn = %id, "idle timeout");
            self.close_now(slot, CloseReason::IdleTimeout);
            return false;
        }
        c.flags |= flag::IDLE_EXPIRED;
        true
    }

    /// Calls the protocol's `on_idle`; counts a timeout when that closed the connection or
    /// started closing it. A protocol that only asks for a sign of life (a WebSocket ping
    /// at half its idle time) is not a timeout.
    pub(super) fn run_on_idle(&mut self, slot: usize, id: ConnId) {
        // Before the call: a connection it closes may leave the slot to another.
        let group = self.group_of(slot);
        self.with_proto(slot, |p, core, id| p.on_idle(core, id));
        let ended = self
            .conn(id)
            .is_none_or(|c| c.has(flag::CLOSE_AFTER_FLUSH | flag::CLOSE_NOW | flag::REFUSED));
        if ended {
            self.count_timeout(group);
        }
    }

    fn count_timeout(&mut self, group: usize) {
        self.stats.timeouts += 1;
        self.groups[group].timeouts += 1;
    }
}

/// The key of a connection's idle wheel entry.
fn key(slot: usize, ticket: u8) -> u32 {
    slot as u32 | u32::from(ticket) << KEY_SLOT_BITS
}

/// Makes a connection's idle wheel entry stale (dropped when it comes up).
fn retire_entry(c: &mut crate::connection::Conn) {
    if c.has(flag::IDLE_QUEUED) {
        c.flags &= !flag::IDLE_QUEUED;
        c.idle_ticket = c.idle_ticket.wrapping_add(1);
    }
}
