//! The write path and settling: flush the write queue, backpressure transitions, drain notifications, closes after a flush.

use super::{Core, Kind, Slot};
use crate::connection::{flag, Io};
use crate::{ChildEvent, CloseReason};

impl Core {
    /// Applies everything callbacks asked for: flushes, closes, backpressure changes, drain
    /// notifications. Loops until nothing is left (a notification may queue more).
    pub(crate) fn process_dirty(&mut self) {
        loop {
            if let Some(slot) = self.dirty.pop() {
                let slot = slot as usize;
                if let Some(Slot {
                    kind: Kind::Conn(c),
                    ..
                }) = self.slots.get_mut(slot)
                {
                    c.flags &= !flag::DIRTY;
                    self.settle(slot);
                }
            } else if let Some(id) = self.pending_close.pop() {
                if self.is_open(id) {
                    self.close_now(id.slot(), CloseReason::Local);
                }
            } else {
                break;
            }
        }
    }

    pub(super) fn settle(&mut self, slot: usize) {
        let Some(id) = self.id_of(slot) else { return };
        let (high, low) = (self.config.high_watermark, self.config.low_watermark);
        let portable_io = self.config.portable_io;
        let may_linger = !self.config.lingering_time.is_zero();
        let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(slot)
        else {
            return;
        };
        if c.has(flag::CLOSE_NOW) {
            let reason = if c.has(flag::PANICKED) {
                CloseReason::Panic
            } else if c.has(flag::OUTPUT_OVER) {
                CloseReason::OutputLimit
            } else if c.has(flag::IDLE_EXPIRED) {
                CloseReason::IdleTimeout
            } else {
                CloseReason::Local
            };
            self.close_now(slot, reason);
            return;
        }
        if c.has(flag::CONNECTING) {
            return;
        }
        // Once everything is out, a TLS session ends with close_notify, flushed like the rest.
        #[cfg(feature = "tls")]
        let finish = c.has(flag::CLOSE_AFTER_FLUSH | flag::SHUT_AFTER_FLUSH);
        #[cfg(feature = "tls")]
        if c.out.is_empty() && finish {
            if let Io::Tls(t) = &mut c.io {
                t.close_notify();
            }
        }
        if (!c.out.is_empty() || c.io.tls_wants_write()) && !c.has(flag::WAIT_WRITABLE) {
            let res = match &mut c.io {
                Io::Virtual(peer) => peer.accept_from(&mut c.out),
                #[cfg(feature = "tls")]
                Io::Tls(t) => t
                    .flush(&mut c.out, portable_io, finish)
                    .map(|f| (f.written, f.blocked)),
                io => {
                    let fd = io.raw_fd().expect("real descriptor");
                    c.out
                        .flush_to_fd(fd, portable_io)
                        .map(|f| (f.written, f.blocked))
                }
            };
            match res {
                Ok((n, blocked)) => {
                    if blocked {
                        c.flags |= flag::WAIT_WRITABLE;
                    }
                    if n > 0 {
                        self.stats.bytes_out += n as u64;
                        self.groups[c.group as usize].bytes_out += n as u64;
                        c.last_active = self.now.duration_since(self.start).as_millis() as u32;
                    }
                }
                Err(e) => {
                    self.close_now(slot, CloseReason::Io(e));
                    return;
                }
            }
        }
        let soft = self.config.output_soft_limit;
        let Some(c) = self.conn_mut(id) else { return };
        let queued = c.out.len();
        let arm_soft = queued > soft
            && !c.has(flag::SOFT_OVER | flag::NO_OUTPUT_LIMIT)
            && c.out.memory_len() > soft;
        if arm_soft {
            c.flags |= flag::SOFT_OVER;
        }
        let mut pressure_event = None;
        let mut resume = false;
        if !c.has(flag::PRESSURE) && queued > high {
            c.flags |= flag::PRESSURE;
            pressure_event = Some(true);
        } else if c.has(flag::PRESSURE) && queued <= low {
            c.flags &= !flag::PRESSURE;
            pressure_event = Some(false);
        } else if c.has(flag::YIELDED) && !c.has(flag::PRESSURE) {
            // It stopped for a queue that has drained already: go on with its input.
            c.flags &= !flag::YIELDED;
            resume = true;
        }
        if pressure_event == Some(false) {
            c.flags &= !flag::YIELDED;
        }
        if arm_soft {
            self.arm_soft_limit(slot);
        }
        let Some(c) = self.conn_mut(id) else { return };
        let mut drained = false;
        if queued == 0 {
            c.out.release();
            if c.has(flag::NOTIFY_DRAIN) {
                c.flags &= !flag::NOTIFY_DRAIN;
                drained = true;
            }
            let wire_done = !c.io.tls_wants_write();
            if c.has(flag::SHUT_AFTER_FLUSH) && !c.has(flag::WRITE_SHUT) && wire_done {
                c.flags |= flag::WRITE_SHUT;
                match c.io.base_mut() {
                    Io::Tcp(s) => {
                        let _ = s.shutdown(std::net::Shutdown::Write);
                    }
                    Io::Unix(s) => {
                        let _ = s.shutdown(std::net::Shutdown::Write);
                    }
                    Io::Fd(_) => c.flags |= flag::CLOSE_AFTER_FLUSH, // a pipe's write half is all of it
                    Io::Virtual(p) => p.write_shut = true,
                    #[cfg(feature = "tls")]
                    Io::Tls(_) => {}
                }
            }
            if c.has(flag::CLOSE_AFTER_FLUSH) && wire_done {
                let reason = if c.has(flag::EOF) {
                    CloseReason::Peer
                } else if c.has(flag::IDLE_EXPIRED) {
                    CloseReason::IdleTimeout
                } else {
                    CloseReason::Local
                };
                let linger = may_linger && super::linger::wants_linger(c);
                self.close_slot(slot, reason, linger);
                return;
            }
        }
        let parent = match self.owner_of(id) {
            Some(p) => p,
            None => return,
        };
        if resume {
            self.schedule_read(id);
        }
        if let Some(paused) = pressure_event {
            // A child's pressure pauses its own reading only.
            if parent.is_none() {
                self.with_proto(slot, |p, core, id| p.on_backpressure(core, id, paused));
            }
            if !paused {
                self.schedule_read(id);
            }
        }
        if drained {
            match parent {
                None => {
                    self.with_proto(slot, |p, core, id| p.on_drain(core, id));
                }
                Some(parent) => self.notify_parent(id, parent, ChildEvent::Drained),
            }
        }
        // A child's handshake that ended without plaintext (the client of a download).
        #[cfg(feature = "tls")]
        self.tls_ready_notify(id);
    }

    /// The socket became writable.
    pub(crate) fn on_writable(&mut self, slot: usize) {
        let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(slot)
        else {
            return;
        };
        c.flags &= !flag::WAIT_WRITABLE;
        self.settle(slot);
        self.process_dirty();
    }
}
