//! The read path: read into a pooled buffer, deliver to the owner, adapt the read size, keep the per-wake budget.

use std::io;

use super::calls::Called;
use super::{Core, Kind, Slot};
use crate::buffer::read_into;
use crate::connection::flag;
use crate::pool::InputBuf;
use crate::{ChildEvent, CloseReason, ConnId};

impl Core {
    /// Reads from connection `slot` until the socket is drained, the read budget is spent, or
    /// reading is paused; delivers each read to its owner.
    pub(crate) fn do_read(&mut self, slot: usize) {
        let mut budget = self.config.read_budget;
        loop {
            let Some(Slot {
                gen,
                kind: Kind::Conn(c),
                ..
            }) = self.slots.get_mut(slot)
            else {
                return;
            };
            let id = ConnId::new(slot, *gen);
            if c.has(flag::NO_READ) && !tls_handshake_to_finish(c) {
                if c.has(flag::PAUSED_APP | flag::PRESSURE) {
                    c.flags |= flag::READ_PENDING;
                }
                return;
            }
            let had_pending = c.has(flag::READ_PENDING);
            c.flags &= !flag::READ_PENDING;
            let Some(fd) = c.io.raw_fd() else {
                // Virtual: deliver what the harness fed.
                if let Some(buf) = c.input.take() {
                    if !buf.is_empty() {
                        self.deliver_checked(slot, id, buf);
                    }
                }
                return;
            };
            // Unconsumed input handed back after a pause is delivered before reading more.
            if had_pending && c.input.as_ref().is_some_and(|b| !b.is_empty()) {
                let buf = c.input.take().unwrap();
                let before = buf.len();
                self.deliver_data(slot, id, buf);
                self.process_dirty();
                let after = self
                    .conn(id)
                    .and_then(|c| c.input.as_ref())
                    .map_or(0, |b| b.len());
                if after == before && self.conn(id).is_some_and(|c| c.has(flag::NO_READ)) {
                    return;
                }
                continue;
            }
            let class = (c.flags & flag::SIZE_MASK) >> flag::SIZE_SHIFT;
            let mut buf = match c.input.take() {
                Some(b) => b,
                None => self.pool.get(),
            };
            if buf.len() >= self.config.max_input {
                self.restore_input(id, buf);
                tracing::warn!(conn = %id, "input limit reached with nothing consumed");
                self.close_now(slot, CloseReason::InputLimit);
                return;
            }
            let want = (self.config.read_buffer << class).min(self.config.max_input - buf.len());
            // Grow only when less than half an offer is free: a partial frame left at the
            // end of the buffer must not cost a reallocation per read.
            if buf.capacity() - buf.len() < (want / 2).max(1) {
                buf.reserve(want);
            }
            let offered = buf.capacity() - buf.len();
            // Through TLS, a short read of plaintext says nothing about the socket: the
            // session says whether it was drained.
            #[cfg(feature = "tls")]
            let mut drained_hint = None;
            #[cfg(feature = "tls")]
            let res = if matches!(c.io, crate::connection::Io::Tls(_)) {
                use super::tls::TlsStep;
                match self.tls_read(id, &mut buf, want.min(offered)) {
                    TlsStep::Data { n, drained } => {
                        drained_hint = Some(drained);
                        Ok(n)
                    }
                    TlsStep::Eof => Ok(0),
                    TlsStep::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
                    TlsStep::Closed => {
                        self.restore_input(id, buf);
                        return;
                    }
                }
            } else {
                read_into(fd, &mut buf)
            };
            #[cfg(not(feature = "tls"))]
            let res = read_into(fd, &mut buf);
            match res {
                Ok(0) => {
                    self.restore_input(id, buf);
                    self.deliver_eof(slot, id);
                    return;
                }
                Ok(n) => {
                    self.stats.bytes_in += n as u64;
                    let now = self.now_ms() as u32;
                    let group = self.group_of(slot);
                    self.groups[group].bytes_in += n as u64;
                    if let Some(c) = self.conn_mut(id) {
                        c.last_active = now;
                        let class = if n == offered {
                            (class + 1).min(flag::SIZE_MAX)
                        } else {
                            class.saturating_sub(1)
                        };
                        c.flags = (c.flags & !(flag::SIZE_MASK | flag::IDLE_EXPIRED))
                            | (class << flag::SIZE_SHIFT);
                    }
                    self.deliver_data(slot, id, buf);
                    self.process_dirty();
                    let hup = self.conn(id).is_some_and(|c| c.has(flag::HUP_SEEN));
                    // Only while the connection lives: a callback may have closed it, and
                    // its descriptor number may already belong to another socket.
                    let portable_io = self.config.portable_io;
                    let at_urgent_mark = || {
                        self.conn(id).is_some()
                            && crate::sys::urgent::read_again_after_short_read(fd, portable_io)
                    };
                    #[cfg(feature = "tls")]
                    let drained = drained_hint.unwrap_or(n < offered);
                    #[cfg(not(feature = "tls"))]
                    let drained = n < offered;
                    if drained && !hup && !at_urgent_mark() {
                        // A short read drained the socket: skip the read that would only
                        // return EAGAIN. The next arrival raises a new edge. (Not when the
                        // event also reported the peer's FIN: that FIN raises no new edge,
                        // so read on until 0; nor when the read stopped at the urgent mark
                        // and no priority event said so.)
                        return;
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        if let Some(c) = self.conn_mut(id) {
                            c.flags |= flag::READ_PENDING;
                            self.ready.push_back((id.slot, id.gen));
                        }
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.restore_input(id, buf);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.restore_input(id, buf);
                }
                Err(e) => {
                    self.restore_input(id, buf);
                    self.close_now(slot, CloseReason::Io(e));
                    return;
                }
            }
        }
    }

    /// Harness path: enforce the input limit as real reads do, then deliver.
    pub(super) fn deliver_checked(&mut self, slot: usize, id: ConnId, buf: InputBuf) {
        if buf.len() > self.config.max_input {
            self.restore_input(id, buf);
            self.close_now(slot, CloseReason::InputLimit);
            return;
        }
        self.deliver_data(slot, id, buf);
        self.process_dirty();
    }

    pub(super) fn deliver_data(&mut self, slot: usize, id: ConnId, mut buf: InputBuf) {
        if self.conn(id).is_some_and(|c| c.has(flag::PROXY_WAIT)) {
            match self.proxy_input(id, buf) {
                Some(rest) => buf = rest,
                None => return,
            }
        }
        #[cfg(feature = "tls")]
        if let Some(c) = self.conn_mut(id) {
            c.flags &= !flag::TLS_FRESH;
        }
        // A child's handshake that ended in this read is reported before its plaintext.
        #[cfg(feature = "tls")]
        self.tls_ready_notify(id);
        match self.owner_of(id) {
            Some(None) => {
                // A protocol that switched the connection to another hands it what it left
                // unconsumed, in the same turn.
                while self.with_proto(slot, |p, core, id| p.on_data(core, id, &mut buf))
                    == Called::Switched
                    && !buf.is_empty()
                    && self.conn(id).is_some_and(|c| !c.has(flag::NO_READ))
                {}
            }
            Some(Some(parent)) => self.notify_parent(id, parent, ChildEvent::Data(&mut buf)),
            None => {}
        }
        #[cfg(feature = "tls")]
        if self.conn(id).is_some_and(|c| c.has(flag::TLS_FRESH)) {
            // It switched to TLS: what it left is ciphertext; the plaintext in it is
            // delivered when the session yields some.
            self.tls_take_leftover(id, &mut buf);
            if !buf.is_empty() {
                self.restore_input(id, buf);
                self.schedule_read(id);
                return;
            }
        }
        self.restore_input(id, buf);
    }

    pub(super) fn restore_input(&mut self, id: ConnId, buf: InputBuf) {
        if buf.is_empty() {
            self.pool.put(buf);
        } else if let Some(c) = self.conn_mut(id) {
            c.input = Some(buf);
        }
    }

    pub(crate) fn deliver_eof(&mut self, slot: usize, id: ConnId) {
        let Some(c) = self.conn_mut(id) else { return };
        if c.has(flag::EOF) {
            return;
        }
        if c.has(flag::PROXY_WAIT) {
            return self.proxy_eof(slot);
        }
        c.flags |= flag::EOF;
        #[cfg(feature = "tls")]
        if matches!(&c.io, crate::connection::Io::Tls(t) if !t.peer_closed()) {
            c.flags |= flag::TLS_TRUNCATED;
        }
        match self.owner_of(id) {
            Some(None) => {
                self.with_proto(slot, |p, core, id| p.on_eof(core, id));
            }
            Some(Some(parent)) => self.notify_parent(id, parent, ChildEvent::Eof),
            None => {}
        }
        self.process_dirty();
    }

    /// Appends bytes to a virtual connection's input (harness).
    pub(crate) fn push_input(&mut self, id: ConnId, bytes: &[u8]) {
        let now = self.now_ms() as u32;
        let Some(c) = self.conn_mut(id) else { return };
        let mut buf = c.input.take().unwrap_or_default();
        #[cfg(feature = "tls")]
        if matches!(c.io, crate::connection::Io::Tls(_)) {
            // Ciphertext: the session turns it into plaintext input.
            c.flags &= !flag::TLS_FRESH;
            self.tls_ingest(id, bytes, &mut buf);
            let Some(c) = self.conn_mut(id) else { return };
            c.input = Some(buf);
            c.flags = (c.flags | flag::READ_PENDING) & !flag::IDLE_EXPIRED;
            c.last_active = now;
            self.stats.bytes_in += bytes.len() as u64;
            let group = self.group_of(id.slot());
            self.groups[group].bytes_in += bytes.len() as u64;
            return;
        }
        buf.extend_from_slice(bytes);
        c.input = Some(buf);
        c.flags = (c.flags | flag::READ_PENDING) & !flag::IDLE_EXPIRED;
        c.last_active = now;
        let group = c.group as usize;
        self.stats.bytes_in += bytes.len() as u64;
        self.groups[group].bytes_in += bytes.len() as u64;
    }
}

/// A TLS connection closed (after a flush) while it still handshakes reads on: its queued
/// output can only go once the handshake is done, which needs the peer's next flight.
fn tls_handshake_to_finish(c: &crate::connection::Conn) -> bool {
    #[cfg(feature = "tls")]
    {
        use crate::connection::Io;
        c.has(flag::CLOSE_AFTER_FLUSH)
            && !c.has(flag::CLOSE_NOW | flag::EOF | flag::PAUSED_APP | flag::PRESSURE)
            && matches!(&c.io, Io::Tls(t) if t.session.is_handshaking())
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = c;
        false
    }
}
