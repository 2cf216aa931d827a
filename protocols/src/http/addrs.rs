//! A request's socket addresses, looked up only when a handler asks for them.
//!
//! Each lookup is a system call (`getpeername(2)`, `getsockname(2)`). Static files and most
//! handlers never ask, so the connection does not look them up per request (or cache them
//! in each of 19,000 idle connections): the request carries the socket's descriptor and the
//! lookup happens on the first call. The descriptor is only valid while the connection is
//! open, so a clone of the request (which may outlive it) resolves both addresses first.

use std::net::SocketAddr;
use std::os::fd::RawFd;

use nix::sys::socket::{getpeername, getsockname, SockaddrStorage};

/// Where a request's addresses come from.
#[derive(Debug, Default)]
pub(crate) enum Addrs {
    /// No socket (a request built by hand).
    #[default]
    Unknown,
    /// The open connection's descriptor: look up on demand.
    Socket(RawFd),
    /// Behind the PROXY protocol: the peer is the header's source, the local address the
    /// socket's (looked up on demand).
    Proxied { peer: SocketAddr, fd: RawFd },
    /// Already known (a harness connection, or a clone).
    Known {
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
    },
}

impl Addrs {
    /// The remote address.
    pub(crate) fn peer(&self) -> Option<SocketAddr> {
        match *self {
            Addrs::Unknown => None,
            Addrs::Socket(fd) => getpeername::<SockaddrStorage>(fd).ok().and_then(to_std),
            Addrs::Proxied { peer, .. } => Some(peer),
            Addrs::Known { peer, .. } => peer,
        }
    }

    /// The local address.
    pub(crate) fn local(&self) -> Option<SocketAddr> {
        match *self {
            Addrs::Unknown => None,
            Addrs::Socket(fd) | Addrs::Proxied { fd, .. } => {
                getsockname::<SockaddrStorage>(fd).ok().and_then(to_std)
            }
            Addrs::Known { local, .. } => local,
        }
    }
}

impl Clone for Addrs {
    /// A clone may outlive the connection (and its descriptor): it carries the addresses.
    fn clone(&self) -> Addrs {
        match self {
            Addrs::Unknown => Addrs::Unknown,
            _ => Addrs::Known {
                peer: self.peer(),
                local: self.local(),
            },
        }
    }
}

fn to_std(addr: SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_socket_is_asked_and_a_clone_keeps_the_answer_after_it_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        let addrs = Addrs::Socket(server.as_raw_fd());
        assert_eq!(addrs.peer(), Some(peer));
        assert_eq!(addrs.local(), Some(listener.local_addr().unwrap()));
        let kept = addrs.clone();
        drop(server);
        drop(client);
        assert_eq!(kept.peer(), Some(peer));
        assert_eq!(kept.local(), Some(listener.local_addr().unwrap()));
        assert!(matches!(Addrs::Unknown.clone(), Addrs::Unknown));
        assert_eq!(Addrs::Unknown.peer(), None);
    }
}
