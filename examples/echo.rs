//! TCP echo server: `cargo run --example echo [ADDR]` (default 127.0.0.1:7000).
use bytes::BytesMut;
use netreactor::{Context, Protocol, Reactor};

/// Sends every byte back as it arrives.
struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        // Hand the bytes to the write queue as they are: no copy.
        cx.write(input.split().freeze());
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let mut reactor = Reactor::new()?;
    reactor.shutdown_on_signals()?;
    let local = reactor.listen_tcp(addr.parse().expect("ADDR like 127.0.0.1:7000"), || Echo)?;
    eprintln!("echo listening on {local}");
    reactor.run()
}
