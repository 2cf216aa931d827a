//! The event loop.
#![allow(dead_code, unused_variables)]
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::Path;

use crate::{Config, ConnId, DatagramProtocol, FdHandler, Interest, ListenOptions, Protocol, Stats};

/// The single-threaded readiness reactor.
pub struct Reactor {}

/// A `Send` handle to stop a reactor from another thread.
#[derive(Clone)]
pub struct Handle {}

impl Handle {
    /// Begins graceful shutdown.
    pub fn shutdown(&self) { todo!() }
}

impl Reactor {
    /// A reactor with the default [`Config`].
    pub fn new() -> io::Result<Reactor> { todo!() }
    /// A reactor with `config`.
    pub fn with_config(config: Config) -> io::Result<Reactor> { todo!() }
    /// Listens on TCP; each accepted connection gets `factory()`.
    pub fn listen_tcp<F, P>(&mut self, addr: SocketAddr, factory: F) -> io::Result<SocketAddr>
    where F: FnMut() -> P + 'static, P: Protocol { todo!() }
    /// Listens on TCP with options.
    pub fn listen_tcp_with<F, P>(&mut self, addr: SocketAddr, opts: &ListenOptions, factory: F) -> io::Result<SocketAddr>
    where F: FnMut() -> P + 'static, P: Protocol { todo!() }
    /// Listens on a Unix stream socket.
    pub fn listen_unix<F, P>(&mut self, path: &Path, factory: F) -> io::Result<()>
    where F: FnMut() -> P + 'static, P: Protocol { todo!() }
    /// Binds UDP.
    pub fn bind_udp<D: DatagramProtocol>(&mut self, addr: SocketAddr, handler: D) -> io::Result<SocketAddr> { todo!() }
    /// Registers any fd.
    pub fn register_fd<H: FdHandler>(&mut self, fd: OwnedFd, interest: Interest, handler: H) -> io::Result<()> { todo!() }
    /// Outbound TCP.
    pub fn connect_tcp<P: Protocol>(&mut self, addr: SocketAddr, protocol: P) -> io::Result<ConnId> { todo!() }
    /// Handle.
    pub fn handle(&self) -> Handle { todo!() }
    /// Graceful shutdown on SIGINT/SIGTERM.
    pub fn shutdown_on_signals(&mut self) -> io::Result<()> { todo!() }
    /// Counters.
    pub fn stats(&self) -> Stats { todo!() }
    /// Runs until shut down.
    pub fn run(&mut self) -> io::Result<()> { todo!() }
}
