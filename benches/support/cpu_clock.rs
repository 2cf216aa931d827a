//! Per-thread CPU clocks for the benches that compare servers by their own CPU time
//! (included with `#[path]` by `echo.rs` and `ws_echo.rs`). One thread reads another's
//! clock: `pthread_getcpuclockid` + `clock_gettime` where POSIX has it (Linux, the BSDs);
//! macOS has no such call, so there the thread's Mach port is asked with `thread_info`.

use std::time::Duration;

/// A handle on one thread's CPU time, readable from other threads.
#[cfg(not(target_vendor = "apple"))]
pub type CpuClock = libc::clockid_t;
/// A handle on one thread's CPU time, readable from other threads (its Mach thread port).
#[cfg(target_vendor = "apple")]
pub type CpuClock = libc::mach_port_t;

/// The CPU-time clock of the calling thread (readable from other threads).
#[cfg(not(target_vendor = "apple"))]
pub fn thread_cpu_clock() -> CpuClock {
    let mut id: libc::clockid_t = 0;
    // SAFETY: pthread_self() is the calling thread, alive for the call; `id` is a valid
    // out-pointer.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
    assert_eq!(rc, 0, "pthread_getcpuclockid");
    id
}

/// The CPU-time clock of the calling thread (readable from other threads).
#[cfg(target_vendor = "apple")]
pub fn thread_cpu_clock() -> CpuClock {
    // SAFETY: pthread_self() is the calling thread, alive for the call.
    unsafe { libc::pthread_mach_thread_np(libc::pthread_self()) }
}

/// CPU time consumed so far on `clock` (the thread must still be running).
#[cfg(not(target_vendor = "apple"))]
pub fn cpu_time(clock: CpuClock) -> Duration {
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

/// CPU time (user + system) consumed so far by the thread behind `clock`.
#[cfg(target_vendor = "apple")]
pub fn cpu_time(clock: CpuClock) -> Duration {
    // SAFETY: a zeroed thread_basic_info is plain data; thread_info writes at most `count`
    // integers into it and says how many.
    let info = unsafe {
        let mut info: libc::thread_basic_info = std::mem::zeroed();
        let mut count = libc::THREAD_BASIC_INFO_COUNT;
        let rc = libc::thread_info(
            clock,
            libc::THREAD_BASIC_INFO as libc::thread_flavor_t,
            &mut info as *mut libc::thread_basic_info as libc::thread_info_t,
            &mut count,
        );
        assert_eq!(rc, 0, "thread_info");
        info
    };
    let t = |v: libc::time_value_t| {
        Duration::from_secs(v.seconds as u64) + Duration::from_micros(v.microseconds as u64)
    };
    t(info.user_time) + t(info.system_time)
}
