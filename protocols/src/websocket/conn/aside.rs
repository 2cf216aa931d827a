//! What a connection needs only at some moments (its opening handshake, a close its
//! application started), kept in one boxed field of the connection.

use std::rc::Rc;
use std::time::Instant;

use super::{ClientConfig, Link, ServerConfig};

/// What a connection needs only at some moments, in one boxed field of [`Link`]: 8 bytes
/// of every connection instead of 16 for two, and a small box for the many handshakes in
/// flight at once (the client's request, the large part, has a box of its own).
#[derive(Debug)]
pub(super) enum Aside {
    /// The opening handshake in progress (after it, frames; or the refusal being flushed,
    /// [`flag::REJECTED`](super::flag::REJECTED)).
    Handshake(Handshake),
    /// Code and reason of a close the application started, kept from
    /// [`Ws::close`](super::Ws::close) to the end of the callback for
    /// [`Handler::on_close`](super::Handler::on_close).
    LocalClose(u16, String),
}

/// The opening handshake in progress.
#[derive(Debug)]
pub(super) enum Handshake {
    /// Reading the client's HTTP upgrade request (standalone server), until `deadline`:
    /// checked at each read, and the core's idle timeout catches a silent peer (no timer of
    /// the wheel's: a burst of handshakes would leave its storage behind).
    Server {
        config: Rc<ServerConfig>,
        deadline: Instant,
    },
    /// Waiting for the server's `101` (client).
    Client(Box<ClientRequest>),
}

#[derive(Debug)]
pub(super) struct ClientRequest {
    pub(super) config: ClientConfig,
    pub(super) key: String,
}

impl Link {
    /// The opening handshake in progress.
    pub(super) fn handshake(&self) -> Option<&Handshake> {
        match self.aside.as_deref() {
            Some(Aside::Handshake(h)) => Some(h),
            _ => None,
        }
    }

    pub(super) fn handshake_mut(&mut self) -> Option<&mut Handshake> {
        match self.aside.as_deref_mut() {
            Some(Aside::Handshake(h)) => Some(h),
            _ => None,
        }
    }

    /// The opening handshake is over (accepted, refused or timed out).
    pub(super) fn end_handshake(&mut self) {
        if self.handshake().is_some() {
            self.aside = None;
        }
    }

    /// The code and reason of a close the application started in this callback.
    pub(super) fn take_local_close(&mut self) -> Option<(u16, String)> {
        let Some(Aside::LocalClose(code, reason)) = self.aside.as_deref_mut() else {
            return None;
        };
        let taken = (*code, std::mem::take(reason));
        self.aside = None;
        Some(taken)
    }
}
