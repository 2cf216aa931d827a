//! TLS on child connections through the harness: a parent that makes its accepted child a
//! TLS server hears `ChildEvent::TlsReady` once, before the child's first plaintext, and
//! sees through `ConnRef::tls` whether the child's peer ended with `close_notify`.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use netreactor::bytes::BytesMut;
use netreactor::testing::{Harness, TlsClient};
use netreactor::tls::{self, rustls};
use netreactor::{ChildEvent, ConnId, Context, Protocol};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn server_config() -> Arc<rustls::ServerConfig> {
    tls::server_config_from_pem(&data("cert.pem"), &data("key.pem"), &[]).unwrap()
}

/// Listens on a child; the accepted child speaks TLS; every child event is logged.
struct Parent {
    config: Arc<rustls::ServerConfig>,
    log: Rc<RefCell<Vec<String>>>,
}

impl Protocol for Parent {
    fn on_open(&mut self, cx: &mut Context<'_>) {
        cx.listen_child("127.0.0.1:0".parse().unwrap()).unwrap();
    }

    fn on_data(&mut self, _cx: &mut Context<'_>, input: &mut BytesMut) {
        input.clear();
    }

    fn on_child(&mut self, cx: &mut Context<'_>, child: ConnId, event: ChildEvent<'_>) {
        let entry = match event {
            ChildEvent::Accepted { conn, .. } => {
                assert!(cx.conn(conn).start_tls_server(self.config.clone()));
                "accepted".to_string()
            }
            ChildEvent::TlsReady => {
                let conn = cx.conn(child);
                let tls = conn.tls().expect("a TLS child");
                assert!(!tls.is_handshaking());
                format!("ready {:?}", tls.connection().handshake_kind())
            }
            ChildEvent::Data(buf) => {
                let text = String::from_utf8_lossy(buf).into_owned();
                buf.clear();
                cx.conn(child).write(format!("echo {text}"));
                format!("data {text}")
            }
            ChildEvent::Eof => {
                let clean = cx.conn(child).tls().is_some_and(|t| t.peer_closed());
                cx.conn(child).close();
                format!("eof close_notify={clean}")
            }
            ChildEvent::Closed(reason) => format!("closed {reason:?}"),
            _ => return,
        };
        self.log.borrow_mut().push(entry);
    }
}

fn accept(h: &mut Harness, log: &Rc<RefCell<Vec<String>>>) -> (ConnId, TlsClient) {
    let parent = h.open(Parent {
        config: server_config(),
        log: log.clone(),
    });
    let listener = h.children(parent)[0];
    let child = h
        .accept_child(listener, "127.0.0.1:40000".parse().unwrap())
        .unwrap();
    let client = TlsClient::trusting_pem(child, &data("cert.pem"), "localhost").unwrap();
    (child, client)
}

#[test]
fn a_tls_child_reports_its_handshake_once_before_its_plaintext() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut h = Harness::new();
    let (_child, mut client) = accept(&mut h, &log);
    // "one" leaves with the client's Finished, in the same read as the handshake's end.
    client.write(&mut h, b"one").unwrap();
    client.write(&mut h, b"two").unwrap();
    assert_eq!(client.read(&mut h).unwrap(), b"echo oneecho two");
    assert_eq!(
        *log.borrow(),
        ["accepted", "ready Some(Full)", "data one", "data two"]
    );
}

#[test]
fn a_child_sees_whether_its_peer_ended_with_close_notify() {
    for clean in [true, false] {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut h = Harness::new();
        let (child, mut client) = accept(&mut h, &log);
        client.write(&mut h, b"x").unwrap();
        if clean {
            client.close_notify(&mut h).unwrap();
        }
        h.eof(child);
        let log = log.borrow();
        assert!(
            log.contains(&format!("eof close_notify={clean}")),
            "{clean}: {log:?}"
        );
        let closed = if clean {
            "closed Peer"
        } else {
            "closed TlsTruncated"
        };
        assert_eq!(log.last().map(String::as_str), Some(closed), "{log:?}");
    }
}
