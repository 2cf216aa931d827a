//! Per-thread CPU clocks for the benches that compare servers by their own CPU time
//! (included with `#[path]` by `echo.rs` and `ws_echo.rs`).

use std::time::Duration;

/// The CPU-time clock of the calling thread (readable from other threads).
pub fn thread_cpu_clock() -> libc::clockid_t {
    let mut id: libc::clockid_t = 0;
    // SAFETY: pthread_self() is the calling thread, alive for the call; `id` is a valid
    // out-pointer.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
    assert_eq!(rc, 0, "pthread_getcpuclockid");
    id
}

/// CPU time consumed so far on `clock` (the thread must still be running).
pub fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; callers read clocks of server threads that run
    // until after their last read.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
