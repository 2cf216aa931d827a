//! The HTTP/1.1 connection state machine (implements [`netreactor::Protocol`]).
//!
//! One [`HttpConn`] per TCP connection. It parses request heads from the reactor's input
//! buffer, receives bodies (Content-Length or chunked; buffered, streamed to a
//! [`BodySink`](super::BodySink), or piped to a CGI script), calls the handler, and writes
//! responses in order — so pipelined requests are answered one after the other. It stops
//! parsing further pipelined requests while a response is still streaming or while the
//! write queue is over its budget, and resumes when it drains.
//!
//! Timers: the header timer runs from the first byte of a request head (and from the
//! connection's opening) until the head is complete (slowloris: 408, close); the keep-alive
//! timer runs while idle between requests (close silently); the body timer bounds any pause
//! while a body arrives (408, close); the CGI timer bounds a script run (504 or close).
//!
//! Errors are answered with their status and `Connection: close`, then the connection closes
//! once the answer is written. Only the offending connection is affected.

use std::fmt::Write as _;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use netreactor::{ChildEvent, CloseReason, ConnId, Context, Counter, Protocol, Refusal};

use super::addrs::Addrs;
use super::config::Shared;
use super::exchange::Exchange;
use super::handler::{BodyMode, BodyStream, Request, Response};
use super::wire::{self, Chunked, Framing};

/// Queue size above which no further pipelined request is parsed until the queue drains.
const PIPELINE_QUEUE_BUDGET: usize = 256 * 1024;

/// Bodies up to this size are copied next to their head (one buffer, one iovec) rather
/// than queued as a buffer of their own.
const INLINE_BODY: usize = 1024;

/// Files up to this size are read into the response buffer behind their head (one `pread`,
/// one write) rather than sent with `sendfile` after it: below this size the second
/// segment costs more than the copy.
const INLINE_FILE: u64 = 16 * 1024;

/// What [`HttpConn::req`] shows while no request is held.
static EMPTY_REQUEST: Request = Request::EMPTY;

/// The tag of the connection's one deadline timer.
/// An HTTP connection's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpTimer {
    /// The header, body or keep-alive deadline, armed for the n-th time (a stale one that
    /// fires after the deadline moved is told apart by its number).
    Deadline(u32),
    /// The CGI script's time limit.
    Cgi,
    /// Look again whether the CGI script has exited.
    Reap,
}

/// The phase of the current exchange, named after what the connection waits for.
enum State {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Receiving a request body (boxed: most connections never have one, and an idle
    /// connection should not carry its room).
    Body(Box<BodyState>),
    /// A response is still being produced (stream or CGI); requests behind it wait.
    Responding,
    /// The connection is closing: input is ignored.
    Closing,
    /// The connection was handed to another protocol (an upgrade): input is not ours.
    Switched,
}

/// A response body produced piece by piece, and whether it goes out chunked.
struct Streaming {
    body: Box<dyn BodyStream>,
    chunked: bool,
}

/// The connection's exchange, taken from the server's spares if it holds none (a free
/// function so callers keep the other fields of the connection borrowable).
fn exchange<'a>(ex: &'a mut Option<Box<Exchange>>, shared: &Shared) -> &'a mut Exchange {
    ex.get_or_insert_with(|| shared.spares.take())
}

/// The HTTP/1.1 server side of one connection. Made by
/// [`Server::factory`](super::Server::factory).
pub struct HttpConn {
    shared: Rc<Shared>,
    state: State,
    /// The per-request storage (request, header ranges, response buffer), held only while
    /// an exchange is under way and given back to the server's spares when idle.
    ex: Option<Box<Exchange>>,
    /// Current request: keep the connection after the response.
    keep_alive: bool,
    /// Current request is HEAD.
    head_only: bool,
    served: u64,
    /// The one protocol deadline (header, idle or body) and what it is for. Moving it later
    /// costs nothing: the armed timer fires at the old time, sees the new deadline and
    /// re-arms for the rest (so the hello path sets no timer per request).
    /// Milliseconds since [`Shared::epoch`](super::config::Shared).
    deadline: u64,
    deadline_kind: Deadline,
    armed: Option<Armed>,
    timer_seq: u32,
    /// A streamed response body being written (boxed with its framing: 8 bytes when idle).
    stream: Option<Box<Streaming>>,
    waiting_drain: bool,
    peer_eof: bool,
    cgi: Option<Box<CgiRun>>,
    /// The CGI script finished its answer while its request body was still arriving.
    cgi_answered: bool,
    /// The client may still be sending when the connection closes: the current request's
    /// body is not all read (it was refused, or its answer came first), or an error cut the
    /// request short. The close then lingers, so the client reads the answer rather than a
    /// reset.
    linger_on_close: bool,
}

impl HttpConn {
    pub(crate) fn new(shared: Rc<Shared>) -> HttpConn {
        HttpConn {
            shared,
            state: State::Head,
            ex: None,
            keep_alive: true,
            head_only: false,
            served: 0,
            deadline: 0,
            deadline_kind: Deadline::None,
            armed: None,
            timer_seq: 0,
            stream: None,
            waiting_drain: false,
            peer_eof: false,
            cgi: None,
            cgi_answered: false,
            linger_on_close: false,
        }
    }

    // ---- the request loop -----------------------------------------------------------------

    /// Parses and answers as many requests as `input` holds and the output budget allows.
    fn process(&mut self, cx: &mut Context<'_, HttpTimer>, input: &mut BytesMut) {
        loop {
            match self.state {
                // Taken over: what is left of the input belongs to the new protocol.
                State::Switched => return,
                State::Closing => {
                    input.clear();
                    return;
                }
                State::Responding => {
                    // Later pipelined requests wait until this response is complete.
                    if !input.is_empty() {
                        cx.pause_read();
                    }
                    return;
                }
                State::Body(_) => {
                    if input.is_empty() {
                        return;
                    }
                    // Progress: the body deadline moves (no timer operation).
                    self.deadline = self.ms_after(cx, self.shared.config.body_timeout);
                    if !self.read_body(cx, input) {
                        return;
                    }
                }
                State::Head => {
                    if input.is_empty() {
                        return;
                    }
                    let gathered = self.ex.as_ref().map_or(0, |ex| ex.out.len());
                    if cx.queued() + gathered > PIPELINE_QUEUE_BUDGET || cx.is_backpressured() {
                        // Answer no more until what is queued has gone out.
                        cx.pause_read();
                        cx.notify_drained();
                        self.waiting_drain = true;
                        return;
                    }
                    let ex = exchange(&mut self.ex, &self.shared);
                    if ex.head_started.is_none() {
                        ex.head_started = Some(cx.now());
                    }
                    let parsed =
                        wire::parse_head(input, &self.shared.config, &mut ex.header_ranges);
                    match parsed {
                        Ok(None) => {
                            // A partial head: its deadline runs from its first byte.
                            self.start_header_timer(cx);
                            return;
                        }
                        Err(status) => {
                            cx.count(Counter::ParseError);
                            self.fail(cx, status);
                        }
                        Ok(Some(head)) => {
                            ex.head_started = None;
                            if self.deadline_kind == Deadline::Header {
                                self.clear_deadline();
                            }
                            self.begin_request(cx, input, head);
                        }
                    }
                }
            }
        }
    }

    /// A head is complete: fill the request, then answer or start receiving the body.
    fn begin_request(
        &mut self,
        cx: &mut Context<'_, HttpTimer>,
        input: &mut BytesMut,
        head: wire::Head,
    ) {
        let bytes = input.split_to(head.len).freeze();
        let ex = exchange(&mut self.ex, &self.shared);
        let req = &mut ex.req;
        req.method = bytes.slice(head.method.clone());
        req.target = bytes.slice(head.target.clone());
        req.version_minor = head.minor;
        req.headers.clear();
        for (n, v) in &ex.header_ranges {
            req.headers
                .push((bytes.slice(n.clone()), bytes.slice(v.clone())));
        }
        req.body = Bytes::new();
        if matches!(req.addrs, Addrs::Unknown) {
            req.addrs = match (cx.raw_fd(), cx.proxy_source()) {
                // The client's address from the PROXY protocol header, not the balancer's.
                (Some(fd), Some(peer)) => Addrs::Proxied { peer, fd },
                // Looked up only if the handler asks (two system calls otherwise).
                (Some(fd), None) => Addrs::Socket(fd),
                (None, _) => Addrs::Known {
                    peer: cx.peer_addr(),
                    local: cx.local_addr(),
                },
            };
        }
        let target_ok = req.set_target_parts();
        self.served += 1;
        self.keep_alive = head.keep_alive
            && self.served < self.shared.config.max_requests_per_conn
            && !self.peer_eof
            && !cx.is_shutting_down();
        self.head_only = &req.method[..] == b"HEAD";
        self.linger_on_close = head.framing != Framing::None;
        if head.expect_unknown {
            return self.fail(cx, 417);
        }
        let connect = &req.method[..] == b"CONNECT";
        let asterisk = &req.target[..] == b"*";
        if connect || asterisk && &req.method[..] != b"OPTIONS" {
            return self.fail(cx, if connect { 501 } else { 400 });
        }
        if !target_ok && !asterisk {
            // Neither origin-form nor absolute-form, or a path that does not decode: one rule
            // for every route (static files, CGI, handlers).
            return self.fail(cx, 400);
        }
        if asterisk && head.framing == Framing::None {
            // `OPTIONS *`: the server's capabilities, not a resource's.
            let resp = Response::new(204).header(
                Bytes::from_static(b"Allow"),
                Bytes::from_static(b"GET, HEAD, POST, PUT, DELETE, OPTIONS"),
            );
            return self.respond(cx, resp);
        }
        let shared = self.shared.clone();
        let config = &shared.config;
        let cgi_script = match &self.shared.cgi {
            Some(c) if c.matches(self.req().path()) => match c.resolve(self.req().path()) {
                Ok(s) => Some(s),
                Err(status) => {
                    if head.framing != Framing::None {
                        self.keep_alive = false;
                    }
                    return self.respond(cx, Response::error(status));
                }
            },
            _ => None,
        };
        if head.framing == Framing::None {
            match cgi_script {
                Some(s) => {
                    self.start_cgi(cx, s, None, false);
                }
                None => self.dispatch(cx, None),
            }
            return;
        }
        let (target, limit) = if let Some(s) = cgi_script {
            match head.framing {
                Framing::Length(n) => {
                    // Start the script now and pipe the body to it as it arrives.
                    if n > config.max_upload {
                        return self.fail(cx, 413);
                    }
                    if !self.start_cgi(cx, s, Some(n), true) {
                        self.keep_alive = false;
                        return;
                    }
                    let stdin = self.cgi.as_ref().and_then(|r| r.stdin);
                    (BodyTarget::CgiStdin(stdin), config.max_upload)
                }
                _ => (BodyTarget::Cgi(BytesMut::new(), s), config.max_body),
            }
        } else {
            match self.shared.handler.body_mode(self.req()) {
                BodyMode::Buffer => (BodyTarget::Buffer(BytesMut::new()), config.max_body),
                BodyMode::Stream(sink) => (BodyTarget::Sink(sink), config.max_upload),
                BodyMode::Reject(resp) => {
                    // The body is never read: close after answering.
                    self.keep_alive = false;
                    return self.respond(cx, resp);
                }
            }
        };
        if let Framing::Length(n) = head.framing {
            if n > limit {
                return self.fail(cx, 413);
            }
        }
        if head.expect_continue {
            self.out()
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let at = self.ms_after(cx, self.shared.config.body_timeout);
        self.set_deadline(cx, Deadline::Body, at);
        self.state = State::Body(Box::new(BodyState {
            framing: match head.framing {
                Framing::Length(n) => BodyFraming::Length(n),
                _ => BodyFraming::Chunked(Chunked::default()),
            },
            target,
            received: 0,
            limit,
        }));
    }

    /// Consumes body bytes from `input`. Returns true when the loop should go on (the body
    /// completed and was answered), false when more input is needed or the state ended.
    /// Calls the handler (or uses `ready`) and writes its response.
    fn dispatch(&mut self, cx: &mut Context<'_, HttpTimer>, ready: Option<Response>) {
        let resp = match ready {
            Some(r) => r,
            None => self.shared.handler.handle(self.req()),
        };
        self.respond(cx, resp);
    }

    /// Hands the response bytes gathered so far (heads and small bodies of every request
    /// answered in this callback) to the write queue as one buffer.
    fn flush_out(&mut self, cx: &mut Context<'_, HttpTimer>) {
        if let Some(ex) = self.ex.as_mut() {
            if !ex.out.is_empty() {
                cx.write(ex.take_output());
            }
        }
    }

    /// The buffer responses are gathered in.
    fn out(&mut self) -> &mut BytesMut {
        &mut exchange(&mut self.ex, &self.shared).out
    }

    /// The current request (an empty one when no exchange is under way).
    fn req(&self) -> &Request {
        self.ex.as_ref().map_or(&EMPTY_REQUEST, |ex| &ex.req)
    }

    fn req_mut(&mut self) -> &mut Request {
        &mut exchange(&mut self.ex, &self.shared).req
    }

    /// Drops the views of the last request so the read buffer can be reused.
    fn clear_request(&mut self) {
        if let Some(ex) = self.ex.as_mut() {
            ex.clear_request();
        }
    }

    /// Gives the per-request storage back to the server's spares when nothing is under
    /// way: no request head half-read, none being answered, no output gathered.
    fn release_exchange(&mut self) {
        let between = matches!(self.state, State::Head | State::Closing);
        if let Some(ex) = self
            .ex
            .take_if(|ex| between && ex.head_started.is_none() && ex.out.is_empty())
        {
            self.shared.spares.give(ex);
        }
    }

    /// The current exchange is complete: close, or wait for the next request.
    fn exchange_done(&mut self, cx: &mut Context<'_, HttpTimer>) {
        if !self.keep_alive || self.peer_eof {
            self.state = State::Closing;
            self.cancel_all_timers(cx);
            self.flush_out(cx);
            if self.linger_on_close {
                cx.close_lingering();
            } else {
                cx.close();
            }
            return;
        }
        self.state = State::Head;
        self.start_idle_timer(cx);
        // A streamed or CGI answer that just ended has flushed its output: nothing is kept.
        self.release_exchange();
    }

    /// Answers `status` with `Connection: close` and closes after writing it.
    fn fail(&mut self, cx: &mut Context<'_, HttpTimer>, status: u16) {
        tracing::debug!(conn = %cx.id(), status, "http: rejecting request");
        self.keep_alive = false;
        self.head_only = false;
        self.linger_on_close = true;
        let resp = Response::error(status);
        self.state = State::Head;
        self.respond(cx, resp);
    }

    // ---- streamed responses ---------------------------------------------------------------

    fn pump_stream(&mut self, cx: &mut Context<'_, HttpTimer>) {
        self.flush_out(cx);
        let Some(Streaming {
            body: stream,
            chunked,
        }) = self.stream.as_deref_mut()
        else {
            return;
        };
        while cx.queued() <= PIPELINE_QUEUE_BUDGET {
            match stream.next_chunk() {
                Some(b) if b.is_empty() => continue,
                Some(b) => {
                    if *chunked {
                        let mut line = BytesMut::with_capacity(12);
                        let _ = write!(line, "{:x}\r\n", b.len());
                        cx.write(line.freeze());
                        cx.write(b);
                        cx.write(Bytes::from_static(b"\r\n"));
                    } else {
                        cx.write(b);
                    }
                }
                None => {
                    if *chunked {
                        cx.write(Bytes::from_static(b"0\r\n\r\n"));
                    }
                    self.stream = None;
                    self.exchange_done(cx);
                    cx.resume_read();
                    return;
                }
            }
        }
        cx.notify_drained();
    }
}

impl Protocol<HttpTimer> for HttpConn {
    fn on_open(&mut self, cx: &mut Context<'_, HttpTimer>) {
        // The first request must begin within the header timeout: the core's idle timeout
        // (no timer of our own: a 12-byte entry rather than 48), lengthened to the keep-alive
        // timeout after the first answer (`start_idle_timer`). A head that arrives in parts
        // has its own deadline from its first byte (`start_header_timer`).
        cx.set_idle_timeout(Some(self.shared.config.header_timeout));
    }

    /// The idle timeout ran out. Nothing received since the opening: 408, as for a head
    /// that did not complete. Idle between requests: close silently. Mid-request (a head
    /// or body in parts has its own deadline; a response or CGI run may be quiet a while):
    /// nothing, the core checks again after another timeout.
    fn on_idle(&mut self, cx: &mut Context<'_, HttpTimer>) {
        let waiting = matches!(self.state, State::Head)
            && self.ex.as_ref().is_none_or(|ex| ex.head_started.is_none());
        match self.deadline_kind {
            Deadline::None if waiting && self.served == 0 => {
                cx.count(Counter::Timeout);
                tracing::debug!(conn = %cx.id(), "http: header timeout");
                self.fail(cx, 408);
            }
            Deadline::Idle if waiting => {
                self.state = State::Closing;
                self.cancel_all_timers(cx);
                self.flush_out(cx);
                cx.close();
            }
            _ => {}
        }
    }

    /// Over a connection cap: `503` at once, then the write half is shut so the client reads
    /// it whole (closing with its request unread could reset the connection under it); the
    /// core aborts it after its refusal time.
    fn on_refused(&mut self, cx: &mut Context<'_, HttpTimer>, why: Refusal) {
        tracing::debug!(?why, "http: refusing a connection");
        const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
            Content-Length: 34\r\nRetry-After: 1\r\nConnection: close\r\n\r\n\
            Too many connections; try again.\r\n";
        self.state = State::Closing;
        cx.write(Bytes::from_static(BUSY));
        cx.shutdown_write();
    }

    fn on_data(&mut self, cx: &mut Context<'_, HttpTimer>, input: &mut BytesMut) {
        self.process(cx, input);
        self.flush_out(cx);
        if matches!(self.state, State::Head) && input.is_empty() {
            // Wholly idle between requests (not mid-head): the keep-alive timer runs.
            self.start_idle_timer(cx);
        }
        self.release_exchange();
    }

    fn on_eof(&mut self, cx: &mut Context<'_, HttpTimer>) {
        self.peer_eof = true;
        match self.state {
            State::Responding if self.cgi.is_some() => {
                // The client went away while a script works for it (as nginx reads it: a
                // client abort): the script and its process group go now, not at the limit.
                tracing::info!("cgi: client closed its side; killing the script");
                self.kill_cgi(cx);
                self.state = State::Closing;
                self.cancel_all_timers(cx);
                self.flush_out(cx);
                cx.close();
            }
            State::Responding => {
                // Finish the response in flight, then close.
                self.keep_alive = false;
            }
            _ => {
                self.state = State::Closing;
                self.cancel_all_timers(cx);
                self.flush_out(cx);
                cx.close();
            }
        }
    }

    fn on_backpressure(&mut self, cx: &mut Context<'_, HttpTimer>, paused: bool) {
        if !paused {
            self.resume_output(cx);
        }
    }

    fn on_drain(&mut self, cx: &mut Context<'_, HttpTimer>) {
        self.resume_output(cx);
    }

    fn on_timer(&mut self, cx: &mut Context<'_, HttpTimer>, tag: HttpTimer) {
        match tag {
            HttpTimer::Deadline(_) if self.armed.is_some() && tag == self.deadline_tag() => {
                self.deadline_fired(cx)
            }
            HttpTimer::Deadline(_) => {} // moved since it was armed
            HttpTimer::Cgi => {
                if let Some(run) = self.cgi.as_mut() {
                    run.timer = None;
                    cx.count(Counter::Timeout);
                    tracing::warn!("cgi: time limit reached, killing the script");
                    self.cgi_fail(cx, 504);
                }
            }
            HttpTimer::Reap => {
                if let Some(run) = self.cgi.as_mut() {
                    run.timer = None;
                    let started = run.child.is_some();
                    if started {
                        self.reap_cgi(cx);
                    }
                }
            }
        }
    }

    fn on_child(&mut self, cx: &mut Context<'_, HttpTimer>, child: ConnId, event: ChildEvent<'_>) {
        let Some(run) = self.cgi.as_ref() else {
            if let ChildEvent::Data(buf) = event {
                buf.clear();
            }
            return;
        };
        let (stdout, stderr, stdin) = (run.stdout, run.stderr, run.stdin);
        match event {
            ChildEvent::Data(buf) => {
                if Some(child) == stdout {
                    self.cgi_output(cx, buf);
                } else if Some(child) == stderr {
                    self.cgi_stderr(buf);
                } else {
                    buf.clear();
                }
            }
            ChildEvent::Eof | ChildEvent::Closed(_) => {
                if Some(child) == stdout {
                    if let Some(run) = self.cgi.as_mut() {
                        run.stdout = None;
                    }
                    if let ChildEvent::Eof = event {
                        cx.conn(child).abort();
                    }
                    self.cgi_finished(cx);
                } else if Some(child) == stdin {
                    if let Some(run) = self.cgi.as_mut() {
                        run.stdin = None;
                    }
                } else if Some(child) == stderr {
                    if let Some(run) = self.cgi.as_mut() {
                        run.stderr = None;
                    }
                    if let ChildEvent::Eof = event {
                        cx.conn(child).abort();
                    }
                }
            }
            ChildEvent::Drained if Some(child) == stdin => {
                // The script caught up with the request body: read more of it.
                cx.resume_read();
            }
            _ => {}
        }
    }

    fn on_shutdown(&mut self, cx: &mut Context<'_, HttpTimer>) {
        match self.state {
            // Idle between requests: close now (a client that raced a request against
            // the close retries it, as HTTP lets it). A connection that has sent no request
            // yet, or part of one, is answered first (with `Connection: close`): its client
            // is sending, and closing under it would lose the request.
            State::Head if self.served > 0 && matches!(self.deadline_kind, Deadline::Idle) => {
                self.state = State::Closing;
                self.cancel_all_timers(cx);
                self.flush_out(cx);
                cx.close();
            }
            _ => self.keep_alive = false,
        }
    }

    fn on_close(&mut self, cx: &mut Context<'_, HttpTimer>, _reason: &CloseReason) {
        self.kill_cgi(cx);
        self.state = State::Closing;
        if let Some(mut ex) = self.ex.take() {
            // Unsent output goes with the connection; the storage serves the next one.
            ex.out.clear();
            self.shared.spares.give(ex);
        }
    }
}

impl HttpConn {
    /// The write queue drained (or backpressure lifted): go on with what waited for it.
    fn resume_output(&mut self, cx: &mut Context<'_, HttpTimer>) {
        if self.stream.is_some() {
            self.pump_stream(cx);
            return;
        }
        if let Some(out) = self.cgi.as_ref().and_then(|r| r.stdout) {
            cx.conn(out).resume_read();
            return;
        }
        if self.waiting_drain {
            self.waiting_drain = false;
            cx.resume_read();
        }
    }
}

#[path = "conn_body.rs"]
mod body;
use body::{BodyFraming, BodyState, BodyTarget};

#[path = "conn_cgi.rs"]
mod cgi_run;
use cgi_run::CgiRun;

#[path = "conn_log.rs"]
mod log;
#[path = "conn_respond.rs"]
mod respond;
#[path = "conn_timers.rs"]
mod timers;

#[path = "conn_upgrade.rs"]
mod upgrade;
use timers::{Armed, Deadline};

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
