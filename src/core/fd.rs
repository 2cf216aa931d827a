//! Datagram sockets and raw descriptors with handlers of their own.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use mio::{Interest, Token};

use super::{Core, DatagramSlot, FdSlot, HandlerRef, Kind, Slot, SlotId};
use crate::{ConnId, DatagramProtocol, FdHandler};

impl Core {
    pub(crate) fn add_datagram(
        &mut self,
        sock: mio::net::UdpSocket,
        handler: Box<dyn DatagramProtocol>,
    ) -> io::Result<ConnId> {
        let id = self.insert(Kind::Datagram(DatagramSlot {
            sock,
            handler: Some(handler),
        }));
        if let (
            Some(reg),
            Some(Slot {
                kind: Kind::Datagram(d),
                ..
            }),
        ) = (&self.registry, self.slots.get_mut(id.slot()))
        {
            if let Err(e) = reg.register(&mut d.sock, Token(id.slot()), Interest::READABLE) {
                self.slots.remove(id.slot());
                return Err(e);
            }
        }
        Ok(id)
    }

    pub(crate) fn add_fd(
        &mut self,
        fd: OwnedFd,
        interest: Interest,
        handler: Box<dyn FdHandler>,
    ) -> io::Result<ConnId> {
        let raw = fd.as_raw_fd();
        let id = self.insert(Kind::Fd(FdSlot {
            fd,
            handler: Some(handler),
        }));
        if let Some(reg) = &self.registry {
            if let Err(e) = reg.register(&mut mio::unix::SourceFd(&raw), Token(id.slot()), interest)
            {
                self.slots.remove(id.slot());
                return Err(e);
            }
        }
        self.with_handler(id.slot(), |h, cx, fd| {
            if let HandlerRef::Fd(f) = h {
                f.on_open(cx, fd)
            }
        });
        self.process_dirty();
        Ok(id)
    }

    /// Receives datagrams until `WouldBlock` or the per-wake budget.
    pub(crate) fn do_udp(&mut self, slot: usize) {
        for _ in 0..64 {
            let mut scratch = std::mem::take(&mut self.udp_scratch);
            scratch.resize(65536, 0);
            let res = match self.slots.get(slot).map(|s| &s.kind) {
                Some(Kind::Datagram(d)) => d.sock.recv_from(&mut scratch),
                _ => return,
            };
            match res {
                Ok((n, peer)) => {
                    self.stats.bytes_in += n as u64;
                    let data = &scratch[..n];
                    self.with_handler(slot, |h, cx, _| {
                        if let HandlerRef::Datagram(d) = h {
                            d.on_datagram(cx, data, peer)
                        }
                    });
                    self.udp_scratch = scratch;
                    self.process_dirty();
                }
                Err(e) => {
                    self.udp_scratch = scratch;
                    match e.kind() {
                        io::ErrorKind::WouldBlock => return,
                        io::ErrorKind::Interrupted => continue,
                        _ => {
                            tracing::debug!(error = %e, "recv_from failed");
                            return;
                        }
                    }
                }
            }
        }
        if let Some(id) = self.id_of(slot) {
            self.ready.push_back((id.slot, id.gen));
        }
    }

    pub(crate) fn udp_send_to(
        &mut self,
        slot: SlotId,
        data: &[u8],
        peer: SocketAddr,
    ) -> io::Result<usize> {
        match self.slots.get(slot).map(|s| &s.kind) {
            Some(Kind::Datagram(d)) => {
                let n = d.sock.send_to(data, peer)?;
                self.stats.bytes_out += n as u64;
                Ok(n)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "not a datagram socket",
            )),
        }
    }

    /// A raw descriptor is ready.
    pub(crate) fn do_fd(&mut self, slot: usize, readable: bool, writable: bool) {
        if writable {
            self.with_handler(slot, |h, cx, fd| {
                if let HandlerRef::Fd(f) = h {
                    f.on_writable(cx, fd)
                }
            });
        }
        if readable {
            self.with_handler(slot, |h, cx, fd| {
                if let HandlerRef::Fd(f) = h {
                    f.on_readable(cx, fd)
                }
            });
        }
        self.process_dirty();
    }
}
