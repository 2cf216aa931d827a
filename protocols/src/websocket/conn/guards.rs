//! The connection's guards: the idle check, the deadline of a message being assembled,
//! inflation in slices, and compression state given back between messages.

use std::cell::RefCell;
use std::collections::HashSet;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use netreactor::{ConnId, Context, Counter};

use super::{flag, Handler, State, WsConn, WsTimer, MESSAGE_TIMER, YIELD_TIMER};
use crate::websocket::encode::close_payload;
use crate::websocket::parse::{Opcode, Role};

thread_local! {
    /// Connections of this thread part-way through sending a message in fragments: a frame
    /// broadcast to them now would land between the fragments.
    static FRAGMENTING: RefCell<HashSet<ConnId>> = RefCell::new(HashSet::new());
}

/// Records whether `id` is part-way through a fragmented message.
pub(super) fn set_fragmenting(id: ConnId, on: bool) {
    FRAGMENTING.with(|f| {
        let mut f = f.borrow_mut();
        if on {
            f.insert(id);
        } else if !f.is_empty() {
            f.remove(&id);
        }
    });
}

/// True while `id` is part-way through a fragmented message.
pub(super) fn is_fragmenting(id: ConnId) -> bool {
    FRAGMENTING.with(|f| {
        let f = f.borrow();
        !f.is_empty() && f.contains(&id)
    })
}

impl<H: Handler> WsConn<H> {
    /// Starts the idle timeout (server connections that have one): the core's, for half of
    /// it, which every read and every write that makes progress restarts at the cost of a
    /// store (a 12-byte idle-wheel entry, where a timer of its own would hold a 48-byte one).
    /// A server connection without one has none (not the handshake's, nor HTTP's keep-alive
    /// wait of a connection upgraded from it).
    pub(super) fn start_idle(&mut self, cx: &mut Context<'_, WsTimer>) {
        if self.link.idle_secs > 0 {
            let half = Duration::from_millis(u64::from(self.link.idle_secs) * 500);
            cx.set_idle_timeout(Some(half));
        } else if self.link.role == Role::Server {
            cx.set_idle_timeout(None);
        }
    }

    /// Half the idle timeout went by with nothing read and nothing written: the first time
    /// a ping asks for a sign of life (a live peer's pong is traffic) and the compression
    /// state goes back; the second time, with no byte from the peer since, the connection is
    /// closed with 1001. The handshake and the close handshake have deadlines of their own.
    pub(super) fn idle_check(&mut self, cx: &mut Context<'_, WsTimer>) {
        if self.link.state == State::Connecting && self.link.handshake().is_some() {
            // A server's handshake: silent for its whole timeout.
            return self.handshake_timed_out(cx);
        }
        if self.link.state != State::Open || !self.in_frames() {
            return;
        }
        if self.link.flags & flag::PINGED != 0 {
            // Counted here: the close handshake leaves the connection open for now, so the
            // core does not count it.
            cx.count(Counter::Timeout);
            self.link
                .send_close(cx, close_payload(1001, "idle timeout"), State::Closing);
            self.tell_close(cx, 1001, "idle timeout");
            return;
        }
        if !self.reader.in_message() {
            self.reader.release_compression();
            self.link.writer.release_compression(true);
        }
        self.link.flags |= flag::PINGED;
        self.link.send(cx, Opcode::Ping, Bytes::new());
    }

    /// Arms the deadline of a message that did not complete in one read; cancels it once
    /// the message is complete.
    pub(super) fn watch_message(&mut self, cx: &mut Context<'_, WsTimer>) {
        // Only while open: once closing, the timer is the close handshake's.
        if self.in_frames() && self.link.state == State::Open {
            if !self.reader.in_message() {
                self.link.cancel_timer(cx);
            } else if self.link.timer.is_none() && self.link.message_secs > 0 {
                let after = Duration::from_secs(self.link.message_secs.into());
                self.link.timer = Some(cx.set_timer(after, MESSAGE_TIMER));
            }
        }
    }

    /// The end of a callback: compression state of a direction without context takeover
    /// goes back between messages.
    pub(super) fn settle(&mut self, cx: &mut Context<'_, WsTimer>) {
        self.watch_message(cx);
        self.schedule_slices(cx);
        if !self.reader.in_message() {
            self.reader.release_compression();
        }
        self.link.writer.release_compression(false);
    }

    /// True while a message is part-way through inflation or compression.
    fn has_slices_left(&self) -> bool {
        self.reader.is_yielding() || self.link.writer.has_backlog()
    }

    /// A message is part-way through inflation (or compression): reading pauses (the input
    /// stays unconsumed) and a zero-delay timer continues in a later turn, after the other
    /// ready connections. Compression waits while the write queue is backpressured
    /// ([`Protocol::on_backpressure`](netreactor::Protocol::on_backpressure) schedules it
    /// again).
    pub(super) fn schedule_slices(&mut self, cx: &mut Context<'_, WsTimer>) {
        if self.link.state == State::Closed || !self.has_slices_left() {
            return;
        }
        cx.pause_read();
        let writer_waits = !self.reader.is_yielding() && cx.is_backpressured();
        if self.link.flags & flag::YIELD_ARMED == 0 && !writer_waits {
            self.link.flags |= flag::YIELD_ARMED;
            cx.set_timer(Duration::ZERO, YIELD_TIMER);
        }
    }

    /// The next slice of the message being inflated and of the one being compressed;
    /// reading resumes (and input that waited is delivered again) once both are through.
    pub(super) fn continue_message(&mut self, cx: &mut Context<'_, WsTimer>) {
        self.link.flags &= !flag::YIELD_ARMED;
        if self.link.state == State::Closed || !self.in_frames() {
            return;
        }
        if self.reader.is_yielding() {
            self.reader.new_turn();
            self.read_frames(cx, &mut BytesMut::new());
        }
        if self.link.state == State::Open
            && self.link.writer.has_backlog()
            && !cx.is_backpressured()
        {
            let role = self.link.role;
            self.link.writer.pump(role, |b| cx.write(b));
            if !self.link.writer.has_backlog() {
                set_fragmenting(cx.id(), false);
            }
        }
        if !self.has_slices_left() && self.link.state != State::Closed {
            cx.resume_read();
        }
    }
}
