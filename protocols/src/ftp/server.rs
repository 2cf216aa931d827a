//! The listener that serves FTP with a [`FtpConfig`].
//!
//! ```no_run
//! use netreactor::{ListenOptions, Reactor};
//! use netreactor_protocols::ftp::{self, FtpConfig};
//!
//! let mut reactor = Reactor::new()?;
//! let mut config = FtpConfig::default();
//! config.users.add("foo:bar:elradfmwMT:.".parse().unwrap());
//! ftp::listen(&mut reactor, "127.0.0.1:2121".parse().unwrap(), &ListenOptions::default(), config)?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use netreactor::{ListenOptions, Reactor};

pub use super::config::{FtpConfig, Shared};
use super::conn::FtpConn;

/// Serves FTP on `addr` with `config`; returns the bound address. The control listener
/// takes TCP urgent data inline (`SO_OOBINLINE`), so the Telnet Data Mark that clients send
/// as urgent data with ABOR arrives in band, where the command parser strips it. A PROXY
/// protocol in `opts` applies to the passive data listeners too, unless
/// [`FtpConfig::passive_proxy_protocol`] says otherwise.
pub fn listen(
    reactor: &mut Reactor,
    addr: SocketAddr,
    opts: &ListenOptions,
    mut config: FtpConfig,
) -> io::Result<SocketAddr> {
    if config.passive_proxy_protocol.is_none() {
        config.passive_proxy_protocol = opts.proxy_protocol.clone();
    }
    let shared = Rc::new(Shared::new(config));
    let opts = ListenOptions {
        oob_inline: true,
        ..opts.clone()
    };
    reactor.listen_tcp_with(addr, &opts, move || FtpConn::new(shared.clone()))
}
