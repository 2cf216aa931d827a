//! A WebSocket echo server: every text and binary message comes back unchanged. This is the
//! server the Autobahn conformance run (`.ci/checks.d/websocket.sh`) drives.
//!
//! ```text
//! cargo run --release --example ws_echo -- 127.0.0.1:9001
//! ```

use netreactor::{ListenOptions, Reactor};
use netreactor_protocols::websocket::{self, Echo, ServerConfig};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_string())
        .parse()
        .expect("usage: ws_echo [ADDR]");
    let mut reactor = Reactor::new()?;
    reactor.shutdown_on_signals()?;
    let bound = websocket::listen(
        &mut reactor,
        addr,
        &ListenOptions::default(),
        ServerConfig::default(),
        || Echo,
    )?;
    eprintln!("ws_echo listening on {bound}");
    reactor.run()
}
