//! What callbacks ask for: recorded on the connection (flags, queues, the dirty list) and applied by `process_dirty` after the callback returns.

use std::fs::File;
use std::rc::Rc;

use bytes::Bytes;

use super::{Core, Kind, Slot, SlotId};
use crate::boxed::AnyProtocol;
use crate::connection::flag;
use crate::ConnId;
use crate::SlowConsumer;

impl Core {
    pub(super) fn mark_dirty(&mut self, slot: usize) {
        if let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(slot)
        {
            if !c.has(flag::DIRTY) {
                c.flags |= flag::DIRTY;
                self.dirty.push(slot as u32);
            }
        }
    }

    /// Queues `data`, unless output is piling up: when the queue already holds more than the
    /// soft limit and `data` would take it past the hard one, nothing is queued and the
    /// connection closes with [`CloseReason::OutputLimit`](crate::CloseReason). A single large
    /// write to a connection that keeps up (a big response, a big message) is accepted.
    pub(crate) fn write(&mut self, id: ConnId, data: Bytes) -> bool {
        let (limit, soft) = (self.config.output_limit, self.config.output_soft_limit);
        match self.conn_mut(id) {
            Some(c) if !c.has(flag::CLOSE_NOW | flag::CLOSING | flag::WRITE_SHUT) => {
                let over = c.out.len() > soft
                    && c.out.len() + data.len() > limit
                    && !c.has(flag::NO_OUTPUT_LIMIT)
                    && {
                        let held = c.out.memory_len();
                        held > soft && held + data.len() > limit
                    };
                if over {
                    if !c.has(flag::OUTPUT_OVER) {
                        c.flags |= flag::OUTPUT_OVER | flag::CLOSE_NOW;
                        self.stats.output_limit_closes += 1;
                        tracing::debug!(conn = %id, "output limit passed; closing");
                    }
                } else {
                    c.out.push_bytes(data);
                }
                self.mark_dirty(id.slot());
                !over
            }
            _ => false,
        }
    }

    /// Queues `data` for each of `ids` that keeps up; what happens to one that does not (its
    /// queue above the high watermark) is `policy`'s. Returns how many got it.
    pub(crate) fn broadcast(
        &mut self,
        ids: impl IntoIterator<Item = ConnId>,
        data: &Bytes,
        policy: SlowConsumer,
    ) -> usize {
        let mut sent = 0;
        for id in ids {
            if self.is_backpressured(id) {
                if policy == SlowConsumer::Disconnect {
                    if let Some(c) = self.conn_mut(id) {
                        if !c.has(flag::CLOSING) {
                            c.flags |= flag::OUTPUT_OVER | flag::CLOSE_NOW;
                            self.stats.output_limit_closes += 1;
                            self.mark_dirty(id.slot());
                        }
                    }
                }
                continue;
            }
            if self.write(id, data.clone()) {
                sent += 1;
            }
        }
        sent
    }

    /// Lifts (`false`) or restores the output limits of connection `id`.
    pub(crate) fn set_output_limited(&mut self, id: ConnId, limited: bool) {
        if let Some(c) = self.conn_mut(id) {
            if limited {
                c.flags &= !flag::NO_OUTPUT_LIMIT;
            } else {
                c.flags |= flag::NO_OUTPUT_LIMIT;
            }
        }
    }

    pub(crate) fn send_file(&mut self, id: ConnId, file: Rc<File>, off: u64, len: u64) -> bool {
        match self.conn_mut(id) {
            Some(c) if !c.has(flag::CLOSE_NOW | flag::CLOSING | flag::WRITE_SHUT) => {
                c.out.push_file(file, off, len);
                self.mark_dirty(id.slot());
                true
            }
            _ => false,
        }
    }

    pub(crate) fn queued(&self, id: ConnId) -> usize {
        self.conn(id).map_or(0, |c| c.out.len())
    }

    /// The connection stops consuming input for this turn: what it leaves is handed back
    /// after the other connections ready now were served.
    pub(crate) fn yield_now(&mut self, id: ConnId) {
        if let Some(c) = self.conn_mut(id) {
            c.flags |= flag::YIELDED;
            self.mark_dirty(id.slot());
        }
    }

    /// [`is_backpressured`](Self::is_backpressured) asked by the connection itself, which
    /// stops consuming when it is: remembered, so its input is handed over again.
    pub(crate) fn yield_if_backpressured(&mut self, id: ConnId) -> bool {
        let pressed = self.is_backpressured(id);
        if pressed {
            if let Some(c) = self.conn_mut(id) {
                c.flags |= flag::YIELDED;
            }
        }
        pressed
    }

    /// Above the high watermark now (what the running callback queued counts), or not yet
    /// drained below the low one.
    pub(crate) fn is_backpressured(&self, id: ConnId) -> bool {
        let high = self.config.high_watermark;
        self.conn(id)
            .is_some_and(|c| c.has(flag::PRESSURE) || c.out.len() > high)
    }

    pub(crate) fn request_close(&mut self, id: ConnId, flush: bool) {
        if let Some(c) = self.conn_mut(id) {
            c.flags |= if flush {
                flag::CLOSE_AFTER_FLUSH
            } else {
                flag::CLOSE_NOW
            };
            self.mark_dirty(id.slot());
        } else if self.is_open(id) {
            self.pending_close.push(id);
        }
    }

    /// A close after the flush that lingers whatever the socket holds then: the protocol
    /// knows its peer is still sending.
    pub(crate) fn request_close_lingering(&mut self, id: ConnId) {
        if let Some(c) = self.conn_mut(id) {
            c.flags |= flag::LINGER_ASKED;
        }
        self.request_close(id, true);
    }

    pub(crate) fn request_close_slot(&mut self, slot: SlotId) {
        if let Some(id) = self.id_of(slot) {
            self.pending_close.push(id);
        }
    }

    pub(crate) fn request_shutdown_write(&mut self, id: ConnId) {
        if let Some(c) = self.conn_mut(id) {
            c.flags |= flag::SHUT_AFTER_FLUSH;
            self.mark_dirty(id.slot());
        }
    }

    pub(crate) fn set_read_paused(&mut self, id: ConnId, paused: bool) {
        let Some(c) = self.conn_mut(id) else { return };
        if paused {
            c.flags |= flag::PAUSED_APP;
        } else if c.has(flag::PAUSED_APP) {
            c.flags &= !flag::PAUSED_APP;
            self.schedule_read(id);
        }
    }

    /// After reading was paused: read what arrived meanwhile, and hand back unconsumed input
    /// (a protocol that paused mid-pipeline must see it again without new bytes arriving).
    pub(super) fn schedule_read(&mut self, id: ConnId) {
        let Some(c) = self.conn_mut(id) else { return };
        if c.has(flag::NO_READ) {
            return;
        }
        let has_input = c.input.as_ref().is_some_and(|b| !b.is_empty());
        if c.has(flag::READ_PENDING) || has_input {
            c.flags |= flag::READ_PENDING;
            self.ready.push_back((id.slot, id.gen));
        }
    }

    pub(crate) fn notify_drained(&mut self, id: ConnId) {
        if let Some(c) = self.conn_mut(id) {
            c.flags |= flag::NOTIFY_DRAIN;
            self.mark_dirty(id.slot());
        }
    }

    /// Records a protocol switch for connection `id`, applied when the running callback
    /// returns.
    pub(crate) fn request_switch(&mut self, id: ConnId, next: Box<dyn AnyProtocol>) {
        if self.conn(id).is_some() {
            self.switch = Some((id, next));
        }
    }

    pub(crate) fn begin_shutdown(&mut self) {
        self.shutdown_requested = true;
    }
}
