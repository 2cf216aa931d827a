//! # netreactor
//!
//! A single-threaded readiness reactor — the `select()` loop generalized, on epoll/kqueue
//! through [`mio`] — that drives one nonblocking state machine per connection through the
//! [`Protocol`] trait, with zero-copy buffers from [`bytes`].
//!
//! * [`Reactor`] owns the poll, the connections, the timers and the listeners; one thread.
//!   Scale across cores with one reactor per thread ([`run_workers`]: kernel-balanced
//!   `SO_REUSEPORT` listeners on Linux and FreeBSD, one shared listener on macOS).
//! * [`Protocol`] is what you implement: `on_open`, `on_data`, `on_eof`, `on_timer`,
//!   `on_idle`, `on_close`, ...; its type parameter is its own timer type.
//! * [`Context`] is what a callback acts through: write `Bytes`, send file ranges, close
//!   (after a flush) or abort, pause reading, set timers and the idle timeout, open child
//!   sockets, switch the connection to another protocol, and act on other connections
//!   through [`Context::conn`].
//! * [`Reactor::channel`] gives other threads a [`Sender`] into the reactor;
//!   [`Handle::call`] runs a closure there.
//! * [`testing::Harness`] drives any protocol without sockets: feed bytes split anywhere,
//!   advance a virtual clock, read what it wrote.
//!
//! Every action a callback asks for is recorded and applied after it returns; callbacks
//! never nest (see [`reactor`] for the rules a protocol can rely on). `docs/guide.md` in the
//! repository is the tour.
//!
//! ```no_run
//! use netreactor::bytes::BytesMut;
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
//! reactor.listen_tcp("127.0.0.1:7100".parse().unwrap(), || Echo)?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

#![deny(missing_docs)]

mod boxed;
mod buffer;
pub mod channel;
mod cidr;
mod config;
mod connection;
pub mod context;
mod core;
mod id;
mod idle_wheel;
pub mod listen_fds;
mod listener;
mod pool;
pub mod protocol;
pub mod proxy_header;
pub mod reactor;
mod stats;
mod sys;
pub mod testing;
mod timer;
#[cfg(feature = "tls")]
pub mod tls;
mod virtual_io;
mod workers;

pub use crate::boxed::BoxedProtocol;
pub use crate::channel::{MessageHandler, SendError, Sender};
pub use crate::cidr::{Cidr, CidrError};
pub use crate::config::{Config, ListenOptions, ProxyProtocol};
pub use crate::context::{ConnRef, Context, FdContext};
pub use crate::id::{ConnId, TimerId};
pub use crate::listen_fds::ListenFds;
pub use crate::protocol::{
    ChildEvent, CloseReason, DatagramProtocol, FdHandler, Protocol, Refusal, SlowConsumer,
};
pub use crate::reactor::{Handle, Reactor};
pub use crate::stats::{Counter, ListenerStats, Stats};
pub use crate::workers::{run_workers, run_workers_with};

/// Re-exported so users need not depend on `bytes` and `mio` separately.
pub use bytes;
pub use mio::Interest;

#[cfg(doctest)]
#[doc = include_str!("../docs/isolation.md")]
struct IsolationDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
struct GuideDoctests;

#[cfg(all(doctest, feature = "tls"))]
#[doc = include_str!("../docs/tls.md")]
struct TlsDoctests;
