//! What an idle FTPS control connection keeps on the heap, counted by a wrapping global
//! allocator: 500 connections through the harness, each after `AUTH TLS`, the handshake, a
//! login, `PBSZ 0` and `PROT P`, then left alone (their clients dropped, so only the server
//! side is counted), against as many plain FTP connections after the same login.

use std::path::PathBuf;
use std::rc::Rc;

use netreactor::testing::{Harness, TlsClient};
use netreactor::tls::{self, TlsAcceptor};
use netreactor_protocols::ftp::{FtpConfig, FtpConn, FtpsConfig, Shared, User};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{live, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

const N: usize = 500;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

#[test]
fn an_idle_ftps_control_connection_holds_its_tls_session_and_little_more() {
    let home = std::env::temp_dir();
    let acceptor = TlsAcceptor::new(
        tls::server_config_from_pem(&data("cert.pem"), &data("key.pem"), &[b"ftp"]).unwrap(),
    );
    let mut config = FtpConfig {
        max_connections: 10 * N,
        max_per_ip: 10 * N,
        tls: Some(FtpsConfig::new(acceptor)),
        ..FtpConfig::default()
    };
    config.users.add(User {
        name: "foo".into(),
        password: "bar".into(),
        home,
        perms: "elr".parse().unwrap(),
    });
    let shared = Rc::new(Shared::new(config));
    let client = tls::client_config_trusting(&data("cert.pem"), &[]).unwrap();
    let mut h = Harness::new();
    let login = b"USER foo\r\nPASS bar\r\n";

    // Warm-up: whatever is allocated once per process (the harness's tables, rustls's
    // statics) is not counted below.
    for _ in 0..2 {
        let c = h.open(FtpConn::new(shared.clone()));
        h.feed(c, login);
        h.take_output(c);
    }

    let before = live();
    for _ in 0..N {
        let c = h.open(FtpConn::new(shared.clone()));
        h.feed(c, login);
        assert!(String::from_utf8(h.take_output(c))
            .unwrap()
            .contains("230 "));
    }
    let plain = (live() - before) / N as isize;

    let before = live();
    for _ in 0..N {
        let c = h.open(FtpConn::new(shared.clone()));
        assert!(h.take_output(c).starts_with(b"220 "));
        h.feed(c, b"AUTH TLS\r\n");
        assert!(h.take_output(c).starts_with(b"234 "));
        let mut t = TlsClient::new(c, client.clone(), "localhost").unwrap();
        t.write(&mut h, b"USER foo\r\nPASS bar\r\nPBSZ 0\r\nPROT P\r\n")
            .unwrap();
        let out = String::from_utf8(t.read(&mut h).unwrap()).unwrap();
        assert!(out.ends_with("200 PROT now Private.\r\n"), "{out}");
        drop(t); // the client's half is not the server's memory
    }
    let secure = (live() - before) / N as isize;
    println!("idle control connection on the heap: FTP {plain} bytes, FTPS {secure} bytes");
    assert!(plain < 4 * 1024, "plain FTP: {plain} bytes");
    assert!(secure < 16 * 1024, "FTPS: {secure} bytes");
}
