//! Fuzz entry points of the telnet protocol (shared by `fuzz/` and the corpus-replay test).

/// `(target name, entry point)` for every telnet fuzz target.
pub const TARGETS: &[crate::FuzzTarget] = &[];
