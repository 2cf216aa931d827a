//! Tunables of a reactor and of a listener, with defaults that suit a busy server.

use std::net::SocketAddr;
use std::time::Duration;

use crate::Cidr;

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
    /// Open connections (children included) beyond which new ones are refused
    /// ([`Protocol::on_refused`](crate::Protocol::on_refused)); by default the process's
    /// descriptor limit less 160, so the server never runs out of descriptors for files,
    /// pipes and its refusals.
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
    /// Queued output (bytes in memory; file ranges do not count) that piling-up writes may
    /// not pass: once the queue holds more than the soft limit, a write that would take it
    /// past this one is refused and the connection closed with
    /// [`CloseReason::OutputLimit`](crate::CloseReason::OutputLimit). Stops a peer that never
    /// reads from holding what others broadcast to it; one large write to a connection that
    /// keeps up is still accepted. A protocol that must queue more lifts it with
    /// [`Context::set_output_limited`](crate::Context::set_output_limited).
    pub output_limit: usize,
    /// Queued output a connection may hold for at most [`output_soft_time`](Self::output_soft_time)
    /// without progress: still above it that long after going above, with nothing written to
    /// or read from it in that time, it is closed with
    /// [`CloseReason::OutputLimit`](crate::CloseReason::OutputLimit) (Redis's soft client
    /// output buffer limit, sparing slow readers that keep reading).
    pub output_soft_limit: usize,
    /// See [`output_soft_limit`](Self::output_soft_limit).
    pub output_soft_time: Duration,
    /// Connections one source address (an IPv4 address, an IPv6 /64) may hold on one listener
    /// at once; beyond it new ones are refused ([`Protocol::on_refused`](crate::Protocol::on_refused)).
    /// Loopback sources are exempt unless [`limit_loopback_sources`](Self::limit_loopback_sources)
    /// is set: load generators and local proxies run there.
    pub max_per_source: usize,
    /// Apply [`max_per_source`](Self::max_per_source) to loopback sources too.
    pub limit_loopback_sources: bool,
    /// Connections accepted beyond [`max_connections`](Self::max_connections) (or a
    /// listener's or a source's cap) only to be refused politely: the protocol answers
    /// ("503", "421") within [`refusal_time`](Self::refusal_time) and they close. Beyond
    /// these, accepting pauses. A full server still tells new clients why.
    pub refusal_reserve: usize,
    /// How long a refused connection may take to say so.
    pub refusal_time: Duration,
    /// Use the portable I/O paths even where the kernel offers a faster one: file ranges go
    /// out with `pread` + `write` instead of `sendfile(2)`, and TCP urgent data is found by
    /// asking the socket after a short read (`SIOCATMARK`) instead of by Linux's priority
    /// event. These are the paths FreeBSD, macOS and other Unixes take in part or in full
    /// (see `docs/platforms.md`); turning this on under Linux tests them there. Default
    /// `false`; [`Config::from_env`] sets it from `NETREACTOR_PORTABLE_IO=1`.
    pub portable_io: bool,
    /// How long a TLS handshake may take (feature `tls`); a connection still handshaking
    /// after it closes with [`CloseReason::TlsHandshake`](crate::CloseReason::TlsHandshake).
    pub tls_handshake_timeout: Duration,
    /// Bytes a peer may send during a TLS handshake (feature `tls`): certificate chains fit,
    /// a peer that keeps a handshake open with junk does not.
    pub tls_handshake_limit: usize,
    /// Longest a lingering close may last (zero: connections never linger). A TCP or Unix
    /// connection closed after a flush while its peer may still be sending (its input is not
    /// all read, or the protocol said so with
    /// [`Context::close_lingering`](crate::Context::close_lingering)) shuts down its write half
    /// and reads and discards until the peer's EOF before it closes: closing with unread input
    /// makes the kernel reset the connection, and a client still sending a request body
    /// would get the reset instead of the response it was sent (nginx's `lingering_time`).
    /// The protocol's [`on_close`](crate::Protocol::on_close) runs when it closes, not when
    /// the lingering ends; the socket counts against the connection caps until then.
    pub lingering_time: Duration,
    /// Longest a lingering close waits for more input before it closes anyway (nginx's
    /// `lingering_timeout`).
    pub lingering_timeout: Duration,
}

/// Descriptors the process may open (`RLIMIT_NOFILE`'s soft limit), for the default cap.
fn descriptor_limit() -> usize {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft as usize)
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
            // Room left for listeners, files, pipes and the refusals.
            max_connections: descriptor_limit().saturating_sub(160).max(64),
            accept_backoff: Duration::from_millis(100),
            idle_timeout: None,
            shutdown_grace: Duration::from_secs(5),
            events_capacity: 1024,
            output_limit: 16 * 1024 * 1024,
            output_soft_limit: 1024 * 1024,
            output_soft_time: Duration::from_secs(10),
            max_per_source: 4096,
            limit_loopback_sources: false,
            refusal_reserve: 64,
            refusal_time: Duration::from_secs(2),
            portable_io: false,
            tls_handshake_timeout: Duration::from_secs(10),
            tls_handshake_limit: 64 * 1024,
            lingering_time: Duration::from_secs(30),
            lingering_timeout: Duration::from_secs(5),
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
    /// Sets [`output_limit`](Config#structfield.output_limit).
    output_limit: usize;
    /// Sets [`output_soft_limit`](Config#structfield.output_soft_limit).
    output_soft_limit: usize;
    /// Sets [`output_soft_time`](Config#structfield.output_soft_time).
    output_soft_time: Duration;
    /// Sets [`max_per_source`](Config#structfield.max_per_source).
    max_per_source: usize;
    /// Sets [`limit_loopback_sources`](Config#structfield.limit_loopback_sources).
    limit_loopback_sources: bool;
    /// Sets [`refusal_reserve`](Config#structfield.refusal_reserve).
    refusal_reserve: usize;
    /// Sets [`refusal_time`](Config#structfield.refusal_time).
    refusal_time: Duration;
    /// Sets [`portable_io`](Config#structfield.portable_io).
    portable_io: bool;
    /// Sets [`tls_handshake_timeout`](Config#structfield.tls_handshake_timeout).
    tls_handshake_timeout: Duration;
    /// Sets [`tls_handshake_limit`](Config#structfield.tls_handshake_limit).
    tls_handshake_limit: usize;
    /// Sets [`lingering_time`](Config#structfield.lingering_time).
    lingering_time: Duration;
    /// Sets [`lingering_timeout`](Config#structfield.lingering_timeout).
    lingering_timeout: Duration;
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
    /// Connections of this listener open at once (`None`: only the reactor's caps); beyond
    /// it new ones are refused ([`Protocol::on_refused`](crate::Protocol::on_refused)).
    pub max_connections: Option<usize>,
    /// Connections start with a PROXY protocol header (`None`: they do not); see
    /// [`ProxyProtocol`] and [`ListenOptions::proxy_protocol`].
    pub proxy_protocol: Option<ProxyProtocol>,
    /// How long a connection has to send its whole PROXY protocol header (default 5 s);
    /// closed after that.
    pub proxy_header_timeout: Duration,
    /// The server this listener belongs to, for its counters ([`ListenerStats`]): listeners
    /// with the same label share one set (`None`: the unlabelled set).
    ///
    /// [`ListenerStats`]: crate::ListenerStats
    pub label: Option<String>,
}

impl ListenOptions {
    /// Reads a PROXY protocol header (v1 or v2, see [`proxy_header`](crate::proxy_header))
    /// at the start of the connections `policy` says carry one, before their protocol sees
    /// them: `on_open` runs once the header is read (a server that speaks first waits for
    /// it), and from then on the connection's peer address
    /// ([`Context::peer_addr`](crate::Context::peer_addr),
    /// [`ChildEvent::Accepted`](crate::ChildEvent::Accepted)'s `peer`, the per-source cap
    /// [`Config::max_per_source`]) is the header's source. The local address stays the
    /// socket's. A header without addresses (a balancer's `LOCAL` health check, v1
    /// `UNKNOWN`) leaves the socket's peer address.
    ///
    /// A malformed header, a connection that closes before its header is whole, or one that
    /// takes longer than [`proxy_header_timeout`](Self::proxy_header_timeout) is closed
    /// without its protocol ever seeing it (counted in
    /// [`Stats::proxy_header_errors`](crate::Stats::proxy_header_errors) and
    /// [`Stats::proxy_header_timeouts`](crate::Stats::proxy_header_timeouts)). There is no
    /// fallback to "no header": a connection the policy says carries one must.
    ///
    /// ```
    /// use netreactor::{ListenOptions, ProxyProtocol};
    ///
    /// // Behind a balancer at 10.0.0.5 only: everyone else connects directly.
    /// let opts = ListenOptions::default()
    ///     .proxy_protocol(ProxyProtocol::Optional(vec!["10.0.0.5".parse().unwrap()]));
    /// assert!(opts.proxy_protocol.is_some());
    /// ```
    pub fn proxy_protocol(mut self, policy: ProxyProtocol) -> ListenOptions {
        self.proxy_protocol = Some(policy);
        self
    }

    /// Sets [`label`](ListenOptions#structfield.label): the listener's connections are counted
    /// in the [`ListenerStats`](crate::ListenerStats) of that name.
    ///
    /// ```
    /// use netreactor::ListenOptions;
    ///
    /// let opts = ListenOptions::default().label("http");
    /// assert_eq!(opts.label.as_deref(), Some("http"));
    /// ```
    pub fn label(mut self, label: &str) -> ListenOptions {
        self.label = Some(label.to_owned());
        self
    }

    /// Sets [`proxy_header_timeout`](ListenOptions#structfield.proxy_header_timeout).
    pub fn proxy_header_timeout(mut self, timeout: Duration) -> ListenOptions {
        self.proxy_header_timeout = timeout;
        self
    }
}

/// Which connections of a listener start with a PROXY protocol header
/// ([`ListenOptions::proxy_protocol`]). Never guessed from the bytes: a connection either
/// must send one or is taken as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyProtocol {
    /// Every connection must (the listener is reachable only through the balancer).
    Required,
    /// Connections from these sources (the balancers) must; connections from anywhere else
    /// are taken as they are, their bytes given to the protocol unread. Unix-socket peers
    /// have no address and are taken as they are: use `Required` there.
    Optional(Vec<Cidr>),
}

impl ProxyProtocol {
    /// True when a connection from `peer` must start with a header.
    ///
    /// ```
    /// use netreactor::ProxyProtocol;
    ///
    /// let policy = ProxyProtocol::Optional(vec!["127.0.0.4".parse().unwrap()]);
    /// assert!(policy.expects_header(Some("127.0.0.4:5000".parse().unwrap())));
    /// assert!(!policy.expects_header(Some("127.0.0.1:5000".parse().unwrap())));
    /// assert!(ProxyProtocol::Required.expects_header(None));
    /// ```
    pub fn expects_header(&self, peer: Option<SocketAddr>) -> bool {
        match self {
            ProxyProtocol::Required => true,
            ProxyProtocol::Optional(trusted) => {
                peer.is_some_and(|p| trusted.iter().any(|c| c.contains(p.ip())))
            }
        }
    }
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions {
            reuse_port: false,
            backlog: 4096,
            nodelay: true,
            v6_only: true,
            oob_inline: false,
            max_connections: None,
            proxy_protocol: None,
            proxy_header_timeout: Duration::from_secs(5),
            label: None,
        }
    }
}
