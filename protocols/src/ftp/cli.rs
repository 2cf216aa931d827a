//! Command-line flags of the ftp server and its start-up.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use netreactor::{ListenOptions, Reactor};

use super::server::{listen, FtpConfig};
use super::users::User;

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
    /// A user `name:password:perms:home` (perms from `elradfmwMT`); repeatable.
    #[arg(
        id = "ftp_user",
        long = "ftp-user",
        value_name = "USER:PASS:PERMS:HOME"
    )]
    pub users: Vec<User>,
    /// Also allow anonymous read-only (`elr`) logins on the served root `.`.
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
    /// The server configuration these flags describe.
    pub fn config(&self) -> FtpConfig {
        let mut config = FtpConfig {
            passive_ports: self.passive_ports.clone(),
            masquerade: self.masquerade,
            max_connections: self.max_connections,
            max_per_ip: self.max_per_ip,
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            data_timeout: Duration::from_secs(self.data_timeout.max(1)),
            ..FtpConfig::default()
        };
        for u in &self.users {
            config.users.add(u.clone());
        }
        if self.anonymous || self.users.is_empty() {
            config.users.anonymous = Some(PathBuf::from("."));
        }
        config
    }
}

/// Starts the ftp server on `reactor`.
pub fn start(reactor: &mut Reactor, args: &FtpArgs, listen_opts: &ListenOptions) -> io::Result<()> {
    let config = args.config();
    let users: Vec<String> = config
        .users
        .iter()
        .map(|u| format!("{}({}:{})", u.name, u.perms, u.home.display()))
        .collect();
    let local = listen(reactor, args.addr, listen_opts, config)?;
    if args.users.is_empty() {
        tracing::info!(%local, "ftp listening: no --ftp-user given, anonymous read-only (elr) on the served root .");
    } else {
        tracing::info!(%local, users = %users.join(", "), anonymous = args.anonymous, "ftp listening");
    }
    Ok(())
}
