//! One WebSocket client streaming compressed messages that inflate to 15 MiB each cannot
//! stall the others: inflation and the echo's compression proceed in slices between which
//! the reactor serves other connections. A real socket: the reactor is the subject.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use netreactor::ListenOptions;
use netreactor_protocols::websocket::deflate::{Deflater, Inflater};
use netreactor_protocols::websocket::encode::put_header;
use netreactor_protocols::websocket::mask::apply_mask;
use netreactor_protocols::websocket::parse::Reader;
use netreactor_protocols::websocket::{self, Echo, Message, Opcode, Role, ServerConfig};

fn server() -> common::Server {
    common::spawn(|r| {
        let addr = websocket::listen(
            r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            ServerConfig::default(),
            || Echo,
        )?;
        Ok(vec![addr])
    })
}

/// A client connection after the handshake, with a frame reader.
struct Client {
    s: TcpStream,
    reader: Reader,
    input: BytesMut,
}

impl Client {
    fn open(addr: SocketAddr, deflate: bool) -> Client {
        let mut s = common::connect(addr);
        s.set_nodelay(true).unwrap();
        let ext = if deflate {
            "Sec-WebSocket-Extensions: permessage-deflate\r\n"
        } else {
            ""
        };
        write!(
            s,
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert_eq!(head.contains("permessage-deflate"), deflate, "{head}");
        let mut reader = Reader::new(Role::Client, websocket::Limits::default());
        if deflate {
            reader.set_inflater(Inflater::new(false));
        }
        Client {
            s,
            reader,
            input: BytesMut::new(),
        }
    }

    fn send(&mut self, first: u8, payload: &[u8]) {
        let key = [3, 1, 4, 1];
        let mut out = BytesMut::new();
        put_header(
            &mut out,
            true,
            false,
            Opcode::Binary,
            payload.len() as u64,
            Some(key),
        );
        out[0] = first;
        let at = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[at..], key, 0);
        self.s.write_all(&out).unwrap();
    }

    fn recv(&mut self) -> Message {
        loop {
            if let Some(m) = self.reader.read(&mut self.input).expect("valid frames") {
                return m;
            }
            let mut buf = [0u8; 64 * 1024];
            let n = self.s.read(&mut buf).expect("the server answers");
            assert!(n > 0, "connection closed");
            self.input.extend_from_slice(&buf[..n]);
        }
    }
}

#[test]
fn a_client_streaming_inflating_messages_does_not_stall_another() {
    let server = server();
    let addr = server.addr();
    // 15 MiB of zeros: about 15 KB of deflate, under the 16 MiB compressed-message limit.
    let mut bomb = BytesMut::new();
    assert!(Deflater::new(15, true, 9).compress(&vec![0u8; 15 << 20], &mut bomb));
    let stop = Arc::new(AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        let bomb = bomb.clone();
        std::thread::spawn(move || {
            let mut c = Client::open(addr, true);
            let mut echoed = 0;
            while !stop.load(Ordering::Relaxed) {
                c.send(0xC2, &bomb);
                match c.recv() {
                    Message::Binary(b) => assert_eq!(b.len(), 15 << 20),
                    other => panic!("{other:?}"),
                }
                echoed += 1;
            }
            echoed
        })
    };
    // Let the attacker's first message get going.
    std::thread::sleep(Duration::from_millis(200));
    let mut victim = Client::open(addr, false);
    let mut worst = Duration::ZERO;
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        victim.send(0x82, b"ping?");
        assert_eq!(victim.recv(), Message::Binary(b"ping?".to_vec().into()));
        worst = worst.max(t.elapsed());
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let echoed = attacker.join().unwrap();
    println!("victim: {rounds} round trips, worst {worst:?}; attacker: {echoed} messages echoed");
    assert!(echoed >= 1, "the attacker is served too");
    // Self-calibrating on a loaded machine: run to completion in one callback, each of the
    // attacker's messages would hold the victim for about as long as it takes; in slices,
    // the victim waits a small fraction of that.
    let per_message = started.elapsed() / echoed;
    assert!(
        worst * 4 < per_message && worst < Duration::from_secs(1),
        "a victim round trip took {worst:?}; one attacker message {per_message:?}"
    );
}
