//! Channels into a reactor: other threads hand messages (work, bytes, replies) to a handler
//! that runs on the reactor's thread.
//!
//! A [`Sender`] pushes onto a queue under a mutex; the first message of a burst also puts the
//! channel on the reactor's ready list and wakes its poll (`mio::Waker`), so a burst of N
//! messages costs one wake, not N. The reactor takes the whole queue at once (swapping it with
//! an empty one) and hands the messages to the [`MessageHandler`] in order, at most
//! [`BATCH`] per turn of the loop so a flood on one channel cannot starve the connections.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::context::FdContext;

/// Messages handed to a handler per turn of the loop before other work gets its turn.
pub const BATCH: usize = 1024;

/// Runs on the reactor's thread for every message sent through a [`Sender`] made by
/// [`Reactor::channel`](crate::Reactor::channel).
///
/// Closures `FnMut(&mut FdContext<'_>, M)` are handlers too.
pub trait MessageHandler<M>: 'static {
    /// A message arrived. Messages from one sender arrive in the order they were sent.
    fn on_message(&mut self, cx: &mut FdContext<'_>, msg: M);

    /// A timer set with [`FdContext::set_timer`] fired.
    fn on_timer(&mut self, cx: &mut FdContext<'_>, tag: u64) {
        let _ = (cx, tag);
    }
}

impl<M, F> MessageHandler<M> for F
where
    F: FnMut(&mut FdContext<'_>, M) + 'static,
{
    fn on_message(&mut self, cx: &mut FdContext<'_>, msg: M) {
        self(cx, msg)
    }
}

/// The sending half of a channel into a reactor: `Clone + Send + Sync` (for `M: Send`).
///
/// ```
/// use netreactor::{FdContext, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let handle = reactor.handle();
/// let sender = reactor.channel(move |_cx: &mut FdContext<'_>, n: u64| {
///     if n == 3 {
///         handle.shutdown(); // the third message ends the demo
///     }
/// });
/// let worker = std::thread::spawn(move || {
///     for n in 1..=3 {
///         sender.send(n).unwrap();
///     }
/// });
/// reactor.run()?;
/// worker.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Sender<M> {
    chan: Arc<Chan<M>>,
}

impl<M> Clone for Sender<M> {
    fn clone(&self) -> Sender<M> {
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<M> fmt::Debug for Sender<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("slot", &self.chan.slot)
            .finish()
    }
}

impl<M> Sender<M> {
    /// Queues `msg` for the reactor's thread. Fails, giving the message back, once the
    /// reactor has stopped (or the channel was closed), or when a bounded channel is full.
    pub fn send(&self, msg: M) -> Result<(), SendError<M>> {
        let mut st = self.chan.lock();
        if st.closed {
            return Err(SendError { msg, full: false });
        }
        if st.queue.len() >= self.chan.cap {
            return Err(SendError { msg, full: true });
        }
        st.queue.push_back(msg);
        if st.scheduled {
            return Ok(());
        }
        st.scheduled = true;
        drop(st);
        self.chan.notify.schedule(self.chan.slot, true);
        Ok(())
    }
}

/// A message [`Sender::send`] could not queue, given back.
pub struct SendError<M> {
    msg: M,
    full: bool,
}

impl<M> SendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        self.msg
    }

    /// True when a bounded channel was full (the reactor is still running).
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// True when the reactor has stopped or closed the channel.
    pub fn is_disconnected(&self) -> bool {
        !self.full
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("full", &self.full)
            .finish()
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.full {
            "the channel is full"
        } else {
            "the reactor has stopped"
        })
    }
}

impl<M> std::error::Error for SendError<M> {}

/// The reactor's ready list of channels, shared with every sender.
pub(crate) struct Notify {
    ready: Mutex<Vec<u32>>,
    pending: AtomicBool,
    waker: Option<Arc<mio::Waker>>,
}

impl Notify {
    pub(crate) fn new(waker: Option<Arc<mio::Waker>>) -> Notify {
        Notify {
            ready: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            waker,
        }
    }

    fn schedule(&self, slot: u32, wake: bool) {
        lock(&self.ready).push(slot);
        self.pending.store(true, Ordering::Release);
        if wake {
            if let Some(w) = &self.waker {
                let _ = w.wake();
            }
        }
    }

    /// True when some channel has messages waiting.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// The channels to run now.
    pub(crate) fn take(&self, into: &mut Vec<u32>) {
        let mut ready = lock(&self.ready);
        self.pending.store(false, Ordering::Release);
        into.append(&mut ready);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A sender that panicked mid-push leaves a consistent queue: go on with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct State<M> {
    queue: VecDeque<M>,
    /// The channel is on the ready list (or being run and will put itself back).
    scheduled: bool,
    closed: bool,
}

struct Chan<M> {
    state: Mutex<State<M>>,
    cap: usize,
    slot: u32,
    notify: Arc<Notify>,
}

impl<M> Chan<M> {
    fn lock(&self) -> MutexGuard<'_, State<M>> {
        lock(&self.state)
    }
}

/// A channel's reactor side, with the message type erased.
pub(crate) trait AnyChannel {
    /// Hands waiting messages to the handler (at most [`BATCH`]).
    fn run(&mut self, cx: &mut FdContext<'_>);
    fn on_timer(&mut self, cx: &mut FdContext<'_>, tag: u64);
    /// The reactor is done with the channel: senders get their messages back from now on.
    fn close(&mut self);
}

struct Runner<M, H> {
    chan: Arc<Chan<M>>,
    /// Messages taken from the queue and not yet handled (the queue's other buffer).
    taken: VecDeque<M>,
    handler: H,
}

impl<M: 'static, H: MessageHandler<M>> AnyChannel for Runner<M, H> {
    fn run(&mut self, cx: &mut FdContext<'_>) {
        if self.taken.is_empty() {
            std::mem::swap(&mut self.chan.lock().queue, &mut self.taken);
        }
        for _ in 0..BATCH {
            let Some(msg) = self.taken.pop_front() else {
                break;
            };
            let handler = &mut self.handler;
            if panic::catch_unwind(AssertUnwindSafe(|| handler.on_message(cx, msg))).is_err() {
                cx.core.stats.panics += 1;
                tracing::error!("a message handler panicked; the message is dropped");
            }
        }
        // Still scheduled while it ran, so senders did not schedule it again: decide now,
        // under the lock, whether it runs again (messages left or arrived) or waits for the
        // next send.
        let mut st = self.chan.lock();
        if self.taken.is_empty() && st.queue.is_empty() {
            st.scheduled = false;
        } else {
            drop(st);
            // Runs again next turn; the loop is awake, no need to wake it.
            self.chan.notify.schedule(self.chan.slot, false);
        }
    }

    fn on_timer(&mut self, cx: &mut FdContext<'_>, tag: u64) {
        self.handler.on_timer(cx, tag);
    }

    fn close(&mut self) {
        let mut st = self.chan.lock();
        st.closed = true;
        st.queue.clear();
        drop(st);
        self.taken.clear();
    }
}

/// A new channel for slot `slot`: its sender and its reactor side.
pub(crate) fn new_channel<M: 'static, H: MessageHandler<M>>(
    slot: u32,
    cap: usize,
    notify: Arc<Notify>,
    handler: H,
) -> (Sender<M>, Box<dyn AnyChannel>) {
    let chan = Arc::new(Chan {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            scheduled: false,
            closed: false,
        }),
        cap,
        slot,
        notify,
    });
    let runner = Runner {
        chan: chan.clone(),
        taken: VecDeque::new(),
        handler,
    };
    (Sender { chan }, Box::new(runner))
}
