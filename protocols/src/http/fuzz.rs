//! Fuzz entry points of the http protocol (shared by `fuzz/` and the corpus-replay test).

/// `(target name, entry point)` for every http fuzz target.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[];
