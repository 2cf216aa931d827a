//! Counters per server (`ListenOptions::label`, `ListenerStats`) over real loopback sockets.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{connect, roundtrip};
use netreactor::bytes::BytesMut;
use netreactor::{CloseReason, Context, ListenOptions, ListenerStats, Protocol};

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

/// The server's counters for `label`, read on its thread through `Handle::call`.
fn stats_of(server: &common::Server, label: &str) -> ListenerStats {
    let (tx, rx) = mpsc::channel();
    let label = label.to_owned();
    assert!(server.handle().call(move |cx| {
        let s = cx
            .listener_stats()
            .iter()
            .find(|s| s.label == label)
            .cloned();
        let _ = tx.send(s);
    }));
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_or_default()
}

fn wait_for(
    server: &common::Server,
    label: &str,
    ok: impl Fn(&ListenerStats) -> bool,
) -> ListenerStats {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = stats_of(server, label);
        if ok(&s) || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn each_label_counts_its_own_connections_bytes_and_close_reasons() {
    let server = common::spawn(|r| {
        let a = r.listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default().label("a"),
            || Echo,
        )?;
        let b = r.listen_tcp_with(
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default().label("b"),
            || Echo,
        )?;
        Ok(vec![a, b])
    });
    let (a, b) = (server.addrs[0], server.addrs[1]);
    let mut s1 = connect(a);
    let mut s2 = connect(a);
    let mut s3 = connect(b);
    assert_eq!(roundtrip(&mut s1, b"hello"), b"hello");
    assert_eq!(roundtrip(&mut s2, b"hi"), b"hi");
    assert_eq!(roundtrip(&mut s3, b"0123456789"), b"0123456789");
    let sa = wait_for(&server, "a", |s| s.open == 2);
    assert_eq!(
        (sa.accepted, sa.open, sa.bytes_in, sa.bytes_out),
        (2, 2, 7, 7)
    );
    let sb = stats_of(&server, "b");
    assert_eq!(
        (sb.accepted, sb.open, sb.bytes_in, sb.bytes_out),
        (1, 1, 10, 10)
    );
    drop(s1);
    let sa = wait_for(&server, "a", |s| s.open == 1);
    assert_eq!(sa.open, 1);
    let peer = CloseReason::Peer.kind_index();
    assert_eq!(sa.closed[peer], 1, "{sa:?}");
    assert_eq!(sa.closed_total(), 1);
    assert_eq!(stats_of(&server, "b").closed_total(), 0);
    drop((s2, s3));
}
