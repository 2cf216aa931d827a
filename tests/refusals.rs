//! Every server of the repository tells a client it cannot take why, in its own protocol,
//! when the reactor is at its connection cap (HTTP and FTP: tests/http_robustness.rs,
//! tests/ftp_curl.rs; WebSocket and Telnet here).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use netreactor::{Config, ListenOptions};
use netreactor_protocols::{telnet, websocket};

/// Everything the server sends until it closes (or 5 s pass).
fn read_all(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_websocket_client_over_the_cap_gets_503_before_the_handshake() {
    let server = common::spawn_with(Config::default().max_connections(1), |r| {
        let addr = websocket::listen(
            r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            websocket::ServerConfig::default(),
            || websocket::Echo,
        )?;
        Ok(vec![addr])
    });
    let _held = TcpStream::connect(server.addr()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let answer = read_all(&mut s);
    assert!(answer.starts_with("HTTP/1.1 503"), "got {answer:?}");
    assert!(answer.contains("Retry-After: 1"));
}

#[test]
fn a_telnet_client_over_the_cap_is_told_the_server_is_full() {
    let server = common::spawn_with(Config::default().max_connections(1), |r| {
        let addr = telnet::server::listen(
            r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            telnet::server::TelnetConfig::default(),
        )?;
        Ok(vec![addr])
    });
    let _held = TcpStream::connect(server.addr()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut s = TcpStream::connect(server.addr()).unwrap();
    let answer = read_all(&mut s);
    assert!(answer.contains("server full"), "got {answer:?}");
}
