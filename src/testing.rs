//! A harness that drives protocols without sockets.
#![allow(dead_code, unused_variables)]
use std::net::SocketAddr;
use std::time::Duration;
use crate::{CloseReason, ConnId, Protocol, Stats};

/// Drives protocols in memory.
pub struct Harness {}

impl Harness {
    /// A new harness with a virtual clock.
    pub fn new() -> Harness { todo!() }
    /// Opens a connection driven by `protocol`; calls `on_open`.
    pub fn open<P: Protocol>(&mut self, protocol: P) -> ConnId { todo!() }
    /// Opens with given addresses.
    pub fn open_with_addrs<P: Protocol>(&mut self, protocol: P, peer: SocketAddr, local: SocketAddr) -> ConnId { todo!() }
    /// Feeds bytes.
    pub fn feed(&mut self, id: ConnId, bytes: &[u8]) { todo!() }
    /// Feeds bytes split at the given offsets.
    pub fn feed_split(&mut self, id: ConnId, bytes: &[u8], splits: &[usize]) { todo!() }
    /// Peer EOF.
    pub fn eof(&mut self, id: ConnId) { todo!() }
    /// Takes written output.
    pub fn take_output(&mut self, id: ConnId) -> Vec<u8> { todo!() }
    /// Advances the virtual clock.
    pub fn advance(&mut self, by: Duration) { todo!() }
    /// Open?
    pub fn is_open(&self, id: ConnId) -> bool { todo!() }
    /// Why closed.
    pub fn close_reason(&self, id: ConnId) -> Option<&CloseReason> { todo!() }
    /// Write half shut?
    pub fn is_write_shut(&self, id: ConnId) -> bool { todo!() }
    /// Read paused?
    pub fn is_read_paused(&self, id: ConnId) -> bool { todo!() }
    /// Limit what the virtual peer accepts before `take_output`.
    pub fn set_write_capacity(&mut self, id: ConnId, cap: Option<usize>) { todo!() }
    /// Children of a connection.
    pub fn children(&self, id: ConnId) -> Vec<ConnId> { todo!() }
    /// Address a child listener was bound to.
    pub fn child_listen_addr(&self, child: ConnId) -> Option<SocketAddr> { todo!() }
    /// Address a child connect targets.
    pub fn child_connect_addr(&self, child: ConnId) -> Option<SocketAddr> { todo!() }
    /// A child listener accepts a connection from `peer`.
    pub fn accept_child(&mut self, listener: ConnId, peer: SocketAddr) -> ConnId { todo!() }
    /// A child connect completes.
    pub fn complete_connect(&mut self, child: ConnId, ok: bool) { todo!() }
    /// Begin shutdown.
    pub fn shutdown(&mut self) { todo!() }
    /// Counters.
    pub fn stats(&self) -> Stats { todo!() }
}
