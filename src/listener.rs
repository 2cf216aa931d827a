//! Listening sockets: creation (with `SO_REUSEPORT`, backlog, v6-only) and what accepted
//! connections are handed to.
//!
//! Accepting itself (until `WouldBlock`, with a per-wake bound, and the EMFILE back-off) is in
//! `core`, which owns the connection table; this module only builds sockets.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use crate::boxed::AnyProtocol;
use crate::{ConnId, ListenOptions, ProxyProtocol};

/// Builds a protocol for each accepted connection.
pub(crate) type Factory = Box<dyn FnMut() -> Box<dyn AnyProtocol>>;

/// The socket behind a listener.
pub(crate) enum ListenIo {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener),
    /// A child listener of the test harness (boxed: every slot of the table is as large as
    /// its largest kind, and a `SocketAddr` would make listeners the largest).
    Virtual(Box<SocketAddr>),
}

/// Who gets the connections a listener accepts.
pub(crate) enum Acceptor {
    /// A top-level listener: each connection gets a new protocol.
    Factory(Factory),
    /// A child listener: connections become children of this connection.
    Parent(ConnId),
}

/// A listener in the reactor's table.
pub(crate) struct Listener {
    pub io: ListenIo,
    pub acceptor: Acceptor,
    pub nodelay: bool,
    /// Accepting paused (fd exhaustion back-off or the connection limit).
    pub paused: bool,
    /// Connections of this listener open now, and its cap
    /// ([`ListenOptions::max_connections`](crate::ListenOptions::max_connections)).
    pub open: u32,
    pub max: u32,
    /// Its index in `Core::groups` (set from [`ListenOptions::label`]).
    pub group: u16,
    /// Its connections start with a PROXY protocol header (`core::proxy`).
    pub proxy: Option<Box<ListenProxy>>,
    /// Accepted connections speak TLS from the first byte.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsAcceptor>,
}

/// A listener's PROXY protocol: who must send a header, and how long they have.
pub(crate) struct ListenProxy {
    pub policy: ProxyProtocol,
    pub timeout: Duration,
}

/// Creates a nonblocking TCP listener with the given options. With `reuse_port` inside
/// [`run_workers`](crate::run_workers) on a kernel that does not balance, every reactor gets
/// a duplicate of one shared socket (see `sys::shared_listen`).
pub(crate) fn bind_tcp(
    addr: SocketAddr,
    opts: &ListenOptions,
) -> io::Result<std::net::TcpListener> {
    if opts.reuse_port {
        return crate::sys::shared_listen::bind_shared(addr, || bind_tcp_new(addr, opts));
    }
    bind_tcp_new(addr, opts)
}

fn bind_tcp_new(addr: SocketAddr, opts: &ListenOptions) -> io::Result<std::net::TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    if opts.reuse_port {
        set_reuse_port(&sock)?;
    }
    if addr.is_ipv6() {
        sock.set_only_v6(opts.v6_only)?;
    }
    if opts.oob_inline {
        sock.set_out_of_band_inline(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.set_cloexec(true)?;
    sock.bind(&addr.into())?;
    sock.listen(opts.backlog)?;
    Ok(sock.into())
}

/// Creates a nonblocking UDP socket.
pub(crate) fn bind_udp(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::UdpSocket> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    if reuse_port {
        set_reuse_port(&sock)?;
    }
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.set_cloexec(true)?;
    sock.bind(&addr.into())?;
    Ok(sock.into())
}

/// `SO_REUSEPORT`, and on FreeBSD `SO_REUSEPORT_LB` as well: plain `SO_REUSEPORT` there
/// lets sockets share a port without balancing between them.
fn set_reuse_port(sock: &Socket) -> io::Result<()> {
    sock.set_reuse_port(true)?;
    #[cfg(target_os = "freebsd")]
    sock.set_reuse_port_lb(true)?;
    Ok(())
}

/// Errors that mean "out of descriptors or kernel memory": back off instead of spinning.
pub(crate) fn is_resource_exhaustion(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

/// Errors after which accepting simply goes on (the peer gave up, a signal).
pub(crate) fn is_transient_accept_error(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ECONNABORTED) | Some(libc::EINTR) | Some(libc::EPROTO) | Some(libc::EPERM)
    )
}
