//! `loadgen`: load generator on the netreactor core. `loadgen --help` for the flags,
//! `loadgen report --help` for merging interval logs; see `docs/loadgen.md`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Parser;
use netreactor_protocols::loadgen::tls::{TlsClient, TlsOptions, Trust};
use netreactor_protocols::loadgen::{hdrlog, html, request, target};
use netreactor_protocols::loadgen::{run, Config, Mode, ProgressStyle};

/// Load generator on the netreactor core: TCP echo, HTTP, WebSocket echo, idle connections.
/// `loadgen report FILE...` merges `--hdr-log` files into a text and HTML summary.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// What each connection does.
    #[arg(value_enum)]
    mode: Mode,
    /// Server: http://host:port/path, https://..., ws://host:port/path, wss://...,
    /// tcp://host:port, tls://host:port (tcp-echo and hold over TLS), or host:port (names
    /// are resolved).
    target: String,
    /// Connections in all.
    #[arg(short = 'c', long, default_value_t = 100)]
    connections: usize,
    /// Run time in seconds (0: until --requests or Ctrl-C).
    #[arg(short = 'd', long, default_value_t = 10.0)]
    duration: f64,
    /// Stop after this many responses in all.
    #[arg(short = 'n', long)]
    requests: Option<u64>,
    /// Open loop at this many requests per second in all (latency from the intended send
    /// time); without it, a closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Message size in bytes (tcp-echo, ws-echo).
    #[arg(short = 's', long, default_value_t = 64)]
    size: usize,
    /// Requests in flight per connection (closed loop); for http, the pipelining depth.
    #[arg(short = 'p', long = "in-flight", default_value_t = 1)]
    in_flight: usize,
    /// HTTP path (and WebSocket upgrade path) when the target is not a URL with one.
    #[arg(long)]
    path: Option<String>,
    /// HTTP method.
    #[arg(short = 'm', long, default_value = "GET")]
    method: String,
    /// A request header, 'Name: value' (repeatable; also sent with the WebSocket upgrade).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// HTTP: send this file as each request's body (with a Content-Length).
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// HTTP: one request per connection (Connection: close). Over TLS each request then
    /// costs a handshake (resumed when the server takes a ticket): handshakes per second is
    /// the figure, and latency includes the handshake.
    #[arg(long)]
    close: bool,
    /// A connection the server closes (between requests, or after `Connection: close`) is
    /// replaced by a new one, as a browser would: a server that drains for a restart keeps
    /// its load. Without it the run goes on with the connections left.
    #[arg(long)]
    reconnect: bool,
    /// TLS: accept any certificate for any name (a self-signed test server). The
    /// handshake's signatures are still checked.
    #[arg(short = 'k', long, conflicts_with = "ca")]
    insecure: bool,
    /// TLS: trust the certificates in this PEM file (the server's own, for a self-signed
    /// one) instead of the system's CA bundle.
    #[arg(long, value_name = "PEM")]
    ca: Option<PathBuf>,
    /// TLS: never resume a session: every handshake is a full one. By default connections
    /// share one session cache and offer a ticket from an earlier handshake.
    #[arg(long)]
    no_resume: bool,
    /// WebSocket: binary messages (default text).
    #[arg(long)]
    binary: bool,
    /// Connections opened per second.
    #[arg(long, default_value_t = 10_000.0)]
    ramp: f64,
    /// Source addresses, e.g. 127.0.0.2-127.0.0.40 or 127.0.0.2,127.0.0.3.
    #[arg(long)]
    source: Option<String>,
    /// Reactor threads.
    #[arg(short = 't', long, default_value_t = 1)]
    threads: usize,
    /// Seconds without an answer that count as a timeout.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Seconds at the start whose latencies are not recorded (connection set-up, cold
    /// caches); counts and throughput still include them.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// hold: send one byte every this many seconds (0: never).
    #[arg(long, default_value_t = 0.0)]
    interval: f64,
    /// Exit non-zero when errors (and HTTP responses outside 2xx/3xx) are more than this
    /// share of responses plus errors: 0.01 or 1%. A run with no successful response always
    /// fails.
    #[arg(long, value_parser = parse_share)]
    max_error_rate: Option<f64>,
    /// A progress line on stderr every this many seconds when stderr is not a terminal
    /// (0: none); on a terminal the line is rewritten every second.
    #[arg(long, default_value_t = 10.0)]
    progress: f64,
    /// Write the latency as an HdrHistogram interval log (one interval per second, then the
    /// whole run tagged `total`) for `loadgen report` or HdrHistogram's tools.
    #[arg(long)]
    hdr_log: Option<PathBuf>,
    /// Begin at this Unix time (seconds, fractions allowed), so generators on several
    /// machines start together.
    #[arg(long)]
    start_at: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Merges interval logs (from `loadgen --hdr-log`, several generator processes or machines
/// on one run) into one summary: a text table on stdout and a self-contained HTML file.
#[derive(Parser, Debug)]
#[command(name = "loadgen report")]
struct ReportCli {
    /// Interval log files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The HTML report.
    #[arg(short = 'o', long, default_value = "report.html")]
    out: PathBuf,
    /// The HTML page's title.
    #[arg(long, default_value = "loadgen report")]
    title: String,
}

fn parse_share(s: &str) -> Result<f64, String> {
    let (num, scale) = match s.strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (s, 1.0),
    };
    let v: f64 = num.trim().parse().map_err(|e| format!("{s}: {e}"))?;
    let v = v / scale;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("{s}: a share between 0 and 1 (or 0% and 100%)"));
    }
    Ok(v)
}

fn sources(spec: &str) -> Result<Vec<IpAddr>, String> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let a: Ipv4Addr = a.trim().parse().map_err(|e| format!("{a}: {e}"))?;
                let b: Ipv4Addr = b.trim().parse().map_err(|e| format!("{b}: {e}"))?;
                if u32::from(b) < u32::from(a) || u32::from(b) - u32::from(a) > 65535 {
                    return Err(format!("bad range {part}"));
                }
                out.extend((u32::from(a)..=u32::from(b)).map(|n| IpAddr::V4(n.into())));
            }
            None => out.push(part.trim().parse().map_err(|e| format!("{part}: {e}"))?),
        }
    }
    Ok(out)
}

/// Prints `msg` and exits with `code` (2: bad arguments, 1: the run failed).
fn die(code: i32, msg: impl std::fmt::Display) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(code);
}

fn report_main(args: Vec<String>) {
    let cli = ReportCli::parse_from(args);
    let mut logs = Vec::new();
    for f in &cli.files {
        let text = std::fs::read(f).unwrap_or_else(|e| die(2, format!("{}: {e}", f.display())));
        let name = f.display().to_string();
        logs.push(hdrlog::read_log(&name, &text).unwrap_or_else(|e| die(2, e)));
    }
    let merged = hdrlog::merge(&logs).unwrap_or_else(|e| die(2, e));
    print!("{}", html::render_text(&merged));
    std::fs::write(&cli.out, html::render_html(&merged, &cli.title))
        .unwrap_or_else(|e| die(1, format!("{}: {e}", cli.out.display())));
    println!("HTML report: {}", cli.out.display());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("report") {
        return report_main(args[1..].to_vec());
    }
    let cli = Cli::parse_from(args);
    let sources = match cli.source.as_deref().map(sources).transpose() {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => die(2, format!("--source: {e}")),
    };
    let tgt = target::parse(&cli.target).unwrap_or_else(|e| die(2, e));
    tgt.check_mode(cli.mode).unwrap_or_else(|e| die(2, e));
    let addr = tgt.resolve(&sources).unwrap_or_else(|e| die(2, e));
    let path = match (&tgt.path, cli.path) {
        (Some(_), Some(_)) => die(2, "the path is in the URL and in --path: give one"),
        (Some(p), None) => p.clone(),
        (None, Some(p)) => p,
        (None, None) => "/".to_string(),
    };
    request::check_method(&cli.method).unwrap_or_else(|e| die(2, format!("--method: {e}")));
    let headers = cli
        .headers
        .iter()
        .map(|h| request::parse_header(h))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| die(2, format!("--header: {e}")));
    let body = match &cli.body_file {
        Some(f) => Bytes::from(
            std::fs::read(f)
                .unwrap_or_else(|e| die(2, format!("--body-file {}: {e}", f.display()))),
        ),
        None => Bytes::new(),
    };
    let start_at = cli.start_at.map(|t| {
        if !(t.is_finite() && t > 0.0) {
            die(2, "--start-at: a Unix time in seconds");
        }
        UNIX_EPOCH + Duration::from_secs_f64(t)
    });
    let secs = |s: f64| (s > 0.0).then(|| Duration::from_secs_f64(s));
    // SAFETY: isatty only inspects the descriptor number.
    let terminal = unsafe { libc::isatty(2) } == 1;
    let progress = match secs(cli.progress) {
        None => ProgressStyle::Off,
        Some(_) if terminal => ProgressStyle::Terminal,
        Some(every) => ProgressStyle::Lines(every),
    };
    let mut config = Config::new(cli.mode, addr);
    config.host = tgt.host_header();
    config.connections = cli.connections.max(1);
    config.duration = secs(cli.duration);
    config.requests = cli.requests;
    config.rate = cli.rate;
    config.size = cli.size;
    config.in_flight = cli.in_flight;
    config.path = path;
    config.method = cli.method;
    config.headers = headers;
    config.body = body;
    config.close = cli.close;
    config.reconnect = cli.reconnect;
    config.binary = cli.binary;
    config.ramp = cli.ramp.max(1.0);
    config.sources = sources;
    config.threads = cli.threads.max(1);
    config.timeout = Duration::from_secs_f64(cli.timeout.max(0.001));
    config.hold_interval = secs(cli.interval);
    config.warmup = Duration::from_secs_f64(cli.warmup.max(0.0));
    config.progress = progress;
    config.start_at = start_at;
    if tgt.is_tls() {
        let opts = TlsOptions {
            trust: match (cli.insecure, cli.ca) {
                (true, _) => Trust::Insecure,
                (false, Some(ca)) => Trust::Ca(ca),
                (false, None) => Trust::System,
            },
            resume: !cli.no_resume,
            alpn: match tgt.scheme {
                Some(target::Scheme::Tls) => Vec::new(),
                _ => vec![b"http/1.1".to_vec()],
            },
        };
        config.tls = Some(TlsClient::new(&tgt.host, &opts).unwrap_or_else(|e| die(2, e)));
    } else if cli.insecure || cli.ca.is_some() || cli.no_resume {
        die(
            2,
            "--insecure, --ca and --no-resume need a TLS target (https://, wss://, tls://)",
        );
    }
    if let Some(at) = start_at {
        if let Ok(wait) = at.duration_since(SystemTime::now()) {
            eprintln!("loadgen: starting in {:.1} s", wait.as_secs_f64());
        }
    }
    let outcome = run(&config).unwrap_or_else(|e| die(1, e));
    if let Some(path) = &cli.hdr_log {
        let written = std::fs::File::create(path).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            outcome.write_hdr_log(&mut w)?;
            std::io::Write::flush(&mut w)
        });
        if let Err(e) = written {
            die(1, format!("--hdr-log {}: {e}", path.display()));
        }
    }
    let report = &outcome.report;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(report).unwrap());
    } else {
        println!("{report}");
    }
    if let Some(why) = report.failure(cli.max_error_rate) {
        die(1, format!("run failed: {why}"));
    }
}
