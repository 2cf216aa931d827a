//! The core API's promises, each in a test named for it: close flushes and abort drops,
//! `conn(id)` on a closed id, typed timers, the per-connection idle timeout, `switch_to`, and
//! channels from other threads.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netreactor::bytes::{Bytes, BytesMut};
use netreactor::testing::Harness;
use netreactor::{CloseReason, Config, ConnId, Context, FdContext, Protocol, Reactor};

/// Answers every read with a reply, then closes (`flush`) or aborts.
struct ReplyThenClose {
    flush: bool,
}

impl Protocol for ReplyThenClose {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        input.clear();
        cx.write("reply\n");
        if self.flush {
            cx.close();
        } else {
            cx.abort();
        }
    }
}

#[test]
fn write_then_close_delivers_the_bytes() {
    let mut h = Harness::new();
    let c = h.open(ReplyThenClose { flush: true });
    h.feed(c, b"x");
    assert_eq!(h.take_output(c), b"reply\n");
    assert!(!h.is_open(c));
    assert!(matches!(h.close_reason(c), Some(CloseReason::Local)));
}

#[test]
fn write_then_close_waits_for_a_slow_peer() {
    let mut h = Harness::new();
    let c = h.open(ReplyThenClose { flush: true });
    h.set_write_capacity(c, Some(2));
    h.feed(c, b"x");
    assert!(h.is_open(c), "closed before the reply was written");
    let mut out = h.take_output(c);
    h.set_write_capacity(c, None);
    for _ in 0..3 {
        out.extend(h.take_output(c));
    }
    assert_eq!(out, b"reply\n");
    assert!(!h.is_open(c));
}

#[test]
fn abort_drops_queued_output() {
    let mut h = Harness::new();
    let c = h.open(ReplyThenClose { flush: false });
    h.feed(c, b"x");
    assert_eq!(h.take_output(c), b"");
    assert!(!h.is_open(c));
}

/// Remembers its id in a shared cell; on `w` writes "hi" to the id named by the second
/// byte and closes it; on `x` tries every `ConnRef` action on it.
struct Writer {
    me: Rc<RefCell<Vec<ConnId>>>,
    result: Rc<RefCell<Vec<bool>>>,
}

impl Protocol for Writer {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        self.me.borrow_mut().push(cx.id());
    }
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        let target = self.me.borrow()[input[1] as usize];
        let mut other = cx.conn(target);
        if input[0] == b'w' {
            let wrote = other.write(Bytes::from_static(b"hi"));
            other.close();
            self.result.borrow_mut().push(wrote);
        } else {
            let wrote = other.write(Bytes::from_static(b"again"));
            let sent = other.send_file(Rc::new(std::fs::File::open("Cargo.toml").unwrap()), 0, 1);
            other.shutdown_write();
            other.pause_read();
            other.resume_read();
            other.notify_drained();
            other.abort();
            other.close();
            self.result.borrow_mut().extend([
                wrote,
                sent,
                other.is_open(),
                other.queued() == 0,
                other.is_backpressured(),
            ]);
        }
        input.clear();
    }
}

#[test]
fn conn_on_a_closed_id_is_a_no_op_returning_false() {
    let ids = Rc::new(RefCell::new(Vec::new()));
    let result = Rc::new(RefCell::new(Vec::new()));
    let mut h = Harness::new();
    let a = h.open(Writer {
        me: ids.clone(),
        result: result.clone(),
    });
    let b = h.open(Writer {
        me: ids.clone(),
        result: result.clone(),
    });
    h.feed(a, b"w\x01"); // a writes to b, then closes b
    assert_eq!(h.take_output(b), b"hi");
    assert!(!h.is_open(b));
    h.feed(a, b"x\x01"); // b is gone: nothing happens, writes say false
    assert_eq!(
        *result.borrow(),
        vec![true, false, false, false, true, false]
    );
    assert!(h.is_open(a));
    assert_eq!(h.take_output(a), b"");
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tick {
    Once(u32),
    Cancelled,
}

struct Ticker {
    fired: Rc<RefCell<Vec<Tick>>>,
}

impl Protocol<Tick> for Ticker {
    fn on_open(&mut self, cx: &mut Context<'_, Tick>) {
        cx.set_timer(Duration::from_millis(10), Tick::Once(7));
        let t = cx.set_timer(Duration::from_millis(5), Tick::Cancelled);
        assert!(cx.cancel_timer(t));
        assert!(!cx.cancel_timer(t), "a second cancel is a no-op");
    }
    fn on_data(&mut self, _: &mut Context<'_, Tick>, _: &mut BytesMut) {}
    fn on_timer(&mut self, _: &mut Context<'_, Tick>, timer: Tick) {
        self.fired.borrow_mut().push(timer);
    }
}

#[test]
fn a_typed_timer_fires_once_and_a_cancelled_one_never() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut h = Harness::new();
    h.open(Ticker {
        fired: fired.clone(),
    });
    h.advance(Duration::from_millis(9));
    assert!(fired.borrow().is_empty(), "fired early");
    h.advance(Duration::from_millis(1));
    assert_eq!(*fired.borrow(), vec![Tick::Once(7)]);
    h.advance(Duration::from_secs(10));
    assert_eq!(*fired.borrow(), vec![Tick::Once(7)]);
}

/// Sets its idle timeout at open; says goodbye when it runs out.
struct Patient;

impl Protocol for Patient {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        cx.set_idle_timeout(Some(Duration::from_secs(1)));
    }
    fn on_data(&mut self, _: &mut Context<'_>, input: &mut BytesMut) {
        input.clear();
    }
    fn on_idle(&mut self, cx: &mut Context<'_>) {
        cx.write("timeout\n");
        cx.close();
    }
}

#[test]
fn an_idle_timeout_fires_after_silence_and_on_idle_can_write_before_closing() {
    let mut h = Harness::new();
    let c = h.open(Patient);
    h.advance(Duration::from_millis(999));
    assert!(h.is_open(c));
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take_output(c), b"timeout\n");
    assert!(!h.is_open(c));
    assert!(matches!(h.close_reason(c), Some(CloseReason::IdleTimeout)));
}

#[test]
fn an_idle_timeout_does_not_fire_while_bytes_keep_arriving() {
    let mut h = Harness::new();
    let c = h.open(Patient);
    for _ in 0..50 {
        h.advance(Duration::from_millis(500));
        h.feed(c, b"x");
    }
    assert!(h.is_open(c), "closed although a byte arrived every 500 ms");
    h.advance(Duration::from_millis(1000));
    assert!(!h.is_open(c));
}

#[test]
fn the_config_idle_timeout_is_the_default_and_can_be_removed() {
    struct Keeper;
    impl Protocol for Keeper {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
            cx.set_idle_timeout(None);
        }
    }
    let mut h = Harness::with_config(Config::default().idle_timeout(Some(Duration::from_secs(2))));
    let dropped = h.open(Keeper);
    let kept = h.open(Keeper);
    h.feed(kept, b"keep me");
    h.advance(Duration::from_secs(3));
    assert!(!h.is_open(dropped));
    assert!(matches!(
        h.close_reason(dropped),
        Some(CloseReason::IdleTimeout)
    ));
    assert!(h.is_open(kept));
}

/// Sets the idle timeout its input names: "short", "long", "off".
struct Tunable;

impl Protocol for Tunable {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        let after = match &input[..] {
            b"short" => Some(Duration::from_secs(1)),
            b"long" => Some(Duration::from_secs(10)),
            _ => None,
        };
        input.clear();
        cx.set_idle_timeout(after);
    }
}

#[test]
fn a_shorter_idle_timeout_replaces_a_longer_one_on_time() {
    let mut h = Harness::new();
    let c = h.open(Tunable);
    h.feed(c, b"long");
    h.advance(Duration::from_secs(2));
    h.feed(c, b"short");
    h.advance(Duration::from_millis(999));
    assert!(h.is_open(c), "fired before the shorter timeout ran out");
    h.advance(Duration::from_millis(1));
    assert!(
        !h.is_open(c),
        "the shorter timeout did not replace the longer one"
    );
    assert!(matches!(h.close_reason(c), Some(CloseReason::IdleTimeout)));
}

#[test]
fn an_idle_timeout_turned_off_and_on_again_counts_from_the_last_read() {
    let mut h = Harness::new();
    let c = h.open(Tunable);
    h.feed(c, b"short");
    h.feed(c, b"off");
    h.advance(Duration::from_secs(5));
    assert!(h.is_open(c), "an idle timeout that was turned off fired");
    h.feed(c, b"long");
    h.advance(Duration::from_millis(9_999));
    assert!(h.is_open(c));
    h.advance(Duration::from_millis(1));
    assert!(!h.is_open(c));
}

/// A stalled peer cannot keep a closing connection: the next timeout aborts it.
#[test]
fn a_close_that_cannot_flush_is_aborted_by_the_next_idle_timeout() {
    let mut h = Harness::new();
    let c = h.open(Patient);
    h.set_write_capacity(c, Some(0));
    h.advance(Duration::from_secs(1));
    assert!(h.is_open(c), "closing, waiting for the peer to read");
    h.advance(Duration::from_secs(1));
    assert!(!h.is_open(c));
    assert!(matches!(h.close_reason(c), Some(CloseReason::IdleTimeout)));
}

/// Reads a line "switch\n" and hands the connection to `Upper` with whatever follows.
struct Greeter {
    log: Rc<RefCell<Vec<String>>>,
}

impl Protocol<u8> for Greeter {
    fn on_open(&mut self, cx: &mut Context<'_, u8>) {
        // Cancelled by the switch: `Upper` must never see a `u8` timer value.
        cx.set_timer(Duration::from_millis(1), 42);
    }
    fn on_data(&mut self, cx: &mut Context<'_, u8>, input: &mut BytesMut) {
        if let Some(n) = input.iter().position(|&b| b == b'\n') {
            let line = input.split_to(n + 1);
            if &line[..] == b"switch\n" {
                cx.write("switching\n");
                cx.switch_to(Upper {
                    log: self.log.clone(),
                });
            }
        }
    }
    fn on_timer(&mut self, _: &mut Context<'_, u8>, timer: u8) {
        self.log.borrow_mut().push(format!("greeter timer {timer}"));
    }
}

struct Upper {
    log: Rc<RefCell<Vec<String>>>,
}

impl Protocol<char> for Upper {
    fn on_open(&mut self, cx: &mut Context<'_, char>) {
        self.log.borrow_mut().push("upper open".into());
        cx.set_timer(Duration::from_millis(5), 'u');
    }
    fn on_data(&mut self, cx: &mut Context<'_, char>, input: &mut BytesMut) {
        self.log
            .borrow_mut()
            .push(format!("upper data {}", String::from_utf8_lossy(input)));
        cx.write(input.split().freeze().to_ascii_uppercase());
    }
    fn on_timer(&mut self, _: &mut Context<'_, char>, timer: char) {
        self.log.borrow_mut().push(format!("upper tick {timer}"));
    }
}

#[test]
fn switch_to_hands_over_leftover_input_in_the_same_turn() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut h = Harness::new();
    let c = h.open(Greeter { log: log.clone() });
    h.feed(c, b"switch\nhello");
    assert_eq!(h.take_output(c), b"switching\nHELLO");
    assert_eq!(*log.borrow(), vec!["upper open", "upper data hello"]);
    h.advance(Duration::from_millis(10));
    assert_eq!(
        *log.borrow(),
        vec!["upper open", "upper data hello", "upper tick u"],
        "the old protocol's timer must not reach the new one"
    );
    h.feed(c, b"more");
    assert_eq!(h.take_output(c), b"MORE");
}

#[test]
fn four_threads_of_100_000_messages_arrive_complete_and_in_order_per_sender() {
    const PER_THREAD: u32 = 100_000;
    let mut reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let seen: Rc<RefCell<Vec<u32>>> = Rc::new(RefCell::new(vec![0; 4]));
    let total = Rc::new(RefCell::new(0u64));
    let (seen2, total2) = (seen.clone(), total.clone());
    let sender = reactor.channel(move |_cx: &mut FdContext<'_>, (thread, n): (u32, u32)| {
        let mut seen = seen2.borrow_mut();
        assert_eq!(seen[thread as usize], n, "thread {thread}: out of order");
        seen[thread as usize] = n + 1;
        *total2.borrow_mut() += 1;
        if *total2.borrow() == 4 * PER_THREAD as u64 {
            handle.shutdown();
        }
    });
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let s = sender.clone();
            std::thread::spawn(move || {
                for n in 0..PER_THREAD {
                    s.send((t, n)).unwrap();
                }
            })
        })
        .collect();
    drop(sender);
    reactor.run().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*total.borrow(), 4 * PER_THREAD as u64);
    assert_eq!(*seen.borrow(), vec![PER_THREAD; 4]);
}

#[test]
fn a_send_after_the_reactor_exits_returns_the_message() {
    let mut reactor = Reactor::new().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    let sender = reactor.channel(move |cx: &mut FdContext<'_>, s: String| {
        got2.lock().unwrap().push(s);
        cx.shutdown_reactor();
    });
    sender.send("first".to_string()).unwrap();
    reactor.run().unwrap();
    assert_eq!(*got.lock().unwrap(), vec!["first".to_string()]);
    let err = sender.send("late".to_string()).unwrap_err();
    assert!(err.is_disconnected());
    assert_eq!(err.into_inner(), "late");
    drop(reactor);
    assert!(sender.send("later".to_string()).is_err());
}

#[test]
fn a_full_bounded_channel_gives_the_message_back() {
    let mut h = Harness::new();
    let got = Rc::new(RefCell::new(Vec::new()));
    let got2 = got.clone();
    let mut reactor = Reactor::new().unwrap();
    let sender = reactor.channel_bounded(2, move |_: &mut FdContext<'_>, n: u32| {
        got2.borrow_mut().push(n)
    });
    sender.send(1).unwrap();
    sender.send(2).unwrap();
    let err = sender.send(3).unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), 3);
    // A harness channel is handed over at the next pump.
    let got3 = got.clone();
    let hs = h.channel(move |_: &mut FdContext<'_>, n: u32| got3.borrow_mut().push(n * 10));
    hs.send(5).unwrap();
    h.run_channels();
    assert_eq!(*got.borrow(), vec![50]);
}

/// A message handler writes to a connection by id: a reply computed on another thread.
#[test]
fn a_channel_message_can_write_to_a_connection() {
    struct Silent;
    impl Protocol for Silent {
        fn on_data(&mut self, _: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
        }
    }
    let mut h = Harness::new();
    let c = h.open(Silent);
    let sender = h.channel(
        |cx: &mut FdContext<'_>, (id, text): (ConnId, &'static str)| {
            assert!(cx.conn(id).write(text));
        },
    );
    std::thread::spawn(move || sender.send((c, "from a thread")).unwrap())
        .join()
        .unwrap();
    h.run_channels();
    assert_eq!(h.take_output(c), b"from a thread");
}

#[test]
fn handle_call_runs_on_the_reactor_thread() {
    let mut reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let here = std::thread::current().id();
    let ran_on = Arc::new(Mutex::new(None));
    let ran_on2 = ran_on.clone();
    let t = std::thread::spawn(move || {
        assert!(handle.call(move |cx| {
            *ran_on2.lock().unwrap() = Some(std::thread::current().id());
            cx.shutdown_reactor();
        }));
        handle
    });
    reactor.run().unwrap();
    let handle = t.join().unwrap();
    assert_eq!(*ran_on.lock().unwrap(), Some(here));
    assert!(
        !handle.call(|_| {}),
        "a call after the reactor stopped is refused"
    );
}
