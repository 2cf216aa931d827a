//! The binary's operations flags (`--metrics`, `--access-log`, `--xferlog`, `--log-format`)
//! and their start-up: logging, the log writers, the metrics endpoint, and each worker's
//! share ([`WorkerOps`]), which the protocols' `cli` start functions pick up.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use netreactor::Reactor;

use super::log::{LogSink, LogWriter, Stamp};
use super::metrics::{self, Registry, WorkerCounters};

/// How stderr log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (colour codes only when stderr is a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Metrics and log flags.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct OpsArgs {
    /// Serve Prometheus metrics at `http://ADDR/metrics` (off by default).
    #[arg(long = "metrics", value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// HTTP access log in Combined Log Format, appended to FILE (`-`: stdout).
    #[arg(long = "access-log", value_name = "FILE|-")]
    pub access_log: Option<PathBuf>,
    /// FTP transfer log in xferlog format, appended to FILE (`-`: stdout).
    #[arg(long = "xferlog", value_name = "FILE|-")]
    pub xferlog: Option<PathBuf>,
    /// Format of the log lines on stderr.
    #[arg(
        long = "log-format",
        value_name = "FORMAT",
        value_enum,
        default_value_t
    )]
    pub log_format: LogFormat,
}

/// Sets up `tracing` on stderr in `format` (`RUST_LOG` filters; default `info`).
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rustls=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colour codes only for a terminal: a log file or a pipe gets plain text.
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .with_current_span(false)
            .init(),
    }
}

/// The process's operations: started once in `main`, shared by the workers.
pub struct Ops {
    registry: Option<Arc<Registry>>,
    access_log: Option<Arc<LogSink>>,
    xferlog: Option<Arc<LogSink>>,
}

/// One worker's share of [`Ops`]: its counters and log writers.
#[derive(Clone, Debug, Default)]
pub struct WorkerOps {
    /// Its servers' counters (kept whether or not the endpoint is on: a few atomics).
    pub counters: Arc<WorkerCounters>,
    /// Its end of the access log.
    pub access_log: Option<LogWriter>,
    /// Its end of the xferlog.
    pub xferlog: Option<LogWriter>,
}

thread_local! {
    static CURRENT: RefCell<Option<WorkerOps>> = const { RefCell::new(None) };
}

impl WorkerOps {
    /// This thread's share, set by [`Ops::worker`] (the default when none was: counters
    /// nobody reads, no logs). Read at start-up by the protocols' `cli` functions.
    pub fn current() -> WorkerOps {
        CURRENT.with(|c| c.borrow().clone()).unwrap_or_default()
    }
}

impl Ops {
    /// Opens the logs and starts the metrics endpoint that `args` ask for, for `workers`
    /// workers.
    pub fn start(args: &OpsArgs, workers: usize) -> io::Result<Ops> {
        let open = |p: &Option<PathBuf>| -> io::Result<Option<Arc<LogSink>>> {
            p.as_ref()
                .map(|p| LogSink::open(p, workers).map(Arc::new))
                .transpose()
                .map_err(|e| io::Error::new(e.kind(), format!("log file: {e}")))
        };
        let ops = Ops {
            registry: args.metrics.map(|_| Arc::new(Registry::default())),
            access_log: open(&args.access_log)?,
            xferlog: open(&args.xferlog)?,
        };
        if let (Some(addr), Some(registry)) = (args.metrics, &ops.registry) {
            for (name, sink) in [("access", &ops.access_log), ("xferlog", &ops.xferlog)] {
                if let Some(sink) = sink {
                    registry.add_log(name, sink.clone());
                }
            }
            let local = metrics::serve(addr, registry.clone())
                .map_err(|e| io::Error::new(e.kind(), format!("--metrics {addr}: {e}")))?;
            tracing::info!(addr = %local, "metrics: serving /metrics");
        }
        Ok(ops)
    }

    /// Worker `index`'s share, registered with the endpoint and made this thread's
    /// [`WorkerOps::current`] for the servers started next.
    pub fn worker(&self, index: usize, reactor: &Reactor) -> WorkerOps {
        let w = WorkerOps {
            counters: Arc::default(),
            access_log: self
                .access_log
                .as_ref()
                .map(|s| s.writer(index, Stamp::Clf)),
            xferlog: self.xferlog.as_ref().map(|s| s.writer(index, Stamp::Ctime)),
        };
        if let Some(r) = &self.registry {
            r.add_worker(index, reactor.handle(), w.counters.clone());
        }
        CURRENT.with(|c| *c.borrow_mut() = Some(w.clone()));
        w
    }
}
