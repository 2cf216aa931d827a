//! The wiring of a handler and a configuration ([`ServerConfig`], in `config.rs`) into a
//! listener.
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
use std::rc::Rc;

use super::cgi::CgiConfig;
pub use super::config::ServerConfig;
use super::config::Shared;
use super::conn::HttpConn;
use super::exchange::Spares;
use super::handler::Handler;
use super::static_files::StaticFiles;

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
                epoch: std::time::Instant::now(),
            }),
        }
    }

    /// The file server of `config`: static files from `config.root` (PUT/DELETE when
    /// `config.writable`), and CGI scripts under `config.cgi_dir` when set.
    pub fn static_files(config: ServerConfig) -> io::Result<Server> {
        Server::static_files_with(config, |files| files)
    }

    /// [`static_files`](Self::static_files) with the file server wrapped by `wrap` (a
    /// handler that answers some requests itself — a WebSocket upgrade — and hands the
    /// rest to the files).
    pub fn static_files_with<H: Handler>(
        config: ServerConfig,
        wrap: impl FnOnce(StaticFiles) -> H,
    ) -> io::Result<Server> {
        let mut files = StaticFiles::new(&config.root)?
            .writable(config.writable)
            .file_cache(config.file_cache)
            .show_hidden(config.show_hidden);
        if let Some(dir) = &config.cgi_dir {
            files = files.hide(config.root.join(dir.trim_matches('/')));
        }
        Server::with_files(config, wrap(files))
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
