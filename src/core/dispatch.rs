//! The loop's entry points: readiness for a slot, and the slots with work left over from an earlier wake.

use super::{Core, Kind, Slot};
use crate::connection::flag;

impl Core {
    /// Readiness for slot `slot`; `hup`: the peer closed its write half (or an error).
    pub(crate) fn dispatch(&mut self, slot: usize, readable: bool, writable: bool, hup: bool) {
        if hup {
            if let Some(Slot {
                kind: Kind::Conn(c),
                ..
            }) = self.slots.get_mut(slot)
            {
                c.flags |= flag::HUP_SEEN;
            }
        }
        match self.slots.get(slot).map(|s| &s.kind) {
            Some(Kind::Conn(c)) => {
                if c.has(flag::CONNECTING) {
                    self.finish_connect(slot);
                    // Data may have arrived along with the connect completion.
                    if readable {
                        self.do_read(slot);
                    }
                    return;
                }
                if writable {
                    self.on_writable(slot);
                }
                if readable {
                    self.do_read(slot);
                }
            }
            Some(Kind::Listener(_)) => self.do_accept(slot),
            Some(Kind::Datagram(_)) => self.do_udp(slot),
            Some(Kind::Fd(_)) => self.do_fd(slot, readable, writable),
            Some(Kind::Linger(_)) if readable || hup => self.linger_read(slot),
            Some(Kind::Channel(_)) | Some(Kind::Linger(_)) | None => {}
        }
    }

    /// Serves slots that had more to do than one wake allowed (read budget, accept budget,
    /// resumed reading, listeners out of back-off).
    pub(crate) fn run_ready(&mut self) {
        for _ in 0..self.ready.len() {
            let Some((slot, gen)) = self.ready.pop_front() else {
                break;
            };
            let slot = slot as usize;
            if self.slots.get(slot).is_none_or(|s| s.gen != gen) {
                continue;
            }
            match self.slots.get(slot).map(|s| &s.kind) {
                Some(Kind::Conn(_)) => self.do_read(slot),
                Some(Kind::Listener(_)) => self.do_accept(slot),
                Some(Kind::Datagram(_)) => self.do_udp(slot),
                Some(Kind::Linger(_)) => self.linger_read(slot),
                _ => {}
            }
        }
        self.process_dirty();
    }

    pub(crate) fn has_pending_work(&self) -> bool {
        !self.ready.is_empty()
            || !self.dirty.is_empty()
            || !self.pending_close.is_empty()
            || self.notify.is_pending()
    }
}
