//! The TechEmpower "plaintext" shape: every request gets `200`, `Content-Type: text/plain`
//! and the 13-byte body `Hello, World!`.
//!
//! `cargo run --release --example http_hello -- 127.0.0.1:8080` (the address defaults to
//! 127.0.0.1:8080; a second argument sets the number of reactor threads, default 1).

use bytes::Bytes;
use netreactor::{run_workers, ListenOptions};
use netreactor_protocols::http::{Request, Response, Server, ServerConfig};

fn hello(_: &Request) -> Response {
    Response::new(200)
        .header(
            Bytes::from_static(b"Content-Type"),
            Bytes::from_static(b"text/plain"),
        )
        .body(Bytes::from_static(b"Hello, World!"))
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let addr = addr.parse().expect("listen address, e.g. 127.0.0.1:8080");
    let workers: usize = args.next().map_or(1, |n| n.parse().expect("worker count"));
    let listen = ListenOptions {
        reuse_port: workers > 1,
        ..ListenOptions::default()
    };
    run_workers(workers, move |_, reactor| {
        let server = Server::new(ServerConfig::default(), hello);
        reactor.listen_tcp_with(addr, &listen, server.factory())?;
        Ok(())
    })
}
