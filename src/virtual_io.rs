//! The far end of a harness connection: it takes what the core writes, as a socket would,
//! up to a window the test sets (a slow reader), and remembers the addresses and shutdowns a
//! socket would have. The core treats a virtual connection exactly like a real one but for
//! where its writes go; [`Harness`](crate::testing::Harness) reads what arrived here.

use std::io;
use std::net::SocketAddr;

use crate::buffer::WriteQueue;

/// The far end of a harness connection: what was written to it, and how much it accepts.
#[derive(Default)]
pub(crate) struct VirtualPeer {
    pub written: Vec<u8>,
    /// Bytes it accepts before the test takes the output (`None`: unlimited).
    pub capacity: Option<usize>,
    /// Bytes accepted since the test last took the output.
    pub accepted: usize,
    pub write_shut: bool,
    pub peer: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    /// For an outbound child: where it connects.
    pub connect_to: Option<SocketAddr>,
}

impl VirtualPeer {
    /// Takes what `out` holds, up to the window left: the bytes taken, and whether some are
    /// left (the peer's "socket buffer" is full).
    pub(crate) fn accept_from(&mut self, out: &mut WriteQueue) -> io::Result<(usize, bool)> {
        let room = self
            .capacity
            .map_or(usize::MAX, |cap| cap.saturating_sub(self.accepted));
        let n = out.drain_into(&mut self.written, room)?;
        self.accepted += n;
        Ok((n, !out.is_empty()))
    }
}
