//! Fuzz entry points of the ftp protocol (shared by `fuzz/` and the corpus-replay test).

/// `(target name, entry point)` for every ftp fuzz target.
pub const TARGETS: &[crate::FuzzTarget] = &[];
