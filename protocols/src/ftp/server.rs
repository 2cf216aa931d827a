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
    listen_shared(reactor, addr, opts, &Rc::new(Shared::new(config)))
}

/// [`listen`] with state shared with other listeners (the same connection limits for an
/// FTP and an implicit FTPS port). [`FtpConfig::passive_proxy_protocol`] is taken as it is.
pub fn listen_shared(
    reactor: &mut Reactor,
    addr: SocketAddr,
    opts: &ListenOptions,
    shared: &Rc<Shared>,
) -> io::Result<SocketAddr> {
    let shared = shared.clone();
    reactor.listen_tcp_with(addr, &control_options(opts), move || {
        FtpConn::new(shared.clone())
    })
}

/// Serves implicit FTPS on `addr` (port 990 style): TLS from the first byte, then FTP with
/// `PBSZ 0` and `PROT P` in force. `shared`'s configuration must have
/// [`FtpConfig::tls`]. Each connection gets TLS configurations of its own (its own ticket
/// key and session cache), which its data connections resume.
#[cfg(feature = "tls")]
pub fn listen_implicit(
    reactor: &mut Reactor,
    addr: SocketAddr,
    opts: &ListenOptions,
    shared: &Rc<Shared>,
) -> io::Result<SocketAddr> {
    if shared.config.tls.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "implicit FTPS needs FtpConfig::tls",
        ));
    }
    let shared = shared.clone();
    let opts = control_options(&opts.clone().label("ftps"));
    reactor.listen_tcp_with(addr, &opts, move || FtpConn::implicit_tls(shared.clone()))
}

fn control_options(opts: &ListenOptions) -> ListenOptions {
    ListenOptions {
        oob_inline: true,
        label: opts.label.clone().or(Some("ftp".into())),
        ..opts.clone()
    }
}
