//! The callbacks a connection's state machine implements.
//!
//! A [`Protocol`] value owns the state of exactly one connection. The reactor calls it when
//! something happens on that connection and hands it a [`Context`] through which it acts:
//! write, close, set timers, pause reading, open child sockets, write to other connections.
//! The names follow the reactor tradition (Twisted's `connectionMade` / `dataReceived` /
//! `connectionLost`, producers paused and resumed for backpressure).
//!
//! This module owns the *shape* of the callbacks; it must not do IO. Everything here is also
//! driven by [`crate::testing::Harness`] without any socket.

use std::io;
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;

use bytes::BytesMut;

use crate::context::{Context, FdContext};
use crate::ConnId;

/// A connection's state machine. One value per connection; all callbacks run on the reactor's
/// thread, one at a time.
///
/// Only [`on_data`](Protocol::on_data) is required. A panic inside any callback closes this
/// connection only (reason [`CloseReason::Panic`]) and the reactor goes on.
///
/// ```
/// use bytes::BytesMut;
/// use netreactor::{Context, Protocol};
///
/// /// Sends every byte back.
/// struct Echo;
///
/// impl Protocol for Echo {
///     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
///         // `split().freeze()` hands the bytes to the write queue without copying.
///         cx.write(input.split().freeze());
///     }
/// }
/// ```
pub trait Protocol: 'static {
    /// The connection is established (accepted, or an outbound connect completed).
    fn on_open(&mut self, cx: &mut Context<'_>) {
        let _ = cx;
    }

    /// Bytes arrived. `input` holds every byte not yet consumed, oldest first: consume what
    /// you parsed (`split_to(n).freeze()`, `advance(n)`, `split()`) and leave partial frames in
    /// place; they are handed back, with more bytes behind them, on the next call.
    ///
    /// The core caps `input` at [`Config::max_input`](crate::Config::max_input): a protocol
    /// that never consumes gets its connection closed with [`CloseReason::InputLimit`], so a
    /// peer cannot grow memory without bound. Protocols should enforce tighter limits of
    /// their own (and answer them in protocol terms: 431, 1009, ...).
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut);

    /// The peer shut down its write half (read returned 0). The write half is still open.
    /// Default: close once everything queued has been written.
    fn on_eof(&mut self, cx: &mut Context<'_>) {
        cx.close_after_flush();
    }

    /// Backpressure: `paused == true` when the write queue went above the high watermark
    /// (the core has stopped reading from this connection), `false` when it drained below the
    /// low watermark (reading resumed). Stop and restart producing output accordingly.
    fn on_backpressure(&mut self, cx: &mut Context<'_>, paused: bool) {
        let _ = (cx, paused);
    }

    /// The write queue became empty after [`Context::notify_drained`] asked for it.
    fn on_drain(&mut self, cx: &mut Context<'_>) {
        let _ = cx;
    }

    /// A timer set with [`Context::set_timer`] fired; `tag` is the value given then.
    fn on_timer(&mut self, cx: &mut Context<'_>, tag: u64) {
        let _ = (cx, tag);
    }

    /// Something happened on a child socket this connection opened (see
    /// [`Context::listen_child`], [`Context::connect_child`], [`Context::adopt_child`]).
    fn on_child(&mut self, cx: &mut Context<'_>, child: ConnId, event: ChildEvent<'_>) {
        let _ = event;
        // A protocol that opens children must handle their events; by default, drop them.
        cx.close_conn(child);
    }

    /// The reactor is shutting down gracefully: finish what is in flight and close.
    /// Default: close once everything queued has been written. Connections still open at the
    /// shutdown deadline are closed with [`CloseReason::Shutdown`].
    fn on_shutdown(&mut self, cx: &mut Context<'_>) {
        cx.close_after_flush();
    }

    /// The connection is closed; this is the last call. Writes to this connection are
    /// ignored, writes to others (a chat's "X left") still go out.
    fn on_close(&mut self, cx: &mut Context<'_>, reason: &CloseReason) {
        let _ = (cx, reason);
    }
}

/// An event on a child socket, delivered to the parent's [`Protocol::on_child`].
///
/// A child has no protocol of its own: its events go to the parent, which writes to it with
/// [`Context::write_to`] and closes it with [`Context::close_conn`]. Children are closed when
/// their parent closes.
#[derive(Debug)]
pub enum ChildEvent<'a> {
    /// A child listener (the `child` id of the callback) accepted `conn` — itself a child of
    /// the same parent — from `peer`.
    Accepted {
        /// The new data connection.
        conn: ConnId,
        /// Its remote address.
        peer: SocketAddr,
    },
    /// An outbound child connection completed.
    Connected,
    /// Bytes arrived on a child stream; consume as in [`Protocol::on_data`].
    Data(&'a mut BytesMut),
    /// The child's peer shut down its write half (for a pipe: the writer closed it).
    Eof,
    /// The child's write queue became empty after [`Context::notify_drained_of`].
    Drained,
    /// The child is closed; its id is no longer valid.
    Closed(&'a CloseReason),
}

/// Why a connection closed.
#[derive(Debug)]
pub enum CloseReason {
    /// The protocol asked for it ([`Context::close`] / [`Context::close_after_flush`]).
    Local,
    /// The peer closed and everything is done (EOF then flush, or a reset after EOF).
    Peer,
    /// An IO error (reset, broken pipe, connect refused, ...).
    Io(io::Error),
    /// The core's idle timeout ([`Config::idle_timeout`](crate::Config::idle_timeout)).
    IdleTimeout,
    /// The peer sent more than [`Config::max_input`](crate::Config::max_input) that the
    /// protocol did not consume.
    InputLimit,
    /// A protocol callback panicked; the message is logged.
    Panic,
    /// The reactor shut down (or the shutdown deadline passed).
    Shutdown,
    /// The parent of this child connection closed.
    ParentClosed,
}

impl CloseReason {
    /// True for closes that are errors worth counting (IO errors, limits, panics).
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            CloseReason::Io(_) | CloseReason::InputLimit | CloseReason::Panic
        )
    }
}

/// A datagram (UDP) socket's handler, registered with
/// [`Reactor::bind_udp`](crate::Reactor::bind_udp).
pub trait DatagramProtocol: 'static {
    /// A datagram arrived from `peer`.
    fn on_datagram(&mut self, cx: &mut FdContext<'_>, data: &[u8], peer: SocketAddr);

    /// A timer set with [`FdContext::set_timer`] fired.
    fn on_timer(&mut self, cx: &mut FdContext<'_>, tag: u64) {
        let _ = (cx, tag);
    }
}

/// A handler for any pollable file descriptor (raw or ICMP sockets, pipes, eventfds, ...)
/// registered with [`Reactor::register_fd`](crate::Reactor::register_fd). The handler does
/// its own reads and writes on the nonblocking descriptor; readiness is edge-triggered, so
/// read until `WouldBlock`.
pub trait FdHandler: 'static {
    /// Called once, right after registration.
    fn on_open(&mut self, cx: &mut FdContext<'_>, fd: BorrowedFd<'_>) {
        let _ = (cx, fd);
    }

    /// The descriptor is readable.
    fn on_readable(&mut self, cx: &mut FdContext<'_>, fd: BorrowedFd<'_>);

    /// The descriptor is writable (only when registered with write interest).
    fn on_writable(&mut self, cx: &mut FdContext<'_>, fd: BorrowedFd<'_>) {
        let _ = (cx, fd);
    }

    /// A timer set with [`FdContext::set_timer`] fired.
    fn on_timer(&mut self, cx: &mut FdContext<'_>, fd: BorrowedFd<'_>, tag: u64) {
        let _ = (cx, fd, tag);
    }
}
