//! Telnet (RFC 854/855) chat server: option negotiation by the Q method (RFC 1143), server
//! echo and suppress-go-ahead (RFC 857/858), window size (RFC 1073) and terminal type
//! (RFC 1091), server-side line editing, a chat room with built-in commands — never a shell.
//!
//! * [`parse`]: the sans-IO stream parser (data, commands, negotiation, subnegotiation).
//! * [`options`]: RFC 1143 negotiation; no loop is possible whatever the client does.
//! * [`line`](mod@line): the line editor (Backspace/DEL, ^U, ^W, ^C, ^D).
//! * [`chat`]: the room, nick rules, broadcast encoded once, output sanitising.
//! * [`commands`]: `/help /nick /who /me /msg /time /uptime /stats /quit`.
//! * [`width`]: display widths for the line editor's erase echo.
//! * [`config`]: limits, timeouts and the shared room; [`conn`]: the
//!   [`netreactor::Protocol`] of one user; [`server`]: the listener.
//!
//! ```
//! use netreactor::testing::Harness;
//! use netreactor_protocols::telnet::{conn::TelnetConn, server::{shared, TelnetConfig}};
//!
//! let room = shared(TelnetConfig::default());
//! let mut h = Harness::new();
//! let alice = h.open(TelnetConn::new(room.clone()));
//! let bob = h.open(TelnetConn::new(room.clone()));
//! h.take_output(bob);
//! h.feed(alice, b"hello bob\r\n");
//! assert!(String::from_utf8_lossy(&h.take_output(bob)).contains("<guest1> hello bob"));
//! ```

pub mod chat;
#[cfg(feature = "cli")]
pub mod cli;
pub mod commands;
pub mod config;
pub mod conn;
pub mod fuzz;
pub mod line;
pub mod options;
pub mod parse;
pub mod server;
#[cfg(test)]
mod session_tests;
pub mod width;
