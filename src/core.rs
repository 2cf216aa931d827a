//! The state shared by the reactor and the test harness: connections, timers, counters.
#![allow(dead_code, unused_variables)]

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::stats::Stats;
use crate::{ConnId, Protocol, TimerId};

pub(crate) type SlotId = usize;

pub(crate) struct Core {
    pub(crate) stats: Stats,
    pub(crate) shutting_down: bool,
}

impl Core {
    pub(crate) fn now(&self) -> Instant { todo!() }
    pub(crate) fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> { todo!() }
    pub(crate) fn local_addr(&self, id: ConnId) -> Option<SocketAddr> { todo!() }
    pub(crate) fn write(&mut self, id: ConnId, data: Bytes) -> bool { todo!() }
    pub(crate) fn send_file(&mut self, id: ConnId, f: Rc<File>, off: u64, len: u64) -> bool { todo!() }
    pub(crate) fn queued(&self, id: ConnId) -> usize { todo!() }
    pub(crate) fn is_backpressured(&self, id: ConnId) -> bool { todo!() }
    pub(crate) fn request_close(&mut self, id: ConnId, flush: bool) { todo!() }
    pub(crate) fn request_shutdown_write(&mut self, id: ConnId) { todo!() }
    pub(crate) fn set_read_paused(&mut self, id: ConnId, paused: bool) { todo!() }
    pub(crate) fn notify_drained(&mut self, id: ConnId) { todo!() }
    pub(crate) fn set_timer(&mut self, slot: SlotId, after: Duration, tag: u64) -> TimerId { todo!() }
    pub(crate) fn cancel_timer(&mut self, t: TimerId) -> bool { todo!() }
    pub(crate) fn listen_child(&mut self, parent: ConnId, addr: SocketAddr) -> io::Result<(ConnId, SocketAddr)> { todo!() }
    pub(crate) fn connect_child(&mut self, parent: ConnId, addr: SocketAddr) -> io::Result<ConnId> { todo!() }
    pub(crate) fn adopt_child(&mut self, parent: ConnId, fd: OwnedFd) -> io::Result<ConnId> { todo!() }
    pub(crate) fn connect(&mut self, addr: SocketAddr, parent: Option<ConnId>, p: Box<dyn Protocol>) -> io::Result<ConnId> { todo!() }
    pub(crate) fn is_open(&self, id: ConnId) -> bool { todo!() }
    pub(crate) fn begin_shutdown(&mut self) { todo!() }
    pub(crate) fn udp_send_to(&mut self, slot: SlotId, data: &[u8], peer: SocketAddr) -> io::Result<usize> { todo!() }
    pub(crate) fn request_close_slot(&mut self, slot: SlotId) { todo!() }
}
