//! Sans-IO tests of FTPS through the core's harness: `AUTH TLS` on the control connection,
//! `PBSZ`/`PROT`/`CCC`, TLS data channels (passive and active), truncated uploads, the
//! required-TLS and session-reuse policies, and implicit FTPS.

use std::io::Read;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use netreactor::testing::{Harness, TlsClient};
use netreactor::tls::{self, rustls, TlsAcceptor};
use netreactor::ConnId;

use super::config::{FtpConfig, Shared};
use super::ftps::FtpsConfig;
use super::session_tests::{code, root};
use super::{FtpConn, User};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/tls")
        .join(name)
}

fn acceptor() -> TlsAcceptor {
    TlsAcceptor::new(
        tls::server_config_from_pem(&data("cert.pem"), &data("key.pem"), &[b"ftp"]).unwrap(),
    )
}

/// A client configuration trusting the test certificate; its session cache is shared by
/// every client made from it (so a data connection can resume the control session).
fn client_config() -> Arc<rustls::ClientConfig> {
    tls::client_config_trusting(&data("cert.pem"), &[]).unwrap()
}

/// A control connection in the harness; `tls` is its TLS client once `AUTH TLS` is done.
struct S {
    h: Harness,
    c: ConnId,
    tls: Option<TlsClient>,
    client: Arc<rustls::ClientConfig>,
    root: PathBuf,
}

fn config(root: &std::path::Path, ftps: Option<FtpsConfig>) -> FtpConfig {
    let mut config = FtpConfig {
        login_delay: Duration::from_millis(200),
        tls: ftps,
        ..FtpConfig::default()
    };
    config.users.add(User {
        name: "foo".into(),
        password: "bar".into(),
        home: root.to_path_buf(),
        perms: "elradfmwMT".parse().unwrap(),
    });
    config
}

fn setup(name: &str, tweak: impl FnOnce(&mut FtpsConfig)) -> S {
    let root = root(name);
    let mut ftps = FtpsConfig::new(acceptor());
    tweak(&mut ftps);
    let mut h = Harness::new();
    let c = h.open(FtpConn::new(Rc::new(Shared::new(config(
        &root,
        Some(ftps),
    )))));
    assert!(h.peek_output(c).starts_with("220 "));
    h.take_output(c);
    S {
        h,
        c,
        tls: None,
        client: client_config(),
        root,
    }
}

impl S {
    /// Sends a line (over TLS once it is on) and returns the reply.
    fn send(&mut self, line: &str) -> String {
        match &mut self.tls {
            Some(t) => {
                t.write(&mut self.h, line.as_bytes()).unwrap();
                String::from_utf8(t.read(&mut self.h).unwrap()).unwrap()
            }
            None => {
                self.h.feed(self.c, line.as_bytes());
                String::from_utf8(self.h.take_output(self.c)).unwrap()
            }
        }
    }

    /// `AUTH TLS`, the handshake, then a login and `PBSZ 0`.
    fn secure(&mut self) {
        assert_eq!(self.send("AUTH TLS\r\n"), "234 AUTH TLS successful.\r\n");
        let mut t = TlsClient::new(self.c, self.client.clone(), "localhost").unwrap();
        t.pump(&mut self.h).unwrap();
        assert!(!t.connection().is_handshaking());
        self.tls = Some(t);
        assert!(self.h.tls_info(self.c).is_some());
        assert_eq!(code(&self.send("USER foo\r\n")), "331");
        assert_eq!(code(&self.send("PASS bar\r\n")), "230");
        assert_eq!(self.send("PBSZ 0\r\n"), "200 PBSZ=0\r\n");
    }

    /// PASV and the client's connection to it.
    fn pasv_connect(&mut self) -> ConnId {
        assert_eq!(code(&self.send("PASV\r\n")), "227");
        let listener = *self.h.children(self.c).last().unwrap();
        self.h
            .accept_child(listener, "127.0.0.1:40001".parse().unwrap())
            .unwrap()
    }

    /// Replies that arrived on the control connection without a command.
    fn replies(&mut self) -> String {
        match &mut self.tls {
            Some(t) => String::from_utf8(t.read(&mut self.h).unwrap()).unwrap(),
            None => String::from_utf8(self.h.take_output(self.c)).unwrap(),
        }
    }

    fn data_client(&self, child: ConnId) -> TlsClient {
        TlsClient::new(child, self.client.clone(), "localhost").unwrap()
    }
}

/// True when the client saw the server's close_notify (a clean end of the TLS stream).
fn saw_close_notify(t: &mut TlsClient) -> bool {
    let mut buf = [0u8; 16];
    matches!(t.connection().reader().read(&mut buf), Ok(0))
}

#[test]
fn auth_tls_answers_234_in_plaintext_and_the_session_starts_over() {
    let mut s = setup("ftps-auth", |_| {});
    assert_eq!(code(&s.send("USER foo\r\n")), "331");
    assert_eq!(s.send("AUTH TLS\r\n"), "234 AUTH TLS successful.\r\n");
    let mut t = TlsClient::new(s.c, s.client.clone(), "localhost").unwrap();
    t.pump(&mut s.h).unwrap();
    s.tls = Some(t);
    // RFC 4217 §4: the USER given before AUTH is forgotten.
    assert_eq!(code(&s.send("PASS bar\r\n")), "503");
    assert_eq!(code(&s.send("USER foo\r\n")), "331");
    assert_eq!(code(&s.send("PASS bar\r\n")), "230");
    assert_eq!(code(&s.send("AUTH TLS\r\n")), "503", "already TLS");
    let stat = s.send("STAT\r\n");
    assert!(
        stat.contains("Control connection: TLS; data protection: Clear"),
        "{stat}"
    );
}

#[test]
fn auth_ssl_and_tls_c_are_accepted_other_mechanisms_are_504() {
    for mech in ["SSL", "TLS-C", "tls"] {
        let mut s = setup("ftps-mech", |_| {});
        assert_eq!(code(&s.send(&format!("AUTH {mech}\r\n"))), "234", "{mech}");
    }
    let mut s = setup("ftps-mech", |_| {});
    assert_eq!(code(&s.send("AUTH GSSAPI\r\n")), "504");
    assert_eq!(code(&s.send("AUTH\r\n")), "504");
}

#[test]
fn pbsz_prot_and_ccc_follow_rfc_4217() {
    let mut s = setup("ftps-prot", |_| {});
    assert_eq!(code(&s.send("PBSZ 0\r\n")), "503", "PBSZ before AUTH");
    assert_eq!(code(&s.send("PROT P\r\n")), "503", "PROT before AUTH");
    assert_eq!(s.send("AUTH TLS\r\n"), "234 AUTH TLS successful.\r\n");
    let mut t = TlsClient::new(s.c, s.client.clone(), "localhost").unwrap();
    t.pump(&mut s.h).unwrap();
    s.tls = Some(t);
    assert_eq!(code(&s.send("PROT P\r\n")), "503", "PROT before PBSZ");
    assert_eq!(code(&s.send("PBSZ x\r\n")), "501");
    assert_eq!(s.send("PBSZ 16384\r\n"), "200 PBSZ=0\r\n");
    assert_eq!(code(&s.send("PROT S\r\n")), "536");
    assert_eq!(code(&s.send("PROT E\r\n")), "536");
    assert_eq!(code(&s.send("PROT Q\r\n")), "504");
    assert_eq!(s.send("PROT P\r\n"), "200 PROT now Private.\r\n");
    assert_eq!(s.send("PROT C\r\n"), "200 PROT now Clear.\r\n");
    assert_eq!(code(&s.send("CCC\r\n")), "534");
    assert_eq!(code(&s.send("CCC x\r\n")), "501");
}

#[test]
fn feat_lists_auth_tls_pbsz_and_prot_only_when_tls_is_configured() {
    let mut s = setup("ftps-feat", |_| {});
    let feat = s.send("FEAT\r\n");
    for line in [" AUTH TLS\r\n", " PBSZ\r\n", " PROT\r\n", " EPSV\r\n"] {
        assert!(feat.contains(line), "{line:?} in {feat}");
    }
    let dir = root("ftps-nofeat");
    let mut h = Harness::new();
    let c = h.open(FtpConn::new(Rc::new(Shared::new(config(&dir, None)))));
    h.take_output(c);
    h.feed(c, b"FEAT\r\n");
    let feat = String::from_utf8(h.take_output(c)).unwrap();
    assert!(!feat.contains("AUTH") && !feat.contains("PROT") && feat.contains(" EPSV"));
    h.feed(c, b"AUTH TLS\r\n");
    assert_eq!(code(&String::from_utf8(h.take_output(c)).unwrap()), "502");
}

#[test]
fn plaintext_pipelined_behind_auth_is_never_run_as_a_command() {
    let mut s = setup("ftps-inject", |_| {});
    // The STARTTLS injection: commands sent in plaintext behind AUTH must not run inside
    // the protected session. They reach the TLS layer, which rejects them.
    s.h.feed(s.c, b"AUTH TLS\r\nUSER foo\r\nPASS bar\r\n");
    let out = s.h.take_output(s.c);
    assert!(out.starts_with(b"234 AUTH TLS successful.\r\n"), "{out:?}");
    let rest = &out[b"234 AUTH TLS successful.\r\n".len()..];
    assert!(
        !rest.windows(3).any(|w| w == b"331" || w == b"230"),
        "{rest:?}"
    );
    assert!(
        !s.h.is_open(s.c),
        "the TLS layer closes on a non-TLS record"
    );
}

#[test]
fn auth_queued_behind_a_delayed_login_is_refused() {
    let mut s = setup("ftps-queued", |_| {});
    s.send("USER foo\r\nPASS wrong\r\nAUTH TLS\r\n");
    s.h.advance(Duration::from_millis(250));
    let out = s.replies();
    assert!(
        out.starts_with("530 ") && out.contains("\r\n503 AUTH must be sent alone"),
        "{out}"
    );
    assert!(s.h.tls_info(s.c).is_none());
}

#[test]
fn a_protected_passive_download_is_tls_and_ends_with_close_notify() {
    let mut s = setup("ftps-retr", |_| {});
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(s.root.join("big.bin"), &body).unwrap();
    s.secure();
    assert_eq!(code(&s.send("PROT P\r\n")), "200");
    s.send("TYPE I\r\n");
    let child = s.pasv_connect();
    assert_eq!(code(&s.send("RETR big.bin\r\n")), "125");
    let mut d = s.data_client(child);
    let mut got = Vec::new();
    for _ in 0..100 {
        got.extend(d.read(&mut s.h).unwrap());
        if got.len() >= body.len() {
            break;
        }
    }
    assert!(got == body, "{} of {} bytes", got.len(), body.len());
    assert!(
        saw_close_notify(&mut d),
        "the server ended the data TLS with close_notify"
    );
    assert!(!s.h.is_open(child));
    assert_eq!(s.replies(), "226 Transfer complete.\r\n");
    // LIST the same way, the data connection opened after the command (150).
    assert_eq!(code(&s.send("PASV\r\n")), "227");
    let listener = *s.h.children(s.c).last().unwrap();
    assert_eq!(code(&s.send("LIST\r\n")), "150");
    let child =
        s.h.accept_child(listener, "127.0.0.1:40002".parse().unwrap())
            .unwrap();
    let mut d = s.data_client(child);
    let list = String::from_utf8(d.read(&mut s.h).unwrap()).unwrap();
    assert!(list.contains(" big.bin\r\n"), "{list}");
    assert!(saw_close_notify(&mut d));
    assert_eq!(code(&s.replies()), "226");
}

#[test]
fn a_protected_upload_is_stored_after_close_notify_and_discarded_without_it() {
    let mut s = setup("ftps-stor", |_| {});
    s.secure();
    assert_eq!(code(&s.send("PROT P\r\n")), "200");
    s.send("TYPE I\r\n");
    let child = s.pasv_connect();
    assert_eq!(code(&s.send("STOR up.bin\r\n")), "125");
    let mut d = s.data_client(child);
    d.write(&mut s.h, b"uploaded over tls").unwrap();
    d.close_notify(&mut s.h).unwrap();
    s.h.eof(child);
    assert_eq!(s.replies(), "226 Transfer complete.\r\n");
    assert_eq!(
        std::fs::read(s.root.join("up.bin")).unwrap(),
        b"uploaded over tls"
    );
    assert!(d.read(&mut s.h).unwrap().is_empty());
    assert!(
        saw_close_notify(&mut d),
        "the server answered with its close_notify"
    );

    // The client's TCP end without close_notify: a truncation, nothing is stored.
    let child = s.pasv_connect();
    assert_eq!(code(&s.send("STOR cut.bin\r\n")), "125");
    let mut d = s.data_client(child);
    d.write(&mut s.h, b"half of it").unwrap();
    s.h.eof(child);
    let out = s.replies();
    assert!(
        out.starts_with("426 ") && out.contains("close_notify"),
        "{out}"
    );
    assert!(!s.root.join("cut.bin").exists());
    let names: Vec<String> = std::fs::read_dir(&s.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("cut.bin")),
        "no temporary left: {names:?}"
    );
}

#[test]
fn an_active_protected_transfer_makes_the_server_the_tls_server() {
    let mut s = setup("ftps-port", |_| {});
    std::fs::write(s.root.join("a.txt"), b"active\n").unwrap();
    s.secure();
    assert_eq!(code(&s.send("PROT P\r\n")), "200");
    assert_eq!(code(&s.send("PORT 127,0,0,1,156,64\r\n")), "200");
    assert_eq!(code(&s.send("RETR a.txt\r\n")), "150");
    let child = *s.h.children(s.c).last().unwrap();
    assert_eq!(
        s.h.child_connect_addr(child),
        Some("127.0.0.1:40000".parse().unwrap())
    );
    s.h.complete_connect(child, true);
    let mut d = s.data_client(child);
    assert_eq!(d.read(&mut s.h).unwrap(), b"active\r\n");
    assert!(saw_close_notify(&mut d));
    assert_eq!(code(&s.replies()), "226");
}

#[test]
fn garbage_on_a_protected_data_connection_is_522() {
    let mut s = setup("ftps-garbage", |_| {});
    s.secure();
    assert_eq!(code(&s.send("PROT P\r\n")), "200");
    let child = s.pasv_connect();
    assert_eq!(code(&s.send("LIST\r\n")), "125");
    s.h.feed(child, b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00");
    let out = s.replies();
    assert!(
        out.starts_with("522 TLS on the data connection failed"),
        "{out}"
    );
    assert!(!s.h.is_open(child));
    assert_eq!(code(&s.send("NOOP\r\n")), "200");
}

#[test]
fn required_tls_refuses_plaintext_logins_with_530_and_clear_transfers_with_521() {
    let mut s = setup("ftps-required", |f| f.required = true);
    assert_eq!(code(&s.send("USER foo\r\n")), "530");
    assert_eq!(code(&s.send("PASS bar\r\n")), "530");
    s.secure();
    assert_eq!(code(&s.send("LIST\r\n")), "521", "PROT C is the default");
    assert_eq!(code(&s.send("PROT C\r\n")), "200");
    assert_eq!(code(&s.send("RETR a.txt\r\n")), "521");
    assert_eq!(code(&s.send("STOR b.txt\r\n")), "521");
    assert!(!s.root.join("b.txt").exists());
    assert_eq!(code(&s.send("PROT P\r\n")), "200");
    let child = s.pasv_connect();
    assert_eq!(code(&s.send("RETR a.txt\r\n")), "125");
    let mut d = s.data_client(child);
    assert_eq!(d.read(&mut s.h).unwrap(), b"one\r\ntwo\r\n");
    assert_eq!(code(&s.replies()), "226");
}

#[test]
fn required_reuse_accepts_a_resumed_data_session_and_refuses_a_new_one_with_522() {
    let mut s = setup("ftps-reuse", |f| f.require_reuse = true);
    s.secure();
    assert_eq!(code(&s.send("PROT P\r\n")), "200");
    // A data client with a cache of its own cannot resume: 522, and not a byte of the file.
    let child = s.pasv_connect();
    assert_eq!(code(&s.send("RETR a.txt\r\n")), "125");
    let mut stranger = TlsClient::new(child, client_config(), "localhost").unwrap();
    let got = stranger.read(&mut s.h).unwrap();
    assert!(got.is_empty(), "{got:?}");
    let out = s.replies();
    assert!(out.starts_with("522 TLS session reuse required"), "{out}");
    assert!(!s.h.is_open(child));
    // The control client's own cache resumes the control session: the transfer goes.
    for name in ["first", "second"] {
        let child = s.pasv_connect();
        assert_eq!(code(&s.send("RETR a.txt\r\n")), "125", "{name}");
        let mut d = s.data_client(child);
        assert_eq!(d.read(&mut s.h).unwrap(), b"one\r\ntwo\r\n", "{name}");
        assert_eq!(
            d.connection().handshake_kind(),
            Some(rustls::HandshakeKind::Resumed)
        );
        assert_eq!(code(&s.replies()), "226", "{name}");
    }
}

#[test]
fn implicit_ftps_speaks_tls_from_the_first_byte_with_prot_p() {
    let dir = root("ftps-implicit");
    let ftps = FtpsConfig::new(acceptor());
    let mut h = Harness::new();
    let c = h.open(FtpConn::implicit_tls(Rc::new(Shared::new(config(
        &dir,
        Some(ftps),
    )))));
    assert!(
        h.take_output(c).is_empty(),
        "nothing in plaintext, not even the 220"
    );
    let client = client_config();
    let mut t = TlsClient::new(c, client.clone(), "localhost").unwrap();
    let greeting = String::from_utf8(t.read(&mut h).unwrap()).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}");
    let mut s = S {
        h,
        c,
        tls: Some(t),
        client,
        root: dir,
    };
    assert_eq!(code(&s.send("USER foo\r\n")), "331");
    assert_eq!(code(&s.send("PASS bar\r\n")), "230");
    assert_eq!(code(&s.send("AUTH TLS\r\n")), "503");
    let child = s.pasv_connect();
    assert_eq!(code(&s.send("NLST\r\n")), "125");
    let mut d = s.data_client(child);
    let names = String::from_utf8(d.read(&mut s.h).unwrap()).unwrap();
    assert!(names.contains("a.txt\r\n"), "{names}");
    assert_eq!(code(&s.replies()), "226");
}

#[test]
fn an_empty_protected_listing_waits_for_the_handshake_before_closing() {
    // lftp connects, sends LIST, and handshakes only after the 125: an empty listing
    // must not close the data connection (close_notify) in the middle of the handshake.
    let mut s = setup("ftps-empty", |_| {});
    s.secure();
    assert_eq!(code(&s.send("PROT P\r\n")), "200");
    assert_eq!(code(&s.send("MKD empty\r\n")), "257");
    let child = s.pasv_connect();
    assert_eq!(code(&s.send("LIST empty\r\n")), "125");
    assert!(s.h.is_open(child), "open until the client has handshaken");
    assert_eq!(s.replies(), "", "no 226 before the data connection closed");
    let mut d = s.data_client(child);
    assert!(d.read(&mut s.h).unwrap().is_empty());
    assert!(!d.connection().is_handshaking());
    assert!(saw_close_notify(&mut d));
    assert_eq!(code(&s.replies()), "226");
}
