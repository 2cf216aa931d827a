//! The PROXY protocol in the core (`ListenOptions::proxy_protocol`): a header is read and
//! stripped before the protocol sees a byte or opens, the header's source becomes the peer
//! address (also for the per-source cap and for child listeners), and a bad, missing or late
//! header closes the connection without a callback. Through the harness and over loopback.

mod common;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use netreactor::proxy_header::{encode_v2, encode_v2_local};
use netreactor::testing::Harness;
use netreactor::{
    ChildEvent, CloseReason, Config, ConnId, Context, ListenOptions, Protocol, ProxyProtocol,
    Refusal,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Speaks first (as FTP's 220 does): greets with the peer address, then echoes.
#[derive(Default)]
struct Greeter {
    log: Rc<RefCell<Vec<String>>>,
}

impl Protocol for Greeter {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        self.log.borrow_mut().push("open".into());
        let peer = cx.peer_addr().map_or("none".into(), |a| a.to_string());
        cx.write(format!("hello {peer}\n"));
    }
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
    fn on_refused(&mut self, cx: &mut Context<'_>, why: Refusal) {
        cx.write(format!("refused {why:?}\n"));
        cx.close();
    }
    fn on_close(&mut self, _: &mut Context<'_>, _: &CloseReason) {
        self.log.borrow_mut().push("close".into());
    }
}

const BALANCER: &str = "10.0.0.5:40000";

#[test]
fn the_protocol_opens_after_the_header_at_every_split_and_sees_only_what_follows() {
    let v1 = b"PROXY TCP4 192.0.2.7 10.0.0.9 5555 80\r\n".to_vec();
    let v2 = encode_v2(
        addr("192.0.2.7:5555"),
        addr("10.0.0.9:80"),
        &[0x04, 0, 1, 0],
    );
    for header in [v1, v2] {
        let mut input = header.clone();
        input.extend_from_slice(b"ping\r\n");
        for at in 0..input.len() {
            let mut h = Harness::new();
            let log = Rc::new(RefCell::new(Vec::new()));
            let c = h.open_behind_proxy(Greeter { log: log.clone() }, addr(BALANCER));
            h.feed(c, &input[..at]);
            if at < header.len() {
                assert!(
                    log.borrow().is_empty(),
                    "opened before the header (split {at})"
                );
                assert_eq!(h.take_output(c), b"");
            }
            h.feed(c, &input[at..]);
            assert_eq!(
                String::from_utf8(h.take_output(c)).unwrap(),
                "hello 192.0.2.7:5555\nping\r\n",
                "split at {at}"
            );
            assert_eq!(*log.borrow(), ["open"]);
        }
    }
}

#[test]
fn bad_missing_and_late_headers_close_without_a_callback() {
    let cases: [(&[u8], bool); 3] = [
        (b"GET / HTTP/1.1\r\n\r\n", false),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", false),
        (b"PROXY TCP4 1.2.3.4 ", true), // then EOF
    ];
    for (input, eof) in cases {
        let mut h = Harness::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let c = h.open_behind_proxy(Greeter { log: log.clone() }, addr(BALANCER));
        h.feed(c, input);
        if eof {
            assert!(h.is_open(c));
            h.eof(c);
        }
        assert!(!h.is_open(c), "{input:?} left it open");
        assert!(matches!(h.close_reason(c), Some(CloseReason::ProxyHeader)));
        assert_eq!(h.take_output(c), b"");
        assert!(
            log.borrow().is_empty(),
            "a callback ran: {:?}",
            log.borrow()
        );
        assert_eq!(h.stats().proxy_header_errors, 1);
    }
    // Half a header, then nothing for the header timeout (5 s by default).
    let mut h = Harness::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let c = h.open_behind_proxy(Greeter { log: log.clone() }, addr(BALANCER));
    h.feed(c, b"\r\n\r\n\0\r\nQUIT\n");
    h.advance(Duration::from_millis(4900));
    assert!(h.is_open(c));
    h.advance(Duration::from_millis(200));
    assert!(matches!(h.close_reason(c), Some(CloseReason::ProxyHeader)));
    assert!(log.borrow().is_empty());
    assert_eq!(
        (
            h.stats().proxy_header_timeouts,
            h.stats().proxy_header_errors
        ),
        (1, 0)
    );
    assert_eq!(h.open_count(), 0);
}

#[test]
fn a_header_without_addresses_leaves_the_sockets_own() {
    for header in [encode_v2_local(), b"PROXY UNKNOWN\r\n".to_vec()] {
        let mut h = Harness::new();
        let c = h.open_behind_proxy(Greeter::default(), addr(BALANCER));
        h.feed(c, &header);
        assert_eq!(h.take_output(c), format!("hello {BALANCER}\n").as_bytes());
    }
}

/// Opens a passive listener that expects a header; records what its children say.
struct Parent {
    events: Rc<RefCell<Vec<String>>>,
}

impl Protocol for Parent {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        let opts = ListenOptions::default().proxy_protocol(ProxyProtocol::Required);
        cx.listen_child_with(addr("127.0.0.1:0"), &opts).unwrap();
    }
    fn on_data(&mut self, _: &mut Context<'_>, _: &mut BytesMut) {}
    fn on_child(&mut self, _: &mut Context<'_>, _: ConnId, event: ChildEvent<'_>) {
        let text = match event {
            ChildEvent::Accepted { peer, .. } => format!("accepted {peer}"),
            ChildEvent::Data(buf) => format!("data {:?}", String::from_utf8_lossy(&buf.split())),
            ChildEvent::Closed(r) => format!("closed {r:?}"),
            _ => return,
        };
        self.events.borrow_mut().push(text);
    }
}

#[test]
fn a_child_listener_with_the_proxy_protocol_announces_the_headers_source() {
    let mut h = Harness::new();
    let events = Rc::new(RefCell::new(Vec::new()));
    let p = h.open(Parent {
        events: events.clone(),
    });
    let listener = h.children(p)[0];
    let child = h.accept_child(listener, addr(BALANCER)).unwrap();
    assert!(events.borrow().is_empty(), "announced before its header");
    let mut input = encode_v2(addr("198.51.100.3:6000"), addr("10.0.0.9:30000"), &[]);
    input.extend_from_slice(b"STOR bytes");
    h.feed_split(child, &input, &[5, 27]);
    assert_eq!(
        *events.borrow(),
        ["accepted 198.51.100.3:6000", "data \"STOR bytes\""]
    );
    // A bad header: never announced, not a child of the parent.
    let bad = h.accept_child(listener, addr(BALANCER)).unwrap();
    h.feed(bad, b"STOR no header");
    assert!(!h.is_open(bad));
    assert_eq!(events.borrow().len(), 2);
    assert_eq!(h.children(p).len(), 2, "the listener and the first child");
}

fn serve(config: Config, opts: ListenOptions) -> common::Server {
    common::spawn_with(config, move |r| {
        Ok(vec![r.listen_tcp_with(
            addr("127.0.0.1:0"),
            &opts,
            Greeter::default,
        )?])
    })
}

fn read_line(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b).unwrap() == 1 {
        out.push(b[0]);
        if b[0] == b'\n' {
            break;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn over_sockets_the_header_sets_the_peer_and_the_per_source_cap_counts_it() {
    let server = serve(
        Config::default().max_per_source(1),
        ListenOptions::default().proxy_protocol(ProxyProtocol::Required),
    );
    let open = |src: &str| {
        let mut s = common::connect(server.addr());
        s.write_all(&encode_v2(addr(src), addr("198.51.100.1:80"), &[]))
            .unwrap();
        s
    };
    // Every connection comes from 127.0.0.1, but the cap counts the header's sources.
    let mut a = open("203.0.113.7:1000");
    assert_eq!(read_line(&mut a), "hello 203.0.113.7:1000\n");
    let mut b = open("203.0.113.8:1000");
    assert_eq!(read_line(&mut b), "hello 203.0.113.8:1000\n");
    let mut c = open("203.0.113.7:1001");
    assert_eq!(read_line(&mut c), "refused SourceFull\n");
    assert_eq!(common::roundtrip(&mut a, b"still here"), b"still here");
    drop(a);
    std::thread::sleep(Duration::from_millis(100));
    let mut d = open("203.0.113.7:1002");
    assert_eq!(read_line(&mut d), "hello 203.0.113.7:1002\n");

    // No header: closed with nothing said, and counted.
    let mut e = common::connect(server.addr());
    e.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = e.read_to_end(&mut buf);
    assert!(buf.is_empty(), "a headerless client got {buf:?}");
    let stats = common::wait_for_stats(server.handle(), |s| s.proxy_header_errors == 1);
    assert_eq!((stats.proxy_header_errors, stats.refused), (1, 1));
}

#[test]
fn over_sockets_the_header_timeout_closes_a_silent_connection() {
    let server = serve(
        Config::default(),
        ListenOptions::default()
            .proxy_protocol(ProxyProtocol::Required)
            .proxy_header_timeout(Duration::from_millis(200)),
    );
    let mut s = common::connect(server.addr());
    s.write_all(b"PROXY TCP4 1.2.3.4").unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(buf.is_empty());
    assert!(started.elapsed() < Duration::from_secs(3));
    let stats = common::wait_for_stats(server.handle(), |s| s.proxy_header_timeouts == 1);
    assert_eq!(stats.proxy_header_timeouts, 1);
}

#[test]
fn optional_reads_a_header_from_trusted_sources_only() {
    let trusted = vec!["127.0.0.2".parse().unwrap()];
    let server = serve(
        Config::default(),
        ListenOptions::default().proxy_protocol(ProxyProtocol::Optional(trusted)),
    );
    // From 127.0.0.1, untrusted: taken as it is, a header-looking line is only data.
    let mut direct = common::connect(server.addr());
    let me = direct.local_addr().unwrap();
    assert_eq!(read_line(&mut direct), format!("hello {me}\n"));
    let line = b"PROXY TCP4 9.9.9.9 1.1.1.1 9 9\r\n";
    assert_eq!(common::roundtrip(&mut direct, line), line);
    // From 127.0.0.2, the balancer: the header is required and read.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&addr("127.0.0.2:0").into()).unwrap();
    sock.connect(&server.addr().into()).unwrap();
    let mut via: TcpStream = sock.into();
    via.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    via.write_all(line).unwrap();
    assert_eq!(read_line(&mut via), "hello 9.9.9.9:9\n");
}
