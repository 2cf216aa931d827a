//! Listening sockets passed in by descriptor, and the table of those this process listens
//! on, to pass on in turn.
//!
//! The convention is systemd's socket activation (`sd_listen_fds(3)`): the sockets are the
//! descriptors `3 .. 3 + LISTEN_FDS`, meant for the process whose pid is `LISTEN_PID`, named
//! by `LISTEN_FDNAMES` (colon-separated, optional). A process replacing itself (the
//! `netreactor` binary's `SIGUSR2`) cannot know its child's pid before the child exists, so
//! it sets [`PARENT_VAR`] to its own pid instead, and the child checks it against its
//! parent's: either check keeps a grandchild that inherited the environment from taking
//! descriptors that are not its own.
//!
//! Sockets are matched to listeners by their bound address (`getsockname`), not by order
//! or name, so a configuration can list its listeners in any order and systemd's `.socket`
//! unit needs no names. This module only hands sockets out and keeps duplicates; the
//! reactor registers them ([`Reactor::adopt_listeners`](crate::Reactor::adopt_listeners)).

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// The first inherited descriptor (`SD_LISTEN_FDS_START`).
pub const FIRST_FD: RawFd = 3;

/// Set by a process handing its sockets to a child it spawns, to its own pid: the child
/// takes the descriptors when this is its parent's pid (in place of `LISTEN_PID`).
pub const PARENT_VAR: &str = "NETREACTOR_LISTEN_PARENT";

/// One inherited socket.
#[derive(Debug)]
struct Inherited {
    local: SocketAddr,
    name: Option<String>,
    sock: TcpListener,
}

/// The process's listening sockets: those inherited and not yet adopted, and a duplicate
/// of every one this process listens on (see the [module docs](self)). Shared by every
/// reactor of the process (`Arc`).
///
/// ```
/// use netreactor::ListenFds;
///
/// // Not started by systemd nor by a netreactor handing over: nothing to adopt.
/// let fds = ListenFds::from_env()?;
/// assert_eq!(fds.inherited(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ListenFds {
    inherited: Mutex<Vec<Inherited>>,
    /// Per address, how many sockets were handed out (the round-robin position).
    handed: Mutex<HashMap<SocketAddr, usize>>,
    listening: Mutex<Vec<TcpListener>>,
}

/// What the environment says about inherited descriptors: how many, and their names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EnvFds {
    pub count: usize,
    pub names: Vec<String>,
}

/// Reads `LISTEN_FDS` and friends: `None` unless they are meant for this process (`pid`,
/// whose parent is `ppid`). `get` reads a variable.
pub(crate) fn parse_env(
    get: impl Fn(&str) -> Option<String>,
    pid: u32,
    ppid: u32,
) -> Option<EnvFds> {
    let count: usize = get("LISTEN_FDS")?.trim().parse().ok()?;
    let ours = match get("LISTEN_PID") {
        Some(p) => p.trim().parse::<u32>().ok() == Some(pid),
        None => get(PARENT_VAR).and_then(|p| p.trim().parse::<u32>().ok()) == Some(ppid),
    };
    if !ours || count == 0 {
        return None;
    }
    let names = get("LISTEN_FDNAMES")
        .map(|n| n.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    Some(EnvFds { count, names })
}

impl ListenFds {
    /// The sockets this process was given (systemd's `LISTEN_FDS`, or a netreactor handing
    /// over), each made nonblocking and close-on-exec (so a CGI script does not inherit
    /// them). Descriptors that are not listening TCP sockets are closed with a warning.
    /// Empty when the environment names none for this process. Call it once, early: the
    /// descriptors become owned here.
    pub fn from_env() -> io::Result<ListenFds> {
        let pid = std::process::id();
        // SAFETY: getppid has no preconditions and cannot fail.
        let ppid = unsafe { libc::getppid() } as u32;
        let Some(env) = parse_env(|k| std::env::var(k).ok(), pid, ppid) else {
            return Ok(ListenFds::default());
        };
        let mut socks = Vec::with_capacity(env.count);
        for i in 0..env.count {
            let fd = FIRST_FD + i as RawFd;
            // SAFETY: the environment names 3 .. 3 + LISTEN_FDS as ours; `fcntl(F_GETFD)`
            // checks the descriptor is open before it is owned, and this is the one place
            // that takes it (from_env is documented as called once).
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                tracing::warn!(fd, "LISTEN_FDS names a descriptor that is not open");
                continue;
            }
            // SAFETY: open (checked above) and owned by nothing else in this process.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            let name = env.names.get(i).filter(|n| !n.is_empty()).cloned();
            match adopt(owned) {
                Ok((sock, local)) => {
                    tracing::info!(fd, %local, ?name, "inherited a listening socket");
                    socks.push(Inherited { local, name, sock });
                }
                Err(e) => tracing::warn!(fd, error = %e, "inherited descriptor not used"),
            }
        }
        Ok(ListenFds::from_inherited(socks))
    }

    /// A table holding `socks` as inherited (tests, or sockets received another way).
    pub fn from_sockets(socks: Vec<TcpListener>) -> io::Result<ListenFds> {
        let mut v = Vec::with_capacity(socks.len());
        for s in socks {
            let (sock, local) = adopt(s.into())?;
            v.push(Inherited {
                local,
                name: None,
                sock,
            });
        }
        Ok(ListenFds::from_inherited(v))
    }

    fn from_inherited(socks: Vec<Inherited>) -> ListenFds {
        ListenFds {
            inherited: Mutex::new(socks),
            ..ListenFds::default()
        }
    }

    /// How many inherited sockets are held.
    pub fn inherited(&self) -> usize {
        self.inherited.lock().unwrap().len()
    }

    /// The inherited sockets bound to `addr` that worker `worker` of `workers` takes: with K
    /// such sockets, worker w gets those at positions w, w + workers, ... (every socket is
    /// taken by somebody, so none closes with connections in its queue); a worker past K
    /// shares one (a duplicate of socket `w % K`). Empty when none is bound to `addr`.
    /// Duplicates are handed out: the table keeps its own until [`release`](Self::release).
    pub fn take(
        &self,
        addr: SocketAddr,
        worker: usize,
        workers: usize,
    ) -> io::Result<Vec<TcpListener>> {
        let held = self.inherited.lock().unwrap();
        let matching: Vec<&Inherited> = held.iter().filter(|s| s.local == addr).collect();
        if matching.is_empty() {
            return Ok(Vec::new());
        }
        let workers = workers.max(1);
        let k = matching.len();
        let mut mine: Vec<usize> = (worker..k).step_by(workers).collect();
        if mine.is_empty() {
            mine.push(worker % k);
        }
        *self.handed.lock().unwrap().entry(addr).or_default() += mine.len();
        mine.into_iter()
            .map(|j| matching[j].sock.try_clone())
            .collect()
    }

    /// Closes the table's own copies of the inherited sockets, once every reactor has taken
    /// what it listens on: the addresses of those nobody took (no listener asked for their
    /// address), whose sockets close now.
    pub fn release(&self) -> Vec<SocketAddr> {
        let held = std::mem::take(&mut *self.inherited.lock().unwrap());
        let handed = self.handed.lock().unwrap();
        let mut unclaimed: Vec<SocketAddr> = held
            .iter()
            .filter(|s| !handed.contains_key(&s.local))
            .map(|s| s.local)
            .collect();
        unclaimed.dedup();
        for s in &held {
            if !handed.contains_key(&s.local) {
                tracing::warn!(local = %s.local, name = ?s.name, "inherited socket not used: closed");
            }
        }
        unclaimed
    }

    /// Keeps a duplicate of `sock`, a socket this process listens on, to pass on.
    pub(crate) fn record(&self, sock: &TcpListener) -> io::Result<()> {
        self.listening.lock().unwrap().push(sock.try_clone()?);
        Ok(())
    }

    /// Duplicates (close-on-exec) of every socket this process listens on, in the order
    /// they were opened, with their addresses: what to hand a successor.
    pub fn listening(&self) -> io::Result<Vec<(SocketAddr, OwnedFd)>> {
        let l = self.listening.lock().unwrap();
        l.iter()
            .map(|s| Ok((s.local_addr()?, OwnedFd::from(s.try_clone()?))))
            .collect()
    }
}

/// Checks `fd` is a listening TCP socket and makes it nonblocking and close-on-exec.
fn adopt(fd: OwnedFd) -> io::Result<(TcpListener, SocketAddr)> {
    let sock = socket2::Socket::from(fd);
    if sock.r#type()? != socket2::Type::STREAM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a stream socket",
        ));
    }
    let local = sock
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a TCP socket"))?;
    if !accepts(&sock)? {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not listening"));
    }
    sock.set_nonblocking(true)?;
    sock.set_cloexec(true)?;
    Ok((sock.into(), local))
}

/// `SO_ACCEPTCONN`: the socket is listening.
fn accepts(sock: &socket2::Socket) -> io::Result<bool> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes of the sizes given; the descriptor is open.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn listen_pid_must_be_ours() {
        let e = env(&[("LISTEN_FDS", "2"), ("LISTEN_PID", "42")]);
        assert_eq!(parse_env(&e, 42, 1).map(|f| f.count), Some(2));
        assert_eq!(parse_env(&e, 43, 42), None, "meant for the parent, not us");
    }

    #[test]
    fn parent_var_must_name_our_parent() {
        let e = env(&[("LISTEN_FDS", "1"), (PARENT_VAR, "7")]);
        assert!(parse_env(&e, 9, 7).is_some());
        assert_eq!(
            parse_env(&e, 9, 8),
            None,
            "a grandchild keeps its hands off"
        );
    }

    #[test]
    fn no_pid_at_all_or_no_count_is_nothing() {
        assert_eq!(parse_env(env(&[("LISTEN_FDS", "1")]), 1, 1), None);
        assert_eq!(parse_env(env(&[("LISTEN_PID", "1")]), 1, 1), None);
        assert_eq!(
            parse_env(env(&[("LISTEN_FDS", "x"), ("LISTEN_PID", "1")]), 1, 1),
            None
        );
        assert_eq!(
            parse_env(env(&[("LISTEN_FDS", "0"), ("LISTEN_PID", "1")]), 1, 1),
            None
        );
    }

    #[test]
    fn names_are_split_on_colons() {
        let e = env(&[
            ("LISTEN_FDS", "2"),
            ("LISTEN_PID", "5"),
            ("LISTEN_FDNAMES", "web:ftp"),
        ]);
        assert_eq!(parse_env(e, 5, 1).unwrap().names, vec!["web", "ftp"]);
    }

    fn listener() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").unwrap()
    }

    #[test]
    fn every_socket_of_an_address_is_taken_whatever_the_worker_count() {
        let a = listener();
        let addr = a.local_addr().unwrap();
        let (b, c) = (a.try_clone().unwrap(), a.try_clone().unwrap());
        let fds = ListenFds::from_sockets(vec![a, b, c]).unwrap();
        // Three sockets, two workers: one takes two, the other one.
        assert_eq!(fds.take(addr, 0, 2).unwrap().len(), 2);
        assert_eq!(fds.take(addr, 1, 2).unwrap().len(), 1);
        // Five workers: the last two share.
        assert_eq!(fds.take(addr, 4, 5).unwrap().len(), 1);
        let other = listener().local_addr().unwrap();
        assert!(fds.take(other, 0, 1).unwrap().is_empty());
        assert!(fds.release().is_empty());
        assert_eq!(fds.inherited(), 0);
    }

    #[test]
    fn unclaimed_sockets_are_reported_and_a_non_listener_refused() {
        let a = listener();
        let addr = a.local_addr().unwrap();
        let fds = ListenFds::from_sockets(vec![a]).unwrap();
        assert_eq!(fds.release(), vec![addr]);
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(adopt(OwnedFd::from(s)).is_err());
    }

    #[test]
    fn recorded_sockets_are_listed_with_their_addresses() {
        let fds = ListenFds::default();
        let a = listener();
        fds.record(&a).unwrap();
        let l = fds.listening().unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].0, a.local_addr().unwrap());
    }
}
