//! TLS in the test harness: a protocol served over TLS on a virtual connection, and an
//! in-memory rustls client talking to it, so every TLS path runs without sockets.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use super::TlsAcceptor;
use crate::testing::Harness;
use crate::{ConnId, Protocol};

impl Harness {
    /// Opens a virtual connection served over TLS by `protocol` (`on_open` runs now, as at a
    /// TLS listener's accept). Talk to it with a [`TlsClient`].
    pub fn open_tls<P: Protocol<T>, T: Copy + 'static>(
        &mut self,
        protocol: P,
        tls: impl Into<TlsAcceptor>,
    ) -> ConnId {
        let (session, reply) = tls
            .into()
            .session()
            .expect("a server configuration makes sessions");
        let peer = SocketAddr::from(([127, 0, 0, 1], 50443));
        let local = SocketAddr::from(([127, 0, 0, 1], 8443));
        self.open_virtual(protocol, peer, local, |core, id| {
            core.start_tls_with(id, session, reply, false);
        })
    }
}

/// The client end of a harness TLS connection: a rustls [`ClientConnection`] whose records
/// go to [`Harness::feed`] and come from [`Harness::take_output`].
///
/// ```
/// # #[cfg(feature = "tls")] {
/// use netreactor::bytes::BytesMut;
/// use netreactor::testing::{Harness, TlsClient};
/// use netreactor::tls::server_config_from_pem;
/// use netreactor::{Context, Protocol};
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
///         cx.write(input.split().freeze());
///     }
/// }
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls/");
/// let cert = format!("{dir}cert.pem");
/// let server = server_config_from_pem(cert.as_ref(), format!("{dir}key.pem").as_ref(), &[])?;
/// let mut h = Harness::new();
/// let id = h.open_tls(Echo, server);
/// let mut client = TlsClient::trusting_pem(id, cert.as_ref(), "localhost")?;
/// client.write(&mut h, b"hello")?;
/// assert_eq!(client.read(&mut h)?, b"hello");
/// assert!(h.tls_info(id).is_some());
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TlsClient {
    conn: ClientConnection,
    id: ConnId,
    received: Vec<u8>,
    /// The session failed (a TLS error from the server's bytes): rustls must not process
    /// input again, so every later call returns this error.
    failed: Option<String>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient").field("id", &self.id).finish()
    }
}

impl TlsClient {
    /// A client of harness connection `id` with `config`, asking for `server_name`.
    pub fn new(id: ConnId, config: Arc<ClientConfig>, server_name: &str) -> io::Result<TlsClient> {
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(TlsClient {
            conn,
            id,
            received: Vec::new(),
            failed: None,
        })
    }

    /// A client that trusts the certificates in the PEM file `ca` (a test's self-signed one).
    pub fn trusting_pem(
        id: ConnId,
        ca: &std::path::Path,
        server_name: &str,
    ) -> io::Result<TlsClient> {
        TlsClient::new(id, client_config_trusting(ca, &[])?, server_name)
    }

    /// Exchanges records with the server until neither side has more to say. After a TLS
    /// error, this and every other call return that error (the session is over, as a real
    /// client's would be).
    pub fn pump(&mut self, h: &mut Harness) -> io::Result<()> {
        self.check()?;
        let result = self.exchange(h);
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.clone())),
            None => Ok(()),
        }
    }

    fn exchange(&mut self, h: &mut Harness) -> io::Result<()> {
        for _ in 0..64 {
            let mut progressed = false;
            let mut out = Vec::new();
            while self.conn.wants_write() {
                self.conn.write_tls(&mut out)?;
            }
            if !out.is_empty() {
                h.feed(self.id, &out);
                progressed = true;
            }
            let input = h.take_output(self.id);
            if !input.is_empty() {
                progressed = true;
                let mut rest = &input[..];
                while !rest.is_empty() {
                    self.conn.read_tls(&mut rest)?;
                    self.conn
                        .process_new_packets()
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    self.drain_plaintext()?;
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(())
    }

    fn drain_plaintext(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.conn.reader().read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => self.received.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `data` (encrypted) and pumps.
    pub fn write(&mut self, h: &mut Harness, data: &[u8]) -> io::Result<()> {
        self.check()?;
        self.conn.writer().write_all(data)?;
        self.pump(h)
    }

    /// Pumps, then takes the plaintext received so far.
    pub fn read(&mut self, h: &mut Harness) -> io::Result<Vec<u8>> {
        self.pump(h)?;
        Ok(std::mem::take(&mut self.received))
    }

    /// Sends `close_notify` and pumps.
    pub fn close_notify(&mut self, h: &mut Harness) -> io::Result<()> {
        self.check()?;
        self.conn.send_close_notify();
        self.pump(h)
    }

    /// The rustls client itself (its handshake state, what it negotiated, whether the server
    /// sent `close_notify`).
    pub fn connection(&mut self) -> &mut ClientConnection {
        &mut self.conn
    }
}

/// A client configuration (ring, TLS 1.2 and 1.3) trusting the certificates of the PEM file
/// `ca`, offering the ALPN protocols `alpn`. For clients of self-signed test servers and
/// private CAs.
pub fn client_config_trusting(
    ca: &std::path::Path,
    alpn: &[&[u8]],
) -> io::Result<Arc<ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
    {
        let cert = cert.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        roots
            .add(cert)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    }
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Fuzz entry point of the TLS layer (`fuzz/fuzz_targets/core_tls.rs`): arbitrary client
/// bytes, split anywhere, before the handshake (in place of a ClientHello) or after a real
/// one (in place of records), or arbitrary plaintext through a real client, which must come
/// back echoed whole. The server must never panic and must close on garbage.
pub fn fuzz_tls(data: &[u8]) {
    use std::sync::OnceLock;

    use bytes::BytesMut;

    use crate::Context;

    static CONFIGS: OnceLock<(Arc<rustls::ServerConfig>, Arc<ClientConfig>)> = OnceLock::new();
    let (server, client) = CONFIGS.get_or_init(|| {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::PrivateKeyDer;
        let cert_pem = include_bytes!("../../tests/data/tls/cert.pem");
        let key_pem = include_bytes!("../../tests/data/tls/key.pem");
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .expect("test certificate");
        let key = PrivateKeyDer::from_pem_slice(key_pem).expect("test key");
        let mut roots = RootCertStore::empty();
        roots.add(certs[0].clone()).expect("test root");
        let server = super::server_config(certs, key, &[]).expect("server config");
        let client =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        (server, Arc::new(client))
    });

    struct Echo;
    impl Protocol for Echo {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            cx.write(input.split().freeze());
        }
    }

    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut h = Harness::new();
    let id = h.open_tls(Echo, server.clone());
    // Pieces of 1..=16 bytes, sized by the input itself.
    let feed_split = |h: &mut Harness, bytes: &[u8]| {
        let mut at = 0;
        while at < bytes.len() && h.is_open(id) {
            let n = (bytes[at] as usize % 16 + 1).min(bytes.len() - at);
            h.feed(id, &bytes[at..at + n]);
            at += n;
        }
        let out = h.take_output(id);
        assert!(out.len() < 64 * 1024, "the server answers garbage briefly");
    };
    match mode % 3 {
        0 => feed_split(&mut h, rest),
        _ => {
            let mut c = TlsClient::new(id, client.clone(), "localhost").expect("client");
            c.pump(&mut h).expect("handshake");
            assert!(!c.connection().is_handshaking(), "handshake completes");
            if mode % 3 == 1 {
                feed_split(&mut h, rest);
            } else {
                // Records pile up in the client unsent and go over in batches of 128 pieces:
                // at most 128 * (64 + 22) bytes, far below rustls's 64 KiB send buffer, which it
                // measures by walking every record in it (a buffer full of 1-byte records made
                // long inputs quadratic).
                let size = rest.first().map_or(1, |&b| b as usize % 64 + 1);
                for (n, piece) in rest.chunks(size).enumerate() {
                    if n % 128 == 127 {
                        c.pump(&mut h).expect("records accepted");
                    }
                    c.connection()
                        .writer()
                        .write_all(piece)
                        .expect("the client's send buffer has room for a batch");
                }
                let got = c.read(&mut h).expect("echo");
                assert_eq!(got, rest, "plaintext comes back whole");
            }
        }
    }
}
