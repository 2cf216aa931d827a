//! One peer cannot hurt the others: message limits checked as a message inflates, inflation
//! in slices between which other connections run, message-assembly and idle deadlines, and
//! compression state that exists only while it is used. Sans-IO, through the harness.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use netreactor::testing::Harness;
use netreactor::{CloseReason, ConnId, Context, Protocol};

use super::conn::WsConn;
use super::deflate::{self, DeflateConfig, Deflater, Inflater};
use super::encode::put_header;
use super::mask::apply_mask;
use super::parse::{Limits, Message, Opcode, Reader, Role};
use super::server::{Echo, ServerConfig};

const UPGRADE_DEFLATE: &[u8] = b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

/// A masked client frame; `first` is the whole first byte (FIN, RSV1, opcode).
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut out = BytesMut::new();
    put_header(
        &mut out,
        true,
        false,
        Opcode::Binary,
        payload.len() as u64,
        Some(key),
    );
    out[0] = first;
    let at = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[at..], key, 0);
    out.to_vec()
}

fn compressed(data: &[u8]) -> BytesMut {
    let mut c = BytesMut::new();
    assert!(Deflater::new(15, true, 6).compress(data, &mut c));
    c
}

/// A server with `config`, after a handshake that agreed permessage-deflate.
fn open_deflate(h: &mut Harness, config: ServerConfig) -> ConnId {
    let c = h.open(WsConn::server(Rc::new(config), Echo));
    h.feed(c, UPGRADE_DEFLATE);
    let head = String::from_utf8(h.take_output(c)).unwrap();
    assert!(head.contains("permessage-deflate"), "{head}");
    c
}

/// The server's frames, inflated as a client with the default answer's parameters would.
fn frames(out: &[u8]) -> Vec<Message> {
    let mut r = Reader::new(
        Role::Client,
        Limits {
            max_compressed_message: 64 << 20,
            ..Limits::default()
        },
    );
    r.set_inflater(Inflater::new(false));
    let mut input = BytesMut::from(out);
    let mut v = Vec::new();
    while let Some(m) = r.read(&mut input).expect("valid server frames") {
        v.push(m);
    }
    assert!(input.is_empty(), "trailing bytes");
    v
}

fn close_code(m: &Message) -> Option<u16> {
    match m {
        Message::Close(Some(f)) => Some(f.code),
        _ => None,
    }
}

/// Counts the callbacks the reactor makes into a connection (each one returns to the loop,
/// which serves other connections before the next).
struct Counting<P> {
    inner: P,
    calls: Rc<Cell<usize>>,
}

impl<T: Copy + 'static, P: Protocol<T>> Protocol<T> for Counting<P> {
    fn on_open(&mut self, cx: &mut Context<'_, T>) {
        self.inner.on_open(cx);
    }
    fn on_data(&mut self, cx: &mut Context<'_, T>, input: &mut BytesMut) {
        self.calls.set(self.calls.get() + 1);
        self.inner.on_data(cx, input);
    }
    fn on_eof(&mut self, cx: &mut Context<'_, T>) {
        self.inner.on_eof(cx);
    }
    fn on_backpressure(&mut self, cx: &mut Context<'_, T>, paused: bool) {
        self.inner.on_backpressure(cx, paused);
    }
    fn on_timer(&mut self, cx: &mut Context<'_, T>, tag: T) {
        self.calls.set(self.calls.get() + 1);
        self.inner.on_timer(cx, tag);
    }
    fn on_shutdown(&mut self, cx: &mut Context<'_, T>) {
        self.inner.on_shutdown(cx);
    }
    fn on_close(&mut self, cx: &mut Context<'_, T>, reason: &CloseReason) {
        self.inner.on_close(cx, reason);
    }
}

#[test]
fn a_large_compressed_message_is_inflated_and_its_echo_compressed_over_several_callbacks() {
    let data: Vec<u8> = (0..8usize << 20).map(|i| (i * 7 % 251) as u8).collect();
    let calls = Rc::new(Cell::new(0));
    let mut h = Harness::new();
    let c = h.open(Counting {
        inner: WsConn::server(Rc::new(ServerConfig::default()), Echo),
        calls: calls.clone(),
    });
    h.feed(c, UPGRADE_DEFLATE);
    h.take_output(c);
    calls.set(0);
    h.feed(c, &masked(0xC2, &compressed(&data)));
    assert_eq!(calls.get(), 1);
    assert!(h.take_output(c).is_empty(), "not done in one callback");
    assert!(
        h.is_read_paused(c),
        "reading waits while the message inflates"
    );
    h.advance(Duration::from_millis(1));
    let out = h.take_output(c);
    // 8 MiB in slices of 256 KiB: 32 callbacks to inflate it, 31 more to compress the echo.
    assert!(
        (60..=66).contains(&calls.get()),
        "{} callbacks",
        calls.get()
    );
    assert_eq!(
        out[0], 0x42,
        "the echo's first fragment: RSV1, binary, no FIN"
    );
    assert_eq!(frames(&out), vec![Message::Binary(Bytes::from(data))]);
    assert!(!h.is_read_paused(c));
    // Reading resumed: the next message is served at once.
    h.feed(c, &masked(0x82, b"next"));
    assert_eq!(
        frames(&h.take_output(c)),
        vec![Message::Binary(Bytes::from_static(b"next"))]
    );
}

#[test]
fn input_behind_a_yielding_message_waits_and_is_then_delivered() {
    let data = vec![b'z'; 2 << 20];
    let mut h = Harness::new();
    let c = open_deflate(&mut h, ServerConfig::default());
    let mut wire = masked(0xC2, &compressed(&data));
    wire.extend(masked(0x82, b"after"));
    h.feed(c, &wire);
    for _ in 0..100 {
        h.advance(Duration::from_millis(1));
    }
    let got = frames(&h.take_output(c));
    assert_eq!(
        got,
        vec![
            Message::Binary(Bytes::from(data)),
            Message::Binary(Bytes::from_static(b"after"))
        ]
    );
}

#[test]
fn a_deflate_bomb_in_an_unfinished_message_closes_with_1009() {
    // 61 KB of deflate that inflates to 60 MiB, in a frame without FIN, then silence.
    let bomb = compressed(&vec![0u8; 60 << 20]);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let mut h = Harness::new();
    let c = open_deflate(&mut h, ServerConfig::default());
    h.feed(c, &masked(0x42, &bomb));
    let mut turns = 0;
    let mut out = h.take_output(c);
    while out.is_empty() && turns < 1000 {
        h.advance(Duration::from_millis(1));
        turns += 1;
        out = h.take_output(c);
    }
    // Refused at the 16 MiB compressed-message limit (64 slices), not at 60 MiB.
    assert!(turns <= 70, "{turns} turns");
    assert_eq!(close_code(&frames(&out)[0]), Some(1009));
    assert!(h.is_write_shut(c));
}

#[test]
fn an_unfinished_message_fails_with_1008_after_the_message_timeout() {
    let mut h = Harness::new();
    let c = open_deflate(&mut h, ServerConfig::default());
    h.feed(c, &masked(0x01, b"the first half"));
    h.advance(Duration::from_secs(29));
    assert!(h.take_output(c).is_empty());
    h.advance(Duration::from_secs(2));
    let out = frames(&h.take_output(c));
    assert_eq!(out.len(), 1);
    assert_eq!(close_code(&out[0]), Some(1008));
    h.advance(Duration::from_secs(6));
    assert!(!h.is_open(c), "closed after the close timeout");
}

#[test]
fn a_message_completed_in_time_cancels_its_deadline() {
    let mut h = Harness::new();
    let c = open_deflate(&mut h, ServerConfig::default());
    h.feed(c, &masked(0x01, b"one "));
    h.advance(Duration::from_secs(20));
    h.feed(c, &masked(0x80, b"two"));
    h.advance(Duration::from_secs(20));
    assert_eq!(
        frames(&h.take_output(c)),
        vec![Message::Text(Bytes::from_static(b"one two"))]
    );
    assert!(h.is_open(c));
}

fn idle_config(secs: u64) -> ServerConfig {
    ServerConfig {
        idle_timeout: Some(Duration::from_secs(secs)),
        ..ServerConfig::default()
    }
}

#[test]
fn an_idle_connection_is_pinged_then_closed_with_1001() {
    let mut h = Harness::new();
    let c = open_deflate(&mut h, idle_config(40));
    h.advance(Duration::from_secs(20));
    assert_eq!(frames(&h.take_output(c)), vec![Message::Ping(Bytes::new())]);
    h.advance(Duration::from_secs(20));
    let out = frames(&h.take_output(c));
    assert_eq!(close_code(&out[0]), Some(1001));
    assert!(h.is_open(c), "waits for the peer's close frame");
    h.advance(Duration::from_secs(6));
    assert!(!h.is_open(c));
}

#[test]
fn a_peer_that_answers_keeps_its_connection_past_the_idle_timeout() {
    let mut h = Harness::new();
    let c = open_deflate(&mut h, idle_config(40));
    for _ in 0..10 {
        h.advance(Duration::from_secs(20));
        // The pong to our ping is traffic.
        h.feed(c, &masked(0x8A, b""));
    }
    assert!(h.is_open(c));
    let out = frames(&h.take_output(c));
    assert!(out.iter().all(|m| close_code(m).is_none()), "{out:?}");
}

#[test]
fn compression_state_exists_only_while_messages_use_it() {
    let base = deflate::memory_in_use();
    let mut h = Harness::new();
    let c = open_deflate(&mut h, idle_config(40));
    assert_eq!(
        deflate::memory_in_use(),
        base,
        "nothing allocated at the handshake"
    );
    h.feed(c, &masked(0xC1, &compressed(b"hello hello hello")));
    assert_eq!(
        frames(&h.take_output(c)),
        vec![Message::Text(Bytes::from_static(b"hello hello hello"))]
    );
    // The client resets its compressor per message (our answer asks it to): no inflate
    // state between messages. Our compressor stays while the connection is busy...
    let busy = deflate::memory_in_use() - base;
    assert!(busy > 0 && busy < 400 * 1024, "{busy}");
    // ...and goes when it is quiet: at half the idle timeout, with the ping.
    h.advance(Duration::from_secs(10));
    assert_eq!(deflate::memory_in_use() - base, busy);
    h.advance(Duration::from_secs(10));
    assert_eq!(deflate::memory_in_use(), base);
    assert_eq!(frames(&h.take_output(c)), vec![Message::Ping(Bytes::new())]);
    // It comes back for the next message.
    h.feed(c, &masked(0xC1, &compressed(b"again")));
    assert_eq!(
        frames(&h.take_output(c)),
        vec![Message::Text(Bytes::from_static(b"again"))]
    );
    h.advance(Duration::from_secs(20));
    assert_eq!(deflate::memory_in_use(), base);
}

#[test]
fn offers_are_declined_once_the_compression_budget_is_spent() {
    let config = ServerConfig {
        deflate: DeflateConfig {
            memory_limit: deflate::memory_in_use(),
            ..DeflateConfig::default()
        },
        ..ServerConfig::default()
    };
    let mut h = Harness::new();
    let c = h.open(WsConn::server(Rc::new(config), Echo));
    h.feed(c, UPGRADE_DEFLATE);
    let head = String::from_utf8(h.take_output(c)).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(!head.contains("permessage-deflate"), "{head}");
}

#[test]
fn a_broadcast_skips_a_receiver_part_way_through_a_fragmented_message() {
    use super::conn::{Handler, Text, Ws};
    use std::cell::RefCell;
    type Members = Rc<RefCell<Vec<ConnId>>>;
    struct Chat(Members, Rc<Cell<usize>>);
    impl Handler for Chat {
        fn on_open(&mut self, ws: &mut Ws<'_, '_>) {
            self.0.borrow_mut().push(ws.id());
        }
        fn on_binary(&mut self, ws: &mut Ws<'_, '_>, data: Bytes) {
            ws.send_binary(data);
        }
        fn on_text(&mut self, ws: &mut Ws<'_, '_>, t: Text) {
            let f = super::encode::frame(Opcode::Text, t.as_bytes());
            let members = self.0.borrow().clone();
            self.1.set(ws.broadcast(members, &f, usize::MAX));
        }
    }
    let (members, reached): (Members, _) = (Rc::default(), Rc::new(Cell::new(0)));
    let config = Rc::new(ServerConfig::default());
    let mut h = Harness::new();
    let [a, b] = [0, 1].map(|_| {
        let c = h.open(WsConn::server(
            config.clone(),
            Chat(members.clone(), reached.clone()),
        ));
        h.feed(c, UPGRADE_DEFLATE);
        h.take_output(c);
        c
    });
    // A's echo of 1 MiB goes out compressed in 256 KiB slices: its first fragment now.
    let big: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
    h.feed_chunks(a, &masked(0x82, &big), 64 * 1024);
    h.feed(b, &masked(0x81, b"hi"));
    assert_eq!(reached.get(), 1, "only B: A is between fragments");
    h.advance(Duration::from_millis(1));
    let got = frames(&h.take_output(a));
    assert!(
        got == vec![Message::Binary(Bytes::from(big))],
        "A's echo whole, alone"
    );
    h.feed(b, &masked(0x81, b"again"));
    assert_eq!(reached.get(), 2);
    assert_eq!(
        frames(&h.take_output(a)),
        vec![Message::Text(Bytes::from_static(b"again"))]
    );
}

fn handshake_config() -> Rc<ServerConfig> {
    Rc::new(ServerConfig {
        handshake_timeout: Duration::from_secs(10),
        ..ServerConfig::default()
    })
}

#[test]
fn a_silent_half_handshake_is_dropped_after_the_handshake_timeout() {
    let mut h = Harness::new();
    let c = h.open(WsConn::server(handshake_config(), Echo));
    h.feed(c, b"GET / HTTP/1.1\r\nHost: x\r\n");
    h.advance(Duration::from_secs(9));
    assert!(h.is_open(c));
    h.advance(Duration::from_secs(2));
    assert!(!h.is_open(c));
    assert!(
        h.take_output(c).is_empty(),
        "no answer to a handshake that timed out"
    );
}

#[test]
fn a_handshake_dripped_byte_by_byte_ends_at_its_deadline() {
    let mut h = Harness::new();
    let c = h.open(WsConn::server(handshake_config(), Echo));
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";
    for (i, b) in request.iter().enumerate() {
        if !h.is_open(c) {
            // Each byte restarts the idle timeout, but the deadline holds: the first read
            // after it (at 12 s) ends the connection.
            assert_eq!(i, 5, "closed at the first byte after the deadline");
            assert!(h.take_output(c).is_empty());
            return;
        }
        h.feed(c, &[*b]);
        h.advance(Duration::from_secs(3));
    }
    panic!("a dripped handshake outlived its deadline");
}
