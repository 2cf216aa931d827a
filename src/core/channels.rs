//! Channel slots: the reactor side of [`Sender`]s, run when their senders scheduled them.

use std::panic::{self, AssertUnwindSafe};

use super::{ChannelSlot, Core, Kind};
use crate::channel::{new_channel, AnyChannel, MessageHandler, Sender};
use crate::context::FdContext;

impl Core {
    /// A new channel whose messages go to `handler`; at most `cap` wait at once.
    pub(crate) fn add_channel<M: 'static, H: MessageHandler<M>>(
        &mut self,
        cap: usize,
        handler: H,
    ) -> Sender<M> {
        let id = self.insert(Kind::Channel(ChannelSlot { handler: None }));
        let (sender, runner) = new_channel(id.slot, cap, self.notify.clone(), handler);
        if let Some(Kind::Channel(ch)) = self.slots.get_mut(id.slot()).map(|s| &mut s.kind) {
            ch.handler = Some(runner);
        }
        sender
    }

    /// Runs `f` on channel `slot`'s handler. A panic outside a message (in a timer) closes
    /// the channel; a panicking message is dropped by the runner itself.
    pub(super) fn with_channel<F>(&mut self, slot: usize, f: F)
    where
        F: FnOnce(&mut dyn AnyChannel, &mut FdContext<'_>),
    {
        let Some(Kind::Channel(ch)) = self.slots.get_mut(slot).map(|s| &mut s.kind) else {
            return;
        };
        let Some(mut handler) = ch.handler.take() else {
            return;
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            f(handler.as_mut(), &mut FdContext { core: self, slot });
        }));
        if let Some(Kind::Channel(ch)) = self.slots.get_mut(slot).map(|s| &mut s.kind) {
            ch.handler = Some(handler);
        } else {
            handler.close(); // closed from inside its own callback
        }
        if result.is_err() {
            self.stats.panics += 1;
            tracing::error!(slot, "channel handler panicked; closing it");
            self.request_close_slot(slot);
        }
        self.process_dirty();
    }

    /// Hands waiting messages to the channels their senders scheduled.
    pub(crate) fn run_channels(&mut self) {
        if !self.notify.is_pending() {
            return;
        }
        let mut due = std::mem::take(&mut self.channels_due);
        self.notify.take(&mut due);
        for slot in due.drain(..) {
            self.with_channel(slot as usize, |c, cx| c.run(cx));
        }
        self.channels_due = due;
    }

    /// Closes every channel: their senders get their messages back from now on.
    pub(crate) fn close_channels(&mut self) {
        for (_, s) in self.slots.iter_mut() {
            if let Kind::Channel(ch) = &mut s.kind {
                if let Some(h) = ch.handler.as_mut() {
                    h.close();
                }
            }
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.close_channels();
    }
}
