//! TLS as a transport under any [`Protocol`](crate::Protocol) (feature `tls`, rustls 0.23).
//!
//! A protocol runs unchanged over TLS: `on_data` sees plaintext, `cx.write` is encrypted,
//! `cx.close()` sends `close_notify` after the queued output. The core drives rustls
//! sans-IO from its own buffers: ciphertext is read from the socket into rustls, plaintext
//! is handed to the protocol on every wake (edge-triggered readiness gives no new event for
//! plaintext rustls already holds), queued output is encrypted in rounds and written with
//! the same `writev` path as plain connections; file ranges are read in slices (`pread`)
//! and encrypted, since `sendfile(2)` cannot encrypt.
//!
//! * [`Reactor::listen_tls`](crate::Reactor::listen_tls) and
//!   [`Reactor::connect_tls`](crate::Reactor::connect_tls): TLS from the first byte.
//! * [`Context::start_tls_server`](crate::Context::start_tls_server) /
//!   [`start_tls_client`](crate::Context::start_tls_client): STARTTLS — switch an open
//!   connection after what is queued went out in plaintext (FTP `AUTH TLS`'s `234`); input
//!   already received after the command goes to the TLS layer. The same on another
//!   connection (an FTP data channel) through [`ConnRef`](crate::ConnRef).
//! * [`Context::tls`](crate::Context::tls): version, cipher suite, ALPN, SNI, peer
//!   certificates.
//! * [`TlsAcceptor::replace`]: new certificates for new connections (on SIGHUP, say); open
//!   connections keep theirs.
//! * Limits: [`Config::tls_handshake_timeout`](crate::Config::tls_handshake_timeout)
//!   (10 s) and [`Config::tls_handshake_limit`](crate::Config::tls_handshake_limit)
//!   (64 KiB); a peer that sends garbage gets an alert and a close; a peer that speaks
//!   plaintext to a TLS listener can be answered in plaintext
//!   ([`TlsAcceptor::plaintext_reply`], as nginx answers HTTP on an HTTPS port).
//! * Close reasons: [`CloseReason::Tls`](crate::CloseReason::Tls),
//!   [`TlsHandshake`](crate::CloseReason::TlsHandshake), and
//!   [`TlsTruncated`](crate::CloseReason::TlsTruncated) for an EOF without `close_notify`.
//!
//! Kernel TLS (handing the session keys to the kernel after the handshake, so `sendfile`
//! sends encrypted file data) would plug in at the same place: `TlsIo` would give way to a
//! plain descriptor once rustls's secrets are extracted (`dangerous_extract_secrets`),
//! behind a feature; this kernel has no `CONFIG_TLS` to test it on.

mod api;
pub(crate) mod engine;
pub(crate) mod harness;
pub(crate) mod session;
mod sni;
mod unbuffered;

pub use harness::client_config_trusting;

pub use rustls;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CommonState, ServerConfig};

use engine::Session;

/// The server side of TLS for a listener: the rustls configuration new connections get,
/// replaceable while the reactor runs.
///
/// Cloning shares it: a clone kept by a signal thread can [`replace`](Self::replace) the
/// certificates of a listener that runs in a reactor.
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<Mutex<Arc<ServerConfig>>>,
    plaintext_reply: Option<Bytes>,
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("plaintext_reply", &self.plaintext_reply.is_some())
            .finish()
    }
}

impl From<Arc<ServerConfig>> for TlsAcceptor {
    fn from(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor::new(config)
    }
}

impl TlsAcceptor {
    /// An acceptor handing `config` to every new connection.
    pub fn new(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor {
            config: Arc::new(Mutex::new(config)),
            plaintext_reply: None,
        }
    }

    /// Answers a peer whose first byte cannot start a TLS handshake with `reply`, in
    /// plaintext, then closes (close reason [`CloseReason::Tls`](crate::CloseReason::Tls)).
    /// An HTTPS server sets a `400` page here, as nginx does.
    pub fn plaintext_reply(mut self, reply: impl Into<Bytes>) -> TlsAcceptor {
        self.plaintext_reply = Some(reply.into());
        self
    }

    /// New connections get `config` from now on; open ones keep theirs.
    pub fn replace(&self, config: Arc<ServerConfig>) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// The configuration new connections get now.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn session(&self) -> Result<(Session, Option<Bytes>), rustls::Error> {
        Ok((
            Session::server(self.config())?,
            self.plaintext_reply.clone(),
        ))
    }
}

/// What a TLS connection negotiated ([`Context::tls`](crate::Context::tls)).
pub struct TlsInfo<'a> {
    pub(crate) conn: &'a Session,
    pub(crate) peer_closed: bool,
}

impl fmt::Debug for TlsInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsInfo")
            .field("version", &self.version())
            .field("cipher_suite", &self.cipher_suite())
            .field("alpn", &self.alpn().map(String::from_utf8_lossy))
            .field("server_name", &self.server_name())
            .finish()
    }
}

impl<'a> TlsInfo<'a> {
    /// Still handshaking: nothing below is settled yet.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// How the handshake went: full, resumed, or full after a HelloRetryRequest.
    pub fn handshake_kind(&self) -> Option<rustls::HandshakeKind> {
        self.conn.common().handshake_kind()
    }

    /// The protocol version (TLS 1.2 or 1.3).
    pub fn version(&self) -> Option<rustls::ProtocolVersion> {
        self.conn.common().protocol_version()
    }

    /// The cipher suite.
    pub fn cipher_suite(&self) -> Option<rustls::CipherSuite> {
        self.conn
            .common()
            .negotiated_cipher_suite()
            .map(|s| s.suite())
    }

    /// The ALPN protocol both sides agreed on (`b"http/1.1"`).
    pub fn alpn(&self) -> Option<&'a [u8]> {
        self.conn.common().alpn_protocol()
    }

    /// The server name the client asked for (SNI); on a client connection, `None`.
    pub fn server_name(&self) -> Option<&'a str> {
        self.conn.server_name()
    }

    /// The peer's certificate chain, end entity first (a server's always; a client's when
    /// the server asked for one).
    pub fn peer_certificates(&self) -> Option<&'a [CertificateDer<'static>]> {
        self.conn.common().peer_certificates()
    }

    /// The peer ended the session with `close_notify` (an end it meant, not a truncation:
    /// a peer EOF without it closes as
    /// [`CloseReason::TlsTruncated`](crate::CloseReason::TlsTruncated)).
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// rustls's state of the session, for anything else. (Not a `rustls::Connection`: a
    /// server connection runs rustls's unbuffered API, which keeps no buffer while idle.)
    pub fn connection(&self) -> &'a CommonState {
        self.conn.common()
    }
}

/// Reads a PEM certificate chain and its private key and builds a server configuration
/// with the default crypto provider (ring), TLS 1.2 and 1.3, the server's cipher-suite
/// order, session tickets, and the given ALPN protocols in order of preference.
///
/// ```no_run
/// let config = netreactor::tls::server_config_from_pem(
///     "cert.pem".as_ref(),
///     "key.pem".as_ref(),
///     &[b"http/1.1"],
/// )?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn server_config_from_pem(
    cert: &Path,
    key: &Path,
    alpn: &[&[u8]],
) -> io::Result<Arc<ServerConfig>> {
    let (certs, key) = read_pem(cert, key)?;
    server_config(certs, key, alpn)
}

/// Reads a PEM certificate chain (end entity first) and its PEM private key, with errors
/// that name the file.
pub fn read_pem(
    cert: &Path,
    key: &Path,
) -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_error(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert, e))?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: no certificate in it", cert.display()),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, e))?;
    Ok((certs, key))
}

/// [`server_config_from_pem`] from certificates and a key already parsed.
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
) -> io::Result<Arc<ServerConfig>> {
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // The server's preference among cipher suites, not the client's (testssl.sh rates a
    // client-chosen order "NOT ok").
    config.ignore_client_order = true;
    // Session tickets (rotating keys), beside rustls's in-memory session cache: resumption
    // then survives the cache's eviction and works across `run_workers` threads.
    config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(io::Error::other)?;
    Ok(Arc::new(config))
}

fn pem_error(path: &Path, e: rustls::pki_types::pem::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {e}", path.display()),
    )
}
