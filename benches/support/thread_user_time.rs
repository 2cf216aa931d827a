//! Core pinning and another thread's user-mode CPU time, for `ws_echo.rs` (included with
//! `#[path]`). Pinning is Linux-only (`sched_setaffinity`) and does nothing elsewhere. The
//! user-mode time comes from `/proc/self/task/TID/stat` on Linux and `thread_info` on macOS;
//! elsewhere it is absent (the bench prints NaN for that figure rather than a made-up one).

use std::time::Duration;

/// The calling thread's id as [`user_time`] wants it.
#[cfg(target_os = "linux")]
pub type ThreadKey = libc::pid_t;
/// The calling thread's id as [`user_time`] wants it (its Mach thread port).
#[cfg(target_vendor = "apple")]
pub type ThreadKey = libc::mach_port_t;
/// The calling thread's id as [`user_time`] wants it.
#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
pub type ThreadKey = ();

/// Pins the calling thread to `core`.
#[cfg(target_os = "linux")]
pub fn pin_to_core(core: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Pins the calling thread to `core`: not done here (no affinity call is wired up).
#[cfg(not(target_os = "linux"))]
pub fn pin_to_core(_core: usize) {}

/// The calling thread's kernel id.
#[cfg(target_os = "linux")]
pub fn current_thread() -> ThreadKey {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// The calling thread's Mach port.
#[cfg(target_vendor = "apple")]
pub fn current_thread() -> ThreadKey {
    // SAFETY: pthread_self() is the calling thread, alive for the call.
    unsafe { libc::pthread_mach_thread_np(libc::pthread_self()) }
}

/// The calling thread (no id is needed where [`user_time`] has no answer).
#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
pub fn current_thread() -> ThreadKey {}

/// User-mode CPU time of thread `tid` of this process (`/proc`, clock-tick resolution).
#[cfg(target_os = "linux")]
pub fn user_time(tid: ThreadKey) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime field 14.
    let after = &stat[stat.rfind(')')? + 2..];
    let ticks: u64 = after.split(' ').nth(11)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// User-mode CPU time of the thread behind `port` (`thread_info`, microsecond resolution).
#[cfg(target_vendor = "apple")]
pub fn user_time(port: ThreadKey) -> Option<Duration> {
    // SAFETY: a zeroed thread_basic_info is plain data; thread_info writes at most `count`
    // integers into it and says how many.
    unsafe {
        let mut info: libc::thread_basic_info = std::mem::zeroed();
        let mut count = libc::THREAD_BASIC_INFO_COUNT;
        let rc = libc::thread_info(
            port,
            libc::THREAD_BASIC_INFO as libc::thread_flavor_t,
            &mut info as *mut libc::thread_basic_info as libc::thread_info_t,
            &mut count,
        );
        (rc == 0).then(|| {
            Duration::from_secs(info.user_time.seconds as u64)
                + Duration::from_micros(info.user_time.microseconds as u64)
        })
    }
}

/// User-mode CPU time of another thread: not readable here.
#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
pub fn user_time(_tid: ThreadKey) -> Option<Duration> {
    None
}
