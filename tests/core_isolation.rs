//! One peer cannot hurt the others: output limits, slow consumers of a broadcast, connection
//! caps answered politely, and pipelined input handed over only as output drains.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use netreactor::bytes::{Bytes, BytesMut};
use netreactor::testing::Harness;
use netreactor::{
    CloseReason, Config, ConnId, Context, ListenOptions, Protocol, Reactor, Refusal, SlowConsumer,
};

/// Writes `n` KiB for every byte it reads.
struct Flood(usize);

impl Protocol for Flood {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        for _ in 0..input.len() {
            cx.write(Bytes::from(vec![b'x'; self.0 * 1024]));
        }
        input.clear();
    }
}

#[test]
fn a_write_past_the_output_limit_closes_the_connection_and_queues_nothing() {
    let config = Config::default()
        .output_limit(64 * 1024)
        .output_soft_limit(16 * 1024)
        .high_watermark(1 << 30);
    let mut h = Harness::with_config(config);
    let c = h.open(Flood(16));
    h.set_write_capacity(c, Some(0)); // never reads
    h.feed(c, b"abc");
    assert!(h.is_open(c), "48 KiB is within the limit");
    h.feed(c, b"de");
    assert!(!h.is_open(c));
    assert!(matches!(h.close_reason(c), Some(CloseReason::OutputLimit)));
    assert_eq!(h.stats().output_limit_closes, 1);
}

#[test]
fn a_connection_above_the_soft_limit_too_long_is_closed_and_one_that_drains_is_kept() {
    let config = Config::default()
        .output_soft_limit(32 * 1024)
        .output_soft_time(Duration::from_secs(10))
        .high_watermark(1 << 30);
    let mut h = Harness::with_config(config);
    let stuck = h.open(Flood(40));
    let slow = h.open(Flood(40));
    h.set_write_capacity(stuck, Some(0));
    h.set_write_capacity(slow, Some(0));
    h.feed(stuck, b"x");
    h.feed(slow, b"x");
    h.advance(Duration::from_secs(5));
    h.set_write_capacity(slow, None);
    assert_eq!(
        h.take_output(slow).len() + h.take_output(slow).len(),
        40 * 1024
    );
    h.advance(Duration::from_secs(6));
    assert!(!h.is_open(stuck));
    assert!(matches!(
        h.close_reason(stuck),
        Some(CloseReason::OutputLimit)
    ));
    assert!(h.is_open(slow), "it read in time");
}

/// Queues a large file range for every byte: file ranges are not memory.
struct FileSender(Rc<std::fs::File>);

impl Protocol for FileSender {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        input.clear();
        cx.send_file(self.0.clone(), 0, 10 << 20);
        assert!(cx.conn(cx.id()).write("after the file"));
    }
}

#[test]
fn file_ranges_do_not_count_toward_the_output_limit() {
    let config = Config::default()
        .output_limit(64 * 1024)
        .output_soft_limit(16 * 1024);
    let file = Rc::new(std::fs::File::open("Cargo.toml").unwrap());
    let mut h = Harness::with_config(config);
    let c = h.open(FileSender(file));
    h.set_write_capacity(c, Some(0));
    h.feed(c, b"x");
    h.advance(Duration::from_secs(60));
    assert!(h.is_open(c));
}

/// Broadcasts every byte it reads to the whole room, with a policy.
struct Member {
    room: Rc<std::cell::RefCell<Vec<ConnId>>>,
    policy: SlowConsumer,
}

impl Protocol for Member {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        self.room.borrow_mut().push(cx.id());
    }
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        let msg = Bytes::from(vec![b'm'; 1024]);
        for _ in 0..input.len() {
            let room = self.room.borrow().clone();
            cx.broadcast(room, msg.clone(), self.policy);
        }
        input.clear();
    }
}

fn room_of(policy: SlowConsumer) -> (Harness, ConnId, ConnId, ConnId) {
    let config = Config::default()
        .high_watermark(8 * 1024)
        .low_watermark(1024);
    let mut h = Harness::with_config(config);
    let room = Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut open = || {
        h.open(Member {
            room: room.clone(),
            policy,
        })
    };
    let (sender, reader, stalled) = (open(), open(), open());
    h.set_write_capacity(stalled, Some(0));
    (h, sender, reader, stalled)
}

#[test]
fn a_broadcast_skips_a_receiver_that_does_not_read() {
    let (mut h, sender, reader, stalled) = room_of(SlowConsumer::Skip);
    for _ in 0..100 {
        h.feed(sender, b"x");
        assert_eq!(h.take_output(reader).len(), 1024);
    }
    assert!(h.is_open(stalled));
    assert!(
        h.queued(stalled) <= 9 * 1024,
        "queued {}",
        h.queued(stalled)
    );
}

#[test]
fn a_broadcast_can_disconnect_a_receiver_that_does_not_read() {
    let (mut h, sender, reader, stalled) = room_of(SlowConsumer::Disconnect);
    for _ in 0..100 {
        h.feed(sender, b"x");
        h.take_output(reader);
    }
    assert!(!h.is_open(stalled));
    assert!(matches!(
        h.close_reason(stalled),
        Some(CloseReason::OutputLimit)
    ));
    assert!(h.is_open(reader) && h.is_open(sender));
}

/// Answers one request per line, one KiB each, and checks backpressure between requests.
struct Pipelined {
    answered: Rc<std::cell::Cell<usize>>,
}

impl Protocol for Pipelined {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        while let Some(n) = input.iter().position(|&b| b == b'\n') {
            let _request = input.split_to(n + 1);
            cx.write(Bytes::from(vec![b'r'; 1024]));
            self.answered.set(self.answered.get() + 1);
            if cx.is_backpressured() {
                return; // the rest is handed back once the peer has read
            }
        }
    }
}

#[test]
fn pipelined_input_is_handed_over_only_as_output_drains() {
    let config = Config::default()
        .high_watermark(4 * 1024)
        .low_watermark(1024);
    let mut h = Harness::with_config(config);
    let answered = Rc::new(std::cell::Cell::new(0));
    let c = h.open(Pipelined {
        answered: answered.clone(),
    });
    h.set_write_capacity(c, Some(0));
    h.feed(c, &b"GET\n".repeat(1000));
    assert!(
        answered.get() <= 5,
        "answered {} while nothing was read",
        answered.get()
    );
    assert!(h.queued(c) <= 5 * 1024);
    h.set_write_capacity(c, None);
    let mut out = 0;
    for _ in 0..2000 {
        out += h.take_output(c).len();
        if answered.get() == 1000 && h.queued(c) == 0 {
            break;
        }
    }
    out += h.take_output(c).len();
    assert_eq!(answered.get(), 1000);
    assert_eq!(out, 1000 * 1024);
}

/// Says "hello" to admitted clients and "busy: <why>" to refused ones.
struct Polite;

impl Protocol for Polite {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        cx.write("hello\n");
    }
    fn on_data(&mut self, _: &mut Context<'_>, input: &mut BytesMut) {
        input.clear();
    }
    fn on_refused(&mut self, cx: &mut Context<'_>, why: Refusal) {
        cx.write(format!("busy: {why:?}\n"));
        cx.close();
    }
}

/// Starts a reactor with `config` and one `Polite` listener; returns its address.
fn serve(config: Config, opts: ListenOptions) -> (SocketAddr, netreactor::Handle) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = Reactor::with_config(config).unwrap();
        let addr = r
            .listen_tcp_with("127.0.0.1:0".parse().unwrap(), &opts, || Polite)
            .unwrap();
        tx.send((addr, r.handle())).unwrap();
        r.run().unwrap();
    });
    rx.recv().unwrap()
}

fn greeting(addr: SocketAddr) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    (s, String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn a_full_server_tells_new_clients_why_and_serves_again_when_one_leaves() {
    let (addr, handle) = serve(
        Config::default().max_connections(2),
        ListenOptions::default(),
    );
    let (a, hello_a) = greeting(addr);
    let (_b, hello_b) = greeting(addr);
    assert_eq!((hello_a.as_str(), hello_b.as_str()), ("hello\n", "hello\n"));
    let (mut c, busy) = greeting(addr);
    assert_eq!(busy, "busy: ServerFull\n");
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap(); // closed after the answer
    drop(a);
    std::thread::sleep(Duration::from_millis(200));
    let (_d, hello_d) = greeting(addr);
    assert_eq!(hello_d, "hello\n");
    handle.shutdown();
}

#[test]
fn a_source_or_a_listener_over_its_cap_is_refused() {
    let (addr, handle) = serve(
        Config::default()
            .max_per_source(1)
            .limit_loopback_sources(true),
        ListenOptions::default(),
    );
    let (_a, hello) = greeting(addr);
    assert_eq!(hello, "hello\n");
    let (_b, busy) = greeting(addr);
    assert_eq!(busy, "busy: SourceFull\n");
    handle.shutdown();

    let opts = ListenOptions {
        max_connections: Some(1),
        ..ListenOptions::default()
    };
    let (addr, handle) = serve(Config::default(), opts);
    let (_a, hello) = greeting(addr);
    assert_eq!(hello, "hello\n");
    let (_b, busy) = greeting(addr);
    assert_eq!(busy, "busy: ListenerFull\n");
    handle.shutdown();
}

/// A refused client that never reads its answer cannot keep the descriptor.
#[test]
fn a_refusal_that_is_not_read_is_aborted_after_the_refusal_time() {
    struct Mute;
    impl Protocol for Mute {
        fn on_data(&mut self, _: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
        }
        fn on_refused(&mut self, _: &mut Context<'_>, _: Refusal) {} // says nothing, keeps it
    }
    let config = Config::default()
        .max_connections(0)
        .refusal_time(Duration::from_millis(200));
    let mut r = Reactor::with_config(config).unwrap();
    let addr = r
        .listen_tcp("127.0.0.1:0".parse().unwrap(), || Mute)
        .unwrap();
    let handle = r.handle();
    let t = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(b"anyone?");
        let mut buf = Vec::new();
        let closed = s.read_to_end(&mut buf).is_ok() || buf.is_empty();
        handle.shutdown();
        closed
    });
    r.run().unwrap();
    assert!(t.join().unwrap(), "the refused connection was not closed");
    assert_eq!(r.stats().refused, 1);
}

/// Handles one line per callback and yields: the rest comes back without new bytes.
struct OneLineAtATime {
    calls: Rc<std::cell::Cell<usize>>,
}

impl Protocol for OneLineAtATime {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        self.calls.set(self.calls.get() + 1);
        if let Some(n) = input.iter().position(|&b| b == b'\n') {
            let line = input.split_to(n + 1);
            cx.write(line.freeze());
            if !input.is_empty() {
                cx.yield_now();
            }
        }
    }
}

#[test]
fn a_protocol_that_yields_gets_the_rest_of_its_input_in_later_turns() {
    let calls = Rc::new(std::cell::Cell::new(0));
    let mut h = Harness::new();
    let c = h.open(OneLineAtATime {
        calls: calls.clone(),
    });
    h.feed(c, b"a\nb\nc\nd\n");
    assert_eq!(h.take_output(c), b"a\nb\nc\nd\n");
    assert_eq!(calls.get(), 4, "one line per callback");
}

#[test]
fn one_large_write_to_a_connection_that_keeps_up_is_accepted() {
    let config = Config::default().output_limit(64 * 1024);
    let mut h = Harness::with_config(config);
    let c = h.open(Flood(1024)); // 1 MiB in one write, sixteen times the limit
    h.feed(c, b"x");
    assert!(h.is_open(c));
    let mut got = 0;
    for _ in 0..4 {
        got += h.take_output(c).len();
    }
    assert_eq!(got, 1024 * 1024);
}

#[test]
fn a_slow_reader_above_the_soft_limit_that_keeps_reading_is_kept() {
    let config = Config::default()
        .output_soft_limit(32 * 1024)
        .output_soft_time(Duration::from_secs(10))
        .high_watermark(1 << 30);
    let mut h = Harness::with_config(config);
    let c = h.open(Flood(1024));
    h.set_write_capacity(c, Some(8 * 1024)); // reads 8 KiB at a time
    h.feed(c, b"x");
    let mut got = 0;
    for _ in 0..200 {
        h.advance(Duration::from_millis(500));
        got += h.take_output(c).len();
    }
    assert!(h.is_open(c), "closed although it kept reading");
    assert_eq!(got, 1024 * 1024);
}
