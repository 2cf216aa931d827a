//! Sending a file range to a descriptor: `sendfile(2)` where the kernel has one, with each
//! kernel's own signature and partial-send rules, and a `pread` + `write` fallback.
//!
//! The one rule every branch keeps: the count returned is exactly what reached the
//! descriptor, so the caller advances by it and never sends a byte twice. On FreeBSD and
//! macOS a call interrupted or stopped by a full socket (`EAGAIN`, `EINTR`, `EBUSY`) still
//! reports the bytes it sent; those count. A count of 0 is never passed to FreeBSD's or
//! Apple's call (there it means "up to the end of the file").

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::fd::RawFd;

/// Bytes the fallback moves per `pread` + `write` round.
const FALLBACK_CHUNK: usize = 64 * 1024;

/// Sends up to `len` bytes (`len > 0`) of `file` from `offset` to `fd`.
///
/// Returns the bytes written (fewer than `len` when the descriptor's buffer filled), `Ok(0)`
/// when the file has no byte at `offset` (it shrank), or `WouldBlock` when nothing could be
/// written. `EINTR` is retried. With `portable` (or where no `sendfile` exists) the
/// `pread` + `write` fallback is used; it is also used whenever `sendfile` refuses the
/// descriptor (`EINVAL`, `ENOTSOCK`, `EOPNOTSUPP`/`ENOTSUP`, `ENOSYS`: pipes, and Unix sockets on some
/// kernels).
pub(crate) fn send_file_range(
    fd: RawFd,
    file: &File,
    offset: u64,
    len: usize,
    portable: bool,
) -> io::Result<usize> {
    debug_assert!(len > 0);
    if !portable {
        match native(fd, file, offset, len) {
            Native::Sent(n) => return Ok(n),
            Native::Err(e) => return Err(e),
            Native::Refused => {}
        }
    }
    fallback(fd, file, offset, len)
}

/// What the kernel's own call did.
enum Native {
    Sent(usize),
    Err(io::Error),
    /// Not for this descriptor (or no `sendfile` here): use the fallback.
    Refused,
}

/// Errors by which `sendfile` says "not this kind of descriptor" (`ENOTSUP` and
/// `EOPNOTSUPP` are one value on Linux, two on macOS).
#[cfg_attr(
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    )),
    allow(dead_code)
)]
fn refuses(errno: nix::errno::Errno) -> bool {
    [
        libc::EINVAL,
        libc::ENOTSOCK,
        libc::EOPNOTSUPP,
        libc::ENOTSUP,
        libc::ENOSYS,
    ]
    .contains(&(errno as i32))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn native(fd: RawFd, file: &File, offset: u64, len: usize) -> Native {
    use nix::errno::Errno;
    let mut off = offset as libc::off_t;
    loop {
        // Linux reports what it sent, or an error with nothing sent.
        match nix::sys::sendfile::sendfile(borrow(fd), file, Some(&mut off), len) {
            Ok(n) => return Native::Sent(n),
            Err(Errno::EINTR) => continue,
            Err(e) if refuses(e) => return Native::Refused,
            Err(e) => return Native::Err(e.into()),
        }
    }
}

#[cfg(any(target_os = "freebsd", target_vendor = "apple"))]
fn native(fd: RawFd, file: &File, offset: u64, len: usize) -> Native {
    use nix::errno::Errno;
    loop {
        #[cfg(target_os = "freebsd")]
        let (res, sent) = nix::sys::sendfile::sendfile(
            file,
            borrow(fd),
            offset as libc::off_t,
            Some(len),
            None,
            None,
            nix::sys::sendfile::SfFlags::empty(),
            0,
        );
        #[cfg(target_vendor = "apple")]
        let (res, sent) = nix::sys::sendfile::sendfile(
            file,
            borrow(fd),
            offset as libc::off_t,
            Some(len as libc::off_t),
            None,
            None,
        );
        let sent = sent.max(0) as usize;
        match res {
            // Success with 0 sent: `offset` is at or past the end of the file.
            Ok(()) => return Native::Sent(sent),
            // Interrupted or stopped by a full socket after sending some: those bytes are on
            // the wire, so they count.
            Err(Errno::EAGAIN | Errno::EINTR | Errno::EBUSY) if sent > 0 => {
                return Native::Sent(sent)
            }
            Err(Errno::EINTR) => continue,
            // EBUSY with nothing sent (pages busy): the fallback reads them instead of
            // waiting for a writability edge that a writable socket never raises.
            Err(Errno::EBUSY) => return Native::Refused,
            Err(e) if refuses(e) => return Native::Refused,
            Err(e) => return Native::Err(e.into()),
        }
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple"
)))]
fn native(_fd: RawFd, _file: &File, _offset: u64, _len: usize) -> Native {
    Native::Refused
}

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple"
))]
fn borrow<'a>(fd: RawFd) -> std::os::fd::BorrowedFd<'a> {
    // SAFETY: the caller passes the descriptor of a connection that stays open for the
    // duration of the call.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

thread_local! {
    /// The fallback's bounce buffer, one per reactor thread, allocated on first use.
    static BOUNCE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `pread` then `write`, round after round, until `len` bytes are written, the descriptor
/// takes less than offered, or the file ends. Advances only by what `write` took: bytes read
/// but not written are read again next time.
fn fallback(fd: RawFd, file: &File, offset: u64, len: usize) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    BOUNCE.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < FALLBACK_CHUNK {
            buf.resize(FALLBACK_CHUNK, 0);
        }
        let mut written = 0;
        while written < len {
            let want = (len - written).min(FALLBACK_CHUNK);
            let got = match file.read_at(&mut buf[..want], offset + written as u64) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Report what went out; the error comes back on the next call.
                Err(_) if written > 0 => break,
                Err(e) => return Err(e),
            };
            match write_all_nonblocking(fd, &buf[..got]) {
                Ok(n) => {
                    written += n;
                    if n < got {
                        break;
                    }
                }
                Err(e) if written > 0 && e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    })
}

/// Writes `data` until done or the descriptor would block; returns what was written, or the
/// error if nothing was.
fn write_all_nonblocking(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < data.len() {
        // SAFETY: `data[done..]` is a live, initialised slice; write(2) reads at most its
        // length from it.
        let n = unsafe {
            libc::write(
                fd,
                data[done..].as_ptr() as *const libc::c_void,
                data.len() - done,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                _ if done > 0 => return Ok(done),
                _ => return Err(err),
            }
        }
        done += n as usize;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    fn file_with(name: &str, data: &[u8]) -> (std::path::PathBuf, File) {
        let path = std::env::temp_dir().join(format!("nr-sf-{name}-{}", std::process::id()));
        std::fs::write(&path, data).unwrap();
        let f = File::open(&path).unwrap();
        (path, f)
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn the_fallback_sends_a_range_into_a_pipe() {
        let data = pattern(300_000);
        let (path, file) = file_with("pipe", &data);
        let (r, w) = nix::unistd::pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            File::from(r).read_to_end(&mut got).unwrap();
            got
        });
        let mut off = 1000u64;
        let end = 250_000u64;
        while off < end {
            let n = send_file_range(w.as_raw_fd(), &file, off, (end - off) as usize, true).unwrap();
            assert!(n > 0);
            off += n as u64;
        }
        drop(w);
        assert!(reader.join().unwrap() == data[1000..250_000]);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn the_fallback_advances_only_by_what_a_full_socket_took() {
        let data = pattern(4 << 20);
        let (path, file) = file_with("partial", &data);
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        // The socket takes far less than 4 MiB: the first call is partial.
        let first = send_file_range(a.as_raw_fd(), &file, 0, data.len(), true).unwrap();
        assert!(first > 0 && first < data.len(), "sent {first}");
        // Full now: nothing more goes, and that is WouldBlock, not a count of 0.
        let err = send_file_range(a.as_raw_fd(), &file, first as u64, 1, true).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        // Drain the peer while sending the rest from where the count said.
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            b.read_to_end(&mut got).unwrap();
            got
        });
        let mut off = first;
        while off < data.len() {
            match send_file_range(a.as_raw_fd(), &file, off as u64, data.len() - off, true) {
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        }
        drop(a);
        assert!(reader.join().unwrap() == data, "stream differs");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_range_past_the_end_of_the_file_sends_nothing() {
        let (path, file) = file_with("eof", b"0123456789");
        let (a, _b) = UnixStream::pair().unwrap();
        for portable in [false, true] {
            assert_eq!(
                send_file_range(a.as_raw_fd(), &file, 10, 5, portable).unwrap(),
                0
            );
        }
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn native_and_fallback_send_the_same_bytes() {
        let data = pattern(100_000);
        let (path, file) = file_with("same", &data);
        for portable in [false, true] {
            let (a, mut b) = UnixStream::pair().unwrap();
            let reader = std::thread::spawn(move || {
                let mut got = Vec::new();
                b.read_to_end(&mut got).unwrap();
                got
            });
            let mut off = 7u64;
            while off < data.len() as u64 {
                off += send_file_range(
                    a.as_raw_fd(),
                    &file,
                    off,
                    data.len() - off as usize,
                    portable,
                )
                .unwrap() as u64;
            }
            drop(a);
            assert!(reader.join().unwrap() == data[7..], "portable={portable}");
        }
        std::fs::remove_file(path).unwrap();
    }
}
