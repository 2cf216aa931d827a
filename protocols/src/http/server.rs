//! Server configuration (limits, timeouts, root, CGI, writability — all with defaults) and
//! the wiring of a handler into a listener.
//!
//! ```no_run
//! use netreactor::Reactor;
//! use netreactor_protocols::http::{Request, Response, Server, ServerConfig};
//!
//! let mut reactor = Reactor::new()?;
//! let server = Server::new(ServerConfig::default(), |_: &Request| {
//!     Response::text(200, "Hello, World!")
//! });
//! reactor.listen_tcp("127.0.0.1:8000".parse().unwrap(), server.factory())?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::Cell;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use super::cgi::CgiConfig;
use super::conn::HttpConn;
use super::exchange::Spares;
use super::handler::Handler;
use super::static_files::StaticFiles;

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
}

/// An HTTP server: a configuration and a handler, ready to be attached to listeners.
/// Cheap to clone (the state is shared within one reactor thread).
#[derive(Clone)]
pub struct Server {
    shared: Rc<Shared>,
}

impl Server {
    /// A server answering every request with `handler` (no static files, no CGI).
    pub fn new(config: ServerConfig, handler: impl Handler) -> Server {
        let server_line = if config.server_name.is_empty() {
            Vec::new()
        } else {
            format!("Server: {}\r\n", config.server_name).into_bytes()
        };
        let root = std::fs::canonicalize(&config.root).unwrap_or_else(|_| config.root.clone());
        Server {
            shared: Rc::new(Shared {
                config,
                handler: Box::new(handler),
                cgi: None,
                server_line,
                root,
                spares: Spares::default(),
                cgi_running: Cell::new(0),
            }),
        }
    }

    /// The file server of `config`: static files from `config.root` (PUT/DELETE when
    /// `config.writable`), and CGI scripts under `config.cgi_dir` when set.
    pub fn static_files(config: ServerConfig) -> io::Result<Server> {
        let mut files = StaticFiles::new(&config.root)?
            .writable(config.writable)
            .file_cache(config.file_cache)
            .show_hidden(config.show_hidden);
        if let Some(dir) = &config.cgi_dir {
            files = files.hide(config.root.join(dir.trim_matches('/')));
        }
        Server::with_files(config, files)
    }

    /// Like [`static_files`](Self::static_files) with any handler in place of the file
    /// server (CGI still answers under `config.cgi_dir`).
    pub fn with_files(config: ServerConfig, handler: impl Handler) -> io::Result<Server> {
        let cgi = match &config.cgi_dir {
            Some(dir) => Some(CgiConfig::under_root(
                &config.root,
                dir,
                config.cgi_timeout,
            )?),
            None => None,
        };
        let mut server = Server::new(config, handler);
        Rc::get_mut(&mut server.shared)
            .expect("fresh server is not shared")
            .cgi = cgi;
        Ok(server)
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// A connection state machine for one accepted connection.
    pub fn connection(&self) -> HttpConn {
        HttpConn::new(self.shared.clone())
    }

    /// The factory to give [`Reactor::listen_tcp`](netreactor::Reactor::listen_tcp).
    pub fn factory(&self) -> impl FnMut() -> HttpConn + 'static {
        let server = self.clone();
        move || server.connection()
    }
}
