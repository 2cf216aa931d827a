//! Closing and shutdown: children first, then timers, then the last callback.

use std::os::fd::AsRawFd;
use std::panic::{self, AssertUnwindSafe};

use super::{Core, Kind, TimerKind, NIL};
use crate::boxed::RawTimer;
use crate::connection::{flag, Io, Owner, ProtoCell};
use crate::listener::{Acceptor, ListenIo};
use crate::{ChildEvent, CloseReason, ConnId};

impl Core {
    /// Closes slot `slot` now: children first, then timers, then the last callback.
    pub(crate) fn close_now(&mut self, slot: usize, reason: CloseReason) {
        self.close_slot(slot, reason, false);
    }

    /// Closes slot `slot` as [`close_now`](Self::close_now) does; a connection's socket
    /// lingers (`linger.rs`) when `linger` is set.
    pub(super) fn close_slot(&mut self, slot: usize, reason: CloseReason, linger: bool) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        let id = ConnId::new(slot, s.gen);
        match &mut s.kind {
            Kind::Conn(c) => {
                if c.has(flag::CLOSING) {
                    return;
                }
                c.flags |= flag::CLOSING;
                #[cfg(feature = "tls")]
                let reason = match reason {
                    CloseReason::Peer if c.has(flag::TLS_TRUNCATED) => CloseReason::TlsTruncated,
                    reason => reason,
                };
                let children = self.children.take(id);
                for child in children {
                    self.close_now(child as usize, CloseReason::ParentClosed);
                }
                self.cancel_owner_timers(slot);
                let Kind::Conn(mut c) = self.slots.remove(slot).kind else {
                    unreachable!()
                };
                if let (Some(reg), Io::Fd(f)) = (&self.registry, c.io.base()) {
                    // A pipe's other end may be shared with a child process: remove it from
                    // the poll explicitly (closing our descriptor would not).
                    let _ = reg.deregister(&mut mio::unix::SourceFd(&f.as_raw_fd()));
                }
                // A lingering socket keeps its place under the caps until it goes.
                let linger = linger && !matches!(c.io.base(), Io::Virtual(_) | Io::Fd(_));
                if !linger {
                    self.conns -= 1;
                    if c.origin != NIL {
                        self.release(c.origin);
                    }
                }
                self.proxy_forget(slot);
                if linger {
                    let io = std::mem::replace(&mut c.io, Io::Virtual(Box::default()));
                    self.start_linger(slot, io, c.origin, c.group);
                }
                self.stats.open = self.conns as u64;
                self.stats.closed += 1;
                self.group_closed(c.group, &c.owner, &reason);
                if reason.is_error() {
                    self.stats.errors += 1;
                }
                if let Some(buf) = c.input.take() {
                    if buf.is_empty() {
                        self.pool.put(buf);
                    }
                }
                tracing::debug!(conn = %id, ?reason, "closed");
                match std::mem::replace(&mut c.owner, Owner::Proto(ProtoCell::empty())) {
                    Owner::Proto(mut cell) => {
                        if let Some(mut p) = cell.take() {
                            let r = &reason;
                            let res =
                                panic::catch_unwind(AssertUnwindSafe(|| p.on_close(self, id, r)));
                            if res.is_err() {
                                self.stats.panics += 1;
                                tracing::error!(conn = %id, "on_close panicked");
                            }
                        }
                    }
                    Owner::Child(parent) => {
                        self.children.remove(parent, id.slot);
                        self.notify_parent(id, parent, ChildEvent::Closed(&reason));
                    }
                }
                let io = std::mem::replace(&mut c.io, Io::Virtual(Box::default()));
                #[cfg(feature = "tls")]
                let io = match io {
                    Io::Tls(t) => t.inner,
                    io => io,
                };
                match io {
                    Io::Virtual(peer) if !linger => self.graveyard.push((id, peer, reason)),
                    _ => {}
                }
                if !linger {
                    self.resume_waiting_listeners();
                }
            }
            Kind::Listener(_) => {
                self.cancel_owner_timers(slot);
                let Kind::Listener(mut l) = self.slots.remove(slot).kind else {
                    unreachable!()
                };
                if let Some(reg) = &self.registry {
                    // The socket may live on in another process (handed over to a
                    // successor, inherited by a child): closing this descriptor would not
                    // take it out of our poll, and its readiness would reach a reused slot.
                    let _ = match &mut l.io {
                        ListenIo::Tcp(t) => reg.deregister(t),
                        ListenIo::Unix(u) => reg.deregister(u),
                        ListenIo::Virtual(_) => Ok(()),
                    };
                }
                if let Acceptor::Parent(parent) = l.acceptor {
                    self.children.remove(parent, id.slot);
                    self.notify_parent(id, parent, ChildEvent::Closed(&reason));
                }
            }
            Kind::Channel(_) => {
                self.cancel_owner_timers(slot);
                if let Kind::Channel(ch) = self.slots.remove(slot).kind {
                    if let Some(mut h) = ch.handler {
                        h.close();
                    }
                }
            }
            Kind::Linger(_) => self.end_linger(slot),
            Kind::Datagram(_) | Kind::Fd(_) => {
                self.cancel_owner_timers(slot);
                if let Kind::Fd(f) = self.slots.remove(slot).kind {
                    if let Some(reg) = &self.registry {
                        let _ = reg.deregister(&mut mio::unix::SourceFd(&f.fd.as_raw_fd()));
                    }
                }
            }
        }
    }

    /// Closes every connection (shutdown deadline, reactor dropped).
    pub(crate) fn close_all(&mut self, reason: impl Fn() -> CloseReason) {
        let slots: Vec<usize> = self
            .slots
            .iter()
            .filter(|(_, s)| match &s.kind {
                Kind::Conn(c) => matches!(c.owner, Owner::Proto(_)),
                Kind::Linger(_) => true,
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        for slot in slots {
            self.close_now(slot, reason());
        }
        self.process_dirty();
    }

    // ---- shutdown -----------------------------------------------------------------------

    /// Graceful shutdown: stop accepting, tell every protocol, arm the deadline.
    pub(crate) fn start_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.shutdown_requested = true;
        tracing::info!(open = self.conns, "shutting down");
        let listeners: Vec<usize> = self
            .slots
            .iter()
            .filter(|(_, s)| {
                matches!(&s.kind, Kind::Listener(l) if matches!(l.acceptor, Acceptor::Factory(_)))
                    || matches!(&s.kind, Kind::Datagram(_) | Kind::Fd(_))
            })
            .map(|(i, _)| i)
            .collect();
        for slot in listeners {
            self.close_now(slot, CloseReason::Shutdown);
        }
        let conns: Vec<usize> = self
            .slots
            .iter()
            .filter(|(_, s)| matches!(&s.kind, Kind::Conn(c) if matches!(c.owner, Owner::Proto(_))))
            .map(|(i, _)| i)
            .collect();
        for slot in conns {
            self.with_proto(slot, |p, core, id| p.on_shutdown(core, id));
        }
        self.process_dirty();
        let grace = self.config.shutdown_grace;
        self.insert_timer(
            usize::MAX,
            grace,
            TimerKind::ShutdownDeadline,
            RawTimer::new(()),
        );
    }
}
