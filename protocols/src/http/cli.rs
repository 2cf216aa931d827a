//! Command-line flags of the http server and its start-up.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use netreactor::{ListenOptions, Reactor};

use super::server::{Server, ServerConfig};

/// Flags of the http server (`--http`, `--root`, `--cgi-dir`, `--writable`, limits and
/// timeouts as `--http-*`).
#[derive(clap::Args, Clone, Debug)]
pub struct HttpArgs {
    /// Address the http server listens on.
    #[arg(
        id = "http_addr",
        long = "http",
        value_name = "ADDR",
        default_value = "127.0.0.1:8000"
    )]
    pub addr: SocketAddr,
    /// Do not start the http server.
    #[arg(id = "http_disabled", long = "no-http")]
    pub disabled: bool,
    /// Address the HTTPS server listens on (the same files, CGI with `HTTPS=on`, WebSocket
    /// upgrades as `wss://`), with `--tls-cert`/`--tls-key` or a self-signed certificate.
    #[arg(
        id = "https_addr",
        long = "https",
        value_name = "ADDR",
        default_value = "127.0.0.1:8443"
    )]
    pub https: SocketAddr,
    /// Do not start the HTTPS server.
    #[arg(id = "https_disabled", long = "no-https")]
    pub no_https: bool,
    /// Directory served over HTTP.
    #[arg(long = "root", value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// Run executables under this directory of the root as CGI scripts (URL `/<D>/...`).
    #[arg(long = "cgi-dir", value_name = "D")]
    pub cgi_dir: Option<String>,
    /// Allow PUT (create/replace) and DELETE under the root.
    #[arg(long = "writable")]
    pub writable: bool,
    /// Serve, list and write dot-files and dot-directories (`.git/`, `.env`) over HTTP and
    /// FTP: hidden (HTTP 404, FTP 550) by default.
    #[arg(long = "show-hidden")]
    pub show_hidden: bool,
    /// Most CGI scripts running at once per worker thread (503 beyond).
    #[arg(long = "cgi-max-scripts", value_name = "N", default_value_t = ServerConfig::default().max_cgi_scripts)]
    pub cgi_max_scripts: usize,
    /// Read every file from disk on every request (no small-file cache).
    #[arg(long = "no-file-cache")]
    pub no_file_cache: bool,
    /// Largest request head in bytes (431 beyond).
    #[arg(long = "http-max-head", value_name = "BYTES", default_value_t = ServerConfig::default().max_head)]
    pub max_head: usize,
    /// Most header fields per request (431 beyond).
    #[arg(long = "http-max-headers", value_name = "N", default_value_t = ServerConfig::default().max_headers)]
    pub max_headers: usize,
    /// Longest request-target (414 beyond).
    #[arg(long = "http-max-target", value_name = "BYTES", default_value_t = ServerConfig::default().max_target)]
    pub max_target: usize,
    /// Largest request body held in memory: handler bodies, chunked CGI input (413 beyond).
    #[arg(long = "http-max-body", value_name = "BYTES", default_value_t = ServerConfig::default().max_body)]
    pub max_body: u64,
    /// Largest streamed body: PUT uploads, CGI input with a length (413 beyond).
    #[arg(long = "http-max-upload", value_name = "BYTES", default_value_t = ServerConfig::default().max_upload)]
    pub max_upload: u64,
    /// Seconds allowed to send a request head (408 beyond).
    #[arg(
        long = "http-header-timeout",
        value_name = "SECS",
        default_value_t = 10.0
    )]
    pub header_timeout: f64,
    /// Seconds an idle keep-alive connection is kept.
    #[arg(
        long = "http-keep-alive-timeout",
        value_name = "SECS",
        default_value_t = 60.0
    )]
    pub keep_alive_timeout: f64,
    /// Longest pause in seconds while a request body arrives (408 beyond).
    #[arg(
        long = "http-body-timeout",
        value_name = "SECS",
        default_value_t = 30.0
    )]
    pub body_timeout: f64,
    /// Seconds a CGI script may run before it is killed (504 if it sent nothing).
    #[arg(long = "cgi-timeout", value_name = "SECS", default_value_t = 30.0)]
    pub cgi_timeout: f64,
    /// Connections to the http server start with a PROXY protocol header (v1 or v2): every
    /// one, or with `=ADDR[/PREFIX],...` those from these balancers (see docs/deploy.md).
    #[arg(
        id = "http_proxy_protocol",
        long = "http-proxy-protocol",
        value_name = "TRUSTED",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        value_parser = crate::proxy_cli::parse_proxy_protocol
    )]
    pub proxy_protocol: Option<netreactor::ProxyProtocol>,
}

fn secs(s: f64) -> io::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad duration {s}")))
}

impl HttpArgs {
    /// The server configuration these flags describe, with this worker's counters and access
    /// log ([`WorkerOps::current`](crate::ops::cli::WorkerOps::current)).
    pub fn config(&self) -> io::Result<ServerConfig> {
        let ops = crate::ops::cli::WorkerOps::current();
        Ok(ServerConfig {
            max_head: self.max_head,
            max_headers: self.max_headers,
            max_target: self.max_target,
            max_body: self.max_body,
            max_upload: self.max_upload,
            header_timeout: secs(self.header_timeout)?,
            keep_alive_timeout: secs(self.keep_alive_timeout)?,
            body_timeout: secs(self.body_timeout)?,
            cgi_timeout: secs(self.cgi_timeout)?,
            root: self.root.clone(),
            cgi_dir: self.cgi_dir.clone(),
            writable: self.writable,
            file_cache: !self.no_file_cache,
            show_hidden: self.show_hidden,
            max_cgi_scripts: self.cgi_max_scripts,
            counters: Some(ops.counters.http.clone()),
            access_log: ops.access_log,
            ..ServerConfig::default()
        })
    }
}

/// Starts the http file server (static files, CGI) on `reactor`.
pub fn start(reactor: &mut Reactor, args: &HttpArgs, listen: &ListenOptions) -> io::Result<()> {
    let server = Server::static_files(args.config()?)?;
    start_server(reactor, args, listen, &server)
}

/// The page a plain HTTP request to the HTTPS port gets, in plaintext (as nginx answers).
pub const PLAIN_HTTP_TO_HTTPS: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/html\r\nContent-Length: 109\r\nConnection: close\r\n\r\n\
<html><body><h1>400 Bad Request</h1>\n<p>The plain HTTP request was sent to the HTTPS port.</p></body></html>\n";

/// Starts `server` on `args.addr`, and over TLS on `args.https` when `tls` is given (the
/// acceptor's configuration should offer ALPN `http/1.1`).
pub fn start_server(
    reactor: &mut Reactor,
    args: &HttpArgs,
    listen: &ListenOptions,
    server: &Server,
) -> io::Result<()> {
    let listen = listen.clone().label("http");
    let bound = reactor.listen_tcp_with(args.addr, &listen, server.factory())?;
    log_serving(args, bound, "http: serving");
    Ok(())
}

/// Starts `server` over TLS on `args.https`: a plain request there gets
/// [`PLAIN_HTTP_TO_HTTPS`].
#[cfg(feature = "tls")]
pub fn start_https(
    reactor: &mut Reactor,
    args: &HttpArgs,
    listen: &ListenOptions,
    server: &Server,
    tls: netreactor::tls::TlsAcceptor,
) -> io::Result<()> {
    let tls = tls.plaintext_reply(PLAIN_HTTP_TO_HTTPS);
    let listen = listen.clone().label("https");
    let bound = reactor.listen_tls_with(args.https, &listen, tls, server.factory())?;
    log_serving(args, bound, "https: serving");
    Ok(())
}

fn log_serving(args: &HttpArgs, bound: SocketAddr, what: &str) {
    let root = std::fs::canonicalize(&args.root).unwrap_or_else(|_| args.root.clone());
    tracing::info!(
        addr = %bound,
        root = %root.display(),
        cgi = args.cgi_dir.as_deref().unwrap_or("off"),
        writable = args.writable,
        show_hidden = args.show_hidden,
        "{what}"
    );
}
