//! WebSocket echo throughput: 100 connections of our client (on a netreactor reactor) in a
//! closed loop (send, wait for the echo, send again) against three echo servers, each on one
//! thread pinned to core 0 — netreactor (`websocket::Echo`), `tokio-tungstenite` and
//! `fastwebsockets` (each on a tokio `current_thread` runtime) — with 16 B and 4 KiB text
//! messages, interleaved in one run (two rounds). Prints messages/s, p50/p99 round-trip
//! latency and the ratios against netreactor.
//!
//! `cargo bench --bench ws_echo` (`WS_ECHO_SECS` sets the seconds per measurement, default 2).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use netreactor::{ListenOptions, Reactor};
use netreactor_protocols::websocket::handshake::{accept_key, read_request};
use netreactor_protocols::websocket::{
    self, ClientConfig, Echo, Handler, ServerConfig, Text, Ws, WsConn,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTIONS: usize = 100;

fn pin_to_core(core: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn start_netreactor() -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        pin_to_core(0);
        let mut r = Reactor::new().unwrap();
        let addr = websocket::listen(
            &mut r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            ServerConfig::default(),
            || Echo,
        )
        .unwrap();
        tx.send(addr).unwrap();
        r.run().unwrap();
    });
    rx.recv().unwrap()
}

fn tokio_server<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        pin_to_core(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                tokio::spawn(serve(s));
            }
        });
    });
    rx.recv().unwrap()
}

fn start_tokio_tungstenite() -> SocketAddr {
    tokio_server(|s| async move {
        let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else {
            return;
        };
        while let Some(Ok(msg)) = ws.next().await {
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                return;
            }
        }
    })
}

fn start_fastwebsockets() -> SocketAddr {
    tokio_server(|mut s| async move {
        // The handshake by hand (fastwebsockets' own needs hyper): read the head, answer 101.
        let mut head = Vec::new();
        let key = loop {
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            head.extend_from_slice(&buf[..n]);
            if let Ok(Some((_, Ok(hs)))) = read_request(&head, 8192) {
                break hs.key;
            }
        };
        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key.as_bytes())
        );
        if s.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        let mut ws = fastwebsockets::WebSocket::after_handshake(s, fastwebsockets::Role::Server);
        ws.set_auto_close(true);
        ws.set_auto_pong(true);
        loop {
            let Ok(frame) = ws.read_frame().await else {
                return;
            };
            let done = match frame.opcode {
                // A fresh unmasked frame: the one read keeps its client mask key.
                op @ (fastwebsockets::OpCode::Text | fastwebsockets::OpCode::Binary) => ws
                    .write_frame(fastwebsockets::Frame::new(true, op, None, frame.payload))
                    .await
                    .is_err(),
                fastwebsockets::OpCode::Close => true,
                _ => false,
            };
            if done {
                return;
            }
        }
    })
}

#[derive(Default)]
struct Tally {
    messages: u64,
    latencies_ns: Vec<u64>,
    open: usize,
}

struct Load {
    payload: Text,
    sent_at: Instant,
    measure_from: Instant,
    stop_at: Instant,
    tally: Rc<RefCell<Tally>>,
}

impl Handler for Load {
    fn on_open(&mut self, ws: &mut Ws<'_, '_>) {
        self.sent_at = Instant::now();
        ws.send_text(self.payload.clone());
    }
    fn on_text(&mut self, ws: &mut Ws<'_, '_>, text: Text) {
        let now = Instant::now();
        assert_eq!(text.len(), self.payload.len());
        if now >= self.measure_from {
            let mut t = self.tally.borrow_mut();
            t.messages += 1;
            t.latencies_ns.push((now - self.sent_at).as_nanos() as u64);
        }
        if now < self.stop_at {
            self.sent_at = now;
            ws.send_text(self.payload.clone());
        } else {
            ws.close(1000, "");
        }
    }
    fn on_close(&mut self, ws: &mut Ws<'_, '_>, _code: u16, _reason: &str) {
        let mut t = self.tally.borrow_mut();
        t.open -= 1;
        if t.open == 0 {
            ws.context().shutdown_reactor();
        }
    }
}

/// Runs the closed loop against `addr`: messages per second and (p50, p99) in µs.
fn drive(addr: SocketAddr, size: usize, secs: f64) -> (f64, f64, f64) {
    pin_to_core(1);
    let mut r = Reactor::new().unwrap();
    let tally = Rc::new(RefCell::new(Tally {
        open: CONNECTIONS,
        ..Tally::default()
    }));
    let start = Instant::now();
    let warmup = Duration::from_millis(300);
    let measure = Duration::from_secs_f64(secs);
    let payload = Text::from("x".repeat(size));
    for _ in 0..CONNECTIONS {
        let config = ClientConfig {
            host: addr.to_string(),
            ..ClientConfig::default()
        };
        let load = Load {
            payload: payload.clone(),
            sent_at: start,
            measure_from: start + warmup,
            stop_at: start + warmup + measure,
            tally: tally.clone(),
        };
        r.connect_tcp(addr, WsConn::client(config, load)).unwrap();
    }
    r.run().unwrap();
    let mut t = tally.borrow_mut();
    t.latencies_ns.sort_unstable();
    let pct = |p: f64| {
        t.latencies_ns
            .get(((t.latencies_ns.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    (t.messages as f64 / secs, pct(0.50), pct(0.99))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs: f64 = std::env::var("WS_ECHO_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let servers = [
        ("netreactor", start_netreactor()),
        ("tokio-tungstenite", start_tokio_tungstenite()),
        ("fastwebsockets", start_fastwebsockets()),
    ];
    let sizes = [16usize, 4096];
    let mut results: Vec<(usize, &str, f64, f64, f64)> = Vec::new();
    for round in 0..2 {
        for &size in &sizes {
            for (name, addr) in servers {
                let (rate, p50, p99) = drive(addr, size, secs);
                println!("round {round} {size:>5} B {name:<18} {rate:>10.0} msg/s  p50 {p50:>7.1} us  p99 {p99:>7.1} us");
                results.push((size, name, rate, p50, p99));
            }
        }
    }
    println!("\nbest of two rounds (msgs/s), ratio netreactor / rival:");
    for &size in &sizes {
        let best = |n: &str| {
            results
                .iter()
                .filter(|r| r.0 == size && r.1 == n)
                .map(|r| (r.2, r.4))
                .fold((0.0f64, f64::MAX), |a, b| (a.0.max(b.0), a.1.min(b.1)))
        };
        let (ours, our_p99) = best("netreactor");
        for rival in ["tokio-tungstenite", "fastwebsockets"] {
            let (theirs, their_p99) = best(rival);
            println!("{size:>5} B  vs {rival:<18} {:.2}x msgs/s  (p99 {our_p99:.1} us vs {their_p99:.1} us)", ours / theirs);
        }
    }
}
