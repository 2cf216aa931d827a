//! Identifiers handed to protocols: connections and timers.

use std::fmt;

/// Identifies one connection (or child socket) of one reactor. An id is never valid for two
/// connections: a slot's generation changes when it is reused, so a stale id is ignored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) slot: u32,
    pub(crate) gen: u32,
}

impl ConnId {
    pub(crate) fn new(slot: usize, gen: u32) -> ConnId {
        ConnId {
            slot: slot as u32,
            gen,
        }
    }

    pub(crate) fn slot(self) -> usize {
        self.slot as usize
    }

    /// A number for logs: unique among the connections open at one time.
    pub fn index(self) -> usize {
        self.slot as usize
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.slot, self.gen)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.slot)
    }
}

/// Identifies a timer set with [`Context::set_timer`](crate::Context::set_timer).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TimerId {
    pub(crate) key: u32,
    pub(crate) gen: u32,
}
