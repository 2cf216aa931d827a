//! Read buffers lent to connections while they have input, and the spares kept between.
//!
//! A connection holds its unconsumed input as a boxed buffer: 8 bytes in every connection's
//! slot instead of 32, since most connections, most of the time, hold none. The box travels
//! with the buffer through the pool, so lending one costs no allocation.

use bytes::BytesMut;

/// A connection's input buffer.
pub(crate) type InputBuf = Box<BytesMut>;

/// A few spare read buffers, so a busy connection does not allocate per read and an idle one
/// holds none.
pub(crate) struct BufferPool {
    spare: Vec<InputBuf>,
    size: usize,
}

impl BufferPool {
    const KEEP: usize = 32;

    pub(crate) fn new(size: usize) -> BufferPool {
        BufferPool {
            spare: Vec::new(),
            size: size.max(64),
        }
    }

    /// A buffer with free capacity.
    pub(crate) fn get(&mut self) -> InputBuf {
        self.spare
            .pop()
            .unwrap_or_else(|| Box::new(BytesMut::with_capacity(self.size)))
    }

    /// Takes back an emptied buffer if it still has useful capacity; drops it otherwise.
    pub(crate) fn put(&mut self, mut buf: InputBuf) {
        if self.spare.len() < Self::KEEP && buf.capacity() >= self.size / 4 {
            buf.clear();
            self.spare.push(buf);
        }
    }
}
