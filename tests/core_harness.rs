//! Sans-IO tests of the core's connection logic through `testing::Harness`: the same flags,
//! queues, timers and close paths the reactor runs, without sockets.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use netreactor::testing::Harness;
use netreactor::{ChildEvent, CloseReason, Config, ConnId, Context, Protocol};

type Log = Rc<RefCell<Vec<String>>>;

/// Echoes, and records every callback in a shared log.
struct Recorder {
    log: Log,
}

impl Protocol<u64> for Recorder {
    fn on_open(&mut self, _cx: &mut Context<'_, u64>) {
        self.log.borrow_mut().push("open".into());
    }
    fn on_data(&mut self, cx: &mut Context<'_, u64>, input: &mut BytesMut) {
        self.log
            .borrow_mut()
            .push(format!("data {}", String::from_utf8_lossy(input)));
        if input.starts_with(b"panic") {
            panic!("asked to");
        }
        cx.write(input.split().freeze());
    }
    fn on_backpressure(&mut self, _cx: &mut Context<'_, u64>, paused: bool) {
        self.log.borrow_mut().push(format!("pressure {paused}"));
    }
    fn on_drain(&mut self, _cx: &mut Context<'_, u64>) {
        self.log.borrow_mut().push("drain".into());
    }
    fn on_timer(&mut self, _cx: &mut Context<'_, u64>, tag: u64) {
        self.log.borrow_mut().push(format!("timer {tag}"));
    }
    fn on_eof(&mut self, cx: &mut Context<'_, u64>) {
        self.log.borrow_mut().push("eof".into());
        cx.write(Bytes::from_static(b"bye"));
        cx.close();
    }
    fn on_close(&mut self, _cx: &mut Context<'_, u64>, reason: &CloseReason) {
        self.log.borrow_mut().push(format!("close {reason:?}"));
    }
}

fn recorder() -> (Recorder, Log) {
    let log = Log::default();
    (Recorder { log: log.clone() }, log)
}

#[test]
fn bytes_split_anywhere_arrive_in_order() {
    let (p, _log) = recorder();
    let mut h = Harness::new();
    let c = h.open(p);
    let msg: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    h.feed_split(c, &msg, &[1, 2, 3, 100, 4096, 4999]);
    assert_eq!(h.take_output(c), msg);
}

#[test]
fn eof_lets_the_protocol_write_then_close() {
    let (p, log) = recorder();
    let mut h = Harness::new();
    let c = h.open(p);
    h.feed(c, b"hi");
    h.eof(c);
    assert_eq!(h.take_output(c), b"hibye");
    assert!(!h.is_open(c));
    assert!(matches!(h.close_reason(c), Some(CloseReason::Peer)));
    let log = log.borrow();
    assert_eq!(log.first().map(String::as_str), Some("open"));
    assert_eq!(log.last().map(String::as_str), Some("close Peer"));
}

#[test]
fn a_panicking_callback_closes_only_its_connection() {
    let (p1, log1) = recorder();
    let (p2, _log2) = recorder();
    let mut h = Harness::new();
    let a = h.open(p1);
    let b = h.open(p2);
    h.feed(a, b"panic now");
    assert!(!h.is_open(a));
    assert!(matches!(h.close_reason(a), Some(CloseReason::Panic)));
    assert_eq!(h.stats().panics, 1);
    assert_eq!(
        log1.borrow().last().map(String::as_str),
        Some("close Panic")
    );
    h.feed(b, b"still here");
    assert_eq!(h.take_output(b), b"still here");
}

/// Writes a large response for every byte it reads, to drive the write queue over the
/// watermarks.
struct Flood {
    log: Log,
    chunk: Bytes,
}

impl Protocol for Flood {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        for _ in 0..input.len() {
            cx.write(self.chunk.clone());
        }
        input.clear();
    }
    fn on_backpressure(&mut self, _cx: &mut Context<'_>, paused: bool) {
        self.log.borrow_mut().push(format!("pressure {paused}"));
    }
}

#[test]
fn backpressure_pauses_reading_above_high_and_resumes_below_low() {
    let config = Config::default()
        .high_watermark(64 * 1024)
        .low_watermark(16 * 1024);
    let mut h = Harness::with_config(config);
    let log = Log::default();
    let c = h.open(Flood {
        log: log.clone(),
        chunk: Bytes::from(vec![b'x'; 10 * 1024]),
    });
    h.set_write_capacity(c, Some(8 * 1024));
    h.feed(c, b"0123456789"); // 100 KiB queued, the peer takes 8 KiB
    assert!(h.is_read_paused(c));
    assert_eq!(*log.borrow(), vec!["pressure true"]);
    // Input arriving while paused is held, not delivered.
    h.feed(c, b"ab");
    assert!(h.queued(c) <= 100 * 1024);
    let mut total = 0;
    while h.is_read_paused(c) {
        let got = h.take_output(c).len();
        assert!(got > 0, "no progress while paused");
        total += got;
    }
    assert_eq!(*log.borrow(), vec!["pressure true", "pressure false"]);
    // The two held bytes were delivered on resume: 20 KiB more output.
    h.set_write_capacity(c, None);
    loop {
        let got = h.take_output(c).len();
        total += got;
        if got == 0 && h.queued(c) == 0 {
            break;
        }
    }
    assert_eq!(total, 120 * 1024);
}

#[test]
fn unconsumed_input_over_the_limit_closes_the_connection() {
    struct Hoarder;
    impl Protocol for Hoarder {
        fn on_data(&mut self, _cx: &mut Context<'_>, _input: &mut BytesMut) {}
    }
    let mut h = Harness::with_config(Config::default().max_input(1000));
    let c = h.open(Hoarder);
    h.feed(c, &[0u8; 600]);
    assert!(h.is_open(c));
    h.feed(c, &[0u8; 600]);
    assert!(!h.is_open(c));
    assert!(matches!(h.close_reason(c), Some(CloseReason::InputLimit)));
    assert_eq!(h.stats().errors, 1);
}

/// Sets timers on open, cancels one, and records firings.
struct Timers {
    log: Log,
}

impl Protocol<u64> for Timers {
    fn on_open(&mut self, cx: &mut Context<'_, u64>) {
        cx.set_timer(Duration::from_millis(300), 3);
        cx.set_timer(Duration::from_millis(100), 1);
        let doomed = cx.set_timer(Duration::from_millis(200), 2);
        cx.set_timer(Duration::from_secs(3600), 4);
        assert!(cx.cancel_timer(doomed));
        assert!(!cx.cancel_timer(doomed), "second cancel is a no-op");
    }
    fn on_data(&mut self, _cx: &mut Context<'_, u64>, _input: &mut BytesMut) {}
    fn on_timer(&mut self, cx: &mut Context<'_, u64>, tag: u64) {
        self.log.borrow_mut().push(format!("timer {tag}"));
        if tag == 3 {
            cx.abort();
        }
    }
}

#[test]
fn timers_fire_in_deadline_order_and_cancelled_ones_never_fire() {
    let log = Log::default();
    let mut h = Harness::new();
    let c = h.open(Timers { log: log.clone() });
    h.advance(Duration::from_millis(99));
    assert!(log.borrow().is_empty(), "fired early");
    h.advance(Duration::from_millis(1));
    assert_eq!(*log.borrow(), vec!["timer 1"]);
    h.advance(Duration::from_millis(250));
    assert_eq!(*log.borrow(), vec!["timer 1", "timer 3"]);
    assert!(!h.is_open(c));
    // The hour-long timer died with its connection.
    h.advance(Duration::from_secs(7200));
    assert_eq!(*log.borrow(), vec!["timer 1", "timer 3"]);
}

#[test]
fn the_idle_timeout_closes_idle_connections_only() {
    let mut h = Harness::with_config(Config::default().idle_timeout(Some(Duration::from_secs(10))));
    let (p1, _) = recorder();
    let (p2, _) = recorder();
    let idle = h.open(p1);
    let busy = h.open(p2);
    for _ in 0..5 {
        h.advance(Duration::from_secs(4));
        h.feed(busy, b".");
    }
    assert!(!h.is_open(idle));
    assert!(matches!(
        h.close_reason(idle),
        Some(CloseReason::IdleTimeout)
    ));
    assert!(h.is_open(busy), "activity must push the idle deadline back");
    assert_eq!(h.stats().timeouts, 1);
}

#[test]
fn drain_notification_comes_once_the_queue_is_empty() {
    struct Big;
    impl Protocol for Big {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
            cx.write(vec![1u8; 1000]);
            cx.notify_drained();
        }
        fn on_drain(&mut self, cx: &mut Context<'_>) {
            cx.write(Bytes::from_static(b"done"));
        }
    }
    let mut h = Harness::new();
    let c = h.open(Big);
    h.set_write_capacity(c, Some(600));
    h.feed(c, b"go");
    assert_eq!(h.take_output(c).len(), 600);
    let rest = h.take_output(c);
    assert_eq!(rest.len(), 404);
    assert!(rest.ends_with(b"done"));
}

/// A parent that opens a child listener, echoes what its accepted children send back to
/// them, and reports child events.
struct Parent {
    log: Log,
}

impl Protocol for Parent {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        if input.starts_with(b"listen") {
            let (_, addr) = cx.listen_child("127.0.0.1:0".parse().unwrap()).unwrap();
            cx.write(format!("port {}", addr.port()));
        } else if input.starts_with(b"connect") {
            cx.connect_child("127.0.0.1:2021".parse().unwrap()).unwrap();
        }
        input.clear();
    }
    fn on_child(&mut self, cx: &mut Context<'_>, child: ConnId, event: ChildEvent<'_>) {
        match event {
            ChildEvent::Accepted { peer, .. } => self
                .log
                .borrow_mut()
                .push(format!("accepted {}", peer.port())),
            ChildEvent::Connected => {
                self.log.borrow_mut().push("connected".into());
                cx.conn(child).write(Bytes::from_static(b"hello child"));
            }
            ChildEvent::Data(buf) => {
                let data = buf.split().freeze();
                cx.conn(child).write(data);
            }
            ChildEvent::Eof => cx.conn(child).close(),
            ChildEvent::Drained => {}
            ChildEvent::Closed(reason) => self.log.borrow_mut().push(format!("closed {reason:?}")),
            _ => {}
        }
    }
}

#[test]
fn child_listeners_and_connections_report_to_their_parent() {
    let log = Log::default();
    let mut h = Harness::new();
    let p = h.open(Parent { log: log.clone() });
    h.feed(p, b"listen");
    let out = String::from_utf8(h.take_output(p)).unwrap();
    let listener = h.children(p)[0];
    let port = h.child_listen_addr(listener).unwrap().port();
    assert_eq!(out, format!("port {port}"));
    let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
    let data = h.accept_child(listener, peer).unwrap();
    assert_eq!(*log.borrow(), vec!["accepted 5555"]);
    h.feed_split(data, b"ping pong", &[3]);
    assert_eq!(h.take_output(data), b"ping pong");
    h.eof(data);
    assert!(!h.is_open(data));
    assert_eq!(log.borrow().last().unwrap(), "closed Peer");

    h.feed(p, b"connect");
    let out = *h.children(p).last().unwrap();
    assert_eq!(
        h.child_connect_addr(out),
        Some("127.0.0.1:2021".parse().unwrap())
    );
    h.complete_connect(out, true);
    assert_eq!(h.take_output(out), b"hello child");
    // Closing the parent closes its children without reporting to the closing parent.
    assert_eq!(h.children(p), vec![listener, out]);
    let logged = log.borrow().len();
    h.eof(p);
    assert!(!h.is_open(p));
    assert!(!h.is_open(listener));
    assert!(!h.is_open(out));
    assert!(matches!(
        h.close_reason(out),
        Some(CloseReason::ParentClosed)
    ));
    assert_eq!(
        log.borrow().len(),
        logged,
        "a closing parent gets no child events"
    );
}

#[test]
fn a_refused_child_connect_is_reported_as_closed() {
    let log = Log::default();
    let mut h = Harness::new();
    let p = h.open(Parent { log: log.clone() });
    h.feed(p, b"connect");
    let out = h.children(p)[0];
    h.complete_connect(out, false);
    assert!(!h.is_open(out));
    assert!(
        log.borrow()[0].starts_with("closed Io"),
        "{:?}",
        log.borrow()
    );
    assert!(h.children(p).is_empty());
}

/// Broadcasts each line to every other member of a shared room.
struct Member {
    room: Rc<RefCell<Vec<ConnId>>>,
}

impl Protocol for Member {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        self.room.borrow_mut().push(cx.id());
    }
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        let msg = input.split().freeze();
        let me = cx.id();
        for &other in self.room.borrow().iter().filter(|&&o| o != me) {
            cx.conn(other).write(msg.clone());
        }
    }
    fn on_close(&mut self, cx: &mut Context<'_>, _reason: &CloseReason) {
        let me = cx.id();
        self.room.borrow_mut().retain(|&o| o != me);
        for &other in self.room.borrow().iter() {
            cx.conn(other).write(Bytes::from_static(b"left\n"));
        }
    }
}

#[test]
fn conn_write_broadcasts_and_on_close_can_still_write_to_others() {
    let room = Rc::new(RefCell::new(Vec::new()));
    let mut h = Harness::new();
    let ids: Vec<ConnId> = (0..3)
        .map(|_| h.open(Member { room: room.clone() }))
        .collect();
    h.feed(ids[0], b"hi all\n");
    assert_eq!(h.take_output(ids[0]), b"");
    assert_eq!(h.take_output(ids[1]), b"hi all\n");
    assert_eq!(h.take_output(ids[2]), b"hi all\n");
    h.eof(ids[2]); // default on_eof: close after flush
    assert!(!h.is_open(ids[2]));
    assert_eq!(h.take_output(ids[0]), b"left\n");
    assert_eq!(h.take_output(ids[1]), b"left\n");
    // A stale id is refused, never delivered to a reused slot.
    let newcomer = h.open(Member { room: room.clone() });
    assert_ne!(newcomer, ids[2]);
    assert_eq!(h.take_output(ids[2]), b"");
}

#[test]
fn pausing_mid_pipeline_redelivers_the_rest_on_resume() {
    /// Handles one line per call to on_data, pausing after each until told to resume.
    struct OneAtATime {
        seen: Log,
    }
    impl Protocol<u64> for OneAtATime {
        fn on_data(&mut self, cx: &mut Context<'_, u64>, input: &mut BytesMut) {
            if let Some(n) = input.iter().position(|&b| b == b'\n') {
                let line = input.split_to(n + 1);
                self.seen
                    .borrow_mut()
                    .push(String::from_utf8_lossy(&line).trim().to_string());
                cx.pause_read();
                cx.set_timer(Duration::from_millis(10), 0);
            }
        }
        fn on_timer(&mut self, cx: &mut Context<'_, u64>, _tag: u64) {
            cx.resume_read();
        }
    }
    let seen = Log::default();
    let mut h = Harness::new();
    let c = h.open(OneAtATime { seen: seen.clone() });
    h.feed(c, b"a\nb\nc\n");
    assert_eq!(*seen.borrow(), vec!["a"]);
    assert!(h.is_read_paused(c));
    h.advance(Duration::from_millis(10));
    assert_eq!(*seen.borrow(), vec!["a", "b"]);
    h.advance(Duration::from_millis(10));
    assert_eq!(*seen.borrow(), vec!["a", "b", "c"]);
}

#[test]
fn shutdown_asks_every_protocol_to_finish() {
    let (p1, log1) = recorder();
    let mut h = Harness::new();
    let c = h.open(p1);
    h.feed(c, b"x");
    h.shutdown();
    // Default on_shutdown: close after flush.
    assert_eq!(h.take_output(c), b"x");
    assert!(!h.is_open(c));
    assert_eq!(log1.borrow().last().unwrap(), "close Local");
}
