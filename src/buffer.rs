//! Buffers: the write queue of a connection and the pool of spare read buffers.
//!
//! The write queue holds `Bytes` (shared, never copied) and file ranges; it is flushed with
//! one `writev(2)` over up to [`MAX_IOVECS`] consecutive byte chunks, and `sendfile(2)` for
//! file ranges. Read buffers are lent from a small pool while a connection has unconsumed
//! input and returned when the protocol consumed everything, so an idle connection owns no
//! buffer at all.
//!
//! This module owns no sockets: it writes to and reads from a raw descriptor it is given.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, IoSlice};
use std::os::fd::{BorrowedFd, RawFd};
use std::rc::Rc;

use bytes::{Buf, Bytes, BytesMut};

/// `writev` takes at most this many chunks per call (Linux allows 1024; 64 covers any burst of
/// small writes while keeping the iovec array on the stack).
pub(crate) const MAX_IOVECS: usize = 64;

/// Largest `sendfile` call, so one huge file does not monopolise a wake.
const SENDFILE_MAX: u64 = 1 << 20;

/// One queued piece of output: 32 bytes (a file range is boxed, so a chunk is the size of
/// its `Bytes`, and an empty `Bytes` can stand for "no chunk" in the queue's inline head).
pub(crate) enum Chunk {
    Data(Bytes),
    File(Box<FileRange>),
}

/// A range of a file to send.
pub(crate) struct FileRange {
    file: Rc<File>,
    offset: u64,
    len: u64,
}

/// The output waiting to be written on one connection.
///
/// The first chunk is held inline: the usual case — one response or one echo per wake —
/// then needs no allocation at all, while the `VecDeque` behind it is only allocated when
/// several chunks wait, and freed again once the queue is empty. It is boxed so the queue
/// costs an idle connection 48 bytes rather than 72. An empty queue's head is an empty
/// `Bytes` (no allocation), not `None`: `Option<Chunk>` would take 8 bytes more.
pub(crate) struct WriteQueue {
    head: Chunk,
    // Boxed on purpose (8 bytes inline instead of 32): the extra allocation is only made
    // while several chunks wait.
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<Chunk>>>,
    len: usize,
}

/// What a flush achieved.
pub(crate) struct Flushed {
    /// Bytes written.
    pub written: usize,
    /// The kernel took less than offered: the socket buffer is full, wait for writability.
    pub blocked: bool,
}

impl Default for WriteQueue {
    fn default() -> WriteQueue {
        WriteQueue {
            head: Chunk::Data(Bytes::new()),
            rest: None,
            len: 0,
        }
    }
}

impl WriteQueue {
    /// Bytes (and file bytes) queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of memory queued (file ranges not counted: they are read from the file as they
    /// are sent). Walks the queue: for the rare checks against the output limits.
    pub(crate) fn memory_len(&self) -> usize {
        self.iter()
            .map(|c| match c {
                Chunk::Data(b) => b.len(),
                Chunk::File(_) => 0,
            })
            .sum()
    }

    pub(crate) fn push_bytes(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        self.push(Chunk::Data(data));
    }

    pub(crate) fn push_file(&mut self, file: Rc<File>, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        self.len += len as usize;
        self.push(Chunk::File(Box::new(FileRange { file, offset, len })));
    }

    fn push(&mut self, chunk: Chunk) {
        if self.front().is_none() {
            self.head = chunk;
        } else {
            self.rest.get_or_insert_with(Box::default).push_back(chunk);
        }
    }

    /// The first chunk (none when the inline head is an empty `Bytes`: empty chunks are
    /// never queued).
    fn front(&self) -> Option<&Chunk> {
        match &self.head {
            Chunk::Data(b) if b.is_empty() => None,
            head => Some(head),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Chunk> {
        self.front()
            .into_iter()
            .chain(self.rest.iter().flat_map(|r| r.iter()))
    }

    /// Drops the front chunk; the next one moves inline.
    fn pop_front(&mut self) {
        self.head = self
            .rest
            .as_mut()
            .and_then(|r| r.pop_front())
            .unwrap_or(Chunk::Data(Bytes::new()));
    }

    /// Frees the queue's storage once it is empty, so an idle connection owns nothing.
    pub(crate) fn release(&mut self) {
        if self.rest.as_ref().is_some_and(|r| r.is_empty()) {
            self.rest = None;
        }
    }

    /// Writes as much as the descriptor takes without blocking.
    ///
    /// Returns `blocked` as soon as a call is short (the kernel buffer is full), without the
    /// extra call that would only return `EAGAIN`.
    /// `portable_io`: file ranges go out by `pread` + `write` ([`Config::portable_io`]).
    ///
    /// [`Config::portable_io`]: crate::Config::portable_io
    pub(crate) fn flush_to_fd(&mut self, fd: RawFd, portable_io: bool) -> io::Result<Flushed> {
        let mut written = 0;
        loop {
            let (n, offered) = match self.front() {
                None => break,
                Some(Chunk::Data(_)) => {
                    let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                    let mut count = 0;
                    let mut offered = 0;
                    for chunk in self.iter() {
                        match chunk {
                            Chunk::Data(b) if count < MAX_IOVECS => {
                                slices[count] = IoSlice::new(b);
                                offered += b.len();
                                count += 1;
                            }
                            _ => break,
                        }
                    }
                    let res = if count == 1 {
                        // One chunk: plain write(2), a shorter kernel path than writev(2).
                        nix::unistd::write(borrow(fd), &slices[0])
                    } else {
                        nix::sys::uio::writev(borrow(fd), &slices[..count])
                    };
                    match res {
                        Ok(n) => (n, offered),
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(e) => return finish(written, io::Error::from(e)),
                    }
                }
                Some(Chunk::File(range)) => {
                    let FileRange { file, offset, len } = &**range;
                    let want = (*len).min(SENDFILE_MAX) as usize;
                    match crate::sys::sendfile::send_file_range(
                        fd,
                        file,
                        *offset,
                        want,
                        portable_io,
                    ) {
                        // The file is shorter than promised (truncated meanwhile): the
                        // connection can no longer be framed correctly.
                        Ok(0) => {
                            return finish(
                                written,
                                io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"),
                            )
                        }
                        Ok(n) => (n, want),
                        Err(e) => return finish(written, e),
                    }
                }
            };
            written += n;
            self.advance(n);
            if n < offered {
                return Ok(Flushed {
                    written,
                    blocked: true,
                });
            }
        }
        Ok(Flushed {
            written,
            blocked: false,
        })
    }

    /// Moves up to `limit` bytes into `sink` (the test harness's virtual peer), reading file
    /// ranges with `pread`.
    pub(crate) fn drain_into(&mut self, sink: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut moved = 0;
        while moved < limit {
            let Some(front) = self.front() else {
                break;
            };
            let n = match front {
                Chunk::Data(b) => {
                    let n = b.len().min(limit - moved);
                    sink.extend_from_slice(&b[..n]);
                    n
                }
                Chunk::File(range) => {
                    let FileRange { file, offset, len } = &**range;
                    let n = (*len as usize).min(limit - moved);
                    let start = sink.len();
                    sink.resize(start + n, 0);
                    file.read_exact_at(&mut sink[start..], *offset)?;
                    n
                }
            };
            moved += n;
            self.advance(n);
        }
        Ok(moved)
    }

    /// Hands up to `limit` queued bytes to `take` (the TLS layer's encryptor), which says how
    /// many it accepted; stops at the first partial acceptance. File ranges are read with
    /// `pread` in slices, since `sendfile` cannot encrypt.
    #[cfg(feature = "tls")]
    pub(crate) fn move_into(
        &mut self,
        limit: usize,
        mut take: impl FnMut(&[u8]) -> usize,
    ) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        const FILE_SLICE: usize = 16 * 1024;
        let mut moved = 0;
        let mut slice = Vec::new();
        while moved < limit {
            let Some(front) = self.front() else {
                break;
            };
            let (offered, accepted) = match front {
                Chunk::Data(b) => {
                    let n = b.len().min(limit - moved);
                    (n, take(&b[..n]))
                }
                Chunk::File(range) => {
                    let FileRange { file, offset, len } = &**range;
                    let n = (*len as usize).min(limit - moved).min(FILE_SLICE);
                    slice.resize(n, 0);
                    let got = file.read_at(&mut slice, *offset)?;
                    if got == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"));
                    }
                    (got, take(&slice[..got]))
                }
            };
            let accepted = accepted.min(offered);
            moved += accepted;
            self.advance(accepted);
            if accepted < offered {
                break;
            }
        }
        Ok(moved)
    }

    fn advance(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            assert!(self.front().is_some(), "advance past the queue");
            match &mut self.head {
                Chunk::Data(b) => {
                    if n >= b.len() {
                        n -= b.len();
                        self.pop_front();
                    } else {
                        b.advance(n);
                        n = 0;
                    }
                }
                Chunk::File(range) => {
                    let k = (n as u64).min(range.len);
                    range.offset += k;
                    range.len -= k;
                    n -= k as usize;
                    if range.len == 0 {
                        self.pop_front();
                    }
                }
            }
        }
    }
}

fn finish(written: usize, err: io::Error) -> io::Result<Flushed> {
    if err.kind() == io::ErrorKind::WouldBlock {
        Ok(Flushed {
            written,
            blocked: true,
        })
    } else {
        Err(err)
    }
}

fn borrow<'a>(fd: RawFd) -> BorrowedFd<'a> {
    // SAFETY: callers pass the descriptor of a connection that stays open for the duration
    // of the call (the connection owns it and is not dropped while flushing).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Reads once from `fd` into the spare capacity of `buf` (no zeroing: the kernel writes the
/// bytes and only those it reports become part of `buf`). Zeroing a 16 KiB buffer before
/// every read would cost more than the read of a small request.
pub(crate) fn read_into(fd: RawFd, buf: &mut BytesMut) -> io::Result<usize> {
    use bytes::BufMut;
    let spare = buf.chunk_mut();
    let cap = spare.len();
    // SAFETY: `spare` points to `cap` writable bytes owned by `buf`; read(2) writes at most
    // `cap` bytes there and reports how many.
    let n = unsafe { libc::read(fd, spare.as_mut_ptr() as *mut libc::c_void, cap) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: read(2) initialised exactly `n <= cap` bytes of the spare capacity.
    unsafe { buf.advance_mut(n as usize) };
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn writev_flushes_many_chunks_in_order() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut q = WriteQueue::default();
        for i in 0..200u8 {
            q.push_bytes(Bytes::from(vec![i; 3]));
        }
        assert_eq!(q.len(), 600);
        let f = q.flush_to_fd(a.as_raw_fd(), false).unwrap();
        assert_eq!(f.written, 600);
        assert!(q.is_empty());
        let mut got = vec![0; 600];
        b.read_exact(&mut got).unwrap();
        for i in 0..200 {
            assert_eq!(&got[i * 3..i * 3 + 3], &[i as u8; 3]);
        }
    }

    #[test]
    fn file_ranges_interleave_with_bytes() {
        let path = std::env::temp_dir().join(format!("nr-buf-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let file = Rc::new(File::open(&path).unwrap());
        let mut q = WriteQueue::default();
        q.push_bytes(Bytes::from_static(b"<"));
        q.push_file(file.clone(), 2, 5);
        q.push_bytes(Bytes::from_static(b">"));
        let mut sink = Vec::new();
        q.drain_into(&mut sink, 3).unwrap();
        q.drain_into(&mut sink, 100).unwrap();
        assert_eq!(sink, b"<23456>");
        let (a, mut b) = UnixStream::pair().unwrap();
        q.push_file(file, 0, 10);
        q.flush_to_fd(a.as_raw_fd(), false).unwrap();
        drop(a);
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"0123456789");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn the_portable_path_sends_file_ranges_between_bytes_in_order() {
        let path = std::env::temp_dir().join(format!("nr-buf-portable-{}", std::process::id()));
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = Rc::new(File::open(&path).unwrap());
        let (a, mut b) = UnixStream::pair().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            b.read_to_end(&mut got).unwrap();
            got
        });
        let mut q = WriteQueue::default();
        q.push_bytes(Bytes::from_static(b"<"));
        q.push_file(file, 5, 150_000);
        q.push_bytes(Bytes::from_static(b">"));
        while !q.is_empty() {
            q.flush_to_fd(a.as_raw_fd(), true).unwrap();
        }
        drop(a);
        let got = reader.join().unwrap();
        assert_eq!(got.len(), 150_002);
        assert_eq!(got[0], b'<');
        assert!(got[1..150_001] == data[5..150_005]);
        assert_eq!(got[150_001], b'>');
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_full_socket_reports_blocked_and_keeps_the_rest() {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut q = WriteQueue::default();
        q.push_bytes(Bytes::from(vec![7u8; 8 << 20]));
        let f = q.flush_to_fd(a.as_raw_fd(), false).unwrap();
        assert!(f.blocked);
        assert!(f.written > 0);
        assert_eq!(q.len(), (8 << 20) - f.written);
    }
}
