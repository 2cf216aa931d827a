//! Calling protocols and handlers: a callback gets the protocol taken out of its slot, and a panic closes that connection only.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::panic::{self, AssertUnwindSafe};

use super::{Core, Kind, Slot};
use crate::connection::{flag, Owner};
use crate::context::{Context, FdContext};
use crate::{ChildEvent, ConnId, DatagramProtocol, FdHandler, Protocol};

impl Core {
    /// Runs `f` on the protocol of connection `slot` with a [`Context`]; a panic closes that
    /// connection only. Returns false when there is no such protocol.
    pub(super) fn with_proto<F>(&mut self, slot: usize, f: F) -> bool
    where
        F: FnOnce(&mut dyn Protocol, &mut Context<'_>),
    {
        let Some(Slot {
            gen,
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(slot)
        else {
            return false;
        };
        let id = ConnId::new(slot, *gen);
        let Owner::Proto(p) = &mut c.owner else {
            return false;
        };
        let Some(mut proto) = p.take() else {
            return false;
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut cx = Context { core: self, id };
            f(proto.as_mut(), &mut cx);
        }));
        if let Some(c) = self.conn_mut(id) {
            c.owner = Owner::Proto(Some(proto));
            if result.is_err() {
                c.flags |= flag::PANICKED | flag::CLOSE_NOW;
            }
        }
        if result.is_err() {
            self.stats.panics += 1;
            tracing::error!(conn = %id, "protocol callback panicked; closing the connection");
        }
        self.mark_dirty(slot);
        true
    }

    /// Delivers a child's event to its parent's `on_child`.
    pub(super) fn notify_parent(&mut self, child: ConnId, parent: ConnId, event: ChildEvent<'_>) {
        if self.conn(parent).is_some_and(|p| !p.has(flag::CLOSING)) {
            self.with_proto(parent.slot(), |p, cx| p.on_child(cx, child, event));
        }
    }

    pub(super) fn owner_of(&self, id: ConnId) -> Option<Option<ConnId>> {
        self.conn(id).map(|c| match c.owner {
            Owner::Proto(_) => None,
            Owner::Child(p) => Some(p),
        })
    }

    /// `on_open` of a new top-level connection.
    pub(crate) fn open_proto(&mut self, id: ConnId) {
        self.with_proto(id.slot(), |p, cx| p.on_open(cx));
        self.process_dirty();
    }

    pub(super) fn with_handler<F>(&mut self, slot: usize, f: F)
    where
        F: FnOnce(HandlerRef<'_>, &mut FdContext<'_>, BorrowedFd<'_>),
    {
        enum Taken {
            D(Box<dyn DatagramProtocol>),
            F(Box<dyn FdHandler>),
        }
        let (taken, raw) = match self.slots.get_mut(slot).map(|s| &mut s.kind) {
            Some(Kind::Datagram(d)) => match d.handler.take() {
                Some(h) => (Taken::D(h), d.sock.as_raw_fd()),
                None => return,
            },
            Some(Kind::Fd(fs)) => match fs.handler.take() {
                Some(h) => (Taken::F(h), fs.fd.as_raw_fd()),
                None => return,
            },
            _ => return,
        };
        let mut taken = taken;
        // SAFETY: the slot owns the descriptor and is only closed through `pending_close`,
        // which is processed after this call returns.
        let fd = unsafe { BorrowedFd::borrow_raw(raw) };
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut cx = FdContext { core: self, slot };
            let h = match &mut taken {
                Taken::D(h) => HandlerRef::Datagram(h.as_mut()),
                Taken::F(h) => HandlerRef::Fd(h.as_mut()),
            };
            f(h, &mut cx, fd);
        }));
        match (self.slots.get_mut(slot).map(|s| &mut s.kind), taken) {
            (Some(Kind::Datagram(d)), Taken::D(h)) => d.handler = Some(h),
            (Some(Kind::Fd(fs)), Taken::F(h)) => fs.handler = Some(h),
            _ => {}
        }
        if result.is_err() {
            self.stats.panics += 1;
            tracing::error!(slot, "descriptor handler panicked; closing it");
            self.request_close_slot(slot);
        }
    }
}

/// A datagram or descriptor handler lent to a callback.
pub(crate) enum HandlerRef<'a> {
    Datagram(&'a mut dyn DatagramProtocol),
    Fd(&'a mut dyn FdHandler),
}
