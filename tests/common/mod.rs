//! Shared helpers of the end-to-end tests: a reactor on a background thread, tool checks.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use netreactor::{Config, Handle, Reactor};

/// A reactor running on its own thread; shut down gracefully when dropped.
pub struct Server {
    /// What `setup` returned (the addresses it listens on).
    pub addrs: Vec<SocketAddr>,
    handle: Handle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// The first address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// The reactor's handle (its counters, shutdown).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

/// Starts a reactor with `config` on a new thread; `setup` registers listeners and returns
/// the addresses to hand back. `NETREACTOR_PORTABLE_IO=1` turns on
/// [`Config::portable_io`] for every test server, so `.ci/run` can run the socket tests
/// through the paths FreeBSD and macOS take.
pub fn spawn_with<S>(mut config: Config, setup: S) -> Server
where
    S: FnOnce(&mut Reactor) -> io::Result<Vec<SocketAddr>> + Send + 'static,
{
    config.portable_io |= Config::from_env().portable_io;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut reactor = Reactor::with_config(config)?;
        let addrs = setup(&mut reactor)?;
        tx.send((addrs, reactor.handle())).unwrap();
        reactor.run()
    });
    let (addrs, handle) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server thread failed to start");
    Server {
        addrs,
        handle,
        thread: Some(thread),
    }
}

/// [`spawn_with`] and the default config.
pub fn spawn<S>(setup: S) -> Server
where
    S: FnOnce(&mut Reactor) -> io::Result<Vec<SocketAddr>> + Send + 'static,
{
    spawn_with(Config::default(), setup)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Panics with a clear message when an external tool a test needs is missing (CI installs
/// them all in `.ci/run`; a missing tool is a failure, never a skip).
pub fn require_tool(name: &str) {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is required by this test: run .ci/run (it installs it)"
    );
}

/// The Python interpreter to run client scripts with: `NETREACTOR_PYTHON` when set (`.ci/run`
/// sets it), else the virtual environment `.ci/run` creates at `<target>/ci-venv`, else
/// `python3`. A client library missing from it fails the test that needs it (its script's
/// import fails), it is never skipped.
pub fn python() -> String {
    if let Some(p) = std::env::var_os("NETREACTOR_PYTHON").filter(|p| !p.is_empty()) {
        return p.to_string_lossy().into_owned();
    }
    venv_python()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "python3".to_string())
}

/// `<target>/ci-venv/bin/python` when it exists. The target directory is found from the test
/// binary's own path (`<target>/<profile>/deps/<test>`), so `CARGO_TARGET_DIR` is honoured.
fn venv_python() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?;
    let p = target.join("ci-venv/bin/python");
    p.exists().then_some(p)
}

/// Polls a reactor's counters (published once per loop turn) until `done` holds or 5 s pass;
/// returns the last snapshot either way, for the caller to assert on.
pub fn wait_for_stats(
    handle: &Handle,
    done: impl Fn(&netreactor::Stats) -> bool,
) -> netreactor::Stats {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let stats = handle.stats();
        if done(&stats) || std::time::Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A client connection to `addr` with a 10 s read timeout.
pub fn connect(addr: SocketAddr) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Writes `msg` and reads back as many bytes (an echo round trip).
pub fn roundtrip(s: &mut std::net::TcpStream, msg: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    s.write_all(msg).unwrap();
    let mut got = vec![0; msg.len()];
    s.read_exact(&mut got).unwrap();
    got
}
