//! The control connection: implements [`netreactor::Protocol`] and wires the command
//! [`session`](super::session) to the [`data`](super::data) channels.
//!
//! Lines are read with [`LineReader`]; each is answered in order. While a transfer runs (or
//! a failed login is being delayed) only `ABOR`, `STAT`, `NOOP` and `QUIT` are answered at
//! once; other commands wait in a bounded queue and run when the transfer ends, so pipelining
//! clients keep their order.
//!
//! Pipelined commands are bounded per turn: once the replies queued for the client reach
//! [`OUTPUT_BUDGET`] (or the core reports backpressure), the connection *yields* — it stops
//! taking commands, leaves the rest of the input with the core, pauses reading and asks to be
//! told when its output has drained; then it goes on. A client that sends thousands of
//! `STAT <dir>` and reads nothing holds one budget of replies, not gigabytes. A command that
//! opened a passive listener also yields, so the listener it replaced is closed before the
//! next one opens: a burst of `PASV` holds two descriptors, not thousands.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Instant;

use bytes::BytesMut;
use netreactor::{ChildEvent, CloseReason, ConnId, Context, Counter, Protocol, Refusal, TimerId};

use super::config::Shared;
use super::data::{Channel, Transfer};
use super::parse::{parse_command, CommandError, LineEvent, LineReader, Verb};
use super::reply::{single, Code};
use super::session::Session;

/// Replies queued on the control connection beyond which no further command is taken until
/// they drain.
pub const OUTPUT_BUDGET: usize = 64 * 1024;

/// The control connection's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FtpTimer {
    /// No command for the idle timeout (or the login time).
    Idle,
    /// A passive listener waited too long for its data connection.
    Passive,
    /// A data transfer made no progress for the data timeout.
    Data,
    /// A failed login's 530 is due.
    Login,
}

/// One FTP control connection.
pub struct FtpConn {
    pub(super) shared: Rc<Shared>,
    pub(super) reader: LineReader,
    pub(super) session: Session,
    pub(super) channel: Channel,
    pub(super) transfer: Option<Transfer>,
    /// Lines waiting while busy.
    queue: VecDeque<Vec<u8>>,
    counted: Option<IpAddr>,
    pub(super) last_command: Instant,
    idle_timer: Option<TimerId>,
    /// A failed login's 530 is pending on [`FtpTimer::Login`].
    pub(super) login_delayed: bool,
    /// QUIT arrived during a transfer: answer 221 and close when it ends.
    pub(super) quit_pending: bool,
    pub(super) closing: bool,
    read_paused: bool,
    /// Yielded: waiting for `on_drain` before taking the next command.
    output_wait: bool,
    /// The command just run asks to end the turn (it opened a passive listener).
    pub(super) yield_now: bool,
    /// A line taken in `on_data` is running (not one from the queue).
    in_on_data: bool,
    /// `AUTH TLS` switched the connection: the rest of the input is ciphertext.
    switched: bool,
    /// Implicit FTPS: TLS from the first byte.
    #[cfg(feature = "tls")]
    implicit: bool,
    /// The TLS configurations of this control connection and its data connections.
    #[cfg(feature = "tls")]
    pub(super) tls_config: Option<super::ftps::SessionConfigs>,
}

impl FtpConn {
    /// A control connection sharing `shared`'s configuration and limits.
    pub fn new(shared: Rc<Shared>) -> FtpConn {
        FtpConn {
            shared,
            reader: LineReader::new(),
            session: Session::new(),
            channel: Channel::Idle,
            transfer: None,
            queue: VecDeque::new(),
            counted: None,
            last_command: Instant::now(),
            idle_timer: None,
            login_delayed: false,
            quit_pending: false,
            closing: false,
            read_paused: false,
            output_wait: false,
            yield_now: false,
            in_on_data: false,
            switched: false,
            #[cfg(feature = "tls")]
            implicit: false,
            #[cfg(feature = "tls")]
            tls_config: None,
        }
    }

    /// A control connection of implicit FTPS (TLS from the first byte, `PROT P` in force);
    /// `shared` must have [`FtpConfig::tls`](super::FtpConfig::tls).
    #[cfg(feature = "tls")]
    pub fn implicit_tls(shared: Rc<Shared>) -> FtpConn {
        FtpConn {
            implicit: true,
            ..FtpConn::new(shared)
        }
    }

    /// The command running came straight from the input, with nothing queued: what follows
    /// it is still unread (the condition for `AUTH TLS`).
    #[cfg(feature = "tls")]
    pub(super) fn unqueued_command(&self) -> bool {
        self.in_on_data && self.queue.is_empty()
    }

    /// `AUTH TLS` succeeded: stop taking lines from this input (the rest is ciphertext,
    /// the core hands it to TLS) and start a fresh line reader.
    #[cfg(feature = "tls")]
    pub(super) fn switch_to_tls(&mut self, configs: super::ftps::SessionConfigs) {
        self.tls_config = Some(configs);
        self.switched = true;
        self.reader = LineReader::new();
    }

    /// The session (login state, directory, type...).
    pub fn session(&self) -> &Session {
        &self.session
    }

    pub(super) fn reply(&self, cx: &mut Context<'_, FtpTimer>, code: Code, text: &str) {
        cx.write(single(code, text));
    }

    pub(super) fn busy(&self) -> bool {
        self.transfer.is_some() || self.login_delayed
    }

    /// Answers 421 and closes the control connection (children close with it).
    pub(super) fn close_with(&mut self, cx: &mut Context<'_, FtpTimer>, text: &str) {
        if !self.closing {
            self.reply(cx, Code::ServiceNotAvailable, text);
            self.closing = true;
        }
        cx.close();
    }

    fn handle_line(&mut self, cx: &mut Context<'_, FtpTimer>, line: &[u8]) {
        self.last_command = cx.now();
        let cmd = match parse_command(line) {
            Ok(c) => c,
            Err(CommandError::BadVerb) => {
                cx.count(Counter::ParseError);
                return self.reply(cx, Code::SyntaxError, "Command not understood.");
            }
            Err(CommandError::NotUtf8) => {
                cx.count(Counter::ParseError);
                return self.reply(
                    cx,
                    Code::SyntaxErrorInParameters,
                    "Argument is not valid UTF-8.",
                );
            }
        };
        self.command(cx, cmd);
    }

    /// Runs queued lines until the queue is empty, something makes the connection busy, or
    /// the turn must end.
    pub(super) fn drain_queue(&mut self, cx: &mut Context<'_, FtpTimer>) {
        while !self.busy() && !self.closing && !self.output_wait && !self.queue.is_empty() {
            if self.must_yield(cx) {
                self.yield_turn(cx);
                break;
            }
            let Some(line) = self.queue.pop_front() else {
                break;
            };
            self.handle_line(cx, &line);
        }
        if !self.output_wait {
            self.yield_now = false;
        }
        self.update_read_pause(cx);
    }

    /// True when no further command should run in this turn: enough output is waiting for
    /// the client, or the last command asked for it.
    fn must_yield(&self, cx: &mut Context<'_, FtpTimer>) -> bool {
        self.yield_now || cx.is_backpressured() || cx.queued() >= OUTPUT_BUDGET
    }

    /// Ends the turn: stop reading until `on_drain` (unconsumed input stays with the core,
    /// which hands it back when reading resumes).
    fn yield_turn(&mut self, cx: &mut Context<'_, FtpTimer>) {
        self.yield_now = false;
        self.output_wait = true;
        self.update_read_pause(cx);
        cx.notify_drained();
    }

    /// Reading is paused while the command queue is full or the connection has yielded.
    fn update_read_pause(&mut self, cx: &mut Context<'_, FtpTimer>) {
        let pause = self.output_wait || self.queue.len() >= self.shared.config.max_queued_commands;
        if pause != self.read_paused {
            self.read_paused = pause;
            if pause {
                cx.pause_read();
            } else {
                cx.resume_read();
            }
        }
    }

    fn arm_idle(&mut self, cx: &mut Context<'_, FtpTimer>, after: std::time::Duration) {
        self.idle_timer = Some(cx.set_timer(after, FtpTimer::Idle));
    }

    fn on_idle_timer(&mut self, cx: &mut Context<'_, FtpTimer>) {
        let timeout = self.shared.config.idle_timeout;
        let idle = cx.now().saturating_duration_since(self.last_command);
        if self.transfer.is_some() || idle < timeout {
            let left = if self.transfer.is_some() {
                timeout
            } else {
                timeout - idle
            };
            self.arm_idle(cx, left);
            return;
        }
        cx.count(Counter::Timeout);
        self.close_with(cx, "Control connection timed out.");
    }
}

impl Protocol<FtpTimer> for FtpConn {
    /// Over a connection cap of the reactor: `421` (RFC 959 §4.2: service not available,
    /// closing), then the write half is shut so the client reads it whole.
    fn on_refused(&mut self, cx: &mut Context<'_, FtpTimer>, why: Refusal) {
        tracing::debug!(?why, "ftp: refusing a connection");
        self.reply(
            cx,
            Code::ServiceNotAvailable,
            "Too many connections; try again later.",
        );
        cx.shutdown_write();
    }

    fn on_open(&mut self, cx: &mut Context<'_, FtpTimer>) {
        self.last_command = cx.now();
        #[cfg(feature = "tls")]
        if self.implicit && !self.start_implicit_tls(cx) {
            tracing::warn!("ftp: implicit TLS could not start");
            return cx.abort();
        }
        let ip = cx
            .peer_addr()
            .map_or(IpAddr::from([0u8, 0, 0, 0]), |a| a.ip());
        if !self.shared.admit(ip) {
            tracing::info!(%ip, "ftp: connection limit reached");
            return self.close_with(cx, "Too many connections; try again later.");
        }
        self.counted = Some(ip);
        let banner = self.shared.config.banner.clone();
        self.reply(cx, Code::ServiceReady, &banner);
        let timeout = self.shared.config.idle_timeout;
        self.arm_idle(cx, timeout);
    }

    fn on_data(&mut self, cx: &mut Context<'_, FtpTimer>, input: &mut BytesMut) {
        self.in_on_data = true;
        while !self.closing && !self.output_wait && !self.switched && !input.is_empty() {
            if self.must_yield(cx) {
                self.yield_turn(cx);
                break;
            }
            let Some(event) = self.reader.next(input) else {
                break;
            };
            let line = match event {
                LineEvent::Line(l) => l,
                LineEvent::TooLong => {
                    cx.count(Counter::ParseError);
                    self.reply(cx, Code::SyntaxError, "Command line too long.");
                    continue;
                }
            };
            if self.busy() && !self.answers_while_busy(&line) {
                self.queue.push_back(line);
                if self.queue.len() >= self.shared.config.max_queued_commands {
                    self.update_read_pause(cx);
                    break;
                }
                continue;
            }
            self.handle_line(cx, &line);
        }
        // A passive listener opened by the last line of the input needs no yield.
        self.yield_now = false;
        self.in_on_data = false;
        self.switched = false;
        if self.closing {
            input.clear();
        }
    }

    fn on_drain(&mut self, cx: &mut Context<'_, FtpTimer>) {
        if !self.output_wait {
            return;
        }
        self.output_wait = false;
        if !self.busy() {
            self.drain_queue(cx);
        }
        self.update_read_pause(cx);
    }

    fn on_eof(&mut self, cx: &mut Context<'_, FtpTimer>) {
        // The client is gone: a transfer in progress is abandoned with the connection.
        cx.close();
    }

    fn on_timer(&mut self, cx: &mut Context<'_, FtpTimer>, timer: FtpTimer) {
        match timer {
            FtpTimer::Idle => self.on_idle_timer(cx),
            FtpTimer::Passive => self.on_passive_timeout(cx),
            FtpTimer::Data => self.on_data_timer(cx),
            FtpTimer::Login => self.on_login_delay_done(cx),
        }
    }

    fn on_child(&mut self, cx: &mut Context<'_, FtpTimer>, child: ConnId, event: ChildEvent<'_>) {
        self.data_event(cx, child, event);
        if !self.busy() {
            self.drain_queue(cx);
        }
    }

    fn on_shutdown(&mut self, cx: &mut Context<'_, FtpTimer>) {
        self.close_with(cx, "Server shutting down.");
    }

    fn on_close(&mut self, _cx: &mut Context<'_, FtpTimer>, _reason: &CloseReason) {
        if let Some(ip) = self.counted.take() {
            self.shared.release(ip);
        }
    }
}

impl FtpConn {
    /// ABOR, STAT, NOOP and QUIT are answered even while a transfer runs (RFC 959 §4.1.3).
    fn answers_while_busy(&self, line: &[u8]) -> bool {
        if self.login_delayed {
            return false;
        }
        match parse_command(line) {
            Ok(c) => {
                matches!(c.verb, Verb::Abor | Verb::Noop | Verb::Quit)
                    || (c.verb == Verb::Stat && c.arg.is_empty())
            }
            Err(_) => false,
        }
    }
}
