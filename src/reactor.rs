//! The event loop: one `mio::Poll`, one thread, every socket of this reactor.
//!
//! [`Reactor::run`] loops: sleep in `epoll_wait` (kqueue on BSD and macOS) until the next
//! timer at most, dispatch readiness, fire due timers, hand channel messages over, serve
//! connections that had more to do than one wake allowed, apply what protocols asked for.
//!
//! The rules every protocol can rely on:
//! * One thread: every callback of every connection of a reactor runs on the thread that
//!   called `run`, one at a time. State shared between connections can be `Rc<RefCell<_>>`.
//! * Every action a callback asks for is recorded and applied after it returns; callbacks
//!   never nest. A write is queued, a close happens after the callback, a switch of protocol
//!   takes effect when it returns.
//! * Fairness: a connection reads at most [`Config::read_budget`] bytes per wake, a listener
//!   accepts at most [`Config::accept_budget`] connections, a channel hands over at most
//!   [`channel::BATCH`](crate::channel::BATCH) messages; what is left waits for the next turn.
//! * Backpressure: above [`Config::high_watermark`] of queued output a connection stops being
//!   read and stops being handed buffered input, until it drains below the low watermark.
//! * Isolation: a panicking callback closes its connection only; bad input closes the
//!   connection it came on.
//!
//! Other threads reach a reactor through its [`Handle`] (shut down, counters, run a closure
//! on the reactor's thread) and through channels ([`Reactor::channel`]).

use std::cell::RefCell;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mio::{Events, Interest, Poll, Token, Waker};

use std::fmt;

use crate::boxed::Typed;
use crate::channel::{MessageHandler, Sender};
use crate::core::{Core, Turn};
use crate::listener::{self, Acceptor, ListenIo};
use crate::{
    Config, ConnId, DatagramProtocol, FdContext, FdHandler, ListenFds, ListenOptions,
    ListenerStats, Protocol, Stats,
};

/// A closure sent by [`Handle::call`].
type Call = Box<dyn FnOnce(&mut FdContext<'_>) + Send>;

const WAKER: Token = Token(usize::MAX - 1);
const SIGNALS: Token = Token(usize::MAX - 2);

struct Shared {
    waker: Arc<Waker>,
    shutdown: AtomicBool,
    stats: Mutex<Stats>,
}

/// The single-threaded readiness reactor. See the [module docs](self) for the rules it keeps.
///
/// A reactor is not `Send`: build it on the thread that runs it (as [`run_workers`]
/// does). Talk to it from other threads through its [`Handle`] and its channels.
///
/// ```no_run
/// use netreactor::bytes::BytesMut;
/// use netreactor::{Context, Protocol, Reactor};
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
///         cx.write(input.split().freeze());
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// reactor.shutdown_on_signals()?; // SIGINT/SIGTERM: finish what is in flight, then return
/// let addr = reactor.listen_tcp("127.0.0.1:7100".parse().unwrap(), || Echo)?;
/// println!("echo on {addr}");
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`run_workers`]: crate::run_workers
pub struct Reactor {
    poll: Poll,
    events: Events,
    pub(crate) core: Core,
    shared: Arc<Shared>,
    signals: Option<mio::net::UnixStream>,
    calls: Sender<Call>,
    /// Sockets to adopt before binding, and the table listeners are recorded in.
    listen_fds: Option<AdoptFrom>,
}

/// Where a reactor's TCP listeners come from ([`Reactor::adopt_listeners`]).
struct AdoptFrom {
    fds: Arc<ListenFds>,
    worker: usize,
    workers: usize,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("open", &self.core.conn_count())
            .field("config", &self.core.config)
            .finish()
    }
}

/// A `Send + Sync + Clone` handle to a [`Reactor`]: shut it down, read its counters, run a
/// closure on its thread.
///
/// ```
/// use netreactor::Reactor;
///
/// let mut reactor = Reactor::new()?;
/// let handle = reactor.handle();
/// std::thread::spawn(move || {
///     handle.call(|cx| {
///         println!("on the reactor's thread; {} connections open", cx.stats().open);
///         cx.shutdown_reactor();
///     });
/// });
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
    calls: Sender<Call>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    /// Runs `f` on the reactor's thread, after the callbacks of the current turn (Twisted's
    /// `callFromThread`). False when the reactor has stopped: `f` was not run.
    pub fn call(&self, f: impl FnOnce(&mut FdContext<'_>) + Send + 'static) -> bool {
        self.calls.send(Box::new(f)).is_ok()
    }

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
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let registry = poll.registry().try_clone()?;
        let events = Events::with_capacity(config.events_capacity.max(16));
        let mut core = Core::new(config, Some(registry), Some(waker.clone()), Instant::now());
        let calls = core.add_channel(usize::MAX, |cx: &mut FdContext<'_>, f: Call| f(cx));
        Ok(Reactor {
            poll,
            events,
            core,
            shared: Arc::new(Shared {
                waker,
                shutdown: AtomicBool::new(false),
                stats: Mutex::new(Stats::default()),
            }),
            signals: None,
            calls,
            listen_fds: None,
        })
    }

    /// Listens on TCP (IPv4 or IPv6); every accepted connection is driven by a new
    /// `factory()`. Returns the bound address (port 0 picks a free one).
    pub fn listen_tcp<F, P, T>(&mut self, addr: SocketAddr, factory: F) -> io::Result<SocketAddr>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
    {
        self.listen_tcp_with(addr, &ListenOptions::default(), factory)
    }

    /// [`listen_tcp`](Self::listen_tcp) with options (`SO_REUSEPORT` for thread-per-core).
    pub fn listen_tcp_with<F, P, T>(
        &mut self,
        addr: SocketAddr,
        opts: &ListenOptions,
        factory: F,
    ) -> io::Result<SocketAddr>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
    {
        let (_, local) = self.add_tcp_listener(addr, opts, factory)?;
        tracing::debug!(%local, "listening (tcp)");
        Ok(local)
    }

    /// Listens on `listener`, a bound and listening socket made elsewhere (inherited from
    /// the process that started this one, made by a caller with options of its own): as
    /// [`listen_tcp_with`](Self::listen_tcp_with) from there on, with `opts`' per-listener
    /// settings (`nodelay`, `max_connections`, the PROXY protocol); those that shape the
    /// socket itself (`reuse_port`, `backlog`, `v6_only`) were the creator's to set. The
    /// socket is made nonblocking. Returns its address.
    pub fn listen_tcp_from<F, P, T>(
        &mut self,
        listener: std::net::TcpListener,
        opts: &ListenOptions,
        factory: F,
    ) -> io::Result<SocketAddr>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
    {
        let (_, local) = self.add_tcp_sockets(vec![listener], opts, factory)?;
        tracing::debug!(%local, "listening (tcp, adopted)");
        Ok(local)
    }

    /// Makes [`listen_tcp_with`](Self::listen_tcp_with) and `listen_tls_with` (and every
    /// server set-up built on them) adopt a socket of `fds` bound to the address asked for
    /// instead of binding one (see [`ListenFds::take`] for how worker `worker` of `workers`
    /// shares them), and records every TCP listener of this reactor in `fds`, so it can be
    /// handed to a successor. Call it before the listeners are opened.
    pub fn adopt_listeners(&mut self, fds: Arc<ListenFds>, worker: usize, workers: usize) {
        self.listen_fds = Some(AdoptFrom {
            fds,
            worker,
            workers,
        });
    }

    /// A TCP listener on `addr` with `opts` (its caps and PROXY protocol policy) whose
    /// connections get `factory()`: the inherited sockets bound there
    /// ([`adopt_listeners`](Self::adopt_listeners)), or else one bound now. Their ids and
    /// the address.
    pub(crate) fn add_tcp_listener<F, P, T>(
        &mut self,
        addr: SocketAddr,
        opts: &ListenOptions,
        factory: F,
    ) -> io::Result<(Vec<ConnId>, SocketAddr)>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
    {
        let mut socks = match &self.listen_fds {
            Some(a) => a.fds.take(addr, a.worker, a.workers)?,
            None => Vec::new(),
        };
        if socks.is_empty() {
            socks.push(listener::bind_tcp(addr, opts)?);
        } else {
            tracing::info!(%addr, sockets = socks.len(), "adopted inherited listening socket");
        }
        self.add_tcp_sockets(socks, opts, factory)
    }

    /// Registers listening sockets that share one factory.
    pub(crate) fn add_tcp_sockets<F, P, T>(
        &mut self,
        socks: Vec<std::net::TcpListener>,
        opts: &ListenOptions,
        factory: F,
    ) -> io::Result<(Vec<ConnId>, SocketAddr)>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
    {
        let factory = Rc::new(RefCell::new(factory));
        let mut ids = Vec::with_capacity(socks.len());
        let mut local = None;
        for sock in socks {
            sock.set_nonblocking(true)?;
            if let Some(a) = &self.listen_fds {
                a.fds.record(&sock)?;
            }
            let l = mio::net::TcpListener::from_std(sock);
            local.get_or_insert(l.local_addr()?);
            let f = factory.clone();
            let id = self.core.add_listener(
                ListenIo::Tcp(l),
                Acceptor::Factory(Box::new(move || Typed::boxed((f.borrow_mut())()))),
                opts.nodelay,
                opts.max_connections,
            )?;
            self.core.set_listener_proxy(id, opts);
            self.core.set_listener_label(id, opts);
            ids.push(id);
        }
        let local = local.ok_or_else(|| io::Error::other("no socket to listen on"))?;
        Ok((ids, local))
    }

    /// Listens on a Unix domain stream socket at `path` (a stale socket file is replaced).
    pub fn listen_unix<F, P, T>(&mut self, path: &Path, mut factory: F) -> io::Result<()>
    where
        F: FnMut() -> P + 'static,
        P: Protocol<T>,
        T: Copy + 'static,
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
            Acceptor::Factory(Box::new(move || Typed::boxed(factory()))),
            false,
            None,
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
    pub fn connect_tcp<P: Protocol<T>, T: Copy + 'static>(
        &mut self,
        addr: SocketAddr,
        protocol: P,
    ) -> io::Result<ConnId> {
        self.core.connect(addr, None, Typed::boxed(protocol))
    }

    /// [`connect_tcp`](Self::connect_tcp) from a chosen local address (bound before the
    /// connect), to spread many connections over several source addresses.
    pub fn connect_tcp_from<P: Protocol<T>, T: Copy + 'static>(
        &mut self,
        addr: SocketAddr,
        source: SocketAddr,
        protocol: P,
    ) -> io::Result<ConnId> {
        self.core
            .connect(addr, Some(source), Typed::boxed(protocol))
    }

    /// A channel from other threads into this reactor: every message sent through the
    /// returned [`Sender`] (clone it for each thread) is handed to `handler` on the
    /// reactor's thread, in order per sender; a burst costs one wake. Sends fail, giving the
    /// message back, once the reactor has stopped. Unbounded: see
    /// [`channel_bounded`](Self::channel_bounded) to cap what may wait.
    pub fn channel<M: Send + 'static>(&mut self, handler: impl MessageHandler<M>) -> Sender<M> {
        self.core.add_channel(usize::MAX, handler)
    }

    /// [`channel`](Self::channel) holding at most `cap` messages not yet handled: a send
    /// beyond that gives the message back ([`SendError::is_full`](crate::SendError::is_full)).
    pub fn channel_bounded<M: Send + 'static>(
        &mut self,
        cap: usize,
        handler: impl MessageHandler<M>,
    ) -> Sender<M> {
        self.core.add_channel(cap.max(1), handler)
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
            calls: self.calls.clone(),
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

    /// The counters per server (listener label), the unlabelled set first.
    pub fn listener_stats(&self) -> &[ListenerStats] {
        self.core.listener_stats()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// Runs until shut down (a [`Handle`], a signal, or a protocol asking for it) and every
    /// connection is closed. Channels are closed when it returns: their senders get their
    /// messages back from then on.
    pub fn run(&mut self) -> io::Result<()> {
        let result = self.run_loop();
        self.core.close_all(|| crate::CloseReason::Shutdown);
        self.core.close_channels();
        *self.shared.stats.lock().unwrap() = self.core.stats;
        result
    }

    fn run_loop(&mut self) -> io::Result<()> {
        loop {
            if self.shared.shutdown.load(Ordering::Relaxed) {
                self.core.begin_shutdown();
            }
            let timeout = match self.core.prepare(Instant::now()) {
                Turn::Stop => return Ok(()),
                Turn::Poll(timeout) => timeout,
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
                        self.core.on_signal();
                    }
                    Token(slot) => self.core.dispatch(
                        slot,
                        ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                        ev.is_writable() || ev.is_write_closed(),
                        ev.is_read_closed() || ev.is_error() || ev.is_priority(),
                    ),
                }
            }
            self.core.tick();
            if let Ok(mut s) = self.shared.stats.try_lock() {
                *s = self.core.stats;
            }
        }
    }
}
