//! One connection's state inside the reactor: its descriptor, its protocol (or its parent, for
//! a child socket), its unconsumed input, its write queue and its flags.
//!
//! Kept small on purpose (112 bytes, 120 with its slot in the table): an idle connection
//! holds this, its protocol's own state, and no buffer. This module must not call
//! protocols; `core` does.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::boxed::AnyProtocol;
use crate::buffer::WriteQueue;
use crate::pool::InputBuf;
pub(crate) use crate::virtual_io::VirtualPeer;
use crate::ConnId;

/// The descriptor behind a connection.
pub(crate) enum Io {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
    /// Any stream-like descriptor: pipes, socketpairs.
    Fd(OwnedFd),
    /// No descriptor: a connection of the test harness.
    Virtual(Box<VirtualPeer>),
    /// TLS over one of the above (boxed: the session is large, and plain connections must
    /// not pay for it).
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::session::TlsIo>),
}

impl Io {
    pub(crate) fn raw_fd(&self) -> Option<RawFd> {
        match self {
            Io::Tcp(s) => Some(s.as_raw_fd()),
            Io::Unix(s) => Some(s.as_raw_fd()),
            Io::Fd(f) => Some(f.as_raw_fd()),
            Io::Virtual(_) => None,
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.inner.raw_fd(),
        }
    }

    /// The transport under a TLS layer, or this one.
    pub(crate) fn base(&self) -> &Io {
        match self {
            #[cfg(feature = "tls")]
            Io::Tls(t) => &t.inner,
            io => io,
        }
    }

    /// The transport under a TLS layer, or this one.
    pub(crate) fn base_mut(&mut self) -> &mut Io {
        match self {
            #[cfg(feature = "tls")]
            Io::Tls(t) => &mut t.inner,
            io => io,
        }
    }

    /// TLS output (records, a plaintext preamble) waits to be written.
    pub(crate) fn tls_wants_write(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.wants_write(),
            _ => false,
        }
    }

    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        match self.base() {
            Io::Tcp(s) => s.peer_addr().ok(),
            Io::Virtual(v) => v.peer,
            _ => None,
        }
    }

    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self.base() {
            Io::Tcp(s) => s.local_addr().ok(),
            Io::Virtual(v) => v.local,
            _ => None,
        }
    }
}

/// Who handles a connection's events. 16 bytes: a [`ProtoCell`] is never null, so the
/// `Child` variant needs no tag word of its own.
pub(crate) enum Owner {
    /// Its own protocol (empty while a callback of it runs, or before it opens).
    Proto(ProtoCell),
    /// A child socket: events go to the parent's `on_child`.
    Child(ConnId),
}

/// A connection's protocol, or none. An empty cell holds a zero-sized placeholder (a `Box`
/// of a zero-sized type allocates nothing) rather than `None`: `Option<Box<dyn _>>` takes the
/// pointer's only niche, and `Owner` would then need a tag word — 8 bytes more in every slot.
pub(crate) struct ProtoCell(Box<dyn AnyProtocol>);

impl ProtoCell {
    /// A cell holding `proto`.
    pub(crate) fn new(proto: Box<dyn AnyProtocol>) -> ProtoCell {
        ProtoCell(proto)
    }

    /// An empty cell.
    pub(crate) fn empty() -> ProtoCell {
        ProtoCell(Box::new(crate::boxed::Vacant))
    }

    /// Takes the protocol out, leaving the cell empty.
    pub(crate) fn take(&mut self) -> Option<Box<dyn AnyProtocol>> {
        if self.0.is_vacant() {
            return None;
        }
        Some(std::mem::replace(
            &mut self.0,
            Box::new(crate::boxed::Vacant),
        ))
    }
}

/// Connection flags (one `u32`).
pub(crate) mod flag {
    /// Outbound connect not completed.
    pub const CONNECTING: u32 = 1 << 0;
    /// The peer shut down its write half.
    pub const EOF: u32 = 1 << 1;
    /// The protocol paused reading.
    pub const PAUSED_APP: u32 = 1 << 2;
    /// The write queue went above the high watermark (reading paused).
    pub const PRESSURE: u32 = 1 << 3;
    /// Readable while reading was paused, or the read budget ran out: read again later.
    pub const READ_PENDING: u32 = 1 << 4;
    /// The last write was short: wait for writability.
    pub const WAIT_WRITABLE: u32 = 1 << 5;
    /// Close at the next settle, dropping queued output.
    pub const CLOSE_NOW: u32 = 1 << 6;
    /// Close once the queue is written.
    pub const CLOSE_AFTER_FLUSH: u32 = 1 << 7;
    /// Shut down the write half once the queue is written.
    pub const SHUT_AFTER_FLUSH: u32 = 1 << 8;
    /// The write half is shut down.
    pub const WRITE_SHUT: u32 = 1 << 9;
    /// Tell the owner when the queue is next empty.
    pub const NOTIFY_DRAIN: u32 = 1 << 10;
    /// On the dirty list.
    pub const DIRTY: u32 = 1 << 11;
    /// Being closed (its children and callbacks are being torn down).
    pub const CLOSING: u32 = 1 << 12;
    /// A callback panicked: close reason is `Panic`.
    pub const PANICKED: u32 = 1 << 13;
    /// The idle timeout ran out and nothing was read since: a close now is reported as
    /// [`CloseReason::IdleTimeout`](crate::CloseReason::IdleTimeout).
    pub const IDLE_EXPIRED: u32 = 1 << 14;
    /// A write would have passed the output limit, or the soft limit held too long: closing
    /// with [`CloseReason::OutputLimit`](crate::CloseReason::OutputLimit).
    pub const OUTPUT_OVER: u32 = 1 << 16;
    /// Above the soft output limit; a timer checks it again.
    pub const SOFT_OVER: u32 = 1 << 17;
    /// The protocol lifted the output limits for this connection.
    pub const NO_OUTPUT_LIMIT: u32 = 1 << 18;
    /// Accepted over a cap, only to be refused.
    pub const REFUSED: u32 = 1 << 19;
    /// The protocol saw its queue above the high watermark and stopped consuming input:
    /// hand the rest over again once the queue is below it.
    pub const YIELDED: u32 = 1 << 20;
    /// Waiting for its PROXY protocol header: nothing is delivered, its protocol is not
    /// open yet (`core::proxy` holds it).
    pub const PROXY_WAIT: u32 = 1 << 21;
    /// The peer's FIN, an error or urgent data was reported: read until `EAGAIN` or 0, no
    /// short-read shortcut (a FIN that came with the data raises no new edge, and a read
    /// stops short at the urgent mark).
    pub const HUP_SEEN: u32 = 1 << 15;
    /// Read-size class (bits 24..27): reads offer `read_buffer << class` bytes. It grows by
    /// one on every read that fills the offer and shrinks on a short one, so a bulk stream
    /// reads in large chunks while a chatty or idle connection stays at the base size.
    pub const SIZE_SHIFT: u32 = 24;
    /// Mask of the read-size class.
    pub const SIZE_MASK: u32 = 0b111 << SIZE_SHIFT;
    /// Largest read-size class (16x the base buffer).
    pub const SIZE_MAX: u32 = 4;
    /// An entry of the idle wheel stands for this connection (its ticket is `idle_ticket`).
    pub const IDLE_QUEUED: u32 = 1 << 27;
    /// The idle timeout is off (`Conn::idle` still says what its queued entry was for).
    pub const IDLE_OFF: u32 = 1 << 28;
    /// The TLS peer closed without `close_notify`: a close after its EOF is reported as
    /// [`CloseReason::TlsTruncated`](crate::CloseReason::TlsTruncated).
    #[cfg(feature = "tls")]
    pub const TLS_TRUNCATED: u32 = 1 << 22;
    /// The protocol switched this connection to TLS during the running callback: input it
    /// left unconsumed is ciphertext for the new session.
    #[cfg(feature = "tls")]
    pub const TLS_FRESH: u32 = 1 << 23;
    /// The protocol closed knowing the peer is still sending (`Context::close_lingering`):
    /// the close lingers whatever the socket holds at that moment.
    pub const LINGER_ASKED: u32 = 1 << 29;
    /// Reading is paused for any reason.
    pub const NO_READ: u32 = PAUSED_APP | PRESSURE | EOF | CLOSE_AFTER_FLUSH | CLOSE_NOW;
}

/// A connection (or child stream).
pub(crate) struct Conn {
    pub io: Io,
    pub owner: Owner,
    /// Unconsumed input; `None` when there is none (the buffer went back to the pool).
    pub input: Option<InputBuf>,
    pub out: WriteQueue,
    pub flags: u32,
    /// Last read or write, in ms since the reactor started (for the idle timeout).
    pub last_active: u32,
    /// Where it is counted against the per-source cap (`u32::MAX`: it is not).
    pub origin: u32,
    /// Its index in `Core::groups` (its listener's label; a child's is its parent's).
    pub group: u16,
    /// Its idle timeout: an index + 1 into `Core::idle_ms` (0: none, or on the general
    /// wheel). Two bytes that were padding, so an idle timeout adds nothing to the slot.
    pub idle: u8,
    /// Tells this connection's current entry of the idle wheel from older ones.
    pub idle_ticket: u8,
}

impl Conn {
    pub(crate) fn new(io: Io, owner: Owner, now_ms: u32) -> Conn {
        Conn {
            io,
            owner,
            input: None,
            out: WriteQueue::default(),
            flags: 0,
            last_active: now_ms,
            origin: u32::MAX,
            group: 0,
            idle: 0,
            idle_ticket: 0,
        }
    }

    pub(crate) fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}
