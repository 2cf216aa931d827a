//! Fuzz entry points of the Telnet protocol (shared by `fuzz/` and the corpus-replay test).

use super::parse::{Event, Parser};

/// `(target name, entry point)` for every Telnet fuzz target.
pub const TARGETS: &[crate::FuzzTarget] = &[
    ("telnet_parser", telnet_parser),
    ("telnet_session", telnet_session),
];

fn merged(events: Vec<Event>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (Some(Event::Data(a)), Event::Data(b)) => a.extend(b),
            (_, e) => out.push(e),
        }
    }
    out
}

/// The stream parser: never panics, and splitting the input anywhere (the first byte picks
/// where) gives the same events as parsing it whole.
pub fn telnet_parser(data: &[u8]) {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let cut = cut as usize % (input.len() + 1);
    let (mut whole, mut split) = (Vec::new(), Vec::new());
    Parser::new(64).feed(input, &mut whole);
    let mut p = Parser::new(64);
    p.feed(&input[..cut], &mut split);
    p.feed(&input[cut..], &mut split);
    assert_eq!(merged(whole), merged(split));
}

/// Two users in one room through the harness; the input is split between them in runs
/// chosen by its bytes, with the clock moving. Never panics; output stays bounded.
pub fn telnet_session(data: &[u8]) {
    use std::time::Duration;

    use netreactor::testing::Harness;

    use super::conn::TelnetConn;
    use super::server::{shared, TelnetConfig};

    let shared = shared(TelnetConfig {
        max_line: 64,
        idle_timeout: Duration::from_secs(30),
        ..TelnetConfig::default()
    });
    let mut h = Harness::new();
    let users = [
        h.open(TelnetConn::new(shared.clone())),
        h.open(TelnetConn::new(shared.clone())),
    ];
    let mut rest = data;
    let mut out = 0usize;
    while let Some((&ctl, tail)) = rest.split_first() {
        let n = (ctl as usize % 16 + 1).min(tail.len());
        let (piece, tail) = tail.split_at(n);
        h.feed(users[(ctl >> 7) as usize], piece);
        if ctl & 0x40 != 0 {
            h.advance(Duration::from_millis(ctl as u64 * 10));
        }
        for u in users {
            out += h.take_output(u).len();
        }
        rest = tail;
    }
    assert!(
        out <= 64 * 1024 + data.len() * 64,
        "output grew to {out} bytes"
    );
}
