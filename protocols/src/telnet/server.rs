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
        ..opts.clone()
    };
    reactor.listen_tcp_with(addr, &opts, move || TelnetConn::new(shared.clone()))
}
