//! An FTPS server for the end-to-end tests: the fixture of `support.rs` with `AUTH TLS`
//! on `addrs[0]` and implicit FTPS on `addrs[1]`, presenting `tests/data/tls/cert.pem`
//! (localhost, 127.0.0.1).
#![allow(dead_code)]

use std::path::PathBuf;
use std::rc::Rc;

use netreactor::tls::{self, TlsAcceptor};
use netreactor::ListenOptions;
use netreactor_protocols::ftp::{self, FtpsConfig, Shared};

use crate::common;
use crate::support::{self, Fixture};

/// The test certificate (also the CA clients trust).
pub fn cert() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/cert.pem")
}

/// Starts the fixture with FTPS; `tweak` sets the policies.
pub fn start(tweak: impl FnOnce(&mut FtpsConfig) + Send + 'static) -> Fixture {
    let (root, outside) = support::tree();
    let home = root.clone();
    let server = common::spawn(move |r| {
        let key = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/key.pem");
        let acceptor = TlsAcceptor::new(tls::server_config_from_pem(&cert(), &key, &[b"ftp"])?);
        let mut ftps = FtpsConfig::new(acceptor);
        tweak(&mut ftps);
        let mut config = support::users(&home);
        config.tls = Some(ftps);
        let shared = Rc::new(Shared::new(config));
        let any = "127.0.0.1:0".parse().unwrap();
        let opts = ListenOptions::default();
        let explicit = ftp::server::listen_shared(r, any, &opts, &shared)?;
        let implicit = ftp::listen_implicit(r, any, &opts, &shared)?;
        Ok(vec![explicit, implicit])
    });
    Fixture {
        server,
        root,
        outside,
    }
}

/// The implicit FTPS address of a fixture made by [`start`].
pub fn implicit(f: &Fixture) -> std::net::SocketAddr {
    f.server.addrs[1]
}
