//! `loadgen`: load generator on the netreactor core. `loadgen --help` for the flags; see
//! `docs/loadgen.md`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use netreactor_protocols::loadgen::{run, Config, Mode};

/// Load generator on the netreactor core: TCP echo, HTTP, WebSocket echo, idle connections.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// What each connection does.
    #[arg(value_enum)]
    mode: Mode,
    /// Server address.
    target: SocketAddr,
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
    /// HTTP path (and WebSocket upgrade path).
    #[arg(long, default_value = "/")]
    path: String,
    /// HTTP: one request per connection (Connection: close).
    #[arg(long)]
    close: bool,
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
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
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

fn main() {
    let cli = Cli::parse();
    let sources = match cli.source.as_deref().map(sources).transpose() {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            eprintln!("loadgen: --source: {e}");
            std::process::exit(2);
        }
    };
    let secs = |s: f64| (s > 0.0).then(|| Duration::from_secs_f64(s));
    let config = Config {
        mode: cli.mode,
        target: cli.target,
        connections: cli.connections.max(1),
        duration: secs(cli.duration),
        requests: cli.requests,
        rate: cli.rate,
        size: cli.size,
        in_flight: cli.in_flight,
        path: cli.path,
        close: cli.close,
        binary: cli.binary,
        ramp: cli.ramp.max(1.0),
        sources,
        threads: cli.threads.max(1),
        timeout: Duration::from_secs_f64(cli.timeout.max(0.001)),
        hold_interval: secs(cli.interval),
        warmup: Duration::from_secs_f64(cli.warmup.max(0.0)),
        // SAFETY: isatty only inspects the descriptor number.
        progress: !cli.json && unsafe { libc::isatty(2) } == 1,
    };
    match run(&config) {
        Ok(report) if cli.json => println!("{}", serde_json::to_string_pretty(&report).unwrap()),
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}
