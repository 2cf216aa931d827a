//! ICMP echo ("ping") driven by the reactor: any descriptor can be registered, not only TCP
//! and UDP sockets. `cargo run --example ping [HOST] [COUNT]` (default 127.0.0.1, 4).
//!
//! Uses an unprivileged ICMP datagram socket where `net.ipv4.ping_group_range` allows it,
//! and a raw socket otherwise (needs root or CAP_NET_RAW). Requests go out on a reactor
//! timer; replies are read by an [`FdHandler`] when the descriptor is readable.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use netreactor::{FdContext, FdHandler, Interest, Reactor};
use socket2::{Domain, Protocol, Socket, Type};

const PAYLOAD: &[u8] = b"netreactor ping payload 0123456789abcdef";

struct Pinger {
    sock: Socket,
    raw: bool,
    target: Ipv4Addr,
    ident: u16,
    count: u16,
    sent: u16,
    received: u16,
    in_flight: HashMap<u16, Instant>,
}

impl Pinger {
    fn send(&mut self, cx: &mut FdContext<'_>) {
        self.sent += 1;
        let packet = echo_request(self.ident, self.sent, PAYLOAD);
        let to = SocketAddr::V4(SocketAddrV4::new(self.target, 0));
        match self.sock.send_to(&packet, &to.into()) {
            Ok(_) => {
                self.in_flight.insert(self.sent, cx.now());
            }
            Err(e) => eprintln!("send failed: {e}"),
        }
        if self.sent < self.count {
            cx.set_timer(Duration::from_millis(200), 0);
        } else {
            cx.set_timer(Duration::from_secs(2), 1); // give the last reply time to come
        }
    }
}

impl FdHandler for Pinger {
    fn on_open(&mut self, cx: &mut FdContext<'_>, _fd: BorrowedFd<'_>) {
        self.send(cx);
    }

    fn on_readable(&mut self, cx: &mut FdContext<'_>, _fd: BorrowedFd<'_>) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
        // Edge-triggered: read until WouldBlock.
        while let Ok((n, _from)) = self.sock.recv_from(&mut buf) {
            // SAFETY: recv_from initialised the first `n` bytes.
            let data: Vec<u8> = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let icmp = strip_ip_header(&data);
            // Type 0 = echo reply. The kernel rewrites the id of datagram sockets.
            if icmp.len() < 8 || icmp[0] != 0 || (self.raw && id_of(icmp) != self.ident) {
                continue;
            }
            let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
            if let Some(sent_at) = self.in_flight.remove(&seq) {
                self.received += 1;
                let rtt = cx.now().saturating_duration_since(sent_at);
                println!(
                    "{} bytes from {}: icmp_seq={} time={:.3} ms",
                    icmp.len(),
                    self.target,
                    seq,
                    rtt.as_secs_f64() * 1e3
                );
            }
        }
        if self.received == self.count {
            println!(
                "{} packets transmitted, {} received",
                self.sent, self.received
            );
            cx.shutdown_reactor();
        }
    }

    fn on_timer(&mut self, cx: &mut FdContext<'_>, _fd: BorrowedFd<'_>, tag: u64) {
        if tag == 0 {
            self.send(cx);
        } else {
            println!(
                "{} packets transmitted, {} received",
                self.sent, self.received
            );
            cx.shutdown_reactor();
        }
    }
}

/// A raw socket hands us the IPv4 header too, and so does the ICMP datagram socket of macOS
/// and the BSDs; Linux's datagram socket does not. An ICMP message starts with its type (0
/// for an echo reply), an IPv4 header with version 4 in the high nibble, so the first byte
/// tells which we got.
fn strip_ip_header(data: &[u8]) -> &[u8] {
    match data.first() {
        Some(&b) if b >> 4 == 4 => &data[(((b & 0x0f) as usize) * 4).min(data.len())..],
        _ => data,
    }
}

fn id_of(icmp: &[u8]) -> u16 {
    u16::from_be_bytes([icmp[4], icmp[5]])
}

/// An ICMP echo request: type 8, code 0, checksum, identifier, sequence, payload.
fn echo_request(ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![8, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    let sum = checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The Internet checksum (RFC 1071): one's complement of the one's complement sum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += word as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn open_icmp() -> std::io::Result<(Socket, bool)> {
    match Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)) {
        Ok(s) => Ok((s, false)),
        Err(_) => Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).map(|s| (s, true)),
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let target: Ipv4Addr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1".into())
        .parse()
        .expect("IPv4 address");
    let count: u16 = args.next().map_or(4, |c| c.parse().expect("COUNT"));
    let (sock, raw) = open_icmp()?;
    sock.set_nonblocking(true)?;
    let fd: OwnedFd = sock.try_clone()?.into();
    let mut reactor = Reactor::new()?;
    let pinger = Pinger {
        sock,
        raw,
        target,
        ident: std::process::id() as u16,
        count,
        sent: 0,
        received: 0,
        in_flight: HashMap::new(),
    };
    println!(
        "PING {target} ({} socket)",
        if raw { "raw" } else { "icmp datagram" }
    );
    reactor.register_fd(fd, Interest::READABLE, pinger)?;
    reactor.run()
}
