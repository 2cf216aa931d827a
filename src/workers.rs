//! Thread-per-core: N reactors on N threads, sharing ports.
//!
//! No state is shared between reactors. Where the kernel balances listeners bound to one
//! port (Linux `SO_REUSEPORT`, FreeBSD `SO_REUSEPORT_LB`) each reactor has its own listener
//! and the kernel spreads new connections between them. Elsewhere (macOS) the reactors share
//! one listening socket: every reactor polls it and accepts until `WouldBlock`, so whichever
//! is free takes the connection (see `docs/platforms.md`). Across machines, run N processes
//! behind any L4 balancer the same way.

use std::io;
use std::sync::{mpsc, Arc};

use crate::sys::shared_listen;
use crate::{Config, Handle, Reactor};

/// Runs `n` reactors on `n` threads (`n <= 1`: on this thread). `setup(index, reactor)`
/// registers listeners on each — with [`ListenOptions::reuse_port`](crate::ListenOptions)
/// set, so every reactor can bind the same port. On a kernel that does not balance such
/// listeners (macOS), the TCP listeners that the setups bind with `reuse_port` are one socket
/// per address, shared by all `n` reactors (a request for port 0 then gives every reactor the
/// same ephemeral port). Returns when all reactors have stopped; if any setup fails, the
/// others are shut down and the first error is returned.
///
/// ```no_run
/// use netreactor::{run_workers, ListenOptions};
/// # use netreactor::{Context, Protocol}; use bytes::BytesMut;
/// # struct Echo; impl Protocol for Echo { fn on_data(&mut self, cx: &mut Context<'_>, i: &mut BytesMut) { cx.write(i.split().freeze()); } }
/// let opts = ListenOptions { reuse_port: true, ..ListenOptions::default() };
/// run_workers(2, move |_, reactor| {
///     reactor.shutdown_on_signals()?;
///     reactor.listen_tcp_with("127.0.0.1:7000".parse().unwrap(), &opts, || Echo)?;
///     Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn run_workers<S>(n: usize, setup: S) -> io::Result<()>
where
    S: Fn(usize, &mut Reactor) -> io::Result<()> + Send + Sync + 'static,
{
    run_workers_with(n, Config::default(), setup)
}

/// [`run_workers`] with every reactor built with `config` (a shutdown grace of your own, say).
pub fn run_workers_with<S>(n: usize, config: Config, setup: S) -> io::Result<()>
where
    S: Fn(usize, &mut Reactor) -> io::Result<()> + Send + Sync + 'static,
{
    run_workers_sharing(n, !shared_listen::KERNEL_BALANCES, config, setup)
}

/// [`run_workers`], choosing whether `reuse_port` TCP listeners are one shared socket.
pub(crate) fn run_workers_sharing<S>(
    n: usize,
    share_listeners: bool,
    config: Config,
    setup: S,
) -> io::Result<()>
where
    S: Fn(usize, &mut Reactor) -> io::Result<()> + Send + Sync + 'static,
{
    if n <= 1 {
        let mut reactor = Reactor::with_config(config)?;
        setup(0, &mut reactor)?;
        return reactor.run();
    }
    let setup = Arc::new(setup);
    let group = share_listeners.then(|| Arc::new(shared_listen::Group::default()));
    let (tx, rx) = mpsc::channel::<io::Result<Handle>>();
    let mut threads = Vec::with_capacity(n);
    for i in 0..n {
        let setup = setup.clone();
        let tx = tx.clone();
        let group = group.clone();
        let config = config.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("reactor-{i}"))
                .spawn(move || -> io::Result<()> {
                    let ready = Reactor::with_config(config).and_then(|mut r| {
                        let _shared = group.map(shared_listen::enter);
                        setup(i, &mut r).map(|_| r)
                    });
                    match ready {
                        Ok(mut r) => {
                            let _ = tx.send(Ok(r.handle()));
                            r.run()
                        }
                        Err(e) => {
                            let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                            Err(e)
                        }
                    }
                })?,
        );
    }
    drop(tx);
    let mut handles = Vec::new();
    let mut first_err = None;
    for res in rx.iter().take(n) {
        match res {
            Ok(h) => handles.push(h),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    // Every setup is done: the group's own copies of the shared sockets close, each reactor
    // keeps its duplicate.
    drop(group);
    if first_err.is_some() {
        for h in &handles {
            h.shutdown();
        }
    }
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => {
                first_err.get_or_insert(io::Error::other("a reactor thread panicked"));
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, ListenOptions, Protocol};
    use bytes::BytesMut;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Echoes, and counts the connections each reactor accepted.
    struct Counted(Arc<[AtomicUsize; 2]>, usize);
    impl Protocol for Counted {
        fn on_open(&mut self, _cx: &mut Context<'_>) {
            self.0[self.1].fetch_add(1, Ordering::SeqCst);
        }
        fn on_data(&mut self, cx: &mut Context<'_>, input: &mut BytesMut) {
            cx.write(input.split().freeze());
        }
    }

    #[test]
    fn shared_listener_workers_all_listen_on_one_socket_and_serve() {
        let counts: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let addrs = Arc::new(Mutex::new(Vec::new()));
        let handles = Arc::new(Mutex::new(Vec::new()));
        let (c, a, h) = (counts.clone(), addrs.clone(), handles.clone());
        let runner = std::thread::spawn(move || {
            run_workers_sharing(2, true, Config::default(), move |i, r| {
                let opts = ListenOptions {
                    reuse_port: true,
                    ..ListenOptions::default()
                };
                let c = c.clone();
                let addr = r.listen_tcp_with("127.0.0.1:0".parse().unwrap(), &opts, move || {
                    Counted(c.clone(), i)
                })?;
                a.lock().unwrap().push(addr);
                h.lock().unwrap().push(r.handle());
                Ok(())
            })
        });
        while handles.lock().unwrap().len() < 2 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let addrs = addrs.lock().unwrap().clone();
        // Port 0 asked twice, one port given: the second reactor got the first one's socket.
        assert_eq!(addrs[0], addrs[1]);
        for k in 0..20u8 {
            let mut s = std::net::TcpStream::connect(addrs[0]).unwrap();
            s.write_all(&[k; 3]).unwrap();
            let mut got = [0u8; 3];
            s.read_exact(&mut got).unwrap();
            assert_eq!(got, [k; 3]);
        }
        let total: usize = counts.iter().map(|c| c.load(Ordering::SeqCst)).sum();
        assert_eq!(total, 20);
        for h in handles.lock().unwrap().iter() {
            h.shutdown();
        }
        runner.join().unwrap().unwrap();
    }
}
