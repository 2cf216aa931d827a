//! Fuzz entry points of the ftp protocol (shared by `fuzz/` and the corpus-replay test).
//! None may panic on any input.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use netreactor::testing::Harness;

use super::config::{FtpConfig, Shared};
use super::parse::{self, LineEvent, LineReader};
use super::{FtpConn, User};

/// `(target name, entry point)` for every ftp fuzz target.
pub const TARGETS: &[crate::FuzzTarget] = &[
    ("ftp_command", command),
    ("ftp_address", address),
    ("ftp_session", session),
];

/// `(target name, entry point)` for the ftp fuzz targets that need the `tls` feature.
#[cfg(feature = "tls")]
pub const TLS_TARGETS: &[crate::FuzzTarget] = &[("ftps_session", ftps_session)];

/// FTPS through the harness: commands over a TLS control connection, TLS data clients.
#[cfg(feature = "tls")]
pub use tls::session as ftps_session;

/// The line reader and command parser over arbitrary bytes, fed in two pieces.
pub fn command(data: &[u8]) {
    let mut reader = LineReader::new();
    let split = data.first().map_or(0, |&b| b as usize).min(data.len());
    for piece in [&data[..split], &data[split..]] {
        let mut input = BytesMut::from(piece);
        while let Some(event) = reader.next(&mut input) {
            if let LineEvent::Line(l) = event {
                assert!(l.len() <= parse::MAX_LINE);
                let _ = parse::parse_command(&l);
            }
        }
        assert!(input.is_empty());
        assert!(reader.pending() <= parse::MAX_LINE);
    }
}

/// PORT/EPRT/EPSV parsers; what parses must format back to the same address.
pub fn address(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = parse::parse_port(s) {
        assert_eq!(parse::parse_port(&parse::format_port(a)), Ok(a));
    }
    if let Ok(a) = parse::parse_eprt(s) {
        assert_eq!(parse::parse_eprt(&parse::format_eprt(a)), Ok(a));
    }
    let _ = parse::parse_epsv(s);
}

/// A temporary root shared by every run of [`session`] in this process.
fn fuzz_root() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netreactor-ftp-fuzz-{}", std::process::id()));
    if !dir.exists() {
        let _ = std::fs::create_dir_all(dir.join("sub"));
        let _ = std::fs::write(dir.join("file.txt"), b"hello\nworld\n");
    }
    dir
}

/// The control state machine through the harness: the input is the control stream (after
/// a login as a read-only user, so the fuzzer cannot fill the disk); byte 0 picks how it
/// is split; passive listeners get a connection and the clock moves.
pub fn session(data: &[u8]) {
    let Some((&ctl, wire)) = data.split_first() else {
        return;
    };
    let root = fuzz_root();
    let mut config = FtpConfig {
        login_delay: Duration::from_millis(10),
        ..FtpConfig::default()
    };
    config.users.add(User {
        name: "u".into(),
        password: "p".into(),
        home: root,
        perms: "elr".parse().unwrap(),
    });
    let mut h = Harness::new();
    let c = h.open(FtpConn::new(Rc::new(Shared::new(config))));
    if ctl & 1 == 0 {
        h.feed(c, b"USER u\r\nPASS p\r\n");
    }
    let size = usize::from(ctl >> 1).max(1);
    for chunk in wire.chunks(size) {
        h.feed(c, chunk);
        for child in h.children(c) {
            if h.child_listen_addr(child).is_some() {
                h.accept_child(child, "127.0.0.1:40000".parse().unwrap());
            } else if h.child_connect_addr(child).is_some() {
                h.complete_connect(child, ctl & 2 == 0);
            }
        }
        h.advance(Duration::from_millis(20));
        let _ = h.take_output(c);
    }
    h.advance(Duration::from_secs(400));
}

#[cfg(feature = "tls")]
mod tls {
    //! FTPS through the harness: the fuzzer's bytes are commands sent over the TLS control
    //! connection, with TLS data connections answering every passive and active channel.

    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::rc::Rc;
    use std::sync::{Arc, OnceLock};
    use std::time::Duration;

    use netreactor::testing::{Harness, TlsClient};
    use netreactor::tls::{self, rustls, TlsAcceptor};
    use netreactor::ConnId;

    use super::super::config::{FtpConfig, Shared};
    use super::super::ftps::FtpsConfig;
    use super::super::{FtpConn, User};
    use super::fuzz_root;

    fn cert_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/tls")
    }

    /// The test certificate's server configuration and a client configuration trusting it,
    /// read once per process.
    fn configs() -> Option<&'static (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>)> {
        static CONFIGS: OnceLock<Option<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>)>> =
            OnceLock::new();
        CONFIGS
            .get_or_init(|| {
                let dir = cert_dir();
                let server = tls::server_config_from_pem(
                    &dir.join("cert.pem"),
                    &dir.join("key.pem"),
                    &[b"ftp"],
                )
                .ok()?;
                let client = tls::client_config_trusting(&dir.join("cert.pem"), &[]).ok()?;
                Some((server, client))
            })
            .as_ref()
    }

    /// Byte 0: bit 0 skips the login (`USER u`, `PASS p`, `PBSZ 0`, `PROT P`), bit 1 makes
    /// data clients end with `close_notify`, bit 2 requires TLS, bit 3 requires session
    /// reuse, bit 4 is implicit FTPS, bit 5 sends the rest raw after `AUTH TLS` (garbage in
    /// place of a ClientHello). Byte 1: the size of the pieces the rest is sent in.
    pub fn session(data: &[u8]) {
        let [ctl, split, wire @ ..] = data else {
            return;
        };
        let Some((server, base_client)) = configs() else {
            return;
        };
        // A session cache of this run's own, so no run resumes another's session.
        let mut client = (**base_client).clone();
        client.resumption = rustls::client::Resumption::in_memory_sessions(8);
        let client = Arc::new(client);
        let mut config = FtpConfig {
            login_delay: Duration::from_millis(10),
            tls: Some(FtpsConfig {
                acceptor: TlsAcceptor::new(server.clone()),
                required: ctl & 4 != 0,
                require_reuse: ctl & 8 != 0,
            }),
            ..FtpConfig::default()
        };
        config.users.add(User {
            name: "u".into(),
            password: "p".into(),
            home: fuzz_root(),
            perms: "elr".parse().unwrap(),
        });
        let shared = Rc::new(Shared::new(config));
        let mut h = Harness::new();
        let size = usize::from(*split).max(1);
        let c = if ctl & 16 != 0 {
            h.open(FtpConn::implicit_tls(shared))
        } else {
            let c = h.open(FtpConn::new(shared));
            h.feed(c, b"AUTH TLS\r\n");
            let _ = h.take_output(c);
            if ctl & 32 != 0 {
                for chunk in wire.chunks(size) {
                    h.feed(c, chunk);
                    let _ = h.take_output(c);
                }
                h.advance(Duration::from_secs(20));
                return;
            }
            c
        };
        let Ok(mut control) = TlsClient::new(c, client.clone(), "localhost") else {
            return;
        };
        if control.pump(&mut h).is_err() {
            return;
        }
        if ctl & 1 == 0 {
            let _ = control.write(&mut h, b"USER u\r\nPASS p\r\nPBSZ 0\r\nPROT P\r\n");
        }
        let mut data_clients: HashMap<ConnId, TlsClient> = HashMap::new();
        for chunk in wire.chunks(size) {
            if control.write(&mut h, chunk).is_err() {
                break;
            }
            for child in h.children(c) {
                let stream = if h.child_listen_addr(child).is_some() {
                    h.accept_child(child, "127.0.0.1:40000".parse().unwrap())
                } else if h.child_connect_addr(child).is_some()
                    && !data_clients.contains_key(&child)
                {
                    h.complete_connect(child, true);
                    Some(child)
                } else {
                    None
                };
                // A TLS client only where the server speaks TLS (PROT P): a `PROT C` data
                // connection is plaintext, read below like any output.
                if let Some(id) = stream.filter(|&id| h.tls_info(id).is_some()) {
                    if let Ok(d) = TlsClient::new(id, client.clone(), "localhost") {
                        data_clients.insert(id, d);
                    }
                } else if let Some(id) = stream {
                    let _ = h.take_output(id);
                    h.eof(id);
                }
            }
            h.advance(Duration::from_millis(20));
            for (&id, d) in data_clients.iter_mut() {
                let _ = d.read(&mut h);
                if ctl & 2 != 0 {
                    let _ = d.close_notify(&mut h);
                }
                h.eof(id);
            }
            data_clients.retain(|&id, _| h.is_open(id));
            let _ = control.read(&mut h);
        }
        h.advance(Duration::from_secs(400));
    }
}
