//! TLS for `https://`, `wss://` and `tls://` targets: the client configuration every
//! connection of a run shares ([`client_config`]) — which certificates it trusts, whether
//! it resumes sessions — and the counts of full and resumed handshakes ([`Handshakes`]).
//!
//! One `Arc<ClientConfig>` serves every connection and thread of a run, so its session
//! store ([`SessionStore`]) does too: a connection opened after another one closed
//! (`--close`) offers a ticket from an earlier handshake and, when the server takes it,
//! resumes.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netreactor::tls::rustls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionStore, Resumption, Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, DigitallySignedStruct, HandshakeKind, NamedGroup, RootCertStore, SignatureScheme,
};

/// The CA bundle trusted when neither `--ca` nor `--insecure` is given (Debian's
/// `ca-certificates`).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// TLS 1.3 tickets kept per server. rustls's own cache keeps 8: when more connections than
/// that finish in one wake-up and as many open in the next, the ninth opens with nothing to
/// offer and the run counts full handshakes the server never asked for.
const TICKETS_PER_SERVER: usize = 4096;

/// Whose certificates a run trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The CA certificates in this PEM file (a self-signed server's own certificate).
    Ca(PathBuf),
    /// The system's CA bundle ([`SYSTEM_CA_BUNDLE`]).
    System,
    /// Any certificate for any name (`--insecure`). The handshake signatures are still
    /// checked, so the server really holds the key of the certificate it sent.
    Insecure,
}

/// How a run speaks TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// Whose certificates to trust.
    pub trust: Trust,
    /// Offer tickets from earlier handshakes (false: `--no-resume`, every handshake full).
    pub resume: bool,
    /// ALPN protocols to offer (`http/1.1` for `https://` and `wss://`, none for `tls://`).
    pub alpn: Vec<Vec<u8>>,
}

/// The server name and configuration every connection of a run handshakes with.
#[derive(Clone, Debug)]
pub struct TlsClient {
    /// The name sent as SNI (not sent for an IP address) and checked against the
    /// certificate.
    pub server_name: ServerName<'static>,
    /// Shared by every connection: its session cache makes resumption work across them.
    pub config: Arc<ClientConfig>,
}

impl TlsClient {
    /// The client for `host` (a DNS name or an IP address) with `opts`.
    pub fn new(host: &str, opts: &TlsOptions) -> io::Result<TlsClient> {
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))?;
        Ok(TlsClient {
            server_name,
            config: client_config(opts)?,
        })
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// The certificates of the PEM file `path` as a root store (at least one).
fn roots_from(path: &Path) -> io::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    for cert in certs {
        let cert = cert.map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        // A bundle may hold certificates webpki cannot use as anchors; skip those.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(invalid(format!(
            "{}: no usable certificate in it",
            path.display()
        )));
    }
    Ok(roots)
}

/// The client configuration for `opts`: ring, TLS 1.2 and 1.3, the trust asked for, a
/// session cache (or none), and the ALPN protocols.
pub fn client_config(opts: &TlsOptions) -> io::Result<Arc<ClientConfig>> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut config = match &opts.trust {
        Trust::Ca(path) => builder
            .with_root_certificates(roots_from(path)?)
            .with_no_client_auth(),
        Trust::System => builder
            .with_root_certificates(roots_from(Path::new(SYSTEM_CA_BUNDLE)).map_err(|e| {
                invalid(format!(
                    "{e} (give the server's certificate with --ca, or --insecure)"
                ))
            })?)
            .with_no_client_auth(),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
    };
    config.resumption = if opts.resume {
        Resumption::store(Arc::new(SessionStore::default()))
    } else {
        Resumption::disabled()
    };
    config.alpn_protocols = opts.alpn.clone();
    Ok(Arc::new(config))
}

/// `--insecure`: takes any certificate for any name, but checks the handshake's signatures
/// with the provider's algorithms, as a real verifier would after the chain.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What a server let the client keep: its key-exchange group, a TLS 1.2 session, TLS 1.3
/// tickets (newest last).
#[derive(Default)]
struct Sessions {
    kx_hint: Option<NamedGroup>,
    tls12: Option<Tls12ClientSessionValue>,
    tls13: VecDeque<Tls13ClientSessionValue>,
}

/// The client session store every connection of a run shares: rustls's in-memory cache
/// with room for `TICKETS_PER_SERVER` tickets. A ticket is handed out once, newest first.
#[derive(Default)]
pub struct SessionStore {
    /// By server name: a run has one, so a list searched in order is enough.
    servers: Mutex<Vec<(ServerName<'static>, Sessions)>>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore").finish_non_exhaustive()
    }
}

impl SessionStore {
    fn with<R>(&self, name: &ServerName<'_>, f: impl FnOnce(&mut Sessions) -> R) -> Option<R> {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, s)| f(s))
    }

    fn entry<R>(&self, name: ServerName<'static>, f: impl FnOnce(&mut Sessions) -> R) -> R {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        let i = match servers.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                servers.push((name, Sessions::default()));
                servers.len() - 1
            }
        };
        f(&mut servers[i].1)
    }

    /// TLS 1.3 tickets held for `name`.
    pub fn tickets(&self, name: &ServerName<'_>) -> usize {
        self.with(name, |s| s.tls13.len()).unwrap_or(0)
    }
}

impl ClientSessionStore for SessionStore {
    fn set_kx_hint(&self, name: ServerName<'static>, group: NamedGroup) {
        self.entry(name, |s| s.kx_hint = Some(group));
    }

    fn kx_hint(&self, name: &ServerName<'_>) -> Option<NamedGroup> {
        self.with(name, |s| s.kx_hint).flatten()
    }

    fn set_tls12_session(&self, name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.entry(name, |s| s.tls12 = Some(value));
    }

    fn tls12_session(&self, name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.with(name, |s| s.tls12.clone()).flatten()
    }

    fn remove_tls12_session(&self, name: &ServerName<'static>) {
        self.with(name, |s| s.tls12 = None);
    }

    fn insert_tls13_ticket(&self, name: ServerName<'static>, value: Tls13ClientSessionValue) {
        self.entry(name, |s| {
            if s.tls13.len() >= TICKETS_PER_SERVER {
                s.tls13.pop_front();
            }
            s.tls13.push_back(value);
        });
    }

    fn take_tls13_ticket(&self, name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.with(name, |s| s.tls13.pop_back()).flatten()
    }
}

/// Finished handshakes by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Handshakes {
    /// Full handshakes (certificate, signature, key exchange), with or without a
    /// `HelloRetryRequest`.
    pub full: u64,
    /// Resumed from an earlier session (a ticket or session id the server accepted).
    pub resumed: u64,
}

impl Handshakes {
    /// Counts one finished handshake of `kind` (`None`: rustls did not say; counted full).
    pub fn count(&mut self, kind: Option<HandshakeKind>) {
        match kind {
            Some(HandshakeKind::Resumed) => self.resumed += 1,
            _ => self.full += 1,
        }
    }

    /// Both counts added.
    pub fn add(&mut self, o: &Handshakes) {
        self.full += o.full;
        self.resumed += o.resumed;
    }

    /// All handshakes.
    pub fn total(&self) -> u64 {
        self.full + self.resumed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(trust: Trust) -> TlsOptions {
        TlsOptions {
            trust,
            resume: true,
            alpn: vec![b"http/1.1".to_vec()],
        }
    }

    fn test_cert() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/tls/cert.pem")
    }

    #[test]
    fn a_ca_file_is_trusted_and_alpn_and_resumption_follow_the_options() {
        let c = client_config(&opts(Trust::Ca(test_cert()))).unwrap();
        assert_eq!(c.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let mut o = opts(Trust::Insecure);
        o.resume = false;
        o.alpn.clear();
        let c = client_config(&o).unwrap();
        assert!(c.alpn_protocols.is_empty());
    }

    #[test]
    fn a_file_without_certificates_is_refused_with_its_name() {
        let dir = std::env::temp_dir().join(format!("loadgen-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(&opts(Trust::Ca(empty.clone()))).unwrap_err();
        assert!(e.to_string().contains("empty.pem"), "{e}");
        let e = client_config(&opts(Trust::Ca(dir.join("missing.pem")))).unwrap_err();
        assert!(e.to_string().contains("missing.pem"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn server_names_take_dns_names_and_addresses() {
        let o = opts(Trust::Insecure);
        assert!(matches!(
            TlsClient::new("localhost", &o).unwrap().server_name,
            ServerName::DnsName(_)
        ));
        assert!(matches!(
            TlsClient::new("127.0.0.1", &o).unwrap().server_name,
            ServerName::IpAddress(_)
        ));
        assert!(TlsClient::new("bad name!", &o).is_err());
    }

    #[test]
    fn the_session_store_keeps_hints_per_server_and_hands_out_nothing_it_lacks() {
        let store = SessionStore::default();
        let a = ServerName::try_from("a.test").unwrap();
        let b = ServerName::try_from("b.test").unwrap();
        assert_eq!(store.kx_hint(&a), None);
        store.set_kx_hint(a.clone(), NamedGroup::X25519);
        store.set_kx_hint(b.clone(), NamedGroup::secp256r1);
        assert_eq!(store.kx_hint(&a), Some(NamedGroup::X25519));
        assert_eq!(store.kx_hint(&b), Some(NamedGroup::secp256r1));
        assert!(store.take_tls13_ticket(&a).is_none());
        assert!(store.tls12_session(&b).is_none());
        store.remove_tls12_session(&b);
        assert_eq!(store.tickets(&a), 0);
        assert_eq!(store.servers.lock().unwrap().len(), 2);
    }

    #[test]
    fn handshakes_count_resumed_apart_from_full() {
        let mut h = Handshakes::default();
        h.count(Some(HandshakeKind::Full));
        h.count(Some(HandshakeKind::FullWithHelloRetryRequest));
        h.count(Some(HandshakeKind::Resumed));
        h.count(None);
        assert_eq!((h.full, h.resumed, h.total()), (3, 1, 4));
        let mut sum = Handshakes::default();
        sum.add(&h);
        sum.add(&h);
        assert_eq!(sum.total(), 8);
    }
}
