//! Lingering close: a connection that closes while its peer may still be sending keeps its
//! socket a while, write half shut, reading and discarding until the peer's EOF.
//!
//! Closing a TCP socket with unread input makes the kernel answer with a reset, and so does
//! input that arrives after the close. A client still sending a request body (Python's
//! `http.client` sends it all before it reads) then fails in its send with
//! `ECONNRESET` and never reads the response the server wrote, such as the 413 that explains
//! why. So a close after a flush lingers when there is sign of more input: input the protocol
//! left unconsumed, bytes waiting in the socket (`FIONREAD`), or the protocol's word
//! ([`Context::close_lingering`](crate::Context::close_lingering)).
//!
//! For the protocol the connection is closed: its `on_close` runs, its id is stale, its
//! timers are gone. What lingers is the bare socket in a slot of its own kind, counted against
//! the connection caps (and its source's) until it goes, so lingering sockets cannot be used
//! to pass them. Two limits bound it: [`Config::lingering_timeout`](crate::Config::lingering_timeout)
//! without input, [`Config::lingering_time`](crate::Config::lingering_time) in all. Reads take
//! the same per-wake budget as a connection's.

use std::io::{self, Read};
use std::time::Duration;

use super::{Core, Kind, Slot, TimerKind, NIL};
use crate::boxed::RawTimer;
use crate::connection::{flag, Conn, Io};

/// Size of the buffer lingering reads discard into (one per reactor, allocated on first use).
const DISCARD_BUFFER: usize = 64 * 1024;

/// A closed connection's socket, lingering.
pub(crate) struct Lingering {
    /// `Io::Tcp` or `Io::Unix`.
    io: Io,
    /// Where it is counted against the per-source cap (`NIL`: it is not).
    origin: u32,
    /// Its listener's counters (for the bytes it reads).
    group: u16,
    /// When it began to linger, and its last read with data, in ms since the start.
    since: u32,
    last_read: u32,
}

/// Whether connection `c`, closing now that its output is flushed, should linger: a TCP or
/// Unix stream whose peer has not ended its input, closed in the ordinary way (not aborted,
/// timed out, over its output limit or refused), with sign that the peer is still sending.
pub(super) fn wants_linger(c: &Conn) -> bool {
    let ended = flag::EOF
        | flag::CLOSE_NOW
        | flag::OUTPUT_OVER
        | flag::IDLE_EXPIRED
        | flag::REFUSED
        | flag::CONNECTING;
    if c.has(ended) || !matches!(c.io.base(), Io::Tcp(_) | Io::Unix(_)) {
        return false;
    }
    if c.has(flag::LINGER_ASKED) || c.input.as_ref().is_some_and(|b| !b.is_empty()) {
        return true;
    }
    c.io.raw_fd().is_some_and(|fd| unread_bytes(fd) > 0)
}

/// Bytes waiting to be read on `fd` (`FIONREAD`); 0 when the kernel cannot say.
fn unread_bytes(fd: std::os::fd::RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one `int` through the pointer, which points to `n`, a live
    // local of that type; `fd` is the connection's descriptor, open for the call.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD as _, &mut n as *mut libc::c_int) };
    if rc == 0 {
        n.max(0) as usize
    } else {
        0
    }
}

impl Core {
    /// Connection `slot` (just taken out of the table) lingers: its transport `io` moves to a
    /// lingering slot, the same one when the table gives it back (it does: nothing else was
    /// inserted since), so its registration stays as it is.
    pub(super) fn start_linger(&mut self, slot: usize, io: Io, origin: u32, group: u16) {
        let io = match io {
            #[cfg(feature = "tls")]
            Io::Tls(t) => t.inner,
            io => io,
        };
        // The response is out (and a TLS session's close_notify): the peer reads its EOF.
        let _ = match &io {
            Io::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Io::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            _ => Ok(()),
        };
        let now = self.now_ms() as u32;
        let mut lingering = Lingering {
            io,
            origin,
            group,
            since: now,
            last_read: now,
        };
        let next = self.slots.vacant_key();
        if next != slot {
            if let Some(reg) = &self.registry {
                let (token, interest) = (mio::Token(next), mio::Interest::READABLE);
                let _ = match &mut lingering.io {
                    Io::Tcp(s) => reg.reregister(s, token, interest),
                    Io::Unix(s) => reg.reregister(s, token, interest),
                    _ => Ok(()),
                };
            }
        }
        let id = self.insert(Kind::Linger(lingering));
        self.stats.lingering += 1;
        self.stats.lingered += 1;
        self.groups[group as usize].lingering += 1;
        let first = self
            .config
            .lingering_timeout
            .min(self.config.lingering_time);
        self.insert_timer(id.slot(), first, TimerKind::Linger, RawTimer::new(()));
        // What arrived while the connection was closing raised its edge already: read now.
        self.ready.push_back((id.slot, id.gen));
    }

    /// Reads and discards what lingering socket `slot` holds, up to the read budget; ends
    /// the lingering at the peer's EOF or an error.
    pub(super) fn linger_read(&mut self, slot: usize) {
        let mut budget = self.config.read_budget;
        let mut scratch = std::mem::take(&mut self.discard);
        scratch.resize(DISCARD_BUFFER, 0);
        let now = self.now_ms() as u32;
        while let Some(Slot {
            gen,
            kind: Kind::Linger(l),
            ..
        }) = self.slots.get_mut(slot)
        {
            let gen = *gen;
            let res = match &l.io {
                Io::Tcp(s) => (&*s).read(&mut scratch),
                Io::Unix(s) => (&*s).read(&mut scratch),
                _ => Ok(0),
            };
            match res {
                Ok(0) => {
                    self.end_linger(slot);
                    break;
                }
                Ok(n) => {
                    l.last_read = now;
                    let group = l.group as usize;
                    self.stats.bytes_in += n as u64;
                    self.groups[group].bytes_in += n as u64;
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        self.ready.push_back((slot as u32, gen));
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.end_linger(slot);
                    break;
                }
            }
        }
        self.discard = scratch;
    }

    /// The lingering timer of `slot` came up: ends the lingering when the peer sent nothing
    /// for `lingering_timeout` or it lasted `lingering_time`; otherwise waits for the nearer.
    pub(super) fn linger_check(&mut self, slot: usize) {
        let now = self.now_ms() as u32;
        let (quiet_max, total_max) = (self.config.lingering_timeout, self.config.lingering_time);
        let Some(Slot {
            kind: Kind::Linger(l),
            ..
        }) = self.slots.get(slot)
        else {
            return;
        };
        let quiet = Duration::from_millis(u64::from(now.wrapping_sub(l.last_read)));
        let total = Duration::from_millis(u64::from(now.wrapping_sub(l.since)));
        if quiet >= quiet_max || total >= total_max {
            tracing::debug!(slot, ?quiet, ?total, "lingering close: time is up");
            self.end_linger(slot);
            return;
        }
        let next = (quiet_max - quiet).min(total_max - total);
        self.insert_timer(slot, next, TimerKind::Linger, RawTimer::new(()));
    }

    /// Closes lingering socket `slot`: frees its slot and its place under the caps.
    pub(super) fn end_linger(&mut self, slot: usize) {
        if !matches!(self.slots.get(slot).map(|s| &s.kind), Some(Kind::Linger(_))) {
            return;
        }
        self.cancel_owner_timers(slot);
        let Kind::Linger(l) = self.slots.remove(slot).kind else {
            unreachable!()
        };
        self.conns -= 1;
        self.stats.open = self.conns as u64;
        self.stats.lingering -= 1;
        let group = &mut self.groups[l.group as usize];
        group.lingering = group.lingering.saturating_sub(1);
        if l.origin != NIL {
            self.release(l.origin);
        }
        drop(l);
        self.resume_waiting_listeners();
    }
}
