//! Command-line flags of the ftp server and its start-up.

use std::io;
use std::net::SocketAddr;

use netreactor::{ListenOptions, Reactor};

/// Flags of the ftp server.
#[derive(clap::Args, Clone, Debug)]
pub struct FtpArgs {
    /// Address the ftp server listens on.
    #[arg(id = "ftp_addr", long = "ftp", value_name = "ADDR", default_value = "127.0.0.1:2121")]
    pub addr: SocketAddr,
    /// Do not start the ftp server.
    #[arg(id = "ftp_disabled", long = "no-ftp")]
    pub disabled: bool,
}

/// Starts the ftp server on `reactor` (not yet built: does nothing).
pub fn start(reactor: &mut Reactor, args: &FtpArgs, listen: &ListenOptions) -> io::Result<()> {
    let _ = (reactor, args, listen);
    Ok(())
}
