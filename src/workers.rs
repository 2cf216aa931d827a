//! Thread-per-core.
use std::io;
use crate::Reactor;
/// Runs `n` reactors on `n` threads.
pub fn run_workers<S>(n: usize, setup: S) -> io::Result<()>
where S: Fn(usize, &mut Reactor) -> io::Result<()> + Send + Sync + 'static { let _ = (n, setup); todo!() }
