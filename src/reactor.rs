//! The event loop: one `mio::Poll`, one thread, every socket of this reactor.
//!
//! `run()` loops: sleep in `epoll_wait` until the next timer at most, dispatch readiness,
//! fire due timers, serve connections that had more to do than one wake allowed, apply what
//! protocols asked for. It owns no protocol logic: [`Core`] does the transitions.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};

use crate::core::Core;
use crate::listener::{self, Acceptor, ListenIo};
use crate::{Config, ConnId, DatagramProtocol, FdHandler, ListenOptions, Protocol, Stats};

const WAKER: Token = Token(usize::MAX - 1);
const SIGNALS: Token = Token(usize::MAX - 2);

struct Shared {
    waker: Waker,
    shutdown: AtomicBool,
    stats: Mutex<Stats>,
}

/// The single-threaded readiness reactor. See the [crate docs](crate) for an example.
///
/// A reactor is not `Send`: build it on the thread that runs it (as [`run_workers`]
/// does). Talk to it from other threads through its [`Handle`].
///
/// [`run_workers`]: crate::run_workers
pub struct Reactor {
    poll: Poll,
    events: Events,
    core: Core,
    shared: Arc<Shared>,
    signals: Option<mio::net::UnixStream>,
}

/// A `Send + Clone` handle to a [`Reactor`]: read its counters, shut it down.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// Begins graceful shutdown: stop accepting, let protocols finish within
    /// [`Config::shutdown_grace`], then close what is left and return from `run`.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let _ = self.shared.waker.wake();
    }

    /// The reactor's counters as of its last turn of the loop.
    pub fn stats(&self) -> Stats {
        *self.shared.stats.lock().unwrap()
    }
}

impl Reactor {
    /// A reactor with the default [`Config`].
    pub fn new() -> io::Result<Reactor> {
        Reactor::with_config(Config::default())
    }

    /// A reactor with `config`.
    pub fn with_config(config: Config) -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let registry = poll.registry().try_clone()?;
        let events = Events::with_capacity(config.events_capacity.max(16));
        Ok(Reactor {
            poll,
            events,
            core: Core::new(config, Some(registry), Instant::now()),
            shared: Arc::new(Shared {
                waker,
                shutdown: AtomicBool::new(false),
                stats: Mutex::new(Stats::default()),
            }),
            signals: None,
        })
    }

    /// Listens on TCP (IPv4 or IPv6); every accepted connection is driven by a new
    /// `factory()`. Returns the bound address (port 0 picks a free one).
    pub fn listen_tcp<F, P>(&mut self, addr: SocketAddr, factory: F) -> io::Result<SocketAddr>
    where
        F: FnMut() -> P + 'static,
        P: Protocol,
    {
        self.listen_tcp_with(addr, &ListenOptions::default(), factory)
    }

    /// [`listen_tcp`](Self::listen_tcp) with options (`SO_REUSEPORT` for thread-per-core).
    pub fn listen_tcp_with<F, P>(
        &mut self,
        addr: SocketAddr,
        opts: &ListenOptions,
        mut factory: F,
    ) -> io::Result<SocketAddr>
    where
        F: FnMut() -> P + 'static,
        P: Protocol,
    {
        let l = mio::net::TcpListener::from_std(listener::bind_tcp(addr, opts)?);
        let local = l.local_addr()?;
        self.core.add_listener(
            ListenIo::Tcp(l),
            Acceptor::Factory(Box::new(move || Box::new(factory()) as Box<dyn Protocol>)),
            opts.nodelay,
        )?;
        tracing::debug!(%local, "listening (tcp)");
        Ok(local)
    }

    /// Listens on a Unix domain stream socket at `path` (a stale socket file is replaced).
    pub fn listen_unix<F, P>(&mut self, path: &Path, mut factory: F) -> io::Result<()>
    where
        F: FnMut() -> P + 'static,
        P: Protocol,
    {
        use std::os::unix::fs::FileTypeExt;
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.file_type().is_socket() {
                std::fs::remove_file(path)?;
            }
        }
        let l = mio::net::UnixListener::bind(path)?;
        self.core.add_listener(
            ListenIo::Unix(l),
            Acceptor::Factory(Box::new(move || Box::new(factory()) as Box<dyn Protocol>)),
            false,
        )?;
        Ok(())
    }

    /// Binds a UDP socket driven by `handler`. Returns the bound address.
    pub fn bind_udp<D: DatagramProtocol>(
        &mut self,
        addr: SocketAddr,
        handler: D,
    ) -> io::Result<SocketAddr> {
        let sock = mio::net::UdpSocket::from_std(listener::bind_udp(addr, false)?);
        let local = sock.local_addr()?;
        self.core.add_datagram(sock, Box::new(handler))?;
        Ok(local)
    }

    /// Registers any pollable descriptor (made nonblocking by the caller), driven by
    /// `handler`: raw and ICMP sockets, pipes, eventfds, timerfds...
    pub fn register_fd<H: FdHandler>(
        &mut self,
        fd: OwnedFd,
        interest: Interest,
        handler: H,
    ) -> io::Result<()> {
        self.core.add_fd(fd, interest, Box::new(handler))?;
        Ok(())
    }

    /// Opens an outbound TCP connection driven by `protocol` (`on_open` once connected;
    /// `on_close` with the error if the connect fails).
    pub fn connect_tcp<P: Protocol>(
        &mut self,
        addr: SocketAddr,
        protocol: P,
    ) -> io::Result<ConnId> {
        self.core.connect(addr, None, Box::new(protocol))
    }

    /// [`connect_tcp`](Self::connect_tcp) from a chosen local address (bound before the
    /// connect), to spread many connections over several source addresses.
    pub fn connect_tcp_from<P: Protocol>(
        &mut self,
        addr: SocketAddr,
        source: SocketAddr,
        protocol: P,
    ) -> io::Result<ConnId> {
        self.core.connect(addr, Some(source), Box::new(protocol))
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Shuts down gracefully on SIGINT or SIGTERM (a second signal closes everything at once).
    pub fn shutdown_on_signals(&mut self) -> io::Result<()> {
        let (rx, tx) = std::os::unix::net::UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, tx.try_clone()?)?;
        signal_hook::low_level::pipe::register(signal_hook::consts::SIGTERM, tx)?;
        let mut rx = mio::net::UnixStream::from_std(rx);
        self.poll
            .registry()
            .register(&mut rx, SIGNALS, Interest::READABLE)?;
        self.signals = Some(rx);
        Ok(())
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.core.stats
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// Runs until shut down (a [`Handle`], a signal, or a protocol asking for it) and every
    /// connection is closed.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            self.core.set_now(Instant::now());
            if self.shared.shutdown.load(Ordering::Relaxed) {
                self.core.shutdown_requested = true;
            }
            if self.core.shutdown_requested && !self.core.shutting_down {
                self.core.start_shutdown();
            }
            if self.core.stop || (self.core.shutting_down && self.core.conn_count() == 0) {
                break;
            }
            let timeout = if self.core.has_pending_work() {
                Some(Duration::ZERO)
            } else {
                self.core.next_timer_in()
            };
            if let Err(e) = self.poll.poll(&mut self.events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            self.core.set_now(Instant::now());
            for ev in self.events.iter() {
                match ev.token() {
                    WAKER => {}
                    SIGNALS => {
                        if let Some(s) = &mut self.signals {
                            let mut sink = [0u8; 64];
                            while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
                        }
                        if self.core.shutting_down {
                            tracing::info!("second signal: closing everything now");
                            self.core.close_all(|| crate::CloseReason::Shutdown);
                            self.core.stop = true;
                        } else {
                            self.core.shutdown_requested = true;
                        }
                    }
                    Token(slot) => self.core.dispatch(
                        slot,
                        ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                        ev.is_writable() || ev.is_write_closed(),
                        ev.is_read_closed() || ev.is_error() || ev.is_priority(),
                    ),
                }
            }
            self.core.fire_timers();
            self.core.run_ready();
            self.core.process_dirty();
            if let Ok(mut s) = self.shared.stats.try_lock() {
                *s = self.core.stats;
            }
        }
        self.core.close_all(|| crate::CloseReason::Shutdown);
        *self.shared.stats.lock().unwrap() = self.core.stats;
        Ok(())
    }
}
