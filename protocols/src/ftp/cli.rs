//! Command-line flags of the ftp server and its start-up.
//!
//! Without `--ftp-user`, the server has the demo's built-in login `foo` / `bar` (every
//! permission, home = the served root) and anonymous read-only access — but only when it
//! listens on a loopback address; on any other address it refuses to start until
//! `--ftp-user` names the accounts.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use netreactor::{ListenOptions, Reactor};

use super::config::FtpConfig;
use super::server::listen;
use super::users::User;

/// The built-in login of the demo (loopback only): name, password, permissions.
pub const DEFAULT_USER: (&str, &str, &str) = ("foo", "bar", "elradfmwMT");

/// Flags of the ftp server.
#[derive(clap::Args, Clone, Debug)]
pub struct FtpArgs {
    /// Address the ftp server listens on.
    #[arg(
        id = "ftp_addr",
        long = "ftp",
        value_name = "ADDR",
        default_value = "127.0.0.1:2121"
    )]
    pub addr: SocketAddr,
    /// Do not start the ftp server.
    #[arg(id = "ftp_disabled", long = "no-ftp")]
    pub disabled: bool,
    /// A user `name:password:perms:home` (perms from `elradfmwMT`); repeatable. Without it,
    /// the built-in `foo`/`bar` (all permissions, home = --root) and anonymous read-only are
    /// served, on a loopback address only.
    #[arg(
        id = "ftp_user",
        long = "ftp-user",
        value_name = "USER:PASS:PERMS:HOME"
    )]
    pub users: Vec<User>,
    /// Also allow anonymous read-only (`elr`) logins on the served root (--root).
    #[arg(id = "ftp_anonymous", long = "ftp-anonymous")]
    pub anonymous: bool,
    /// Port range of passive data listeners, e.g. `50000-50100`.
    #[arg(id = "ftp_passive_ports", long = "ftp-passive-ports", value_name = "LO-HI", value_parser = parse_range)]
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// IPv4 address announced in PASV replies (behind NAT).
    #[arg(id = "ftp_masquerade", long = "ftp-masquerade", value_name = "ADDR")]
    pub masquerade: Option<Ipv4Addr>,
    /// Control connections served at once.
    #[arg(
        id = "ftp_max_connections",
        long = "ftp-max-connections",
        value_name = "N",
        default_value_t = 512
    )]
    pub max_connections: usize,
    /// Control connections per client IP.
    #[arg(
        id = "ftp_max_per_ip",
        long = "ftp-max-per-ip",
        value_name = "N",
        default_value_t = 32
    )]
    pub max_per_ip: usize,
    /// Control connection idle timeout, seconds.
    #[arg(
        id = "ftp_idle_timeout",
        long = "ftp-idle-timeout",
        value_name = "SECS",
        default_value_t = 300
    )]
    pub idle_timeout: u64,
    /// Data connection stall timeout, seconds.
    #[arg(
        id = "ftp_data_timeout",
        long = "ftp-data-timeout",
        value_name = "SECS",
        default_value_t = 60
    )]
    pub data_timeout: u64,
    /// Connections to the FTP (control and passive data) server start with a PROXY protocol header (v1 or v2): every
    /// one, or with `=ADDR[/PREFIX],...` those from these balancers (see docs/deploy.md).
    #[arg(
        id = "ftp_proxy_protocol",
        long = "ftp-proxy-protocol",
        value_name = "TRUSTED",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        value_parser = crate::proxy_cli::parse_proxy_protocol
    )]
    pub proxy_protocol: Option<netreactor::ProxyProtocol>,
    /// Implicit FTPS (TLS from the first byte, port 990 style) on this address, besides
    /// the FTP port (where `AUTH TLS` gives explicit FTPS).
    #[cfg(feature = "tls")]
    #[arg(id = "ftps_addr", long = "ftps", value_name = "ADDR")]
    pub ftps: Option<SocketAddr>,
    /// Require TLS: USER/PASS before AUTH TLS get 530, transfers without PROT P get 521.
    #[cfg(feature = "tls")]
    #[arg(id = "ftp_tls_required", long = "ftp-tls-required")]
    pub tls_required: bool,
    /// A TLS data connection must resume the control connection's TLS session (else 522),
    /// as vsftpd's require_ssl_reuse. curl and lftp do; Python's ftplib cannot.
    #[cfg(feature = "tls")]
    #[arg(id = "ftp_tls_require_reuse", long = "ftp-tls-require-reuse")]
    pub tls_require_reuse: bool,
}

/// Parses `LO-HI` into a port range.
pub fn parse_range(s: &str) -> Result<RangeInclusive<u16>, String> {
    let (lo, hi) = s.split_once('-').ok_or("expected LO-HI")?;
    let lo: u16 = lo.trim().parse().map_err(|e| format!("{e}"))?;
    let hi: u16 = hi.trim().parse().map_err(|e| format!("{e}"))?;
    if lo == 0 || lo > hi {
        return Err("expected 0 < LO <= HI".into());
    }
    Ok(lo..=hi)
}

impl FtpArgs {
    /// True when the built-in login applies: no `--ftp-user` given.
    pub fn uses_default_user(&self) -> bool {
        self.users.is_empty()
    }

    /// Refuses the built-in password anywhere but on a loopback address.
    pub fn check(&self) -> Result<(), String> {
        #[cfg(feature = "tls")]
        let addrs = [Some(self.addr), self.ftps];
        #[cfg(not(feature = "tls"))]
        let addrs = [Some(self.addr)];
        for addr in addrs.into_iter().flatten() {
            if self.uses_default_user() && !addr.ip().is_loopback() {
                let (name, pass, _) = DEFAULT_USER;
                return Err(format!(
                    "refusing to serve FTP on {addr} with the built-in login {name}/{pass}: it \
                     is the default on a loopback address only; give --ftp-user \
                     NAME:PASS:PERMS:HOME (or --no-ftp)"
                ));
            }
        }
        Ok(())
    }

    /// The server configuration these flags describe, serving `root` (the binary's
    /// `--root`) to anonymous users and to the built-in user; `--ftp-user` homes are their
    /// own, with this worker's counters and xferlog
    /// ([`WorkerOps::current`](crate::ops::cli::WorkerOps::current)). Fails as
    /// [`check`](Self::check) does.
    pub fn config(&self, root: &Path, show_hidden: bool) -> Result<FtpConfig, String> {
        self.check()?;
        let ops = crate::ops::cli::WorkerOps::current();
        let mut config = FtpConfig {
            passive_ports: self.passive_ports.clone(),
            masquerade: self.masquerade,
            max_connections: self.max_connections,
            max_per_ip: self.max_per_ip,
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            data_timeout: Duration::from_secs(self.data_timeout.max(1)),
            show_hidden,
            counters: Some(ops.counters.ftp.clone()),
            xferlog: ops.xferlog,
            ..FtpConfig::default()
        };
        for u in &self.users {
            config.users.add(u.clone());
        }
        if self.uses_default_user() {
            let (name, password, perms) = DEFAULT_USER;
            config.users.add(User {
                name: name.to_string(),
                password: password.to_string(),
                home: root.to_path_buf(),
                perms: perms.parse().expect("valid permission letters"),
            });
        }
        if self.anonymous || self.uses_default_user() {
            config.users.anonymous = Some(root.to_path_buf());
        }
        Ok(config)
    }
}

/// Starts the ftp server on `reactor`, serving `root` (see [`FtpArgs::config`]); returns
/// the bound address.
pub fn start(
    reactor: &mut Reactor,
    args: &FtpArgs,
    listen_opts: &ListenOptions,
    root: &Path,
    show_hidden: bool,
) -> io::Result<SocketAddr> {
    let config = args
        .config(root, show_hidden)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let users: Vec<String> = config
        .users
        .iter()
        .map(|u| format!("{}({}:{})", u.name, u.perms, u.home.display()))
        .collect();
    let local = listen(reactor, args.addr, listen_opts, config)?;
    log_start(args, local, root, &users);
    Ok(local)
}

/// [`start`] with FTPS: `AUTH TLS` on the FTP port with `tls`'s certificates (`--ftp-tls-*`
/// set the policies) and implicit FTPS on `--ftps` when given, both under the same
/// connection limits. Returns the FTP port's address.
#[cfg(feature = "tls")]
pub fn start_with_tls(
    reactor: &mut Reactor,
    args: &FtpArgs,
    listen_opts: &ListenOptions,
    root: &Path,
    show_hidden: bool,
    tls: netreactor::tls::TlsAcceptor,
) -> io::Result<SocketAddr> {
    use std::rc::Rc;

    let mut config = args
        .config(root, show_hidden)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    if config.passive_proxy_protocol.is_none() {
        config.passive_proxy_protocol = listen_opts.proxy_protocol.clone();
    }
    config.tls = Some(super::ftps::FtpsConfig {
        acceptor: tls,
        required: args.tls_required,
        require_reuse: args.tls_require_reuse,
    });
    let users: Vec<String> = config
        .users
        .iter()
        .map(|u| format!("{}({}:{})", u.name, u.perms, u.home.display()))
        .collect();
    let shared = Rc::new(super::config::Shared::new(config));
    let local = super::server::listen_shared(reactor, args.addr, listen_opts, &shared)?;
    log_start(args, local, root, &users);
    tracing::info!(
        %local,
        required = args.tls_required,
        require_reuse = args.tls_require_reuse,
        "ftp: AUTH TLS (explicit FTPS) offered"
    );
    if let Some(addr) = args.ftps {
        let implicit = super::server::listen_implicit(reactor, addr, listen_opts, &shared)?;
        tracing::info!(local = %implicit, "ftps (implicit TLS) listening");
    }
    Ok(local)
}

fn log_start(args: &FtpArgs, local: SocketAddr, root: &Path, users: &[String]) {
    if args.uses_default_user() {
        let (name, pass, perms) = DEFAULT_USER;
        tracing::warn!(
            %local,
            root = %root.display(),
            "ftp listening with the BUILT-IN LOGIN {name} / {pass} ({perms}: read AND WRITE) \
             and anonymous read-only, on loopback only; give --ftp-user to replace them"
        );
    } else {
        tracing::info!(%local, users = %users.join(", "), anonymous = args.anonymous, "ftp listening");
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        ftp: FtpArgs,
    }

    fn args(argv: &[&str]) -> FtpArgs {
        Cli::parse_from(std::iter::once("netreactor").chain(argv.iter().copied())).ftp
    }

    #[test]
    fn the_built_in_login_serves_the_root_on_loopback_only() {
        let root = Path::new("/srv/demo");
        let config = args(&[]).config(root, false).unwrap();
        let foo = config
            .users
            .authenticate("foo", "bar")
            .expect("built-in login");
        assert_eq!(
            (foo.home.as_path(), foo.perms.to_string().as_str()),
            (root, "elradfmwMT")
        );
        let anon = config.users.authenticate("anonymous", "x@y").unwrap();
        assert_eq!(anon.home, root, "anonymous serves --root too");
        for addr in ["0.0.0.0:2121", "[::]:2121", "192.168.1.2:21"] {
            let err = args(&["--ftp", addr]).config(root, false).unwrap_err();
            assert!(err.contains("--ftp-user") && err.contains(addr), "{err}");
        }
        assert!(args(&["--ftp", "[::1]:2121"]).check().is_ok());
    }

    #[test]
    fn ftp_user_replaces_the_built_in_login_on_any_address() {
        let a = args(&[
            "--ftp",
            "0.0.0.0:2121",
            "--ftp-user",
            "ann:pw:elr:/home/ann",
        ]);
        let config = a.config(Path::new("/srv"), true).unwrap();
        assert!(config.users.authenticate("foo", "bar").is_none());
        assert!(config.users.authenticate("anonymous", "").is_none());
        assert!(config.users.authenticate("ann", "pw").is_some());
        assert!(config.show_hidden);
    }
}
