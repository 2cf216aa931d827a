//! What a protocol can do from inside a callback.
//!
//! A [`Context`] is a short-lived borrow of the reactor's core, handed to every
//! [`Protocol`](crate::Protocol) callback. Every action is *queued*: writes go to a write
//! queue flushed (with `writev`/`sendfile`) after the callback returns, closes and other
//! connections' changes are applied after it returns too, so callbacks never nest and never
//! observe a half-updated reactor.
//!
//! The same `Context` drives real sockets under [`Reactor`](crate::Reactor) and in-memory
//! connections under [`Harness`](crate::testing::Harness).

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::core::{Core, SlotId};
use crate::stats::{Counter, Stats};
use crate::{ConnId, Protocol, TimerId};

/// The handle a [`Protocol`] callback acts through. See the module docs.
pub struct Context<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) id: ConnId,
}

impl<'a> Context<'a> {
    /// This connection's id (stable for its lifetime, never reused while it is open).
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The reactor's clock for this turn of the loop (cached: one clock read per wake).
    pub fn now(&self) -> Instant {
        self.core.now()
    }

    /// The remote address, when the connection is a socket with an IP peer.
    ///
    /// This is a `getpeername(2)` call, not a cached field (caching both addresses would add
    /// 64 bytes to every idle connection): read it once, in `on_open`, if you need it often.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.core.peer_addr(self.id)
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

    /// Queues `data` for this connection. `Bytes` (including `Bytes::from_static` and clones
    /// of a shared buffer) are queued without copying; they leave with `writev`.
    pub fn write(&mut self, data: impl Into<Bytes>) {
        self.core.write(self.id, data.into());
    }

    /// Queues `data` for another connection (broadcast: encode once, clone the `Bytes` per
    /// receiver). Returns false when `id` is no longer open.
    pub fn write_to(&mut self, id: ConnId, data: impl Into<Bytes>) -> bool {
        self.core.write(id, data.into())
    }

    /// Queues `len` bytes of `file` from `offset`; they leave with `sendfile(2)`, in order
    /// with the other writes.
    pub fn send_file(&mut self, file: Rc<File>, offset: u64, len: u64) {
        self.core.send_file(self.id, file, offset, len);
    }

    /// [`send_file`](Self::send_file) on another connection (a child data channel).
    pub fn send_file_to(&mut self, id: ConnId, file: Rc<File>, offset: u64, len: u64) -> bool {
        self.core.send_file(id, file, offset, len)
    }

    /// Bytes queued and not yet written on this connection.
    pub fn queued(&self) -> usize {
        self.core.queued(self.id)
    }

    /// Bytes queued and not yet written on `id` (0 when it is not open).
    pub fn queued_of(&self, id: ConnId) -> usize {
        self.core.queued(id)
    }

    /// True while this connection's write queue is above the high watermark (reading is
    /// paused until it drains below the low one).
    pub fn is_backpressured(&self) -> bool {
        self.core.is_backpressured(self.id)
    }

    /// Closes now: queued output is dropped. [`Protocol::on_close`] follows.
    pub fn close(&mut self) {
        self.core.request_close(self.id, false);
    }

    /// Stops reading, writes everything queued, then closes.
    pub fn close_after_flush(&mut self) {
        self.core.request_close(self.id, true);
    }

    /// Shuts down the write half (`shutdown(SHUT_WR)`) once the queue is written; reading
    /// goes on.
    pub fn shutdown_write(&mut self) {
        self.core.request_shutdown_write(self.id);
    }

    /// Closes another connection (typically a child) now.
    pub fn close_conn(&mut self, id: ConnId) {
        self.core.request_close(id, false);
    }

    /// Closes another connection once its queue is written.
    pub fn close_conn_after_flush(&mut self, id: ConnId) {
        self.core.request_close(id, true);
    }

    /// Shuts down another connection's write half once its queue is written.
    pub fn shutdown_write_of(&mut self, id: ConnId) {
        self.core.request_shutdown_write(id);
    }

    /// Stops reading from this connection until [`resume_read`](Self::resume_read).
    pub fn pause_read(&mut self) {
        self.core.set_read_paused(self.id, true);
    }

    /// Resumes reading; bytes that arrived meanwhile are delivered.
    pub fn resume_read(&mut self) {
        self.core.set_read_paused(self.id, false);
    }

    /// Pauses or resumes reading on another connection (a child).
    pub fn set_read_paused_of(&mut self, id: ConnId, paused: bool) {
        self.core.set_read_paused(id, paused);
    }

    /// Asks for one [`Protocol::on_drain`] call when the write queue is next empty (at once,
    /// after this callback, if it already is).
    pub fn notify_drained(&mut self) {
        self.core.notify_drained(self.id);
    }

    /// Asks for one [`ChildEvent::Drained`](crate::ChildEvent::Drained) when child `id`'s
    /// queue is next empty.
    pub fn notify_drained_of(&mut self, id: ConnId) {
        self.core.notify_drained(id);
    }

    /// Sets a one-shot timer; [`Protocol::on_timer`] gets `tag` after `after`. O(1).
    pub fn set_timer(&mut self, after: Duration, tag: u64) -> TimerId {
        self.core.set_timer(self.id.slot(), after, tag)
    }

    /// Cancels a timer; false when it already fired or was cancelled. O(1).
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
        self.core.cancel_timer(timer)
    }

    /// Opens a listener owned by this connection (an FTP passive data port). Its accepted
    /// connections arrive as [`ChildEvent::Accepted`](crate::ChildEvent::Accepted). Returns
    /// the listener's id and bound address (port 0 picks a free port).
    pub fn listen_child(&mut self, addr: SocketAddr) -> io::Result<(ConnId, SocketAddr)> {
        self.core.listen_child(self.id, addr)
    }

    /// Opens an outbound TCP connection owned by this connection (an FTP active data
    /// channel); [`ChildEvent::Connected`](crate::ChildEvent::Connected) or
    /// [`ChildEvent::Closed`](crate::ChildEvent::Closed) follows.
    pub fn connect_child(&mut self, addr: SocketAddr) -> io::Result<ConnId> {
        self.core.connect_child(self.id, addr)
    }

    /// Drives any stream-like descriptor (a pipe to a CGI child, a socketpair) as a child:
    /// made nonblocking, read into [`ChildEvent::Data`](crate::ChildEvent::Data), written with
    /// [`write_to`](Self::write_to).
    pub fn adopt_child(&mut self, fd: OwnedFd) -> io::Result<ConnId> {
        self.core.adopt_child(self.id, fd)
    }

    /// Opens an independent outbound TCP connection driven by `protocol` (a client; the
    /// load generator opens its connections this way).
    pub fn connect(&mut self, addr: SocketAddr, protocol: Box<dyn Protocol>) -> io::Result<ConnId> {
        self.core.connect(addr, None, protocol)
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
    }

    /// True once graceful shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.core.shutting_down
    }

    /// Asks the reactor to shut down gracefully (as SIGTERM does).
    pub fn shutdown_reactor(&mut self) {
        self.core.begin_shutdown();
    }
}

/// The handle a [`DatagramProtocol`](crate::DatagramProtocol) or
/// [`FdHandler`](crate::FdHandler) acts through.
pub struct FdContext<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) slot: SlotId,
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

    /// Sets a one-shot timer on this handler.
    pub fn set_timer(&mut self, after: Duration, tag: u64) -> TimerId {
        self.core.set_timer(self.slot, after, tag)
    }

    /// Cancels a timer.
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
        self.core.cancel_timer(timer)
    }

    /// Deregisters and closes this descriptor after the callback.
    pub fn close(&mut self) {
        self.core.request_close_slot(self.slot);
    }

    /// The reactor's counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// Asks the reactor to shut down gracefully.
    pub fn shutdown_reactor(&mut self) {
        self.core.begin_shutdown();
    }

    /// Opens an outbound TCP connection driven by `protocol`, from `source` if given (bind
    /// before connect: a client spreading connections over several local addresses). A
    /// timer-driven handler uses this to pace connection ramp-up.
    pub fn connect(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
        protocol: Box<dyn Protocol>,
    ) -> io::Result<ConnId> {
        self.core.connect(addr, source, protocol)
    }
}
