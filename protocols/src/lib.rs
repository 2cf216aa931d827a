//! # netreactor-protocols
//!
//! Four protocols on the [`netreactor`] core, each in three parts — `parse` (sans-IO,
//! fuzzed, benched), `conn` (the state machine implementing [`netreactor::Protocol`]) and
//! `server` (configuration and wiring) — behind one cargo feature each:
//!
//! * [`http`]: HTTP/1.1 server (static files, CGI, handler API and router).
//! * [`websocket`]: RFC 6455 + RFC 7692 server and client.
//! * [`ftp`]: RFC 959/2389/2428/3659 server with pyftpdlib-style permissions.
//! * [`telnet`]: RFC 854/855/1143 chat server with built-in commands.
//!
//! The `netreactor` binary serves all four; `loadgen` is the load generator.

#![warn(missing_docs)]

#[cfg(feature = "ftp")]
pub mod ftp;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "loadgen")]
pub mod loadgen;
pub mod ops;
#[cfg(feature = "cli")]
pub mod proxy_cli;
#[cfg(feature = "cli")]
pub mod restart;
#[cfg(feature = "telnet")]
pub mod telnet;
#[cfg(all(feature = "tls", feature = "cli"))]
pub mod tls_setup;
#[cfg(feature = "websocket")]
pub mod websocket;

/// A fuzz target: its name (the file in `fuzz/fuzz_targets/`) and its entry point.
pub type FuzzTarget = (&'static str, fn(&[u8]));

/// Every fuzz target's entry point, by the name of its file in `fuzz/fuzz_targets/`. The
/// corpus-replay test runs each over `fuzz/corpus/<name>/` on the stable toolchain.
pub fn fuzz_targets() -> Vec<FuzzTarget> {
    let mut all: Vec<FuzzTarget> = vec![
        ("core_echo", netreactor::testing::fuzz::echo_ops),
        ("proxy_header", netreactor::testing::fuzz::proxy_header),
    ];
    #[cfg(feature = "tls")]
    all.push(("core_tls", netreactor::testing::fuzz_tls));
    #[cfg(feature = "http")]
    all.extend_from_slice(http::fuzz::TARGETS);
    #[cfg(feature = "websocket")]
    all.extend_from_slice(websocket::fuzz::TARGETS);
    #[cfg(feature = "ftp")]
    all.extend_from_slice(ftp::fuzz::TARGETS);
    #[cfg(all(feature = "ftp", feature = "tls"))]
    all.extend_from_slice(ftp::fuzz::TLS_TARGETS);
    #[cfg(feature = "telnet")]
    all.extend_from_slice(telnet::fuzz::TARGETS);
    all
}
