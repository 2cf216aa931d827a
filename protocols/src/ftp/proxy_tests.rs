//! FTP behind a balancer with the PROXY protocol: the per-IP limit counts the clients the
//! headers name, not the balancer, and the passive data channel's source check compares the
//! data connection's header with the control connection's. Sans-IO, through the harness.

use std::net::SocketAddr;
use std::rc::Rc;

use netreactor::proxy_header::encode_v2;
use netreactor::testing::Harness;
use netreactor::ProxyProtocol;

use super::config::{FtpConfig, Shared};
use super::conn::FtpConn;
use super::session_tests::{code, root, T};
use super::users::User;

const BALANCER: &str = "10.0.0.5:40000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn header(client: &str) -> Vec<u8> {
    encode_v2(addr(client), addr("198.51.100.1:21"), &[])
}

/// A control connection of `client` through the balancer; returns what it was told first.
fn control(h: &mut Harness, shared: &Rc<Shared>, client: &str) -> (netreactor::ConnId, String) {
    let c = h.open_behind_proxy(FtpConn::new(shared.clone()), addr(BALANCER));
    assert_eq!(h.take_output(c), b"", "the 220 waits for the header");
    h.feed(c, &header(client));
    (c, String::from_utf8(h.take_output(c)).unwrap())
}

#[test]
fn the_per_ip_limit_counts_the_clients_behind_the_balancer() {
    let shared = Rc::new(Shared::new(FtpConfig {
        max_per_ip: 1,
        ..FtpConfig::default()
    }));
    let mut h = Harness::new();
    let (_, a) = control(&mut h, &shared, "192.0.2.1:5000");
    let (_, b) = control(&mut h, &shared, "192.0.2.2:5000");
    let (again, c) = control(&mut h, &shared, "192.0.2.1:5001");
    assert_eq!((code(&a), code(&b), code(&c)), ("220", "220", "421"));
    assert!(!h.is_open(again));
}

#[test]
fn a_passive_connection_must_come_from_the_client_the_header_names() {
    let home = root("proxied");
    let mut config = FtpConfig {
        passive_proxy_protocol: Some(ProxyProtocol::Required),
        ..FtpConfig::default()
    };
    config.users.add(User {
        name: "foo".into(),
        password: "bar".into(),
        home: home.clone(),
        perms: "elr".parse().unwrap(),
    });
    let shared = Rc::new(Shared::new(config));
    let mut h = Harness::new();
    let (c, hello) = control(&mut h, &shared, "192.0.2.1:5000");
    assert_eq!(code(&hello), "220");
    let mut t = T { h, c, root: home };
    t.login();
    assert_eq!(code(&t.send("TYPE I\r\n")), "200");
    // Through the balancer, but for another client: refused, the client's own is served.
    let listener = t.pasv();
    let foreign = t.h.accept_child(listener, addr(BALANCER)).unwrap();
    t.h.feed(foreign, &header("203.0.113.66:7000"));
    assert!(!t.h.is_open(foreign), "a third party got the data channel");
    let data = t.h.accept_child(listener, addr(BALANCER)).unwrap();
    t.h.feed(data, &header("192.0.2.1:5002"));
    assert!(t.h.is_open(data));
    let mut reply = t.send("RETR a.txt\r\n");
    assert_eq!(code(&reply), "125", "{reply}");
    assert_eq!(t.h.take_output(data), b"one\ntwo\n");
    reply.push_str(&String::from_utf8(t.h.take_output(t.c)).unwrap());
    assert!(reply.contains("\r\n226 "), "{reply}");
}
