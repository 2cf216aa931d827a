//! Zero-downtime restart for the binaries (feature `cli`): `SIGUSR2` starts a successor on
//! the same listening sockets, and this process drains and exits once it is ready.
//!
//! The hand-over, step by step (see `docs/operations.md`):
//! 1. `SIGUSR2` spawns the binary (`--upgrade-binary`, or the one this process was started
//!    from) with the same arguments and every listening socket of every worker as the
//!    descriptors `3 ..` (`LISTEN_FDS`, [`ListenFds`]), plus the write end of a pipe
//!    (`NETREACTOR_READY_FD`).
//! 2. The successor adopts the sockets bound to the addresses it is configured for (binding
//!    only what it did not inherit), and once every worker has registered its listeners it
//!    writes its pid file and one byte to the pipe.
//! 3. On that byte this process shuts down gracefully ([`Reactor::shutdown_on_signals`]'s
//!    path: listeners closed, each protocol's `on_shutdown`, `--drain-timeout`). Its
//!    sockets live on in the successor, so connections waiting in their accept queues are
//!    the successor's to accept: none is refused or reset.
//! 4. If the successor exits, closes the pipe, or says nothing within `--upgrade-timeout`,
//!    this process logs it, stops the successor (`SIGTERM`) and goes on serving.
//!
//! [`Reactor::shutdown_on_signals`]: netreactor::Reactor::shutdown_on_signals

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netreactor::{run_workers_with, Config, Handle, ListenFds, Reactor};

/// Names the inherited descriptor a successor writes one byte to once it is serving.
pub const READY_FD_VAR: &str = "NETREACTOR_READY_FD";

/// The restart flags: `--pid-file`, `--upgrade-binary`, `--drain-timeout`,
/// `--upgrade-timeout`.
#[derive(clap::Args, Clone, Debug)]
pub struct RestartArgs {
    /// Write the process id here once every listener is open (a successor started by
    /// SIGUSR2 writes its own when it is ready; the file is removed at exit if it still
    /// names this process).
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// The binary SIGUSR2 starts as the successor (default: the one this process was
    /// started from, as it was at start).
    #[arg(long = "upgrade-binary", value_name = "PATH")]
    pub upgrade_binary: Option<PathBuf>,
    /// Seconds open connections have to finish after SIGUSR2's successor took over, or
    /// after SIGTERM/SIGINT; those left are closed then.
    #[arg(long = "drain-timeout", value_name = "SECS", default_value_t = 30.0)]
    pub drain_timeout: f64,
    /// Seconds a successor has to say it is ready before this process gives up on it and
    /// keeps serving.
    #[arg(long = "upgrade-timeout", value_name = "SECS", default_value_t = 30.0)]
    pub upgrade_timeout: f64,
}

/// The process's restart state: the sockets it listens on, its workers' handles, the
/// successor hand-over. Made once in `main` with [`Restart::new`], run with
/// [`Restart::run_workers`].
pub struct Restart {
    args: RestartArgs,
    drain: Duration,
    upgrade_timeout: Duration,
    fds: Arc<ListenFds>,
    /// The binary as it was at start (`/proc/self/exe` says "(deleted)" once a package
    /// upgrade replaced it, which is exactly when SIGUSR2 is sent).
    exe: io::Result<PathBuf>,
    args_os: Vec<OsString>,
    ready_fd: Mutex<Option<OwnedFd>>,
    handles: Mutex<Vec<Handle>>,
    pending: AtomicUsize,
    signals: Mutex<Option<signal_hook::iterator::Signals>>,
}

impl std::fmt::Debug for Restart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restart")
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

impl Restart {
    /// Takes the inherited listening sockets and readiness pipe (if this process is a
    /// successor, or socket-activated by systemd) and installs the `SIGUSR2` handler, so a
    /// signal that comes early is not fatal. Call it first in `main`, before any thread.
    pub fn new(args: &RestartArgs) -> io::Result<Arc<Restart>> {
        let secs = |v: f64, flag: &str| {
            Duration::try_from_secs_f64(v).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{flag}: not a duration"),
                )
            })
        };
        let drain = secs(args.drain_timeout, "--drain-timeout")?;
        let upgrade_timeout = secs(args.upgrade_timeout, "--upgrade-timeout")?;
        let fds = Arc::new(ListenFds::from_env()?);
        let ready_fd = inherited_ready_fd();
        let signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGUSR2])?;
        Ok(Arc::new(Restart {
            args: args.clone(),
            drain,
            upgrade_timeout,
            fds,
            exe: std::env::current_exe(),
            args_os: std::env::args_os().skip(1).collect(),
            ready_fd: Mutex::new(ready_fd),
            handles: Mutex::new(Vec::new()),
            pending: AtomicUsize::new(0),
            signals: Mutex::new(Some(signals)),
        }))
    }

    /// [`run_workers_with`] for the binary: every reactor drains within `--drain-timeout`
    /// and adopts the inherited sockets; `setup` opens its listeners as it would anyway.
    /// Once every worker is set up, the pid file is written, the predecessor (if any) told,
    /// and `SIGUSR2` armed.
    pub fn run_workers<S>(self: &Arc<Self>, n: usize, setup: S) -> io::Result<()>
    where
        S: Fn(usize, &mut Reactor) -> io::Result<()> + Send + Sync + 'static,
    {
        let n = n.max(1);
        self.pending.store(n, Ordering::SeqCst);
        let config = Config::default().shutdown_grace(self.drain);
        let me = self.clone();
        let result = run_workers_with(n, config, move |i, reactor| {
            reactor.adopt_listeners(me.fds.clone(), i, n);
            setup(i, reactor)?;
            me.handles.lock().unwrap().push(reactor.handle());
            if me.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
                me.serving();
            }
            Ok(())
        });
        self.remove_pid_file();
        result
    }

    /// Every worker listens: close unused inherited sockets, write the pid file, tell the
    /// predecessor, watch for `SIGUSR2`.
    fn serving(self: &Arc<Self>) {
        for addr in self.fds.release() {
            tracing::warn!(%addr, "inherited a socket no server is configured for");
        }
        if let Some(path) = &self.args.pid_file {
            if let Err(e) = write_pid_file(path) {
                tracing::warn!(path = %path.display(), error = %e, "pid file not written");
            }
        }
        if let Some(fd) = self.ready_fd.lock().unwrap().take() {
            let mut pipe = std::fs::File::from(fd);
            match pipe.write_all(b"R") {
                Ok(()) => tracing::info!("serving; told the process being replaced"),
                Err(e) => tracing::warn!(error = %e, "could not tell the process being replaced"),
            }
        }
        let Some(mut signals) = self.signals.lock().unwrap().take() else {
            return;
        };
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("restart".into())
            .spawn(move || {
                for _ in signals.forever() {
                    match me.hand_over() {
                        Ok(pid) => {
                            tracing::info!(successor = pid, drain = ?me.drain, "successor ready; draining");
                            for h in me.handles.lock().unwrap().iter() {
                                h.shutdown();
                            }
                            return;
                        }
                        Err(e) => tracing::error!(error = %e, "restart failed; still serving"),
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no restart on SIGUSR2");
        }
    }

    /// Starts the successor with every listening socket and waits for it to be ready: its
    /// pid, or why it is not (it was stopped then).
    fn hand_over(&self) -> io::Result<u32> {
        let exe = match (&self.args.upgrade_binary, &self.exe) {
            (Some(p), _) => p.clone(),
            (None, Ok(p)) => p.clone(),
            (None, Err(e)) => return Err(io::Error::new(e.kind(), format!("current_exe: {e}"))),
        };
        let socks = self.fds.listening()?;
        let (ready_r, ready_w) = pipe()?;
        // The descriptors the child gets at 3, 4, ...: the sockets, then the pipe.
        let mut from: Vec<RawFd> = socks.iter().map(|(_, fd)| fd.as_raw_fd()).collect();
        from.push(ready_w.as_raw_fd());
        let count = socks.len();
        let mut tmp = vec![-1 as RawFd; from.len()];
        let mut cmd = Command::new(&exe);
        cmd.args(&self.args_os)
            .env("LISTEN_FDS", count.to_string())
            .env(
                netreactor::listen_fds::PARENT_VAR,
                std::process::id().to_string(),
            )
            .env(READY_FD_VAR, (3 + count).to_string())
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDNAMES");
        let top = 3 + from.len() as RawFd;
        // SAFETY: the closure runs between fork and exec and calls only fcntl and dup2
        // (async-signal-safe), writing into `tmp`, allocated before the fork. Moving every
        // descriptor above the target range first means no `dup2` overwrites a source not
        // yet moved; `dup2` clears close-on-exec on its target only, so just the targets
        // reach the new program, and the parent's descriptors keep their flags.
        unsafe {
            cmd.pre_exec(move || {
                for (i, &fd) in from.iter().enumerate() {
                    tmp[i] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, top);
                    if tmp[i] < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                for (i, &fd) in tmp.iter().enumerate() {
                    if libc::dup2(fd, 3 + i as RawFd) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", exe.display())))?;
        drop(ready_w);
        drop(socks);
        let pid = child.id();
        tracing::info!(pid, binary = %exe.display(), sockets = count, "successor started");
        match wait_ready(&ready_r, self.upgrade_timeout) {
            Ok(()) => {
                tracing::info!(pid, took = ?started.elapsed(), "successor ready");
                // Not ours to wait for once we exit; reap it if it goes first.
                std::thread::spawn(move || child.wait());
                Ok(pid)
            }
            Err(e) => {
                // SAFETY: kill(2) on our own child's pid, which is not yet reaped (so not
                // reused); at worst the signal finds it gone.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
                std::thread::spawn(move || child.wait());
                Err(io::Error::new(e.kind(), format!("successor {pid}: {e}")))
            }
        }
    }

    fn remove_pid_file(&self) {
        let Some(path) = &self.args.pid_file else {
            return;
        };
        let ours =
            std::fs::read_to_string(path).is_ok_and(|s| s.trim() == std::process::id().to_string());
        if ours {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The readiness pipe handed down by the process this one replaces (when the environment
/// names it for this process: [`netreactor::listen_fds::PARENT_VAR`] is our parent).
fn inherited_ready_fd() -> Option<OwnedFd> {
    let parent: u32 = std::env::var(netreactor::listen_fds::PARENT_VAR)
        .ok()?
        .parse()
        .ok()?;
    // SAFETY: getppid has no preconditions.
    if parent != unsafe { libc::getppid() } as u32 {
        return None;
    }
    let fd: RawFd = std::env::var(READY_FD_VAR).ok()?.parse().ok()?;
    // SAFETY: fcntl on a descriptor number only reads or sets its flags; it fails on a
    // closed one, which is then left alone.
    if fd < 3 || unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return None;
    }
    // SAFETY: open (checked above), named ours by our parent, and taken only here.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A pipe, both ends close-on-exec.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are new descriptors owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Waits up to `timeout` for a byte on `pipe`: an error if it closes first (the successor
/// exited) or the time runs out.
fn wait_ready(pipe: &OwnedFd, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "not ready in time"));
        }
        let mut p = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd, count 1.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            continue;
        }
        let mut b = [0u8; 1];
        // SAFETY: reads at most one byte into `b`.
        let r = unsafe { libc::read(pipe.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
        return match r {
            1 => Ok(()),
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "exited before it was ready",
            )),
            _ => Err(io::Error::last_os_error()),
        };
    }
}

/// Writes our pid to `path` (to a temporary file renamed over it, so a reader never sees
/// it half written).
fn write_pid_file(path: &std::path::Path) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{}\n", std::process::id()))?;
    std::fs::rename(&tmp, path)
}
