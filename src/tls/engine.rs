//! The rustls session under a TLS connection: servers run rustls's unbuffered API
//! ([`UnbufferedServer`], whose buffers go when empty: an idle server connection holds no
//! buffer), clients its buffered `ClientConnection` (a client keeps few connections). Both
//! answer the same calls, so [`TlsIo`](super::session::TlsIo) drives either.

use std::io::{self, BufRead, Read, Write};
use std::sync::Arc;

use bytes::BytesMut;
use rustls::{ClientConnection, CommonState, ServerConfig};

use super::unbuffered::UnbufferedServer;

/// How much plaintext a session may hold encrypted but unwritten: the high watermark of a
/// TLS connection's own buffer, above the core's write queue. Four full records.
pub(crate) const TLS_BUFFER_LIMIT: usize = 64 * 1024;

/// One connection's rustls session. Servers are the many idle connections, so theirs is held
/// inline (`TlsIo` is boxed already) and a client's boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Session {
    /// rustls's buffered API (clients), boxed: a server session is not the larger for it.
    Client(Box<ClientConnection>),
    /// rustls's unbuffered API (servers).
    Server(UnbufferedServer),
}

impl Session {
    /// A server session with `config`.
    pub(crate) fn server(config: Arc<ServerConfig>) -> Result<Session, rustls::Error> {
        UnbufferedServer::new(config).map(Session::Server)
    }

    /// A client session.
    pub(crate) fn client(mut conn: ClientConnection) -> Session {
        conn.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
        Session::Client(Box::new(conn))
    }

    /// The session serves (it answers ClientHellos).
    pub(crate) fn is_server(&self) -> bool {
        matches!(self, Session::Server(_))
    }

    /// rustls's view: version, suite, ALPN, peer certificates, handshake state.
    pub(crate) fn common(&self) -> &CommonState {
        match self {
            Session::Client(c) => c,
            Session::Server(s) => s.common(),
        }
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
        match self {
            Session::Client(c) => c.wants_write(),
            Session::Server(s) => s.wants_write(),
        }
    }

    /// Plaintext (or the end of it) waits to be handed over.
    pub(crate) fn has_plaintext(&mut self) -> bool {
        match self {
            Session::Client(c) => {
                !matches!(c.reader().fill_buf(), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
            Session::Server(s) => s.has_plaintext() || s.peer_closed(),
        }
    }

    /// Moves up to `want` bytes of plaintext to `buf`: `Some(n)`, `Some(0)` at the end of
    /// the stream, `None` when there is none yet.
    pub(crate) fn take_plaintext(&mut self, buf: &mut BytesMut, want: usize) -> Option<usize> {
        match self {
            Session::Client(c) => match c.reader().fill_buf() {
                Ok(chunk) => {
                    let n = chunk.len().min(want);
                    buf.extend_from_slice(&chunk[..n]);
                    c.reader().consume(n);
                    Some(n)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                Err(_) => Some(0),
            },
            Session::Server(s) if s.has_plaintext() => Some(s.take_plaintext(buf, want)),
            Session::Server(s) => s.peer_closed().then_some(0),
        }
    }

    /// Reads ciphertext from `rd` (`Ok(0)`: EOF).
    pub(crate) fn read_tls(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        match self {
            Session::Client(c) => c.read_tls(rd),
            Session::Server(s) => s.read_tls(rd),
        }
    }

    /// Processes what was read; true once the peer has sent `close_notify`.
    pub(crate) fn process_new_packets(&mut self) -> Result<bool, rustls::Error> {
        match self {
            Session::Client(c) => c.process_new_packets().map(|io| io.peer_has_closed()),
            Session::Server(s) => s.process_new_packets().map(|()| s.peer_closed()),
        }
    }

    /// Takes what it can of `data` to encrypt now.
    pub(crate) fn write_plaintext(&mut self, data: &[u8]) -> usize {
        match self {
            Session::Client(c) => c.writer().write(data).unwrap_or(0),
            Session::Server(s) => {
                let room = TLS_BUFFER_LIMIT.saturating_sub(s.pending_write());
                let take = data.len().min(room);
                s.write_plaintext(&data[..take]).unwrap_or(0)
            }
        }
    }

    /// Writes records to `wr`.
    pub(crate) fn write_tls(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        match self {
            Session::Client(c) => c.write_tls(wr),
            Session::Server(s) => s.write_tls(wr),
        }
    }

    /// Queues `close_notify`.
    pub(crate) fn send_close_notify(&mut self) {
        match self {
            Session::Client(c) => c.send_close_notify(),
            Session::Server(s) => s.send_close_notify(),
        }
    }
}
