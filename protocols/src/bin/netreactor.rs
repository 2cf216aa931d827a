//! `netreactor`: serves HTTP, WebSocket, FTP and Telnet on one reactor per worker thread.
//!
//! `cargo run --release` starts all four on their default loopback ports, serving the
//! current directory.

use std::net::SocketAddr;

use clap::Parser;
use netreactor::bytes::BytesMut;
use netreactor::{Context, ListenOptions, Protocol, ProxyProtocol};
use netreactor_protocols::http::{Handler, Request, Response, StaticFiles};
use netreactor_protocols::ops::cli::{init_logging, Ops, OpsArgs};
use netreactor_protocols::tls_setup::{Certs, TlsArgs};
use netreactor_protocols::{ftp, http, proxy_cli, restart, telnet, websocket};

/// HTTP, WebSocket, FTP, Telnet and TCP echo servers on the netreactor event loop.
#[derive(Parser, Clone, Debug)]
#[command(
    version,
    about = "HTTP, WebSocket, FTP, Telnet and TCP echo servers on the netreactor event loop"
)]
struct Cli {
    /// Reactor threads (thread-per-core). Linux and FreeBSD: each has its own listeners and
    /// the kernel balances (SO_REUSEPORT, SO_REUSEPORT_LB); macOS: they share one listening
    /// socket per address (see docs/platforms.md).
    #[arg(long, value_name = "N", default_value_t = 1)]
    workers: usize,
    /// Address of the TCP echo server.
    #[arg(long = "echo", value_name = "ADDR", default_value = "127.0.0.1:7000")]
    echo: SocketAddr,
    /// Do not start the TCP echo server.
    #[arg(long = "no-echo")]
    no_echo: bool,
    /// IPv6 listeners (`[::]:P`) also accept IPv4 clients (IPV6_V6ONLY off), so one address
    /// serves both, for every server.
    #[arg(long = "dual-stack")]
    dual_stack: bool,
    /// Connections to every server start with a PROXY protocol header (v1 or v2): every one,
    /// or with `=ADDR[/PREFIX],...` those from these balancers; a server's own
    /// flag (`--http-proxy-protocol`, ...) wins (see docs/deploy.md).
    #[arg(
        long = "proxy-protocol",
        value_name = "TRUSTED",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        value_parser = proxy_cli::parse_proxy_protocol
    )]
    proxy_protocol: Option<ProxyProtocol>,
    /// Seconds a connection has to send its whole PROXY protocol header.
    #[arg(
        long = "proxy-header-timeout",
        value_name = "SECS",
        default_value_t = 5.0
    )]
    proxy_header_timeout: f64,
    #[command(flatten)]
    http: http::cli::HttpArgs,
    #[command(flatten)]
    ws: websocket::cli::WsArgs,
    #[command(flatten)]
    ftp: ftp::cli::FtpArgs,
    #[command(flatten)]
    telnet: telnet::cli::TelnetArgs,
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    restart: restart::RestartArgs,
    #[command(flatten)]
    ops: OpsArgs,
}

/// The HTTP(S) server's handler: files and CGI, and a WebSocket echo for any request that
/// asks for the upgrade (`ws://` on the HTTP port, `wss://` on the HTTPS one).
struct FilesAndWebSocket {
    files: StaticFiles,
    ws: websocket::ServerConfig,
    echo: websocket::CountedEcho,
}

impl Handler for FilesAndWebSocket {
    fn handle(&self, req: &Request) -> Response {
        if req.is_upgrade("websocket") {
            return websocket::upgrade(req, &self.ws, self.echo.clone());
        }
        self.files.handle(req)
    }

    fn body_mode(&self, req: &Request) -> http::BodyMode {
        self.files.body_mode(req)
    }
}

/// The TCP echo service: every byte goes back as it came.
struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.ops.log_format);
    // First, before any thread: takes inherited sockets, arms SIGUSR2 (docs/operations.md).
    let restart = restart::Restart::new(&cli.restart).unwrap_or_else(|e| {
        eprintln!("netreactor: {e}");
        std::process::exit(2);
    });
    if !cli.ftp.disabled {
        if let Err(e) = cli.ftp.check() {
            eprintln!("netreactor: {e}");
            std::process::exit(2);
        }
    }
    let wants_tls = !cli.http.disabled && !cli.http.no_https
        || cli.ws.wss.is_some()
        || !cli.ftp.disabled
        || cli.telnet.telnets.is_some();
    let certs = match wants_tls.then(|| Certs::load(&cli.tls)).transpose() {
        Ok(certs) => certs,
        Err(e) => {
            eprintln!("netreactor: {e}");
            std::process::exit(2);
        }
    };
    let acceptors = certs.as_ref().map(|c| {
        let http11: &[&[u8]] = &[b"http/1.1"];
        Ok::<_, std::io::Error>((
            c.acceptor(http11)?,
            c.acceptor(http11)?,
            c.acceptor(&[b"ftp"])?,
            c.acceptor(&[])?,
        ))
    });
    let (https_tls, wss_tls, ftps_tls, telnets_tls) = match acceptors.transpose() {
        Ok(Some((a, b, f, c))) => (Some(a), Some(b), Some(f), Some(c)),
        Ok(None) => (None, None, None, None),
        Err(e) => {
            eprintln!("netreactor: {e}");
            std::process::exit(2);
        }
    };
    if let Some(certs) = &certs {
        if let Err(e) = certs.reload_on_sighup() {
            tracing::warn!(error = %e, "tls: no reload on SIGHUP");
        }
    }
    let workers = cli.workers.max(1);
    let Ok(header_timeout) = std::time::Duration::try_from_secs_f64(cli.proxy_header_timeout)
    else {
        eprintln!("netreactor: --proxy-header-timeout: not a duration");
        std::process::exit(2);
    };
    let listen = ListenOptions {
        reuse_port: workers > 1,
        v6_only: !cli.dual_stack,
        ..ListenOptions::default()
    }
    .proxy_header_timeout(header_timeout);
    let ops = Ops::start(&cli.ops, workers).unwrap_or_else(|e| {
        eprintln!("netreactor: {e}");
        std::process::exit(2);
    });
    let result = restart.run_workers(workers, move |worker, reactor| {
        reactor.shutdown_on_signals()?;
        let worker_ops = ops.worker(worker, reactor);
        let every = cli.proxy_protocol.as_ref();
        let listen_for = |own: Option<&ProxyProtocol>| proxy_cli::listen_for(&listen, own, every);
        if !cli.no_echo {
            let opts = listen_for(None).label("echo");
            let local = reactor.listen_tcp_with(cli.echo, &opts, || Echo)?;
            tracing::info!(%local, "echo listening");
        }
        if !cli.http.disabled {
            let ws = cli.ws.config();
            let echo = websocket::CountedEcho(worker_ops.counters.http_ws.clone());
            let server = http::Server::static_files_with(cli.http.config()?, |files| {
                FilesAndWebSocket { files, ws, echo }
            })?;
            let opts = listen_for(cli.http.proxy_protocol.as_ref());
            http::cli::start_server(reactor, &cli.http, &opts, &server)?;
            // The HTTPS port takes the HTTP server's PROXY protocol policy (the header comes
            // before the TLS handshake, as HAProxy's `send-proxy-v2` sends it).
            if let (false, Some(tls)) = (cli.http.no_https, &https_tls) {
                http::cli::start_https(reactor, &cli.http, &opts, &server, tls.clone())?;
            }
        }
        if !cli.ws.disabled {
            let opts = listen_for(cli.ws.proxy_protocol.as_ref());
            websocket::cli::start(reactor, &cli.ws, &opts)?;
            if let Some(tls) = &wss_tls {
                websocket::cli::start_wss(reactor, &cli.ws, &opts, tls.clone())?;
            }
        }
        if !cli.ftp.disabled {
            let opts = listen_for(cli.ftp.proxy_protocol.as_ref());
            match &ftps_tls {
                Some(tls) => ftp::cli::start_with_tls(
                    reactor,
                    &cli.ftp,
                    &opts,
                    &cli.http.root,
                    cli.http.show_hidden,
                    tls.clone(),
                )?,
                None => ftp::cli::start(
                    reactor,
                    &cli.ftp,
                    &opts,
                    &cli.http.root,
                    cli.http.show_hidden,
                )?,
            };
        }
        if !cli.telnet.disabled {
            let opts = listen_for(cli.telnet.proxy_protocol.as_ref());
            match &telnets_tls {
                Some(tls) => telnet::cli::start_with_tls(reactor, &cli.telnet, &opts, tls.clone())?,
                None => telnet::cli::start(reactor, &cli.telnet, &opts)?,
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("netreactor: {e}");
        std::process::exit(1);
    }
}
