//! Command-line flags of the websocket server and its start-up.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use netreactor::{ListenOptions, Reactor};

use super::server::{listen, CountedEcho, ServerConfig};

/// Flags of the websocket server.
#[derive(clap::Args, Clone, Debug)]
pub struct WsArgs {
    /// Address the websocket (echo) server listens on.
    #[arg(
        id = "ws_addr",
        long = "ws",
        value_name = "ADDR",
        default_value = "127.0.0.1:9000"
    )]
    pub addr: SocketAddr,
    /// Do not start the websocket server.
    #[arg(id = "ws_disabled", long = "no-ws")]
    pub disabled: bool,
    /// Also serve the echo over TLS (`wss://`) on this address.
    #[arg(long = "wss", value_name = "ADDR")]
    pub wss: Option<SocketAddr>,
    /// Largest message accepted, in bytes (close 1009 beyond).
    #[arg(long = "ws-max-message", value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_message: usize,
    /// Refuse permessage-deflate offers.
    #[arg(long = "ws-no-compression")]
    pub no_compression: bool,
    /// Close connections silent for this long, in seconds, with 1001 (a ping at half of
    /// it; 0: never).
    #[arg(
        id = "ws_idle_timeout",
        long = "ws-idle-timeout",
        value_name = "SECS",
        default_value_t = 300
    )]
    pub idle_timeout: u64,
    /// Connections to the websocket server start with a PROXY protocol header (v1 or v2): every
    /// one, or with `=ADDR[/PREFIX],...` those from these balancers (see docs/deploy.md).
    #[arg(
        id = "ws_proxy_protocol",
        long = "ws-proxy-protocol",
        value_name = "TRUSTED",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        value_parser = crate::proxy_cli::parse_proxy_protocol
    )]
    pub proxy_protocol: Option<netreactor::ProxyProtocol>,
}

/// Starts the websocket echo server on `reactor`: every text or binary message comes back
/// unchanged.
pub fn start(reactor: &mut Reactor, args: &WsArgs, listen_opts: &ListenOptions) -> io::Result<()> {
    if args.disabled {
        return Ok(());
    }
    let echo = CountedEcho(crate::ops::cli::WorkerOps::current().counters.ws.clone());
    let opts = listen_opts.clone().label("ws");
    let addr = listen(reactor, args.addr, &opts, args.config(), move || {
        echo.clone()
    })?;
    tracing::info!(%addr, "websocket echo server listening");
    Ok(())
}

/// Starts the echo over TLS on `args.wss` (if given).
#[cfg(feature = "tls")]
pub fn start_wss(
    reactor: &mut Reactor,
    args: &WsArgs,
    listen_opts: &ListenOptions,
    tls: netreactor::tls::TlsAcceptor,
) -> io::Result<()> {
    let Some(wss) = args.wss else { return Ok(()) };
    let echo = CountedEcho(crate::ops::cli::WorkerOps::current().counters.ws.clone());
    let opts = listen_opts.clone().label("wss");
    let addr = super::server::listen_tls(reactor, wss, &opts, tls, args.config(), move || {
        echo.clone()
    })?;
    tracing::info!(%addr, "websocket echo server listening (wss)");
    Ok(())
}

impl WsArgs {
    /// The server configuration these flags describe.
    pub fn config(&self) -> ServerConfig {
        let args = self;
        let mut config = ServerConfig::default();
        config.limits.max_message = args.max_message;
        config.limits.max_frame = args.max_message as u64;
        config.deflate.enabled = !args.no_compression;
        config.idle_timeout =
            (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout));
        config
    }
}
