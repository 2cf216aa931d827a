//! Fuzz entry points of the websocket protocol (shared by `fuzz/` and the corpus-replay test).

/// `(target name, entry point)` for every websocket fuzz target.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[];
