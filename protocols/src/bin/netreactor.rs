//! `netreactor`: serves HTTP, WebSocket, FTP and Telnet on one reactor per worker thread.
//!
//! `cargo run --release` starts all four on their default loopback ports, serving the
//! current directory.

use std::net::SocketAddr;

use clap::Parser;
use netreactor::bytes::BytesMut;
use netreactor::{run_workers, Context, ListenOptions, Protocol};
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
            http::cli::start(reactor, &cli.http, &listen)?;
        }
        if !cli.ws.disabled {
            websocket::cli::start(reactor, &cli.ws, &listen)?;
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
            telnet::cli::start(reactor, &cli.telnet, &listen)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("netreactor: {e}");
        std::process::exit(1);
    }
}
