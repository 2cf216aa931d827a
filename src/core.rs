//! The state shared by the reactor and the test harness: the slot table (connections,
//! listeners, datagram sockets, raw descriptors), timers, buffers and counters, and every
//! transition a connection goes through.
//!
//! Rules that keep it simple:
//! * A protocol is taken out of its slot while one of its callbacks runs, so the callback can
//!   hold `&mut Core` through its [`Context`]. Everything a callback asks for is *recorded*
//!   (flags, queues, the dirty list) and applied by [`Core::process_dirty`] after it returns:
//!   callbacks never nest, and nothing is closed under a running callback.
//! * Only `core` calls protocols. The reactor feeds it readiness; the harness feeds it bytes.
//! * Virtual connections (no descriptor) behave exactly like real ones, except that writes go
//!   to a [`VirtualPeer`] instead of a socket.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use mio::{Interest, Registry, Token};
use slab::Slab;

use crate::buffer::{read_into, BufferPool};
use crate::connection::{flag, Conn, Io, Owner, VirtualPeer};
use crate::context::{Context, FdContext};
use crate::listener::{self, Acceptor, ListenIo, Listener};
use crate::stats::Stats;
use crate::sys;
use crate::timer::{Key, Wheel};
use crate::{
    ChildEvent, CloseReason, Config, ConnId, DatagramProtocol, FdHandler, ListenOptions, Protocol,
    TimerId,
};

pub(crate) type SlotId = usize;

const NIL: u32 = u32::MAX;

/// What lives in a slot of the table.
pub(crate) enum Kind {
    Conn(Conn),
    Listener(Listener),
    Datagram(DatagramSlot),
    Fd(FdSlot),
}

/// A slot: its generation (so stale ids are ignored) and the head of its timer list.
pub(crate) struct Slot {
    pub gen: u32,
    pub timers: u32,
    pub kind: Kind,
}

/// A UDP socket and its handler.
pub(crate) struct DatagramSlot {
    pub sock: mio::net::UdpSocket,
    pub handler: Option<Box<dyn DatagramProtocol>>,
}

/// Any descriptor and its handler.
pub(crate) struct FdSlot {
    pub fd: OwnedFd,
    pub handler: Option<Box<dyn FdHandler>>,
}

#[derive(Clone, Copy, Debug)]
enum TimerKind {
    User(u64),
    Idle,
    AcceptResume,
    ShutdownDeadline,
}

/// A timer's payload: its owner slot and its links in the owner's list (so closing a
/// connection cancels its timers in time proportional to their number).
struct TimerVal {
    owner: u32,
    owner_gen: u32,
    kind: TimerKind,
    prev: u32,
    next: u32,
}

pub(crate) struct Core {
    pub(crate) slots: Slab<Slot>,
    timers: Wheel<TimerVal>,
    registry: Option<Registry>,
    pub(crate) config: Config,
    pub(crate) stats: Stats,
    pub(crate) shutting_down: bool,
    /// Graceful shutdown asked from a callback or a handle; started by the loop.
    pub(crate) shutdown_requested: bool,
    /// Leave the loop now.
    pub(crate) stop: bool,
    start: Instant,
    now: Instant,
    next_gen: u32,
    dirty: Vec<u32>,
    pending_close: Vec<ConnId>,
    pub(crate) ready: VecDeque<(u32, u32)>,
    pool: BufferPool,
    waiting_listeners: Vec<(u32, u32)>,
    /// Closed virtual connections, for the harness to collect.
    pub(crate) graveyard: Vec<(ConnId, Box<VirtualPeer>, CloseReason)>,
    udp_scratch: Vec<u8>,
    due: Vec<(Key, u32)>,
    conns: usize,
    virtual_port: u16,
}

impl Core {
    pub(crate) fn new(config: Config, registry: Option<Registry>, now: Instant) -> Core {
        Core {
            slots: Slab::new(),
            timers: Wheel::new(),
            registry,
            pool: BufferPool::new(config.read_buffer),
            config,
            stats: Stats::default(),
            shutting_down: false,
            shutdown_requested: false,
            stop: false,
            start: now,
            now,
            next_gen: 1,
            dirty: Vec::new(),
            pending_close: Vec::new(),
            ready: VecDeque::new(),
            waiting_listeners: Vec::new(),
            graveyard: Vec::new(),
            udp_scratch: Vec::new(),
            due: Vec::new(),
            conns: 0,
            virtual_port: 40000,
        }
    }

    // ---- clock ------------------------------------------------------------------------

    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    pub(crate) fn set_now(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn now_ms(&self) -> u64 {
        self.now.duration_since(self.start).as_millis() as u64
    }

    /// How long until the next timer is due (`None`: no timer).
    pub(crate) fn next_timer_in(&self) -> Option<Duration> {
        let ms = self.timers.next_deadline()?;
        let at = self.start + Duration::from_millis(ms);
        Some(at.saturating_duration_since(self.now))
    }

    /// The instant of the next timer (harness).
    pub(crate) fn next_timer_at(&self) -> Option<Instant> {
        let ms = self.timers.next_deadline()?;
        Some(self.start + Duration::from_millis(ms))
    }

    // ---- the slot table ----------------------------------------------------------------

    fn insert(&mut self, kind: Kind) -> ConnId {
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1).max(1);
        let slot = self.slots.insert(Slot {
            gen,
            timers: NIL,
            kind,
        });
        ConnId::new(slot, gen)
    }

    fn live(&self, id: ConnId) -> Option<&Slot> {
        self.slots.get(id.slot()).filter(|s| s.gen == id.gen)
    }

    pub(crate) fn conn(&self, id: ConnId) -> Option<&Conn> {
        match self.live(id) {
            Some(Slot {
                kind: Kind::Conn(c),
                ..
            }) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        match self.slots.get_mut(id.slot()) {
            Some(Slot {
                gen,
                kind: Kind::Conn(c),
                ..
            }) if *gen == id.gen => Some(c),
            _ => None,
        }
    }

    fn id_of(&self, slot: usize) -> Option<ConnId> {
        self.slots.get(slot).map(|s| ConnId::new(slot, s.gen))
    }

    pub(crate) fn is_open(&self, id: ConnId) -> bool {
        self.live(id).is_some()
    }

    /// Open connections (children included, listeners not).
    pub(crate) fn conn_count(&self) -> usize {
        self.conns
    }

    fn register(&self, slot: usize, io: &mut Io, interest: Interest) -> io::Result<()> {
        let Some(reg) = &self.registry else {
            return Ok(());
        };
        let token = Token(slot);
        match io {
            Io::Tcp(s) => reg.register(s, token, interest),
            Io::Unix(s) => reg.register(s, token, interest),
            Io::Fd(f) => reg.register(&mut mio::unix::SourceFd(&f.as_raw_fd()), token, interest),
            Io::Virtual(_) => Ok(()),
        }
    }

    /// Adds a connection and registers it for read and write readiness (edge-triggered, once:
    /// no `epoll_ctl` churn afterwards).
    pub(crate) fn add_conn(&mut self, io: Io, owner: Owner, flags: u32) -> io::Result<ConnId> {
        let mut conn = Conn::new(io, owner, self.now_ms() as u32);
        conn.flags = flags;
        let id = self.insert(Kind::Conn(conn));
        let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(id.slot())
        else {
            unreachable!()
        };
        let mut io = std::mem::replace(&mut c.io, Io::Virtual(Box::default()));
        let res = self.register(
            id.slot(),
            &mut io,
            sys::conn_interest(self.config.portable_io),
        );
        if let Some(c) = self.conn_mut(id) {
            c.io = io;
        }
        if let Err(e) = res {
            self.slots.remove(id.slot());
            return Err(e);
        }
        self.conns += 1;
        self.stats.open = self.conns as u64;
        if let Some(idle) = self.config.idle_timeout {
            self.insert_timer(id.slot(), idle, TimerKind::Idle);
        }
        if let Owner::Child(parent) = self.conn(id).map(|c| &c.owner).unwrap() {
            let parent = *parent;
            if let Some(p) = self.conn_mut(parent) {
                p.children.push(id.slot);
            }
        }
        Ok(id)
    }

    // ---- calling protocols -------------------------------------------------------------

    /// Runs `f` on the protocol of connection `slot` with a [`Context`]; a panic closes that
    /// connection only. Returns false when there is no such protocol.
    fn with_proto<F>(&mut self, slot: usize, f: F) -> bool
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
    fn notify_parent(&mut self, child: ConnId, parent: ConnId, event: ChildEvent<'_>) {
        if self.conn(parent).is_some_and(|p| !p.has(flag::CLOSING)) {
            self.with_proto(parent.slot(), |p, cx| p.on_child(cx, child, event));
        }
    }

    fn owner_of(&self, id: ConnId) -> Option<Option<ConnId>> {
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

    fn with_handler<F>(&mut self, slot: usize, f: F)
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

    // ---- what callbacks ask for (recorded, applied by process_dirty) -------------------

    fn mark_dirty(&mut self, slot: usize) {
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

    pub(crate) fn write(&mut self, id: ConnId, data: Bytes) -> bool {
        match self.conn_mut(id) {
            Some(c) if !c.has(flag::CLOSE_NOW | flag::CLOSING | flag::WRITE_SHUT) => {
                c.out.push_bytes(data);
                self.mark_dirty(id.slot());
                true
            }
            _ => false,
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

    pub(crate) fn is_backpressured(&self, id: ConnId) -> bool {
        self.conn(id).is_some_and(|c| c.has(flag::PRESSURE))
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
    fn schedule_read(&mut self, id: ConnId) {
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

    pub(crate) fn begin_shutdown(&mut self) {
        self.shutdown_requested = true;
    }

    // ---- timers -------------------------------------------------------------------------

    fn insert_timer(&mut self, owner: usize, after: Duration, kind: TimerKind) -> TimerId {
        let mut ms = after.as_millis() as u64;
        if Duration::from_millis(ms) < after {
            ms += 1; // never early
        }
        let when = self.now_ms() + ms;
        let (owner_gen, head) = match self.slots.get(owner) {
            Some(s) => (s.gen, s.timers),
            None => (0, NIL),
        };
        let (key, gen) = self.timers.insert(
            when,
            TimerVal {
                owner: owner as u32,
                owner_gen,
                kind,
                prev: NIL,
                next: head,
            },
        );
        if head != NIL {
            if let Some(h) = self.timers.get_mut(head) {
                h.prev = key;
            }
        }
        if let Some(s) = self.slots.get_mut(owner) {
            s.timers = key;
        }
        TimerId { key, gen }
    }

    pub(crate) fn set_timer(&mut self, slot: SlotId, after: Duration, tag: u64) -> TimerId {
        if !self.slots.contains(slot) {
            return TimerId { key: NIL, gen: 0 };
        }
        self.insert_timer(slot, after, TimerKind::User(tag))
    }

    /// Unlinks timer `key` from its owner's list (the entry must still be in the wheel).
    fn unlink_timer(&mut self, key: Key) {
        let Some(v) = self.timers.get(key) else {
            return;
        };
        let (owner, owner_gen, prev, next) = (v.owner as usize, v.owner_gen, v.prev, v.next);
        if prev != NIL {
            if let Some(p) = self.timers.get_mut(prev) {
                p.next = next;
            }
        } else if let Some(s) = self.slots.get_mut(owner) {
            if s.gen == owner_gen && s.timers == key {
                s.timers = next;
            }
        }
        if next != NIL {
            if let Some(n) = self.timers.get_mut(next) {
                n.prev = prev;
            }
        }
    }

    pub(crate) fn cancel_timer(&mut self, t: TimerId) -> bool {
        if self.timers.gen_of(t.key) != Some(t.gen) {
            return false;
        }
        self.unlink_timer(t.key);
        self.timers.remove(t.key, t.gen).is_some()
    }

    fn cancel_owner_timers(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        let mut key = std::mem::replace(&mut s.timers, NIL);
        while key != NIL {
            let next = self.timers.get(key).map_or(NIL, |v| v.next);
            if let Some(gen) = self.timers.gen_of(key) {
                self.timers.remove(key, gen);
            }
            key = next;
        }
    }

    /// Fires every timer due by now.
    pub(crate) fn fire_timers(&mut self) {
        let now = self.now_ms();
        let mut due = std::mem::take(&mut self.due);
        self.timers.advance(now, &mut due);
        for (key, gen) in due.drain(..) {
            if self.timers.gen_of(key) != Some(gen) {
                continue; // cancelled by an earlier callback of this batch
            }
            self.unlink_timer(key);
            let Some(v) = self.timers.take(key, gen) else {
                continue;
            };
            let slot = v.owner as usize;
            let alive = self.slots.get(slot).is_some_and(|s| s.gen == v.owner_gen);
            match v.kind {
                TimerKind::User(tag) if alive => match self.slots.get(slot).map(|s| &s.kind) {
                    Some(Kind::Conn(_)) => {
                        self.with_proto(slot, |p, cx| p.on_timer(cx, tag));
                    }
                    Some(Kind::Datagram(_)) | Some(Kind::Fd(_)) => {
                        self.with_handler(slot, |h, cx, fd| match h {
                            HandlerRef::Datagram(d) => d.on_timer(cx, tag),
                            HandlerRef::Fd(f) => f.on_timer(cx, fd, tag),
                        });
                    }
                    _ => {}
                },
                TimerKind::Idle if alive => self.idle_check(slot),
                TimerKind::AcceptResume if alive => self.resume_listener(slot),
                TimerKind::ShutdownDeadline => {
                    tracing::info!(open = self.conns, "shutdown deadline passed; closing");
                    self.close_all(|| CloseReason::Shutdown);
                    self.stop = true;
                }
                _ => {}
            }
            self.process_dirty();
        }
        self.due = due;
    }

    fn idle_check(&mut self, slot: usize) {
        let Some(timeout) = self.config.idle_timeout else {
            return;
        };
        let now = self.now_ms() as u32;
        let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get(slot)
        else {
            return;
        };
        let idle = Duration::from_millis(now.wrapping_sub(c.last_active) as u64);
        if idle >= timeout {
            self.stats.timeouts += 1;
            self.close_now(slot, CloseReason::IdleTimeout);
        } else {
            // Activity since the timer was set: re-arm for the rest (the lazy re-check that
            // makes "reset the idle timeout on every read" a single store).
            self.insert_timer(slot, timeout - idle, TimerKind::Idle);
        }
    }

    // ---- reading ------------------------------------------------------------------------

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
            if c.has(flag::NO_READ) {
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
            match read_into(fd, &mut buf) {
                Ok(0) => {
                    self.restore_input(id, buf);
                    self.deliver_eof(slot, id);
                    return;
                }
                Ok(n) => {
                    self.stats.bytes_in += n as u64;
                    let now = self.now_ms() as u32;
                    if let Some(c) = self.conn_mut(id) {
                        c.last_active = now;
                        let class = if n == offered {
                            (class + 1).min(flag::SIZE_MAX)
                        } else {
                            class.saturating_sub(1)
                        };
                        c.flags = (c.flags & !flag::SIZE_MASK) | (class << flag::SIZE_SHIFT);
                    }
                    self.deliver_data(slot, id, buf);
                    self.process_dirty();
                    let hup = self.conn(id).is_some_and(|c| c.has(flag::HUP_SEEN));
                    // Only while the connection lives: a callback may have closed it, and
                    // its descriptor number may already belong to another socket.
                    let portable_io = self.config.portable_io;
                    let at_urgent_mark = || {
                        self.conn(id).is_some()
                            && sys::urgent::read_again_after_short_read(fd, portable_io)
                    };
                    if n < offered && !hup && !at_urgent_mark() {
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
    fn deliver_checked(&mut self, slot: usize, id: ConnId, buf: BytesMut) {
        if buf.len() > self.config.max_input {
            self.restore_input(id, buf);
            self.close_now(slot, CloseReason::InputLimit);
            return;
        }
        self.deliver_data(slot, id, buf);
        self.process_dirty();
    }

    fn deliver_data(&mut self, slot: usize, id: ConnId, mut buf: BytesMut) {
        match self.owner_of(id) {
            Some(None) => {
                self.with_proto(slot, |p, cx| p.on_data(cx, &mut buf));
            }
            Some(Some(parent)) => self.notify_parent(id, parent, ChildEvent::Data(&mut buf)),
            None => {}
        }
        self.restore_input(id, buf);
    }

    fn restore_input(&mut self, id: ConnId, buf: BytesMut) {
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
        c.flags |= flag::EOF;
        match self.owner_of(id) {
            Some(None) => {
                self.with_proto(slot, |p, cx| p.on_eof(cx));
            }
            Some(Some(parent)) => self.notify_parent(id, parent, ChildEvent::Eof),
            None => {}
        }
        self.process_dirty();
    }

    /// Appends bytes to a virtual connection's input (harness).
    pub(crate) fn push_input(&mut self, id: ConnId, bytes: &[u8]) {
        let Some(c) = self.conn_mut(id) else { return };
        let mut buf = c.input.take().unwrap_or_default();
        buf.extend_from_slice(bytes);
        c.input = Some(buf);
        c.flags |= flag::READ_PENDING;
        self.stats.bytes_in += bytes.len() as u64;
    }

    // ---- writing and settling ------------------------------------------------------------

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

    fn settle(&mut self, slot: usize) {
        let Some(id) = self.id_of(slot) else { return };
        let (high, low) = (self.config.high_watermark, self.config.low_watermark);
        let portable_io = self.config.portable_io;
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
            } else {
                CloseReason::Local
            };
            self.close_now(slot, reason);
            return;
        }
        if c.has(flag::CONNECTING) {
            return;
        }
        if !c.out.is_empty() && !c.has(flag::WAIT_WRITABLE) {
            let res = match &mut c.io {
                Io::Virtual(peer) => {
                    let room = peer
                        .capacity
                        .map_or(usize::MAX, |cap| cap.saturating_sub(peer.accepted));
                    let res = c.out.drain_into(&mut peer.written, room);
                    if let Ok(n) = res {
                        peer.accepted += n;
                    }
                    res.map(|n| (n, !c.out.is_empty()))
                }
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
                        c.last_active = self.now.duration_since(self.start).as_millis() as u32;
                    }
                }
                Err(e) => {
                    self.close_now(slot, CloseReason::Io(e));
                    return;
                }
            }
        }
        let Some(c) = self.conn_mut(id) else { return };
        let queued = c.out.len();
        let mut pressure_event = None;
        if !c.has(flag::PRESSURE) && queued > high {
            c.flags |= flag::PRESSURE;
            pressure_event = Some(true);
        } else if c.has(flag::PRESSURE) && queued <= low {
            c.flags &= !flag::PRESSURE;
            pressure_event = Some(false);
        }
        let mut drained = false;
        if queued == 0 {
            c.out.release();
            if c.has(flag::NOTIFY_DRAIN) {
                c.flags &= !flag::NOTIFY_DRAIN;
                drained = true;
            }
            if c.has(flag::SHUT_AFTER_FLUSH) && !c.has(flag::WRITE_SHUT) {
                c.flags |= flag::WRITE_SHUT;
                match &mut c.io {
                    Io::Tcp(s) => {
                        let _ = s.shutdown(std::net::Shutdown::Write);
                    }
                    Io::Unix(s) => {
                        let _ = s.shutdown(std::net::Shutdown::Write);
                    }
                    Io::Fd(_) => c.flags |= flag::CLOSE_AFTER_FLUSH, // a pipe's write half is all of it
                    Io::Virtual(p) => p.write_shut = true,
                }
            }
            if c.has(flag::CLOSE_AFTER_FLUSH) {
                let reason = if c.has(flag::EOF) {
                    CloseReason::Peer
                } else {
                    CloseReason::Local
                };
                self.close_now(slot, reason);
                return;
            }
        }
        let parent = match self.owner_of(id) {
            Some(p) => p,
            None => return,
        };
        if let Some(paused) = pressure_event {
            // A child's pressure pauses its own reading only.
            if parent.is_none() {
                self.with_proto(slot, |p, cx| p.on_backpressure(cx, paused));
            }
            if !paused {
                self.schedule_read(id);
            }
        }
        if drained {
            match parent {
                None => {
                    self.with_proto(slot, |p, cx| p.on_drain(cx));
                }
                Some(parent) => self.notify_parent(id, parent, ChildEvent::Drained),
            }
        }
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

    // ---- closing ------------------------------------------------------------------------

    /// Closes slot `slot` now: children first, then timers, then the last callback.
    pub(crate) fn close_now(&mut self, slot: usize, reason: CloseReason) {
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
                let children = c.children.take();
                for child in children {
                    self.close_now(child as usize, CloseReason::ParentClosed);
                }
                self.cancel_owner_timers(slot);
                let Kind::Conn(mut c) = self.slots.remove(slot).kind else {
                    unreachable!()
                };
                if let (Some(reg), Io::Fd(f)) = (&self.registry, &c.io) {
                    // A pipe's other end may be shared with a child process: remove it from
                    // the poll explicitly (closing our descriptor would not).
                    let _ = reg.deregister(&mut mio::unix::SourceFd(&f.as_raw_fd()));
                }
                self.conns -= 1;
                self.stats.open = self.conns as u64;
                self.stats.closed += 1;
                if reason.is_error() {
                    self.stats.errors += 1;
                }
                if let Some(buf) = c.input.take() {
                    if buf.is_empty() {
                        self.pool.put(buf);
                    }
                }
                tracing::debug!(conn = %id, ?reason, "closed");
                match std::mem::replace(&mut c.owner, Owner::Proto(None)) {
                    Owner::Proto(Some(mut p)) => {
                        let r = &reason;
                        let res = panic::catch_unwind(AssertUnwindSafe(|| {
                            p.on_close(&mut Context { core: self, id }, r)
                        }));
                        if res.is_err() {
                            self.stats.panics += 1;
                            tracing::error!(conn = %id, "on_close panicked");
                        }
                    }
                    Owner::Proto(None) => {}
                    Owner::Child(parent) => {
                        if let Some(p) = self.conn_mut(parent) {
                            p.children.remove(id.slot);
                        }
                        self.notify_parent(id, parent, ChildEvent::Closed(&reason));
                    }
                }
                if let Io::Virtual(peer) = std::mem::replace(&mut c.io, Io::Virtual(Box::default()))
                {
                    self.graveyard.push((id, peer, reason));
                }
                self.resume_waiting_listeners();
            }
            Kind::Listener(_) => {
                self.cancel_owner_timers(slot);
                let Kind::Listener(l) = self.slots.remove(slot).kind else {
                    unreachable!()
                };
                if let Acceptor::Parent(parent) = l.acceptor {
                    if let Some(p) = self.conn_mut(parent) {
                        p.children.remove(id.slot);
                    }
                    self.notify_parent(id, parent, ChildEvent::Closed(&reason));
                }
            }
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
            .filter(|(_, s)| matches!(&s.kind, Kind::Conn(c) if matches!(c.owner, Owner::Proto(_))))
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
            self.with_proto(slot, |p, cx| p.on_shutdown(cx));
        }
        self.process_dirty();
        let grace = self.config.shutdown_grace;
        self.insert_timer(usize::MAX, grace, TimerKind::ShutdownDeadline);
    }

    // ---- listeners and accepting ----------------------------------------------------------

    pub(crate) fn add_listener(
        &mut self,
        io: ListenIo,
        acceptor: Acceptor,
        nodelay: bool,
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
            if let Some(p) = self.conn_mut(parent) {
                p.children.push(id.slot);
            }
        }
        Ok(id)
    }

    /// Accepts until `WouldBlock`, the per-wake budget, or a resource limit.
    pub(crate) fn do_accept(&mut self, slot: usize) {
        for _ in 0..self.config.accept_budget {
            let at_limit = self.conns >= self.config.max_connections;
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
                    self.insert_timer(slot, backoff, TimerKind::AcceptResume);
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
                match self.add_conn(io, Owner::Proto(Some(proto)), 0) {
                    Ok(id) => {
                        tracing::debug!(conn = %id, ?peer, "accepted");
                        self.open_proto(id);
                        Some(id)
                    }
                    Err(e) => {
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

    fn resume_listener(&mut self, slot: usize) {
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
    fn resume_waiting_listeners(&mut self) {
        if self.waiting_listeners.is_empty() || self.conns >= self.config.max_connections {
            return;
        }
        for (slot, gen) in std::mem::take(&mut self.waiting_listeners) {
            if self.slots.get(slot as usize).is_some_and(|s| s.gen == gen) {
                self.resume_listener(slot as usize);
            }
        }
    }

    // ---- children and outbound connections -----------------------------------------------

    pub(crate) fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        self.conn(id).and_then(|c| c.io.peer_addr())
    }

    pub(crate) fn local_addr(&self, id: ConnId) -> Option<SocketAddr> {
        match self.live(id).map(|s| &s.kind) {
            Some(Kind::Conn(c)) => c.io.local_addr(),
            Some(Kind::Listener(l)) => match &l.io {
                ListenIo::Tcp(t) => t.local_addr().ok(),
                ListenIo::Virtual(a) => Some(*a),
                ListenIo::Unix(_) => None,
            },
            Some(Kind::Datagram(d)) => d.sock.local_addr().ok(),
            _ => None,
        }
    }

    pub(crate) fn listen_child(
        &mut self,
        parent: ConnId,
        addr: SocketAddr,
    ) -> io::Result<(ConnId, SocketAddr)> {
        if self.conn(parent).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "parent is closed",
            ));
        }
        let (io, local) = if self.registry.is_some() {
            let opts = ListenOptions {
                backlog: 8,
                ..ListenOptions::default()
            };
            let l = mio::net::TcpListener::from_std(listener::bind_tcp(addr, &opts)?);
            let local = l.local_addr()?;
            (ListenIo::Tcp(l), local)
        } else {
            let local = if addr.port() == 0 {
                self.virtual_port = self.virtual_port.wrapping_add(1).max(40000);
                SocketAddr::new(addr.ip(), self.virtual_port)
            } else {
                addr
            };
            (ListenIo::Virtual(local), local)
        };
        let id = self.add_listener(io, Acceptor::Parent(parent), true)?;
        Ok((id, local))
    }

    fn connect_io(&mut self, addr: SocketAddr, source: Option<SocketAddr>) -> io::Result<Io> {
        if self.registry.is_some() {
            let s = match source {
                None => mio::net::TcpStream::connect(addr)?,
                Some(src) => {
                    // Bind the source first (several loopback addresses get past the ~28k
                    // ephemeral ports of one address pair), then connect without blocking.
                    let sock = socket2::Socket::new(
                        socket2::Domain::for_address(addr),
                        socket2::Type::STREAM,
                        None,
                    )?;
                    sock.set_nonblocking(true)?;
                    sock.set_cloexec(true)?;
                    sock.bind(&src.into())?;
                    match sock.connect(&addr.into()) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                        Err(e) => return Err(e),
                    }
                    mio::net::TcpStream::from_std(sock.into())
                }
            };
            let _ = s.set_nodelay(true);
            Ok(Io::Tcp(s))
        } else {
            Ok(Io::Virtual(Box::new(VirtualPeer {
                connect_to: Some(addr),
                peer: Some(addr),
                local: source,
                ..VirtualPeer::default()
            })))
        }
    }

    pub(crate) fn connect_child(&mut self, parent: ConnId, addr: SocketAddr) -> io::Result<ConnId> {
        if self.conn(parent).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "parent is closed",
            ));
        }
        let io = self.connect_io(addr, None)?;
        let id = self.add_conn(io, Owner::Child(parent), flag::CONNECTING)?;
        self.stats.connected += 1;
        Ok(id)
    }

    pub(crate) fn connect(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
        proto: Box<dyn Protocol>,
    ) -> io::Result<ConnId> {
        let io = self.connect_io(addr, source)?;
        let id = self.add_conn(io, Owner::Proto(Some(proto)), flag::CONNECTING)?;
        self.stats.connected += 1;
        Ok(id)
    }

    pub(crate) fn adopt_child(&mut self, parent: ConnId, fd: OwnedFd) -> io::Result<ConnId> {
        if self.conn(parent).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "parent is closed",
            ));
        }
        let io = if self.registry.is_some() {
            let flags = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL)?;
            let flags = nix::fcntl::OFlag::from_bits_retain(flags) | nix::fcntl::OFlag::O_NONBLOCK;
            nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(flags))?;
            Io::Fd(fd)
        } else {
            Io::Virtual(Box::default())
        };
        self.add_conn(io, Owner::Child(parent), 0)
    }

    /// An outbound connect finished (readiness after `connect(2)`), or failed.
    pub(crate) fn finish_connect(&mut self, slot: usize) {
        let Some(id) = self.id_of(slot) else { return };
        let Some(c) = self.conn_mut(id) else { return };
        let outcome = match &c.io {
            Io::Tcp(s) => match s.take_error() {
                Ok(Some(e)) | Err(e) => Err(e),
                Ok(None) => match s.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                    Err(e) => Err(e),
                },
            },
            _ => Ok(()),
        };
        self.connect_done(id, outcome);
    }

    /// Completes a connect: `on_open` (or `ChildEvent::Connected`), or a close with the error.
    pub(crate) fn connect_done(&mut self, id: ConnId, outcome: io::Result<()>) {
        let Some(c) = self.conn_mut(id) else { return };
        if !c.has(flag::CONNECTING) {
            return;
        }
        c.flags &= !flag::CONNECTING;
        match outcome {
            Err(e) => self.close_now(id.slot(), CloseReason::Io(e)),
            Ok(()) => {
                match self.owner_of(id) {
                    Some(None) => {
                        self.with_proto(id.slot(), |p, cx| p.on_open(cx));
                    }
                    Some(Some(parent)) => self.notify_parent(id, parent, ChildEvent::Connected),
                    None => {}
                }
                self.mark_dirty(id.slot());
            }
        }
        self.process_dirty();
    }

    // ---- datagram and raw descriptors --------------------------------------------------

    pub(crate) fn add_datagram(
        &mut self,
        sock: mio::net::UdpSocket,
        handler: Box<dyn DatagramProtocol>,
    ) -> io::Result<ConnId> {
        let id = self.insert(Kind::Datagram(DatagramSlot {
            sock,
            handler: Some(handler),
        }));
        if let (
            Some(reg),
            Some(Slot {
                kind: Kind::Datagram(d),
                ..
            }),
        ) = (&self.registry, self.slots.get_mut(id.slot()))
        {
            if let Err(e) = reg.register(&mut d.sock, Token(id.slot()), Interest::READABLE) {
                self.slots.remove(id.slot());
                return Err(e);
            }
        }
        Ok(id)
    }

    pub(crate) fn add_fd(
        &mut self,
        fd: OwnedFd,
        interest: Interest,
        handler: Box<dyn FdHandler>,
    ) -> io::Result<ConnId> {
        let raw = fd.as_raw_fd();
        let id = self.insert(Kind::Fd(FdSlot {
            fd,
            handler: Some(handler),
        }));
        if let Some(reg) = &self.registry {
            if let Err(e) = reg.register(&mut mio::unix::SourceFd(&raw), Token(id.slot()), interest)
            {
                self.slots.remove(id.slot());
                return Err(e);
            }
        }
        self.with_handler(id.slot(), |h, cx, fd| {
            if let HandlerRef::Fd(f) = h {
                f.on_open(cx, fd)
            }
        });
        self.process_dirty();
        Ok(id)
    }

    /// Receives datagrams until `WouldBlock` or the per-wake budget.
    pub(crate) fn do_udp(&mut self, slot: usize) {
        for _ in 0..64 {
            let mut scratch = std::mem::take(&mut self.udp_scratch);
            scratch.resize(65536, 0);
            let res = match self.slots.get(slot).map(|s| &s.kind) {
                Some(Kind::Datagram(d)) => d.sock.recv_from(&mut scratch),
                _ => return,
            };
            match res {
                Ok((n, peer)) => {
                    self.stats.bytes_in += n as u64;
                    let data = &scratch[..n];
                    self.with_handler(slot, |h, cx, _| {
                        if let HandlerRef::Datagram(d) = h {
                            d.on_datagram(cx, data, peer)
                        }
                    });
                    self.udp_scratch = scratch;
                    self.process_dirty();
                }
                Err(e) => {
                    self.udp_scratch = scratch;
                    match e.kind() {
                        io::ErrorKind::WouldBlock => return,
                        io::ErrorKind::Interrupted => continue,
                        _ => {
                            tracing::debug!(error = %e, "recv_from failed");
                            return;
                        }
                    }
                }
            }
        }
        if let Some(id) = self.id_of(slot) {
            self.ready.push_back((id.slot, id.gen));
        }
    }

    pub(crate) fn udp_send_to(
        &mut self,
        slot: SlotId,
        data: &[u8],
        peer: SocketAddr,
    ) -> io::Result<usize> {
        match self.slots.get(slot).map(|s| &s.kind) {
            Some(Kind::Datagram(d)) => {
                let n = d.sock.send_to(data, peer)?;
                self.stats.bytes_out += n as u64;
                Ok(n)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "not a datagram socket",
            )),
        }
    }

    /// A raw descriptor is ready.
    pub(crate) fn do_fd(&mut self, slot: usize, readable: bool, writable: bool) {
        if writable {
            self.with_handler(slot, |h, cx, fd| {
                if let HandlerRef::Fd(f) = h {
                    f.on_writable(cx, fd)
                }
            });
        }
        if readable {
            self.with_handler(slot, |h, cx, fd| {
                if let HandlerRef::Fd(f) = h {
                    f.on_readable(cx, fd)
                }
            });
        }
        self.process_dirty();
    }

    // ---- the loop's entry points -------------------------------------------------------

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
            None => {}
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
                _ => {}
            }
        }
        self.process_dirty();
    }

    pub(crate) fn has_pending_work(&self) -> bool {
        !self.ready.is_empty() || !self.dirty.is_empty() || !self.pending_close.is_empty()
    }
}

/// A datagram or descriptor handler lent to a callback.
pub(crate) enum HandlerRef<'a> {
    Datagram(&'a mut dyn DatagramProtocol),
    Fd(&'a mut dyn FdHandler),
}
#[cfg(test)]
mod memory_budget {
    /// What every connection costs the reactor before its protocol's own state: a slot of
    /// the table. 19,000 idle connections carry 19,000 of them, so growing it is a measured
    /// regression (benches/c19k/hold.sh echo: 197 B per connection at 192 bytes here, 156 B
    /// at 152).
    #[test]
    fn a_connection_slot_stays_within_its_budget() {
        // mio's sockets carry a selector id in debug builds: 8 more bytes there.
        let budget = if cfg!(debug_assertions) { 160 } else { 152 };
        let slot = std::mem::size_of::<super::Slot>();
        assert!(slot <= budget, "Slot is {slot} bytes");
        let queue = std::mem::size_of::<crate::buffer::WriteQueue>();
        assert!(queue <= 56, "WriteQueue is {queue} bytes");
    }
}
