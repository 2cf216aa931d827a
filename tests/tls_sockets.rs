//! TLS over real loopback sockets: a reactor serving TLS to rustls and OpenSSL clients, and
//! a reactor connecting out over TLS.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use netreactor::bytes::BytesMut;
use netreactor::tls::{self, rustls};
use netreactor::{CloseReason, Context, Protocol};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn server_config() -> Arc<rustls::ServerConfig> {
    tls::server_config_from_pem(&data("cert.pem"), &data("key.pem"), &[b"echo"]).unwrap()
}

struct Echo;
impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
    fn on_eof(&mut self, cx: &mut Context<'_>) {
        cx.close();
    }
}

fn echo_server() -> common::Server {
    common::spawn(|r| {
        let acceptor = tls::TlsAcceptor::new(server_config())
            .plaintext_reply(&b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"[..]);
        Ok(vec![r.listen_tls(
            "127.0.0.1:0".parse().unwrap(),
            acceptor,
            || Echo,
        )?])
    })
}

fn rustls_client(
    addr: std::net::SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let config = tls::client_config_trusting(&data("cert.pem"), &[b"echo"]).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    rustls::StreamOwned::new(conn, sock)
}

#[test]
fn megabytes_echo_through_tls_intact() {
    let server = echo_server();
    let mut s = rustls_client(server.addr());
    let payload: Vec<u8> = (0..4_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let writer_payload = payload.clone();
    // Written in 64 KiB steps, each read back before the next: within the socket buffers.
    let mut got = Vec::with_capacity(payload.len());
    let mut sent = 0;
    while got.len() < payload.len() {
        if sent < writer_payload.len() {
            let end = (sent + 64 * 1024).min(writer_payload.len());
            s.write_all(&writer_payload[sent..end]).unwrap();
            s.flush().unwrap();
            sent = end;
        }
        let mut buf = vec![0u8; 256 * 1024];
        let want = (sent - got.len()).min(buf.len());
        if want > 0 {
            let n = s.read(&mut buf[..want]).unwrap();
            assert!(n > 0, "server closed early");
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(got == payload, "echoed bytes differ");
    assert_eq!(s.conn.alpn_protocol(), Some(&b"echo"[..]));
    // A clean end: close_notify from us, the server's close_notify back, then EOF.
    s.conn.send_close_notify();
    s.flush().unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn openssl_s_client_talks_to_it() {
    common::require_tool("openssl");
    let server = echo_server();
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-no_ign_eof",
            "-alpn",
            "echo",
            "-servername",
            "localhost",
        ])
        .arg("-CAfile")
        .arg(data("cert.pem"))
        .arg("-verify_return_error")
        .arg("-connect")
        .arg(server.addr().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello from openssl\n").unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut line = vec![0u8; 19];
    stdout.read_exact(&mut line).unwrap();
    assert_eq!(line, b"hello from openssl\n");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plaintext_http_to_the_tls_port_gets_a_400() {
    let server = echo_server();
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    assert!(
        reply.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
        "{reply:?}"
    );
}

#[test]
fn the_reactor_connects_out_over_tls() {
    struct Ping(mpsc::Sender<Result<Vec<u8>, String>>, Vec<u8>);
    impl Protocol for Ping {
        fn on_open(&mut self, cx: &mut Context<'_>) {
            cx.write(&b"ping over tls"[..]);
        }
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            self.1.extend_from_slice(&input.split());
            if self.1.len() >= 13 {
                let alpn = cx.tls().and_then(|t| t.alpn().map(<[u8]>::to_vec));
                let _ = self.0.send(Ok(self.1.clone()));
                let _ = self.0.send(Ok(alpn.unwrap_or_default()));
                cx.close();
            }
        }
        fn on_close(&mut self, _cx: &mut Context<'_>, reason: &CloseReason) {
            let _ = self.0.send(Err(format!("{reason:?}")));
        }
    }
    let server = echo_server();
    let addr = server.addr();
    let (tx, rx) = mpsc::channel();
    let _client = common::spawn(move |r| {
        let config = tls::client_config_trusting(&data("cert.pem"), &[b"echo"])?;
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        r.connect_tls(addr, name, config, Ping(tx, Vec::new()))?;
        Ok(vec![])
    });
    let got = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(got.unwrap(), b"ping over tls");
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap(),
        b"echo"
    );
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Err("Local".into())
    );
}

#[test]
fn a_client_that_distrusts_the_certificate_fails_cleanly_and_the_server_goes_on() {
    let server = echo_server();
    // An empty trust store: the handshake fails on the client side.
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let sock = TcpStream::connect(server.addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut s = rustls::StreamOwned::new(conn, sock);
    assert!(s
        .write_all(b"x")
        .and_then(|_| s.flush())
        .and_then(|_| s.read(&mut [0u8; 4]))
        .is_err());
    // The next client is served.
    let mut ok = rustls_client(server.addr());
    ok.write_all(b"after").unwrap();
    let mut buf = [0u8; 5];
    ok.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"after");
    let stats = common::wait_for_stats(server.handle(), |s| s.errors >= 1);
    assert!(
        stats.errors >= 1,
        "the failed handshake is counted: {stats:?}"
    );
}

#[test]
fn a_proxy_protocol_header_before_the_handshake_gives_the_peer_address() {
    use netreactor::{ListenOptions, ProxyProtocol};
    /// Answers with the peer address it sees.
    struct WhoAmI;
    impl Protocol for WhoAmI {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
            let tls = cx.is_tls();
            cx.write(format!("{:?} tls={tls}", cx.peer_addr()).into_bytes());
            cx.close();
        }
    }
    let server = common::spawn(|r| {
        let opts = ListenOptions::default().proxy_protocol(ProxyProtocol::Required);
        let acceptor = tls::TlsAcceptor::new(server_config());
        Ok(vec![r.listen_tls_with(
            "127.0.0.1:0".parse().unwrap(),
            &opts,
            acceptor,
            || WhoAmI,
        )?])
    });
    let config = tls::client_config_trusting(&data("cert.pem"), &[b"echo"]).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(config, name).unwrap();
    let mut sock = TcpStream::connect(server.addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The header and the ClientHello in one segment, as HAProxy's send-proxy-v2 does.
    let header = netreactor::proxy_header::encode_v2(
        "203.0.113.7:4242".parse().unwrap(),
        server.addr(),
        &[],
    );
    let mut first = header;
    conn.write_tls(&mut first).unwrap();
    sock.write_all(&first).unwrap();
    let mut s = rustls::StreamOwned::new(conn, sock);
    s.write_all(b"who?").unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert_eq!(reply, "Some(203.0.113.7:4242) tls=true");
}

#[test]
fn a_tls_client_still_sending_reads_the_answer_and_close_notify() {
    // The server answers the first bytes and closes, leaving the rest unread: the close
    // lingers under TLS too, after its close_notify, so the client's writes are drained.
    struct Reject;
    impl Protocol for Reject {
        fn on_data(&mut self, cx: &mut Context<'_>, _: &mut BytesMut) {
            cx.write("no\n");
            cx.close();
        }
    }
    let server = common::spawn(|r| {
        let acceptor = tls::TlsAcceptor::new(server_config());
        Ok(vec![r.listen_tls(
            "127.0.0.1:0".parse().unwrap(),
            acceptor,
            || Reject,
        )?])
    });
    let mut s = rustls_client(server.addr());
    s.write_all(&vec![b'x'; 32 << 20]).expect("no reset");
    s.flush().unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got)
        .expect("the answer, then close_notify");
    assert_eq!(got, b"no\n");
    drop(s);
    let stats = common::wait_for_stats(server.handle(), |s| s.open == 0);
    assert_eq!((stats.lingered, stats.lingering, stats.open), (1, 0, 0));
}
