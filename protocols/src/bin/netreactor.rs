//! `netreactor`: serves HTTP, WebSocket, FTP and Telnet on one reactor per worker thread.
//!
//! `cargo run --release` starts all four on their default loopback ports, serving the
//! current directory.

use clap::Parser;
use netreactor::{run_workers, ListenOptions};
use netreactor_protocols::{ftp, http, telnet, websocket};

/// HTTP, WebSocket, FTP and Telnet servers on the netreactor event loop.
#[derive(Parser, Clone, Debug)]
#[command(version, about)]
struct Cli {
    /// Reactor threads; each has its own SO_REUSEPORT listeners (thread-per-core).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    #[command(flatten)]
    http: http::cli::HttpArgs,
    #[command(flatten)]
    ws: websocket::cli::WsArgs,
    #[command(flatten)]
    ftp: ftp::cli::FtpArgs,
    #[command(flatten)]
    telnet: telnet::cli::TelnetArgs,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let workers = cli.workers.max(1);
    let listen = ListenOptions {
        reuse_port: workers > 1,
        ..ListenOptions::default()
    };
    let result = run_workers(workers, move |_worker, reactor| {
        reactor.shutdown_on_signals()?;
        if !cli.http.disabled {
            http::cli::start(reactor, &cli.http, &listen)?;
        }
        if !cli.ws.disabled {
            websocket::cli::start(reactor, &cli.ws, &listen)?;
        }
        if !cli.ftp.disabled {
            ftp::cli::start(reactor, &cli.ftp, &listen)?;
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
