//! The connection's timers: one protocol deadline (header or body) kept in a field and a
//! wheel timer armed only when the deadline moves earlier, so that moving it later sets no
//! timer; the keep-alive wait between requests is the core's idle timeout (`on_idle`). A child module of [`super`].

use std::time::{Duration, Instant};

use netreactor::{Context, Counter, TimerId};

use super::{HttpConn, HttpTimer, State};

/// What the connection's deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Deadline {
    /// Nothing pending.
    None,
    /// The request head must be complete by then (408).
    Header,
    /// An idle keep-alive connection closes then.
    Idle,
    /// The body must make progress by then (408).
    Body,
}

/// The armed timer: its id and when it fires, in milliseconds since
/// [`Shared::epoch`](crate::http::config::Shared) (its tag is [`HttpConn::deadline_tag`]).
#[derive(Clone, Copy)]
pub(super) struct Armed {
    pub(super) id: TimerId,
    pub(super) at: u64,
}

/// `d` in whole milliseconds (saturating: a timeout of centuries is "never").
fn millis(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX.into()) as u64
}

impl HttpConn {
    /// Sets the deadline; arms a timer only when none is armed to fire by then.
    pub(super) fn set_deadline(
        &mut self,
        cx: &mut Context<'_, HttpTimer>,
        kind: Deadline,
        at: u64,
    ) {
        self.deadline = at;
        self.deadline_kind = kind;
        match self.armed {
            Some(a) if a.at <= at => {}
            _ => {
                if let Some(a) = self.armed.take() {
                    cx.cancel_timer(a.id);
                }
                self.arm_for(cx, at);
            }
        }
    }

    /// The reactor's clock now, in milliseconds since the server's epoch.
    pub(super) fn now_ms(&self, cx: &Context<'_, HttpTimer>) -> u64 {
        self.instant_ms(cx.now())
    }

    fn instant_ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.shared.epoch).as_millis() as u64
    }

    /// `d` from now, in milliseconds since the server's epoch.
    pub(super) fn ms_after(&self, cx: &Context<'_, HttpTimer>, d: Duration) -> u64 {
        self.now_ms(cx).saturating_add(millis(d))
    }

    pub(super) fn arm_for(&mut self, cx: &mut Context<'_, HttpTimer>, at: u64) {
        self.timer_seq = self.timer_seq.wrapping_add(1);
        let after = Duration::from_millis(at.saturating_sub(self.now_ms(cx)));
        self.armed = Some(Armed {
            id: cx.set_timer(after, self.deadline_tag()),
            at,
        });
    }

    /// The tag of the deadline timer armed last (a stale one that fires is told apart).
    pub(super) fn deadline_tag(&self) -> HttpTimer {
        HttpTimer::Deadline(self.timer_seq)
    }

    pub(super) fn clear_deadline(&mut self) {
        self.deadline_kind = Deadline::None;
    }

    /// The head timer runs from the first byte of a head (or the connection's opening).
    pub(super) fn start_header_timer(&mut self, cx: &mut Context<'_, HttpTimer>) {
        if self.deadline_kind != Deadline::Header {
            let now = cx.now();
            let started = self
                .ex
                .as_mut()
                .map_or(now, |ex| *ex.head_started.get_or_insert(now));
            let at = self
                .instant_ms(started)
                .saturating_add(millis(self.shared.config.header_timeout));
            self.set_deadline(cx, Deadline::Header, at);
        }
    }

    /// Idle from now on. The keep-alive wait is the core's idle timeout (set once, at
    /// open: [`Context::set_idle_timeout`]), which restarts on every read and write at the
    /// cost of a store and holds a 12-byte entry, where a timer of its own would hold a
    /// 48-byte one: so an idle keep-alive connection arms nothing here, and a request costs
    /// no timer operation either.
    pub(super) fn start_idle_timer(&mut self, cx: &mut Context<'_, HttpTimer>) {
        self.deadline_kind = Deadline::Idle;
        if self.served == 1 {
            // From the opening's header timeout to the keep-alive timeout, once (the same
            // timeout again is a compare in the core; a longer one keeps the entry).
            cx.set_idle_timeout(Some(self.shared.config.keep_alive_timeout));
        }
    }

    pub(super) fn cancel_all_timers(&mut self, cx: &mut Context<'_, HttpTimer>) {
        self.clear_deadline();
        if let Some(a) = self.armed.take() {
            cx.cancel_timer(a.id);
        }
        if let Some(run) = self.cgi.as_mut() {
            if let Some(t) = run.timer.take() {
                cx.cancel_timer(t);
            }
        }
    }

    /// The deadline timer fired: act if the deadline has passed, else re-arm for the rest.
    pub(super) fn deadline_fired(&mut self, cx: &mut Context<'_, HttpTimer>) {
        self.armed = None;
        if matches!(self.deadline_kind, Deadline::None | Deadline::Idle) {
            return; // the idle wait is the core's idle timeout (`on_idle`)
        }
        if self.now_ms(cx) < self.deadline {
            let at = self.deadline;
            self.arm_for(cx, at);
            return;
        }
        let kind = self.deadline_kind;
        self.clear_deadline();
        match kind {
            Deadline::Header => {
                cx.count(Counter::Timeout);
                tracing::debug!(conn = %cx.id(), "http: header timeout");
                self.fail(cx, 408);
            }
            Deadline::Body => {
                cx.count(Counter::Timeout);
                tracing::debug!(conn = %cx.id(), "http: body timeout");
                self.state = State::Head;
                self.fail(cx, 408);
            }
            Deadline::None | Deadline::Idle => {}
        }
    }
}
