//! The Telnet chat listener (the configuration is in [`config`](super::config),
//! re-exported here).

use std::io;
use std::net::SocketAddr;

use netreactor::{ListenOptions, Reactor};

pub use super::config::{shared, Shared, TelnetConfig};
use super::conn::TelnetConn;

/// Serves the chat on `addr`; returns the bound address.
pub fn listen(
    reactor: &mut Reactor,
    addr: SocketAddr,
    opts: &ListenOptions,
    config: TelnetConfig,
) -> io::Result<SocketAddr> {
    let shared = shared(config);
    // The Telnet Data Mark may come as TCP urgent data: take it inline.
    let opts = ListenOptions {
        oob_inline: true,
        label: opts.label.clone().or(Some("telnet".into())),
        ..opts.clone()
    };
    reactor.listen_tcp_with(addr, &opts, move || TelnetConn::new(shared.clone()))
}

/// [`listen`] over TLS: the same chat room for every connection `tls` accepts (one room
/// per call: give plain and TLS users one room with [`listen_both`]).
#[cfg(feature = "tls")]
pub fn listen_both(
    reactor: &mut Reactor,
    addr: SocketAddr,
    tls_addr: SocketAddr,
    opts: &ListenOptions,
    tls: netreactor::tls::TlsAcceptor,
    config: TelnetConfig,
) -> io::Result<(SocketAddr, SocketAddr)> {
    let shared = shared(config);
    let opts = ListenOptions {
        oob_inline: true,
        label: opts.label.clone().or(Some("telnet".into())),
        ..opts.clone()
    };
    let plain = shared.clone();
    let a = reactor.listen_tcp_with(addr, &opts, move || TelnetConn::new(plain.clone()))?;
    // The PROXY protocol is for the plain port: TLS listeners do not read its header yet.
    let tls_opts = ListenOptions {
        proxy_protocol: None,
        label: Some("telnets".into()),
        ..opts.clone()
    };
    let b = reactor.listen_tls_with(tls_addr, &tls_opts, tls, move || {
        TelnetConn::new(shared.clone())
    })?;
    Ok((a, b))
}
