//! Command-line flags of the Telnet chat server and its start-up.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use netreactor::{ListenOptions, Reactor};

use super::server::{listen, TelnetConfig};

/// Flags of the Telnet chat server.
#[derive(clap::Args, Clone, Debug)]
pub struct TelnetArgs {
    /// Address the Telnet chat listens on.
    #[arg(
        id = "telnet_addr",
        long = "telnet",
        value_name = "ADDR",
        default_value = "127.0.0.1:2323"
    )]
    pub addr: SocketAddr,
    /// Do not start the Telnet chat.
    #[arg(id = "telnet_disabled", long = "no-telnet")]
    pub disabled: bool,
    /// Also serve the chat over TLS on this address (the same room).
    #[arg(long = "telnets", value_name = "ADDR")]
    pub telnets: Option<SocketAddr>,
    /// Longest line a user may type (bytes).
    #[arg(long = "telnet-max-line", value_name = "BYTES", default_value_t = TelnetConfig::default().max_line)]
    pub max_line: usize,
    /// Users at once.
    #[arg(long = "telnet-max-users", value_name = "N", default_value_t = TelnetConfig::default().max_connections)]
    pub max_users: usize,
    /// Disconnect users idle this many seconds.
    #[arg(long = "telnet-idle-timeout", value_name = "SECS", default_value_t = TelnetConfig::default().idle_timeout.as_secs())]
    pub idle_timeout: u64,
    /// Sustained input rate per user (bytes per second).
    #[arg(long = "telnet-rate", value_name = "BYTES", default_value_t = TelnetConfig::default().rate)]
    pub rate: u32,
    /// Sustained lines per second per user (each chat line is written to every member).
    #[arg(long = "telnet-line-rate", value_name = "LINES", default_value_t = TelnetConfig::default().line_rate)]
    pub line_rate: u32,
    /// Connections to the Telnet server start with a PROXY protocol header (v1 or v2): every
    /// one, or with `=ADDR[/PREFIX],...` those from these balancers (see docs/deploy.md).
    #[arg(
        id = "telnet_proxy_protocol",
        long = "telnet-proxy-protocol",
        value_name = "TRUSTED",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        value_parser = crate::proxy_cli::parse_proxy_protocol
    )]
    pub proxy_protocol: Option<netreactor::ProxyProtocol>,
}

impl TelnetArgs {
    /// The configuration these flags describe.
    pub fn config(&self) -> TelnetConfig {
        TelnetConfig {
            max_line: self.max_line,
            max_connections: self.max_users,
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            rate: self.rate.max(1),
            burst: self.rate.max(1).saturating_mul(4),
            line_rate: self.line_rate.max(1),
            counters: Some(
                crate::ops::cli::WorkerOps::current()
                    .counters
                    .telnet
                    .clone(),
            ),
            ..TelnetConfig::default()
        }
    }
}

/// Starts the Telnet chat on `reactor`.
pub fn start(
    reactor: &mut Reactor,
    args: &TelnetArgs,
    listen_opts: &ListenOptions,
) -> io::Result<()> {
    let local = listen(reactor, args.addr, listen_opts, args.config())?;
    tracing::info!(%local, "telnet chat listening");
    Ok(())
}

/// Starts the Telnet chat on `args.addr` and over TLS on `args.telnets`, one room for both.
#[cfg(feature = "tls")]
pub fn start_with_tls(
    reactor: &mut Reactor,
    args: &TelnetArgs,
    listen_opts: &ListenOptions,
    tls: netreactor::tls::TlsAcceptor,
) -> io::Result<()> {
    let Some(tls_addr) = args.telnets else {
        return start(reactor, args, listen_opts);
    };
    let (plain, secure) = super::server::listen_both(
        reactor,
        args.addr,
        tls_addr,
        listen_opts,
        tls,
        args.config(),
    )?;
    tracing::info!(%plain, tls = %secure, "telnet chat listening");
    Ok(())
}
