//! Echo over a Unix domain stream socket.
//! `cargo run --example unix_echo [PATH]` (default /tmp/netreactor-echo.sock), then
//! `nc -U /tmp/netreactor-echo.sock`.

use bytes::BytesMut;
use netreactor::{Context, Protocol, Reactor};

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/netreactor-echo.sock".into());
    let mut reactor = Reactor::new()?;
    reactor.shutdown_on_signals()?;
    reactor.listen_unix(path.as_ref(), || Echo)?;
    eprintln!("unix echo on {path}");
    reactor.run()
}
