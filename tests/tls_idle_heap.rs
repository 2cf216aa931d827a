//! What an idle TLS connection keeps on the heap does not depend on the size of the records
//! it carried: its session's buffers (ciphertext in, plaintext, records out) are released
//! once emptied, and the start of the session (preamble queue, plaintext reply) goes with
//! the handshake. Counted by a wrapping global allocator over harness connections whose
//! clients are dropped (only the server side is counted).

use std::path::PathBuf;
use std::sync::Arc;

use netreactor::bytes::BytesMut;
use netreactor::testing::{Harness, TlsClient};
use netreactor::tls::{self, rustls};
use netreactor::{Context, Protocol};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{live, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

const N: usize = 200;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

/// Opens `N` TLS connections that each echo `message`, and leaves them idle.
fn open_echoed(
    h: &mut Harness,
    server: &Arc<rustls::ServerConfig>,
    client: &Arc<rustls::ClientConfig>,
    message: &[u8],
) -> Vec<netreactor::ConnId> {
    let mut ids = Vec::new();
    for _ in 0..N {
        let id = h.open_tls(Echo, server.clone());
        let mut c = TlsClient::new(id, client.clone(), "localhost").unwrap();
        c.write(h, message).unwrap();
        let mut echoed = Vec::new();
        while echoed.len() < message.len() {
            let got = c.read(h).unwrap();
            assert!(!got.is_empty(), "echo stalled at {} bytes", echoed.len());
            echoed.extend_from_slice(&got);
        }
        assert_eq!(echoed, message);
        ids.push(id);
    }
    ids
}

/// Heap bytes per connection kept by `N` idle TLS connections that each echoed `message`.
fn held_after(
    h: &mut Harness,
    server: &Arc<rustls::ServerConfig>,
    client: &Arc<rustls::ClientConfig>,
    message: &[u8],
) -> isize {
    let before = live();
    open_echoed(h, server, client, message);
    (live() - before) / N as isize
}

#[test]
fn an_idle_tls_connection_keeps_no_buffer_of_what_it_carried() {
    let server =
        tls::server_config_from_pem(&data("cert.pem"), &data("key.pem"), &[b"http/1.1"]).unwrap();
    let client = tls::client_config_trusting(&data("cert.pem"), &[b"http/1.1"]).unwrap();
    let mut h = Harness::new();
    // Warm-up: the harness's tables grown for all the connections below (then closed), the
    // timer wheel, rustls's statics, the server's session cache.
    let mut warm = Vec::new();
    for _ in 0..3 {
        warm.extend(open_echoed(&mut h, &server, &client, b"hello"));
    }
    for id in warm {
        h.eof(id);
    }

    let small = held_after(&mut h, &server, &client, b"hello");
    // Records of 8,000 and 16,000 bytes each way (the latter near a full record): before the
    // buffers were released when read to their end, a connection kept the size of its last
    // records.
    for size in [8_000, 16_000] {
        let large = held_after(&mut h, &server, &client, &vec![b'x'; size]);
        println!(
            "idle TLS connection on the heap: {small} B after 5 bytes, {large} B after {size}"
        );
        assert!(
            (large - small).abs() < 128,
            "after 5 bytes {small} B, after {size} bytes {large} B"
        );
    }
    assert!(small < 4 * 1024, "idle TLS connection: {small} bytes");
}
