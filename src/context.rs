//! What a protocol can do from inside a callback.
//!
//! A [`Context`] is a short-lived borrow of the reactor's core, handed to every
//! [`Protocol`] callback. **Every action is recorded and applied after the
//! callback returns; callbacks never nest.** Writes go to a write queue flushed (with
//! `writev`/`sendfile`) after the callback, closes and changes to other connections are
//! applied after it too, so no callback observes a half-updated reactor and none runs inside
//! another.
//!
//! [`Context::conn`] acts on another connection by id (a child socket, a chat member) through
//! a [`ConnRef`]; [`FdContext`] is the same for datagram, descriptor and channel handlers.
//!
//! The same `Context` drives real sockets under [`Reactor`](crate::Reactor) and in-memory
//! connections under [`Harness`](crate::testing::Harness).

use std::fmt;
use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::os::fd::{OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::boxed::{BoxedProtocol, RawTimer, Typed};
use crate::core::{Core, SlotId};
use crate::stats::{Counter, ListenerStats, Stats};
use crate::{ConnId, Protocol, SlowConsumer, TimerId};

/// The handle a [`Protocol`] callback acts through; `T` is the protocol's timer type. See the
/// [module docs](self).
///
/// ```
/// use netreactor::bytes::BytesMut;
/// use netreactor::{testing::Harness, Context, Protocol};
///
/// /// Answers `quit` with a goodbye and closes; echoes anything else.
/// struct Session;
///
/// impl Protocol for Session {
///     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
///         if input.starts_with(b"quit") {
///             cx.write("bye\n");
///             cx.close(); // "bye" is written before the connection closes
///         } else {
///             cx.write(input.split().freeze());
///         }
///     }
/// }
///
/// let mut h = Harness::new();
/// let c = h.open(Session);
/// h.feed(c, b"hi\n");
/// h.feed(c, b"quit\n");
/// assert_eq!(h.take_output(c), b"hi\nbye\n");
/// assert!(!h.is_open(c));
/// ```
pub struct Context<'a, T = ()> {
    pub(crate) core: &'a mut Core,
    pub(crate) id: ConnId,
    _timer: PhantomData<fn(T)>,
}

impl<T> fmt::Debug for Context<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("id", &self.id).finish()
    }
}

impl<'a, T: Copy + 'static> Context<'a, T> {
    pub(crate) fn new(core: &'a mut Core, id: ConnId) -> Context<'a, T> {
        Context {
            core,
            id,
            _timer: PhantomData,
        }
    }

    /// This connection's id (stable for its lifetime, never reused while it is open).
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The reactor's clock for this turn of the loop (cached: one clock read per wake).
    pub fn now(&self) -> Instant {
        self.core.now()
    }

    /// The remote address, when the connection is a socket with an IP peer; on a listener
    /// with the PROXY protocol, the client's address as the header gave it.
    ///
    /// This is a `getpeername(2)` call, not a cached field (caching both addresses would add
    /// 64 bytes to every idle connection): read it once, in `on_open`, if you need it often.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.core.peer_addr(self.id)
    }

    /// The client's address as the connection's PROXY protocol header gave it
    /// ([`ListenOptions::proxy_protocol`](crate::ListenOptions::proxy_protocol)): `None`
    /// for a connection without a header, or whose header carried no address (a `LOCAL`
    /// health check). [`peer_addr`](Self::peer_addr) returns it too; this never makes a
    /// system call, so a protocol that looks the socket's address up lazily asks it first.
    pub fn proxy_source(&self) -> Option<SocketAddr> {
        self.core.proxy_source(self.id)
    }

    /// The local address, when the connection is a socket with an IP address (a
    /// `getsockname(2)` call, like [`peer_addr`](Self::peer_addr)).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.core.local_addr(self.id)
    }

    /// The connection's descriptor (`None` for a harness connection), for socket options or
    /// lookups the protocol makes itself. The reactor owns it and closes it: it is valid
    /// until this connection closes, not longer.
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.core.conn(self.id).and_then(|c| c.io.raw_fd())
    }

    /// True when the connection speaks TLS (feature `tls`; [`Context::tls`] says what it
    /// negotiated). Always false without the feature.
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.core.tls_info(self.id).is_some()
        }
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Queues `data` for this connection. `Bytes` (including `Bytes::from_static` and clones
    /// of a shared buffer) are queued without copying; they leave with `writev`.
    pub fn write(&mut self, data: impl Into<Bytes>) {
        self.core.write(self.id, data.into());
    }

    /// Queues `len` bytes of `file` from `offset`; they leave with `sendfile(2)`, in order
    /// with the other writes.
    pub fn send_file(&mut self, file: Rc<File>, offset: u64, len: u64) {
        self.core.send_file(self.id, file, offset, len);
    }

    /// Bytes queued and not yet written on this connection.
    pub fn queued(&self) -> usize {
        self.core.queued(self.id)
    }

    /// True while this connection's write queue is above the high watermark: reading is
    /// paused and no buffered input is handed over until it drains below the low one. A
    /// protocol handling pipelined requests checks it between them.
    pub fn is_backpressured(&mut self) -> bool {
        self.core.yield_if_backpressured(self.id)
    }

    /// Stops reading, writes everything queued, then closes ([`Protocol::on_close`] follows
    /// with [`CloseReason::Local`](crate::CloseReason::Local), or
    /// [`Peer`](crate::CloseReason::Peer) after the peer's EOF).
    pub fn close(&mut self) {
        self.core.request_close(self.id, true);
    }

    /// [`close`](Self::close), for a peer known to be still sending (a request body the
    /// protocol will not read, after an error response): the socket's write half is shut
    /// once the queue is written, and what the peer sends is read and dropped until its EOF,
    /// so it reads the response instead of a reset. The core does this by itself when it sees
    /// unread input at the close; this covers input still on its way. Bounded by
    /// [`Config::lingering_timeout`](crate::Config::lingering_timeout) and
    /// [`Config::lingering_time`](crate::Config::lingering_time) (zero: a plain close);
    /// [`Protocol::on_close`] follows when the queue is written, not when the lingering ends.
    pub fn close_lingering(&mut self) {
        self.core.request_close_lingering(self.id);
    }

    /// Closes now: queued output is dropped. [`Protocol::on_close`] follows.
    pub fn abort(&mut self) {
        self.core.request_close(self.id, false);
    }

    /// Shuts down the write half (`shutdown(SHUT_WR)`) once the queue is written; reading
    /// goes on.
    pub fn shutdown_write(&mut self) {
        self.core.request_shutdown_write(self.id);
    }

    /// Lifts (`false`) or restores (`true`, the default) this connection's output limits
    /// ([`Config::output_limit`](crate::Config::output_limit) and the soft limit), for a
    /// protocol that must queue more than they allow and bounds its output itself.
    pub fn set_output_limited(&mut self, limited: bool) {
        self.core.set_output_limited(self.id, limited);
    }

    /// Gives the other connections their turn: input this callback leaves unconsumed is
    /// handed back to [`Protocol::on_data`] once the connections ready now were served, with
    /// no new bytes needed. For a protocol whose input costs much to process (a pasted
    /// text broadcast to a room, a compressed message), a slice per call keeps one peer
    /// from holding the reactor.
    pub fn yield_now(&mut self) {
        self.core.yield_now(self.id);
    }

    /// Stops reading from this connection until [`resume_read`](Self::resume_read).
    pub fn pause_read(&mut self) {
        self.core.set_read_paused(self.id, true);
    }

    /// Resumes reading; bytes that arrived meanwhile, and input left unconsumed, are
    /// delivered after this callback (after the other connections ready in this turn).
    pub fn resume_read(&mut self) {
        self.core.set_read_paused(self.id, false);
    }

    /// Asks for one [`Protocol::on_drain`] call when the write queue is next empty (at once,
    /// after this callback, if it already is).
    pub fn notify_drained(&mut self) {
        self.core.notify_drained(self.id);
    }

    /// Another connection (a child socket, a chat member), to write to or close. Acting on
    /// an id that is no longer open does nothing ([`ConnRef::write`] returns false).
    pub fn conn(&mut self, id: ConnId) -> ConnRef<'_> {
        ConnRef {
            core: self.core,
            id,
        }
    }

    /// Sends `data` to every connection of `ids` (encoded once, shared by every receiver)
    /// that keeps up; one whose queue is above the high watermark is skipped or disconnected,
    /// as `policy` says, so one slow reader cannot make the server hold a copy of everything
    /// for it. Returns how many got it.
    pub fn broadcast(
        &mut self,
        ids: impl IntoIterator<Item = ConnId>,
        data: impl Into<Bytes>,
        policy: SlowConsumer,
    ) -> usize {
        self.core.broadcast(ids, &data.into(), policy)
    }

    /// Sets a one-shot timer; [`Protocol::on_timer`] gets `timer` after `after`. O(1).
    pub fn set_timer(&mut self, after: Duration, timer: T) -> TimerId {
        self.core
            .set_timer(self.id.slot(), after, RawTimer::new(timer))
    }

    /// Cancels a timer; false when it already fired or was cancelled. O(1).
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
        self.core.cancel_timer(timer)
    }

    /// Sets this connection's idle timeout (`None`: none): after `after` with nothing read
    /// and no write progress, [`Protocol::on_idle`] runs. Every read and every write that
    /// makes progress restarts it, at the cost of one store (the deadline is checked lazily).
    /// New connections start with [`Config::idle_timeout`](crate::Config::idle_timeout).
    pub fn set_idle_timeout(&mut self, after: Option<Duration>) {
        self.core.set_idle_timeout(self.id, after);
    }

    /// Hands this connection to `next` after this callback returns: `next.on_open` runs,
    /// then any input left unconsumed is handed to `next.on_data` in the same turn. This
    /// protocol is dropped (without `on_close`) and its timers are cancelled; queued output,
    /// children and the idle timeout stay with the connection.
    pub fn switch_to<U: Copy + 'static, P: Protocol<U>>(&mut self, next: P) {
        self.core.request_switch(self.id, Typed::boxed(next));
    }

    /// [`switch_to`](Self::switch_to) with a protocol chosen at run time.
    pub fn switch_to_boxed(&mut self, next: BoxedProtocol) {
        self.core.request_switch(self.id, next.0);
    }

    /// Opens a listener owned by this connection (an FTP passive data port). Its accepted
    /// connections arrive as [`ChildEvent::Accepted`](crate::ChildEvent::Accepted). Returns
    /// the listener's id and bound address (port 0 picks a free port).
    pub fn listen_child(&mut self, addr: SocketAddr) -> io::Result<(ConnId, SocketAddr)> {
        self.core.listen_child(self.id, addr)
    }

    /// [`listen_child`](Self::listen_child) with options: the socket's (backlog,
    /// `SO_REUSEPORT`, ...; `listen_child` uses a backlog of 8) and the PROXY protocol
    /// ([`ListenOptions::proxy_protocol`](crate::ListenOptions::proxy_protocol)), for an FTP
    /// server whose passive data connections come through the same balancer as its control
    /// connections. `max_connections` does not apply to child listeners.
    pub fn listen_child_with(
        &mut self,
        addr: SocketAddr,
        opts: &crate::ListenOptions,
    ) -> io::Result<(ConnId, SocketAddr)> {
        self.core.listen_child_with(self.id, addr, opts)
    }

    /// Opens an outbound TCP connection owned by this connection (an FTP active data
    /// channel); [`ChildEvent::Connected`](crate::ChildEvent::Connected) or
    /// [`ChildEvent::Closed`](crate::ChildEvent::Closed) follows.
    pub fn connect_child(&mut self, addr: SocketAddr) -> io::Result<ConnId> {
        self.core.connect_child(self.id, addr)
    }

    /// Drives any stream-like descriptor (a pipe to a CGI child, a socketpair) as a child:
    /// made nonblocking, read into [`ChildEvent::Data`](crate::ChildEvent::Data), written with
    /// [`ConnRef::write`].
    pub fn adopt_child(&mut self, fd: OwnedFd) -> io::Result<ConnId> {
        self.core.adopt_child(self.id, fd)
    }

    /// Opens an independent outbound TCP connection driven by `protocol` (a client; the
    /// load generator opens its connections this way).
    pub fn connect<U: Copy + 'static, P: Protocol<U>>(
        &mut self,
        addr: SocketAddr,
        protocol: P,
    ) -> io::Result<ConnId> {
        self.core.connect(addr, None, Typed::boxed(protocol))
    }

    /// True while `id` is open.
    pub fn is_open(&self, id: ConnId) -> bool {
        self.core.is_open(id)
    }

    /// The reactor's counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// Counts a protocol-level event (a parse error, a protocol timeout) in the reactor's
    /// counters.
    pub fn count(&mut self, counter: Counter) {
        self.core.stats.bump(counter);
        if counter == Counter::Timeout {
            let group = self.core.group_of(self.id.slot());
            self.core.groups[group].timeouts += 1;
        }
    }

    /// The counters per server (listener label), the unlabelled set first.
    pub fn listener_stats(&self) -> &[ListenerStats] {
        self.core.listener_stats()
    }

    /// True once graceful shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.core.is_shutting_down()
    }

    /// Asks the reactor to shut down gracefully (as SIGTERM does).
    pub fn shutdown_reactor(&mut self) {
        self.core.begin_shutdown();
    }
}

/// Another connection, borrowed from a [`Context`] or [`FdContext`] by
/// [`Context::conn`]: write to it, close it, pause it. Every call on an id that is no longer
/// open does nothing.
///
/// ```
/// use netreactor::bytes::{Bytes, BytesMut};
/// use netreactor::{testing::Harness, ConnId, Context, Protocol};
/// use std::{cell::RefCell, rc::Rc};
///
/// /// Sends each line to every member of the room.
/// struct Member(Rc<RefCell<Vec<ConnId>>>);
///
/// impl Protocol for Member {
///     fn on_open(&mut self, cx: &mut Context<'_>) {
///         self.0.borrow_mut().push(cx.id());
///     }
///     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
///         let line: Bytes = input.split().freeze(); // encoded once...
///         for &id in self.0.borrow().iter() {
///             cx.conn(id).write(line.clone()); // ...shared by every receiver
///         }
///     }
/// }
///
/// let room = Rc::new(RefCell::new(Vec::new()));
/// let mut h = Harness::new();
/// let (a, b) = (h.open(Member(room.clone())), h.open(Member(room.clone())));
/// h.feed(a, b"hello\n");
/// assert_eq!(h.take_output(b), b"hello\n");
/// ```
pub struct ConnRef<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) id: ConnId,
}

impl fmt::Debug for ConnRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnRef").field("id", &self.id).finish()
    }
}

impl ConnRef<'_> {
    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// True while the connection is open.
    pub fn is_open(&self) -> bool {
        self.core.is_open(self.id)
    }

    /// Queues `data` (without copying `Bytes`). False when the connection is not open, or
    /// is closing, or its write half is shut down: nothing was queued.
    pub fn write(&mut self, data: impl Into<Bytes>) -> bool {
        self.core.write(self.id, data.into())
    }

    /// Queues a file range, as [`Context::send_file`]. False when nothing was queued.
    pub fn send_file(&mut self, file: Rc<File>, offset: u64, len: u64) -> bool {
        self.core.send_file(self.id, file, offset, len)
    }

    /// Writes everything queued, then closes.
    pub fn close(&mut self) {
        self.core.request_close(self.id, true);
    }

    /// Writes everything queued, then closes lingering, as [`Context::close_lingering`].
    pub fn close_lingering(&mut self) {
        self.core.request_close_lingering(self.id);
    }

    /// Closes now, dropping queued output.
    pub fn abort(&mut self) {
        self.core.request_close(self.id, false);
    }

    /// Shuts down the write half once the queue is written.
    pub fn shutdown_write(&mut self) {
        self.core.request_shutdown_write(self.id);
    }

    /// Stops reading from it.
    pub fn pause_read(&mut self) {
        self.core.set_read_paused(self.id, true);
    }

    /// Resumes reading from it.
    pub fn resume_read(&mut self) {
        self.core.set_read_paused(self.id, false);
    }

    /// Bytes queued and not yet written (0 when not open).
    pub fn queued(&self) -> usize {
        self.core.queued(self.id)
    }

    /// True while its write queue is above the high watermark.
    pub fn is_backpressured(&self) -> bool {
        self.core.is_backpressured(self.id)
    }

    /// Asks for one drain notification when its queue is next empty:
    /// [`Protocol::on_drain`] for a connection of its own,
    /// [`ChildEvent::Drained`](crate::ChildEvent::Drained) to the parent for a child.
    pub fn notify_drained(&mut self) {
        self.core.notify_drained(self.id);
    }
}

/// The handle a [`DatagramProtocol`](crate::DatagramProtocol), an
/// [`FdHandler`](crate::FdHandler), a [`MessageHandler`](crate::MessageHandler) or a
/// [`Handle::call`](crate::Handle::call) closure acts through. As in a [`Context`], every
/// action is applied after the callback returns.
pub struct FdContext<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) slot: SlotId,
}

impl fmt::Debug for FdContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FdContext")
            .field("slot", &self.slot)
            .finish()
    }
}

impl<'a> FdContext<'a> {
    /// The reactor's clock for this turn of the loop.
    pub fn now(&self) -> Instant {
        self.core.now()
    }

    /// Sends a datagram (UDP sockets only). A datagram that would block is dropped and
    /// counted, as UDP allows; the error is returned.
    pub fn send_to(&mut self, data: &[u8], peer: SocketAddr) -> io::Result<usize> {
        self.core.udp_send_to(self.slot, data, peer)
    }

    /// Sets a one-shot timer on this handler: its `on_timer` gets `tag`.
    pub fn set_timer(&mut self, after: Duration, tag: u64) -> TimerId {
        self.core.set_timer(self.slot, after, RawTimer::new(tag))
    }

    /// Cancels a timer.
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
        self.core.cancel_timer(timer)
    }

    /// A connection of this reactor, to write to or close (a reply computed on another
    /// thread and sent through a [`Sender`](crate::Sender)).
    pub fn conn(&mut self, id: ConnId) -> ConnRef<'_> {
        ConnRef {
            core: self.core,
            id,
        }
    }

    /// [`Context::broadcast`] from a handler: a message from another thread to many
    /// connections.
    pub fn broadcast(
        &mut self,
        ids: impl IntoIterator<Item = ConnId>,
        data: impl Into<Bytes>,
        policy: SlowConsumer,
    ) -> usize {
        self.core.broadcast(ids, &data.into(), policy)
    }

    /// Deregisters and closes this descriptor (or channel) after the callback.
    pub fn close(&mut self) {
        self.core.request_close_slot(self.slot);
    }

    /// The reactor's counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// The counters per server (listener label), the unlabelled set first: what a metrics
    /// exporter reads through [`Handle::call`](crate::Handle::call).
    pub fn listener_stats(&self) -> &[ListenerStats] {
        self.core.listener_stats()
    }

    /// Asks the reactor to shut down gracefully.
    pub fn shutdown_reactor(&mut self) {
        self.core.begin_shutdown();
    }

    /// Opens an outbound TCP connection driven by `protocol`, from `source` if given (bind
    /// before connect: a client spreading connections over several local addresses). A
    /// timer-driven handler uses this to pace connection ramp-up.
    pub fn connect<U: Copy + 'static, P: Protocol<U>>(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
        protocol: P,
    ) -> io::Result<ConnId> {
        self.core.connect(addr, source, Typed::boxed(protocol))
    }
}
