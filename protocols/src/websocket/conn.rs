//! The connection state machine (implements [`netreactor::Protocol`]) for both roles: the
//! opening handshake, then frames — ping answered with pong, the close handshake with a
//! timeout, failures closed with the RFC's codes — and the application's [`Handler`].
//!
//! States, as RFC 6455 names them: `CONNECTING` (`Handshake::Server` /
//! `Handshake::Client`), `OPEN`, `CLOSING` (we sent a close frame and wait for the
//! peer's), `CLOSED` (close frames exchanged, or the connection failed: we only wait for the
//! TCP connection to end).

use std::rc::Rc;
use std::time::{Duration, Instant};

use aside::{Aside, ClientRequest, Handshake};

use bytes::{Bytes, BytesMut};
use netreactor::{CloseReason, ConnId, Context, Counter, Protocol, Refusal, TimerId};

pub use super::config::ClientConfig;
use super::config::{ServerConfig, DEFAULT_INFLATE_SLICE};
use super::deflate::{DeflateConfig, DeflateParams, Deflater, Inflater};
use super::encode::{close_payload, Frames};
use super::handshake::{self, Accepted};
use super::parse::{Message, Opcode, ProtocolError, Reader, Role};

/// A WebSocket connection's timers: its own deadlines and checks, and the handler's
/// ([`Ws::set_timer`]). Opaque, so a handler's timers cannot be taken for the connection's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WsTimer(TimerKind);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimerKind {
    Close,
    Handshake,
    Message,
    Yield,
    Handler(u32),
}

/// The close handshake's deadline.
const CLOSE_TIMER: WsTimer = WsTimer(TimerKind::Close);
/// The opening handshake's deadline.
const HANDSHAKE_TIMER: WsTimer = WsTimer(TimerKind::Handshake);
/// The deadline of the message being assembled.
const MESSAGE_TIMER: WsTimer = WsTimer(TimerKind::Message);
/// The next slice of a message whose inflation yielded.
const YIELD_TIMER: WsTimer = WsTimer(TimerKind::Yield);

mod aside;
mod client;
mod guards;

/// Bits of [`Link::flags`].
mod flag {
    /// The idle timeout's first half ran out and a ping went to the peer; no byte came from
    /// it since.
    pub const PINGED: u8 = 1;
    /// A [`YIELD_TIMER`](super::YIELD_TIMER) is set.
    pub const YIELD_ARMED: u8 = 2;
    /// The handshake was refused; the answer is being flushed.
    pub const REJECTED: u8 = 4;
}

/// Close code reported to [`Handler::on_close`] when the close frame had no code.
pub const NO_STATUS: u16 = 1005;
/// Close code reported to [`Handler::on_close`] when the connection ended without a close
/// frame.
pub const ABNORMAL: u16 = 1006;

/// A text message: bytes known to be valid UTF-8, shared without copying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text(Bytes);

impl Text {
    /// Wraps bytes already checked as UTF-8.
    pub(crate) fn new_unchecked(b: Bytes) -> Text {
        debug_assert!(std::str::from_utf8(&b).is_ok());
        Text(b)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: `Text` is only built from bytes the reader validated as UTF-8 (or from a
        // `&str`/`String`), and `Bytes` is immutable.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The bytes (to send on without a copy).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Bytes::from(s))
    }
}

/// The application's side of a WebSocket connection. Every method has a default that does
/// nothing; sends go through the [`Ws`] handle.
pub trait Handler: 'static {
    /// The handshake completed: the connection is open.
    fn on_open(&mut self, ws: &mut Ws<'_, '_>) {
        let _ = ws;
    }
    /// A whole text message arrived.
    fn on_text(&mut self, ws: &mut Ws<'_, '_>, text: Text) {
        let _ = (ws, text);
    }
    /// A whole binary message arrived.
    fn on_binary(&mut self, ws: &mut Ws<'_, '_>, data: Bytes) {
        let _ = (ws, data);
    }
    /// A ping arrived (the pong has already been queued).
    fn on_ping(&mut self, ws: &mut Ws<'_, '_>, payload: &Bytes) {
        let _ = (ws, payload);
    }
    /// A pong arrived.
    fn on_pong(&mut self, ws: &mut Ws<'_, '_>, payload: &Bytes) {
        let _ = (ws, payload);
    }
    /// The connection left the open state — the close handshake began (from either side), the
    /// connection failed, or it ended without a close frame ([`ABNORMAL`]). Called once; sends
    /// are ignored from now on, so remove the connection from broadcast sets here.
    fn on_close(&mut self, ws: &mut Ws<'_, '_>, code: u16, reason: &str) {
        let _ = (ws, code, reason);
    }
    /// The write queue went above the high watermark (`true`: stop producing) or drained
    /// below the low one (`false`).
    fn on_backpressure(&mut self, ws: &mut Ws<'_, '_>, paused: bool) {
        let _ = (ws, paused);
    }
    /// A timer set with [`Ws::set_timer`] fired.
    fn on_timer(&mut self, ws: &mut Ws<'_, '_>, tag: u32) {
        let _ = (ws, tag);
    }
}

/// Where the connection is in its life (RFC 6455 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Handshake in progress.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// We sent a close frame; the peer's is awaited (data is discarded).
    Closing,
    /// Close frames exchanged or the connection failed; waiting for TCP to end.
    Closed,
}

/// `d` in whole milliseconds, at most `u32::MAX` (49 days).
fn millis(d: Duration) -> u32 {
    d.as_millis().min(u32::MAX.into()) as u32
}

/// The sending half of a connection and its close bookkeeping.
#[derive(Debug)]
struct Link {
    /// The frame encoder (its role is `role`, kept once for both directions).
    writer: Frames,
    /// The one deadline in force: the opening handshake's while connecting, that of the
    /// message being assembled while open, the close handshake's once closing.
    timer: Option<TimerId>,
    /// The opening handshake, or a close the application started ([`Aside`]).
    aside: Option<Box<Aside>>,
    /// Milliseconds (a `Duration` would take 16 bytes of every connection, this 4).
    close_timeout_ms: u32,
    /// Time allowed for a data message from its first frame to its last, in whole seconds,
    /// rounded up (0: unlimited).
    message_secs: u16,
    /// Idle timeout in whole seconds, rounded up (0: none); the core's idle timeout runs
    /// for half of it twice (a ping, then the close).
    idle_secs: u16,
    role: Role,
    state: State,
    /// [`Handler::on_close`] was called (kept here, with the flags, to fill the struct's
    /// padding: every byte counts on an idle connection).
    told_close: bool,
    /// [`flag`] bits.
    flags: u8,
}

impl Link {
    fn new(role: Role, close_timeout: Duration) -> Link {
        Link {
            writer: Frames::default(),
            timer: None,
            aside: None,
            close_timeout_ms: millis(close_timeout),
            message_secs: 0,
            idle_secs: 0,
            role,
            state: State::Connecting,
            told_close: false,
            flags: 0,
        }
    }

    fn send(&mut self, cx: &mut Context<'_, WsTimer>, opcode: Opcode, payload: Bytes) {
        let before = self.writer.has_backlog();
        self.writer
            .encode(self.role, opcode, payload, |b| cx.write(b));
        if !before && self.writer.has_backlog() {
            guards::set_fragmenting(cx.id(), true);
        }
    }

    /// Drops a message part-way through compression: no data follows a close frame.
    fn abandon_backlog(&mut self, cx: &mut Context<'_, WsTimer>) {
        if self.writer.has_backlog() {
            self.writer.abandon_backlog();
            guards::set_fragmenting(cx.id(), false);
        }
    }

    /// Sends a close frame and moves to `next`; arms the close timeout.
    fn send_close(&mut self, cx: &mut Context<'_, WsTimer>, payload: Bytes, next: State) {
        self.abandon_backlog(cx);
        self.send(cx, Opcode::Close, payload);
        self.state = next;
        self.arm_close_timer(cx);
    }

    /// Cancels the deadline in force (the handshake's or the message's).
    fn cancel_timer(&mut self, cx: &mut Context<'_, WsTimer>) {
        if let Some(t) = self.timer.take() {
            cx.cancel_timer(t);
        }
    }

    fn arm_close_timer(&mut self, cx: &mut Context<'_, WsTimer>) {
        self.cancel_timer(cx);
        self.timer = Some(cx.set_timer(
            Duration::from_millis(self.close_timeout_ms.into()),
            CLOSE_TIMER,
        ));
    }
}

/// The application's handle inside [`Handler`] callbacks: send, close, broadcast, timers.
pub struct Ws<'a, 'b> {
    cx: &'a mut Context<'b, WsTimer>,
    link: &'a mut Link,
}

impl<'a, 'b> Ws<'a, 'b> {
    /// This connection's id (to put in broadcast sets).
    pub fn id(&self) -> ConnId {
        self.cx.id()
    }

    /// The core's context (peer address, counters, other connections...).
    pub fn context(&mut self) -> &mut Context<'b, WsTimer> {
        self.cx
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.link.state
    }

    /// True when permessage-deflate was agreed (data messages go out compressed).
    pub fn is_compressed(&self) -> bool {
        self.link.writer.compresses()
    }

    /// True while messages may be sent.
    pub fn is_open(&self) -> bool {
        self.link.state == State::Open
    }

    /// Sends a text message; false (nothing sent) unless the connection is open.
    pub fn send_text(&mut self, text: impl Into<Text>) -> bool {
        self.send(Opcode::Text, text.into().into_bytes())
    }

    /// Sends a binary message (the `Bytes` is queued without a copy when not compressed).
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> bool {
        self.send(Opcode::Binary, data.into())
    }

    /// Sends a ping (payload up to 125 bytes; longer payloads are refused).
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> bool {
        let p = payload.into();
        p.len() <= 125 && self.send(Opcode::Ping, p)
    }

    fn send(&mut self, opcode: Opcode, payload: Bytes) -> bool {
        if self.link.state != State::Open {
            return false;
        }
        self.link.send(self.cx, opcode, payload);
        true
    }

    /// Starts the close handshake with `code` (1000 normal, 1001 going away, 3000-4999 for
    /// applications) and `reason` (cut to 123 bytes). [`Handler::on_close`] follows at once.
    pub fn close(&mut self, code: u16, reason: &str) {
        if self.link.state == State::Open {
            self.link
                .send_close(self.cx, close_payload(code, reason), State::Closing);
            self.link.aside = Some(Box::new(Aside::LocalClose(code, reason.to_string())));
        }
    }

    /// Bytes queued on this connection and not yet written.
    pub fn queued(&self) -> usize {
        self.cx.queued()
    }

    /// True while the write queue is above the high watermark.
    pub fn is_backpressured(&mut self) -> bool {
        self.cx.is_backpressured()
    }

    /// Queues one encoded frame (see [`encode::frame`](super::encode::frame)) on every
    /// connection in `to` — encode once, share the `Bytes`. Receivers whose queue already
    /// holds more than `max_queued` bytes are skipped (slow consumers lose messages rather
    /// than grow memory), and so are receivers part-way through sending a large compressed
    /// message in fragments (a frame must not land between them). Returns how many received
    /// it. Only pass ids of open WebSocket connections (remove them in
    /// [`Handler::on_close`]).
    pub fn broadcast(
        &mut self,
        to: impl IntoIterator<Item = ConnId>,
        frame: &Bytes,
        max_queued: usize,
    ) -> usize {
        let mut n = 0;
        for id in to {
            if self.cx.conn(id).queued() <= max_queued
                && !guards::is_fragmenting(id)
                && self.cx.conn(id).write(frame.clone())
            {
                n += 1;
            }
        }
        n
    }

    /// Sets a timer for [`Handler::on_timer`], which gets `tag` back.
    pub fn set_timer(&mut self, after: Duration, tag: u32) -> TimerId {
        self.cx.set_timer(after, WsTimer(TimerKind::Handler(tag)))
    }
}

/// One WebSocket connection: the [`Protocol`] the reactor drives, around a [`Handler`].
pub struct WsConn<H: Handler> {
    reader: Reader,
    link: Link,
    handler: H,
}

/// `d` in whole seconds rounded up, at most `u16::MAX` (18 hours).
fn secs(d: Duration) -> u16 {
    d.as_millis().div_ceil(1000).min(u16::MAX.into()) as u16
}

impl<H: Handler> WsConn<H> {
    /// A server connection that first reads the HTTP upgrade request itself (the
    /// standalone `--ws` listener).
    pub fn server(config: Rc<ServerConfig>, handler: H) -> WsConn<H> {
        let mut c = WsConn::new_server(&config, handler);
        c.link.aside = Some(Box::new(Aside::Handshake(Handshake::Server {
            config,
            deadline: Instant::now(),
        })));
        c
    }

    fn new_server(config: &ServerConfig, handler: H) -> WsConn<H> {
        let mut link = Link::new(Role::Server, config.close_timeout);
        link.idle_secs = config.idle_timeout.map_or(0, secs);
        link.message_secs = secs(config.message_timeout);
        WsConn {
            reader: Reader::new(Role::Server, config.limits),
            link,
            handler,
        }
    }

    /// A server connection whose handshake was already answered (`accepted`), e.g. by the
    /// HTTP server's upgrade path: it starts with frames.
    pub fn upgraded(config: &ServerConfig, accepted: &Accepted, handler: H) -> WsConn<H> {
        let mut c = WsConn::new_server(config, handler);
        c.link.state = State::Open;
        c.enable_deflate(accepted.deflate, &config.deflate, config.inflate_slice);
        c
    }

    /// A client connection: on open it sends the upgrade request, then waits for `101`.
    pub fn client(config: ClientConfig, handler: H) -> WsConn<H> {
        let mut link = Link::new(Role::Client, config.close_timeout);
        let reader = Reader::new(Role::Client, config.limits);
        link.aside = Some(Box::new(Aside::Handshake(Handshake::Client(Box::new(
            ClientRequest {
                config,
                key: String::new(),
            },
        )))));
        WsConn {
            reader,
            link,
            handler,
        }
    }

    /// True once the opening handshake is over and was accepted: frames flow.
    fn in_frames(&self) -> bool {
        self.link.handshake().is_none() && self.link.flags & flag::REJECTED == 0
    }

    /// The application handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.link.state
    }

    fn enable_deflate(
        &mut self,
        params: Option<DeflateParams>,
        config: &DeflateConfig,
        inflate_slice: usize,
    ) {
        let Some(p) = params else { return };
        let (ours, ours_nct, theirs_nct) = match self.link.role {
            Role::Server => (
                p.server_max_window_bits,
                p.server_no_context_takeover,
                p.client_no_context_takeover,
            ),
            // Our offer promised client_no_context_takeover whatever the answer says.
            Role::Client => (p.client_max_window_bits, true, p.server_no_context_takeover),
        };
        self.reader.set_inflater(Inflater::new(theirs_nct));
        self.reader.set_inflate_slice(inflate_slice);
        let deflater =
            Deflater::new(ours, ours_nct, config.level).with_memory_limit(config.memory_limit);
        self.link.writer.set_deflater(deflater, config.min_size);
    }

    fn ws<'a, 'b>(link: &'a mut Link, cx: &'a mut Context<'b, WsTimer>) -> Ws<'a, 'b> {
        Ws { cx, link }
    }

    fn tell_close(&mut self, cx: &mut Context<'_, WsTimer>, code: u16, reason: &str) {
        if !self.link.told_close {
            self.link.told_close = true;
            let mut ws = Self::ws(&mut self.link, cx);
            self.handler.on_close(&mut ws, code, reason);
        }
    }

    fn open(&mut self, cx: &mut Context<'_, WsTimer>) {
        self.link.end_handshake();
        self.link.state = State::Open;
        self.link.cancel_timer(cx);
        self.start_idle(cx);
        let mut ws = Self::ws(&mut self.link, cx);
        self.handler.on_open(&mut ws);
        self.after_callback(cx);
    }

    /// A handler may have called [`Ws::close`]: tell it (once) that the connection closed.
    fn after_callback(&mut self, cx: &mut Context<'_, WsTimer>) {
        if self.link.state != State::Open && !self.link.told_close {
            let (code, reason) = self
                .link
                .take_local_close()
                .unwrap_or((ABNORMAL, String::new()));
            self.tell_close(cx, code, &reason);
        }
    }

    /// Fails the connection (RFC 6455 7.1.7): close frame with the error's code, then no
    /// more reading; TCP ends when the peer closes or the close timeout fires.
    fn fail(&mut self, cx: &mut Context<'_, WsTimer>, e: ProtocolError) {
        cx.count(Counter::ParseError);
        tracing::debug!(conn = %cx.id(), error = %e, "websocket connection failed");
        self.fail_with(cx, e.close_code(), e.reason());
    }

    /// Fails the connection with `code` (see [`fail`](Self::fail)); the message being
    /// assembled is dropped at once.
    fn fail_with(&mut self, cx: &mut Context<'_, WsTimer>, code: u16, reason: &str) {
        self.link.abandon_backlog(cx);
        if self.link.state == State::Open {
            self.link
                .send(cx, Opcode::Close, close_payload(code, reason));
        }
        self.link.state = State::Closed;
        self.reader.discard_message();
        self.link.arm_close_timer(cx);
        cx.shutdown_write();
        self.tell_close(cx, code, reason);
    }

    /// Both close frames went by: the server closes TCP first (RFC 6455 7.1.1), the client
    /// waits for it (bounded by the close timeout).
    fn closed_cleanly(&mut self, cx: &mut Context<'_, WsTimer>) {
        self.link.state = State::Closed;
        match self.link.role {
            Role::Server => cx.close(),
            Role::Client => self.link.arm_close_timer(cx),
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_, WsTimer>, m: Message) {
        let open = self.link.state == State::Open;
        match m {
            Message::Text(t) if open => {
                let mut ws = Self::ws(&mut self.link, cx);
                self.handler.on_text(&mut ws, Text::new_unchecked(t));
            }
            Message::Binary(b) if open => {
                let mut ws = Self::ws(&mut self.link, cx);
                self.handler.on_binary(&mut ws, b);
            }
            Message::Ping(p) if open => {
                self.link.send(cx, Opcode::Pong, p.clone());
                let mut ws = Self::ws(&mut self.link, cx);
                self.handler.on_ping(&mut ws, &p);
            }
            Message::Pong(p) if open => {
                let mut ws = Self::ws(&mut self.link, cx);
                self.handler.on_pong(&mut ws, &p);
            }
            Message::Close(frame) => {
                let (code, reason) = match &frame {
                    Some(f) => (f.code, f.reason_str().to_string()),
                    None => (NO_STATUS, String::new()),
                };
                if open {
                    // Echo the code (RFC 6455 5.5.1), then close.
                    let payload = match &frame {
                        Some(f) => close_payload(f.code, ""),
                        None => Bytes::new(),
                    };
                    self.link.send(cx, Opcode::Close, payload);
                }
                self.closed_cleanly(cx);
                self.tell_close(cx, code, &reason);
            }
            // Data and pings after our close frame are discarded (RFC 6455 1.4).
            _ => {}
        }
        self.after_callback(cx);
    }

    /// Reads messages until the input runs out or this turn's inflate budget does; then
    /// reading pauses and a timer continues in a later turn, after the other ready
    /// connections (the rest of the input stays unconsumed meanwhile).
    fn read_frames(&mut self, cx: &mut Context<'_, WsTimer>, input: &mut BytesMut) {
        loop {
            if self.link.state == State::Closed {
                input.clear();
                return;
            }
            match self.reader.read(input) {
                Ok(Some(m)) => self.on_message(cx, m),
                Ok(None) => break,
                Err(e) => {
                    self.fail(cx, e);
                    input.clear();
                    return;
                }
            }
        }
        self.schedule_slices(cx);
    }

    fn server_handshake(
        &mut self,
        cx: &mut Context<'_, WsTimer>,
        input: &mut BytesMut,
        config: Rc<ServerConfig>,
    ) {
        let head = match handshake::read_request(input, config.max_head) {
            Ok(None) => return,
            Ok(Some(r)) => r,
            Err(e) => return self.reject(cx, input, e.response()),
        };
        let (len, hs) = head;
        let _ = input.split_to(len);
        let hs = match hs {
            Ok(hs) => hs,
            Err(e) => return self.reject(cx, input, e.response()),
        };
        if let Some(check) = &config.check_origin {
            if !check(&hs) {
                return self.reject(cx, input, handshake::HandshakeError::Origin.response());
            }
        }
        let protocol = config.select_protocol.as_ref().and_then(|f| f(&hs));
        let accepted = handshake::accept(&hs, protocol, &config.deflate);
        cx.write(accepted.response());
        self.enable_deflate(accepted.deflate, &config.deflate, config.inflate_slice);
        self.open(cx);
        self.read_frames(cx, input);
    }

    /// The opening handshake did not complete in time: the connection goes without an
    /// answer. Counted by the caller (the core counts what its idle timeout ends).
    fn handshake_timed_out(&mut self, cx: &mut Context<'_, WsTimer>) {
        self.link.state = State::Closed;
        self.tell_close(cx, ABNORMAL, "handshake timed out");
        cx.abort();
    }

    fn reject(&mut self, cx: &mut Context<'_, WsTimer>, input: &mut BytesMut, answer: Bytes) {
        cx.count(Counter::ParseError);
        cx.write(answer);
        cx.close();
        input.clear();
        self.link.end_handshake();
        self.link.flags |= flag::REJECTED;
        self.link.state = State::Closed;
        self.link.told_close = true;
    }
}

impl<H: Handler> Protocol<WsTimer> for WsConn<H> {
    /// Over a reactor cap, before any handshake: `503` with `Retry-After` (RFC 6455 §4.2.2
    /// lets a server answer the upgrade with any HTTP status), then the write half is shut.
    fn on_refused(&mut self, cx: &mut Context<'_, WsTimer>, why: Refusal) {
        tracing::debug!(?why, "websocket: refusing a connection");
        const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
            Retry-After: 1\r\nConnection: close\r\n\r\n";
        self.link.end_handshake();
        self.link.flags |= flag::REJECTED;
        self.link.state = State::Closed;
        self.link.told_close = true;
        cx.write(Bytes::from_static(BUSY));
        cx.shutdown_write();
    }

    fn on_open(&mut self, cx: &mut Context<'_, WsTimer>) {
        let rejected = self.link.flags & flag::REJECTED != 0;
        match self.link.handshake_mut() {
            Some(Handshake::Server { config, deadline }) => {
                let t = config.handshake_timeout;
                *deadline = cx.now() + t;
                cx.set_idle_timeout(Some(t));
            }
            Some(Handshake::Client(req)) => {
                let mut key = [0u8; 16];
                key[..4].copy_from_slice(&super::encode::MaskRng::new().next_key());
                for chunk in key[4..].chunks_mut(4) {
                    chunk.copy_from_slice(&super::encode::MaskRng::new().next_key());
                }
                let protocols: Vec<&str> =
                    req.config.protocols.iter().map(|s| s.as_str()).collect();
                let (head, k) = handshake::client_request(
                    &req.config.host,
                    &req.config.target,
                    &protocols,
                    req.config.compress,
                    key,
                );
                req.key = k;
                cx.write(head);
                let t = req.config.close_timeout.max(Duration::from_secs(10));
                self.link.timer = Some(cx.set_timer(t, HANDSHAKE_TIMER));
            }
            None if rejected => {}
            None => {
                // Upgraded from HTTP: the 101 is already written.
                self.start_idle(cx);
                let mut ws = Self::ws(&mut self.link, cx);
                self.handler.on_open(&mut ws);
                self.after_callback(cx);
            }
        }
    }

    fn on_data(&mut self, cx: &mut Context<'_, WsTimer>, input: &mut BytesMut) {
        match self.link.handshake() {
            Some(Handshake::Server { deadline, .. }) if cx.now() >= *deadline => {
                input.clear();
                cx.count(Counter::Timeout);
                self.handshake_timed_out(cx);
            }
            Some(Handshake::Server { config, .. }) => {
                let config = config.clone();
                self.server_handshake(cx, input, config)
            }
            Some(Handshake::Client(_)) => self.client_handshake(cx, input),
            None if self.link.flags & flag::REJECTED != 0 => input.clear(),
            None => {
                self.link.flags &= !flag::PINGED;
                self.reader.new_turn();
                self.read_frames(cx, input);
            }
        }
        self.settle(cx);
    }

    fn on_eof(&mut self, cx: &mut Context<'_, WsTimer>) {
        if self.link.state == State::Open || self.link.state == State::Connecting {
            self.link.state = State::Closed;
            self.tell_close(cx, ABNORMAL, "connection ended without a close frame");
        }
        if self.link.flags & flag::REJECTED != 0 {
            cx.close();
        } else {
            cx.abort();
        }
    }

    fn on_backpressure(&mut self, cx: &mut Context<'_, WsTimer>, paused: bool) {
        if self.link.state == State::Open {
            let mut ws = Self::ws(&mut self.link, cx);
            self.handler.on_backpressure(&mut ws, paused);
            self.after_callback(cx);
            self.settle(cx);
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_, WsTimer>, timer: WsTimer) {
        match timer {
            CLOSE_TIMER => {
                self.link.timer = None;
                cx.count(Counter::Timeout);
                cx.abort();
            }
            HANDSHAKE_TIMER => {
                self.link.timer = None;
                if self.link.state == State::Connecting {
                    cx.count(Counter::Timeout);
                    self.handshake_timed_out(cx);
                }
            }
            MESSAGE_TIMER => {
                self.link.timer = None;
                if self.reader.in_message() && self.link.state == State::Open {
                    cx.count(Counter::Timeout);
                    self.fail_with(cx, 1008, "message not completed in time");
                }
            }
            YIELD_TIMER => self.continue_message(cx),
            WsTimer(TimerKind::Handler(tag)) => {
                let mut ws = Self::ws(&mut self.link, cx);
                self.handler.on_timer(&mut ws, tag);
                self.after_callback(cx);
            }
        }
        self.settle(cx);
    }

    /// Half the idle timeout without a byte from the peer or write progress: a ping asks
    /// for a sign of life; another half without one closes with 1001.
    fn on_idle(&mut self, cx: &mut Context<'_, WsTimer>) {
        self.idle_check(cx);
    }

    fn on_shutdown(&mut self, cx: &mut Context<'_, WsTimer>) {
        if self.link.state == State::Open {
            self.link.send_close(
                cx,
                close_payload(1001, "server shutting down"),
                State::Closing,
            );
            self.tell_close(cx, 1001, "server shutting down");
        } else if self.link.state == State::Connecting {
            cx.abort();
        }
    }

    fn on_close(&mut self, cx: &mut Context<'_, WsTimer>, reason: &CloseReason) {
        let _ = reason;
        if self.link.writer.has_backlog() {
            guards::set_fragmenting(cx.id(), false);
        }
        self.link.state = State::Closed;
        self.tell_close(cx, ABNORMAL, "connection closed");
    }
}
