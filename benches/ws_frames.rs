//! Masked client frames parsed and unmasked by our `websocket::parse::Reader`, by
//! `tungstenite` and by `fastwebsockets` (each a long-lived server-role socket reading an
//! in-memory stream that repeats the frame forever), on the same bytes, one group per payload
//! size; plus our word-at-a-time unmasking beside the bytewise loop.
//!
//! `cargo bench --bench ws_frames` — the ratios of the `parse_unmask` lines in a group are
//! the figures that count. Steady state for all three: each iteration copies one frame's
//! bytes into the reader's (reused) buffer — for us the `BytesMut` a socket read fills, for
//! the others from their stream — then parses and unmasks it and hands out the payload.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use netreactor_protocols::websocket::encode::put_header;
use netreactor_protocols::websocket::mask::{apply_mask, apply_mask_bytewise};
use netreactor_protocols::websocket::parse::Reader;
use netreactor_protocols::websocket::{Limits, Message, Opcode, Role};
use tungstenite::protocol::{Role as TRole, WebSocket};

const KEY: [u8; 4] = [0x3a, 0x91, 0x07, 0xee];

/// An in-memory stream that yields the same frame over and over and discards writes.
struct Cyclic {
    data: Vec<u8>,
    pos: usize,
}

impl Cyclic {
    fn new(data: Vec<u8>) -> Cyclic {
        Cyclic { data, pos: 0 }
    }

    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos = (self.pos + n) % self.data.len();
        n
    }
}

impl std::io::Read for Cyclic {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl std::io::Write for Cyclic {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Cyclic {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Cyclic {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Polls a future that never waits (in-memory IO) to completion without a runtime.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("in-memory read pending"),
    }
}

fn masked_binary_frame(len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let mut out = BytesMut::new();
    put_header(&mut out, true, false, Opcode::Binary, len as u64, Some(KEY));
    let at = out.len();
    out.extend_from_slice(&payload);
    apply_mask(&mut out[at..], KEY, 0);
    out.to_vec()
}

fn frames(c: &mut Criterion) {
    let sizes = [
        ("16B", 16usize),
        ("1KiB", 1024),
        ("4KiB", 4096),
        ("64KiB", 64 * 1024),
        ("1MiB", 1 << 20),
    ];
    for (name, len) in sizes {
        let wire = masked_binary_frame(len);
        // The three readers agree on the payload (twice in a row) before anything is timed.
        let expected: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let mut fws = fastwebsockets::WebSocket::after_handshake(
            Cyclic::new(wire.clone()),
            fastwebsockets::Role::Server,
        );
        let mut tws = WebSocket::from_raw_socket(Cyclic::new(wire.clone()), TRole::Server, None);
        let mut reader = Reader::new(Role::Server, Limits::default());
        let mut input = BytesMut::new();
        for _ in 0..2 {
            assert_eq!(&ready(fws.read_frame()).unwrap().payload[..], &expected[..]);
            assert_eq!(tws.read().unwrap().into_data(), expected);
            input.extend_from_slice(&wire);
            assert_eq!(
                reader.read(&mut input).unwrap(),
                Some(Message::Binary(expected.clone().into()))
            );
        }
        let mut g = c.benchmark_group(format!("ws_frames/{name}"));
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function("netreactor_parse_unmask", |b| {
            b.iter(|| {
                // `reserve` reclaims the buffer once the previous payload was dropped.
                input.reserve(wire.len());
                input.extend_from_slice(&wire);
                match reader.read(&mut input) {
                    Ok(Some(Message::Binary(p))) => black_box(p.len()),
                    other => panic!("{other:?}"),
                }
            })
        });
        g.bench_function("tungstenite_parse_unmask", |b| {
            b.iter(|| match tws.read() {
                Ok(tungstenite::Message::Binary(p)) => black_box(p.len()),
                other => panic!("{other:?}"),
            })
        });
        g.bench_function("fastwebsockets_parse_unmask", |b| {
            b.iter(|| {
                let frame = ready(fws.read_frame()).unwrap();
                debug_assert_eq!(frame.opcode, fastwebsockets::OpCode::Binary);
                black_box(frame.payload.len())
            })
        });
        g.finish();
    }
    let mut g = c.benchmark_group("ws_unmask/64KiB");
    g.throughput(Throughput::Bytes(64 * 1024));
    let mut buf = vec![0x5au8; 64 * 1024];
    g.bench_function("word_at_a_time", |b| {
        b.iter(|| apply_mask(black_box(&mut buf), KEY, 0))
    });
    g.bench_function("bytewise", |b| {
        b.iter(|| apply_mask_bytewise(black_box(&mut buf), KEY, 0))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = frames
}
criterion_main!(benches);
