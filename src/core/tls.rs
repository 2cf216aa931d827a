//! TLS on connections: starting a session (at accept, at connect, or in place for
//! STARTTLS), reading through it, its handshake deadline, and the ways it fails.

use std::sync::Arc;

use bytes::Bytes;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};

use super::{Core, Kind, Slot, TimerKind};
use crate::boxed::RawTimer;
use crate::buffer::WriteQueue;
use crate::connection::{flag, Io, Owner};
use crate::pool::InputBuf;
use crate::tls::engine::Session;
use crate::tls::session::{Source, TlsIo, TlsRead};
use crate::{CloseReason, ConnId};

/// What reading a TLS connection gave, for the read loop.
pub(super) enum TlsStep {
    /// Plaintext appended; `drained`: no new data until the next edge.
    Data {
        n: usize,
        drained: bool,
    },
    Eof,
    WouldBlock,
    Closed,
}

/// Plaintext a client sends before it gives up on a plaintext reply, read and dropped so the
/// close does not turn into a reset that loses the reply.
const PLAINTEXT_DISCARD: usize = 64 * 1024;

impl Core {
    /// Wraps connection `id`'s transport in a TLS session. What is queued now goes out in
    /// plaintext first; input left unconsumed by the running callback is ciphertext.
    pub(crate) fn start_tls(
        &mut self,
        id: ConnId,
        session: Session,
        plaintext_reply: Option<Bytes>,
    ) -> bool {
        self.start_tls_with(id, session, plaintext_reply, true)
    }

    /// [`start_tls`](Self::start_tls); `in_place`: called from a callback (STARTTLS), whose
    /// leftover input is ciphertext.
    pub(crate) fn start_tls_with(
        &mut self,
        id: ConnId,
        session: Session,
        plaintext_reply: Option<Bytes>,
        in_place: bool,
    ) -> bool {
        let timeout = self.config.tls_handshake_timeout;
        let Some(c) = self.conn_mut(id) else {
            return false;
        };
        if matches!(c.io, Io::Tls(_)) {
            return false;
        }
        let io = std::mem::replace(&mut c.io, Io::Virtual(Box::default()));
        let preamble = std::mem::take(&mut c.out);
        let mut tls = TlsIo::new(io, session, preamble);
        tls.set_plaintext_reply(plaintext_reply);
        c.io = Io::Tls(Box::new(tls));
        if in_place {
            c.flags |= flag::TLS_FRESH;
        }
        self.insert_timer(
            id.slot(),
            timeout,
            TimerKind::TlsHandshake,
            RawTimer::new(()),
        );
        self.mark_dirty(id.slot());
        true
    }

    /// STARTTLS as a server on `id` with `config`.
    pub(crate) fn start_tls_server(&mut self, id: ConnId, config: Arc<ServerConfig>) -> bool {
        match Session::server(config) {
            Ok(s) => self.start_tls(id, s, None),
            Err(e) => {
                tracing::warn!(conn = %id, error = %e, "TLS server session");
                false
            }
        }
    }

    /// STARTTLS as a client of `name` on `id` with `config`.
    pub(crate) fn start_tls_client(
        &mut self,
        id: ConnId,
        name: ServerName<'static>,
        config: Arc<ClientConfig>,
    ) -> bool {
        match Session::client(config, name) {
            Ok(s) => self.start_tls(id, s, None),
            Err(e) => {
                tracing::warn!(conn = %id, error = %e, "TLS client session");
                false
            }
        }
    }

    /// After a callback: input a protocol left when it switched to TLS is ciphertext. Fed to
    /// the session; the plaintext it yields goes back into `buf`.
    pub(super) fn tls_take_leftover(&mut self, id: ConnId, buf: &mut InputBuf) {
        let Some(c) = self.conn_mut(id) else { return };
        if !c.has(flag::TLS_FRESH) {
            return;
        }
        c.flags &= !flag::TLS_FRESH;
        if buf.is_empty() {
            return;
        }
        let cipher = buf.split().freeze();
        self.tls_ingest(id, &cipher, buf);
    }

    /// Feeds ciphertext that did not come from the socket (the harness, STARTTLS leftovers)
    /// to connection `id`'s session; plaintext goes to `buf`.
    pub(crate) fn tls_ingest(&mut self, id: ConnId, mut cipher: &[u8], buf: &mut InputBuf) {
        loop {
            let limit = self.config.tls_handshake_limit;
            let max = self.config.max_input;
            let Some(c) = self.conn_mut(id) else { return };
            let Io::Tls(t) = &mut c.io else { return };
            let mut src = Source::Bytes(cipher);
            let want = max.saturating_sub(buf.len()).max(1);
            let res = t.read(&mut src, buf, want, limit);
            let Source::Bytes(rest) = src else {
                unreachable!()
            };
            cipher = rest;
            match self.tls_outcome(id, res) {
                TlsStep::Data { .. } => {}
                // After close_notify: the socket's own EOF tells the protocol.
                TlsStep::Eof | TlsStep::WouldBlock | TlsStep::Closed => return,
            }
        }
    }

    /// Reads connection `slot` through its TLS session into `buf` (up to `want` bytes).
    pub(super) fn tls_read(&mut self, id: ConnId, buf: &mut InputBuf, want: usize) -> TlsStep {
        let limit = self.config.tls_handshake_limit;
        let Some(c) = self.conn_mut(id) else {
            return TlsStep::Closed;
        };
        let Io::Tls(t) = &mut c.io else {
            return TlsStep::Closed;
        };
        let fd = t.inner.raw_fd().expect("a real descriptor");
        let res = t.read(&mut Source::Fd(fd), buf, want, limit);
        self.tls_outcome(id, res)
    }

    /// Moves the session to a fresh allocation once the handshake's transient blocks are
    /// freed: it then fills one of the holes they left instead of staying among them, and
    /// its first block goes to the next connection's start.
    fn tls_relocate(&mut self, id: ConnId) {
        let Some(c) = self.conn_mut(id) else { return };
        if !matches!(c.io, Io::Tls(_)) {
            return;
        }
        let Io::Tls(t) = std::mem::replace(&mut c.io, Io::Virtual(Box::default())) else {
            unreachable!("checked above")
        };
        c.io = Io::Tls(Box::new(*t));
    }

    /// Applies what a TLS read gave: the handshake's replies are flushed, failures close.
    fn tls_outcome(&mut self, id: ConnId, res: TlsRead) -> TlsStep {
        // A handshake message or an alert may wait to be written, plaintext queued before
        // the handshake finished may now go.
        self.mark_dirty(id.slot());
        // Once the handshake is over, its state and its deadline go: an idle connection
        // keeps neither (a timer entry per connection, for 10 s, otherwise).
        let ended = match self.conn_mut(id).map(|c| &mut c.io) {
            Some(Io::Tls(t)) => t.end_start(),
            _ => false,
        };
        if ended {
            self.cancel_kind(id.slot(), TimerKind::TlsHandshake, true);
            self.tls_relocate(id);
        }
        match res {
            TlsRead::Data(n) => {
                let drained = match self.conn_mut(id).map(|c| &mut c.io) {
                    Some(Io::Tls(t)) => t.drained(),
                    _ => true,
                };
                TlsStep::Data { n, drained }
            }
            TlsRead::WouldBlock => TlsStep::WouldBlock,
            // Truncated or not: `deliver_eof` asks the session.
            TlsRead::Eof => TlsStep::Eof,
            TlsRead::Failed(why) => {
                tracing::debug!(conn = %id, error = %why, "TLS failed");
                self.stats.parse_errors += 1;
                self.tls_send_and_close(id, None, CloseReason::Tls(why));
                TlsStep::Closed
            }
            TlsRead::HandshakeTooLarge => {
                tracing::debug!(conn = %id, "TLS handshake too large");
                self.tls_send_and_close(id, None, CloseReason::TlsHandshake);
                TlsStep::Closed
            }
            TlsRead::Plaintext => {
                tracing::debug!(conn = %id, "plaintext on a TLS connection");
                let reply = match self.conn_mut(id).map(|c| &mut c.io) {
                    Some(Io::Tls(t)) => t.take_plaintext_reply(),
                    _ => None,
                };
                if let (Some(fd), true) =
                    (self.conn(id).and_then(|c| c.io.raw_fd()), reply.is_some())
                {
                    discard_input(fd);
                }
                let reason = CloseReason::Tls("plaintext sent to a TLS port".into());
                self.tls_send_and_close(id, reply, reason);
                TlsStep::Closed
            }
        }
    }

    /// Writes what the session holds (an alert) or `plain` (a plaintext reply) as far as the
    /// socket takes it now, and closes.
    fn tls_send_and_close(&mut self, id: ConnId, plain: Option<Bytes>, reason: CloseReason) {
        let portable_io = self.config.portable_io;
        if let Some(Slot {
            kind: Kind::Conn(c),
            ..
        }) = self.slots.get_mut(id.slot())
        {
            if let Io::Tls(t) = &mut c.io {
                if let Some(reply) = plain {
                    t.push_plaintext(reply);
                }
                let _ = t.flush(&mut WriteQueue::default(), portable_io, false);
            }
        }
        self.close_now(id.slot(), reason);
    }

    /// The handshake deadline of `slot` passed.
    pub(super) fn tls_handshake_check(&mut self, slot: usize) {
        let handshaking = matches!(
            self.slots.get(slot).map(|s| &s.kind),
            Some(Kind::Conn(c)) if matches!(&c.io, Io::Tls(t) if t.session.is_handshaking())
        );
        if handshaking {
            self.stats.timeouts += 1;
            tracing::debug!(slot, "TLS handshake timed out");
            self.close_now(slot, CloseReason::TlsHandshake);
        }
    }

    /// A child whose handshake has just finished: its parent hears
    /// [`ChildEvent::TlsReady`](crate::ChildEvent::TlsReady), once.
    pub(super) fn tls_ready_notify(&mut self, id: ConnId) {
        let ready = match self.conn_mut(id) {
            Some(c) if matches!(c.owner, Owner::Child(_)) => match &mut c.io {
                Io::Tls(t) => t.take_ready(),
                _ => false,
            },
            _ => false,
        };
        if let (true, Some(Some(parent))) = (ready, self.owner_of(id)) {
            self.notify_parent(id, parent, crate::ChildEvent::TlsReady);
        }
    }

    /// Listener `id` hands its connections to TLS.
    pub(crate) fn set_listener_tls(&mut self, id: ConnId, tls: crate::tls::TlsAcceptor) {
        if let Some(Slot {
            kind: Kind::Listener(l),
            ..
        }) = self.slots.get_mut(id.slot())
        {
            l.tls = Some(tls);
        }
    }

    /// The TLS state of `id`, for [`Context::tls`](crate::Context::tls).
    pub(crate) fn tls_info(&self, id: ConnId) -> Option<crate::tls::TlsInfo<'_>> {
        match self.conn(id).map(|c| &c.io) {
            Some(Io::Tls(t)) => Some(crate::tls::TlsInfo {
                conn: &t.session,
                peer_closed: t.peer_closed(),
            }),
            _ => None,
        }
    }
}

/// Reads and drops what a plaintext peer sent (up to a bound), without blocking.
fn discard_input(fd: std::os::fd::RawFd) {
    let mut scratch = [0u8; 4096];
    let mut total = 0;
    while total < PLAINTEXT_DISCARD {
        match nix::unistd::read(fd, &mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}
