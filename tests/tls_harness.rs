//! TLS under a protocol, without sockets: the harness serves a protocol over TLS and an
//! in-memory rustls client talks to it.

use std::fs::File;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use netreactor::bytes::BytesMut;
use netreactor::testing::{Harness, TlsClient};
use netreactor::tls::{self, rustls};
use netreactor::{CloseReason, Config, Context, Protocol};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn server_config(alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
    tls::server_config_from_pem(&data("cert.pem"), &data("key.pem"), alpn).unwrap()
}

fn client(id: netreactor::ConnId) -> TlsClient {
    TlsClient::trusting_pem(id, &data("cert.pem"), "localhost").unwrap()
}

struct Echo;
impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

/// Answers "bye" to `quit` and closes (flushing); echoes anything else.
struct Quitter;
impl Protocol for Quitter {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        if input.starts_with(b"quit") {
            input.clear();
            cx.write(&b"bye\n"[..]);
            cx.close();
        } else {
            cx.write(input.split().freeze());
        }
    }
}

#[test]
fn a_protocol_runs_unchanged_over_tls() {
    let mut h = Harness::new();
    let id = h.open_tls(Echo, server_config(&[b"http/1.1"]));
    let mut c = client(id);
    c.write(&mut h, b"hello over tls").unwrap();
    assert_eq!(c.read(&mut h).unwrap(), b"hello over tls");
    let info = h.tls_info(id).expect("a TLS connection");
    assert!(!info.is_handshaking());
    assert_eq!(info.version(), Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(info.server_name(), Some("localhost"));
    assert!(info.cipher_suite().is_some());
}

#[test]
fn alpn_is_negotiated_and_visible() {
    let mut h = Harness::new();
    let id = h.open_tls(Echo, server_config(&[b"h2", b"http/1.1"]));
    let config = tls::client_config_trusting(&data("cert.pem"), &[b"http/1.1"]).unwrap();
    let mut c = TlsClient::new(id, config, "localhost").unwrap();
    c.write(&mut h, b"x").unwrap();
    assert_eq!(c.read(&mut h).unwrap(), b"x");
    assert_eq!(h.tls_info(id).unwrap().alpn(), Some(&b"http/1.1"[..]));
}

#[test]
fn close_flushes_then_sends_close_notify() {
    let mut h = Harness::new();
    let id = h.open_tls(Quitter, server_config(&[]));
    let mut c = client(id);
    c.write(&mut h, b"quit\n").unwrap();
    assert_eq!(c.read(&mut h).unwrap(), b"bye\n");
    // The client saw close_notify: its reader reports a clean end.
    use std::io::Read;
    let mut buf = [0u8; 8];
    assert_eq!(c.connection().reader().read(&mut buf).unwrap(), 0);
    assert!(matches!(h.close_reason(id), Some(CloseReason::Local)));
}

#[test]
fn close_before_the_handshake_ends_still_sends_what_was_queued() {
    struct Greeter;
    impl Protocol for Greeter {
        fn on_open(&mut self, cx: &mut Context<'_>) {
            cx.write(&b"421 full, bye\r\n"[..]);
            cx.close();
        }
        fn on_data(&mut self, _cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
        }
    }
    let mut h = Harness::new();
    let id = h.open_tls(Greeter, server_config(&[]));
    let mut c = client(id);
    assert_eq!(c.read(&mut h).unwrap(), b"421 full, bye\r\n");
    assert!(matches!(h.close_reason(id), Some(CloseReason::Local)));
}

#[test]
fn eof_without_close_notify_is_a_truncation() {
    struct CloseOnEof;
    impl Protocol for CloseOnEof {
        fn on_data(&mut self, _cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
        }
        fn on_eof(&mut self, cx: &mut Context<'_>) {
            cx.close();
        }
    }
    let mut h = Harness::new();
    let id = h.open_tls(CloseOnEof, server_config(&[]));
    let mut c = client(id);
    c.write(&mut h, b"partial").unwrap();
    h.eof(id);
    h.take_output(id);
    assert!(matches!(
        h.close_reason(id),
        Some(CloseReason::TlsTruncated)
    ));

    // With close_notify first, the same end is a clean one.
    let id = h.open_tls(CloseOnEof, server_config(&[]));
    let mut c = client(id);
    c.write(&mut h, b"all of it").unwrap();
    c.close_notify(&mut h).unwrap();
    h.eof(id);
    h.take_output(id);
    assert!(
        matches!(h.close_reason(id), Some(CloseReason::Peer)),
        "{:?}",
        h.close_reason(id)
    );
}

#[test]
fn garbage_instead_of_a_client_hello_gets_an_alert_and_a_close() {
    let mut h = Harness::new();
    let id = h.open_tls(Echo, server_config(&[]));
    // A handshake record holding a ClientHello whose body is nonsense.
    h.feed(
        id,
        &[
            0x16, 0x03, 0x01, 0x00, 0x09, 0x01, 0x00, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00,
        ],
    );
    let out = h.take_output(id);
    assert!(!h.is_open(id));
    assert!(
        matches!(h.close_reason(id), Some(CloseReason::Tls(_))),
        "{:?}",
        h.close_reason(id)
    );
    assert_eq!(
        out.first(),
        Some(&0x15),
        "an alert record: {out:?} {:?}",
        h.close_reason(id)
    );
}

#[test]
fn plaintext_to_a_tls_port_gets_the_plaintext_reply() {
    let mut h = Harness::new();
    let acceptor = tls::TlsAcceptor::new(server_config(&[]))
        .plaintext_reply(&b"HTTP/1.1 400 Bad Request\r\n\r\nplain HTTP to an HTTPS port\n"[..]);
    let id = h.open_tls(Echo, acceptor);
    h.feed(id, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let out = h.take_output(id);
    assert!(out.starts_with(b"HTTP/1.1 400 Bad Request\r\n"), "{out:?}");
    assert!(matches!(h.close_reason(id), Some(CloseReason::Tls(_))));
}

#[test]
fn a_stalled_handshake_times_out() {
    let config = Config::default().tls_handshake_timeout(Duration::from_secs(3));
    let mut h = Harness::with_config(config);
    let id = h.open_tls(Echo, server_config(&[]));
    h.advance(Duration::from_secs(2));
    assert!(h.is_open(id));
    h.advance(Duration::from_secs(2));
    assert!(!h.is_open(id));
    assert!(matches!(
        h.close_reason(id),
        Some(CloseReason::TlsHandshake)
    ));

    // A finished handshake is not closed by its deadline.
    let id = h.open_tls(Echo, server_config(&[]));
    let mut c = client(id);
    c.write(&mut h, b"x").unwrap();
    h.advance(Duration::from_secs(10));
    assert!(h.is_open(id));
}

#[test]
fn a_handshake_larger_than_the_limit_closes() {
    let config = Config::default().tls_handshake_limit(1024);
    let mut h = Harness::with_config(config);
    let id = h.open_tls(Echo, server_config(&[]));
    // A ClientHello record announcing 16 KiB, sent in pieces: over the limit before it ends.
    let mut hello = vec![0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc];
    hello.resize(2000, 0);
    h.feed(id, &hello);
    assert!(!h.is_open(id));
    assert!(matches!(
        h.close_reason(id),
        Some(CloseReason::TlsHandshake)
    ));
}

#[test]
fn a_large_reply_through_a_slow_reader_arrives_whole() {
    struct Big;
    impl Protocol for Big {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
            let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
            cx.write(body);
        }
    }
    let mut h = Harness::new();
    let id = h.open_tls(Big, server_config(&[]));
    let mut c = client(id);
    c.write(&mut h, b"go").unwrap();
    h.set_write_capacity(id, Some(10_000));
    let mut got = Vec::new();
    for _ in 0..10_000 {
        got.extend(c.read(&mut h).unwrap());
        if got.len() >= 3_000_000 {
            break;
        }
    }
    assert_eq!(got.len(), 3_000_000);
    assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
}

#[test]
fn send_file_over_tls_is_read_and_encrypted() {
    let path = std::env::temp_dir().join(format!("nr-tls-file-{}", std::process::id()));
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 13) as u8).collect();
    std::fs::write(&path, &body).unwrap();
    let file = Rc::new(File::open(&path).unwrap());
    struct Sender(Rc<File>);
    impl Protocol for Sender {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
            cx.write(&b"<"[..]);
            cx.send_file(self.0.clone(), 10, 150_000);
            cx.write(&b">"[..]);
        }
    }
    let mut h = Harness::new();
    let id = h.open_tls(Sender(file), server_config(&[]));
    let mut c = client(id);
    c.write(&mut h, b"go").unwrap();
    let got = c.read(&mut h).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(got.len(), 150_002);
    assert_eq!(got[0], b'<');
    assert!(got[1..150_001] == body[10..150_010]);
    assert_eq!(got[150_001], b'>');
}

/// A line protocol with STARTTLS: `STARTTLS` is answered `OK` in plaintext, then the
/// connection speaks TLS; other lines are echoed with a prefix saying which.
struct StartTls(Arc<rustls::ServerConfig>);
impl Protocol for StartTls {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        while let Some(end) = input.iter().position(|&b| b == b'\n') {
            let line = input.split_to(end + 1);
            if &line[..] == b"STARTTLS\n" {
                cx.write(&b"OK\n"[..]);
                assert!(cx.start_tls_server(self.0.clone()));
                return; // the rest is ciphertext
            }
            let mode = if cx.tls().is_some() {
                "tls: "
            } else {
                "plain: "
            };
            cx.write(mode.as_bytes().to_vec());
            cx.write(line.freeze());
        }
    }
}

#[test]
fn starttls_answers_in_plaintext_then_switches() {
    let mut h = Harness::new();
    let id = h.open(StartTls(server_config(&[])));
    h.feed(id, b"hi\nSTARTTLS\n");
    assert_eq!(h.take_output(id), b"plain: hi\nOK\n");
    let mut c = client(id);
    c.write(&mut h, b"secret\n").unwrap();
    assert_eq!(c.read(&mut h).unwrap(), b"tls: secret\n");
}

#[test]
fn starttls_hands_the_bytes_after_the_command_to_the_tls_layer() {
    let mut h = Harness::new();
    let id = h.open(StartTls(server_config(&[])));
    // The client sends its ClientHello right behind the command, in the same segment.
    let mut c = client(id);
    let mut hello = Vec::new();
    while c.connection().wants_write() {
        c.connection().write_tls(&mut hello).unwrap();
    }
    let mut segment = b"STARTTLS\n".to_vec();
    segment.extend_from_slice(&hello);
    h.feed(id, &segment);
    let out = h.take_output(id);
    assert!(out.starts_with(b"OK\n"), "{out:?}");
    // What follows the OK is the server's handshake flight.
    let mut rest = &out[3..];
    assert!(!rest.is_empty());
    while !rest.is_empty() {
        c.connection().read_tls(&mut rest).unwrap();
    }
    c.connection().process_new_packets().unwrap();
    c.write(&mut h, b"after\n").unwrap();
    assert_eq!(c.read(&mut h).unwrap(), b"tls: after\n");
}

#[test]
fn bytes_split_anywhere_make_the_same_session() {
    for split in [1usize, 2, 5, 17, 100, 1000] {
        let mut h = Harness::new();
        let id = h.open_tls(Echo, server_config(&[]));
        let mut c = client(id);
        let mut out = Vec::new();
        while c.connection().wants_write() {
            c.connection().write_tls(&mut out).unwrap();
        }
        h.feed_chunks(id, &out, split);
        c.write(&mut h, b"split").unwrap();
        assert_eq!(c.read(&mut h).unwrap(), b"split", "split {split}");
    }
}
