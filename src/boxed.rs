//! Protocols with their timer type erased, so one reactor drives connections whose protocols
//! name different timer types.
//!
//! A [`Protocol<T>`](crate::Protocol) sets timers of its own type `T`. The core stores every
//! protocol as a `Box<dyn AnyProtocol>` and every timer value as 8 raw bytes
//! ([`RawTimer`]); [`Typed`] turns them back into a `Context<'_, T>` and a `T`. The raw bytes
//! of a connection's timers are only ever read back as the `T` of the protocol that set them:
//! the core cancels a connection's protocol timers when it closes and when
//! [`Context::switch_to`](crate::Context::switch_to) hands it to another protocol.

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use bytes::BytesMut;

use crate::context::Context;
use crate::core::Core;
use crate::{ChildEvent, CloseReason, ConnId, Protocol, Refusal};

/// A timer value stored bitwise in a wheel entry: any `Copy` type of at most 8 bytes.
#[derive(Clone, Copy)]
pub(crate) struct RawTimer(MaybeUninit<u64>);

impl RawTimer {
    /// Stores `value`. A type over 8 bytes (or aligned above 8) fails to compile here.
    pub(crate) fn new<T: Copy + 'static>(value: T) -> RawTimer {
        const {
            assert!(
                std::mem::size_of::<T>() <= 8 && std::mem::align_of::<T>() <= 8,
                "a protocol's timer type must fit in 8 bytes (use a small enum or an id)"
            )
        };
        let mut raw = MaybeUninit::<u64>::uninit();
        // SAFETY: `T` fits in the 8 bytes (checked at compile time above), the destination is
        // aligned for `u64` and so for `T`, and `T: Copy` has no destructor to run or skip.
        unsafe { raw.as_mut_ptr().cast::<T>().write(value) };
        RawTimer(raw)
    }

    /// Reads the value back.
    ///
    /// # Safety
    /// `self` must have been made by [`RawTimer::new`] with the same `T`.
    pub(crate) unsafe fn get<T: Copy + 'static>(self) -> T {
        // SAFETY: the caller guarantees the bytes hold a valid `T` written by `new::<T>`.
        unsafe { self.0.as_ptr().cast::<T>().read() }
    }
}

/// The callbacks of [`Protocol`] with the timer type erased; what the core calls.
pub(crate) trait AnyProtocol {
    fn on_open(&mut self, core: &mut Core, id: ConnId);
    fn on_data(&mut self, core: &mut Core, id: ConnId, input: &mut BytesMut);
    fn on_eof(&mut self, core: &mut Core, id: ConnId);
    fn on_backpressure(&mut self, core: &mut Core, id: ConnId, paused: bool);
    fn on_drain(&mut self, core: &mut Core, id: ConnId);
    /// # Safety
    /// `timer` was set by this protocol (same timer type).
    unsafe fn on_timer(&mut self, core: &mut Core, id: ConnId, timer: RawTimer);
    fn on_idle(&mut self, core: &mut Core, id: ConnId);
    fn on_child(&mut self, core: &mut Core, id: ConnId, child: ConnId, event: ChildEvent<'_>);
    fn on_refused(&mut self, core: &mut Core, id: ConnId, why: Refusal);
    fn on_shutdown(&mut self, core: &mut Core, id: ConnId);
    fn on_close(&mut self, core: &mut Core, id: ConnId, reason: &CloseReason);
    /// The placeholder of an empty [`ProtoCell`](crate::connection::ProtoCell).
    fn is_vacant(&self) -> bool {
        false
    }
}

/// What an empty [`ProtoCell`](crate::connection::ProtoCell) holds: never called (the core
/// takes the protocol out before calling it, and an empty cell yields none).
pub(crate) struct Vacant;

impl AnyProtocol for Vacant {
    fn on_open(&mut self, _: &mut Core, _: ConnId) {}
    fn on_data(&mut self, _: &mut Core, _: ConnId, _: &mut BytesMut) {}
    fn on_eof(&mut self, _: &mut Core, _: ConnId) {}
    fn on_backpressure(&mut self, _: &mut Core, _: ConnId, _: bool) {}
    fn on_drain(&mut self, _: &mut Core, _: ConnId) {}
    unsafe fn on_timer(&mut self, _: &mut Core, _: ConnId, _: RawTimer) {}
    fn on_idle(&mut self, _: &mut Core, _: ConnId) {}
    fn on_child(&mut self, _: &mut Core, _: ConnId, _: ConnId, _: ChildEvent<'_>) {}
    fn on_refused(&mut self, _: &mut Core, _: ConnId, _: Refusal) {}
    fn on_shutdown(&mut self, _: &mut Core, _: ConnId) {}
    fn on_close(&mut self, _: &mut Core, _: ConnId, _: &CloseReason) {}
    fn is_vacant(&self) -> bool {
        true
    }
}

/// A protocol and its timer type.
pub(crate) struct Typed<P, T> {
    proto: P,
    _timer: PhantomData<fn(T)>,
}

impl<P: Protocol<T>, T: Copy + 'static> Typed<P, T> {
    pub(crate) fn boxed(proto: P) -> Box<dyn AnyProtocol> {
        Box::new(Typed {
            proto,
            _timer: PhantomData,
        })
    }
}

impl<P: Protocol<T>, T: Copy + 'static> AnyProtocol for Typed<P, T> {
    fn on_open(&mut self, core: &mut Core, id: ConnId) {
        self.proto.on_open(&mut Context::new(core, id));
    }
    fn on_data(&mut self, core: &mut Core, id: ConnId, input: &mut BytesMut) {
        self.proto.on_data(&mut Context::new(core, id), input);
    }
    fn on_eof(&mut self, core: &mut Core, id: ConnId) {
        self.proto.on_eof(&mut Context::new(core, id));
    }
    fn on_backpressure(&mut self, core: &mut Core, id: ConnId, paused: bool) {
        self.proto
            .on_backpressure(&mut Context::new(core, id), paused);
    }
    fn on_drain(&mut self, core: &mut Core, id: ConnId) {
        self.proto.on_drain(&mut Context::new(core, id));
    }
    unsafe fn on_timer(&mut self, core: &mut Core, id: ConnId, timer: RawTimer) {
        // SAFETY: the caller guarantees `timer` was set through a `Context<'_, T>` of this
        // protocol, i.e. made by `RawTimer::new::<T>`.
        let timer = unsafe { timer.get::<T>() };
        self.proto.on_timer(&mut Context::new(core, id), timer);
    }
    fn on_idle(&mut self, core: &mut Core, id: ConnId) {
        self.proto.on_idle(&mut Context::new(core, id));
    }
    fn on_child(&mut self, core: &mut Core, id: ConnId, child: ConnId, event: ChildEvent<'_>) {
        self.proto
            .on_child(&mut Context::new(core, id), child, event);
    }
    fn on_refused(&mut self, core: &mut Core, id: ConnId, why: Refusal) {
        self.proto.on_refused(&mut Context::new(core, id), why);
    }
    fn on_shutdown(&mut self, core: &mut Core, id: ConnId) {
        self.proto.on_shutdown(&mut Context::new(core, id));
    }
    fn on_close(&mut self, core: &mut Core, id: ConnId, reason: &CloseReason) {
        self.proto.on_close(&mut Context::new(core, id), reason);
    }
}

/// A protocol of any timer type, ready to drive a connection: what
/// [`Context::switch_to_boxed`](crate::Context::switch_to_boxed) takes, for code that picks
/// the next protocol at run time (an HTTP handler answering an upgrade).
///
/// ```
/// use netreactor::bytes::BytesMut;
/// use netreactor::{BoxedProtocol, Context, Protocol};
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
///         cx.write(input.split().freeze());
///     }
/// }
/// let next: BoxedProtocol = BoxedProtocol::new(Echo);
/// # let _ = next;
/// ```
pub struct BoxedProtocol(pub(crate) Box<dyn AnyProtocol>);

impl BoxedProtocol {
    /// Boxes `protocol`, whatever its timer type.
    pub fn new<P: Protocol<T>, T: Copy + 'static>(protocol: P) -> BoxedProtocol {
        BoxedProtocol(Typed::boxed(protocol))
    }
}

impl fmt::Debug for BoxedProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxedProtocol")
    }
}

#[cfg(test)]
mod tests {
    use super::RawTimer;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Small {
        A,
        B(u32),
    }

    #[test]
    fn a_timer_value_reads_back_as_it_was_stored() {
        let raw = RawTimer::new(Small::B(7));
        // SAFETY: made by `new::<Small>` just above.
        assert_eq!(unsafe { raw.get::<Small>() }, Small::B(7));
        let raw = RawTimer::new(Small::A);
        // SAFETY: as above.
        assert_eq!(unsafe { raw.get::<Small>() }, Small::A);
        let raw = RawTimer::new(u64::MAX - 3);
        // SAFETY: made by `new::<u64>`.
        assert_eq!(unsafe { raw.get::<u64>() }, u64::MAX - 3);
        let raw = RawTimer::new(());
        // SAFETY: made by `new::<()>`.
        unsafe { raw.get::<()>() };
    }
}
