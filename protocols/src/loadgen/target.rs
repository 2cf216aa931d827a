//! Where the load goes: a URL (`http://host:port/path`, `https://...`, `ws://...`,
//! `wss://...`, `tcp://host:port`, `tls://host:port`) or a plain `host:port`, parsed without
//! any IO ([`parse`]) and then resolved to one socket address ([`Target::resolve`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use super::Mode;

/// A URL scheme loadgen speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`: the `http` mode.
    Http,
    /// `https://`: the `http` mode over TLS.
    Https,
    /// `ws://`: the `ws-echo` mode.
    Ws,
    /// `wss://`: the `ws-echo` mode over TLS.
    Wss,
    /// `tcp://`: the `tcp-echo` and `hold` modes.
    Tcp,
    /// `tls://`: the `tcp-echo` and `hold` modes over TLS.
    Tls,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
            Scheme::Tcp => "tcp",
            Scheme::Tls => "tls",
        }
    }

    /// True for the schemes that speak TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Wss | Scheme::Tls)
    }

    /// The port a URL without one means: 80 or 443 (`tcp://` and `tls://` need a port).
    fn default_port(self) -> Option<u16> {
        match self {
            Scheme::Http | Scheme::Ws => Some(80),
            Scheme::Https | Scheme::Wss => Some(443),
            Scheme::Tcp | Scheme::Tls => None,
        }
    }

    /// True when `mode` runs over this scheme.
    pub fn fits(self, mode: Mode) -> bool {
        matches!(
            (self, mode),
            (Scheme::Http | Scheme::Https, Mode::Http)
                | (Scheme::Ws | Scheme::Wss, Mode::WsEcho)
                | (Scheme::Tcp | Scheme::Tls, Mode::TcpEcho | Mode::Hold)
        )
    }
}

/// A parsed target, not yet resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL's scheme (`None` for a plain `host:port`).
    pub scheme: Option<Scheme>,
    /// Host name or address as written (IPv6 without the brackets).
    pub host: String,
    /// Port (from the URL, or the scheme's default: 80 for `http` and `ws`, 443 for `https`
    /// and `wss`).
    pub port: u16,
    /// Path and query from the URL (`None` when the URL has none, or for `host:port`).
    pub path: Option<String>,
}

/// Why a target was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// A scheme other than `http`, `https`, `ws`, `wss`, `tcp`, `tls`.
    UnknownScheme(String),
    /// No port where one is needed, or a port that is not a number in 1..=65535.
    BadPort(String),
    /// No host.
    NoHost,
    /// The name did not resolve (or to no address of the wanted family).
    Resolve(String),
    /// The scheme does not fit the mode (`ws://` with `http`).
    WrongMode {
        /// The URL's scheme.
        scheme: &'static str,
        /// The mode asked for.
        mode: Mode,
    },
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::UnknownScheme(s) => {
                write!(
                    f,
                    "unknown scheme {s}:// (http://, https://, ws://, wss://, tcp://, tls:// or host:port)"
                )
            }
            TargetError::BadPort(s) => write!(f, "bad or missing port in {s:?}"),
            TargetError::NoHost => write!(f, "no host in the target"),
            TargetError::Resolve(s) => write!(f, "cannot resolve {s}"),
            TargetError::WrongMode { scheme, mode } => {
                write!(f, "a {scheme}:// target does not fit mode {mode}")
            }
        }
    }
}

impl std::error::Error for TargetError {}

/// Parses `spec`: a URL or `host:port` (`[v6]:port` for IPv6 addresses). No IO.
pub fn parse(spec: &str) -> Result<Target, TargetError> {
    let (scheme, rest) = match spec.split_once("://") {
        Some((s, rest)) => {
            let scheme = match s.to_ascii_lowercase().as_str() {
                "http" => Scheme::Http,
                "https" => Scheme::Https,
                "ws" => Scheme::Ws,
                "wss" => Scheme::Wss,
                "tcp" => Scheme::Tcp,
                "tls" => Scheme::Tls,
                _ => return Err(TargetError::UnknownScheme(s.to_string())),
            };
            (Some(scheme), rest)
        }
        None => (None, spec),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if scheme.is_some() => (&rest[..i], Some(&rest[i..])),
        _ => (rest, None),
    };
    // Userinfo is not sent anywhere; drop it rather than treat it as the host.
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| TargetError::BadPort(spec.to_string()))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(TargetError::NoHost);
    }
    let port = match (port, scheme) {
        (Some(p), _) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| TargetError::BadPort(spec.to_string()))?,
        (None, Some(s)) => s
            .default_port()
            .ok_or_else(|| TargetError::BadPort(spec.to_string()))?,
        (None, None) => return Err(TargetError::BadPort(spec.to_string())),
    };
    let path = path.map(|p| {
        if p.starts_with('?') {
            format!("/{p}")
        } else {
            p.to_string()
        }
    });
    Ok(Target {
        scheme,
        host: host.to_string(),
        port,
        path,
    })
}

impl Target {
    /// Refuses a scheme that does not fit `mode`.
    pub fn check_mode(&self, mode: Mode) -> Result<(), TargetError> {
        match self.scheme {
            Some(s) if !s.fits(mode) => Err(TargetError::WrongMode {
                scheme: s.name(),
                mode,
            }),
            _ => Ok(()),
        }
    }

    /// True when the target speaks TLS (`https://`, `wss://`, `tls://`).
    pub fn is_tls(&self) -> bool {
        self.scheme.is_some_and(Scheme::is_tls)
    }

    /// The `Host` header value: the host, with the port unless it is the scheme's default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.scheme.and_then(Scheme::default_port) == Some(self.port) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Resolves the host (a name through the system resolver, which may block; call it
    /// before the run). With `sources`, picks an address of their family; otherwise prefers
    /// IPv4, as servers that listen on one loopback address mostly listen on 127.0.0.1.
    pub fn resolve(&self, sources: &[IpAddr]) -> Result<SocketAddr, TargetError> {
        let all: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| TargetError::Resolve(format!("{}: {e}", self.host)))?
            .collect();
        pick_address(&all, sources).ok_or_else(|| {
            TargetError::Resolve(format!("{}: no address of the source family", self.host))
        })
    }
}

/// The address to use among `all`: one of the sources' family, else the first IPv4, else
/// the first.
fn pick_address(all: &[SocketAddr], sources: &[IpAddr]) -> Option<SocketAddr> {
    match sources.first() {
        Some(s) => all.iter().find(|a| a.is_ipv4() == s.is_ipv4()).copied(),
        None => all
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| all.first())
            .copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(scheme: Option<Scheme>, host: &str, port: u16, path: Option<&str>) -> Target {
        Target {
            scheme,
            host: host.into(),
            port,
            path: path.map(Into::into),
        }
    }

    #[test]
    fn urls_give_scheme_host_port_and_path() {
        assert_eq!(
            parse("http://127.0.0.1:8000/x?y=1"),
            Ok(t(Some(Scheme::Http), "127.0.0.1", 8000, Some("/x?y=1")))
        );
        assert_eq!(
            parse("ws://localhost/chat"),
            Ok(t(Some(Scheme::Ws), "localhost", 80, Some("/chat")))
        );
        assert_eq!(
            parse("HTTP://example.test?q"),
            Ok(t(Some(Scheme::Http), "example.test", 80, Some("/?q")))
        );
        assert_eq!(
            parse("tcp://[::1]:7"),
            Ok(t(Some(Scheme::Tcp), "::1", 7, None))
        );
        assert_eq!(
            parse("http://user:pw@h:81"),
            Ok(t(Some(Scheme::Http), "h", 81, None))
        );
    }

    #[test]
    fn plain_host_port_has_no_scheme_and_needs_a_port() {
        assert_eq!(
            parse("localhost:8000"),
            Ok(t(None, "localhost", 8000, None))
        );
        assert_eq!(parse("[::1]:9"), Ok(t(None, "::1", 9, None)));
        assert!(matches!(parse("localhost"), Err(TargetError::BadPort(_))));
        assert!(matches!(parse("tcp://h"), Err(TargetError::BadPort(_))));
        assert!(matches!(parse("h:0"), Err(TargetError::BadPort(_))));
        assert!(matches!(parse("h:99999"), Err(TargetError::BadPort(_))));
        assert_eq!(parse(":80"), Err(TargetError::NoHost));
    }

    #[test]
    fn tls_schemes_default_to_443_and_fit_their_plain_modes() {
        assert_eq!(
            parse("https://127.0.0.1/x"),
            Ok(t(Some(Scheme::Https), "127.0.0.1", 443, Some("/x")))
        );
        assert_eq!(
            parse("WSS://h:8443/echo"),
            Ok(t(Some(Scheme::Wss), "h", 8443, Some("/echo")))
        );
        let tls = parse("tls://h:7443").unwrap();
        assert!(tls.is_tls() && tls.check_mode(Mode::Hold).is_ok());
        assert!(tls.check_mode(Mode::TcpEcho).is_ok());
        assert!(matches!(parse("tls://h"), Err(TargetError::BadPort(_))));
        assert!(parse("https://h/").unwrap().check_mode(Mode::Http).is_ok());
        let e = parse("wss://h/")
            .unwrap()
            .check_mode(Mode::Http)
            .unwrap_err();
        assert_eq!(e.to_string(), "a wss:// target does not fit mode http");
        assert!(!parse("http://h/").unwrap().is_tls() && !parse("h:1").unwrap().is_tls());
        let e = parse("ftp://h:21").unwrap_err();
        assert!(matches!(e, TargetError::UnknownScheme(_)));
        assert!(e.to_string().contains("https://"), "{e}");
    }

    #[test]
    fn a_scheme_must_fit_the_mode() {
        let ws = parse("ws://h:1/").unwrap();
        assert!(ws.check_mode(Mode::WsEcho).is_ok());
        let e = ws.check_mode(Mode::Http).unwrap_err();
        assert_eq!(e.to_string(), "a ws:// target does not fit mode http");
        assert!(parse("tcp://h:1").unwrap().check_mode(Mode::Hold).is_ok());
        assert!(parse("h:1").unwrap().check_mode(Mode::Http).is_ok());
    }

    #[test]
    fn host_header_keeps_non_default_ports_and_brackets_v6() {
        assert_eq!(parse("http://h:80/").unwrap().host_header(), "h");
        assert_eq!(parse("http://h:8080/").unwrap().host_header(), "h:8080");
        assert_eq!(parse("[::1]:80").unwrap().host_header(), "[::1]:80");
        assert_eq!(parse("https://h/").unwrap().host_header(), "h");
        assert_eq!(parse("https://h:80/").unwrap().host_header(), "h:80");
        assert_eq!(parse("wss://h:8443/").unwrap().host_header(), "h:8443");
    }

    #[test]
    fn address_choice_follows_the_source_family_then_prefers_ipv4() {
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(pick_address(&[v6, v4], &[]), Some(v4));
        assert_eq!(pick_address(&[v6], &[]), Some(v6));
        let src6: IpAddr = "::1".parse().unwrap();
        assert_eq!(pick_address(&[v4, v6], &[src6]), Some(v6));
        assert_eq!(pick_address(&[v4], &[src6]), None);
    }

    #[test]
    fn localhost_resolves_to_loopback() {
        let a = parse("localhost:8000").unwrap().resolve(&[]).unwrap();
        assert!(a.ip().is_loopback());
        assert_eq!(a.port(), 8000);
    }
}
