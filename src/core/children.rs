//! Child sockets and outbound connections: listeners, connects and adopted descriptors owned by a connection.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use super::{Core, Kind};
use crate::boxed::AnyProtocol;
use crate::connection::{flag, Io, Owner, ProtoCell, VirtualPeer};
use crate::listener::{self, Acceptor, ListenIo};
use crate::{ChildEvent, CloseReason, ConnId, ListenOptions};

/// The slot indices of each connection's child sockets, oldest first. A side table rather
/// than a field of every connection: few connections have children (an FTP session's data
/// sockets), and each of 19,000 idle connections would carry the field's 8 bytes.
#[derive(Default)]
pub(crate) struct Children(HashMap<ConnId, Vec<u32>>);

impl Children {
    pub(crate) fn add(&mut self, parent: ConnId, child: u32) {
        self.0.entry(parent).or_default().push(child);
    }

    pub(crate) fn remove(&mut self, parent: ConnId, child: u32) {
        if let Some(v) = self.0.get_mut(&parent) {
            v.retain(|&s| s != child);
            if v.is_empty() {
                self.0.remove(&parent);
            }
        }
    }

    /// Takes the children of `parent` (closing).
    pub(crate) fn take(&mut self, parent: ConnId) -> Vec<u32> {
        self.0.remove(&parent).unwrap_or_default()
    }

    pub(crate) fn of(&self, parent: ConnId) -> &[u32] {
        self.0.get(&parent).map_or(&[], Vec::as_slice)
    }
}

impl Core {
    /// Records `child` (a slot) as a child socket of `parent`, if `parent` is open.
    pub(crate) fn adopt(&mut self, parent: ConnId, child: u32) {
        if self.conn(parent).is_some() {
            self.children.add(parent, child);
        }
    }

    /// The slot indices of `parent`'s child sockets, oldest first.
    pub(crate) fn children_of(&self, parent: ConnId) -> &[u32] {
        self.children.of(parent)
    }

    pub(crate) fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        if let Some(source) = self.proxy_source(id) {
            return Some(source);
        }
        self.conn(id).and_then(|c| c.io.peer_addr())
    }

    pub(crate) fn local_addr(&self, id: ConnId) -> Option<SocketAddr> {
        match self.live(id).map(|s| &s.kind) {
            Some(Kind::Conn(c)) => c.io.local_addr(),
            Some(Kind::Listener(l)) => match &l.io {
                ListenIo::Tcp(t) => t.local_addr().ok(),
                ListenIo::Virtual(a) => Some(**a),
                ListenIo::Unix(_) => None,
            },
            Some(Kind::Datagram(d)) => d.sock.local_addr().ok(),
            _ => None,
        }
    }

    pub(crate) fn listen_child(
        &mut self,
        parent: ConnId,
        addr: SocketAddr,
    ) -> io::Result<(ConnId, SocketAddr)> {
        let opts = ListenOptions {
            backlog: 8,
            ..ListenOptions::default()
        };
        self.listen_child_with(parent, addr, &opts)
    }

    pub(crate) fn listen_child_with(
        &mut self,
        parent: ConnId,
        addr: SocketAddr,
        opts: &ListenOptions,
    ) -> io::Result<(ConnId, SocketAddr)> {
        if self.conn(parent).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "parent is closed",
            ));
        }
        let (io, local) = if self.registry.is_some() {
            let l = mio::net::TcpListener::from_std(listener::bind_tcp(addr, opts)?);
            let local = l.local_addr()?;
            (ListenIo::Tcp(l), local)
        } else {
            let local = if addr.port() == 0 {
                self.virtual_port = self.virtual_port.wrapping_add(1).max(40000);
                SocketAddr::new(addr.ip(), self.virtual_port)
            } else {
                addr
            };
            (ListenIo::Virtual(Box::new(local)), local)
        };
        let id = self.add_listener(io, Acceptor::Parent(parent), opts.nodelay, None)?;
        self.set_listener_proxy(id, opts);
        Ok((id, local))
    }

    pub(super) fn connect_io(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
    ) -> io::Result<Io> {
        if self.registry.is_some() {
            let s = match source {
                None => mio::net::TcpStream::connect(addr)?,
                Some(src) => {
                    // Bind the source first (several loopback addresses get past the ~28k
                    // ephemeral ports of one address pair), then connect without blocking.
                    let sock = socket2::Socket::new(
                        socket2::Domain::for_address(addr),
                        socket2::Type::STREAM,
                        None,
                    )?;
                    sock.set_nonblocking(true)?;
                    sock.set_cloexec(true)?;
                    sock.bind(&src.into())?;
                    match sock.connect(&addr.into()) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                        Err(e) => return Err(e),
                    }
                    mio::net::TcpStream::from_std(sock.into())
                }
            };
            let _ = s.set_nodelay(true);
            Ok(Io::Tcp(s))
        } else {
            Ok(Io::Virtual(Box::new(VirtualPeer {
                connect_to: Some(addr),
                peer: Some(addr),
                local: source,
                ..VirtualPeer::default()
            })))
        }
    }

    pub(crate) fn connect_child(&mut self, parent: ConnId, addr: SocketAddr) -> io::Result<ConnId> {
        if self.conn(parent).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "parent is closed",
            ));
        }
        let io = self.connect_io(addr, None)?;
        let id = self.add_conn(io, Owner::Child(parent), flag::CONNECTING)?;
        self.stats.connected += 1;
        Ok(id)
    }

    pub(crate) fn connect(
        &mut self,
        addr: SocketAddr,
        source: Option<SocketAddr>,
        proto: Box<dyn AnyProtocol>,
    ) -> io::Result<ConnId> {
        let io = self.connect_io(addr, source)?;
        let id = self.add_conn(io, Owner::Proto(ProtoCell::new(proto)), flag::CONNECTING)?;
        self.stats.connected += 1;
        Ok(id)
    }

    pub(crate) fn adopt_child(&mut self, parent: ConnId, fd: OwnedFd) -> io::Result<ConnId> {
        if self.conn(parent).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "parent is closed",
            ));
        }
        let io = if self.registry.is_some() {
            let flags = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL)?;
            let flags = nix::fcntl::OFlag::from_bits_retain(flags) | nix::fcntl::OFlag::O_NONBLOCK;
            nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(flags))?;
            Io::Fd(fd)
        } else {
            Io::Virtual(Box::default())
        };
        self.add_conn(io, Owner::Child(parent), 0)
    }

    /// An outbound connect finished (readiness after `connect(2)`), or failed.
    pub(crate) fn finish_connect(&mut self, slot: usize) {
        let Some(id) = self.id_of(slot) else { return };
        let Some(c) = self.conn_mut(id) else { return };
        let outcome = match c.io.base() {
            Io::Tcp(s) => match s.take_error() {
                Ok(Some(e)) | Err(e) => Err(e),
                Ok(None) => match s.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                    Err(e) => Err(e),
                },
            },
            _ => Ok(()),
        };
        self.connect_done(id, outcome);
    }

    /// Completes a connect: `on_open` (or `ChildEvent::Connected`), or a close with the error.
    pub(crate) fn connect_done(&mut self, id: ConnId, outcome: io::Result<()>) {
        let Some(c) = self.conn_mut(id) else { return };
        if !c.has(flag::CONNECTING) {
            return;
        }
        c.flags &= !flag::CONNECTING;
        match outcome {
            Err(e) => self.close_now(id.slot(), CloseReason::Io(e)),
            Ok(()) => {
                match self.owner_of(id) {
                    Some(None) => {
                        self.with_proto(id.slot(), |p, core, id| p.on_open(core, id));
                    }
                    Some(Some(parent)) => self.notify_parent(id, parent, ChildEvent::Connected),
                    None => {}
                }
                self.mark_dirty(id.slot());
            }
        }
        self.process_dirty();
    }
}
