//! Command-line flags of the telnet server and its start-up.

use std::io;
use std::net::SocketAddr;

use netreactor::{ListenOptions, Reactor};

/// Flags of the telnet server.
#[derive(clap::Args, Clone, Debug)]
pub struct TelnetArgs {
    /// Address the telnet server listens on.
    #[arg(
        id = "telnet_addr",
        long = "telnet",
        value_name = "ADDR",
        default_value = "127.0.0.1:2323"
    )]
    pub addr: SocketAddr,
    /// Do not start the telnet server.
    #[arg(id = "telnet_disabled", long = "no-telnet")]
    pub disabled: bool,
}

/// Starts the telnet server on `reactor` (not yet built: does nothing).
pub fn start(reactor: &mut Reactor, args: &TelnetArgs, listen: &ListenOptions) -> io::Result<()> {
    let _ = (reactor, args, listen);
    Ok(())
}
