//! Echo over loopback: netreactor vs a tokio `current_thread` echo server, in the same
//! criterion groups, driven by the same client.
//!
//! * `echo_roundtrip_64B_100conns`: 100 connections, each in a closed loop (send 64 bytes,
//!   wait for them, send again); the figure is round trips per second.
//! * `echo_throughput_16KiB_10conns`: 10 connections, each with 16 KiB in flight; bytes/s.
//! * `echo_roundtrip_64B_100conns_server_cpu`: the first workload again, but the time
//!   reported is the *server thread's CPU time*: round trips per server CPU-second. On two
//!   cores the closed-loop client saturates its own core, so wall-clock rates converge on
//!   the client's limit whatever the server; CPU per round trip is the server's own cost.
//!
//! Each server runs on its own thread and the client on the bench thread (two cores). Run:
//! `cargo bench --bench echo`; compare the two lines of each group (a ratio in one run).

use std::io::{self, Read};
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use netreactor::{Context, Handle, Protocol, Reactor};

#[path = "support/cpu_clock.rs"]
mod cpu_clock;
use cpu_clock::{cpu_time, thread_cpu_clock};
#[path = "support/blocking_write.rs"]
mod blocking_write;
use blocking_write::write_all;

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

/// A running echo server and how to stop it.
struct Server {
    addr: SocketAddr,
    /// The CPU-time clock of the server's thread.
    cpu_clock: cpu_clock::CpuClock,
    stop: Box<dyn Fn()>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        (self.stop)();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn netreactor_server() -> Server {
    let (tx, rx) = std::sync::mpsc::channel::<(SocketAddr, Handle, cpu_clock::CpuClock)>();
    let thread = std::thread::spawn(move || {
        let mut r = Reactor::new().unwrap();
        let addr = r
            .listen_tcp("127.0.0.1:0".parse().unwrap(), || Echo)
            .unwrap();
        tx.send((addr, r.handle(), thread_cpu_clock())).unwrap();
        r.run().unwrap();
    });
    let (addr, handle, cpu_clock) = rx.recv().unwrap();
    Server {
        addr,
        cpu_clock,
        stop: Box::new(move || handle.shutdown()),
        thread: Some(thread),
    }
}

fn tokio_server() -> Server {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send((listener.local_addr().unwrap(), thread_cpu_clock()))
                .unwrap();
            let accept = async {
                loop {
                    let (mut s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 4096];
                        loop {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if s.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    });
                }
            };
            tokio::select! {
                _ = accept => {}
                _ = stop_rx => {}
            }
        });
    });
    let (addr, cpu_clock) = rx.recv().unwrap();
    let stop = std::sync::Mutex::new(Some(stop_tx));
    Server {
        addr,
        cpu_clock,
        stop: Box::new(move || {
            if let Some(tx) = stop.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }),
        thread: Some(thread),
    }
}

/// A closed-loop client: each connection keeps `msg.len()` bytes in flight.
struct Client {
    poll: Poll,
    events: Events,
    socks: Vec<TcpStream>,
    msg: Vec<u8>,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr, conns: usize, msg_len: usize) -> Client {
        let poll = Poll::new().unwrap();
        let mut socks = Vec::new();
        for i in 0..conns {
            let std = std::net::TcpStream::connect(addr).unwrap();
            std.set_nodelay(true).unwrap();
            std.set_nonblocking(true).unwrap();
            let mut s = TcpStream::from_std(std);
            poll.registry()
                .register(&mut s, Token(i), Interest::READABLE)
                .unwrap();
            socks.push(s);
        }
        Client {
            poll,
            events: Events::with_capacity(1024),
            socks,
            msg: vec![b'e'; msg_len],
            buf: vec![0u8; 1 << 16],
        }
    }

    /// Runs until `total` messages came back; returns the time taken.
    fn run(&mut self, total: u64) -> Duration {
        let start = Instant::now();
        let n = self.socks.len();
        let len = self.msg.len();
        let mut pending = vec![0usize; n]; // bytes still expected for the message in flight
        let mut sent = 0u64;
        let mut done = 0u64;
        for (i, s) in self.socks.iter_mut().enumerate() {
            if sent < total {
                write_all(s, &self.msg);
                pending[i] = len;
                sent += 1;
            }
        }
        while done < total {
            self.poll
                .poll(&mut self.events, Some(Duration::from_secs(5)))
                .unwrap();
            assert!(!self.events.is_empty(), "echo server stalled");
            for ev in self.events.iter() {
                let i = ev.token().0;
                loop {
                    match self.socks[i].read(&mut self.buf) {
                        Ok(0) => panic!("server closed"),
                        Ok(k) => {
                            let short = k < self.buf.len();
                            let mut k = k;
                            while k > 0 && pending[i] > 0 {
                                let take = k.min(pending[i]);
                                pending[i] -= take;
                                k -= take;
                                if pending[i] == 0 {
                                    done += 1;
                                    if sent < total {
                                        write_all(&mut self.socks[i], &self.msg);
                                        pending[i] = len;
                                        sent += 1;
                                    }
                                }
                            }
                            if short {
                                break; // drained: the next arrival raises a new edge
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("read: {e}"),
                    }
                }
            }
        }
        start.elapsed()
    }
}

/// How a bench starts one of the servers it compares.
type StartServer = fn() -> Server;

/// What a bench iteration reports as its duration.
#[derive(Clone, Copy, PartialEq)]
enum Clock {
    /// Wall-clock time of the whole exchange.
    Wall,
    /// CPU time the server thread spent.
    ServerCpu,
}

fn bench_group(
    c: &mut Criterion,
    name: &str,
    conns: usize,
    msg_len: usize,
    per_iter: u64,
    clock: Clock,
) {
    let mut group = c.benchmark_group(name);
    if msg_len >= 1024 {
        group.throughput(Throughput::Bytes(msg_len as u64 * per_iter));
    } else {
        group.throughput(Throughput::Elements(per_iter));
    }
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    group.warm_up_time(Duration::from_secs(1));
    let servers: [(&str, StartServer); 2] = [
        ("netreactor", netreactor_server),
        ("tokio_current_thread", tokio_server),
    ];
    for (label, start) in servers {
        let server = start();
        let mut client = Client::connect(server.addr, conns, msg_len);
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let cpu0 = cpu_time(server.cpu_clock);
                    let wall = client.run(per_iter);
                    elapsed += match clock {
                        Clock::Wall => wall,
                        Clock::ServerCpu => cpu_time(server.cpu_clock) - cpu0,
                    };
                }
                elapsed
            })
        });
        drop(client);
        drop(server);
    }
    group.finish();
}

fn echo(c: &mut Criterion) {
    bench_group(
        c,
        "echo_roundtrip_64B_100conns",
        100,
        64,
        10_000,
        Clock::Wall,
    );
    bench_group(
        c,
        "echo_roundtrip_64B_100conns_server_cpu",
        100,
        64,
        10_000,
        Clock::ServerCpu,
    );
    bench_group(
        c,
        "echo_throughput_16KiB_10conns",
        10,
        16 * 1024,
        2_000,
        Clock::Wall,
    );
}

criterion_group!(benches, echo);
criterion_main!(benches);
