//! The binaries' TLS set-up (features `tls` and `cli`): certificates from PEM files or a
//! self-signed one made at start, a server configuration per ALPN list, and reloading the
//! files on SIGHUP (new connections get the new certificates, open ones keep theirs).

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use netreactor::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use netreactor::tls::{self, TlsAcceptor};

/// `--tls-cert`, `--tls-key`: the certificate every TLS server of the binary presents.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TlsArgs {
    /// PEM certificate chain for the TLS servers (HTTPS, WSS, FTPS, Telnet over TLS).
    /// Without it, a self-signed certificate for localhost and 127.0.0.1 is made at start.
    #[arg(long = "tls-cert", value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(id = "key", long = "tls-key", value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
}

/// The certificate and key every TLS server uses, and the acceptors made from them (kept
/// so a reload reaches them all).
pub struct Certs {
    args: TlsArgs,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    acceptors: Mutex<Vec<(TlsAcceptor, Vec<Vec<u8>>)>>,
}

impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certs").field("args", &self.args).finish()
    }
}

impl Certs {
    /// Loads `--tls-cert`/`--tls-key`, or makes a self-signed certificate and logs its
    /// SHA-256 fingerprint.
    pub fn load(args: &TlsArgs) -> io::Result<Arc<Certs>> {
        let (chain, key) = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => read_pem(cert, key)?,
            _ => self_signed()?,
        };
        Ok(Arc::new(Certs {
            args: args.clone(),
            chain,
            key,
            acceptors: Mutex::new(Vec::new()),
        }))
    }

    /// An acceptor presenting these certificates with `alpn` (in order of preference).
    pub fn acceptor(&self, alpn: &[&[u8]]) -> io::Result<TlsAcceptor> {
        let config = tls::server_config(self.chain.clone(), self.key.clone_key(), alpn)?;
        let acceptor = TlsAcceptor::new(config);
        let alpn = alpn.iter().map(|p| p.to_vec()).collect();
        self.lock().push((acceptor.clone(), alpn));
        Ok(acceptor)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(TlsAcceptor, Vec<Vec<u8>>)>> {
        self.acceptors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the PEM files again and hands the new certificates to every acceptor. A
    /// self-signed certificate is kept as it is.
    pub fn reload(&self) -> io::Result<()> {
        let (Some(cert), Some(key)) = (&self.args.cert, &self.args.key) else {
            return Ok(());
        };
        let (chain, key) = read_pem(cert, key)?;
        for (acceptor, alpn) in self.lock().iter() {
            let alpn: Vec<&[u8]> = alpn.iter().map(Vec::as_slice).collect();
            acceptor.replace(tls::server_config(chain.clone(), key.clone_key(), &alpn)?);
        }
        tracing::info!(cert = %cert.display(), "tls: certificates reloaded");
        Ok(())
    }

    /// Reloads on every SIGHUP, from a thread of its own.
    pub fn reload_on_sighup(self: &Arc<Certs>) -> io::Result<()> {
        let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])?;
        let certs = self.clone();
        std::thread::Builder::new()
            .name("tls-reload".into())
            .spawn(move || {
                for _ in signals.forever() {
                    if let Err(e) = certs.reload() {
                        tracing::warn!(error = %e, "tls: reload failed; keeping the old certificates");
                    }
                }
            })?;
        Ok(())
    }
}

fn read_pem(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let (chain, key) = tls::read_pem(cert, key)?;
    tracing::info!(cert = %cert.display(), sha256 = %fingerprint(&chain[0]), "tls: certificate loaded");
    Ok((chain, key))
}

fn self_signed() -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .map_err(io::Error::other)?;
    let cert = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
    tracing::warn!(
        sha256 = %fingerprint(&cert),
        "tls: no --tls-cert given; serving a SELF-SIGNED certificate for localhost and 127.0.0.1 \
         (clients must skip verification, e.g. curl -k)"
    );
    Ok((vec![cert], key))
}

/// The SHA-256 fingerprint of a certificate, as `openssl x509 -fingerprint -sha256` shows it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}
