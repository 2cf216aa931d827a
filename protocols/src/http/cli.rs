//! Command-line flags of the http server and its start-up.

use std::io;
use std::net::SocketAddr;

use netreactor::{ListenOptions, Reactor};

/// Flags of the http server.
#[derive(clap::Args, Clone, Debug)]
pub struct HttpArgs {
    /// Address the http server listens on.
    #[arg(long = "http", value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,
    /// Do not start the http server.
    #[arg(long = "no-http")]
    pub disabled: bool,
}

/// Starts the http server on `reactor` (not yet built: does nothing).
pub fn start(reactor: &mut Reactor, args: &HttpArgs, listen: &ListenOptions) -> io::Result<()> {
    let _ = (reactor, args, listen);
    Ok(())
}
