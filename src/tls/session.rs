//! One connection's TLS session, driven sans-IO: ciphertext comes from the socket (or the
//! harness) into rustls, plaintext goes out of rustls into the connection's input buffer;
//! queued plaintext goes through rustls and leaves as records with the same `writev` path
//! plain connections use.
//!
//! Nothing here calls a protocol; `core` does.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{BorrowedFd, RawFd};

use bytes::{Bytes, BytesMut};

use super::engine::Session;

use crate::buffer::WriteQueue;
use crate::connection::Io;
use crate::virtual_io::VirtualPeer;

/// How much queued plaintext is encrypted per round before the records are written.
const ENCRYPT_ROUND: usize = 32 * 1024;

/// State bits of a session.
mod state {
    /// `close_notify` queued.
    pub const CLOSE_NOTIFY_SENT: u8 = 1 << 0;
    /// The socket gave EOF.
    pub const SOCKET_EOF: u8 = 1 << 1;
    /// The first byte from the peer was checked (plaintext detection).
    pub const FIRST_BYTE_CHECKED: u8 = 1 << 2;
    /// The last socket read was short: the socket is drained.
    pub const DRAINED: u8 = 1 << 3;
    /// The peer sent `close_notify`.
    pub const PEER_CLOSED: u8 = 1 << 4;
    /// The end of the handshake was reported ([`TlsIo::take_ready`]).
    pub const READY_SEEN: u8 = 1 << 5;
}

/// A connection's transport when it speaks TLS: the socket, the rustls session, and what
/// the start of the session needs (boxed apart, and dropped once the handshake is over: an
/// idle connection does not carry it).
pub(crate) struct TlsIo {
    pub inner: Io,
    pub session: Session,
    start: Option<Box<Start>>,
    state: u8,
}

/// What only the start of a session uses.
#[derive(Default)]
struct Start {
    /// Output queued before the switch to TLS, written in plaintext first.
    preamble: WriteQueue,
    /// Ciphertext read while handshaking, against `Config::tls_handshake_limit`.
    handshake_bytes: u32,
    /// Sent in plaintext, then the connection closes, when the first byte from the peer
    /// cannot start a TLS handshake (an HTTP request to an HTTPS port).
    plaintext_reply: Option<Bytes>,
}

/// What a read achieved.
pub(crate) enum TlsRead {
    /// This much plaintext was appended.
    Data(usize),
    /// The peer closed (with `close_notify` or not: [`TlsIo::peer_closed`] says).
    Eof,
    /// Nothing more until the socket is readable again.
    WouldBlock,
    /// A record or handshake message was bad, or the peer sent an alert. The alert rustls
    /// queued in answer goes out before the close.
    Failed(String),
    /// The handshake took more bytes than allowed.
    HandshakeTooLarge,
    /// The peer's first byte cannot begin a TLS record: it speaks plaintext.
    Plaintext,
}

/// Where ciphertext comes from: a socket, or bytes the harness fed.
pub(crate) enum Source<'a> {
    Fd(RawFd),
    Bytes(&'a [u8]),
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Fd(fd) => nix::unistd::read(*fd, buf).map_err(io::Error::from),
            Source::Bytes([]) => Err(io::ErrorKind::WouldBlock.into()),
            Source::Bytes(b) => {
                let n = b.len().min(buf.len());
                buf[..n].copy_from_slice(&b[..n]);
                *b = &b[n..];
                Ok(n)
            }
        }
    }
}

/// Counts what a read asked for and got, so a short read says the socket is drained.
struct Counting<'s, 'a> {
    src: &'s mut Source<'a>,
    asked: usize,
    got: usize,
}

impl Read for Counting<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.asked += buf.len();
        let n = loop {
            match self.src.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        self.got += n;
        Ok(n)
    }
}

/// Where ciphertext goes: a socket (`writev`), or the harness's virtual peer.
enum Sink<'a> {
    Fd(RawFd),
    Virtual(&'a mut VirtualPeer),
}

/// Records whether the sink took less than offered (the socket buffer is full).
struct Wire<'a> {
    sink: Sink<'a>,
    short: bool,
    written: usize,
}

impl Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let offered: usize = bufs.iter().map(|b| b.len()).sum();
        let n = match &mut self.sink {
            Sink::Fd(fd) => {
                // SAFETY: the descriptor is owned by the connection being flushed, open for
                // the whole call.
                let fd = unsafe { BorrowedFd::borrow_raw(*fd) };
                loop {
                    match nix::sys::uio::writev(fd, bufs) {
                        Err(nix::errno::Errno::EINTR) => continue,
                        r => break r.map_err(io::Error::from)?,
                    }
                }
            }
            Sink::Virtual(peer) => {
                let room = peer
                    .capacity
                    .map_or(usize::MAX, |cap| cap.saturating_sub(peer.accepted));
                if room == 0 && offered > 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let mut n = 0;
                for b in bufs {
                    let take = b.len().min(room - n);
                    peer.written.extend_from_slice(&b[..take]);
                    n += take;
                }
                peer.accepted += n;
                n
            }
        };
        if n < offered {
            self.short = true;
        }
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a flush achieved (wire bytes, and whether the socket is full).
pub(crate) struct TlsFlushed {
    pub written: usize,
    pub blocked: bool,
}

impl TlsIo {
    pub(crate) fn new(inner: Io, session: Session, preamble: WriteQueue) -> TlsIo {
        TlsIo {
            inner,
            session,
            start: Some(Box::new(Start {
                preamble,
                ..Start::default()
            })),
            state: 0,
        }
    }

    /// The start state, made again if it was dropped (a plaintext reply or an alert queued
    /// after the handshake).
    fn start_mut(&mut self) -> &mut Start {
        self.start.get_or_insert_with(Box::default)
    }

    /// Sets the plaintext reply for a peer that does not speak TLS.
    pub(crate) fn set_plaintext_reply(&mut self, reply: Option<Bytes>) {
        if reply.is_some() || self.start.is_some() {
            self.start_mut().plaintext_reply = reply;
        }
    }

    /// Takes the plaintext reply (the peer does not speak TLS).
    pub(crate) fn take_plaintext_reply(&mut self) -> Option<Bytes> {
        self.start.as_mut().and_then(|s| s.plaintext_reply.take())
    }

    /// Queues `data` to go out in plaintext before any record.
    pub(crate) fn push_plaintext(&mut self, data: Bytes) {
        self.start_mut().preamble.push_bytes(data);
    }

    fn preamble_is_empty(&self) -> bool {
        self.start.as_ref().is_none_or(|s| s.preamble.is_empty())
    }

    /// Drops the start state once the handshake is over and the preamble written. True the
    /// time it does: the handshake's deadline can go too.
    pub(crate) fn end_start(&mut self) -> bool {
        if self.start.is_none() || self.session.is_handshaking() || !self.preamble_is_empty() {
            return false;
        }
        self.start = None;
        true
    }

    fn has(&self, bit: u8) -> bool {
        self.state & bit != 0
    }

    /// Ciphertext or plaintext waits to be written.
    pub(crate) fn wants_write(&self) -> bool {
        self.session.wants_write() || !self.preamble_is_empty()
    }

    /// The last socket read was short and rustls holds no plaintext: a new edge will come.
    pub(crate) fn drained(&mut self) -> bool {
        self.has(state::DRAINED) && !self.session.has_plaintext()
    }

    /// The peer ended the session with `close_notify`.
    pub(crate) fn peer_closed(&self) -> bool {
        self.has(state::PEER_CLOSED)
    }

    /// True once: the first time it is asked after the handshake finished.
    pub(crate) fn take_ready(&mut self) -> bool {
        if self.session.is_handshaking() || self.has(state::READY_SEEN) {
            return false;
        }
        self.state |= state::READY_SEEN;
        true
    }

    /// Queues `close_notify` once (sent by the next flush).
    pub(crate) fn close_notify(&mut self) {
        if !self.has(state::CLOSE_NOTIFY_SENT) {
            self.state |= state::CLOSE_NOTIFY_SENT;
            self.session.send_close_notify();
        }
    }

    /// Reads ciphertext from `src` and appends up to `want` bytes of plaintext to `buf`.
    /// Plaintext rustls already holds is handed over first: after an edge-triggered wake
    /// nothing else would announce it.
    pub(crate) fn read(
        &mut self,
        src: &mut Source<'_>,
        buf: &mut BytesMut,
        want: usize,
        handshake_limit: usize,
    ) -> TlsRead {
        loop {
            match self.session.take_plaintext(buf, want) {
                Some(0) => return TlsRead::Eof,
                Some(n) => return TlsRead::Data(n),
                None => {}
            }
            if self.has(state::SOCKET_EOF) || self.has(state::PEER_CLOSED) {
                return TlsRead::Eof;
            }
            if !self.has(state::FIRST_BYTE_CHECKED) {
                match self.first_byte(src) {
                    Some(true) => self.state |= state::FIRST_BYTE_CHECKED,
                    Some(false) => return TlsRead::Plaintext,
                    None => {}
                }
            }
            let handshaking = self.session.is_handshaking();
            let mut counting = Counting {
                src,
                asked: 0,
                got: 0,
            };
            match self.session.read_tls(&mut counting) {
                Ok(0) => {
                    self.state |= state::SOCKET_EOF;
                    // rustls learns of the EOF; what it holds is still handed over.
                    let _ = self.session.process_new_packets();
                    continue;
                }
                Ok(n) => {
                    if counting.got < counting.asked {
                        self.state |= state::DRAINED;
                    } else {
                        self.state &= !state::DRAINED;
                    }
                    if handshaking {
                        let start = self.start_mut();
                        start.handshake_bytes = start.handshake_bytes.saturating_add(n as u32);
                        if start.handshake_bytes as usize > handshake_limit {
                            return TlsRead::HandshakeTooLarge;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.state |= state::DRAINED;
                    return TlsRead::WouldBlock;
                }
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return TlsRead::Failed(e.to_string())
                }
                Err(e) => return TlsRead::Failed(format!("read: {e}")),
            }
            match self.session.process_new_packets() {
                Ok(true) => self.state |= state::PEER_CLOSED,
                Ok(_) => {}
                Err(e) => return TlsRead::Failed(e.to_string()),
            }
        }
    }

    /// For a server with a plaintext reply: does the peer's first byte start a handshake
    /// record (22)? `None` until a byte is there. Peeks, so rustls still reads it.
    fn first_byte(&mut self, src: &mut Source<'_>) -> Option<bool> {
        let has_reply = self
            .start
            .as_ref()
            .is_some_and(|s| s.plaintext_reply.is_some());
        if !has_reply || !self.session.is_server() {
            return Some(true);
        }
        let first = match src {
            Source::Bytes(b) => b.first().copied(),
            Source::Fd(fd) => {
                let mut byte = [0u8; 1];
                match nix::sys::socket::recv(*fd, &mut byte, nix::sys::socket::MsgFlags::MSG_PEEK) {
                    Ok(1) => Some(byte[0]),
                    Err(nix::errno::Errno::EAGAIN) => None,
                    // EOF or an error: rustls's own read reports it.
                    _ => return Some(true),
                }
            }
        };
        first.map(|b| b == 0x16)
    }

    /// Writes the plaintext preamble, then encrypts queued plaintext (once the handshake is
    /// done) and writes the records, until the queue is empty or the socket is full.
    /// `finish`: once the queue is empty, end the session with `close_notify`.
    pub(crate) fn flush(
        &mut self,
        out: &mut WriteQueue,
        portable_io: bool,
        finish: bool,
    ) -> io::Result<TlsFlushed> {
        let mut written = 0;
        if let Some(preamble) = self
            .start
            .as_mut()
            .map(|s| &mut s.preamble)
            .filter(|p| !p.is_empty())
        {
            let (n, blocked) = match &mut self.inner {
                Io::Virtual(peer) => peer.accept_from(preamble)?,
                io => {
                    let fd = io.raw_fd().expect("a real descriptor");
                    let f = preamble.flush_to_fd(fd, portable_io)?;
                    (f.written, f.blocked)
                }
            };
            written += n;
            if blocked || !preamble.is_empty() {
                return Ok(TlsFlushed {
                    written,
                    blocked: true,
                });
            }
        }
        loop {
            while self.session.wants_write() {
                let sink = match &mut self.inner {
                    Io::Virtual(peer) => Sink::Virtual(peer),
                    io => Sink::Fd(io.raw_fd().expect("a real descriptor")),
                };
                let mut wire = Wire {
                    sink,
                    short: false,
                    written: 0,
                };
                match self.session.write_tls(&mut wire) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => wire.short = true,
                    Err(e) => return Err(e),
                }
                written += wire.written;
                if wire.short {
                    return Ok(TlsFlushed {
                        written,
                        blocked: true,
                    });
                }
            }
            if out.is_empty() && finish && !self.has(state::CLOSE_NOTIFY_SENT) {
                self.close_notify();
                continue;
            }
            if self.session.is_handshaking() || out.is_empty() || self.has(state::CLOSE_NOTIFY_SENT)
            {
                break;
            }
            let session = &mut self.session;
            let moved = out.move_into(ENCRYPT_ROUND, |data| session.write_plaintext(data))?;
            if moved == 0 {
                break;
            }
        }
        Ok(TlsFlushed {
            written,
            blocked: false,
        })
    }
}
