//! The `loadgen` binary against real servers on loopback: numbers that add up, errors that
//! are counted and not panicked on, targets as URLs and names, exit status, progress lines
//! without a terminal, and `--hdr-log` files that read back as the run's histogram.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::{mpsc, Arc, Mutex};

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

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

fn run(args: &[&str]) -> Output {
    Command::new(loadgen()).args(args).output().unwrap()
}

/// Runs loadgen with `--json`; the run must succeed.
fn json(args: &[&str]) -> serde_json::Value {
    let out = run(&[args, &["--json"]].concat());
    assert!(
        out.status.success(),
        "loadgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Answers every request with a fixed 200 and keeps the first request's bytes.
struct Http {
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Protocol for Http {
    fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
        let mut seen = self.seen.lock().unwrap();
        if seen.is_empty() {
            seen.extend_from_slice(input);
        }
        // One response per request head (the test requests carry small bodies, no pipelining).
        let heads = input.windows(4).filter(|w| w == b"\r\n\r\n").count();
        input.clear();
        for _ in 0..heads {
            cx.write(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[..]);
        }
    }
}

fn closed_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

/// Reads an interval log with the hdrhistogram crate: (untagged intervals summed, the
/// interval tagged `total`, the number of untagged intervals).
fn read_hdr_log(text: &[u8]) -> (Histogram<u64>, Histogram<u64>, usize) {
    use base64::Engine as _;
    let mut sum = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut total = None;
    let mut n = 0;
    for entry in IntervalLogIterator::new(text) {
        if let LogEntry::Interval(i) = entry.unwrap() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(i.encoded_histogram())
                .unwrap();
            let h: Histogram<u64> = Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
            match i.tag() {
                Some(t) => {
                    assert_eq!(t.as_str(), "total");
                    total = Some(h);
                }
                None => {
                    sum.add(&h).unwrap();
                    n += 1;
                }
            }
        }
    }
    (sum, total.expect("a total interval"), n)
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
    // Closed loop: nothing is scheduled, so there is no lag, and no field for it.
    let closed = json(&["tcp-echo", &addr, "-c", "5", "-d", "1"]);
    assert!(closed.get("send_lag_us").is_none(), "{closed}");
    assert!(closed.get("non_2xx").is_none(), "{closed}");
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
fn a_refused_target_is_counted_and_exits_non_zero_with_the_reason() {
    let begun = std::time::Instant::now();
    let out = run(&["tcp-echo", &closed_port(), "-c", "20", "-d", "30", "--json"]);
    assert!(
        begun.elapsed() < std::time::Duration::from_secs(10),
        "the run ends once no connection is left, not after its 30 s"
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "run failed: no response (0 of 20 connections established, errors 20: refused 20)"
        ),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["connected"], 0);
    assert_eq!(report["errors"]["refused"], 20);
    assert_eq!(report["responses"], 0);
    let hold = run(&[
        "hold",
        &format!("tcp://{}", closed_port()),
        "-c",
        "5",
        "-d",
        "1",
    ]);
    assert_eq!(hold.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&hold.stderr).contains("no connection was established"));
}

#[test]
fn tls_flags_without_a_tls_target_are_refused_before_any_connection() {
    for flag in ["--insecure", "--no-resume"] {
        let out = run(&["http", "http://127.0.0.1:1/", flag]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("need a TLS target"), "{stderr}");
    }
    let out = run(&["http", "ftp://127.0.0.1:1/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scheme ftp://"));
}

#[test]
fn a_url_with_a_name_carries_path_method_headers_and_body() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shared = seen.clone();
    let server = Server::start(move || Http {
        seen: shared.clone(),
    });
    let dir = tempdir();
    let body = dir.join("body.json");
    std::fs::write(&body, b"{\"k\":1}").unwrap();
    let url = format!("http://localhost:{}/submit?x=1", server.addr.port());
    let report = json(&[
        "http",
        &url,
        "-c",
        "2",
        "-d",
        "1",
        "--method",
        "POST",
        "--header",
        "X-Test: yes",
        "-H",
        "Accept: */*",
        "--body-file",
        body.to_str().unwrap(),
    ]);
    assert!(report["responses"].as_u64().unwrap() > 10, "{report}");
    assert_eq!(report["non_2xx"], 0);
    let request = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
    let port = server.addr.port();
    assert_eq!(
        request,
        format!(
            "POST /submit?x=1 HTTP/1.1\r\nHost: localhost:{port}\r\nX-Test: yes\r\n\
Accept: */*\r\nContent-Length: 7\r\nConnection: keep-alive\r\n\r\n{{\"k\":1}}"
        )
    );
}

#[test]
fn close_mode_replaces_each_connection_after_its_one_request() {
    /// Answers one request, then closes (what `Connection: close` asks for).
    struct OneShot;
    impl Protocol for OneShot {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            input.clear();
            cx.write(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"[..]);
            cx.close();
        }
    }
    let server = Server::start(|| OneShot);
    let url = format!("http://{}/", server.addr);
    for extra in [&[][..], &["--source", "127.0.0.2-127.0.0.3"][..]] {
        let report = json(&[&["http", &url, "-c", "4", "-d", "1", "--close"][..], extra].concat());
        let responses = report["responses"].as_u64().unwrap();
        assert!(responses > 40, "{extra:?}: {report}");
        assert_eq!(report["errors"]["reset"], 0, "{extra:?}: {report}");
        assert_eq!(report["errors"]["closed"], 0, "{extra:?}: {report}");
        // One connection per response (and a few opened at the end with none yet).
        let connected = report["connected"].as_u64().unwrap();
        assert!((responses..=responses + 4).contains(&connected), "{report}");
    }
}

#[test]
fn tcp_urls_and_names_reach_an_echo_server() {
    let server = Server::start(|| Echo);
    let port = server.addr.port();
    for target in [
        format!("tcp://127.0.0.1:{port}"),
        format!("localhost:{port}"),
    ] {
        let report = json(&["tcp-echo", &target, "-c", "3", "-d", "0.5"]);
        assert_eq!(report["connected"], 3, "{target}");
        assert!(report["responses"].as_u64().unwrap() > 100, "{target}");
        assert_eq!(report["mode"], "tcp-echo");
    }
}

#[test]
fn progress_lines_appear_every_interval_without_a_terminal() {
    let server = Server::start(|| Echo);
    let out = run(&[
        "tcp-echo",
        &server.addr.to_string(),
        "-c",
        "2",
        "-d",
        "2.2",
        "--progress",
        "0.5",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("responses")).collect();
    assert!((3..=5).contains(&lines.len()), "{stderr}");
    assert!(
        !stderr.contains('\r'),
        "no carriage returns off a terminal: {stderr:?}"
    );
    assert!(lines[0].contains("open      2"), "{stderr}");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.starts_with("tcp-echo: 2 of 2 connections"),
        "{summary}"
    );
    assert!(!summary.contains("2xx"), "{summary}");
}

#[test]
fn max_error_rate_fails_a_run_with_too_many_errors_and_no_2xx_fails_it_always() {
    /// Answers one request in `every` with a 404, the others with a 200.
    struct SomeNotFound {
        n: u64,
        every: u64,
    }
    impl Protocol for SomeNotFound {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            let heads = input.windows(4).filter(|w| w == b"\r\n\r\n").count();
            input.clear();
            for _ in 0..heads {
                self.n += 1;
                if self.n.is_multiple_of(self.every) {
                    cx.write(&b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"[..]);
                } else {
                    cx.write(&b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..]);
                }
            }
        }
    }
    let tenth = Server::start(|| SomeNotFound { n: 0, every: 10 });
    let addr = tenth.addr.to_string();
    let strict = run(&[
        "http",
        &addr,
        "-c",
        "2",
        "-d",
        "0.5",
        "--max-error-rate",
        "1%",
    ]);
    assert_eq!(strict.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&strict.stderr);
    let rate: f64 = stderr
        .split("failure rate ")
        .nth(1)
        .and_then(|r| r.split('%').next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!((9.5..=10.5).contains(&rate), "one in ten failed: {stderr}");
    assert!(
        stderr.contains("is above --max-error-rate 1.000%"),
        "{stderr}"
    );
    let lenient = run(&[
        "http",
        &addr,
        "-c",
        "2",
        "-d",
        "0.5",
        "--max-error-rate",
        "0.5",
    ]);
    assert!(
        lenient.status.success(),
        "{}",
        String::from_utf8_lossy(&lenient.stderr)
    );
    let all = Server::start(|| SomeNotFound { n: 0, every: 1 });
    let out = run(&["http", &all.addr.to_string(), "-c", "2", "-d", "0.5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no response in 2xx/3xx"));
}

#[test]
fn hdr_log_reads_back_as_the_runs_histogram() {
    let server = Server::start(|| Echo);
    let dir = tempdir();
    let log = dir.join("run.hlog");
    let report = json(&[
        "tcp-echo",
        &server.addr.to_string(),
        "-c",
        "10",
        "-d",
        "2.5",
        "--hdr-log",
        log.to_str().unwrap(),
    ]);
    let text = std::fs::read(&log).unwrap();
    assert!(
        text.starts_with(b"#loadgen "),
        "{}",
        String::from_utf8_lossy(&text)
    );
    let (sum, total, intervals) = read_hdr_log(&text);
    assert_eq!(intervals, 3, "one interval per second");
    assert_eq!(sum, total, "the seconds add up to the total");
    let l = &report["latency_us"];
    assert_eq!(total.len(), l["samples"].as_u64().unwrap());
    assert_eq!(total.len(), report["responses"].as_u64().unwrap());
    assert_eq!(total.value_at_quantile(0.5), l["p50"].as_u64().unwrap());
    assert_eq!(total.value_at_quantile(0.99), l["p99"].as_u64().unwrap());
    assert_eq!(total.value_at_quantile(0.999), l["p999"].as_u64().unwrap());
    assert_eq!(total.max(), l["max"].as_u64().unwrap());
}

#[test]
fn report_of_two_logs_equals_one_histogram_of_both_runs() {
    let server = Server::start(|| Echo);
    let dir = tempdir();
    let mut both = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut files = Vec::new();
    for (name, conns) in [("a.hlog", "4"), ("b.hlog", "40")] {
        let log = dir.join(name);
        json(&[
            "tcp-echo",
            &server.addr.to_string(),
            "-c",
            conns,
            "-d",
            "1.5",
            "--hdr-log",
            log.to_str().unwrap(),
        ]);
        let (_, total, _) = read_hdr_log(&std::fs::read(&log).unwrap());
        both.add(&total).unwrap();
        files.push(log.to_str().unwrap().to_string());
    }
    let html = dir.join("report.html");
    let out = run(&[
        "report",
        &files[0],
        &files[1],
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("samples {} over", both.len())),
        "{text}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    for p in netreactor_protocols::loadgen::html::MARKED {
        let us = both.value_at_quantile(p / 100.0);
        let row = format!(
            "{:>9}% {:>12}",
            p,
            netreactor_protocols::loadgen::html::fmt_us(us)
        );
        assert!(text.contains(&row), "missing {row:?} in\n{text}");
        assert!(
            page.contains(&format!("data-percentile=\"{p}\" data-us=\"{us}\"")),
            "p{p} = {us} us not plotted"
        );
    }
}

/// A fresh directory under the target directory's temp space.
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "loadgen-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
    let out = run(&[
        "http",
        &server.addr.to_string(),
        "-c",
        "5",
        "-d",
        "1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "no good response: a failed run");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["errors"]["bad_response"].as_u64().unwrap() >= 5);
}
