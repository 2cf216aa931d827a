//! What differs between the kernels netreactor runs on, behind one function each.
//!
//! - [`sendfile`](sendfile::send_file_range): Linux, FreeBSD and Apple `sendfile(2)` with their
//!   own signatures and partial-send rules, and a `pread` + `write` fallback for other Unixes
//!   and for descriptors `sendfile` refuses.
//! - [`urgent`]: TCP urgent data. Linux reports it as a priority event (`EPOLLPRI`); kqueue has
//!   no such event, so after a short read the reader asks the socket whether it stopped at the
//!   urgent mark.
//! - [`shared_listen`]: `--workers N` on a kernel that does not balance `SO_REUSEPORT`
//!   listeners (macOS): one listening socket, shared by every reactor.
//!
//! [`Config::portable_io`](crate::Config::portable_io) forces the portable paths on Linux too,
//! so the code that macOS and FreeBSD run is tested on every change. See `docs/platforms.md`.
//! This module owns no connection state: it acts on the descriptors it is given.

pub(crate) mod sendfile;
pub(crate) mod shared_listen;
pub(crate) mod urgent;

use mio::Interest;

/// Whether this kernel reports TCP urgent data as a readiness event of its own (Linux's
/// `EPOLLPRI`); elsewhere the portable urgent-data path is the only one.
pub(crate) const HAS_PRIORITY_EVENT: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Readiness a connection is registered for, once: read, write, and where the kernel has it
/// (and `portable_io` is off) priority. TCP urgent data makes `read` stop short at the urgent
/// mark; the priority event tells the reader not to take a short read for "drained".
pub(crate) fn conn_interest(portable_io: bool) -> Interest {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if !portable_io {
            return Interest::READABLE | Interest::WRITABLE | Interest::PRIORITY;
        }
    }
    let _ = portable_io;
    Interest::READABLE | Interest::WRITABLE
}
