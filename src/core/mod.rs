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
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use mio::{Interest, Registry};
use slab::Slab;

use crate::buffer::BufferPool;
use crate::connection::{Conn, VirtualPeer};
use crate::listener::Listener;
use crate::stats::Stats;
use crate::timer::{Key, Wheel};
use crate::{CloseReason, Config, ConnId, DatagramProtocol, FdHandler};

pub(crate) type SlotId = usize;

const NIL: u32 = u32::MAX;

/// Readiness a connection is registered for, once: read, write, and on Linux priority
/// (TCP urgent data makes `read` stop short at the urgent mark; the priority event tells the
/// reader not to take a short read for "drained").
fn conn_interest() -> Interest {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Interest::READABLE | Interest::WRITABLE | Interest::PRIORITY
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        Interest::READABLE | Interest::WRITABLE
    }
}

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
}

mod accept;
mod calls;
mod children;
mod close;
mod dispatch;
mod fd;
mod read;
mod requests;
mod slots;
mod timers;
mod write;

pub(crate) use calls::HandlerRef;

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
