//! FTP server (RFC 959, 2389, 2428, 3659) and FTPS (RFC 4217, explicit and implicit; feature
//! `tls`) on the netreactor core, with pyftpdlib's user model.
//!
//! * [`parse`]: sans-IO command lines (Telnet `IAC` stripped, overlong lines answered 500)
//!   and PORT/EPRT/PASV/EPSV addresses.
//! * [`reply`]: reply codes named as RFC 959 names them; single and multi-line replies.
//! * [`perms`], [`users`]: permission letters `elradfmwMT`, accounts, anonymous `elr`.
//! * [`vfs`]: the root jail, `ls -l` lines, MLSx facts, MDTM/MFMT times.
//! * [`session`]: the command state machine; [`files`]: the path commands and RETR;
//!   [`listing`]: LIST, NLST, MLSD and `STAT <path>`;
//!   [`store`]: uploads (temporary file, then rename) and non-blocking opens; [`data`]: data
//!   channels (children of the control connection) and transfers ([`ascii`]: TYPE A); [`conn`]: the
//!   [`netreactor::Protocol`].
//! * [`ftps`]: `AUTH TLS`, `PBSZ`, `PROT`, `CCC`, and TLS on data channels.
//! * [`config`]: [`FtpConfig`] and the state connections share; [`server`]: [`listen`]
//!   (and `listen_implicit` for FTPS on its own port).
//!
//! ```no_run
//! use netreactor::{ListenOptions, Reactor};
//! use netreactor_protocols::ftp::{self, FtpConfig};
//!
//! let mut reactor = Reactor::new()?;
//! let mut config = FtpConfig::default();
//! config.users.add("foo:bar:elradfmwMT:.".parse().unwrap());
//! ftp::listen(&mut reactor, "127.0.0.1:2121".parse().unwrap(), &ListenOptions::default(), config)?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod ascii;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod conn;
pub mod data;
pub mod files;
pub mod ftps;
pub mod fuzz;
pub mod listing;
pub mod parse;
pub mod perms;
pub mod reply;
pub mod server;
pub mod session;
pub mod store;
pub mod users;
pub mod vfs;
pub mod xferlog;

#[cfg(test)]
mod conformance_tests;
#[cfg(all(test, feature = "tls"))]
mod ftps_tests;
#[cfg(test)]
mod isolation_tests;
#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod session_tests;

pub use config::{FtpConfig, Shared};
pub use conn::{FtpConn, FtpTimer};
pub use server::listen;
pub use users::{User, Users};
#[cfg(feature = "tls")]
pub use {ftps::FtpsConfig, server::listen_implicit};
