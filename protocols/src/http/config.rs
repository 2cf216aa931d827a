//! The HTTP server's configuration ([`ServerConfig`]: limits, timeouts, root, CGI,
//! writability, all with defaults) and the state the connections of one listener share
//! ([`Shared`]). Both `conn` and `server` import this module; neither imports the other's
//! internals through it.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::Duration;

use super::cgi::CgiConfig;
use super::exchange::Spares;
use super::handler::Handler;

/// Limits and timeouts of the HTTP server. `ServerConfig::default()` suits a public server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest request head (request line + headers) in bytes: 431 beyond.
    pub max_head: usize,
    /// Most header fields in one request: 431 beyond.
    pub max_headers: usize,
    /// Longest request-target: 414 beyond.
    pub max_target: usize,
    /// Largest body collected in memory for a handler ([`BodyMode::Buffer`](super::BodyMode)):
    /// 413 beyond.
    pub max_body: u64,
    /// Largest body streamed as it arrives (to a [`BodySink`](super::BodySink) such as a PUT
    /// upload, or to a CGI script): 413 beyond.
    pub max_upload: u64,
    /// Time allowed to receive a whole request head once its first byte arrived (slowloris
    /// defence): 408 and close.
    pub header_timeout: Duration,
    /// How long an idle keep-alive connection is kept open between requests.
    pub keep_alive_timeout: Duration,
    /// Longest pause while receiving a request body: 408 and close.
    pub body_timeout: Duration,
    /// Requests served on one connection before it is closed (`Connection: close` on the last).
    pub max_requests_per_conn: u64,
    /// Value of the `Server` header (empty: none).
    pub server_name: String,
    /// Document root for static files and CGI.
    pub root: PathBuf,
    /// CGI scripts directory under the root (e.g. `cgi-bin`), if CGI is on.
    pub cgi_dir: Option<String>,
    /// Time limit of one CGI script run; the script and every process it started (its
    /// process group) are killed then.
    pub cgi_timeout: Duration,
    /// Most CGI scripts running at once on one reactor thread: beyond it a request for a
    /// script is answered 503 with `Retry-After`.
    pub max_cgi_scripts: usize,
    /// Serve, list and write dot-files and dot-directories (`.git/`, `.env`); hidden (404,
    /// left out of listings) by default.
    pub show_hidden: bool,
    /// Whether PUT and DELETE may change files under the root.
    pub writable: bool,
    /// Keep small files in memory between requests (see `docs/http.md`: an answer is at most
    /// a second older than the file, and never older than its status-change time).
    pub file_cache: bool,
    /// Responses counted by status class, for the metrics endpoint (`None`: not counted).
    pub counters: Option<std::sync::Arc<crate::ops::HttpCounters>>,
    /// The access log its responses go to, one line each in Combined Log Format.
    pub access_log: Option<crate::ops::LogWriter>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_head: 16 * 1024,
            max_headers: 100,
            max_target: 8 * 1024,
            max_body: 8 * 1024 * 1024,
            max_upload: 1024 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_requests_per_conn: u64::MAX,
            server_name: "netreactor".to_string(),
            root: PathBuf::from("."),
            cgi_dir: None,
            cgi_timeout: Duration::from_secs(30),
            max_cgi_scripts: 64,
            show_hidden: false,
            writable: false,
            file_cache: true,
            counters: None,
            access_log: None,
        }
    }
}

/// What the connections of one listener share: the configuration, the handler, CGI.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    pub(crate) handler: Box<dyn Handler>,
    pub(crate) cgi: Option<CgiConfig>,
    /// `Server: ...\r\n`, precomputed (empty when no server name).
    pub(crate) server_line: Vec<u8>,
    /// The canonical root (for CGI meta-variables).
    pub(crate) root: PathBuf,
    /// Per-request storage not lent to a connection at the moment.
    pub(crate) spares: Spares,
    /// CGI scripts running now (bounded by `config.max_cgi_scripts`).
    pub(crate) cgi_running: Cell<usize>,
    /// Connection deadlines are milliseconds since this instant (8 bytes each where an
    /// `Instant` takes 16: every idle connection carries two).
    pub(crate) epoch: std::time::Instant,
}
