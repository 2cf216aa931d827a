//! `netreactor`: serves HTTP, WebSocket, FTP and Telnet on one reactor per worker thread.
//!
//! `cargo run --release` starts all four on their default loopback ports, serving the
//! current directory.

use std::net::SocketAddr;

use clap::Parser;
use netreactor::bytes::BytesMut;
use netreactor::{run_workers, Context, ListenOptions, Protocol};
use netreactor_protocols::http::{Handler, Request, Response, StaticFiles};
use netreactor_protocols::tls_setup::{Certs, TlsArgs};
use netreactor_protocols::{ftp, http, telnet, websocket};

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
}

/// The HTTP(S) server's handler: files and CGI, and a WebSocket echo for any request that
/// asks for the upgrade (`ws://` on the HTTP port, `wss://` on the HTTPS one).
struct FilesAndWebSocket {
    files: StaticFiles,
    ws: websocket::ServerConfig,
}

impl Handler for FilesAndWebSocket {
    fn handle(&self, req: &Request) -> Response {
        if req.is_upgrade("websocket") {
            return websocket::upgrade(req, &self.ws, websocket::Echo);
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
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    if !cli.ftp.disabled {
        if let Err(e) = cli.ftp.check() {
            eprintln!("netreactor: {e}");
            std::process::exit(2);
        }
    }
    let wants_tls = !cli.http.disabled && !cli.http.no_https
        || cli.ws.wss.is_some()
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
        Ok::<_, std::io::Error>((c.acceptor(http11)?, c.acceptor(http11)?, c.acceptor(&[])?))
    });
    let (https_tls, wss_tls, telnets_tls) = match acceptors.transpose() {
        Ok(Some((a, b, c))) => (Some(a), Some(b), Some(c)),
        Ok(None) => (None, None, None),
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
    let listen = ListenOptions {
        reuse_port: workers > 1,
        v6_only: !cli.dual_stack,
        ..ListenOptions::default()
    };
    let result = run_workers(workers, move |_worker, reactor| {
        reactor.shutdown_on_signals()?;
        if !cli.no_echo {
            let local = reactor.listen_tcp_with(cli.echo, &listen, || Echo)?;
            tracing::info!(%local, "echo listening");
        }
        if !cli.http.disabled {
            let ws = cli.ws.config();
            let server = http::Server::static_files_with(cli.http.config()?, |files| {
                FilesAndWebSocket { files, ws }
            })?;
            http::cli::start_server(reactor, &cli.http, &listen, &server)?;
            if let (false, Some(tls)) = (cli.http.no_https, &https_tls) {
                http::cli::start_https(reactor, &cli.http, &listen, &server, tls.clone())?;
            }
        }
        if !cli.ws.disabled {
            websocket::cli::start(reactor, &cli.ws, &listen)?;
            if let Some(tls) = &wss_tls {
                websocket::cli::start_wss(reactor, &cli.ws, &listen, tls.clone())?;
            }
        }
        if !cli.ftp.disabled {
            ftp::cli::start(
                reactor,
                &cli.ftp,
                &listen,
                &cli.http.root,
                cli.http.show_hidden,
            )?;
        }
        if !cli.telnet.disabled {
            match &telnets_tls {
                Some(tls) => {
                    telnet::cli::start_with_tls(reactor, &cli.telnet, &listen, tls.clone())?
                }
                None => telnet::cli::start(reactor, &cli.telnet, &listen)?,
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("netreactor: {e}");
        std::process::exit(1);
    }
}
