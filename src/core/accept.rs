//! Listeners and accepting: budgets per wake, back-off on descriptor exhaustion, the connection limit.

use std::io;
use std::net::SocketAddr;

use mio::{Interest, Token};

use super::{Core, Kind, Slot, TimerKind, NIL};
use crate::boxed::RawTimer;
use crate::connection::{flag, Io, Owner, ProtoCell};
use crate::listener::{self, Acceptor, ListenIo, Listener};
#[cfg(feature = "tls")]
use crate::CloseReason;
use crate::{ChildEvent, ConnId};

impl Core {
    pub(crate) fn add_listener(
        &mut self,
        io: ListenIo,
        acceptor: Acceptor,
        nodelay: bool,
        max: Option<usize>,
    ) -> io::Result<ConnId> {
        let parent = match &acceptor {
            Acceptor::Parent(p) => Some(*p),
            Acceptor::Factory(_) => None,
        };
        let id = self.insert(Kind::Listener(Listener {
            io,
            acceptor,
            nodelay,
            paused: false,
            open: 0,
            max: max.map_or(u32::MAX, |m| m.min(u32::MAX as usize) as u32),
            group: 0,
            proxy: None,
            #[cfg(feature = "tls")]
            tls: None,
        }));
        if let (
            Some(reg),
            Some(Slot {
                kind: Kind::Listener(l),
                ..
            }),
        ) = (&self.registry, self.slots.get_mut(id.slot()))
        {
            let res = match &mut l.io {
                ListenIo::Tcp(t) => reg.register(t, Token(id.slot()), Interest::READABLE),
                ListenIo::Unix(u) => reg.register(u, Token(id.slot()), Interest::READABLE),
                ListenIo::Virtual(_) => Ok(()),
            };
            if let Err(e) = res {
                self.slots.remove(id.slot());
                return Err(e);
            }
        }
        if let Some(parent) = parent {
            self.adopt(parent, id.slot);
        }
        Ok(id)
    }

    /// Accepts until `WouldBlock`, the per-wake budget, or a resource limit.
    pub(crate) fn do_accept(&mut self, slot: usize) {
        for _ in 0..self.config.accept_budget {
            let at_limit = self.conns >= self.config.max_connections + self.config.refusal_reserve;
            let Some(Slot {
                gen,
                kind: Kind::Listener(l),
                ..
            }) = self.slots.get_mut(slot)
            else {
                return;
            };
            let gen = *gen;
            if l.paused {
                return;
            }
            if at_limit {
                l.paused = true;
                self.stats.accept_backoffs += 1;
                self.waiting_listeners.push((slot as u32, gen));
                tracing::warn!(
                    limit = self.config.max_connections,
                    "connection limit reached; accepting paused"
                );
                return;
            }
            let res = match &l.io {
                ListenIo::Tcp(t) => t.accept().map(|(s, a)| {
                    if l.nodelay {
                        let _ = s.set_nodelay(true);
                    }
                    (Io::Tcp(s), Some(a))
                }),
                ListenIo::Unix(u) => u.accept().map(|(s, _)| (Io::Unix(s), None)),
                ListenIo::Virtual(_) => return,
            };
            match res {
                Ok((io, peer)) => {
                    self.accepted(slot, io, peer);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if listener::is_transient_accept_error(&e) => continue,
                Err(e) if listener::is_resource_exhaustion(&e) => {
                    // Out of descriptors: pause this listener (no spinning on a readiness the
                    // kernel keeps reporting) until a connection closes or the back-off ends.
                    if let Some(Slot {
                        kind: Kind::Listener(l),
                        ..
                    }) = self.slots.get_mut(slot)
                    {
                        l.paused = true;
                    }
                    self.stats.accept_backoffs += 1;
                    self.waiting_listeners.push((slot as u32, gen));
                    let backoff = self.config.accept_backoff;
                    self.insert_timer(slot, backoff, TimerKind::AcceptResume, RawTimer::new(()));
                    tracing::warn!(error = %e, "accept failed for lack of resources; backing off");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    return;
                }
            }
        }
        if let Some(id) = self.id_of(slot) {
            self.ready.push_back((id.slot, id.gen));
        }
    }

    /// A listener accepted `io`: make it a connection of its own or a child.
    pub(crate) fn accepted(
        &mut self,
        listener_slot: usize,
        io: Io,
        peer: Option<SocketAddr>,
    ) -> Option<ConnId> {
        self.stats.accepted += 1;
        if self.proxy_expected(listener_slot, peer) {
            return self.proxy_accept(listener_slot, io);
        }
        let counted = match self.slots.get(listener_slot).map(|s| &s.kind) {
            Some(Kind::Listener(l)) if matches!(l.acceptor, Acceptor::Factory(_)) => {
                Some(self.admit(listener_slot, peer))
            }
            _ => None,
        };
        let Some(Slot {
            kind: Kind::Listener(l),
            ..
        }) = self.slots.get_mut(listener_slot)
        else {
            return None;
        };
        match &mut l.acceptor {
            Acceptor::Factory(factory) => {
                let proto = factory();
                #[cfg(feature = "tls")]
                let tls = l.tls.as_ref().map(|t| t.session());
                let admitted = counted.unwrap_or(Ok(NIL));
                let flags = if admitted.is_err() { flag::REFUSED } else { 0 };
                match self.add_conn(io, Owner::Proto(ProtoCell::new(proto)), flags) {
                    Ok(id) => match admitted {
                        Ok(origin) => {
                            self.group_accepted(id, listener_slot);
                            if let Some(c) = self.conn_mut(id) {
                                c.origin = origin;
                            }
                            #[cfg(feature = "tls")]
                            match tls {
                                Some(Ok((session, reply))) => {
                                    self.start_tls_with(id, session, reply, false);
                                }
                                Some(Err(e)) => {
                                    tracing::warn!(conn = %id, error = %e, "TLS session");
                                    self.close_now(id.slot(), CloseReason::Tls(e.to_string()));
                                    return None;
                                }
                                None => {}
                            }
                            tracing::debug!(conn = %id, ?peer, "accepted");
                            self.open_proto(id);
                            Some(id)
                        }
                        Err(why) => {
                            self.group_accepted(id, listener_slot);
                            self.stats.refused += 1;
                            let group = self.group_of(id.slot());
                            self.groups[group].refused += 1;
                            tracing::debug!(conn = %id, ?peer, ?why, "refused");
                            let limit = Some(self.config.refusal_time);
                            self.set_idle_timeout(id, limit);
                            self.with_proto(id.slot(), |p, core, id| p.on_refused(core, id, why));
                            self.process_dirty();
                            Some(id)
                        }
                    },
                    Err(e) => {
                        if let Ok(origin) = admitted {
                            if origin != NIL {
                                self.release(origin);
                            }
                        }
                        tracing::warn!(error = %e, "registering an accepted connection failed");
                        None
                    }
                }
            }
            Acceptor::Parent(parent) => {
                let parent = *parent;
                let listener_id = self.id_of(listener_slot)?;
                let id = self.add_conn(io, Owner::Child(parent), 0).ok()?;
                let peer = peer.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                self.notify_parent(listener_id, parent, ChildEvent::Accepted { conn: id, peer });
                self.process_dirty();
                Some(id)
            }
        }
    }

    pub(super) fn resume_listener(&mut self, slot: usize) {
        if let Some(Slot {
            gen,
            kind: Kind::Listener(l),
            ..
        }) = self.slots.get_mut(slot)
        {
            if l.paused {
                l.paused = false;
                self.ready.push_back((slot as u32, *gen));
            }
        }
    }

    /// A descriptor was freed: listeners that backed off try again.
    pub(super) fn resume_waiting_listeners(&mut self) {
        let limit = self.config.max_connections + self.config.refusal_reserve;
        if self.waiting_listeners.is_empty() || self.conns >= limit {
            return;
        }
        for (slot, gen) in std::mem::take(&mut self.waiting_listeners) {
            if self.slots.get(slot as usize).is_some_and(|s| s.gen == gen) {
                self.resume_listener(slot as usize);
            }
        }
    }
}
