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
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Registry;
use slab::Slab;

use crate::boxed::{AnyProtocol, RawTimer};
use crate::channel::{AnyChannel, Notify};
use crate::connection::{Conn, VirtualPeer};
use crate::idle_wheel::{IdleWheel, Item};
use crate::listener::Listener;
use crate::pool::BufferPool;
use crate::stats::{ListenerStats, Stats};
use crate::timer::{Key, Wheel};
use crate::{CloseReason, Config, ConnId, DatagramProtocol, FdHandler};

pub(crate) type SlotId = usize;

const NIL: u32 = u32::MAX;

/// What lives in a slot of the table.
pub(crate) enum Kind {
    Conn(Conn),
    Listener(Listener),
    Datagram(DatagramSlot),
    Fd(FdSlot),
    Channel(ChannelSlot),
    /// A closed connection's socket, draining its peer's input (`linger.rs`).
    Linger(linger::Lingering),
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

/// The reactor side of a channel from other threads.
pub(crate) struct ChannelSlot {
    pub handler: Option<Box<dyn AnyChannel>>,
}

/// Any descriptor and its handler.
pub(crate) struct FdSlot {
    pub fd: OwnedFd,
    pub handler: Option<Box<dyn FdHandler>>,
}

/// What a timer is for. Its value (`TimerVal::payload`) depends on it: the protocol's own
/// timer value (`User`), a `u64` tag (`User` on a handler slot), the timeout in ms (`Idle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum TimerKind {
    User,
    Idle,
    /// The connection went above the soft output limit this long ago.
    OutputSoft,
    AcceptResume,
    ShutdownDeadline,
    /// A connection's PROXY protocol header is due.
    ProxyHeader,
    /// A lingering close's next check.
    Linger,
    /// A TLS handshake's deadline.
    #[cfg(feature = "tls")]
    TlsHandshake,
}

/// A timer's entry: its value, its owner slot and its links in the owner's list. 24 bytes
/// (48 with the wheel's own fields). Idle timeouts do not take one: they wait on the idle
/// wheel (12 bytes, `idle.rs`), so an idle keep-alive connection holds none of these.
struct TimerVal {
    payload: RawTimer,
    owner: u32,
    prev: u32,
    next: u32,
    kind: TimerKind,
}

pub(crate) struct Core {
    pub(crate) slots: Slab<Slot>,
    timers: Wheel<TimerVal>,
    /// Idle timeouts of connections (12 bytes each, checked lazily: `timers.rs`).
    idle: IdleWheel,
    /// The distinct idle timeouts in use, in ms (a connection keeps an index).
    idle_ms: Vec<u32>,
    idle_due: Vec<Item>,
    registry: Option<Registry>,
    pub(crate) config: Config,
    pub(crate) stats: Stats,
    /// Counters per listener label; the first is the unlabelled set (`groups.rs`).
    pub(crate) groups: Vec<ListenerStats>,
    shutting_down: bool,
    /// Graceful shutdown asked from a callback, a handle or a signal; started by `prepare`.
    shutdown_requested: bool,
    /// Leave the loop now.
    stop: bool,
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
    /// Where lingering sockets' input is read and dropped.
    discard: Vec<u8>,
    due: Vec<(Key, u32)>,
    conns: usize,
    virtual_port: u16,
    /// A protocol switch asked for by the running callback.
    switch: Option<(ConnId, Box<dyn AnyProtocol>)>,
    /// Channels with messages waiting, shared with their senders.
    pub(crate) notify: Arc<Notify>,
    channels_due: Vec<u32>,
    origins: caps::Origins,
    /// Connections of PROXY-protocol listeners: waiting for their header, or its address.
    proxied: proxy::Table,
    /// The child sockets of each connection that has any (`children.rs`).
    children: children::Children,
}

/// What the loop does next (see [`Core::prepare`]).
pub(crate) enum Turn {
    /// Poll for readiness, for at most this long (`None`: until something happens).
    Poll(Option<Duration>),
    /// Every connection is closed after a shutdown, or the loop was told to stop: return.
    Stop,
}

impl Core {
    pub(crate) fn new(
        config: Config,
        registry: Option<Registry>,
        waker: Option<Arc<mio::Waker>>,
        now: Instant,
    ) -> Core {
        Core {
            slots: Slab::new(),
            timers: Wheel::new(),
            idle: IdleWheel::new(),
            idle_ms: Vec::new(),
            idle_due: Vec::new(),
            children: children::Children::default(),
            registry,
            pool: BufferPool::new(config.read_buffer),
            config,
            stats: Stats::default(),
            groups: vec![ListenerStats::default()],
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
            discard: Vec::new(),
            due: Vec::new(),
            conns: 0,
            virtual_port: 40000,
            switch: None,
            notify: Arc::new(Notify::new(waker)),
            channels_due: Vec::new(),
            origins: caps::Origins::default(),
            proxied: proxy::Table::default(),
        }
    }

    // ---- clock ------------------------------------------------------------------------

    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// Starts a turn of the loop at `now`: begins a requested shutdown, and says whether to
    /// poll (and for how long) or to stop.
    pub(crate) fn prepare(&mut self, now: Instant) -> Turn {
        self.set_now(now);
        if self.shutdown_requested && !self.shutting_down {
            self.start_shutdown();
        }
        if self.stop || (self.shutting_down && self.conns == 0) {
            return Turn::Stop;
        }
        if self.has_pending_work() {
            Turn::Poll(Some(Duration::ZERO))
        } else {
            Turn::Poll(self.next_timer_in())
        }
    }

    /// Ends a turn of the loop, after its readiness events: fires due timers, hands channel
    /// messages over, serves connections with work left from earlier, applies what callbacks
    /// asked for.
    pub(crate) fn tick(&mut self) {
        self.fire_timers();
        self.run_channels();
        self.run_ready();
        self.process_dirty();
    }

    /// Begins a shutdown asked for since the last turn (harness).
    pub(crate) fn start_requested_shutdown(&mut self) {
        if self.shutdown_requested && !self.shutting_down {
            self.start_shutdown();
        }
    }

    /// True once graceful shutdown has begun.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// SIGINT/SIGTERM: the first begins graceful shutdown, a second closes everything now.
    pub(crate) fn on_signal(&mut self) {
        if self.shutting_down {
            tracing::info!("second signal: closing everything now");
            self.close_all(|| CloseReason::Shutdown);
            self.stop = true;
        } else {
            self.shutdown_requested = true;
        }
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
        let ms = self.next_deadline_ms()?;
        let at = self.start + Duration::from_millis(ms);
        Some(at.saturating_duration_since(self.now))
    }

    /// The instant of the next timer (harness).
    pub(crate) fn next_timer_at(&self) -> Option<Instant> {
        let ms = self.next_deadline_ms()?;
        Some(self.start + Duration::from_millis(ms))
    }

    /// The earlier of the two wheels' next deadlines, in ms since the start.
    fn next_deadline_ms(&self) -> Option<u64> {
        match (self.timers.next_deadline(), self.idle.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

mod accept;
mod calls;
mod caps;
mod channels;
mod children;
mod close;
mod dispatch;
mod fd;
mod groups;
mod idle;
mod linger;
/// Reachable from the whole crate: a transport under the protocol (TLS) strips the header
/// itself, through `Core::take_proxy_header` and `Core::open_proxied`.
pub(crate) mod proxy;
mod read;
mod requests;
mod slots;
mod timers;
#[cfg(feature = "tls")]
mod tls;
mod write;

pub(crate) use calls::HandlerRef;

#[cfg(test)]
mod memory_budget {
    /// What every connection costs the reactor before its protocol's own state: a slot of
    /// the table. 19,000 idle connections carry 19,000 of them, so growing it is a measured
    /// regression (benches/c19k/hold.sh echo: 197 B per connection at 192 bytes here, 156 B
    /// at 152, 140 B at 136). 120 now: the input buffer is boxed (32 -> 8 bytes), the
    /// per-source cap's origin takes 4, an empty protocol cell is a placeholder rather than
    /// `None` (`Owner` 24 -> 16) and the write queue's head is a 32-byte chunk with an empty
    /// `Bytes` for "none" (56 -> 48). 112: the child sockets' list is a side table of the
    /// core (`children.rs`), not a field of every slot.
    #[test]
    fn a_connection_slot_stays_within_its_budget() {
        // mio's sockets carry a selector id in debug builds: 8 more bytes there.
        let budget = if cfg!(debug_assertions) { 120 } else { 112 };
        let slot = std::mem::size_of::<super::Slot>();
        assert!(slot <= budget, "Slot is {slot} bytes");
        let queue = std::mem::size_of::<crate::buffer::WriteQueue>();
        assert!(queue <= 48, "WriteQueue is {queue} bytes");
        let owner = std::mem::size_of::<crate::connection::Owner>();
        assert!(owner <= 16, "Owner is {owner} bytes");
    }
}
