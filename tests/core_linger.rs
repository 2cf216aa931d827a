//! Lingering close over real sockets: a peer still sending when the server closes reads the
//! server's answer instead of a reset, within the lingering limits and the connection caps.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use netreactor::{Config, Context, Protocol, Refusal, Stats};

/// Answers "no" to the first input and closes: with `close_lingering` when `ask`, else with
/// `close`; leaves the input unconsumed when `keep` (as a server that rejects a request body
/// it will not read).
#[derive(Clone, Copy)]
struct Reject {
    ask: bool,
    keep: bool,
}

impl Protocol for Reject {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        if !self.keep {
            input.clear();
        }
        cx.write("no\n");
        if self.ask {
            cx.close_lingering();
        } else {
            cx.close();
        }
    }
    fn on_refused(&mut self, cx: &mut Context<'_>, _: Refusal) {
        cx.write("busy\n");
        cx.close();
    }
}

/// Closes with `close_lingering`.
const ASKS: Reject = Reject {
    ask: true,
    keep: false,
};
/// Closes with `close`, leaving the input unread.
const LEAVES_INPUT: Reject = Reject {
    ask: false,
    keep: true,
};
/// Closes with `close`, having consumed its input.
const PLAIN: Reject = Reject {
    ask: false,
    keep: false,
};

fn serve(config: Config, proto: Reject) -> common::Server {
    common::spawn_with(config, move |r| {
        Ok(vec![r
            .listen_tcp("127.0.0.1:0".parse().unwrap(), move || {
                proto
            })?])
    })
}

fn client(addr: SocketAddr) -> TcpStream {
    let s = common::connect(addr);
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A client that has sent one line (which the server answers and closes on).
fn said_hello(addr: SocketAddr) -> TcpStream {
    let mut s = client(addr);
    s.write_all(b"hello\n").unwrap();
    s
}

/// Writes `body` all at once, then reads to the end: what a client that sends a whole request
/// before reading its answer sees.
fn send_then_read(addr: SocketAddr, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = client(addr);
    s.write_all(body)?;
    let mut got = Vec::new();
    s.read_to_end(&mut got)?;
    Ok(got)
}

fn settled(stats: &Stats) -> bool {
    stats.lingering == 0 && stats.open == 0
}

/// More than the loopback's socket buffers on both sides hold, so the sender is still
/// sending when the server answers.
const BIG: usize = 32 << 20;

#[test]
fn a_client_still_sending_reads_the_answer_instead_of_a_reset() {
    let server = serve(Config::default(), LEAVES_INPUT);
    let got = send_then_read(server.addr(), &vec![b'x'; BIG]).expect("no reset");
    assert_eq!(got, b"no\n");
    let stats = common::wait_for_stats(server.handle(), settled);
    assert_eq!((stats.lingered, stats.lingering, stats.open), (1, 0, 0));
    assert!(stats.bytes_in >= BIG as u64, "the rest was read: {stats:?}");
}

#[test]
fn without_lingering_the_same_client_gets_a_reset() {
    // The case the lingering close exists for, shown failing without it.
    let config = Config::default().lingering_time(Duration::ZERO);
    let server = serve(config, LEAVES_INPUT);
    let res = send_then_read(server.addr(), &vec![b'x'; BIG]);
    let kind = res.expect_err("a close with unread input resets").kind();
    assert!(
        matches!(kind, ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
        "{kind:?}"
    );
    assert_eq!(server.handle().stats().lingered, 0);
}

#[test]
fn a_close_that_finds_nothing_unread_does_not_linger() {
    let server = serve(Config::default(), PLAIN);
    let mut s = said_hello(server.addr());
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"no\n");
    // The server closed entirely: nothing waits for this client, which has not closed.
    let stats = common::wait_for_stats(server.handle(), settled);
    assert_eq!((stats.lingered, stats.open), (0, 0));
}

#[test]
fn close_lingering_covers_input_still_on_its_way() {
    for ask in [true, false] {
        let server = serve(Config::default(), Reject { ask, keep: false });
        let mut s = said_hello(server.addr());
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap(); // the answer, then the server's FIN
        assert_eq!(got, b"no\n");
        // Only now does the rest of the "request" leave: nothing of it was there to see.
        s.write_all(&vec![b'x'; 256 * 1024]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // A socket closed outright has answered that with a reset by now: writing fails.
        let again = s.write_all(b"more");
        if ask {
            again.expect("no reset");
            s.shutdown(Shutdown::Write).unwrap();
            let stats = common::wait_for_stats(server.handle(), settled);
            assert_eq!((stats.lingered, stats.open), (1, 0));
        } else {
            let kind = again.expect_err("a closed socket resets").kind();
            assert!(
                matches!(kind, ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
                "{kind:?}"
            );
        }
    }
}

/// Waits until `server` has one lingering socket, then returns how long until it has none.
fn time_lingering(server: &common::Server) -> Duration {
    let stats = common::wait_for_stats(server.handle(), |s| s.lingering == 1);
    assert_eq!(stats.lingering, 1, "{stats:?}");
    let start = Instant::now();
    let stats = common::wait_for_stats(server.handle(), settled);
    assert!(settled(&stats), "{stats:?}");
    start.elapsed()
}

#[test]
fn a_silent_peer_is_closed_after_the_lingering_timeout() {
    let config = Config::default()
        .lingering_timeout(Duration::from_millis(300))
        .lingering_time(Duration::from_secs(30));
    let server = serve(config, ASKS);
    let s = said_hello(server.addr());
    // It neither sends more nor closes.
    let took = time_lingering(&server);
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(took >= Duration::from_millis(150), "{took:?}");
    drop(s);
}

#[test]
fn a_trickling_peer_is_closed_at_the_lingering_time() {
    let config = Config::default()
        .lingering_timeout(Duration::from_millis(300))
        .lingering_time(Duration::from_millis(800));
    let server = serve(config, ASKS);
    let s = said_hello(server.addr());
    let mut writer = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        // A byte every 50 ms, well inside the timeout between reads, for 4 s.
        for _ in 0..80 {
            if writer.write_all(b".").is_err() {
                return true; // reset once the server gave up
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    });
    let took = time_lingering(&server);
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(trickle.join().unwrap(), "the trickle was cut off");
}

#[test]
fn a_lingering_socket_still_counts_against_the_connection_cap() {
    let config = Config::default().max_connections(1);
    let server = serve(config, ASKS);
    let mut a = said_hello(server.addr());
    let mut got = Vec::new();
    a.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"no\n");
    let stats = common::wait_for_stats(server.handle(), |s| s.lingering == 1);
    assert_eq!(stats.lingering, 1);
    // A lingers (it has not closed): the server is full.
    let mut b = client(server.addr());
    let mut got = Vec::new();
    b.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"busy\n");
    drop(a);
    common::wait_for_stats(server.handle(), settled);
    let mut c = said_hello(server.addr());
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"no\n");
}

#[test]
fn shutdown_waits_for_a_lingering_socket_no_longer_than_its_grace() {
    let config = Config::default().shutdown_grace(Duration::from_millis(300));
    let server = serve(config, ASKS);
    let _client = said_hello(server.addr());
    common::wait_for_stats(server.handle(), |s| s.lingering == 1);
    let start = Instant::now();
    drop(server); // shuts down and joins the reactor's thread
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(took >= Duration::from_millis(250), "it waited: {took:?}");
}

#[test]
fn a_unix_socket_client_still_sending_reads_the_answer() {
    // Unix stream sockets reset a peer that is still sending as TCP does (EPIPE, ECONNRESET).
    let path = std::env::temp_dir().join(format!("nr-linger-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listen_at = path.clone();
    let server = common::spawn(move |r| {
        r.listen_unix(&listen_at, || LEAVES_INPUT)?;
        Ok(vec!["127.0.0.1:0".parse().unwrap()])
    });
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&vec![b'x'; BIG]).expect("no reset");
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"no\n");
    drop(s);
    let stats = common::wait_for_stats(server.handle(), settled);
    assert_eq!((stats.lingered, stats.lingering, stats.open), (1, 0, 0));
    let _ = std::fs::remove_file(&path);
}
