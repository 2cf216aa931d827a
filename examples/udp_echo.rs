//! UDP echo: every datagram goes back to its sender.
//! `cargo run --example udp_echo [ADDR]` (default 127.0.0.1:7002), then `nc -u 127.0.0.1 7002`.

use std::net::SocketAddr;

use netreactor::{DatagramProtocol, FdContext, Reactor};

struct UdpEcho;

impl DatagramProtocol for UdpEcho {
    fn on_datagram(&mut self, cx: &mut FdContext<'_>, data: &[u8], peer: SocketAddr) {
        // UDP may drop: a datagram the socket cannot take now is simply lost.
        let _ = cx.send_to(data, peer);
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7002".into());
    let mut reactor = Reactor::new()?;
    reactor.shutdown_on_signals()?;
    let local = reactor.bind_udp(addr.parse().expect("ADDR"), UdpEcho)?;
    eprintln!("udp echo on {local}");
    reactor.run()
}
