//! The `loadgen` binary against real servers on loopback: numbers that add up, errors that
//! are counted and not panicked on.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::mpsc;

use bytes::BytesMut;
use netreactor::{Context, Protocol};

struct Echo;

impl Protocol for Echo {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        cx.write(input.split().freeze());
    }
}

/// A reactor on its own thread serving `P` on a free port; shut down when dropped.
struct Server {
    addr: SocketAddr,
    handle: netreactor::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start<P: Protocol, F: FnMut() -> P + Send + 'static>(factory: F) -> Server {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut r = netreactor::Reactor::new().unwrap();
            let addr = r
                .listen_tcp("127.0.0.1:0".parse().unwrap(), factory)
                .unwrap();
            tx.send((addr, r.handle())).unwrap();
            r.run().unwrap();
        });
        let (addr, handle) = rx.recv().unwrap();
        Server {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn loadgen() -> &'static str {
    env!("CARGO_BIN_EXE_loadgen")
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(loadgen())
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "loadgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tcp_echo_against_an_echo_server_counts_every_response() {
    let server = Server::start(|| Echo);
    let addr = server.addr.to_string();
    let report = json(&[
        "tcp-echo",
        &addr,
        "-c",
        "200",
        "-d",
        "2",
        "-s",
        "32",
        "--source",
        "127.0.0.2-127.0.0.3",
    ]);
    assert_eq!(report["connected"], 200);
    let responses = report["responses"].as_u64().unwrap();
    assert!(responses > 1000, "only {responses} responses");
    assert_eq!(report["errors"]["refused"], 0);
    assert_eq!(report["errors"]["timeout"], 0);
    assert_eq!(report["errors"]["bad_response"], 0);
    // Every response is one 32-byte echo; requests still in flight at the end may add a few.
    let bytes_in = report["bytes_in"].as_u64().unwrap();
    assert!(
        bytes_in >= responses * 32 && bytes_in <= (responses + 200) * 32,
        "{bytes_in} for {responses}"
    );
    let p50 = report["latency_us"]["p50"].as_u64().unwrap();
    let p99 = report["latency_us"]["p99"].as_u64().unwrap();
    assert!(p50 > 0 && p50 <= p99);
}

#[test]
fn open_loop_reports_send_lag_and_warmup_keeps_samples_out() {
    let server = Server::start(|| Echo);
    let addr = server.addr.to_string();
    // Open loop at 2,000/s over 20 connections: about 2,000 requests in one second.
    let open = json(&["tcp-echo", &addr, "-c", "20", "-d", "1", "--rate", "2000"]);
    let responses = open["responses"].as_u64().unwrap();
    assert!((1000..=2600).contains(&responses), "{responses} responses");
    let lag = &open["send_lag_us"];
    assert!(
        lag["max"].as_u64().unwrap() >= 1,
        "open loop records send lag: {lag}"
    );
    assert!(lag["p50"].as_u64().unwrap() <= lag["max"].as_u64().unwrap());
    // Closed loop: nothing is scheduled, so there is no lag.
    let closed = json(&["tcp-echo", &addr, "-c", "5", "-d", "1"]);
    assert_eq!(closed["send_lag_us"]["max"], 0);
    // A warm-up longer than the run: everything is counted, nothing is recorded.
    let warm = json(&[
        "tcp-echo", &addr, "-c", "20", "-d", "1", "--rate", "2000", "--warmup", "5",
    ]);
    assert!(warm["responses"].as_u64().unwrap() >= 1000);
    assert_eq!(warm["latency_us"]["max"], 0, "{}", warm["latency_us"]);
    assert_eq!(warm["send_lag_us"]["max"], 0);
}

#[test]
fn a_fixed_request_count_stops_the_run() {
    let server = Server::start(|| Echo);
    let addr = server.addr.to_string();
    let report = json(&["tcp-echo", &addr, "-c", "10", "-d", "30", "-n", "5000"]);
    assert!(
        report["seconds"].as_f64().unwrap() < 20.0,
        "did not stop at the request count"
    );
    assert!(report["responses"].as_u64().unwrap() >= 5000);
}

#[test]
fn a_closed_port_is_reported_as_refused_without_a_panic() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let report = json(&["tcp-echo", &port.to_string(), "-c", "20", "-d", "1"]);
    assert_eq!(report["connected"], 0);
    assert_eq!(report["errors"]["refused"], 20);
    assert_eq!(report["responses"], 0);
}

#[test]
fn a_server_that_is_not_http_gives_bad_responses() {
    struct Junk;
    impl Protocol for Junk {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
            cx.write(&b"SSH-2.0-nope\r\n\r\n"[..]);
        }
    }
    let server = Server::start(|| Junk);
    let report = json(&["http", &server.addr.to_string(), "-c", "5", "-d", "1"]);
    assert!(report["errors"]["bad_response"].as_u64().unwrap() >= 5);
}
