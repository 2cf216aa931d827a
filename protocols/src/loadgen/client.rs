//! The load generator's connections (one [`Client`] protocol for every mode) and the
//! [`Controller`] that paces connection ramp-up, ends the run and prints progress.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use netreactor::{CloseReason, Context, FdContext, FdHandler, Protocol};

use super::response::ResponseParser;
use super::tls::TlsClient;
use super::{Mode, Progress, ProgressStyle, ThreadStats};

/// A load connection's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// The next request of an open-loop schedule is due.
    Send,
    /// Look for a request that waited longer than the timeout.
    TimeoutCheck,
    /// A hold connection's keep-alive byte is due.
    Hold,
    /// A TLS hold connection looks whether its handshake has finished (nothing else wakes
    /// it: the handshake brings no plaintext).
    Handshake,
}

const SEND: ClientTimer = ClientTimer::Send;
const TIMEOUT_CHECK: ClientTimer = ClientTimer::TimeoutCheck;
const HOLD: ClientTimer = ClientTimer::Hold;
const HANDSHAKE: ClientTimer = ClientTimer::Handshake;
/// How often a TLS hold connection looks at its handshake.
const HANDSHAKE_POLL: Duration = Duration::from_millis(10);

/// What every connection of one thread shares.
pub struct Plan {
    pub(crate) mode: Mode,
    /// One request (echo payload, HTTP request, masked WebSocket frame).
    pub(crate) request: Bytes,
    /// Bytes of one echo response (tcp-echo: the payload size).
    pub(crate) echo_len: usize,
    /// Requests in flight per connection (closed loop), or the HTTP pipelining depth.
    pub(crate) in_flight: usize,
    /// Open loop: time between two sends on one connection.
    pub(crate) interval: Option<Duration>,
    pub(crate) timeout: Duration,
    pub(crate) hold_interval: Option<Duration>,
    /// WebSocket upgrade request.
    pub(crate) ws_handshake: Bytes,
    pub(crate) stats: Rc<RefCell<ThreadStats>>,
    pub(crate) progress: Arc<Progress>,
    /// HTTP `--close`: one request per connection, then a new connection in its place.
    pub(crate) close: bool,
    /// `--reconnect`: a connection the server closed is replaced too.
    pub(crate) reconnect: bool,
    /// Where a replacement connection goes. With `--source` addresses the controller opens
    /// replacements (it owns the source rotation), counted in `ThreadStats::reopen`.
    pub(crate) target: SocketAddr,
    pub(crate) reopen_here: bool,
    /// TLS: every connection handshakes with this name and (shared) configuration.
    pub(crate) tls: Option<TlsClient>,
}

/// One load-generating connection.
pub struct Client {
    plan: Rc<Plan>,
    /// Intended send times of requests in flight (coordinated-omission correction: latency
    /// counts from when a request *should* have gone out).
    in_flight: VecDeque<Instant>,
    echo_pending: usize,
    http: ResponseParser,
    ws_open: bool,
    next_due: Option<Instant>,
    open: bool,
    statuses: Vec<u16>,
    /// Unconsumed input left at the end of the last delivery (handed back with the next).
    leftover: usize,
    /// Requests sent on this connection.
    sent: u64,
    /// TLS: the finished handshake has been counted.
    handshake_counted: bool,
}

impl Client {
    /// A connection following `plan`.
    pub fn new(plan: Rc<Plan>) -> Client {
        Client {
            plan,
            in_flight: VecDeque::new(),
            echo_pending: 0,
            http: ResponseParser::default(),
            ws_open: false,
            next_due: None,
            open: false,
            statuses: Vec::new(),
            leftover: 0,
            sent: 0,
            handshake_counted: false,
        }
    }

    /// Counts the TLS handshake by kind once it has finished; true once counted (or for a
    /// plain connection).
    fn count_handshake(&mut self, cx: &Context<'_, ClientTimer>) -> bool {
        if self.handshake_counted || self.plan.tls.is_none() {
            return true;
        }
        let Some(info) = cx.tls() else { return false };
        if info.is_handshaking() {
            return false;
        }
        self.handshake_counted = true;
        let kind = info.connection().handshake_kind();
        self.plan.stats.borrow_mut().handshakes.count(kind);
        true
    }

    /// `--reconnect` over HTTP: the server closed (or reset) a reused keep-alive connection as
    /// requests went out on it, before any byte of their answer arrived. HTTP lets a server
    /// close an idle connection at any time, and clients send such idempotent requests again
    /// (RFC 9112 §9.3.1): they go to the next connection that opens. True when that was it.
    fn resend_if_raced(&mut self) -> bool {
        let idempotent =
            self.plan.request.starts_with(b"GET ") || self.plan.request.starts_with(b"HEAD ");
        let raced = self.plan.reconnect
            && self.plan.mode == Mode::Http
            && idempotent
            && !self.in_flight.is_empty()
            && self.sent > self.in_flight.len() as u64
            && self.http.between_responses()
            && self.leftover == 0;
        if raced {
            let mut st = self.plan.stats.borrow_mut();
            if st.stopping {
                return false;
            }
            st.resent += self.in_flight.len() as u64;
            st.resend.extend(self.in_flight.drain(..));
        }
        raced
    }

    /// Sends the requests a raced close left to resend, with their first intended times.
    fn resend(&mut self, cx: &mut Context<'_, ClientTimer>) {
        loop {
            let Some(intended) = self.plan.stats.borrow_mut().resend.pop_front() else {
                return;
            };
            if !self.send(cx, intended) {
                self.plan.stats.borrow_mut().resend.push_front(intended);
                return;
            }
        }
    }

    /// Sends one request; false when none may go (stopping, or `--close` and one went).
    fn send(&mut self, cx: &mut Context<'_, ClientTimer>, intended: Instant) -> bool {
        if self.plan.stats.borrow().stopping || (self.plan.close && self.sent > 0) {
            return false;
        }
        cx.write(self.plan.request.clone());
        self.in_flight.push_back(intended);
        self.sent += 1;
        self.plan.stats.borrow_mut().bytes_out += self.plan.request.len() as u64;
        true
    }

    fn fill(&mut self, cx: &mut Context<'_, ClientTimer>) {
        if self.plan.interval.is_none() {
            while self.in_flight.len() < self.plan.in_flight {
                let now = cx.now();
                if !self.send(cx, now) {
                    break;
                }
            }
        }
    }

    fn answered(&mut self, cx: &mut Context<'_, ClientTimer>, status: Option<u16>) {
        let Some(sent) = self.in_flight.pop_front() else {
            self.plan.stats.borrow_mut().errors.bad_response += 1;
            self.plan.progress.errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let latency = cx.now().saturating_duration_since(sent);
        let done = {
            let mut st = self.plan.stats.borrow_mut();
            st.record(cx.now(), latency, status);
            st.target.is_some_and(|t| st.responses >= t)
        };
        self.plan.progress.responses.fetch_add(1, Ordering::Relaxed);
        if done {
            self.plan.stats.borrow_mut().stopping = true;
            cx.shutdown_reactor();
        }
    }

    /// Consumes responses from `input` as the mode says.
    fn receive(&mut self, cx: &mut Context<'_, ClientTimer>, input: &mut BytesMut) {
        match self.plan.mode {
            Mode::Hold => input.clear(),
            Mode::TcpEcho => {
                self.echo_pending += input.len();
                input.clear();
                while self.echo_pending >= self.plan.echo_len && !self.in_flight.is_empty() {
                    self.echo_pending -= self.plan.echo_len;
                    self.answered(cx, None);
                }
                self.fill(cx);
            }
            Mode::Http => {
                let mut statuses = std::mem::take(&mut self.statuses);
                let res = self.http.feed(input, &mut statuses);
                for s in statuses.drain(..) {
                    self.answered(cx, Some(s));
                }
                self.statuses = statuses;
                if res.is_err() {
                    self.plan.stats.borrow_mut().errors.bad_response += 1;
                    self.plan.progress.errors.fetch_add(1, Ordering::Relaxed);
                    cx.abort();
                    return;
                }
                self.fill(cx);
            }
            Mode::WsEcho => {
                if !self.ws_open {
                    let Some(end) = memchr::memmem::find(input, b"\r\n\r\n") else {
                        return;
                    };
                    if !input.starts_with(b"HTTP/1.1 101") {
                        self.plan.stats.borrow_mut().errors.bad_response += 1;
                        self.plan.progress.errors.fetch_add(1, Ordering::Relaxed);
                        cx.abort();
                        return;
                    }
                    input.advance(end + 4);
                    self.ws_open = true;
                    self.start(cx);
                }
                // Unmasked server frames: count each complete one as a response.
                loop {
                    if input.len() < 2 {
                        break;
                    }
                    let (hdr, len) = match input[1] & 0x7f {
                        126 if input.len() >= 4 => {
                            (4, u16::from_be_bytes([input[2], input[3]]) as usize)
                        }
                        127 if input.len() >= 10 => (
                            10,
                            u64::from_be_bytes(input[2..10].try_into().unwrap()) as usize,
                        ),
                        126 | 127 => break,
                        n => (2, n as usize),
                    };
                    if input.len() < hdr + len {
                        break;
                    }
                    let opcode = input[0] & 0x0f;
                    input.advance(hdr + len);
                    if opcode == 8 {
                        cx.close();
                        return;
                    }
                    self.answered(cx, None);
                }
                self.fill(cx);
            }
        }
    }

    fn start(&mut self, cx: &mut Context<'_, ClientTimer>) {
        if self.plan.mode == Mode::Http {
            self.resend(cx);
        }
        match self.plan.interval {
            Some(every) => {
                // Spread the first sends over one interval.
                let offset = every.mul_f64((cx.id().index() % 97) as f64 / 97.0);
                self.next_due = Some(cx.now() + offset);
                cx.set_timer(send_timer(cx.now() + offset, cx.now()), SEND);
            }
            None => self.fill(cx),
        }
        cx.set_timer(Duration::from_secs(1), TIMEOUT_CHECK);
    }
}

/// How far ahead of a request's intended time its send timer is asked for. The reactor's
/// timers have millisecond resolution and `epoll_wait` rounds its timeout up to the next
/// millisecond, so a timer fires between 1 ms early and 2 ms late; asking 1 ms ahead moves
/// that window to 2 ms early .. 1 ms late. Early sends are measured from when they left,
/// late ones from when they were due, so neither direction hides server latency, and the
/// generator's own lateness (reported as send lag) shrinks.
const SEND_EARLY: Duration = Duration::from_millis(1);

/// The timer delay for a send due at `due`, seen at `now`.
fn send_timer(due: Instant, now: Instant) -> Duration {
    due.saturating_duration_since(now)
        .saturating_sub(SEND_EARLY)
}

impl Protocol<ClientTimer> for Client {
    fn on_open(&mut self, cx: &mut Context<'_, ClientTimer>) {
        self.open = true;
        {
            let mut st = self.plan.stats.borrow_mut();
            st.connected += 1;
            st.last_connect = Some(cx.now());
        }
        self.plan.progress.open.fetch_add(1, Ordering::Relaxed);
        if let Some(tls) = &self.plan.tls {
            // What is written from here on goes out encrypted, once the handshake is done.
            if !cx.start_tls_client(tls.server_name.clone(), tls.config.clone()) {
                self.plan.stats.borrow_mut().errors.tls += 1;
                cx.abort();
                return;
            }
        }
        match self.plan.mode {
            Mode::Hold => {
                if let Some(every) = self.plan.hold_interval {
                    cx.set_timer(every, HOLD);
                }
                if self.plan.tls.is_some() {
                    cx.set_timer(HANDSHAKE_POLL, HANDSHAKE);
                }
            }
            Mode::WsEcho => cx.write(self.plan.ws_handshake.clone()),
            Mode::TcpEcho | Mode::Http => self.start(cx),
        }
    }

    fn on_data(&mut self, cx: &mut Context<'_, ClientTimer>, input: &mut BytesMut) {
        let new = input.len() - self.leftover.min(input.len());
        self.plan.stats.borrow_mut().bytes_in += new as u64;
        self.count_handshake(cx);
        self.receive(cx, input);
        self.leftover = input.len();
    }

    fn on_timer(&mut self, cx: &mut Context<'_, ClientTimer>, tag: ClientTimer) {
        match tag {
            SEND => {
                let (Some(due), Some(every)) = (self.next_due, self.plan.interval) else {
                    return;
                };
                let now = cx.now();
                self.plan
                    .stats
                    .borrow_mut()
                    .record_lag(now, now.saturating_duration_since(due));
                // Late: latency runs from the intended time (coordinated omission). Early
                // (the timer is asked for `SEND_EARLY` ahead): from the actual send.
                if !self.send(cx, due.min(now)) {
                    return;
                }
                let next = due + every;
                self.next_due = Some(next);
                cx.set_timer(send_timer(next, now), SEND);
            }
            TIMEOUT_CHECK => {
                if let Some(&oldest) = self.in_flight.front() {
                    if cx.now().saturating_duration_since(oldest) > self.plan.timeout {
                        self.plan.stats.borrow_mut().errors.timeout += 1;
                        self.plan.progress.errors.fetch_add(1, Ordering::Relaxed);
                        cx.abort();
                        return;
                    }
                }
                cx.set_timer(Duration::from_secs(1), TIMEOUT_CHECK);
            }
            HOLD => {
                cx.write(Bytes::from_static(b"\n"));
                if let Some(every) = self.plan.hold_interval {
                    cx.set_timer(every, HOLD);
                }
            }
            HANDSHAKE => {
                if !self.count_handshake(cx) {
                    cx.set_timer(HANDSHAKE_POLL, HANDSHAKE);
                }
            }
        }
    }

    fn on_eof(&mut self, cx: &mut Context<'_, ClientTimer>) {
        self.resend_if_raced();
        if !self.in_flight.is_empty() && !self.plan.stats.borrow().stopping {
            self.plan.stats.borrow_mut().errors.closed += 1;
            self.plan.progress.errors.fetch_add(1, Ordering::Relaxed);
        }
        cx.abort();
    }

    fn on_shutdown(&mut self, cx: &mut Context<'_, ClientTimer>) {
        // A graceful close stops reading, and a handshake that cannot read never finishes:
        // the queued request would hold the run's end until the shutdown deadline.
        if cx.tls().is_some_and(|t| t.is_handshaking()) {
            cx.abort();
        } else {
            cx.close();
        }
    }

    fn on_close(&mut self, cx: &mut Context<'_, ClientTimer>, reason: &CloseReason) {
        if let CloseReason::Io(e) = reason {
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ) && self.resend_if_raced()
            {
                // Not an error: the server closed an idle connection (see above).
                return self.on_close(cx, &CloseReason::Peer);
            }
        }
        if self.open {
            self.plan.progress.open.fetch_sub(1, Ordering::Relaxed);
        }
        let replace = (self.plan.close || self.plan.reconnect)
            && self.open
            && !self.plan.stats.borrow().stopping;
        let mut st = self.plan.stats.borrow_mut();
        st.alive = st.alive.saturating_sub(1);
        if replace {
            if self.plan.reopen_here {
                match cx.connect(self.plan.target, Client::new(self.plan.clone())) {
                    Ok(_) => st.alive += 1,
                    Err(e) => count_connect_error(&mut st, &e),
                }
            } else {
                st.reopen += 1;
            }
        }
        match reason {
            CloseReason::Tls(why) => {
                st.errors.tls += 1;
                st.first_error.get_or_insert_with(|| format!("tls: {why}"));
                self.plan.progress.errors.fetch_add(1, Ordering::Relaxed);
            }
            CloseReason::TlsHandshake => {
                st.errors.tls += 1;
                st.first_error
                    .get_or_insert_with(|| "tls: the handshake timed out or was too large".into());
                self.plan.progress.errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        if let CloseReason::Io(e) = reason {
            st.first_error.get_or_insert_with(|| e.to_string());
            match e.kind() {
                std::io::ErrorKind::ConnectionRefused => st.errors.refused += 1,
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
                    st.errors.reset += 1
                }
                std::io::ErrorKind::TimedOut => st.errors.timeout += 1,
                _ => st.errors.other += 1,
            }
            self.plan.progress.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Opens connections at the ramp-up rate, stops the run after its duration, and prints
/// progress (thread 0: rewritten in place every second on a terminal, a plain line every so
/// often otherwise). Registered on a descriptor that never becomes
/// readable: only its timers matter.
pub struct Controller {
    pub(crate) plan: Rc<Plan>,
    pub(crate) target: SocketAddr,
    pub(crate) sources: Vec<SocketAddr>,
    pub(crate) to_open: usize,
    pub(crate) opened: usize,
    /// Connections opened in all (replacements included), for the source rotation.
    pub(crate) next_source: usize,
    pub(crate) per_tick: f64,
    pub(crate) credit: f64,
    pub(crate) duration: Option<Duration>,
    pub(crate) progress: ProgressStyle,
    pub(crate) started: Instant,
    /// When the last progress line was printed, and the responses then.
    pub(crate) last_line: (Instant, u64),
    /// The write end of the pipe the controller is registered on, kept open so the read
    /// end never reports end-of-file.
    pub(crate) _keep: std::os::fd::OwnedFd,
}

/// Counts a failed `connect` by its kind.
fn count_connect_error(st: &mut ThreadStats, e: &std::io::Error) {
    st.first_error
        .get_or_insert_with(|| format!("connect: {e}"));
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => st.errors.refused += 1,
        Some(libc::EADDRNOTAVAIL) | Some(libc::EMFILE) | Some(libc::ENFILE) => {
            st.errors.resources += 1
        }
        _ => st.errors.other += 1,
    }
}

impl Controller {
    /// Opens one connection from the next source address.
    fn open_one(&mut self, cx: &mut FdContext<'_>) {
        let source =
            (!self.sources.is_empty()).then(|| self.sources[self.next_source % self.sources.len()]);
        self.next_source += 1;
        let client = Client::new(self.plan.clone());
        let connected = cx.connect(self.target, source, client);
        let mut st = self.plan.stats.borrow_mut();
        match connected {
            Ok(_) => st.alive += 1,
            Err(e) => count_connect_error(&mut st, &e),
        }
    }

    fn progress_every(&self) -> Option<Duration> {
        match self.progress {
            ProgressStyle::Off => None,
            ProgressStyle::Terminal => Some(Duration::from_secs(1)),
            ProgressStyle::Lines(every) => Some(every.max(Duration::from_millis(100))),
        }
    }
}

/// One progress line: elapsed time, open connections, responses so far and per second
/// since the last line, errors.
pub fn progress_line(
    elapsed: Duration,
    open: u64,
    responses: u64,
    rate: f64,
    errors: u64,
) -> String {
    format!(
        "{:>6.1}s  open {:>6}  responses {:>10} ({:>8.0}/s)  errors {:>6}",
        elapsed.as_secs_f64(),
        open,
        responses,
        rate,
        errors
    )
}

const OPEN: u64 = 1;
const STOP: u64 = 2;
const PROGRESS: u64 = 3;
const TICK: Duration = Duration::from_millis(10);
/// Once every connection is opened, how often the controller looks whether any is left.
const ALIVE_CHECK: Duration = Duration::from_millis(100);

impl FdHandler for Controller {
    fn on_open(&mut self, cx: &mut FdContext<'_>, _fd: BorrowedFd<'_>) {
        cx.set_timer(Duration::ZERO, OPEN);
        if let Some(d) = self.duration {
            cx.set_timer(
                d.saturating_sub(cx.now().saturating_duration_since(self.started)),
                STOP,
            );
        }
        if let Some(every) = self.progress_every() {
            cx.set_timer(every, PROGRESS);
        }
    }

    fn on_readable(&mut self, _cx: &mut FdContext<'_>, _fd: BorrowedFd<'_>) {}

    fn on_timer(&mut self, cx: &mut FdContext<'_>, _fd: BorrowedFd<'_>, tag: u64) {
        match tag {
            OPEN => {
                self.credit += self.per_tick;
                while self.opened < self.to_open && self.credit >= 1.0 {
                    self.credit -= 1.0;
                    self.opened += 1;
                    self.open_one(cx);
                }
                // `--close` with `--source`: replacements for connections that are done.
                let reopen = std::mem::take(&mut self.plan.stats.borrow_mut().reopen);
                for _ in 0..reopen {
                    self.open_one(cx);
                }
                if self.opened < self.to_open {
                    cx.set_timer(TICK, OPEN);
                } else if self.plan.stats.borrow().alive == 0 {
                    // Every connection has been tried and none is left (refused, or closed
                    // and not replaced): nothing more will happen.
                    self.plan.stats.borrow_mut().stopping = true;
                    cx.shutdown_reactor();
                } else if (self.plan.close || self.plan.reconnect) && !self.plan.reopen_here {
                    cx.set_timer(TICK, OPEN);
                } else {
                    cx.set_timer(ALIVE_CHECK, OPEN);
                }
            }
            STOP => {
                self.plan.stats.borrow_mut().stopping = true;
                cx.shutdown_reactor();
            }
            PROGRESS => {
                let p = &self.plan.progress;
                let now = cx.now();
                let responses = p.responses.load(Ordering::Relaxed);
                let line = progress_line(
                    now.duration_since(self.started),
                    p.open.load(Ordering::Relaxed),
                    responses,
                    responses.saturating_sub(self.last_line.1) as f64
                        / now.duration_since(self.last_line.0).as_secs_f64().max(1e-3),
                    p.errors.load(Ordering::Relaxed),
                );
                self.last_line = (now, responses);
                if self.progress == ProgressStyle::Terminal {
                    eprint!("\r{line}   ");
                } else {
                    eprintln!("{line}");
                }
                if let Some(every) = self.progress_every() {
                    cx.set_timer(every, PROGRESS);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_shows_time_connections_responses_rate_and_errors() {
        let l = progress_line(Duration::from_millis(12_340), 19_000, 123_456, 9876.4, 3);
        assert_eq!(
            l,
            "  12.3s  open  19000  responses     123456 (    9876/s)  errors      3"
        );
    }
}
