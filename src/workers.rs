//! Thread-per-core: N reactors on N threads, sharing ports through `SO_REUSEPORT`.
//!
//! No state is shared between reactors; the kernel balances new connections between their
//! listeners. Across machines, run N processes behind any L4 balancer the same way.

use std::io;
use std::sync::{mpsc, Arc};

use crate::{Handle, Reactor};

/// Runs `n` reactors on `n` threads (`n <= 1`: on this thread). `setup(index, reactor)`
/// registers listeners on each — with [`ListenOptions::reuse_port`](crate::ListenOptions)
/// set, so every reactor can bind the same port. Returns when all reactors have stopped; if
/// any setup fails, the others are shut down and the first error is returned.
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
    if n <= 1 {
        let mut reactor = Reactor::new()?;
        setup(0, &mut reactor)?;
        return reactor.run();
    }
    let setup = Arc::new(setup);
    let (tx, rx) = mpsc::channel::<io::Result<Handle>>();
    let mut threads = Vec::with_capacity(n);
    for i in 0..n {
        let setup = setup.clone();
        let tx = tx.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("reactor-{i}"))
                .spawn(move || -> io::Result<()> {
                    let ready = Reactor::new().and_then(|mut r| setup(i, &mut r).map(|_| r));
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
