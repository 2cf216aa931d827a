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
/// thread, one at a time, and never nest.
///
/// Only [`on_data`](Protocol::on_data) is required. A panic inside any callback closes this
/// connection only (reason [`CloseReason::Panic`]) and the reactor goes on.
///
/// `T` is the protocol's own timer type: [`Context::set_timer`] takes a `T` and
/// [`on_timer`](Protocol::on_timer) gets it back. Any `Copy` type of at most 8 bytes works —
/// an enum naming the protocol's deadlines is the usual choice — and the default `()` suits a
/// protocol with a single timer or none. Protocols layered on one connection (HTTP, then
/// WebSocket after an upgrade) each have their own type, so their timers cannot collide.
///
/// ```
/// use std::time::Duration;
/// use netreactor::bytes::BytesMut;
/// use netreactor::{Context, Protocol};
///
/// #[derive(Clone, Copy)]
/// enum Deadline {
///     Greeting,
/// }
///
/// /// Sends every byte back; says goodbye to a peer that stays silent for 10 seconds.
/// struct Echo;
///
/// impl Protocol<Deadline> for Echo {
///     fn on_open(&mut self, cx: &mut Context<'_, Deadline>) {
///         cx.set_timer(Duration::from_secs(10), Deadline::Greeting);
///     }
///
///     fn on_data(&mut self, cx: &mut Context<'_, Deadline>, input: &mut BytesMut) {
///         // `split().freeze()` hands the bytes to the write queue without copying.
///         cx.write(input.split().freeze());
///     }
///
///     fn on_timer(&mut self, cx: &mut Context<'_, Deadline>, timer: Deadline) {
///         match timer {
///             Deadline::Greeting if cx.stats().bytes_in == 0 => {
///                 cx.write("bye\n");
///                 cx.close(); // flushes "bye" first
///             }
///             Deadline::Greeting => {}
///         }
///     }
/// }
/// ```
pub trait Protocol<T: Copy + 'static = ()>: 'static {
    /// The connection is established (accepted, an outbound connect completed, or this
    /// protocol took the connection over through [`Context::switch_to`]).
    fn on_open(&mut self, cx: &mut Context<'_, T>) {
        let _ = cx;
    }

    /// Bytes arrived. `input` holds every byte not yet consumed, oldest first: consume what
    /// you parsed (`split_to(n).freeze()`, `advance(n)`, `split()`) and leave partial frames in
    /// place; they are handed back, with more bytes behind them, on the next call.
    ///
    /// A protocol that handles several pipelined requests in one call checks
    /// [`Context::is_backpressured`] between them and returns early when it is: the rest of
    /// `input` is handed back once the peer has read enough.
    ///
    /// The core caps `input` at [`Config::max_input`](crate::Config::max_input): a protocol
    /// that never consumes gets its connection closed with [`CloseReason::InputLimit`], so a
    /// peer cannot grow memory without bound. Protocols should enforce tighter limits of
    /// their own (and answer them in protocol terms: 431, 1009, ...).
    fn on_data(&mut self, cx: &mut Context<'_, T>, input: &mut BytesMut);

    /// The peer shut down its write half (read returned 0). The write half is still open.
    /// Default: [`close`](Context::close) (everything queued is written first).
    fn on_eof(&mut self, cx: &mut Context<'_, T>) {
        cx.close();
    }

    /// Backpressure: `paused == true` when the write queue went above the high watermark
    /// (the core has stopped reading from this connection, and stops handing it buffered
    /// input), `false` when it drained below the low watermark (reading resumed). Stop and
    /// restart producing output accordingly.
    fn on_backpressure(&mut self, cx: &mut Context<'_, T>, paused: bool) {
        let _ = (cx, paused);
    }

    /// The write queue became empty after [`Context::notify_drained`] asked for it.
    fn on_drain(&mut self, cx: &mut Context<'_, T>) {
        let _ = cx;
    }

    /// A timer set with [`Context::set_timer`] fired; `timer` is the value given then.
    fn on_timer(&mut self, cx: &mut Context<'_, T>, timer: T) {
        let _ = (cx, timer);
    }

    /// Nothing was read from or written to the connection for its idle timeout
    /// ([`Context::set_idle_timeout`], default [`Config::idle_timeout`](crate::Config::idle_timeout)).
    /// Default: [`close`](Context::close). A protocol may answer first (HTTP 408, FTP 421, a
    /// WebSocket close frame) and then close; if it does nothing the timeout runs again, and a
    /// connection that is still closing when it runs out again is aborted.
    fn on_idle(&mut self, cx: &mut Context<'_, T>) {
        cx.close();
    }

    /// Something happened on a child socket this connection opened (see
    /// [`Context::listen_child`], [`Context::connect_child`], [`Context::adopt_child`]).
    /// Default: abort the child (a protocol that opens children handles their events).
    fn on_child(&mut self, cx: &mut Context<'_, T>, child: ConnId, event: ChildEvent<'_>) {
        let _ = event;
        cx.conn(child).abort();
    }

    /// The connection was accepted over a cap ([`Config::max_connections`](crate::Config::max_connections),
    /// [`ListenOptions::max_connections`](crate::ListenOptions::max_connections),
    /// [`Config::max_per_source`](crate::Config::max_per_source)) only to be told so; it runs
    /// in place of [`on_open`](Protocol::on_open). Answer in protocol terms (HTTP 503, FTP
    /// 421) and [`close`](Context::close); the connection is aborted after
    /// [`Config::refusal_time`](crate::Config::refusal_time) in any case. Default: abort.
    fn on_refused(&mut self, cx: &mut Context<'_, T>, why: Refusal) {
        let _ = why;
        cx.abort();
    }

    /// The reactor is shutting down gracefully: finish what is in flight and close.
    /// Default: [`close`](Context::close). Connections still open at the shutdown deadline are
    /// closed with [`CloseReason::Shutdown`].
    fn on_shutdown(&mut self, cx: &mut Context<'_, T>) {
        cx.close();
    }

    /// The connection is closed; this is the last call. Writes to this connection are
    /// ignored, writes to others (a chat's "X left") still go out.
    fn on_close(&mut self, cx: &mut Context<'_, T>, reason: &CloseReason) {
        let _ = (cx, reason);
    }
}

/// An event on a child socket, delivered to the parent's [`Protocol::on_child`].
///
/// A child has no protocol of its own: its events go to the parent, which acts on it through
/// [`Context::conn`] (`cx.conn(child).write(..)`, `.close()`). Children are closed when their
/// parent closes.
#[derive(Debug)]
#[non_exhaustive]
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
    /// The child's write queue became empty after [`ConnRef::notify_drained`](crate::ConnRef::notify_drained).
    Drained,
    /// A child that speaks TLS finished its handshake (once per session; feature `tls`):
    /// what it negotiated — a resumed session, say — is in
    /// [`ConnRef::tls`](crate::ConnRef::tls). Plaintext that arrived with the handshake's
    /// last flight is delivered after it.
    TlsReady,
    /// The child is closed; its id is no longer valid.
    Closed(&'a CloseReason),
}

/// What [`Context::broadcast`] does with a receiver that does not keep up: its write queue
/// is above the high watermark (it stopped reading, or reads slower than it is sent to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowConsumer {
    /// It misses this message (a chat line, a ticker value: the next one supersedes it).
    Skip,
    /// It is disconnected ([`CloseReason::OutputLimit`]): for streams that must not have
    /// gaps.
    Disconnect,
}

/// Why a new connection is refused ([`Protocol::on_refused`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The reactor holds [`Config::max_connections`](crate::Config::max_connections).
    ServerFull,
    /// The listener holds its
    /// [`ListenOptions::max_connections`](crate::ListenOptions::max_connections).
    ListenerFull,
    /// The peer's address holds [`Config::max_per_source`](crate::Config::max_per_source)
    /// connections on this listener.
    SourceFull,
}

/// Why a connection closed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// The protocol asked for it ([`Context::close`] / [`Context::abort`]).
    Local,
    /// The peer closed and everything is done (EOF then flush, or a reset after EOF).
    Peer,
    /// An IO error (reset, broken pipe, connect refused, ...).
    Io(io::Error),
    /// The idle timeout ran out ([`Context::set_idle_timeout`]): the protocol closed in
    /// [`Protocol::on_idle`] (its default), or the connection was a child socket or still
    /// closing when the timeout ran out again.
    IdleTimeout,
    /// The peer sent more than [`Config::max_input`](crate::Config::max_input) that the
    /// protocol did not consume.
    InputLimit,
    /// Its queued output passed [`Config::output_limit`](crate::Config::output_limit), or
    /// stayed above [`Config::output_soft_limit`](crate::Config::output_soft_limit) too long:
    /// the peer does not read what it is sent.
    OutputLimit,
    /// A protocol callback panicked; the message is logged.
    Panic,
    /// The reactor shut down (or the shutdown deadline passed).
    Shutdown,
    /// The parent of this child connection closed.
    ParentClosed,
    /// Its PROXY protocol header was malformed, incomplete when the peer closed, or late
    /// ([`ListenOptions::proxy_protocol`](crate::ListenOptions::proxy_protocol)): its
    /// protocol never saw it, so only the test harness reports this reason.
    ProxyHeader,
    /// The TLS layer failed: a bad record or handshake message, an alert from the peer, a
    /// peer that spoke plaintext to a TLS port. The text is rustls's (or says which).
    Tls(String),
    /// The TLS handshake did not finish within
    /// [`Config::tls_handshake_timeout`](crate::Config::tls_handshake_timeout), or took more
    /// than [`Config::tls_handshake_limit`](crate::Config::tls_handshake_limit) bytes.
    TlsHandshake,
    /// The peer closed the TCP connection without TLS `close_notify` (everything else went
    /// as for [`Peer`](Self::Peer)): a truncation, or a client that does not bother. A
    /// protocol whose framing marks its own ends (HTTP with a length) loses nothing;
    /// one that reads to EOF should not trust the end.
    TlsTruncated,
}

impl CloseReason {
    /// The names of the kinds of reason, in the order of [`kind_index`](Self::kind_index):
    /// what [`ListenerStats::closed`](crate::ListenerStats::closed) is indexed by.
    pub const KINDS: [&'static str; 13] = [
        "local",
        "peer",
        "io",
        "idle_timeout",
        "input_limit",
        "output_limit",
        "panic",
        "shutdown",
        "parent_closed",
        "proxy_header",
        "tls",
        "tls_handshake",
        "tls_truncated",
    ];

    /// Which kind of reason this is: an index into [`KINDS`](Self::KINDS).
    pub fn kind_index(&self) -> usize {
        match self {
            CloseReason::Local => 0,
            CloseReason::Peer => 1,
            CloseReason::Io(_) => 2,
            CloseReason::IdleTimeout => 3,
            CloseReason::InputLimit => 4,
            CloseReason::OutputLimit => 5,
            CloseReason::Panic => 6,
            CloseReason::Shutdown => 7,
            CloseReason::ParentClosed => 8,
            CloseReason::ProxyHeader => 9,
            CloseReason::Tls(_) => 10,
            CloseReason::TlsHandshake => 11,
            CloseReason::TlsTruncated => 12,
        }
    }

    /// The kind's name (`"peer"`, `"idle_timeout"`, ...), as metrics label it.
    pub fn kind(&self) -> &'static str {
        Self::KINDS[self.kind_index()]
    }

    /// True for closes that are errors worth counting (IO errors, limits, panics).
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            CloseReason::Io(_)
                | CloseReason::InputLimit
                | CloseReason::OutputLimit
                | CloseReason::Panic
                | CloseReason::Tls(_)
                | CloseReason::TlsHandshake
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
