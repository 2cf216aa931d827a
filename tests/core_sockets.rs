//! The core reactor over real loopback sockets: many concurrent clients, backpressure,
//! half-close, timers, idle timeouts, panics, outbound and child connections, UDP, Unix
//! sockets and IPv6.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use netreactor::{ChildEvent, Config, ConnId, Context, DatagramProtocol, FdContext, Protocol};
use rand::{Rng, SeedableRng};

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        if input.starts_with(b"boom") {
            panic!("magic input");
        }
        cx.write(input.split().freeze());
    }
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn echo_server(config: Config) -> common::Server {
    common::spawn_with(config, |r| Ok(vec![r.listen_tcp(any_port(), || Echo)?]))
}

use common::{connect, roundtrip};

/// 1 MiB of random bytes plus slack: client `c` sends the 1 MiB window at offset `c * 61`.
fn random_block() -> std::sync::Arc<Vec<u8>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut block = vec![0u8; (1 << 20) + 65536];
    rng.fill(&mut block[..]);
    std::sync::Arc::new(block)
}

#[test]
fn a_thousand_clients_each_get_a_mebibyte_back_in_order() {
    const CLIENTS: usize = 1000;
    const SIZE: usize = 1 << 20;
    let server = echo_server(Config::default());
    let addr = server.addr();
    let block = random_block();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let total: usize = rt.block_on(async move {
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let block = block.clone();
            tasks.push(tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let off = client * 61 % 65536;
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (mut rd, mut wr) = stream.into_split();
                let sent = block.clone();
                let writer = tokio::spawn(async move {
                    let data = &sent[off..off + SIZE];
                    let mut rng = rand::rngs::StdRng::seed_from_u64(client as u64);
                    let mut at = 0;
                    while at < SIZE {
                        let n = rng.gen_range(1..=65536).min(SIZE - at);
                        wr.write_all(&data[at..at + n]).await.unwrap();
                        at += n;
                    }
                    wr.shutdown().await.unwrap();
                });
                let expected = &block[off..off + SIZE];
                let mut buf = vec![0u8; 16384];
                let mut got = 0;
                loop {
                    let n = rd.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    assert!(got + n <= SIZE, "client {client}: more bytes than sent");
                    assert!(
                        buf[..n] == expected[got..got + n],
                        "client {client}: bytes differ near offset {got}"
                    );
                    got += n;
                }
                writer.await.unwrap();
                got
            }));
        }
        let mut total = 0;
        for t in tasks {
            let got = t.await.unwrap();
            assert_eq!(got, SIZE, "a client got a short echo");
            total += got;
        }
        total
    });
    assert_eq!(total, CLIENTS * SIZE);
    // Counters are published once per loop turn: give the last turn a moment.
    let stats = common::wait_for_stats(server.handle(), |s| s.bytes_in >= (CLIENTS * SIZE) as u64);
    assert_eq!(stats.accepted, CLIENTS as u64);
    assert_eq!(stats.bytes_in, (CLIENTS * SIZE) as u64);
}

/// On EOF, reports how many bytes it saw, then closes (the write half is still open).
struct CountThenBye {
    seen: usize,
}

impl Protocol for CountThenBye {
    fn on_data(&mut self, _cx: &mut Context<'_>, input: &mut BytesMut) {
        self.seen += input.len();
        input.clear();
    }
    fn on_eof(&mut self, cx: &mut Context<'_>) {
        cx.write(format!("saw {} bytes", self.seen));
        cx.close();
    }
}

#[test]
fn after_the_client_shuts_its_write_half_the_server_can_still_write() {
    let server =
        common::spawn(|r| Ok(vec![r.listen_tcp(any_port(), || CountThenBye { seen: 0 })?]));
    let mut s = connect(server.addr());
    s.write_all(&[1u8; 12345]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "saw 12345 bytes");
}

/// Sets three timers, cancels one, writes each firing, closes after the last.
struct TimerTalk;

impl Protocol<u64> for TimerTalk {
    fn on_open(&mut self, cx: &mut Context<'_, u64>) {
        cx.set_timer(Duration::from_millis(120), 3);
        let cancelled = cx.set_timer(Duration::from_millis(60), 2);
        cx.set_timer(Duration::from_millis(30), 1);
        cx.cancel_timer(cancelled);
    }
    fn on_data(&mut self, _cx: &mut Context<'_, u64>, _input: &mut BytesMut) {}
    fn on_timer(&mut self, cx: &mut Context<'_, u64>, tag: u64) {
        cx.write(format!("{tag};"));
        if tag == 3 {
            cx.close();
        }
    }
}

#[test]
fn timers_fire_in_order_on_a_real_reactor_and_cancelled_ones_never_do() {
    let server = common::spawn(|r| Ok(vec![r.listen_tcp(any_port(), || TimerTalk)?]));
    let start = Instant::now();
    let mut s = connect(server.addr());
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(got, "1;3;");
    assert!(start.elapsed() >= Duration::from_millis(120));
}

#[test]
fn the_idle_timeout_closes_an_idle_connection_but_not_a_busy_one() {
    let config = Config::default().idle_timeout(Some(Duration::from_millis(300)));
    let server = echo_server(config);
    let mut idle = connect(server.addr());
    let mut busy = connect(server.addr());
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(700) {
        assert_eq!(roundtrip(&mut busy, b"tick"), b"tick");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut buf = [0u8; 1];
    assert_eq!(
        idle.read(&mut buf).unwrap(),
        0,
        "idle connection not closed"
    );
    assert_eq!(roundtrip(&mut busy, b"alive"), b"alive");
    assert!(common::wait_for_stats(server.handle(), |s| s.timeouts >= 1).timeouts >= 1);
}

#[test]
fn a_protocol_that_panics_closes_only_that_connection() {
    let server = echo_server(Config::default());
    let mut good = connect(server.addr());
    let mut bad = connect(server.addr());
    assert_eq!(roundtrip(&mut good, b"before"), b"before");
    bad.write_all(b"boom").unwrap();
    let mut buf = [0u8; 16];
    match bad.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the panicking connection to close, got {other:?}"),
    }
    assert_eq!(roundtrip(&mut good, b"after"), b"after");
    let mut fresh = connect(server.addr());
    assert_eq!(roundtrip(&mut fresh, b"new"), b"new");
    assert_eq!(
        common::wait_for_stats(server.handle(), |s| s.panics >= 1).panics,
        1
    );
}

/// A client protocol: sends a greeting on connect, collects the echo, stops the reactor.
struct Greeter {
    reply: std::sync::mpsc::Sender<Vec<u8>>,
    got: Vec<u8>,
}

impl Protocol for Greeter {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        cx.write(Bytes::from_static(b"hello from a client"));
    }
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        self.got.extend_from_slice(&input.split());
        if self.got.len() >= 19 {
            let _ = self.reply.send(self.got.clone());
            cx.shutdown_reactor();
        }
    }
}

#[test]
fn an_outbound_connection_is_driven_by_a_protocol() {
    let server = echo_server(Config::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut client = netreactor::Reactor::new().unwrap();
    client
        .connect_tcp(
            server.addr(),
            Greeter {
                reply: tx,
                got: Vec::new(),
            },
        )
        .unwrap();
    client.run().unwrap();
    assert_eq!(rx.recv().unwrap(), b"hello from a client");
}

/// A refused connect reaches `on_close` with the error.
struct Refused(std::sync::mpsc::Sender<String>);

impl Protocol for Refused {
    fn on_data(&mut self, _cx: &mut Context<'_>, _input: &mut BytesMut) {}
    fn on_close(&mut self, cx: &mut Context<'_>, reason: &netreactor::CloseReason) {
        let _ = self.0.send(format!("{reason:?}"));
        cx.shutdown_reactor();
    }
}

#[test]
fn a_refused_outbound_connect_is_reported_to_the_protocol() {
    let port = {
        let l = std::net::TcpListener::bind(any_port()).unwrap();
        l.local_addr().unwrap()
    }; // closed again: nothing listens there now
    let (tx, rx) = std::sync::mpsc::channel();
    let mut client = netreactor::Reactor::new().unwrap();
    client.connect_tcp(port, Refused(tx)).unwrap();
    client.run().unwrap();
    let reason = rx.recv().unwrap();
    assert!(reason.contains("ConnectionRefused"), "{reason}");
}

/// Opens a child listener on request and relays between the control connection and the
/// data connection it accepts (the shape of an FTP passive data channel).
struct Relay {
    data: Option<ConnId>,
}

impl Protocol for Relay {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        if &input[..] == b"PASV\n" {
            input.clear();
            let (_, addr) = cx.listen_child(any_port()).unwrap();
            cx.write(format!("{}\n", addr.port()));
        } else if let Some(d) = self.data {
            let msg = input.split().freeze();
            cx.conn(d).write(msg);
        }
    }
    fn on_child(&mut self, cx: &mut Context<'_>, child: ConnId, event: ChildEvent<'_>) {
        match event {
            ChildEvent::Accepted { conn, .. } => {
                self.data = Some(conn);
                cx.conn(child).abort(); // one data connection per listener
                cx.write(Bytes::from_static(b"150 connected\n"));
            }
            ChildEvent::Data(buf) => {
                let msg = buf.split().freeze();
                cx.write(msg);
            }
            ChildEvent::Eof => cx.conn(child).abort(),
            ChildEvent::Closed(_) if Some(child) == self.data => {
                self.data = None;
                cx.write(Bytes::from_static(b"226 closed\n"));
            }
            _ => {}
        }
    }
}

#[test]
fn a_child_listener_accepts_a_data_connection_owned_by_its_parent() {
    let server = common::spawn(|r| Ok(vec![r.listen_tcp(any_port(), || Relay { data: None })?]));
    let mut control = connect(server.addr());
    control.write_all(b"PASV\n").unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while byte[0] != b'\n' {
        control.read_exact(&mut byte).unwrap();
        line.push(byte[0]);
    }
    let port: u16 = String::from_utf8(line).unwrap().trim().parse().unwrap();
    let mut data = connect(SocketAddr::from(([127, 0, 0, 1], port)));
    let mut msg = [0u8; 14];
    control.read_exact(&mut msg).unwrap();
    assert_eq!(&msg, b"150 connected\n");
    data.write_all(b"payload").unwrap();
    let mut got = [0u8; 7];
    control.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"payload");
    control.write_all(b"reverse").unwrap();
    data.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"reverse");
    data.shutdown(Shutdown::Write).unwrap();
    let mut done = [0u8; 11];
    control.read_exact(&mut done).unwrap();
    assert_eq!(&done, b"226 closed\n");
    // The child listener was closed after one accept.
    assert!(TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_err());
}

struct UdpEcho;

impl DatagramProtocol for UdpEcho {
    fn on_datagram(&mut self, cx: &mut FdContext<'_>, data: &[u8], peer: SocketAddr) {
        let _ = cx.send_to(data, peer);
    }
}

#[test]
fn udp_datagrams_are_echoed() {
    let server = common::spawn(|r| Ok(vec![r.bind_udp(any_port(), UdpEcho)?]));
    let sock = UdpSocket::bind(any_port()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for size in [1usize, 100, 1400, 9000] {
        let msg: Vec<u8> = (0..size).map(|i| i as u8).collect();
        sock.send_to(&msg, server.addr()).unwrap();
        let mut buf = vec![0u8; 65536];
        let (n, from) = sock.recv_from(&mut buf).unwrap();
        assert_eq!(from, server.addr());
        assert_eq!(&buf[..n], &msg[..]);
    }
}

#[test]
fn unix_domain_stream_sockets_echo() {
    let path = std::env::temp_dir().join(format!("netreactor-test-{}.sock", std::process::id()));
    let p = path.clone();
    let _server = common::spawn(move |r| {
        r.listen_unix(&p, || Echo)?;
        Ok(vec![any_port()])
    });
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"over unix").unwrap();
    let mut got = [0u8; 9];
    s.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"over unix");
    let _ = std::fs::remove_file(path);
}

#[test]
fn ipv6_loopback_echo() {
    let server = common::spawn(|r| Ok(vec![r.listen_tcp("[::1]:0".parse().unwrap(), || Echo)?]));
    assert!(server.addr().is_ipv6());
    let mut s = connect(server.addr());
    assert_eq!(roundtrip(&mut s, b"v6"), b"v6");
}

#[test]
fn graceful_shutdown_returns_once_connections_finish() {
    let server = echo_server(Config::default());
    let mut s = connect(server.addr());
    assert_eq!(roundtrip(&mut s, b"x"), b"x");
    server.handle().shutdown();
    // Default on_shutdown closes after flushing: the client sees EOF.
    let mut buf = [0u8; 1];
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    assert!(
        TcpStream::connect(server.addr()).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn two_reactors_share_a_port_with_so_reuseport() {
    use netreactor::ListenOptions;
    let opts = ListenOptions {
        reuse_port: true,
        ..ListenOptions::default()
    };
    let o = opts.clone();
    let first = common::spawn(move |r| Ok(vec![r.listen_tcp_with(any_port(), &o, || Echo)?]));
    let addr = first.addr();
    let second = common::spawn(move |r| Ok(vec![r.listen_tcp_with(addr, &opts, || Echo)?]));
    for i in 0..64u8 {
        let mut s = connect(addr);
        assert_eq!(roundtrip(&mut s, &[i]), [i]);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut a, mut b) = (0, 0);
    while a + b < 64 && Instant::now() < deadline {
        (a, b) = (
            first.handle().stats().accepted,
            second.handle().stats().accepted,
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(a + b, 64);
    assert!(
        a > 0 && b > 0,
        "the kernel balanced nothing to one reactor: {a} / {b}"
    );
}

#[test]
fn the_connection_limit_defers_accepting_until_one_closes() {
    // No refusal reserve: beyond the cap nothing is accepted (with one, the third would be
    // accepted only to be refused, see tests/core_isolation.rs).
    let server = echo_server(Config::default().max_connections(2).refusal_reserve(0));
    let mut a = connect(server.addr());
    let mut b = connect(server.addr());
    assert_eq!(roundtrip(&mut a, b"a"), b"a");
    assert_eq!(roundtrip(&mut b, b"b"), b"b");
    // The third completes its handshake in the kernel's backlog but is not served.
    let mut c = connect(server.addr());
    c.write_all(b"c").unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 1];
    assert!(c.read(&mut buf).is_err(), "served beyond the limit");
    drop(a);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"c");
    assert!(
        common::wait_for_stats(server.handle(), |s| s.accept_backoffs >= 1).accept_backoffs >= 1
    );
}

/// Echoes, but only after a pause: everything the client sends first is already queued in
/// the socket when the first read happens.
struct LateEcho;

impl Protocol<u64> for LateEcho {
    fn on_open(&mut self, cx: &mut Context<'_, u64>) {
        cx.pause_read();
        cx.set_timer(Duration::from_millis(200), 0);
    }
    fn on_data(&mut self, cx: &mut Context<'_, u64>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
    fn on_timer(&mut self, cx: &mut Context<'_, u64>, _tag: u64) {
        cx.resume_read();
    }
}

#[test]
fn urgent_data_does_not_stall_reading() {
    urgent_data_is_read_through_the_mark(Config::default());
}

#[test]
fn urgent_data_does_not_stall_reading_without_a_priority_event() {
    // The kqueue path: no priority event, the reactor asks the socket about the mark.
    urgent_data_is_read_through_the_mark(Config::default().portable_io(true));
}

fn urgent_data_is_read_through_the_mark(config: Config) {
    // A Telnet-style client (ftplib's ABOR) sends bytes, one urgent byte, then more bytes,
    // all queued before the server reads. A read stops short at the urgent mark; the reactor
    // must go on reading what follows instead of waiting for an edge that never comes.
    let opts = netreactor::ListenOptions {
        oob_inline: true,
        ..netreactor::ListenOptions::default()
    };
    let server = common::spawn_with(config, move |r| {
        Ok(vec![r.listen_tcp_with(any_port(), &opts, || LateEcho)?])
    });
    let s = connect(server.addr());
    let sock = socket2::SockRef::from(&s);
    sock.send(b"\xff\xf4\xff").unwrap();
    sock.send_out_of_band(b"\xf2").unwrap();
    sock.send(b"ABOR\r\n").unwrap();
    let mut got = [0u8; 10];
    (&s).read_exact(&mut got).unwrap();
    assert_eq!(&got, b"\xff\xf4\xff\xf2ABOR\r\n");
}

#[test]
fn a_bulk_stream_is_echoed_whole_with_growing_reads() {
    let server = echo_server(Config::default());
    let mut s = connect(server.addr());
    let data: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
    let writer = {
        let mut w = s.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || w.write_all(&data).unwrap())
    };
    let mut got = vec![0u8; data.len()];
    s.read_exact(&mut got).unwrap();
    writer.join().unwrap();
    assert!(got == data);
}
