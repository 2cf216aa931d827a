//! TCP urgent data without a priority event.
//!
//! A read stops short at the urgent mark (on every kernel, with or without `SO_OOBINLINE`).
//! The reactor takes a short read for "the socket is drained" and waits for the next edge;
//! data already queued behind the mark raises none. Linux reports urgent data as `EPOLLPRI`,
//! which turns the shortcut off for that wake. kqueue has no such event, so on the portable
//! path the reader asks the socket after each short read whether it stopped at the mark
//! (`ioctl(SIOCATMARK)`, one cheap call) and, if so, reads on.

use std::os::fd::RawFd;

/// `SIOCATMARK` request numbers: Linux's own, and the BSD `_IOR('s', 7, int)` (FreeBSD,
/// macOS, the other BSDs).
#[cfg(any(target_os = "linux", target_os = "android"))]
const SIOCATMARK: Option<u64> = Some(0x8905);
#[cfg(any(
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple"
))]
const SIOCATMARK: Option<u64> = Some(0x4004_7307);
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple"
)))]
const SIOCATMARK: Option<u64> = None;

/// After a short read of `fd`: whether to read again because the read may have stopped at
/// the urgent mark with more data behind it. Always `false` where the kernel reports urgent
/// data as a priority event (and `portable_io` is off): that event already turned the
/// short-read shortcut off.
pub(crate) fn read_again_after_short_read(fd: RawFd, portable_io: bool) -> bool {
    if super::HAS_PRIORITY_EVENT && !portable_io {
        return false;
    }
    match SIOCATMARK {
        Some(request) => at_mark(fd, request),
        // No known request number: read once more (it returns `EAGAIN` when drained).
        None => true,
    }
}

/// Whether the next byte to read on `fd` is the urgent mark. Descriptors without urgent
/// data (pipes, Unix sockets) answer with an error, which means "no".
fn at_mark(fd: RawFd, request: u64) -> bool {
    let mut answer: libc::c_int = 0;
    // SAFETY: SIOCATMARK writes one `int` through the pointer, which points to `answer`, a
    // live local of that type; `fd` is a descriptor the caller owns for the call.
    let rc = unsafe { libc::ioctl(fd, request as _, &mut answer as *mut libc::c_int) };
    rc == 0 && answer != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    /// Waits until `n` bytes are queued on `s` (loopback delivery is quick but not instant).
    fn wait_queued(s: &TcpStream, n: usize) {
        let mut peek = vec![0u8; n + 16];
        for _ in 0..200 {
            s.set_nonblocking(true).unwrap();
            let got = s.peek(&mut peek).unwrap_or(0);
            s.set_nonblocking(false).unwrap();
            if got >= n {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("{n} bytes never arrived");
    }

    #[test]
    fn a_read_stopped_at_the_urgent_mark_asks_for_another_read() {
        let (a, mut b) = pair();
        socket2::SockRef::from(&b)
            .set_out_of_band_inline(true)
            .unwrap();
        let sa = socket2::SockRef::from(&a);
        sa.send(b"abc").unwrap();
        sa.send_out_of_band(b"!").unwrap();
        sa.send(b"def").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut buf = [0u8; 64];
        let n = b.read(&mut buf).unwrap();
        // The read stops short at the mark, with data behind it.
        assert_eq!(&buf[..n], b"abc");
        assert!(read_again_after_short_read(b.as_raw_fd(), true));
        wait_queued(&b, 4);
        let n = b.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"!def");
        assert!(!read_again_after_short_read(b.as_raw_fd(), true));
    }

    #[test]
    fn a_plain_short_read_is_taken_for_drained() {
        let (mut a, mut b) = pair();
        a.write_all(b"hello").unwrap();
        let mut buf = [0u8; 64];
        let n = b.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert!(!read_again_after_short_read(b.as_raw_fd(), true));
    }

    #[test]
    fn a_pipe_is_never_at_a_mark() {
        let (r, _w) = nix::unistd::pipe().unwrap();
        assert!(!read_again_after_short_read(r.as_raw_fd(), true));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn linux_without_portable_io_relies_on_the_priority_event() {
        let (a, b) = pair();
        let sa = socket2::SockRef::from(&a);
        sa.send_out_of_band(b"!").unwrap();
        sa.send(b"x").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!read_again_after_short_read(b.as_raw_fd(), false));
        assert!(read_again_after_short_read(b.as_raw_fd(), true));
    }
}
