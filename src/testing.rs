//! Drive protocols without sockets: feed bytes split anywhere, advance a virtual clock, read
//! what they wrote, simulate child sockets.
//!
//! The [`Harness`] runs the very same core as the [`Reactor`](crate::Reactor) — the same
//! flags, write queues, backpressure, timers and close logic — with virtual connections in
//! place of sockets. It is what sans-IO tests and fuzz targets of every protocol use.
//!
//! ```
//! use bytes::BytesMut;
//! use netreactor::{testing::Harness, Context, Protocol};
//!
//! struct Upper;
//! impl Protocol for Upper {
//!     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
//!         // Answer whole lines only; keep a partial line for later.
//!         while let Some(n) = input.iter().position(|&b| b == b'\n') {
//!             let line = input.split_to(n + 1);
//!             cx.write(line.to_ascii_uppercase());
//!         }
//!     }
//! }
//!
//! let mut h = Harness::new();
//! let c = h.open(Upper);
//! h.feed_split(c, b"hello\nwor", &[2, 4]);
//! h.feed(c, b"ld\n");
//! assert_eq!(h.take_output(c), b"HELLO\nWORLD\n");
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::fmt;

use crate::boxed::Typed;
use crate::channel::{MessageHandler, Sender};
use crate::connection::{flag, Io, Owner, ProtoCell, VirtualPeer};
use crate::core::{Core, Kind};
use crate::listener::ListenIo;
use crate::{CloseReason, Config, ConnId, Protocol, Stats};

#[cfg(feature = "tls")]
pub use crate::tls::harness::{fuzz_tls, TlsClient};

/// Drives protocols in memory. See the [module docs](self).
pub struct Harness {
    core: Core,
    outputs: HashMap<ConnId, Vec<u8>>,
    closed: HashMap<ConnId, (CloseReason, bool)>,
    next_port: u16,
}

impl fmt::Debug for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("open", &self.core.conn_count())
            .field("now", &self.core.now())
            .finish()
    }
}

impl Default for Harness {
    fn default() -> Harness {
        Harness::new()
    }
}

impl Harness {
    /// A harness with the default [`Config`] and a virtual clock.
    pub fn new() -> Harness {
        Harness::with_config(Config::default())
    }

    /// A harness with `config` (watermarks, input limit, idle timeout...).
    pub fn with_config(config: Config) -> Harness {
        Harness {
            core: Core::new(config, None, None, Instant::now()),
            outputs: HashMap::new(),
            closed: HashMap::new(),
            next_port: 50000,
        }
    }

    /// Opens a connection driven by `protocol` from a made-up peer `127.0.0.1:<port>` to
    /// `127.0.0.1:8000`, and calls `on_open`.
    pub fn open<P: Protocol<T>, T: Copy + 'static>(&mut self, protocol: P) -> ConnId {
        self.next_port = self.next_port.wrapping_add(1).max(50000);
        let peer = SocketAddr::from(([127, 0, 0, 1], self.next_port));
        self.open_with_addrs(protocol, peer, SocketAddr::from(([127, 0, 0, 1], 8000)))
    }

    /// Opens a connection with the given peer and local addresses.
    pub fn open_with_addrs<P: Protocol<T>, T: Copy + 'static>(
        &mut self,
        protocol: P,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> ConnId {
        self.open_virtual(protocol, peer, local, |_, _| {})
    }

    /// Opens a virtual connection; `setup` runs on it before `on_open` (TLS).
    pub(crate) fn open_virtual<P: Protocol<T>, T: Copy + 'static>(
        &mut self,
        protocol: P,
        peer: SocketAddr,
        local: SocketAddr,
        setup: impl FnOnce(&mut Core, ConnId),
    ) -> ConnId {
        let io = Io::Virtual(Box::new(VirtualPeer {
            peer: Some(peer),
            local: Some(local),
            ..VirtualPeer::default()
        }));
        let id = self
            .core
            .add_conn(io, Owner::Proto(ProtoCell::new(Typed::boxed(protocol))), 0)
            .expect("virtual connections always register");
        self.core.stats.accepted += 1;
        setup(&mut self.core, id);
        self.core.open_proto(id);
        self.pump();
        id
    }

    /// Opens a connection from `peer` (a balancer) that must start with a PROXY protocol
    /// header, as one of a listener with
    /// [`ListenOptions::proxy_protocol`](crate::ListenOptions::proxy_protocol): `on_open`
    /// runs once the header is fed, with [`Context::peer_addr`](crate::Context::peer_addr)
    /// the header's source. A bad header, an EOF before it, or no header within the default
    /// [`proxy_header_timeout`](crate::ListenOptions::proxy_header_timeout) closes it with
    /// [`CloseReason::ProxyHeader`].
    ///
    /// ```
    /// use netreactor::bytes::BytesMut;
    /// use netreactor::{testing::Harness, Context, Protocol};
    ///
    /// struct Hello;
    /// impl Protocol for Hello {
    ///     fn on_open(&mut self, cx: &mut Context<'_>) {
    ///         cx.write(format!("hello {}\n", cx.peer_addr().unwrap()));
    ///     }
    ///     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
    ///         cx.write(input.split().freeze());
    ///     }
    /// }
    ///
    /// let mut h = Harness::new();
    /// let c = h.open_behind_proxy(Hello, "10.0.0.5:4000".parse().unwrap());
    /// assert_eq!(h.take_output(c), b""); // nothing before the header
    /// h.feed(c, b"PROXY TCP4 192.0.2.7 10.0.0.9 5555 80\r\nping");
    /// assert_eq!(h.take_output(c), b"hello 192.0.2.7:5555\nping");
    /// ```
    pub fn open_behind_proxy<P: Protocol<T>, T: Copy + 'static>(
        &mut self,
        protocol: P,
        peer: SocketAddr,
    ) -> ConnId {
        let io = Io::Virtual(Box::new(VirtualPeer {
            peer: Some(peer),
            local: Some(SocketAddr::from(([127, 0, 0, 1], 8000))),
            ..VirtualPeer::default()
        }));
        let timeout = crate::ListenOptions::default().proxy_header_timeout;
        let id = self
            .core
            .open_behind_proxy(io, Typed::boxed(protocol), timeout)
            .expect("virtual connections always register");
        self.core.stats.accepted += 1;
        self.pump();
        id
    }

    /// Opens a client connection as [`Context::connect`](crate::Context::connect) would; it
    /// stays connecting until [`complete_connect`](Self::complete_connect).
    pub fn connect<P: Protocol<T>, T: Copy + 'static>(
        &mut self,
        protocol: P,
        addr: SocketAddr,
    ) -> ConnId {
        let id = self
            .core
            .connect(addr, None, Typed::boxed(protocol))
            .expect("virtual connects always succeed");
        self.pump();
        id
    }

    /// Feeds `bytes` to connection (or child) `id` as one read. Ignored once it is closed.
    pub fn feed(&mut self, id: ConnId, bytes: &[u8]) {
        if bytes.is_empty() || self.core.conn(id).is_none() {
            return;
        }
        self.core.push_input(id, bytes);
        self.core.do_read(id.index());
        self.pump();
    }

    /// Feeds `bytes` as several reads, split at the given offsets (ascending, any out of
    /// range are ignored).
    pub fn feed_split(&mut self, id: ConnId, bytes: &[u8], splits: &[usize]) {
        let mut start = 0;
        for &at in splits {
            if at > start && at < bytes.len() {
                self.feed(id, &bytes[start..at]);
                start = at;
            }
        }
        self.feed(id, &bytes[start..]);
    }

    /// Feeds `bytes` in reads of `size` bytes each.
    pub fn feed_chunks(&mut self, id: ConnId, bytes: &[u8], size: usize) {
        for piece in bytes.chunks(size.max(1)) {
            self.feed(id, piece);
        }
    }

    /// The peer shuts down its write half: `on_eof` (or `ChildEvent::Eof`).
    pub fn eof(&mut self, id: ConnId) {
        if self.core.conn(id).is_some() {
            self.core.deliver_eof(id.index(), id);
            self.pump();
        }
    }

    /// Everything written to `id` since the last call (file ranges read in), also after it
    /// closed. With a [`set_write_capacity`](Self::set_write_capacity) limit, each call
    /// returns at most that much and then frees the peer's window for the next call.
    pub fn take_output(&mut self, id: ConnId) -> Vec<u8> {
        self.pump();
        let mut out = self.outputs.remove(&id).unwrap_or_default();
        // The peer read what it had: its window opens again for what is still queued, which
        // the next call returns.
        if let Some(c) = self.core.conn_mut(id) {
            if let Io::Virtual(p) = c.io.base_mut() {
                // Moved out, not appended: the peer's buffer must not keep its capacity, so
                // heap measurements through the harness see only the protocol's memory.
                let written = std::mem::take(&mut p.written);
                if out.is_empty() {
                    out = written;
                } else {
                    out.extend_from_slice(&written);
                }
                p.accepted = 0;
            }
            if c.has(flag::WAIT_WRITABLE) {
                self.core.on_writable(id.index());
                self.pump();
            }
        }
        out
    }

    /// Output written so far, as text (lossy), without taking it.
    pub fn peek_output(&mut self, id: ConnId) -> String {
        self.pump();
        let mut bytes = self.outputs.get(&id).cloned().unwrap_or_default();
        if let Some(Io::Virtual(p)) = self.core.conn(id).map(|c| c.io.base()) {
            bytes.extend_from_slice(&p.written);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Advances the virtual clock by `by`, firing due timers in deadline order, each seeing
    /// the clock at its own deadline.
    pub fn advance(&mut self, by: Duration) {
        let target = self.core.now() + by;
        while let Some(at) = self.core.next_timer_at() {
            if at > target {
                break;
            }
            self.core.set_now(at);
            self.core.fire_timers();
            self.pump();
        }
        self.core.set_now(target);
        self.core.fire_timers();
        self.pump();
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.core.now()
    }

    /// True while `id` (a connection, child or child listener) is open.
    pub fn is_open(&self, id: ConnId) -> bool {
        self.core.is_open(id)
    }

    /// What `id`'s TLS session negotiated (`None`: not TLS, or closed).
    #[cfg(feature = "tls")]
    pub fn tls_info(&self, id: ConnId) -> Option<crate::tls::TlsInfo<'_>> {
        self.core.tls_info(id)
    }

    /// Why `id` closed (`None` while open or never opened).
    pub fn close_reason(&self, id: ConnId) -> Option<&CloseReason> {
        self.closed.get(&id).map(|(r, _)| r)
    }

    /// True once the write half of `id` was shut down (also after it closed).
    pub fn is_write_shut(&self, id: ConnId) -> bool {
        if let Some((_, shut)) = self.closed.get(&id) {
            return *shut;
        }
        match self.core.conn(id).map(|c| c.io.base()) {
            Some(Io::Virtual(p)) => p.write_shut,
            _ => false,
        }
    }

    /// True while reading from `id` is paused (by the protocol or by backpressure).
    pub fn is_read_paused(&self, id: ConnId) -> bool {
        self.core
            .conn(id)
            .is_some_and(|c| c.has(flag::PAUSED_APP | flag::PRESSURE))
    }

    /// Bytes queued and not yet accepted by the virtual peer.
    pub fn queued(&self, id: ConnId) -> usize {
        self.core.queued(id)
    }

    /// Limits how many bytes the virtual peer of `id` accepts until the next
    /// [`take_output`](Self::take_output) (`None`: unlimited) — a slow reader, for
    /// backpressure tests.
    pub fn set_write_capacity(&mut self, id: ConnId, cap: Option<usize>) {
        if let Some(c) = self.core.conn_mut(id) {
            if let Io::Virtual(p) = c.io.base_mut() {
                p.capacity = cap;
            }
        }
    }

    /// Child sockets of `id` (listeners and streams), oldest first.
    pub fn children(&self, id: ConnId) -> Vec<ConnId> {
        self.core
            .children_of(id)
            .iter()
            .filter_map(|&s| {
                self.core
                    .slots
                    .get(s as usize)
                    .map(|sl| ConnId::new(s as usize, sl.gen))
            })
            .collect()
    }

    /// The address a child listener was bound to.
    pub fn child_listen_addr(&self, child: ConnId) -> Option<SocketAddr> {
        match self.core.slots.get(child.index()) {
            Some(s) if s.gen == child.gen => match &s.kind {
                Kind::Listener(l) => match &l.io {
                    ListenIo::Virtual(a) => Some(**a),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// The address an outbound child (or client connection) connects to.
    pub fn child_connect_addr(&self, child: ConnId) -> Option<SocketAddr> {
        match self.core.conn(child).map(|c| c.io.base()) {
            Some(Io::Virtual(p)) => p.connect_to,
            _ => None,
        }
    }

    /// Child listener `listener` accepts a connection from `peer`: the parent gets
    /// `ChildEvent::Accepted`. Returns the new child's id.
    pub fn accept_child(&mut self, listener: ConnId, peer: SocketAddr) -> Option<ConnId> {
        let local = self.child_listen_addr(listener)?;
        let io = Io::Virtual(Box::new(VirtualPeer {
            peer: Some(peer),
            local: Some(local),
            ..VirtualPeer::default()
        }));
        let id = self.core.accepted(listener.index(), io, Some(peer));
        self.pump();
        id
    }

    /// An outbound connection completes (`ok`) or is refused.
    pub fn complete_connect(&mut self, child: ConnId, ok: bool) {
        let outcome = if ok {
            Ok(())
        } else {
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
        };
        self.core.connect_done(child, outcome);
        self.pump();
    }

    /// Begins graceful shutdown: every protocol gets `on_shutdown`.
    pub fn shutdown(&mut self) {
        self.core.start_shutdown();
        self.pump();
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.core.stats
    }

    /// Connections open (children included).
    pub fn open_count(&self) -> usize {
        self.core.conn_count()
    }

    /// A channel into this harness, as [`Reactor::channel`](crate::Reactor::channel): what
    /// the returned sender sends is handed to `handler` at the next feed, advance or output
    /// read (or [`run_channels`](Self::run_channels)).
    pub fn channel<M: Send + 'static>(&mut self, handler: impl MessageHandler<M>) -> Sender<M> {
        self.core.add_channel(usize::MAX, handler)
    }

    /// Hands waiting channel messages to their handlers now.
    pub fn run_channels(&mut self) {
        self.pump();
    }

    /// Applies pending work and collects what virtual peers received.
    fn pump(&mut self) {
        for _ in 0..1000 {
            self.core.start_requested_shutdown();
            self.core.run_channels();
            self.core.process_dirty();
            if self.core.ready.is_empty() && !self.core.notify.is_pending() {
                break;
            }
            self.core.run_ready();
        }
        for (id, mut peer, reason) in self.core.graveyard.drain(..) {
            let out = self.outputs.entry(id).or_default();
            out.append(&mut peer.written);
            self.closed.insert(id, (reason, peer.write_shut));
        }
    }
}

/// Fuzz entry points of the core (see `fuzz/fuzz_targets/core_echo.rs`).
pub mod fuzz {
    use std::net::SocketAddr;
    use std::time::Duration;

    use bytes::BytesMut;

    use super::Harness;
    use crate::{Config, Context, Protocol};

    /// Echoes up to and including each `0xFF` byte, then pauses reading for 1 ms: partial
    /// consumption, pause and redelivery on resume all get exercised. Checks that input
    /// arrives only while the write queue is at or under the high watermark, and records
    /// the largest delivery.
    struct PausingEcho {
        high_watermark: usize,
        largest: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Protocol for PausingEcho {
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            assert!(
                cx.queued() <= self.high_watermark,
                "input delivered with {} bytes queued",
                cx.queued()
            );
            self.largest.set(self.largest.get().max(input.len()));
            match input.iter().position(|&b| b == 0xFF) {
                Some(i) => {
                    cx.write(input.split_to(i + 1).freeze());
                    cx.pause_read();
                    cx.set_timer(Duration::from_millis(1), ());
                }
                None => cx.write(input.split().freeze()),
            }
        }

        fn on_timer(&mut self, cx: &mut Context<'_>, _: ()) {
            cx.resume_read();
        }
    }

    /// Says who it is (the peer address) on open, then echoes.
    struct PeerEcho;

    impl Protocol for PeerEcho {
        fn on_open(&mut self, cx: &mut Context<'_>) {
            cx.write(format!("{:?}\n", cx.peer_addr()));
        }
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            cx.write(input.split().freeze());
        }
    }

    /// The PROXY protocol header parser on `data`, then the core reading it: every prefix
    /// of the input is `Incomplete` or the same verdict, a header's addresses survive
    /// re-encoding, and a connection behind the PROXY protocol fed `data` in pieces (split
    /// where its first byte says) opens exactly when the parser says a header is whole, with
    /// the header's source as its peer, and gets exactly the bytes after it.
    pub fn proxy_header(data: &[u8]) {
        use crate::proxy_header::{encode_v2, parse, Status};
        let whole = parse(data);
        let end = match whole {
            Ok(Status::Done { consumed, .. }) => consumed,
            _ => data.len(),
        };
        for k in (0..end).take(512) {
            match parse(&data[..k]) {
                Ok(Status::Incomplete) => {}
                Err(e) if whole == Err(e) => {}
                other => panic!("prefix {k}: {other:?}, whole: {whole:?}"),
            }
        }
        if let Ok(Status::Done {
            consumed,
            source,
            destination,
        }) = whole
        {
            assert!(consumed <= data.len());
            assert_eq!(source.is_some(), destination.is_some());
            if let (Some(s), Some(d)) = (source, destination) {
                let again = parse(&encode_v2(s, d, &[]));
                assert!(
                    matches!(again, Ok(Status::Done { source: Some(a), destination: Some(b), .. }) if a == s && b == d)
                );
            }
        }
        let balancer = SocketAddr::from(([10, 0, 0, 5], 4000));
        let mut h = Harness::new();
        let c = h.open_behind_proxy(PeerEcho, balancer);
        let step = usize::from(data.first().copied().unwrap_or(1)).max(1);
        h.feed_chunks(c, data, step);
        let out = h.take_output(c);
        match whole {
            Ok(Status::Done {
                consumed, source, ..
            }) => {
                let mut want = format!("{:?}\n", Some(source.unwrap_or(balancer))).into_bytes();
                want.extend_from_slice(&data[consumed..]);
                assert_eq!(out, want);
                assert!(h.is_open(c));
            }
            Ok(Status::Incomplete) => {
                assert!(out.is_empty() && h.is_open(c));
                h.eof(c);
                assert!(!h.is_open(c));
                assert_eq!(h.stats().proxy_header_errors, 1);
            }
            Err(_) => {
                assert!(out.is_empty() && !h.is_open(c));
                assert_eq!(h.stats().proxy_header_errors, 1);
            }
        }
    }

    /// Interprets `data` as operations on an echo connection (feed, limit the peer's window,
    /// take output, advance the clock) and checks that exactly the fed bytes come back in
    /// order, that no input is delivered above the high watermark and that the write queue
    /// stays bounded by the watermark plus what one delivery brought. (A harness connection
    /// gets everything fed while it was paused in one delivery; a socket's is bounded by
    /// `Config::max_input`.)
    pub fn echo_ops(data: &[u8]) {
        const HIGH: usize = 256;
        let config = Config::default()
            .high_watermark(HIGH)
            .low_watermark(64)
            .read_budget(512);
        let mut h = Harness::with_config(config);
        let largest = std::rc::Rc::new(std::cell::Cell::new(0));
        let c = h.open(PausingEcho {
            high_watermark: HIGH,
            largest: largest.clone(),
        });
        let (mut fed, mut out) = (Vec::new(), Vec::new());
        let mut ops = data.iter().copied();
        while let Some(op) = ops.next() {
            let arg = ops.next().unwrap_or(0);
            match op % 4 {
                0 => {
                    let piece: Vec<u8> = ops.by_ref().take(arg as usize % 64 + 1).collect();
                    h.feed(c, &piece);
                    fed.extend_from_slice(&piece);
                }
                1 => h.set_write_capacity(c, if arg == 0 { None } else { Some(arg as usize) }),
                2 => out.extend(h.take_output(c)),
                _ => h.advance(Duration::from_millis(arg as u64 % 4)),
            }
            // Bounded: the queue holds at most the watermark plus one delivery.
            assert!(
                h.queued(c) <= HIGH + largest.get(),
                "queue grew to {} (largest delivery {})",
                h.queued(c),
                largest.get()
            );
        }
        h.set_write_capacity(c, None);
        // Each round resumes at most one pause; once every fed byte is back and nothing is
        // queued, one more round shows whether anything extra follows.
        let mut settled = false;
        for _ in 0..(fed.len() + 4) {
            h.advance(Duration::from_millis(1));
            out.extend(h.take_output(c));
            if settled {
                break;
            }
            settled = out.len() >= fed.len() && h.queued(c) == 0;
        }
        assert!(h.is_open(c));
        assert_eq!(out, fed, "echo lost, duplicated or reordered bytes");
    }
}
