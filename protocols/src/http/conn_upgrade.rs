//! The upgrade: after a `101` head the connection is handed to the protocol the handler
//! returned ([`Context::switch_to_boxed`]). A child module of [`super`].

use netreactor::{BoxedProtocol, Context};

use super::super::handler::Response;
use super::{HttpConn, HttpTimer, State};

impl HttpConn {
    /// Writes the `101` head, gives back what the exchange held and switches the connection
    /// to `proto`: the core runs its `on_open` when this callback returns, then hands it
    /// whatever input followed the request.
    pub(super) fn take_over(
        &mut self,
        cx: &mut Context<'_, HttpTimer>,
        resp: Response,
        proto: BoxedProtocol,
    ) {
        self.write_head(&resp, resp.status, cx.now());
        self.observe(cx, resp.status, Some(0));
        self.out().extend_from_slice(b"\r\n");
        self.flush_out(cx);
        if let Some(ex) = self.ex.take() {
            // The new protocol has no use for it.
            self.shared.spares.give(ex);
        }
        self.cancel_all_timers(cx);
        self.state = State::Switched;
        // The keep-alive timeout is HTTP's: the new protocol sets its own in `on_open`.
        cx.set_idle_timeout(None);
        cx.switch_to_boxed(proto);
    }
}
