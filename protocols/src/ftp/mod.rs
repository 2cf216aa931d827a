//! FTP server (RFC 959, 2389, 2428, 3659) on the netreactor core, with pyftpdlib's user model.
//!
//! * [`parse`]: sans-IO command lines (Telnet `IAC` stripped, overlong lines answered 500)
//!   and PORT/EPRT/PASV/EPSV addresses.
//! * [`reply`]: reply codes named as RFC 959 names them; single and multi-line replies.
//! * [`perms`], [`users`]: permission letters `elradfmwMT`, accounts, anonymous `elr`.
//! * [`vfs`]: the root jail, `ls -l` lines, MLSx facts, MDTM/MFMT times.
//! * [`session`]: the command state machine; [`files`]: the path commands and RETR;
//!   [`listing`]: LIST, NLST, MLSD and `STAT <path>`;
//!   [`store`]: uploads (temporary file, then rename) and non-blocking opens; [`data`]: data
//!   channels (children of the control connection) and transfers; [`conn`]: the
//!   [`netreactor::Protocol`].
//! * [`config`]: [`FtpConfig`] and the state connections share; [`server`]: [`listen`].
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

#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod conn;
pub mod data;
pub mod files;
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

#[cfg(test)]
mod conformance_tests;
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
