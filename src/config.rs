//! Tunables of a reactor and of a listener, with defaults that suit a busy server.

use std::time::Duration;

/// Reactor tunables. `Config::default()` suits most servers; change what you need with the
/// builder methods, which carry the fields' names.
///
/// ```
/// use std::time::Duration;
/// use netreactor::{Config, Reactor};
///
/// let config = Config::default()
///     .high_watermark(256 * 1024)
///     .low_watermark(64 * 1024)
///     .idle_timeout(Some(Duration::from_secs(60)));
/// assert_eq!(config.high_watermark, 256 * 1024);
/// let reactor = Reactor::with_config(config)?;
/// # let _ = reactor;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
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
    /// The idle timeout new connections start with (`None`: none): after this long with
    /// nothing read and no write progress, [`Protocol::on_idle`](crate::Protocol::on_idle)
    /// runs (by default it closes). A protocol changes its own with
    /// [`Context::set_idle_timeout`](crate::Context::set_idle_timeout).
    pub idle_timeout: Option<Duration>,
    /// How long graceful shutdown waits for protocols to finish.
    pub shutdown_grace: Duration,
    /// Readiness events fetched per `epoll_wait`.
    pub events_capacity: usize,
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
        }
    }
}

macro_rules! builders {
    ($($(#[$doc:meta])* $field:ident: $ty:ty;)*) => {
        impl Config {
            $(
                $(#[$doc])*
                pub fn $field(mut self, value: $ty) -> Config {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

builders! {
    /// Sets [`read_buffer`](Config#structfield.read_buffer).
    read_buffer: usize;
    /// Sets [`read_budget`](Config#structfield.read_budget).
    read_budget: usize;
    /// Sets [`max_input`](Config#structfield.max_input).
    max_input: usize;
    /// Sets [`high_watermark`](Config#structfield.high_watermark).
    high_watermark: usize;
    /// Sets [`low_watermark`](Config#structfield.low_watermark).
    low_watermark: usize;
    /// Sets [`accept_budget`](Config#structfield.accept_budget).
    accept_budget: usize;
    /// Sets [`max_connections`](Config#structfield.max_connections).
    max_connections: usize;
    /// Sets [`accept_backoff`](Config#structfield.accept_backoff).
    accept_backoff: Duration;
    /// Sets [`idle_timeout`](Config#structfield.idle_timeout).
    idle_timeout: Option<Duration>;
    /// Sets [`shutdown_grace`](Config#structfield.shutdown_grace).
    shutdown_grace: Duration;
    /// Sets [`events_capacity`](Config#structfield.events_capacity).
    events_capacity: usize;
}

/// Options of a listening socket.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// `SO_REUSEPORT`: several reactors (threads or processes) share the port and the kernel
    /// balances connections between them.
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
