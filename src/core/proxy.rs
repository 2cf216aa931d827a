//! The PROXY protocol in the core: connections of a listener with
//! [`ListenOptions::proxy_protocol`] wait for their header before anyone sees them.
//!
//! A connection whose header is expected is accepted with no owner (an empty `Owner::Proto`,
//! so no callback can reach it) and the [`flag::PROXY_WAIT`] flag; what it will become (its
//! protocol, or the parent of a child listener) waits in a side table, with a timer. Its
//! first bytes go to [`Core::take_proxy_header`] instead of a protocol; once the header is
//! whole it is stripped, its source address recorded, and [`Core::open_proxied`] admits the
//! connection against the caps under that address and opens it (`on_open`, or
//! `ChildEvent::Accepted`), handing it the bytes that followed the header. A malformed
//! header, an EOF before it is whole, or the timer closes the connection without a callback.
//!
//! The addresses live in the side table (slot -> entry), not in `Conn`, whose size is a
//! memory budget: a connection of a listener without the PROXY protocol costs nothing, and
//! one with it an entry here.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;

use super::{Core, Kind, Slot, TimerKind, NIL};
use crate::boxed::{AnyProtocol, RawTimer};
use crate::connection::{flag, Io, Owner, ProtoCell};
use crate::listener::{Acceptor, ListenProxy};
use crate::pool::InputBuf;
use crate::proxy_header::{self, Status};
use crate::{ChildEvent, CloseReason, ConnId, ListenOptions, TimerId};

/// What the core keeps for a connection of a PROXY-protocol listener, by slot.
pub(crate) type Table = HashMap<u32, Entry>;

/// A connection's entry in the [`Table`].
pub(crate) enum Entry {
    /// Waiting for its header.
    Waiting(Box<Waiting>),
    /// Its header gave this source address.
    Source(SocketAddr),
}

/// A connection waiting for its header: what it becomes, and its deadline.
pub(crate) struct Waiting {
    owner: Pending,
    timer: TimerId,
}

enum Pending {
    /// A connection of a top-level listener (`None`: of the harness, not counted).
    Proto {
        proto: Box<dyn AnyProtocol>,
        listener: Option<(usize, u32)>,
        /// A TLS listener's session, started once the header is read: the header comes in
        /// plaintext before the handshake.
        #[cfg(feature = "tls")]
        tls: Option<Box<(crate::tls::engine::Session, Option<bytes::Bytes>)>>,
    },
    /// A connection accepted by a child listener of `parent`.
    Child { parent: ConnId, listener: ConnId },
}

/// A connection whose header was read, to be opened by [`Core::open_proxied`].
pub(crate) struct Opening(Pending);

/// What [`Core::take_proxy_header`] made of a connection's first bytes.
pub(crate) enum HeaderStep {
    /// Not whole yet: nothing was taken; call again with more bytes.
    Wait,
    /// Read and removed from the buffer, its source recorded: open the connection.
    Done(Opening),
    /// Malformed (or the connection is not waiting for one): it is closed.
    Closed,
}

impl Core {
    /// Gives listener `id` the PROXY protocol of `opts`, if it has one.
    pub(crate) fn set_listener_proxy(&mut self, id: ConnId, opts: &ListenOptions) {
        let Some(policy) = &opts.proxy_protocol else {
            return;
        };
        if let Some(Slot {
            kind: Kind::Listener(l),
            ..
        }) = self.slots.get_mut(id.slot())
        {
            l.proxy = Some(Box::new(ListenProxy {
                policy: policy.clone(),
                timeout: opts.proxy_header_timeout,
            }));
        }
    }

    /// Hook of `accepted`: must a connection from `peer` on listener `slot` send a header?
    pub(super) fn proxy_expected(&self, slot: usize, peer: Option<SocketAddr>) -> bool {
        match self.slots.get(slot).map(|s| &s.kind) {
            Some(Kind::Listener(l)) => l
                .proxy
                .as_ref()
                .is_some_and(|p| p.policy.expects_header(peer)),
            _ => false,
        }
    }

    /// Hook of `accepted`: adds the connection, waiting for its header.
    pub(super) fn proxy_accept(&mut self, slot: usize, io: Io) -> Option<ConnId> {
        let Some(Slot {
            gen,
            kind: Kind::Listener(l),
            ..
        }) = self.slots.get_mut(slot)
        else {
            return None;
        };
        let gen = *gen;
        let timeout = l.proxy.as_ref().map(|p| p.timeout)?;
        #[cfg(feature = "tls")]
        let tls = match l.tls.as_ref().map(|t| t.session()) {
            None => None,
            Some(Ok(session)) => Some(Box::new(session)),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "TLS session");
                return None;
            }
        };
        let owner = match &mut l.acceptor {
            Acceptor::Factory(factory) => Pending::Proto {
                proto: factory(),
                listener: Some((slot, gen)),
                #[cfg(feature = "tls")]
                tls,
            },
            Acceptor::Parent(parent) => Pending::Child {
                parent: *parent,
                listener: ConnId::new(slot, gen),
            },
        };
        let top = matches!(owner, Pending::Proto { .. });
        match self.proxy_wait(io, owner, timeout) {
            Ok(id) => {
                if top {
                    self.group_accepted(id, slot);
                }
                Some(id)
            }
            Err(e) => {
                tracing::warn!(error = %e, "registering an accepted connection failed");
                None
            }
        }
    }

    /// A harness connection that must send a header before `proto` opens.
    pub(crate) fn open_behind_proxy(
        &mut self,
        io: Io,
        proto: Box<dyn AnyProtocol>,
        timeout: Duration,
    ) -> io::Result<ConnId> {
        let owner = Pending::Proto {
            proto,
            listener: None,
            #[cfg(feature = "tls")]
            tls: None,
        };
        self.proxy_wait(io, owner, timeout)
    }

    fn proxy_wait(&mut self, io: Io, owner: Pending, timeout: Duration) -> io::Result<ConnId> {
        let id = self.add_conn(io, Owner::Proto(ProtoCell::empty()), flag::PROXY_WAIT)?;
        let timer = self.insert_timer(
            id.slot(),
            timeout,
            TimerKind::ProxyHeader,
            RawTimer::new(()),
        );
        let waiting = Waiting { owner, timer };
        self.proxied
            .insert(id.slot, Entry::Waiting(Box::new(waiting)));
        tracing::debug!(conn = %id, "accepted; waiting for its PROXY protocol header");
        Ok(id)
    }

    /// Hook of `deliver_data` for a connection waiting for its header: takes the header
    /// from `buf` and opens the connection; returns what is left for its new owner.
    pub(super) fn proxy_input(&mut self, id: ConnId, mut buf: InputBuf) -> Option<InputBuf> {
        let opening = match self.take_proxy_header(id, &mut buf) {
            HeaderStep::Done(opening) => opening,
            HeaderStep::Wait | HeaderStep::Closed => {
                self.restore_input(id, buf);
                return None;
            }
        };
        self.open_proxied(id, opening);
        #[cfg(feature = "tls")]
        if !buf.is_empty() && matches!(self.conn(id).map(|c| &c.io), Some(Io::Tls(_))) {
            // What followed the header is the start of the handshake.
            let cipher = buf.split().freeze();
            self.tls_ingest(id, &cipher, &mut buf);
        }
        // `on_open` may have paused reading, closed, or been a refusal: what is left then
        // waits in the connection's buffer (delivered when reading resumes).
        if buf.is_empty() || self.conn(id).is_none_or(|c| c.has(flag::NO_READ)) {
            self.restore_input(id, buf);
            return None;
        }
        Some(buf)
    }

    /// Reads the PROXY protocol header at the start of `buf` for connection `id` (waiting
    /// for one): on a whole header, removes it from `buf`, records its source as the
    /// connection's peer address, and says to open the connection
    /// ([`open_proxied`](Self::open_proxied)); on a malformed one, closes the connection.
    /// Takes any buffer of the connection's raw bytes, so a transport layered under the
    /// protocol (TLS) strips the header before it decodes anything.
    pub(crate) fn take_proxy_header(&mut self, id: ConnId, buf: &mut BytesMut) -> HeaderStep {
        if !self.conn(id).is_some_and(|c| c.has(flag::PROXY_WAIT)) {
            return HeaderStep::Closed;
        }
        let (consumed, source) = match proxy_header::parse(buf) {
            Ok(Status::Incomplete) => return HeaderStep::Wait,
            Ok(Status::Done {
                consumed, source, ..
            }) => (consumed, source),
            Err(e) => {
                tracing::debug!(conn = %id, error = %e, "bad PROXY protocol header; closing");
                self.stats.proxy_header_errors += 1;
                self.close_now(id.slot(), CloseReason::ProxyHeader);
                return HeaderStep::Closed;
            }
        };
        let _ = buf.split_to(consumed);
        let Some(Entry::Waiting(waiting)) = self.proxied.remove(&id.slot) else {
            self.close_now(id.slot(), CloseReason::ProxyHeader);
            return HeaderStep::Closed;
        };
        let Waiting { owner, timer } = *waiting;
        self.cancel_timer(timer);
        if let Some(source) = source {
            self.proxied.insert(id.slot, Entry::Source(source));
        }
        if let Some(c) = self.conn_mut(id) {
            c.flags &= !flag::PROXY_WAIT;
        }
        HeaderStep::Done(Opening(owner))
    }

    /// Opens connection `id` once its header is read: admitted against the caps under its
    /// new peer address, then `on_open` (or `on_refused`); a child is announced to its
    /// parent with that address.
    pub(crate) fn open_proxied(&mut self, id: ConnId, opening: Opening) {
        let peer = self.peer_addr(id);
        match opening.0 {
            Pending::Proto {
                proto,
                listener,
                #[cfg(feature = "tls")]
                tls,
            } => {
                let admitted = match listener {
                    None => Ok(NIL),
                    Some((slot, gen)) if self.slots.get(slot).is_some_and(|s| s.gen == gen) => {
                        self.admit(slot, peer)
                    }
                    Some(_) => {
                        // The listener closed (shutdown) while the header was on its way.
                        drop(proto);
                        return self.close_now(id.slot(), CloseReason::Shutdown);
                    }
                };
                let Some(c) = self.conn_mut(id) else {
                    if let Ok(origin) = admitted {
                        if origin != NIL {
                            self.release(origin);
                        }
                    }
                    return;
                };
                c.owner = Owner::Proto(ProtoCell::new(proto));
                #[cfg(feature = "tls")]
                if let Some(session) = tls {
                    let (session, reply) = *session;
                    self.start_tls_with(id, session, reply, false);
                }
                let Some(c) = self.conn_mut(id) else { return };
                match admitted {
                    Ok(origin) => {
                        c.origin = origin;
                        tracing::debug!(conn = %id, ?peer, "PROXY protocol header read; opening");
                        self.open_proto(id);
                    }
                    Err(why) => {
                        c.flags |= flag::REFUSED;
                        self.stats.refused += 1;
                        let group = self.group_of(id.slot());
                        self.groups[group].refused += 1;
                        tracing::debug!(conn = %id, ?peer, ?why, "refused");
                        let limit = Some(self.config.refusal_time);
                        self.set_idle_timeout(id, limit);
                        self.with_proto(id.slot(), |p, core, id| p.on_refused(core, id, why));
                        self.process_dirty();
                    }
                }
            }
            Pending::Child { parent, listener } => {
                if self.conn(parent).is_none_or(|p| p.has(flag::CLOSING)) {
                    return self.close_now(id.slot(), CloseReason::ParentClosed);
                }
                if let Some(c) = self.conn_mut(id) {
                    c.owner = Owner::Child(parent);
                }
                self.adopt(parent, id.slot);
                let peer = peer.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                self.notify_parent(listener, parent, ChildEvent::Accepted { conn: id, peer });
                self.process_dirty();
            }
        }
    }

    /// Hook of `deliver_eof`: the peer closed before its header was whole.
    pub(super) fn proxy_eof(&mut self, slot: usize) {
        tracing::debug!(slot, "connection closed before its PROXY protocol header");
        self.stats.proxy_header_errors += 1;
        self.close_now(slot, CloseReason::ProxyHeader);
    }

    /// The header timer of `slot` ran out.
    pub(super) fn proxy_timeout(&mut self, slot: usize) {
        let waiting = matches!(
            self.slots.get(slot).map(|s| &s.kind),
            Some(Kind::Conn(c)) if c.has(flag::PROXY_WAIT)
        );
        if waiting {
            tracing::debug!(slot, "no PROXY protocol header in time; closing");
            self.stats.proxy_header_timeouts += 1;
            self.close_now(slot, CloseReason::ProxyHeader);
        }
    }

    /// Hook of `close_now`: slot `slot` closed, its entry goes (a waiting protocol is
    /// dropped without a callback: it never opened).
    pub(super) fn proxy_forget(&mut self, slot: usize) {
        if !self.proxied.is_empty() {
            self.proxied.remove(&(slot as u32));
        }
    }

    /// The source address the PROXY protocol header of connection `id` gave, if any.
    pub(crate) fn proxy_source(&self, id: ConnId) -> Option<SocketAddr> {
        if self.proxied.is_empty() {
            return None;
        }
        match self.proxied.get(&id.slot) {
            Some(Entry::Source(a)) if self.live(id).is_some() => Some(*a),
            _ => None,
        }
    }
}
