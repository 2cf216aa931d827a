//! Per-request storage, lent to a connection only while it has an exchange under way.
//!
//! An [`Exchange`] holds what one request/response needs beyond the connection's own small
//! state: the [`Request`] (header views, decoded path), the parser's header ranges and the
//! buffer responses are gathered in. A connection takes one from its server's [`Spares`]
//! when a request starts arriving and gives it back as soon as it is idle again (nothing
//! buffered, nothing half-answered). So 19,000 idle keep-alive connections hold no request
//! storage at all, and a busy one pays a pop and a push per request instead of an allocation:
//! the storage stays warm in the pool, and there are no freed request-sized holes left
//! between the connections' own allocations (what a per-connection drop-when-idle left
//! behind: ~110 B of RSS per connection at 19,000).

use std::cell::RefCell;
use std::ops::Range;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::addrs::Addrs;
use super::handler::Request;

/// Spare exchanges kept per server (per reactor thread). Only connections mid-request hold
/// one, so a few dozen cover any burst; beyond that they are freed.
const SPARES_MAX: usize = 64;

/// Capacities above these are not kept in the pool: one unusual request must not pin its
/// storage (a server keeps up to [`SPARES_MAX`] of them).
const KEEP_HEADERS: usize = 32;
const KEEP_PATH: usize = 1024;
const KEEP_OUT: usize = 64 * 1024;

/// The storage of one exchange. See the module docs.
#[derive(Default)]
pub(crate) struct Exchange {
    /// The current request (its views are cleared once it is answered).
    pub(crate) req: Request,
    /// Where the head parser puts each header's name and value.
    pub(crate) header_ranges: Vec<(Range<usize>, Range<usize>)>,
    /// Response bytes gathered before they go to the write queue as one buffer.
    pub(crate) out: BytesMut,
    /// When the first byte of the current request head arrived.
    pub(crate) head_started: Option<Instant>,
}

impl Exchange {
    /// The response bytes gathered so far, as one buffer for the write queue. After an
    /// unusually large burst the buffer's allocation is let go with them (the queue frees it
    /// once written), so a pooled exchange never pins one: its remaining capacity alone would
    /// not show how large the allocation behind it is.
    pub(crate) fn take_output(&mut self) -> Bytes {
        let out = self.out.split().freeze();
        if out.len() > KEEP_OUT {
            self.out = BytesMut::new();
        }
        out
    }

    /// Drops the views of the answered request so the read buffer they point into can be
    /// reused (the vectors keep their capacity).
    pub(crate) fn clear_request(&mut self) {
        let req = &mut self.req;
        req.method = Bytes::new();
        req.target = Bytes::new();
        req.query = None;
        req.headers.clear();
        req.body = Bytes::new();
    }
}

/// A server's pool of spare exchanges (one reactor thread: a `RefCell`).
#[derive(Default)]
pub(crate) struct Spares {
    // Boxes, not values: a connection holds its exchange by pointer, and moving one in or out
    // of the pool must not copy ~200 bytes or reallocate.
    #[allow(clippy::vec_box)]
    free: RefCell<Vec<Box<Exchange>>>,
}

impl Spares {
    /// A spare exchange, or a new one.
    pub(crate) fn take(&self) -> Box<Exchange> {
        self.free.borrow_mut().pop().unwrap_or_default()
    }

    /// Takes back an exchange whose output has been handed on.
    pub(crate) fn give(&self, mut ex: Box<Exchange>) {
        debug_assert!(
            ex.out.is_empty(),
            "an exchange goes back with unsent output"
        );
        ex.clear_request();
        ex.head_started = None;
        ex.req.addrs = Addrs::Unknown;
        ex.req.version_minor = 0;
        if ex.req.headers.capacity() > KEEP_HEADERS {
            ex.req.headers = Vec::new();
            ex.header_ranges = Vec::new();
        }
        if ex.req.path.capacity() > KEEP_PATH {
            ex.req.path = String::new();
        }
        if ex.out.capacity() > KEEP_OUT {
            ex.out = BytesMut::new();
        }
        let mut free = self.free.borrow_mut();
        if free.len() < SPARES_MAX {
            free.push(ex);
        }
    }

    /// Spare exchanges held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.free.borrow().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_reuses_storage_and_stays_bounded() {
        let spares = Spares::default();
        let mut ex = spares.take();
        ex.req.path.push_str("/a");
        ex.req.headers.reserve(8);
        let kept = ex.req.headers.as_ptr();
        spares.give(ex);
        let again = spares.take();
        assert_eq!(
            again.req.headers.as_ptr(),
            kept,
            "the same vector comes back"
        );
        assert!(again.req.headers.is_empty() && again.head_started.is_none());
        spares.give(again);
        let many: Vec<_> = (0..SPARES_MAX + 10).map(|_| spares.take()).collect();
        for ex in many {
            spares.give(ex);
        }
        assert_eq!(spares.len(), SPARES_MAX);
        let mut big = spares.take();
        big.req.headers.reserve(KEEP_HEADERS + 1);
        big.out.reserve(KEEP_OUT + 1);
        spares.give(big);
        let small = spares.take();
        assert_eq!(small.req.headers.capacity(), 0);
        assert!(small.out.capacity() <= KEEP_OUT);
    }

    #[test]
    fn a_large_burst_of_output_does_not_stay_with_the_exchange() {
        let mut ex = Exchange {
            out: BytesMut::with_capacity(4096),
            ..Exchange::default()
        };
        ex.out.extend_from_slice(&[b'x'; 100]);
        assert_eq!(ex.take_output().len(), 100);
        assert!(
            ex.out.capacity() > 0,
            "a small buffer's room is kept for the next answer"
        );
        ex.out.extend_from_slice(&vec![b'y'; KEEP_OUT + 1]);
        let burst = ex.take_output();
        assert_eq!(burst.len(), KEEP_OUT + 1);
        assert_eq!(
            ex.out.capacity(),
            0,
            "the burst's allocation leaves with it"
        );
    }
}
