//! Telnet: the stream parser on chat-like and IAC-heavy input (bytes/s), and the cost of one
//! chat message broadcast to 5,000 connected users (encoded once, the same `Bytes` cloned
//! into every receiver's queue) and read by each, through the core's harness.
//! Run: `cargo bench --bench telnet_parse`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use netreactor::testing::Harness;
use netreactor_protocols::telnet::conn::TelnetConn;
use netreactor_protocols::telnet::parse::Parser;
use netreactor_protocols::telnet::server::{shared, TelnetConfig};

fn chat_like() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..200 {
        v.extend_from_slice(
            format!("message number {i} from a user typing at a terminal\r\n").as_bytes(),
        );
    }
    v
}

fn iac_heavy() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..400u32 {
        v.extend_from_slice(&[
            255,
            251,
            (i % 40) as u8,
            255,
            255,
            b'x',
            255,
            250,
            31,
            0,
            80,
            0,
            24,
            255,
            240,
            255,
            241,
        ]);
        v.extend_from_slice(b"ab\r\0");
    }
    v
}

fn parser(c: &mut Criterion) {
    for (name, input) in [("chat_like", chat_like()), ("iac_heavy", iac_heavy())] {
        let mut g = c.benchmark_group(format!("telnet_parse_{name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        let mut events = Vec::with_capacity(4096);
        g.bench_function("netreactor", |b| {
            b.iter(|| {
                let mut p = Parser::new(256);
                events.clear();
                p.feed(black_box(&input), &mut events);
                events.len()
            })
        });
        g.finish();
    }
}

fn broadcast(c: &mut Criterion) {
    const USERS: usize = 5000;
    let room = shared(TelnetConfig {
        max_connections: USERS + 1,
        rate: u32::MAX,
        burst: u32::MAX,
        ..TelnetConfig::default()
    });
    let mut h = Harness::new();
    let users: Vec<_> = (0..USERS)
        .map(|_| h.open(TelnetConn::new(room.clone())))
        .collect();
    for &u in &users {
        h.take_output(u);
    }
    let mut g = c.benchmark_group("telnet_broadcast_5000_users");
    g.throughput(Throughput::Elements(USERS as u64 - 1));
    g.sample_size(20);
    // One message in, delivered to every other user (their virtual sockets read it), so
    // nothing accumulates between iterations.
    g.bench_function("one_message_delivered", |b| {
        b.iter(|| {
            h.feed(users[0], b"hello everyone\r\n");
            let mut delivered = 0;
            for &u in &users[1..] {
                delivered += h.take_output(u).len();
            }
            assert_eq!(
                delivered,
                (USERS - 1) * b"<guest1> hello everyone\r\n".len(),
                "every user gets the line"
            );
            delivered
        })
    });
    g.finish();
}

criterion_group!(benches, parser, broadcast);
criterion_main!(benches);
