//! `loadgen`: a load generator built on the netreactor core (the client side of the same
//! reactor), for high-connection-count benchmarks.
//!
//! Modes: `tcp-echo` (fixed-size messages, one or more in flight), `http` (any method, headers
//! and body; keep-alive, pipelining depth, or one request per connection), `ws-echo`
//! (WebSocket text or binary messages) and `hold` (N idle connections, optionally a byte every
//! T seconds); each over TLS too ([`tls`]: `https://`, `wss://`, `tls://`, full and resumed
//! handshakes counted). Closed loop by default; with `--rate` an open loop whose latencies count from
//! each request's *intended* send time (coordinated-omission correction). Connections ramp up
//! at `--ramp` per second, spread over `--source` addresses and `--threads` reactors; HDR
//! histograms are merged, and can be written as an interval log ([`hdrlog`]) that
//! `loadgen report` merges across runs and machines into text and HTML ([`html`]).

pub mod client;
pub mod hdrlog;
pub mod html;
pub mod request;
pub mod response;
pub mod summary;
pub mod target;
pub mod tls;

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hdrhistogram::Histogram;
use netreactor::{Interest, Reactor};

use self::client::{Controller, Plan};
use self::hdrlog::IntervalRecorder;
pub use self::summary::{Errors, Latency, Report, TlsSummary};
use self::tls::{Handshakes, TlsClient};

/// What the connections do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Send fixed-size messages and wait for them to come back.
    TcpEcho,
    /// HTTP requests.
    Http,
    /// WebSocket echo messages.
    WsEcho,
    /// Open connections and keep them idle.
    Hold,
}

impl std::fmt::Display for Mode {
    /// The name as written on the command line (`tcp-echo`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use clap::ValueEnum;
        let v = self.to_possible_value().expect("every mode has a name");
        f.write_str(v.get_name())
    }
}

/// How progress is shown on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressStyle {
    /// Not at all.
    Off,
    /// One line rewritten in place every second (a terminal).
    Terminal,
    /// A new plain line every this often (a pipe, a CI log).
    Lines(Duration),
}

/// A run's parameters.
#[derive(Clone, Debug)]
pub struct Config {
    /// Mode.
    pub mode: Mode,
    /// Server address.
    pub target: SocketAddr,
    /// `Host` header value (HTTP, WebSocket upgrade).
    pub host: String,
    /// Connections in all.
    pub connections: usize,
    /// Run time (`None`: until `requests` or a signal).
    pub duration: Option<Duration>,
    /// Stop after this many responses in all.
    pub requests: Option<u64>,
    /// Open loop: requests per second in all (`None`: closed loop).
    pub rate: Option<f64>,
    /// Message size (tcp-echo, ws-echo).
    pub size: usize,
    /// Requests in flight per connection (closed loop), also the HTTP pipelining depth.
    pub in_flight: usize,
    /// HTTP path (and WebSocket upgrade path).
    pub path: String,
    /// HTTP method.
    pub method: String,
    /// Extra request headers (HTTP, WebSocket upgrade).
    pub headers: Vec<(String, String)>,
    /// HTTP request body (sent with a Content-Length).
    pub body: Bytes,
    /// HTTP: one request per connection (`Connection: close`).
    pub close: bool,
    /// Replace connections the server closes (`--reconnect`).
    pub reconnect: bool,
    /// WebSocket: binary messages instead of text.
    pub binary: bool,
    /// Connections opened per second.
    pub ramp: f64,
    /// Local addresses to connect from (round robin).
    pub sources: Vec<IpAddr>,
    /// Reactor threads.
    pub threads: usize,
    /// A request with no answer for this long counts as a timeout.
    pub timeout: Duration,
    /// hold: send one byte every this often.
    pub hold_interval: Option<Duration>,
    /// Progress on stderr.
    pub progress: ProgressStyle,
    /// Latency (and send lag) samples of the first this-long are not recorded: connection
    /// set-up and cold caches stay out of the percentiles (counts and throughput keep them).
    pub warmup: Duration,
    /// Begin at this wall-clock time (generators on several machines starting together).
    pub start_at: Option<SystemTime>,
    /// Speak TLS with this server name and configuration (`None`: plain TCP).
    pub tls: Option<TlsClient>,
}

impl Config {
    /// Defaults for `mode` against 127.0.0.1:80 (what the command line gives without flags).
    pub fn new(mode: Mode, target: SocketAddr) -> Config {
        Config {
            mode,
            target,
            host: target.to_string(),
            connections: 100,
            duration: Some(Duration::from_secs(10)),
            requests: None,
            rate: None,
            size: 64,
            in_flight: 1,
            path: "/".into(),
            method: "GET".into(),
            headers: Vec::new(),
            body: Bytes::new(),
            close: false,
            reconnect: false,
            binary: false,
            ramp: 10_000.0,
            sources: Vec::new(),
            threads: 1,
            timeout: Duration::from_secs(5),
            hold_interval: None,
            progress: ProgressStyle::Off,
            warmup: Duration::ZERO,
            start_at: None,
            tls: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn for_test(mode: Mode) -> Config {
        Config::new(mode, "127.0.0.1:80".parse().unwrap())
    }
}

/// Counters one reactor thread keeps.
pub struct ThreadStats {
    pub(crate) hist: Histogram<u64>,
    /// The same samples, one histogram per second (for `--hdr-log`).
    pub(crate) intervals: IntervalRecorder,
    /// Open loop: how late each request left after its intended send time.
    pub(crate) lag: Histogram<u64>,
    pub(crate) responses: u64,
    pub(crate) non_2xx: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) connected: u64,
    /// Connections started and not yet closed (connecting or open).
    pub(crate) alive: u64,
    /// `--close` with `--source`: connections done with their request, to be replaced by
    /// the controller.
    pub(crate) reopen: u64,
    /// `--reconnect`: intended send times of requests a server's close of an idle keep-alive
    /// connection raced, to be sent again on the next connection that opens.
    pub(crate) resend: std::collections::VecDeque<Instant>,
    /// Requests sent again that way.
    pub(crate) resent: u64,
    pub(crate) last_connect: Option<Instant>,
    pub(crate) errors: Errors,
    /// TLS handshakes finished, by kind.
    pub(crate) handshakes: Handshakes,
    /// What the first error said.
    pub(crate) first_error: Option<String>,
    pub(crate) target: Option<u64>,
    pub(crate) stopping: bool,
    /// Samples before this instant are not recorded (`--warmup`).
    pub(crate) record_from: Instant,
}

impl ThreadStats {
    fn new(target: Option<u64>, started: Instant, record_from: Instant) -> ThreadStats {
        ThreadStats {
            hist: new_histogram(),
            intervals: IntervalRecorder::new(started, new_histogram()),
            lag: new_histogram(),
            responses: 0,
            non_2xx: 0,
            bytes_in: 0,
            bytes_out: 0,
            connected: 0,
            alive: 0,
            reopen: 0,
            resend: std::collections::VecDeque::new(),
            resent: 0,
            last_connect: None,
            errors: Errors::default(),
            handshakes: Handshakes::default(),
            first_error: None,
            target,
            stopping: false,
            record_from,
        }
    }

    pub(crate) fn record(&mut self, now: Instant, latency: Duration, status: Option<u16>) {
        self.responses += 1;
        if status.is_some_and(|s| !(200..400).contains(&s)) {
            self.non_2xx += 1;
        }
        if now < self.record_from {
            return;
        }
        let us = clamp_us(latency);
        let _ = self.hist.record(us);
        self.intervals.record(now, us);
    }

    /// Records how late an open-loop request left.
    pub(crate) fn record_lag(&mut self, now: Instant, lag: Duration) {
        if now < self.record_from {
            return;
        }
        let _ = self.lag.record(clamp_us(lag));
    }
}

/// Largest value a histogram holds: 60 s in microseconds.
const HIST_MAX_US: u64 = 60_000_000;

/// A microsecond histogram, 1 µs to 60 s, three significant digits.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("histogram bounds")
}

/// `d` in microseconds, clamped into the histogram's range.
fn clamp_us(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, HIST_MAX_US)
}

/// Live counters shared by all threads (for the progress line).
#[derive(Default)]
pub struct Progress {
    pub(crate) open: AtomicU64,
    pub(crate) responses: AtomicU64,
    pub(crate) errors: AtomicU64,
}

/// A finished run: the report, and the latency samples behind it.
pub struct Run {
    /// Counts, percentiles, errors.
    pub report: Report,
    /// Every recorded latency sample (µs).
    pub histogram: Histogram<u64>,
    /// When the run started.
    pub start: SystemTime,
    /// Each thread's samples by second ([`IntervalRecorder::finish`]).
    seconds: Vec<hdrlog::Seconds>,
}

impl Run {
    /// Writes the run's latency as an HdrHistogram interval log ([`hdrlog::write_log`]).
    pub fn write_hdr_log<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        let comment = format!(
            "loadgen {} {}: {} connections",
            env!("CARGO_PKG_VERSION"),
            self.report.mode,
            self.report.connections
        );
        hdrlog::write_log(
            out,
            self.start,
            self.report.seconds,
            &self.seconds,
            &self.histogram,
            &comment,
        )
    }
}

/// Waits until `at` (a wall-clock time). Refuses a time more than a second gone: generators
/// meant to start together would not.
pub fn wait_until(at: SystemTime) -> std::io::Result<()> {
    match at.duration_since(SystemTime::now()) {
        Ok(wait) => {
            std::thread::sleep(wait);
            Ok(())
        }
        Err(e) if e.duration() <= Duration::from_secs(1) => Ok(()),
        Err(e) => Err(std::io::Error::other(format!(
            "--start-at is {:.1} s in the past",
            e.duration().as_secs_f64()
        ))),
    }
}

/// Runs the load and returns the merged report (after waiting for `start_at`, if set).
pub fn run(cfg: &Config) -> std::io::Result<Run> {
    if let Some(at) = cfg.start_at {
        wait_until(at)?;
    }
    let threads = cfg.threads.max(1);
    let progress = Arc::new(Progress::default());
    let results: Arc<Mutex<Vec<ThreadStats>>> = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let start_wall = SystemTime::now();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for t in 0..threads {
            let cfg = cfg.clone();
            let progress = progress.clone();
            let results = results.clone();
            handles.push(scope.spawn(move || -> std::io::Result<()> {
                let share = |n: usize| n / threads + usize::from(t < n % threads);
                let conns = share(cfg.connections);
                let target = cfg.requests.map(|r| share(r as usize) as u64);
                let stats = Rc::new(RefCell::new(ThreadStats::new(
                    target,
                    started,
                    started + cfg.warmup,
                )));
                let interval = cfg.rate.map(|r| {
                    let per_conn = (r / cfg.connections.max(1) as f64).max(1e-6);
                    Duration::from_secs_f64(1.0 / per_conn)
                });
                let plan = Rc::new(Plan {
                    mode: cfg.mode,
                    request: request::request_bytes(&cfg),
                    echo_len: cfg.size.max(1),
                    in_flight: cfg.in_flight.max(1),
                    interval,
                    timeout: cfg.timeout,
                    hold_interval: cfg.hold_interval,
                    ws_handshake: request::ws_handshake(&cfg),
                    stats: stats.clone(),
                    progress,
                    close: cfg.close && cfg.mode == Mode::Http,
                    reconnect: cfg.reconnect,
                    target: cfg.target,
                    reopen_here: cfg.sources.is_empty(),
                    tls: cfg.tls.clone(),
                });
                let mut reactor = Reactor::new()?;
                reactor.shutdown_on_signals()?;
                let (read, write) = nix::unistd::pipe()?;
                let sources = cfg
                    .sources
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, 0))
                    .collect();
                reactor.register_fd(
                    read,
                    Interest::READABLE,
                    Controller {
                        plan,
                        target: cfg.target,
                        sources,
                        to_open: conns,
                        opened: 0,
                        next_source: 0,
                        per_tick: (cfg.ramp / threads as f64 / 100.0).max(1.0 / 100.0),
                        credit: 0.0,
                        duration: cfg.duration,
                        progress: if t == 0 {
                            cfg.progress
                        } else {
                            ProgressStyle::Off
                        },
                        started,
                        last_line: (started, 0),
                        _keep: write,
                    },
                )?;
                reactor.run()?;
                drop(reactor);
                let stats = Rc::try_unwrap(stats)
                    .map_err(|_| std::io::Error::other("stats still shared"))?
                    .into_inner();
                results.lock().unwrap().push(stats);
                Ok(())
            }));
        }
        for h in handles {
            h.join()
                .map_err(|_| std::io::Error::other("a loadgen thread panicked"))??;
        }
        Ok::<(), std::io::Error>(())
    })?;
    if cfg.progress == ProgressStyle::Terminal {
        eprintln!();
    }
    let seconds = started.elapsed().as_secs_f64();
    let all = std::mem::take(&mut *results.lock().unwrap());
    let mut hist = new_histogram();
    let mut lag = hist.clone();
    let (mut responses, mut non_2xx, mut bytes_in, mut bytes_out, mut connected) = (0, 0, 0, 0, 0);
    let mut resent = 0;
    let mut errors = Errors::default();
    let mut handshakes = Handshakes::default();
    let mut first_error = None;
    let mut last: Option<Instant> = None;
    let mut per_second = Vec::new();
    for s in all {
        let _ = hist.add(&s.hist);
        let _ = lag.add(&s.lag);
        responses += s.responses;
        non_2xx += s.non_2xx;
        bytes_in += s.bytes_in;
        bytes_out += s.bytes_out;
        connected += s.connected;
        resent += s.resent;
        errors.add(&s.errors);
        handshakes.add(&s.handshakes);
        first_error = first_error.or(s.first_error);
        last = last.max(s.last_connect);
        per_second.push(s.intervals.finish());
    }
    // From the first connect call to the last connection established: a real span, even
    // when every connection opens in the first tick.
    let connect_s = last.map_or(0.0, |l| l.duration_since(started).as_secs_f64());
    let connect_rate = connected as f64 / connect_s.max(1e-6);
    let answers = cfg.mode != Mode::Hold;
    let report = Report {
        mode: cfg.mode,
        connections: cfg.connections,
        connected,
        connect_ms: connect_s * 1000.0,
        connect_rate,
        start_unix: hdrlog::unix_seconds(start_wall),
        seconds,
        responses: answers.then_some(responses),
        non_2xx: (cfg.mode == Mode::Http).then_some(non_2xx),
        resent: (cfg.mode == Mode::Http && cfg.reconnect).then_some(resent),
        throughput: answers.then(|| responses as f64 / seconds.max(1e-9)),
        bytes_in,
        bytes_out,
        latency_us: answers.then(|| Latency::of(&hist)),
        send_lag_us: (answers && cfg.rate.is_some()).then(|| Latency::of(&lag)),
        tls: cfg.tls.is_some().then(|| TlsSummary {
            full: handshakes.full,
            resumed: handshakes.resumed,
            per_second: handshakes.total() as f64 / seconds.max(1e-9),
        }),
        errors,
        first_error,
    };
    Ok(Run {
        report,
        histogram: hist,
        start: start_wall,
        seconds: per_second,
    })
}
