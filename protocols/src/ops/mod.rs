//! Operations: counters the metrics endpoint exports ([`counters`]), the buffered log files
//! (the HTTP access log, the FTP xferlog: [`log`]) and their timestamps ([`time`]); with the
//! `cli` feature, the Prometheus endpoint ([`metrics`]) and the binary's flags ([`cli`]).
//! See `docs/operations.md`.

#[cfg(feature = "cli")]
pub mod cli;
pub mod counters;
pub mod log;
#[cfg(feature = "cli")]
pub mod metrics;
pub mod time;

pub use counters::{Counter, FtpCounters, Gauge, HttpCounters, TelnetCounters, WsCounters};
pub use log::{LogSink, LogWriter, Stamp};
