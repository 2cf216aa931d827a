//! Where the memory of an idle TLS connection goes, counted by a global allocator that
//! keeps live heap bytes and blocks (no sockets, nothing else running):
//!
//! 1. a rustls `ServerConnection` alone: made, after its handshake, after one request and
//!    response, in memory against a rustls client (the test certificate, ECDSA P-256);
//! 2. a whole netreactor TLS connection in the harness (core slot, input and output
//!    buffers, `TlsIo`, its rustls `UnbufferedServerConnection`) after one echoed message,
//!    against the same connection without TLS. (1. is the buffered session it replaced,
//!    for comparison.)
//!
//! The server's session cache (256 entries, filled by the tickets every handshake leaves) is
//! filled before counting, so it does not show as per-connection memory.
//!
//! `cargo bench -p netreactor-protocols --bench tls_session_memory [-- N]` (default 2000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use netreactor::bytes::BytesMut;
use netreactor::testing::{Harness, TlsClient};
use netreactor::tls::rustls::{self, ClientConnection, ServerConnection};
use netreactor::{Context, Protocol};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new);
        if !q.is_null() {
            LIVE_BYTES.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}

/// Prints heap growth per connection since `from`.
fn report(what: &str, from: (isize, isize), n: usize) {
    let (b, k) = live();
    println!(
        "{what:<58} {:>7} B/conn in {:>5.1} blocks",
        (b - from.0) / n as isize,
        (k - from.1) as f64 / n as f64
    );
}

/// Moves records between the two ends until neither has anything to send.
fn pump(client: &mut ClientConnection, server: &mut ServerConnection) {
    for _ in 0..32 {
        let mut moved = false;
        let mut wire = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut wire).unwrap();
        }
        let mut rest = &wire[..];
        while !rest.is_empty() {
            server.read_tls(&mut rest).unwrap();
            server.process_new_packets().unwrap();
            moved = true;
        }
        wire.clear();
        while server.wants_write() {
            server.write_tls(&mut wire).unwrap();
        }
        let mut rest = &wire[..];
        while !rest.is_empty() {
            client.read_tls(&mut rest).unwrap();
            client.process_new_packets().unwrap();
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

fn drain(r: &mut impl Read) -> usize {
    let mut buf = [0u8; 4096];
    let mut n = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return n,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return n,
            Err(e) => panic!("{e}"),
        }
    }
}

const REQUEST: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";

/// One server session through its handshake and one exchange; the client is dropped.
fn served(
    server_cfg: &Arc<rustls::ServerConfig>,
    client_cfg: &Arc<rustls::ClientConfig>,
    stage: u8,
) -> ServerConnection {
    let mut server = ServerConnection::new(server_cfg.clone()).unwrap();
    if stage == 0 {
        return server;
    }
    let name = "localhost".try_into().unwrap();
    let mut client = ClientConnection::new(client_cfg.clone(), name).unwrap();
    pump(&mut client, &mut server);
    assert!(!server.is_handshaking());
    if stage == 1 {
        return server;
    }
    client.writer().write_all(REQUEST).unwrap();
    pump(&mut client, &mut server);
    assert_eq!(drain(&mut server.reader()), REQUEST.len());
    server.writer().write_all(RESPONSE).unwrap();
    pump(&mut client, &mut server);
    assert_eq!(drain(&mut client.reader()), RESPONSE.len());
    server
}

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/tls/");
    let cert = format!("{dir}cert.pem");
    let key = format!("{dir}key.pem");
    let server_cfg =
        netreactor::tls::server_config_from_pem(cert.as_ref(), key.as_ref(), &[b"http/1.1"])
            .unwrap();
    let client_cfg =
        netreactor::tls::client_config_trusting(cert.as_ref(), &[b"http/1.1"]).unwrap();
    println!(
        "size_of: ServerConnection {} B, rustls::Connection {} B; {n} connections each",
        std::mem::size_of::<ServerConnection>(),
        std::mem::size_of::<rustls::Connection>()
    );
    // Fill the server's session cache and any lazily made state first.
    for _ in 0..400 {
        drop(served(&server_cfg, &client_cfg, 2));
    }

    println!("-- rustls ServerConnection alone (heap, beside its size_of)");
    for (stage, what) in [
        (0, "made (ServerConnection::new)"),
        (1, "after the handshake"),
        (2, "after one request and response (idle)"),
    ] {
        let from = live();
        let held: Vec<ServerConnection> = (0..n)
            .map(|_| served(&server_cfg, &client_cfg, stage))
            .collect();
        report(what, from, n);
        drop(held);
    }

    println!("-- netreactor connections in the harness, after one echoed message");
    let mut h = Harness::new();
    // Warm the harness (slab growth, buffer pool) with connections that then close.
    let warm: Vec<_> = (0..n).map(|_| h.open(Echo)).collect();
    for id in warm {
        h.eof(id);
    }
    let from = live();
    for _ in 0..n {
        let id = h.open(Echo);
        h.feed(id, b"hello");
        assert_eq!(h.take_output(id), b"hello");
    }
    report("plain TCP connection", from, n);
    let from = live();
    for _ in 0..n {
        let id = h.open_tls(Echo, server_cfg.clone());
        let mut c = TlsClient::new(id, client_cfg.clone(), "localhost").unwrap();
        c.write(&mut h, b"hello").unwrap();
        assert_eq!(c.read(&mut h).unwrap(), b"hello");
    }
    report("TLS connection (the client ends dropped)", from, n);
    assert_eq!(h.open_count(), 2 * n);
}
