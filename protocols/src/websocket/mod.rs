//! WebSocket (RFC 6455) with permessage-deflate (RFC 7692): server and client on the
//! netreactor core.
//!
//! * [`parse`] / [`encode`]: sans-IO frames (zero-copy payloads, in-place unmasking by
//!   [`mask`], incremental UTF-8 checks by [`utf8`]); [`deflate`] for compression.
//! * [`handshake`]: the opening handshake (checks, `101`, refusals) for both roles.
//! * [`conn`]: the state machine implementing [`netreactor::Protocol`], driving a [`Handler`].
//! * [`config`]: [`ServerConfig`] and [`ClientConfig`] (limits, timeouts, compression, hooks).
//! * [`server`]: the standalone listener, [`Echo`], and [`upgrade`] for the HTTP server's
//!   handlers.
//!
//! ```no_run
//! use netreactor::{ListenOptions, Reactor};
//! use netreactor_protocols::websocket::{self, Echo, ServerConfig};
//!
//! let mut reactor = Reactor::new()?;
//! let addr = "127.0.0.1:9000".parse().unwrap();
//! websocket::listen(&mut reactor, addr, &ListenOptions::default(), ServerConfig::default(), || Echo)?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod conn;
pub mod deflate;
pub mod encode;
pub mod fuzz;
pub mod handshake;
pub mod mask;
pub mod parse;
pub mod server;
pub mod utf8;

#[cfg(test)]
mod conn_tests;
#[cfg(test)]
mod isolation_tests;
#[cfg(test)]
mod reader_tests;

pub use conn::{ClientConfig, Handler, State, Text, Ws, WsConn, WsTimer};
pub use parse::{CloseFrame, Limits, Message, Opcode, ProtocolError, Role};
pub use server::{listen, upgrade, CountedEcho, Echo, ServerConfig};
