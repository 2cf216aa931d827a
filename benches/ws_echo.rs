//! WebSocket echo throughput: 100 connections in a closed loop against three echo servers,
//! each on one thread pinned to core 0 — netreactor (`websocket::Echo`), `tokio-tungstenite`
//! and `fastwebsockets` (each on a tokio `current_thread` runtime) — with 16 B and 4 KiB text
//! messages, interleaved in one run (five rounds; the summary gives medians).
//!
//! The client is deliberately thin (pinned to core 1): after a real handshake it writes
//! pre-masked frames and counts reply bytes, so as much of its core as possible goes to the
//! kernel work every client must do. Each connection keeps `depth` messages in flight: depth 1
//! is the plain request/response echo, depth 8 lets a server that reads several frames at
//! once answer them in one write.
//!
//! Two figures per run, because on a two-core machine the wall-clock rate is capped by the
//! client's own core whatever the server does:
//! * **msgs/s** — messages echoed per wall-clock second;
//! * **msgs per server CPU-second** — messages divided by the CPU time the server thread
//!   consumed in the same window (`pthread_getcpuclockid`), i.e. the server's own cost, user
//!   and kernel, per message. This is the figure that says how far one core would go.
//! * **msgs per server user-mode CPU-second** — the same with only user-mode time
//!   (`/proc/self/task/TID/stat`; `thread_info` on macOS; NaN elsewhere): at depth 1 every server makes one `read` and one
//!   `write`/`writev` per message (check with `perf trace -s`) and the kernel's share of the
//!   server core is about 90%, so the first two figures converge; this one isolates what
//!   the library itself costs per message.
//!
//! `cargo bench --bench ws_echo` (`WS_ECHO_SECS` sets the seconds per measurement, default 2).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use netreactor::{ListenOptions, Reactor};
use netreactor_protocols::websocket::handshake::{accept_key, read_request};
use netreactor_protocols::websocket::{self, Echo, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "support/cpu_clock.rs"]
mod cpu_clock;
use cpu_clock::{cpu_time, thread_cpu_clock};
#[path = "support/blocking_write.rs"]
mod blocking_write;
use blocking_write::write_all;
#[path = "support/thread_user_time.rs"]
mod thread_user_time;
use thread_user_time::{current_thread, pin_to_core, user_time, ThreadKey};

const CONNECTIONS: usize = 100;

/// An echo server running on its own thread (for the life of the process).
#[derive(Clone, Copy)]
struct Server {
    addr: SocketAddr,
    /// The CPU-time clock of the server's thread.
    cpu_clock: cpu_clock::CpuClock,
    /// The server thread's kernel id, for its user/system split in `/proc`.
    tid: ThreadKey,
}

/// Runs `serve` on a new thread pinned to core 0; `serve` calls its argument once with the
/// bound address, which returns the server with that thread's clocks.
fn spawn_server(serve: impl FnOnce(&dyn Fn(SocketAddr)) + Send + 'static) -> Server {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("ws-server".into())
        .spawn(move || {
            pin_to_core(0);
            serve(&|addr| {
                tx.send((addr, thread_cpu_clock(), current_thread()))
                    .unwrap()
            });
        })
        .unwrap();
    let (addr, cpu_clock, tid) = rx.recv().unwrap();
    Server {
        addr,
        cpu_clock,
        tid,
    }
}

fn start_netreactor() -> Server {
    spawn_server(|ready| {
        let mut r = Reactor::new().unwrap();
        let addr = websocket::listen(
            &mut r,
            "127.0.0.1:0".parse().unwrap(),
            &ListenOptions::default(),
            ServerConfig::default(),
            || Echo,
        )
        .unwrap();
        ready(addr);
        r.run().unwrap();
    })
}

fn tokio_server<F, Fut>(serve: F) -> Server
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    spawn_server(move |ready| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready(listener.local_addr().unwrap());
            loop {
                let (s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                tokio::spawn(serve(s));
            }
        });
    })
}

fn start_tokio_tungstenite() -> Server {
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

fn start_fastwebsockets() -> Server {
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

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One masked client text frame of `size` bytes, and the length of the server's unmasked
/// echo of it.
fn frame(size: usize) -> (Vec<u8>, usize) {
    let mut f = vec![0x81];
    let header = if size < 126 {
        f.push(0x80 | size as u8);
        2
    } else {
        assert!(size <= u16::MAX as usize);
        f.push(0x80 | 126);
        f.extend_from_slice(&(size as u16).to_be_bytes());
        4
    };
    f.extend_from_slice(&MASK);
    f.extend((0..size).map(|i| b'x' ^ MASK[i % 4]));
    (f, header + size)
}

/// Opens a WebSocket connection with a real handshake, then hands the socket to mio.
fn open(addr: SocketAddr) -> TcpStream {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).unwrap(),
            1,
            "server closed in the handshake"
        );
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "handshake refused");
    s.set_nonblocking(true).unwrap();
    TcpStream::from_std(s)
}

/// What one measurement window saw.
struct Sample {
    msgs_per_sec: f64,
    msgs_per_server_cpu_sec: f64,
    /// Messages per second of the server thread's user-mode CPU: the library's own cost,
    /// without the kernel's socket work, which is the same for every server.
    msgs_per_user_cpu_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Runs the closed loop against `server` for a warm-up and then `secs` measured seconds.
fn drive(server: Server, size: usize, depth: usize, secs: f64) -> Sample {
    pin_to_core(1);
    let (msg, reply_len) = frame(size);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    let mut socks: Vec<TcpStream> = (0..CONNECTIONS).map(|_| open(server.addr)).collect();
    let mut sent_at: Vec<VecDeque<Instant>> = vec![VecDeque::new(); CONNECTIONS];
    let mut partial = vec![0usize; CONNECTIONS];
    let mut buf = vec![0u8; 1 << 16];
    let burst: Vec<u8> = msg.repeat(depth);
    let now = Instant::now();
    for (i, s) in socks.iter_mut().enumerate() {
        poll.registry()
            .register(s, Token(i), Interest::READABLE)
            .unwrap();
        write_all(s, &burst);
        sent_at[i].extend(std::iter::repeat_n(now, depth));
    }
    let measure_from = now + Duration::from_millis(300);
    let stop_at = measure_from + Duration::from_secs_f64(secs);
    let mut measuring = false;
    let mut cpu0 = Duration::ZERO;
    let mut user0 = None;
    let mut messages = 0u64;
    let mut latencies_ns: Vec<u64> = Vec::new();
    loop {
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert!(!events.is_empty(), "echo server stalled");
        let now = Instant::now();
        if !measuring && now >= measure_from {
            measuring = true;
            cpu0 = cpu_time(server.cpu_clock);
            user0 = user_time(server.tid);
        }
        if now >= stop_at {
            break;
        }
        for ev in events.iter() {
            let i = ev.token().0;
            loop {
                match socks[i].read(&mut buf) {
                    Ok(0) => panic!("server closed"),
                    Ok(k) => {
                        let total = partial[i] + k;
                        let done = total / reply_len;
                        partial[i] = total % reply_len;
                        for _ in 0..done {
                            let t = sent_at[i].pop_front().expect("an echo nobody asked for");
                            if measuring {
                                messages += 1;
                                latencies_ns.push((now - t).as_nanos() as u64);
                            }
                        }
                        if done > 0 {
                            write_all(&mut socks[i], &burst[..done * msg.len()]);
                            sent_at[i].extend(std::iter::repeat_n(now, done));
                        }
                        if k < buf.len() {
                            break; // drained: the next arrival raises a new edge
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("read: {e}"),
                }
            }
        }
    }
    let server_cpu = cpu_time(server.cpu_clock) - cpu0;
    let server_user = user_time(server.tid).zip(user0).map(|(t, t0)| t - t0);
    drop(socks);
    latencies_ns.sort_unstable();
    let pct = |p: f64| {
        latencies_ns
            .get(((latencies_ns.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Sample {
        msgs_per_sec: messages as f64 / secs,
        msgs_per_server_cpu_sec: messages as f64 / server_cpu.as_secs_f64(),
        msgs_per_user_cpu_sec: server_user.map_or(f64::NAN, |u| messages as f64 / u.as_secs_f64()),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    }
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
    let cases = [(16usize, 1usize), (4096, 1), (16, 8), (4096, 8)];
    let mut results: Vec<((usize, usize), &str, Sample)> = Vec::new();
    // `WS_ECHO_ONLY=netreactor` (any substring of "name size depth") narrows the run, e.g.
    // to profile one server.
    let only = std::env::var("WS_ECHO_ONLY").unwrap_or_default();
    for round in 0..5 {
        for &(size, depth) in &cases {
            for (name, server) in servers {
                if !format!("{name} {size} {depth}").contains(&only) {
                    continue;
                }
                let s = drive(server, size, depth, secs);
                println!(
                    "round {round} {size:>5} B depth {depth} {name:<18} {:>9.0} msg/s {:>9.0} msg/cpu-s {:>9.0} msg/user-s  p50 {:>7.1} us  p99 {:>7.1} us",
                    s.msgs_per_sec, s.msgs_per_server_cpu_sec, s.msgs_per_user_cpu_sec, s.p50_us, s.p99_us
                );
                results.push(((size, depth), name, s));
            }
        }
    }
    println!(
        "\nmedian of five rounds, ratio netreactor / rival (msgs/s; msgs per server CPU-s; p99):"
    );
    for &case in &cases {
        let median = |n: &str, f: fn(&Sample) -> f64| {
            let mut v: Vec<f64> = results
                .iter()
                .filter(|r| r.0 == case && r.1 == n)
                .map(|r| f(&r.2))
                .collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        let rate = |s: &Sample| s.msgs_per_sec;
        let cpu = |s: &Sample| s.msgs_per_server_cpu_sec;
        let user = |s: &Sample| s.msgs_per_user_cpu_sec;
        let p99 = |s: &Sample| s.p99_us;
        for rival in ["tokio-tungstenite", "fastwebsockets"] {
            println!(
                "{:>5} B depth {}  vs {rival:<18} {:.2}x msgs/s  {:.2}x msgs/cpu-s  {:.2}x msgs/user-s  p99 {:.0} us vs {:.0} us",
                case.0,
                case.1,
                median("netreactor", rate) / median(rival, rate),
                median("netreactor", cpu) / median(rival, cpu),
                median("netreactor", user) / median(rival, user),
                median("netreactor", p99),
                median(rival, p99),
            );
        }
    }
}
