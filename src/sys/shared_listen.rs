//! One listening socket shared by every reactor of [`run_workers`](crate::run_workers), for
//! kernels that do not balance `SO_REUSEPORT` listeners.
//!
//! Linux (`SO_REUSEPORT`) and FreeBSD (`SO_REUSEPORT_LB`) hash each new connection to one
//! of the listeners bound to a port, so N reactors with N listeners share the load. macOS
//! accepts `SO_REUSEPORT` but hands new connections to one socket, so one reactor would get
//! them all. There, the reactors of one `run_workers` call share a single listening socket:
//! the first reactor to bind an address creates it, the others register a duplicate of its
//! descriptor with their own poller, and each accepts until `WouldBlock`. Every reactor wakes
//! for every new connection and one of them gets it: the busy ones take fewer, which
//! balances by availability rather than by hash.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

/// Whether the kernel balances connections between listeners bound to one port.
pub(crate) const KERNEL_BALANCES: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly"
));

/// The listening sockets of one `run_workers` call, by the address they were asked for.
/// Dropped when every reactor has finished its setup; each reactor keeps its duplicate.
#[derive(Default)]
pub(crate) struct Group {
    sockets: Mutex<HashMap<SocketAddr, TcpListener>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Group>>> = const { RefCell::new(None) };
}

/// While alive, `reuse_port` listeners bound on this thread join `group`.
pub(crate) struct Enter(());

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

/// Makes `group` current on this thread until the returned guard drops.
pub(crate) fn enter(group: Arc<Group>) -> Enter {
    CURRENT.with(|c| *c.borrow_mut() = Some(group));
    Enter(())
}

/// Binds `addr` with `bind`, or, inside a group, hands out a duplicate of the group's socket
/// for `addr` (binding it on first use). A request for port 0 shares the socket too, so
/// every reactor listens on the same ephemeral port.
pub(crate) fn bind_shared(
    addr: SocketAddr,
    bind: impl FnOnce() -> io::Result<TcpListener>,
) -> io::Result<TcpListener> {
    let group = CURRENT.with(|c| c.borrow().clone());
    let Some(group) = group else {
        return bind();
    };
    let mut sockets = group
        .sockets
        .lock()
        .map_err(|_| io::Error::other("a reactor panicked while binding"))?;
    if let Some(l) = sockets.get(&addr) {
        return l.try_clone();
    }
    let l = bind()?;
    sockets.insert(addr, l.try_clone()?);
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind_any() -> io::Result<TcpListener> {
        TcpListener::bind("127.0.0.1:0")
    }

    #[test]
    fn inside_a_group_the_same_address_gets_the_same_socket() {
        let group = Arc::new(Group::default());
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let a = {
            let _g = enter(group.clone());
            bind_shared(addr, bind_any).unwrap()
        };
        let b = std::thread::spawn({
            let group = group.clone();
            move || {
                let _g = enter(group);
                bind_shared(addr, || panic!("bound twice")).unwrap()
            }
        })
        .join()
        .unwrap();
        assert_eq!(a.local_addr().unwrap(), b.local_addr().unwrap());
        // A connection queued on the one socket is accepted through the other descriptor.
        let _c = std::net::TcpStream::connect(a.local_addr().unwrap()).unwrap();
        assert!(b.accept().is_ok());
    }

    #[test]
    fn outside_a_group_every_bind_is_its_own() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let a = bind_shared(addr, bind_any).unwrap();
        let b = bind_shared(addr, bind_any).unwrap();
        assert_ne!(a.local_addr().unwrap(), b.local_addr().unwrap());
    }
}
