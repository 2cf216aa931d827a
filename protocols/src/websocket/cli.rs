//! Command-line flags of the websocket server and its start-up.

use std::io;
use std::net::SocketAddr;

use netreactor::{ListenOptions, Reactor};

/// Flags of the websocket server.
#[derive(clap::Args, Clone, Debug)]
pub struct WsArgs {
    /// Address the websocket server listens on.
    #[arg(long = "ws", value_name = "ADDR", default_value = "127.0.0.1:9000")]
    pub addr: SocketAddr,
    /// Do not start the websocket server.
    #[arg(long = "no-ws")]
    pub disabled: bool,
}

/// Starts the websocket server on `reactor` (not yet built: does nothing).
pub fn start(reactor: &mut Reactor, args: &WsArgs, listen: &ListenOptions) -> io::Result<()> {
    let _ = (reactor, args, listen);
    Ok(())
}
