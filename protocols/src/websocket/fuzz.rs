//! Fuzz entry points of the websocket protocol (shared by `fuzz/` and the corpus-replay test).
//! None may panic on any input.

use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use netreactor::testing::Harness;

use super::conn::{ClientConfig, WsConn};
use super::deflate::{self, DeflateConfig, Deflater, Inflater};
use super::handshake;
use super::parse::{Limits, Reader, Role};
use super::server::{Echo, ServerConfig};

/// `(target name, entry point)` for every websocket fuzz target.
pub const TARGETS: &[crate::FuzzTarget] = &[
    ("ws_frame", frame),
    ("ws_handshake", handshake_head),
    ("ws_deflate", deflate_path),
    ("ws_conn", conn),
];

/// The frame reader: byte 0 picks the role, compression and read size; the rest is the wire.
pub fn frame(data: &[u8]) {
    let Some((&ctl, wire)) = data.split_first() else {
        return;
    };
    let role = if ctl & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let mut r = Reader::new(
        role,
        Limits {
            max_frame: 1 << 16,
            max_message: 1 << 16,
            ..Limits::default()
        },
    );
    if ctl & 2 != 0 {
        r.set_inflater(Inflater::new(ctl & 4 != 0));
    }
    let chunk = (ctl >> 3) as usize + 1;
    let mut input = BytesMut::new();
    for piece in wire.chunks(chunk) {
        input.extend_from_slice(piece);
        loop {
            match r.read(&mut input) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    let _ = (e.close_code(), e.reason());
                    return;
                }
            }
        }
    }
}

/// The handshake parsers: the server's request reader, the client's response check and the
/// extension negotiation.
pub fn handshake_head(data: &[u8]) {
    if let Ok(Some((len, Ok(hs)))) = handshake::read_request(data, 8192) {
        assert!(len <= data.len());
        let a = handshake::accept(
            &hs,
            hs.protocols.first().cloned(),
            &DeflateConfig::default(),
        );
        let _ = a.response();
    }
    let _ = handshake::check_response(data, "dGhlIHNhbXBsZSBub25jZQ==", &["chat"], true);
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(p) = deflate::negotiate([s], &DeflateConfig::default()) {
            assert!((8..=15).contains(&p.server_max_window_bits));
            let _ = deflate::client_accept(&p.response_header()).expect("our own answer parses");
        }
        let _ = deflate::client_accept(s);
    }
}

/// Inflating arbitrary bytes (bounded), and compress-then-inflate giving the input back.
pub fn deflate_path(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let mut out = BytesMut::new();
    let mut inf = Inflater::new(ctl & 1 != 0);
    // In slices of 64 KiB, as the server inflates (the output checked as it grows).
    let mut input = rest;
    while let Ok(p) = inf.inflate(input, &mut out, 1 << 20, 64 * 1024) {
        input = &input[p.consumed..];
        if p.done {
            let _ = inf.finish(&mut out, 1 << 20);
            break;
        }
    }
    assert!(out.len() <= (1 << 20) + 1);
    let bits = 8 + (ctl >> 1) % 8;
    let mut d = Deflater::new(bits, ctl & 0x10 != 0, 1);
    let mut inf = Inflater::new(ctl & 0x10 != 0);
    for msg in [rest, &rest[..rest.len() / 2]] {
        let mut c = BytesMut::new();
        assert!(d.compress(msg, &mut c), "no memory limit set");
        let mut back = BytesMut::new();
        inf.inflate(&c, &mut back, usize::MAX, usize::MAX)
            .expect("our own output inflates");
        inf.finish(&mut back, usize::MAX)
            .expect("our own output inflates");
        assert_eq!(&back[..], msg);
    }
}

const UPGRADE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

/// The whole server state machine through the harness: byte 0 chooses whether a valid
/// upgrade goes first, and where the rest is split; then time passes and the peer closes.
/// A client connection gets the same bytes as its server's answer.
pub fn conn(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let mut h = Harness::new();
    let config = ServerConfig {
        limits: Limits {
            max_frame: 1 << 16,
            max_message: 1 << 16,
            ..Limits::default()
        },
        ..ServerConfig::default()
    };
    let s = h.open(WsConn::server(Rc::new(config), Echo));
    if ctl & 1 != 0 {
        h.feed(s, UPGRADE);
    }
    let step = (ctl as usize >> 1) + 1;
    let splits: Vec<usize> = (step..rest.len()).step_by(step).collect();
    h.feed_split(s, rest, &splits);
    let _ = h.take_output(s);
    h.advance(Duration::from_secs(6));
    h.eof(s);
    h.advance(Duration::from_secs(11));
    assert!(
        !h.is_open(s),
        "every server connection ends after EOF and the timeouts"
    );

    let c = h.open(WsConn::client(ClientConfig::default(), Echo));
    let _ = h.take_output(c);
    h.feed_split(c, rest, &splits);
    h.eof(c);
    h.advance(Duration::from_secs(11));
    assert!(!h.is_open(c));
}

#[cfg(test)]
mod tests {
    #[test]
    fn targets_survive_simple_inputs() {
        for (_, f) in super::TARGETS {
            for input in [
                &b""[..],
                b"\x00",
                b"\x01\x81\x85\x01\x02\x03\x04hello",
                b"\xff\xff\xff",
            ] {
                f(input);
            }
        }
    }
}
