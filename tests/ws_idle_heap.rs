//! What an idle WebSocket connection that negotiated permessage-deflate keeps on the heap,
//! counted by a wrapping global allocator: compression state exists only while messages use
//! it, so 1,000 such connections, each having exchanged a compressed message and gone quiet,
//! hold at most 1 KiB each (the connection's own state, its slot and its idle timer).

use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

use bytes::BytesMut;
use netreactor::testing::Harness;
use netreactor_protocols::websocket::deflate::{self, Deflater, Inflater};
use netreactor_protocols::websocket::encode::put_header;
use netreactor_protocols::websocket::mask::apply_mask;
use netreactor_protocols::websocket::{Echo, Opcode, ServerConfig, WsConn};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{live, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

/// The counter is process-wide: the tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

const UPGRADE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// A masked, compressed text frame (what a browser sends).
fn compressed_text(text: &[u8]) -> Vec<u8> {
    let mut body = BytesMut::new();
    assert!(Deflater::new(15, true, 6).compress(text, &mut body));
    let key = [5, 6, 7, 8];
    let mut out = BytesMut::new();
    put_header(
        &mut out,
        true,
        true,
        Opcode::Text,
        body.len() as u64,
        Some(key),
    );
    let at = out.len();
    out.extend_from_slice(&body);
    apply_mask(&mut out[at..], key, 0);
    out.to_vec()
}

#[test]
fn an_idle_connection_that_negotiated_deflate_holds_at_most_1_kib() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 1000;
    let config = Rc::new(ServerConfig {
        idle_timeout: Some(Duration::from_secs(40)),
        ..ServerConfig::default()
    });
    let msg = compressed_text(b"hello hello hello hello");
    let mut h = Harness::new();
    // Warm the harness's and the reactor's pools with one connection first.
    let warm = h.open(WsConn::server(config.clone(), Echo));
    h.feed(warm, UPGRADE);
    h.feed(warm, &msg);
    h.take_output(warm);

    let before = live();
    let conns: Vec<_> = (0..N)
        .map(|_| h.open(WsConn::server(config.clone(), Echo)))
        .collect();
    let mut busiest = 0;
    let mut compressed = 0;
    for &c in &conns {
        h.feed(c, UPGRADE);
        let head = h.take_output(c);
        assert!(
            String::from_utf8_lossy(&head).contains("permessage-deflate"),
            "deflate negotiated"
        );
        h.feed(c, &msg);
        let echo = h.take_output(c);
        // Compressed while the thread's compression budget (128 MiB) has room, plain text
        // beyond it.
        assert!(echo[0] == 0xC1 || echo[0] == 0x81, "{:x}", echo[0]);
        compressed += usize::from(echo[0] == 0xC1);
        busiest = busiest.max(live() - before);
    }
    assert!(deflate::memory_in_use() > 0, "compressors are busy");
    assert!(
        deflate::memory_in_use() <= deflate::DEFAULT_MEMORY_LIMIT,
        "the budget holds"
    );
    assert!(
        (300..N).contains(&compressed),
        "{compressed} echoes compressed"
    );
    // Two idle checks (a quarter of the idle timeout each): the second finds them quiet.
    h.advance(Duration::from_secs(20));
    for &c in &conns {
        h.take_output(c);
    }
    assert_eq!(deflate::memory_in_use(), 0, "every compressor released");
    let per_conn = (live() - before) / N as isize;
    assert!(
        per_conn <= 1024,
        "{per_conn} bytes per idle connection that negotiated deflate"
    );
    assert!(conns.iter().all(|&c| h.is_open(c)));
    println!(
        "{per_conn} bytes per idle deflate connection; {compressed} of {N} echoes compressed; \
         peak while busy {busiest} bytes"
    );
}
#[test]
fn the_compression_budget_counts_what_zlib_really_allocates() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for bits in [9u8, 12, 15] {
        let mut out = BytesMut::with_capacity(1024);
        let (heap, counted) = (live(), deflate::memory_in_use());
        let mut d = Deflater::new(bits, false, 1);
        assert!(d.compress(b"hello", &mut out));
        let real = live() - heap;
        let est = (deflate::memory_in_use() - counted) as isize;
        assert!(
            (real - est).abs() * 20 <= real,
            "deflate window {bits}: {real} allocated, {est} counted"
        );
        let (heap, counted) = (live(), deflate::memory_in_use());
        let mut i = Inflater::new(false);
        let mut back = BytesMut::with_capacity(1024);
        i.inflate(&out, &mut back, 1024, 1024).unwrap();
        let real = live() - heap;
        let est = (deflate::memory_in_use() - counted) as isize;
        assert!(
            (real - est).abs() * 20 <= real,
            "inflate: {real} allocated, {est} counted"
        );
    }
}
