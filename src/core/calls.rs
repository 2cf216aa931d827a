//! Calling protocols and handlers: a callback gets the protocol taken out of its slot, and a panic closes that connection only.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::panic::{self, AssertUnwindSafe};

use super::{Core, Kind, Slot};
use crate::boxed::AnyProtocol;
use crate::connection::{flag, Owner, ProtoCell};
use crate::context::FdContext;
use crate::{ChildEvent, ConnId, DatagramProtocol, FdHandler};

/// What [`Core::with_proto`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Called {
    /// No protocol to call (closed, a child, or one of its callbacks is running).
    No,
    /// Called.
    Yes,
    /// Called, and the connection now belongs to another protocol.
    Switched,
}

impl Core {
    /// Runs `f` on the protocol of connection `slot`; a panic closes that connection only.
    /// A [`Context::switch_to`](crate::Context::switch_to) asked for during the callback is
    /// applied when it returns (the next protocol's `on_open` runs then). Returns false when
    /// there is no such protocol, [`Called::Switched`] when the connection changed hands.
    pub(super) fn with_proto<F>(&mut self, slot: usize, f: F) -> Called
    where
        F: FnOnce(&mut dyn AnyProtocol, &mut Core, ConnId),
    {
        let Some(Slot {
            gen,
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(slot)
        else {
            return Called::No;
        };
        let id = ConnId::new(slot, *gen);
        let Owner::Proto(p) = &mut c.owner else {
            return Called::No;
        };
        let Some(mut proto) = p.take() else {
            return Called::No;
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            f(proto.as_mut(), self, id);
        }));
        // Callbacks never nest, so a switch recorded now was asked for by this callback.
        let next = self
            .switch
            .take()
            .filter(|(to, _)| *to == id)
            .map(|(_, p)| p);
        let mut switched = false;
        if let Some(c) = self.conn_mut(id) {
            if result.is_err() {
                c.flags |= flag::PANICKED | flag::CLOSE_NOW;
            }
            let closing = c.has(flag::CLOSE_NOW | flag::CLOSING);
            c.owner = match next {
                Some(next) if result.is_ok() && !closing => {
                    switched = true;
                    Owner::Proto(ProtoCell::new(next))
                }
                _ => Owner::Proto(ProtoCell::new(proto)),
            };
        }
        if result.is_err() {
            self.stats.panics += 1;
            tracing::error!(conn = %id, "protocol callback panicked; closing the connection");
        }
        self.mark_dirty(slot);
        if !switched {
            return Called::Yes;
        }
        self.finish_switch(id);
        Called::Switched
    }

    /// Connection `id` changed hands: the new protocol opens, and gets leftover input.
    fn finish_switch(&mut self, id: ConnId) {
        // The old protocol's timers hold values of its own timer type: they go with it.
        self.cancel_user_timers(id.slot());
        tracing::debug!(conn = %id, "switched protocol");
        self.with_proto(id.slot(), |p, core, id| p.on_open(core, id));
        self.schedule_read(id);
    }

    /// Delivers a child's event to its parent's `on_child`.
    pub(super) fn notify_parent(&mut self, child: ConnId, parent: ConnId, event: ChildEvent<'_>) {
        if self.conn(parent).is_some_and(|p| !p.has(flag::CLOSING)) {
            self.with_proto(parent.slot(), |p, core, id| {
                p.on_child(core, id, child, event)
            });
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
        self.with_proto(id.slot(), |p, core, id| p.on_open(core, id));
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
