//! Tunables of a reactor and of a listener, with defaults that suit a busy server.

use std::time::Duration;

/// Reactor tunables. `Config::default()` suits most servers.
#[derive(Clone, Debug)]
pub struct Config {
    /// Size of a read when a connection first has data. A connection whose reads keep
    /// filling the offer reads up to 16x this (bulk transfers); the buffer grows as needed up
    /// to `max_input`, and is given back when the protocol consumed everything.
    pub read_buffer: usize,
    /// Bytes read from one connection per wake before others get their turn.
    pub read_budget: usize,
    /// Unconsumed input a protocol may leave in its buffer; beyond it the connection closes
    /// with [`CloseReason::InputLimit`](crate::CloseReason::InputLimit).
    pub max_input: usize,
    /// Write-queue size above which reading stops (backpressure).
    pub high_watermark: usize,
    /// Write-queue size below which reading resumes.
    pub low_watermark: usize,
    /// Connections accepted per listener per wake.
    pub accept_budget: usize,
    /// Open connections (children included) above which listeners stop accepting.
    pub max_connections: usize,
    /// How long accepting pauses after EMFILE/ENFILE (it also resumes as soon as any
    /// connection closes).
    pub accept_backoff: Duration,
    /// Close connections that neither read nor wrote for this long (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// How long graceful shutdown waits for protocols to finish.
    pub shutdown_grace: Duration,
    /// Readiness events fetched per `epoll_wait`.
    pub events_capacity: usize,
    /// Use the portable I/O paths even where the kernel offers a faster one: file ranges go
    /// out with `pread` + `write` instead of `sendfile(2)`, and TCP urgent data is found by
    /// asking the socket after a short read (`SIOCATMARK`) instead of by Linux's priority
    /// event. These are the paths FreeBSD, macOS and other Unixes take in part or in full
    /// (see `docs/platforms.md`); turning this on under Linux tests them there. Default
    /// `false`; [`Config::from_env`] sets it from `NETREACTOR_PORTABLE_IO=1`.
    pub portable_io: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            read_buffer: 16 * 1024,
            read_budget: 256 * 1024,
            max_input: 1024 * 1024,
            high_watermark: 1024 * 1024,
            low_watermark: 256 * 1024,
            accept_budget: 256,
            max_connections: 1 << 20,
            accept_backoff: Duration::from_millis(100),
            idle_timeout: None,
            shutdown_grace: Duration::from_secs(5),
            events_capacity: 1024,
            portable_io: false,
        }
    }
}

impl Config {
    /// The environment variable [`Config::from_env`] reads.
    pub const PORTABLE_IO_ENV: &'static str = "NETREACTOR_PORTABLE_IO";

    /// `Config::default()`, with [`portable_io`](Config::portable_io) on when the environment
    /// variable `NETREACTOR_PORTABLE_IO` is `1`. The test servers in `tests/` honour it, so one
    /// test run can take the portable paths on Linux; `Config::default()` never reads the
    /// environment.
    ///
    /// ```
    /// let config = netreactor::Config::from_env();
    /// let on = std::env::var("NETREACTOR_PORTABLE_IO").is_ok_and(|v| v == "1");
    /// assert_eq!(config.portable_io, on);
    /// ```
    pub fn from_env() -> Config {
        Config {
            portable_io: std::env::var(Self::PORTABLE_IO_ENV).is_ok_and(|v| v == "1"),
            ..Config::default()
        }
    }
}

/// Options of a listening socket.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// `SO_REUSEPORT`: several reactors (threads or processes) bind the same port. Linux
    /// balances connections between them; on FreeBSD `SO_REUSEPORT_LB` is set as well so it
    /// does too; macOS does not balance, so [`run_workers`](crate::run_workers) shares one
    /// socket between its reactors there instead (see `docs/platforms.md`).
    pub reuse_port: bool,
    /// `listen(2)` backlog.
    pub backlog: i32,
    /// `TCP_NODELAY` on accepted connections.
    pub nodelay: bool,
    /// `IPV6_V6ONLY` for IPv6 listeners.
    pub v6_only: bool,
    /// `SO_OOBINLINE` (inherited by accepted sockets): TCP urgent data arrives in the normal
    /// stream. Telnet-style protocols (FTP's ABOR sends its Data Mark as urgent data) want it.
    pub oob_inline: bool,
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions {
            reuse_port: false,
            backlog: 4096,
            nodelay: true,
            v6_only: true,
            oob_inline: false,
        }
    }
}
