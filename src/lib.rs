//! # netreactor
//!
//! A single-threaded readiness reactor — the `select()` loop generalized, on epoll/kqueue
//! through [`mio`] — that drives one nonblocking state machine per connection through the
//! [`Protocol`] trait, with zero-copy buffers from [`bytes`].
//!
//! * [`Reactor`] owns the poll, the connections, the timers and the listeners; one thread.
//!   Scale across cores with one reactor per thread ([`run_workers`]: kernel-balanced
//!   `SO_REUSEPORT` listeners on Linux and FreeBSD, one shared listener on macOS).
//! * [`Protocol`] is what you implement: `on_open`, `on_data`, `on_eof`, `on_close`, ...
//! * [`Context`] is what a callback acts through: write `Bytes`, send file ranges, close,
//!   pause reading, set timers, open child sockets, write to other connections.
//! * [`testing::Harness`] drives any protocol without sockets: feed bytes split anywhere,
//!   advance a virtual clock, read what it wrote.
//!
//! ```no_run
//! use bytes::BytesMut;
//! use netreactor::{Context, Protocol, Reactor};
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
//!         cx.write(input.split().freeze());
//!     }
//! }
//!
//! let mut reactor = Reactor::new()?;
//! reactor.listen_tcp("127.0.0.1:7000".parse().unwrap(), || Echo)?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

#![warn(missing_docs)]

mod buffer;
mod config;
mod connection;
mod context;
mod core;
mod id;
mod listener;
mod protocol;
mod reactor;
mod stats;
mod sys;
pub mod testing;
mod timer;
mod workers;

pub use crate::config::{Config, ListenOptions};
pub use crate::context::{Context, FdContext};
pub use crate::id::{ConnId, TimerId};
pub use crate::protocol::{ChildEvent, CloseReason, DatagramProtocol, FdHandler, Protocol};
pub use crate::reactor::{Handle, Reactor};
pub use crate::stats::{Counter, Stats};
pub use crate::workers::run_workers;

/// Re-exported so users need not depend on `bytes` and `mio` separately.
pub use bytes;
pub use mio::Interest;
