//! `loadgen`: a load generator built on the netreactor core (the client side of the same
//! reactor), for high-connection-count benchmarks.
//!
//! Modes: `tcp-echo` (fixed-size messages, one or more in flight), `http` (GET, keep-alive,
//! pipelining depth, or one request per connection), `ws-echo` (WebSocket text or binary
//! messages) and `hold` (N idle connections, optionally a byte every T seconds). Closed loop by
//! default; with `--rate` an open loop whose latencies count from each request's *intended*
//! send time (coordinated-omission correction). Connections ramp up at `--ramp` per second,
//! spread over `--source` addresses and `--threads` reactors; HDR histograms are merged.

pub mod client;
pub mod response;

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use netreactor::{Interest, Reactor};

use self::client::{Controller, Plan};

/// What the connections do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Send fixed-size messages and wait for them to come back.
    TcpEcho,
    /// HTTP GET requests.
    Http,
    /// WebSocket echo messages.
    WsEcho,
    /// Open connections and keep them idle.
    Hold,
}

/// A run's parameters.
#[derive(Clone, Debug)]
pub struct Config {
    /// Mode.
    pub mode: Mode,
    /// Server address.
    pub target: SocketAddr,
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
    /// HTTP path.
    pub path: String,
    /// HTTP: one request per connection (`Connection: close`).
    pub close: bool,
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
    /// Print a progress line on stderr.
    pub progress: bool,
    /// Latency (and send lag) samples of the first this-long are not recorded: connection
    /// set-up and cold caches stay out of the percentiles (counts and throughput keep them).
    pub warmup: Duration,
}

/// Errors by kind.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Errors {
    /// Connection refused.
    pub refused: u64,
    /// Connection reset or broken pipe.
    pub reset: u64,
    /// No answer within the timeout.
    pub timeout: u64,
    /// Not the protocol's answer.
    pub bad_response: u64,
    /// The server closed with requests in flight.
    pub closed: u64,
    /// Out of local ports or descriptors.
    pub resources: u64,
    /// Anything else.
    pub other: u64,
}

impl Errors {
    fn add(&mut self, o: &Errors) {
        self.refused += o.refused;
        self.reset += o.reset;
        self.timeout += o.timeout;
        self.bad_response += o.bad_response;
        self.closed += o.closed;
        self.resources += o.resources;
        self.other += o.other;
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.refused
            + self.reset
            + self.timeout
            + self.bad_response
            + self.closed
            + self.resources
            + self.other
    }
}

/// Counters one reactor thread keeps.
pub struct ThreadStats {
    pub(crate) hist: Histogram<u64>,
    /// Open loop: how late each request left after its intended send time.
    pub(crate) lag: Histogram<u64>,
    pub(crate) responses: u64,
    pub(crate) non_2xx: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) connected: u64,
    pub(crate) first_connect: Option<Instant>,
    pub(crate) last_connect: Option<Instant>,
    pub(crate) errors: Errors,
    pub(crate) target: Option<u64>,
    pub(crate) stopping: bool,
    /// Samples before this instant are not recorded (`--warmup`).
    pub(crate) record_from: Instant,
}

impl ThreadStats {
    fn new(target: Option<u64>, record_from: Instant) -> ThreadStats {
        ThreadStats {
            hist: new_histogram(),
            lag: new_histogram(),
            responses: 0,
            non_2xx: 0,
            bytes_in: 0,
            bytes_out: 0,
            connected: 0,
            first_connect: None,
            last_connect: None,
            errors: Errors::default(),
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
        record_us(&mut self.hist, latency);
    }

    /// Records how late an open-loop request left.
    pub(crate) fn record_lag(&mut self, now: Instant, lag: Duration) {
        if now < self.record_from {
            return;
        }
        record_us(&mut self.lag, lag);
    }
}

/// Largest value a histogram holds: 60 s in microseconds.
const HIST_MAX_US: u64 = 60_000_000;

/// A microsecond histogram, 1 µs to 60 s, three significant digits.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("histogram bounds")
}

/// Records `d` in microseconds, clamped into the histogram's range.
fn record_us(hist: &mut Histogram<u64>, d: Duration) {
    let _ = hist.record((d.as_micros() as u64).clamp(1, HIST_MAX_US));
}

/// Live counters shared by all threads (for the progress line).
#[derive(Default)]
pub struct Progress {
    pub(crate) open: AtomicU64,
    pub(crate) responses: AtomicU64,
    pub(crate) errors: AtomicU64,
}

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// The outcome of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Mode.
    pub mode: Mode,
    /// Connections asked for.
    pub connections: usize,
    /// Connections established.
    pub connected: u64,
    /// Connections established per second during ramp-up.
    pub connect_rate: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Responses received.
    pub responses: u64,
    /// HTTP responses outside 2xx/3xx.
    pub non_2xx: u64,
    /// Responses per second.
    pub throughput: f64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Latency percentiles (µs).
    pub latency_us: Latency,
    /// Open loop: how late requests left after their intended send time (µs; all zero in a
    /// closed loop). Part of every latency above: when it is large, the generator (its core,
    /// its timer resolution) rather than the server sets the tail.
    pub send_lag_us: Latency,
    /// Errors by kind.
    pub errors: Errors,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.latency_us;
        writeln!(
            f,
            "mode {:?}: {} of {} connections ({:.0}/s while opening), {:.2} s",
            self.mode, self.connected, self.connections, self.connect_rate, self.seconds
        )?;
        writeln!(
            f,
            "responses {} ({:.0}/s), {} outside 2xx/3xx; in {} B, out {} B",
            self.responses, self.throughput, self.non_2xx, self.bytes_in, self.bytes_out
        )?;
        writeln!(
            f,
            "latency us: p50 {} p90 {} p99 {} p99.9 {} max {} mean {:.1}",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        )?;
        let g = &self.send_lag_us;
        if g.max > 0 {
            writeln!(
                f,
                "send lag us (open loop, part of the latency): p50 {} p90 {} p99 {} max {}",
                g.p50, g.p90, g.p99, g.max
            )?;
        }
        let e = &self.errors;
        write!(f, "errors {}: refused {} reset {} timeout {} bad-response {} closed {} resources {} other {}", e.total(), e.refused, e.reset, e.timeout, e.bad_response, e.closed, e.resources, e.other)
    }
}

/// The request each mode sends, prebuilt once.
fn request_bytes(cfg: &Config) -> Bytes {
    match cfg.mode {
        Mode::TcpEcho => Bytes::from(vec![b'x'; cfg.size.max(1)]),
        Mode::Http => {
            let conn = if cfg.close { "close" } else { "keep-alive" };
            Bytes::from(format!(
                "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: {conn}\r\n\r\n",
                cfg.path, cfg.target
            ))
        }
        Mode::WsEcho => {
            // One masked client frame (RFC 6455 section 5.2), built once and reused.
            let n = cfg.size;
            let mut f = vec![0x80 | if cfg.binary { 2 } else { 1 }];
            if n < 126 {
                f.push(0x80 | n as u8);
            } else if n <= 0xffff {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            } else {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
            let mask = [0x37, 0xfa, 0x21, 0x3d];
            f.extend_from_slice(&mask);
            f.extend((0..n).map(|i| b'a' ^ mask[i % 4]));
            Bytes::from(f)
        }
        Mode::Hold => Bytes::new(),
    }
}

fn ws_handshake(cfg: &Config) -> Bytes {
    Bytes::from(format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        cfg.path, cfg.target
    ))
}

/// Runs the load and returns the merged report.
pub fn run(cfg: &Config) -> std::io::Result<Report> {
    let threads = cfg.threads.max(1);
    let progress = Arc::new(Progress::default());
    let results: Arc<Mutex<Vec<ThreadStats>>> = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
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
                let stats = Rc::new(RefCell::new(ThreadStats::new(target, started + cfg.warmup)));
                let interval = cfg.rate.map(|r| {
                    let per_conn = (r / cfg.connections.max(1) as f64).max(1e-6);
                    Duration::from_secs_f64(1.0 / per_conn)
                });
                let plan = Rc::new(Plan {
                    mode: cfg.mode,
                    request: request_bytes(&cfg),
                    echo_len: cfg.size.max(1),
                    in_flight: cfg.in_flight.max(1),
                    interval,
                    timeout: cfg.timeout,
                    hold_interval: cfg.hold_interval,
                    ws_handshake: ws_handshake(&cfg),
                    stats: stats.clone(),
                    progress,
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
                        per_tick: (cfg.ramp / threads as f64 / 100.0).max(1.0 / 100.0),
                        credit: 0.0,
                        duration: cfg.duration,
                        progress_line: cfg.progress && t == 0,
                        started: None,
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
    if cfg.progress {
        eprintln!();
    }
    let seconds = started.elapsed().as_secs_f64();
    let all = std::mem::take(&mut *results.lock().unwrap());
    let mut hist = new_histogram();
    let mut lag = hist.clone();
    let (mut responses, mut non_2xx, mut bytes_in, mut bytes_out, mut connected) = (0, 0, 0, 0, 0);
    let mut errors = Errors::default();
    let (mut first, mut last): (Option<Instant>, Option<Instant>) = (None, None);
    for s in &all {
        let _ = hist.add(&s.hist);
        let _ = lag.add(&s.lag);
        responses += s.responses;
        non_2xx += s.non_2xx;
        bytes_in += s.bytes_in;
        bytes_out += s.bytes_out;
        connected += s.connected;
        errors.add(&s.errors);
        first = match (first, s.first_connect) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last = match (last, s.last_connect) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    let span = match (first, last) {
        (Some(a), Some(b)) if b > a => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let connect_rate = if span > 0.0 {
        connected as f64 / span
    } else {
        connected as f64
    };
    let percentiles = |hist: &Histogram<u64>| {
        if hist.is_empty() {
            Latency::default()
        } else {
            Latency {
                p50: hist.value_at_quantile(0.5),
                p90: hist.value_at_quantile(0.9),
                p99: hist.value_at_quantile(0.99),
                p999: hist.value_at_quantile(0.999),
                max: hist.max(),
                mean: hist.mean(),
            }
        }
    };
    Ok(Report {
        mode: cfg.mode,
        connections: cfg.connections,
        connected,
        connect_rate,
        seconds,
        responses,
        non_2xx,
        throughput: responses as f64 / seconds.max(1e-9),
        bytes_in,
        bytes_out,
        latency_us: percentiles(&hist),
        send_lag_us: percentiles(&lag),
        errors,
    })
}
