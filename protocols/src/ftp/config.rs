//! The configuration of an FTP server (with defaults) and the state its control connections
//! share: the limits' counters and the passive-port rotation. Neither the connection nor the
//! listener owns it, so [`conn`](super::conn) and [`server`](super::server) need not import
//! each other.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::time::Duration;

use netreactor::ProxyProtocol;

use super::listing::StatCache;
use super::users::Users;

/// Configuration of an FTP server.
#[derive(Clone, Debug)]
pub struct FtpConfig {
    /// Accounts (and anonymous access).
    pub users: Users,
    /// Ports PASV/EPSV listeners are bound in (`None`: any free port).
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// Address announced in 227 replies instead of the control connection's local address
    /// (a server behind NAT).
    pub masquerade: Option<Ipv4Addr>,
    /// Control connections served at once; beyond it new ones get 421.
    pub max_connections: usize,
    /// Control connections per client IP; beyond it new ones get 421.
    pub max_per_ip: usize,
    /// A control connection idle (no command) this long gets 421 and is closed.
    pub idle_timeout: Duration,
    /// A data transfer with no progress this long is aborted with 426.
    pub data_timeout: Duration,
    /// A PASV/EPSV listener nobody connects to within this is closed (425 if a transfer waits).
    pub passive_timeout: Duration,
    /// How long a failed login waits before its 530 (a timer, not a sleep).
    pub login_delay: Duration,
    /// Failed logins after which the connection is closed with 421.
    pub max_login_attempts: u32,
    /// Commands buffered while a transfer runs (pipelining); beyond it reading pauses.
    pub max_queued_commands: usize,
    /// Text of the 220 greeting.
    pub banner: String,
    /// Serve dot-files and dot-directories (`.git`, `.env`). Hidden by default: left out of
    /// listings and answered 550.
    pub show_hidden: bool,
    /// Passive data connections start with a PROXY protocol header (`None`: they do not): a
    /// server behind a balancer that forwards the passive port range as well as the control
    /// port, with `send-proxy-v2` on both. The data channel's source check then compares the
    /// header's client address with the control connection's. [`listen`](super::server::listen)
    /// sets it from the control listener's
    /// [`ListenOptions::proxy_protocol`](netreactor::ListenOptions::proxy_protocol) when unset.
    pub passive_proxy_protocol: Option<ProxyProtocol>,
    /// FTPS (RFC 4217): `AUTH TLS`, protected data channels, implicit FTPS listeners.
    /// `None`: `AUTH` is answered 502.
    #[cfg(feature = "tls")]
    pub tls: Option<super::ftps::FtpsConfig>,
    /// Transfers counted for the metrics endpoint (`None`: not counted).
    pub counters: Option<std::sync::Arc<crate::ops::FtpCounters>>,
    /// The xferlog finished transfers go to ([`xferlog`](super::xferlog)).
    pub xferlog: Option<crate::ops::LogWriter>,
}

impl Default for FtpConfig {
    fn default() -> FtpConfig {
        FtpConfig {
            users: Users::default(),
            passive_ports: None,
            masquerade: None,
            max_connections: 512,
            max_per_ip: 32,
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(60),
            passive_timeout: Duration::from_secs(30),
            login_delay: Duration::from_millis(500),
            max_login_attempts: 3,
            max_queued_commands: 32,
            banner: "netreactor FTP server ready.".to_string(),
            show_hidden: false,
            passive_proxy_protocol: None,
            #[cfg(feature = "tls")]
            tls: None,
            counters: None,
            xferlog: None,
        }
    }
}

/// State shared by the control connections of one reactor: the configuration, the
/// connection counts behind the limits, and the last `STAT <dir>` listing.
#[derive(Debug)]
pub struct Shared {
    /// The configuration.
    pub config: FtpConfig,
    per_ip: RefCell<HashMap<IpAddr, usize>>,
    total: Cell<usize>,
    next_passive: Cell<u16>,
    /// The last `STAT <dir>` listing, reused for a moment.
    pub(super) stat_cache: RefCell<Option<StatCache>>,
}

impl Shared {
    /// Shared state for `config`.
    pub fn new(config: FtpConfig) -> Shared {
        let first = config.passive_ports.as_ref().map_or(0, |r| *r.start());
        Shared {
            config,
            per_ip: RefCell::new(HashMap::new()),
            total: Cell::new(0),
            next_passive: Cell::new(first),
            stat_cache: RefCell::new(None),
        }
    }

    /// Counts a new control connection from `ip`; false (and nothing counted) when a limit
    /// is reached.
    pub fn admit(&self, ip: IpAddr) -> bool {
        let mut map = self.per_ip.borrow_mut();
        let n = map.entry(ip).or_insert(0);
        if self.total.get() >= self.config.max_connections || *n >= self.config.max_per_ip {
            if *n == 0 {
                map.remove(&ip);
            }
            return false;
        }
        *n += 1;
        self.total.set(self.total.get() + 1);
        true
    }

    /// Forgets a connection counted by [`admit`](Self::admit).
    pub fn release(&self, ip: IpAddr) {
        let mut map = self.per_ip.borrow_mut();
        if let Some(n) = map.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
        self.total.set(self.total.get().saturating_sub(1));
    }

    /// Control connections counted now.
    pub fn connections(&self) -> usize {
        self.total.get()
    }

    /// The passive ports to try, starting after the last one handed out (round robin).
    pub fn passive_candidates(&self) -> Vec<u16> {
        let Some(range) = &self.config.passive_ports else {
            return vec![0];
        };
        let (lo, hi) = (*range.start(), *range.end());
        let start = self.next_passive.get().clamp(lo, hi);
        let mut out: Vec<u16> = (start..=hi).chain(lo..start).collect();
        out.truncate(usize::from(hi - lo) + 1);
        let next = if start >= hi { lo } else { start + 1 };
        self.next_passive.set(next);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_per_ip_and_total() {
        let shared = Shared::new(FtpConfig {
            max_connections: 3,
            max_per_ip: 2,
            ..FtpConfig::default()
        });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(shared.admit(a) && shared.admit(a));
        assert!(!shared.admit(a), "third from one IP");
        assert!(shared.admit(b));
        assert!(!shared.admit(b), "total reached");
        shared.release(a);
        assert!(shared.admit(b));
        assert_eq!(shared.connections(), 3);
    }

    #[test]
    fn passive_ports_rotate_through_the_range() {
        let shared = Shared::new(FtpConfig {
            passive_ports: Some(50000..=50002),
            ..FtpConfig::default()
        });
        assert_eq!(shared.passive_candidates(), vec![50000, 50001, 50002]);
        assert_eq!(shared.passive_candidates(), vec![50001, 50002, 50000]);
        assert_eq!(shared.passive_candidates(), vec![50002, 50000, 50001]);
        assert_eq!(shared.passive_candidates(), vec![50000, 50001, 50002]);
    }
}
