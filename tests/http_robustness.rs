//! Timeouts and error isolation over real sockets: slowloris heads get 408 and are closed,
//! idle keep-alive connections are closed, a bad request closes only its own connection.

mod common;
#[path = "http/support.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{raw, start, status_of};

fn read_all(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Reads from `s` until `want` has arrived (or 5 s pass); returns everything read.
fn read_until(s: &mut TcpStream, want: &str) -> String {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&out).contains(want) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn slowloris_head_gets_408_and_is_closed() {
    let f = start(|c| c.header_timeout = Duration::from_secs(1));
    let mut s = TcpStream::connect(f.addr()).unwrap();
    let started = Instant::now();
    s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Trickle a header byte every 200 ms: activity must not extend the head deadline.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(200));
        let _ = s.write_all(b"X");
    }
    let out = read_all(&mut s);
    let took = started.elapsed();
    assert_eq!(status_of(&out), 408, "{}", String::from_utf8_lossy(&out));
    assert!(took < Duration::from_secs(4), "closed after {took:?}");
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
}

#[test]
fn idle_keep_alive_connection_is_closed_after_its_timeout() {
    let f = start(|c| c.keep_alive_timeout = Duration::from_millis(500));
    let mut s = TcpStream::connect(f.addr()).unwrap();
    s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let out = read_all(&mut s);
    assert!(String::from_utf8_lossy(&out).ends_with("hello from the root\n"));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "idle close after {took:?}");
}

#[test]
fn a_bad_request_closes_only_its_own_connection() {
    let f = start(|_| {});
    let mut good = TcpStream::connect(f.addr()).unwrap();
    good.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_until(&mut good, "hello from the root").contains("hello from the root"));

    for bad in [
        &b"\x00\x01\x02garbage\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
        b"GET / HTTP/3.0\r\nHost: x\r\n\r\n",
    ] {
        let out = raw(f.addr(), bad);
        let text = String::from_utf8_lossy(&out);
        assert!(
            [400, 505].contains(&status_of(&out)),
            "{:?} -> {text}",
            String::from_utf8_lossy(bad)
        );
        assert!(text.contains("Connection: close"), "{text}");
    }
    // The good connection is untouched and still serves.
    good.write_all(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_until(&mut good, "color: red").contains("color: red"));
}

#[test]
fn oversized_header_section_gets_431() {
    let f = start(|c| c.max_head = 4096);
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    req.extend_from_slice(b"X-Big: ");
    req.extend(std::iter::repeat_n(b'a', 8000));
    req.extend_from_slice(b"\r\n\r\n");
    let out = raw(f.addr(), &req);
    assert_eq!(status_of(&out), 431, "{}", String::from_utf8_lossy(&out));
}

/// A server at its connection cap answers a new client with 503 (curl reads it whole) instead
/// of going silent, and the clients it holds are still served.
#[test]
fn a_client_over_the_connection_cap_gets_503_and_the_others_are_served() {
    use netreactor::Config;
    use netreactor_protocols::http::{Response, Server, ServerConfig};
    let server = common::spawn_with(Config::default().max_connections(1), |r| {
        let http = Server::new(
            ServerConfig::default(),
            |_: &netreactor_protocols::http::Request| Response::text(200, "ok\n"),
        );
        Ok(vec![r.listen_tcp(
            "127.0.0.1:0".parse().unwrap(),
            http.factory(),
        )?])
    });
    let mut held = TcpStream::connect(server.addr()).unwrap();
    held.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_until(&mut held, "ok\n").starts_with("HTTP/1.1 200"));
    let url = format!("http://{}/", server.addr());
    let (body, code) = support::curl(&["-s", "-w", "%{http_code}", &url]);
    let out = String::from_utf8_lossy(&body);
    assert_eq!(code, 0, "curl failed: {out}");
    assert!(out.ends_with("503"), "curl saw {out:?}");
    assert!(out.contains("Too many connections"));
    held.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_until(&mut held, "ok\n").starts_with("HTTP/1.1 200"));
    assert_eq!(server.handle().stats().refused, 1);
}

#[test]
fn a_body_sent_after_an_early_413_is_drained_not_reset() {
    // The 413 goes out as soon as the head is read, before any body has arrived: nothing is
    // unread at the close, so only the server's word makes it linger.
    let f = start(|c| {
        c.writable = true;
        c.max_upload = 1000;
    });
    let mut s = TcpStream::connect(f.addr()).unwrap();
    s.write_all(b"PUT /up.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        .unwrap();
    let out = read_all(&mut s); // the answer, then the server's FIN
    assert_eq!(status_of(&out), 413, "{}", String::from_utf8_lossy(&out));
    // The client sends its body anyway, as one that does not read while it sends.
    s.write_all(&vec![b'x'; 1 << 20]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(&vec![b'x'; 1 << 20])
        .expect("still drained: a closed socket would have reset by now");
    let stats = f.server.handle().stats();
    assert_eq!(stats.lingering, 1, "{stats:?}");
    drop(s);
    let stats = common::wait_for_stats(f.server.handle(), |s| s.open == 0);
    assert_eq!((stats.lingering, stats.lingered, stats.open), (0, 1, 0));
}
