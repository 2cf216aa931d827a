//! The rustls session under a TLS connection, on rustls's unbuffered API for both sides
//! ([`Unbuffered`](super::unbuffered::Unbuffered), whose buffers go when empty: an idle
//! connection holds no buffer). Server and client answer the same calls, so
//! [`TlsIo`](super::session::TlsIo) drives either.

use std::io::{self, Read, Write};
use std::sync::Arc;

use bytes::BytesMut;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, CommonState, ServerConfig};

use super::unbuffered::{UnbufferedClient, UnbufferedServer};

/// How much plaintext a session may hold encrypted but unwritten: the high watermark of a
/// TLS connection's own buffer, above the core's write queue. Four full records.
pub(crate) const TLS_BUFFER_LIMIT: usize = 64 * 1024;

/// One connection's rustls session, held inline (`TlsIo` is boxed already; the two sides are
/// within about 100 bytes of each other).
pub(crate) enum Session {
    /// A client.
    Client(UnbufferedClient),
    /// A server.
    Server(UnbufferedServer),
}

/// Runs `$body` with `$s` bound to whichever side the session is.
macro_rules! either {
    ($session:expr, $s:ident => $body:expr) => {
        match $session {
            Session::Client($s) => $body,
            Session::Server($s) => $body,
        }
    };
}

impl Session {
    /// A server session with `config`.
    pub(crate) fn server(config: Arc<ServerConfig>) -> Result<Session, rustls::Error> {
        UnbufferedServer::new(config).map(Session::Server)
    }

    /// A client session of `name` with `config`, its ClientHello made.
    pub(crate) fn client(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Session, rustls::Error> {
        UnbufferedClient::new(config, name).map(Session::Client)
    }

    /// The session serves (it answers ClientHellos).
    pub(crate) fn is_server(&self) -> bool {
        matches!(self, Session::Server(_))
    }

    /// rustls's view: version, suite, ALPN, peer certificates, handshake state.
    pub(crate) fn common(&self) -> &CommonState {
        either!(self, s => s.common())
    }

    /// The name the client asked for (SNI), on a server.
    pub(crate) fn server_name(&self) -> Option<&str> {
        match self {
            Session::Client(_) => None,
            Session::Server(s) => s.server_name(),
        }
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.common().is_handshaking()
    }

    /// Records wait to be written.
    pub(crate) fn wants_write(&self) -> bool {
        either!(self, s => s.wants_write())
    }

    /// Plaintext (or the end of it) waits to be handed over.
    pub(crate) fn has_plaintext(&mut self) -> bool {
        either!(self, s => s.has_plaintext() || s.peer_closed())
    }

    /// Moves up to `want` bytes of plaintext to `buf`: `Some(n)`, `Some(0)` at the end of
    /// the stream, `None` when there is none yet.
    pub(crate) fn take_plaintext(&mut self, buf: &mut BytesMut, want: usize) -> Option<usize> {
        either!(self, s => if s.has_plaintext() {
            Some(s.take_plaintext(buf, want))
        } else {
            s.peer_closed().then_some(0)
        })
    }

    /// Reads ciphertext from `rd` (`Ok(0)`: EOF).
    pub(crate) fn read_tls(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        either!(self, s => s.read_tls(rd))
    }

    /// Processes what was read; true once the peer has sent `close_notify`.
    pub(crate) fn process_new_packets(&mut self) -> Result<bool, rustls::Error> {
        either!(self, s => s.process_new_packets().map(|()| s.peer_closed()))
    }

    /// Takes what it can of `data` to encrypt now: as much as keeps the records waiting
    /// under [`TLS_BUFFER_LIMIT`].
    pub(crate) fn write_plaintext(&mut self, data: &[u8]) -> usize {
        either!(self, s => {
            let room = TLS_BUFFER_LIMIT.saturating_sub(s.pending_write());
            let take = data.len().min(room);
            s.write_plaintext(&data[..take]).unwrap_or(0)
        })
    }

    /// Writes records to `wr`.
    pub(crate) fn write_tls(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        either!(self, s => s.write_tls(wr))
    }

    /// Queues `close_notify`.
    pub(crate) fn send_close_notify(&mut self) {
        either!(self, s => s.send_close_notify())
    }
}
