//! HTTP/1.1 server: the connection state machine ([`conn`]), server configuration
//! ([`server`]), the handler API ([`handler`]) and router ([`router`]), static files
//! ([`static_files`]) and CGI ([`cgi`]). See `docs/http.md`.

mod addrs;
pub mod cgi;
#[cfg(feature = "cli")]
pub mod cli;
mod config;
pub mod conn;
mod exchange;
mod file_cache;
pub mod fuzz;
pub mod handler;
mod listing;
mod mime;
mod parse;
pub mod router;
pub mod server;
mod simd;
pub mod static_files;
pub mod url;
mod wire;

pub use conn::{HttpConn, HttpTimer};
pub use handler::{Body, BodyMode, BodyPart, BodySink, BodyStream, Handler, Request, Response};
pub use router::Router;
pub use server::{Server, ServerConfig};
pub use static_files::StaticFiles;

/// Parses one request head exactly as the connection does (limits from `config`, header
/// ranges into `headers`) and returns its length, `None` while incomplete, or the status to
/// reject it with: the head parser alone, for benchmarks and fuzzing.
#[doc(hidden)]
pub fn parse_request_head(
    buf: &[u8],
    config: &ServerConfig,
    headers: &mut Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
) -> Result<Option<usize>, u16> {
    wire::parse_head(buf, config, headers).map(|head| head.map(|h| h.len))
}
