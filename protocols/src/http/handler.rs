//! The handler API: what a user's code receives ([`Request`]) and gives back ([`Response`]).
//!
//! A [`Handler`] runs on the reactor's thread when a request is complete (its body buffered as
//! [`Bytes`]), or — when [`Handler::body_mode`] asks for it — receives the body chunk by chunk
//! through a [`BodySink`] as it arrives. It answers with a [`Response`] whose body is
//! [`Bytes`], a file range (sent with `sendfile`), or a chunked [`BodyStream`]; or it takes
//! the connection over with [`Response::upgrade`] (WebSocket).
//!
//! This module does no IO: the connection state machine in [`super::conn`] drives it.

use std::fmt;
use std::fs::File;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use netreactor::BoxedProtocol;

use super::addrs::Addrs;
use super::url::{normalize_path, percent_decode_bytes};

/// A request as a handler sees it. Header names and values are views into the connection's
/// read buffer (no copy); the path is percent-decoded and has its dot-segments removed.
#[derive(Clone, Default)]
pub struct Request {
    pub(crate) method: Bytes,
    pub(crate) target: Bytes,
    pub(crate) path: String,
    pub(crate) query: Option<Bytes>,
    pub(crate) version_minor: u8,
    pub(crate) headers: Vec<(Bytes, Bytes)>,
    pub(crate) body: Bytes,
    pub(crate) addrs: Addrs,
}

impl Request {
    /// A request with nothing in it.
    pub(crate) const EMPTY: Request = Request {
        method: Bytes::new(),
        target: Bytes::new(),
        path: String::new(),
        query: None,
        version_minor: 0,
        headers: Vec::new(),
        body: Bytes::new(),
        addrs: Addrs::Unknown,
    };

    /// A request built by hand (to unit-test a handler): `target` is an origin-form target
    /// such as `/a%20b?x=1`; its path is decoded and normalised as the server would.
    pub fn new(method: &str, target: &str) -> Request {
        let mut req = Request {
            method: Bytes::copy_from_slice(method.as_bytes()),
            target: Bytes::copy_from_slice(target.as_bytes()),
            version_minor: 1,
            ..Request::default()
        };
        req.set_target_parts();
        req
    }

    /// Adds a header (builder style, for tests).
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((
            Bytes::copy_from_slice(name.as_bytes()),
            Bytes::copy_from_slice(value.as_bytes()),
        ));
        self
    }

    /// Sets the body (builder style, for tests).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Request {
        self.body = body.into();
        self
    }

    /// Splits `self.target` into the decoded path and the raw query. False when the path
    /// is not origin-form (`/...`) nor absolute-form, or does not decode (400).
    pub(crate) fn set_target_parts(&mut self) -> bool {
        let target = self.target.clone();
        let (path, query) = match memchr::memchr(b'?', &target) {
            Some(i) => (&target[..i], Some(target.slice(i + 1..))),
            None => (&target[..], None),
        };
        // Absolute-form (`http://host/path`): keep the path part only.
        let path = strip_scheme_authority(path);
        self.query = query;
        self.path.clear();
        normalize_path_into(path, &mut self.path)
    }

    /// The method, e.g. `GET` (case-sensitive, as RFC 9110 says).
    pub fn method(&self) -> &str {
        std::str::from_utf8(&self.method).unwrap_or("")
    }

    /// The request-target exactly as sent.
    pub fn raw_target(&self) -> &[u8] {
        &self.target
    }

    /// The path: percent-decoded, `.` and `..` segments removed (never above `/`), always
    /// starting with `/`. Bytes that are not UTF-8 after decoding are replaced by U+FFFD
    /// (the file server maps the raw bytes itself). A request whose path does not decode (a
    /// malformed escape, a NUL) or is not origin- or absolute-form is answered 400 by the
    /// connection before any handler sees it.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw (still percent-encoded) query, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.query
            .as_ref()
            .and_then(|q| std::str::from_utf8(q).ok())
    }

    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub fn version_minor(&self) -> u8 {
        self.version_minor
    }

    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    /// The first header named `name` as UTF-8 text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every header, in order, as `(name, value)`.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers.iter().map(|(n, v)| (&n[..], &v[..]))
    }

    /// True when the comma-separated list header `name` contains `token` (case-insensitive).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .any(|(_, v)| {
                v.split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
            })
    }

    /// The body (empty when there was none, or when it was streamed to a [`BodySink`]).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The client's address (looked up on each call: a `getpeername(2)`; keep the value if
    /// you need it twice). Behind a balancer with the PROXY protocol, the client's address
    /// the header gave (no system call).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.addrs.peer()
    }

    /// The server's address this request arrived on (a `getsockname(2)` on each call).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addrs.local()
    }

    /// True when the client asks to switch to `protocol` (`Connection: upgrade` and
    /// `Upgrade: <protocol>`), e.g. `is_upgrade("websocket")`.
    pub fn is_upgrade(&self, protocol: &str) -> bool {
        self.header_has_token("connection", "upgrade") && self.header_has_token("upgrade", protocol)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("path", &self.path)
            .field("query", &self.query())
            .field("headers", &self.headers.len())
            .field("body", &self.body.len())
            .finish()
    }
}

/// Drops `scheme://authority` from an absolute-form target, keeping its path (the one rule,
/// used by the connection and the file server alike).
pub(crate) fn strip_scheme_authority(path: &[u8]) -> &[u8] {
    if path.first() == Some(&b'/') || path.is_empty() {
        return path;
    }
    if let Some(i) = memchr::memmem::find(path, b"://") {
        let rest = &path[i + 3..];
        return match memchr::memchr(b'/', rest) {
            Some(j) => &rest[j..],
            None => b"/",
        };
    }
    path
}

/// Decodes and normalises a raw path into `out`: `/`-separated segments, `.` dropped, `..`
/// removes the previous segment (never going above the root), empty segments collapsed.
/// Keeps a trailing `/`. Decoding and normalisation are those of [`super::url`]
/// (`percent_decode_bytes`, `normalize_path`), strict:
/// false (and `out` is `/`) when the path has a malformed escape or a NUL, or does not
/// start with `/`.
pub(crate) fn normalize_path_into(raw: &[u8], out: &mut String) -> bool {
    // Fast path (no allocation): an already-normal ASCII path.
    if raw.first() == Some(&b'/')
        && raw.is_ascii()
        && !raw.contains(&b'%')
        && !raw.contains(&0)
        && memchr::memmem::find(raw, b"/.").is_none()
        && memchr::memmem::find(raw, b"//").is_none()
    {
        out.push_str(std::str::from_utf8(raw).expect("ascii"));
        return true;
    }
    let decoded = match percent_decode_bytes(raw) {
        Ok(d) if raw.first() == Some(&b'/') => d,
        _ => {
            out.push('/');
            return false;
        }
    };
    // The dot-segment removal of `url.rs` too: one set of rules. A `..` above the root is
    // clamped here (the path a handler sees); the file server refuses such targets itself.
    let text = String::from_utf8_lossy(&decoded);
    out.push_str(&normalize_path(&text).path);
    true
}

/// A response body.
pub enum Body {
    /// No body (`Content-Length: 0`, or nothing at all for 1xx/204/304).
    Empty,
    /// A body in memory, sent with `Content-Length`.
    Bytes(Bytes),
    /// `len` bytes of `file` from `offset`, sent with `sendfile` and `Content-Length`.
    File {
        /// The open file.
        file: Rc<File>,
        /// First byte.
        offset: u64,
        /// Number of bytes.
        len: u64,
    },
    /// A body produced piece by piece, sent with `Transfer-Encoding: chunked` (HTTP/1.1)
    /// or until close (HTTP/1.0).
    Stream(Box<dyn BodyStream>),
    /// Pieces in memory and file ranges, in order, sent with their total `Content-Length`
    /// (a `multipart/byteranges` answer, for one).
    Parts(Vec<BodyPart>),
}

/// One piece of a [`Body::Parts`].
pub enum BodyPart {
    /// Bytes in memory.
    Bytes(Bytes),
    /// `len` bytes of `file` from `offset` (sent with `sendfile`).
    File {
        /// The open file.
        file: Rc<File>,
        /// First byte.
        offset: u64,
        /// Number of bytes.
        len: u64,
    },
}

impl BodyPart {
    /// The length of this piece.
    pub fn len(&self) -> u64 {
        match self {
            BodyPart::Bytes(b) => b.len() as u64,
            BodyPart::File { len, .. } => *len,
        }
    }

    /// True for an empty piece.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Body {
    /// The length when known in advance.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len() as u64),
            Body::File { len, .. } => Some(*len),
            Body::Stream(_) => None,
            Body::Parts(parts) => Some(parts.iter().map(BodyPart::len).sum()),
        }
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Body::File { offset, len, .. } => write!(f, "File({offset}+{len})"),
            Body::Stream(_) => f.write_str("Stream"),
            Body::Parts(p) => write!(f, "Parts({})", p.len()),
        }
    }
}

/// A streamed response body, pulled by the connection whenever its write queue has room.
pub trait BodyStream: 'static {
    /// The next piece: `Some(bytes)` (empty pieces are skipped), or `None` at the end.
    fn next_chunk(&mut self) -> Option<Bytes>;
}

impl<I: Iterator<Item = Bytes> + 'static> BodyStream for I {
    fn next_chunk(&mut self) -> Option<Bytes> {
        self.next()
    }
}

/// A response: status, headers, body; or a takeover of the connection.
pub struct Response {
    pub(crate) status: u16,
    pub(crate) reason: Option<Bytes>,
    pub(crate) headers: Vec<(Bytes, Bytes)>,
    pub(crate) body: Body,
    pub(crate) upgrade: Option<BoxedProtocol>,
    pub(crate) close: bool,
}

impl Response {
    /// A response with `status` and no body.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            reason: None,
            headers: Vec::new(),
            body: Body::Empty,
            upgrade: None,
            close: false,
        }
    }

    /// `status` with a `text/plain` body.
    pub fn text(status: u16, text: impl Into<Bytes>) -> Response {
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(text.into())
    }

    /// `status` with a `text/html` body.
    pub fn html(status: u16, html: impl Into<Bytes>) -> Response {
        Response::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(html.into())
    }

    /// A short HTML error page for `status`.
    pub fn error(status: u16) -> Response {
        let reason = reason_phrase(status);
        Response::html(
            status,
            format!(
                "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\
                 <body><h1>{status} {reason}</h1></body></html>\n"
            ),
        )
    }

    /// 200 with `len` bytes of `file` from `offset` (sent with `sendfile`; up to 16 KiB read
    /// into the response buffer behind the head instead).
    pub fn file(file: Rc<File>, offset: u64, len: u64) -> Response {
        Response::new(200).with_body(Body::File { file, offset, len })
    }

    /// 200 with a chunked body pulled from `stream`.
    pub fn stream(stream: impl BodyStream) -> Response {
        Response::new(200).with_body(Body::Stream(Box::new(stream)))
    }

    /// `101 Switching Protocols`: after the head is written the connection is handed to
    /// `protocol` ([`Context::switch_to`](netreactor::Context::switch_to)): its `on_open`
    /// runs, then it gets whatever input followed the request (see `docs/http.md`).
    pub fn upgrade(protocol: BoxedProtocol) -> Response {
        let mut r = Response::new(101);
        r.upgrade = Some(protocol);
        r
    }

    /// Adds a header (several with the same name are all sent).
    pub fn header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body to `bytes`.
    pub fn body(self, bytes: impl Into<Bytes>) -> Response {
        self.with_body(Body::Bytes(bytes.into()))
    }

    /// Sets the body.
    pub fn with_body(mut self, body: Body) -> Response {
        self.body = body;
        self
    }

    /// Changes the status (e.g. 206 for a [`Response::file`] range the handler chose).
    pub fn with_status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    /// Sets the reason phrase (default: the standard one for the status). Control
    /// characters are replaced by spaces.
    pub fn reason(mut self, reason: &str) -> Response {
        let clean: Vec<u8> = reason
            .bytes()
            .map(|b| if b < b' ' || b == 0x7f { b' ' } else { b })
            .collect();
        self.reason = Some(Bytes::from(clean));
        self
    }

    /// Closes the connection after this response (`Connection: close`).
    pub fn close(mut self) -> Response {
        self.close = true;
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first header named `name` (case-insensitive).
    pub fn get_header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    /// The body.
    pub fn get_body(&self) -> &Body {
        &self.body
    }

    /// True when this response takes the connection over.
    pub fn is_upgrade(&self) -> bool {
        self.upgrade.is_some()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body", &self.body)
            .field("upgrade", &self.upgrade.is_some())
            .finish()
    }
}

/// Where a request body goes, chosen by [`Handler::body_mode`] once the head has arrived.
pub enum BodyMode {
    /// Collect the body (up to the configured limit, 413 beyond) into [`Request::body`],
    /// then call [`Handler::handle`].
    Buffer,
    /// Hand each piece to this sink as it arrives; its [`BodySink::finish`] gives the
    /// response.
    Stream(Box<dyn BodySink>),
    /// Answer at once without reading the body; the connection closes after the response.
    Reject(Response),
}

/// Receives a request body piece by piece (see [`BodyMode::Stream`]). Dropped without
/// [`finish`](BodySink::finish) when the request is abandoned (client gone, timeout, bad
/// framing): clean up in `Drop`.
pub trait BodySink: 'static {
    /// The next piece of the body. An `Err` answers with that response and closes.
    fn data(&mut self, chunk: &[u8]) -> Result<(), Response>;
    /// The body is complete: the response.
    fn finish(self: Box<Self>, req: &Request) -> Response;
}

/// Answers requests. Every `Fn(&Request) -> Response + 'static` is a handler.
pub trait Handler: 'static {
    /// Answers a complete request.
    fn handle(&self, req: &Request) -> Response;

    /// Chooses how the body of `req` (head only, body not yet read) is received. Called
    /// only for requests that have a body. Default: [`BodyMode::Buffer`].
    fn body_mode(&self, req: &Request) -> BodyMode {
        let _ = req;
        BodyMode::Buffer
    }
}

impl<F: Fn(&Request) -> Response + 'static> Handler for F {
    fn handle(&self, req: &Request) -> Response {
        self(req)
    }
}

impl<H: Handler + ?Sized> Handler for Rc<H> {
    fn handle(&self, req: &Request) -> Response {
        (**self).handle(req)
    }
    fn body_mode(&self, req: &Request) -> BodyMode {
        (**self).body_mode(req)
    }
}

impl Handler for Box<dyn Handler> {
    fn handle(&self, req: &Request) -> Response {
        (**self).handle(req)
    }
    fn body_mode(&self, req: &Request) -> BodyMode {
        (**self).body_mode(req)
    }
}

/// The reason phrase of a status code (RFC 9110 section 15).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> String {
        let mut s = String::new();
        normalize_path_into(raw.as_bytes(), &mut s);
        s
    }

    #[test]
    fn path_normalisation_removes_dot_segments_and_never_climbs_above_root() {
        assert_eq!(norm("/a/b/../c"), "/a/c");
        assert_eq!(norm("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/%2e%2e/%2E%2E/x"), "/x");
        assert_eq!(norm("/a/./b/"), "/a/b/");
        assert_eq!(norm("//a///b"), "/a/b");
        assert_eq!(norm("/"), "/");
        assert_eq!(norm("/a/.."), "/");
        assert_eq!(norm("/a%20b"), "/a b");
    }

    #[test]
    fn path_with_a_malformed_escape_a_nul_or_no_leading_slash_is_refused() {
        for bad in ["/%zz", "/a%4", "/%", "/a%00b", "cgi-bin/x.py", "x"] {
            let mut s = String::new();
            assert!(!normalize_path_into(bad.as_bytes(), &mut s), "{bad}");
            assert_eq!(s, "/");
        }
        let mut s = String::new();
        assert!(normalize_path_into(b"/%41%4a", &mut s));
        assert_eq!(s, "/AJ");
    }

    #[test]
    fn request_splits_query_and_absolute_form() {
        let r = Request::new("GET", "http://example.com/x/y?q=1");
        assert_eq!(r.path(), "/x/y");
        assert_eq!(r.query(), Some("q=1"));
        let r = Request::new("GET", "/a?");
        assert_eq!(r.query(), Some(""));
    }

    #[test]
    fn upgrade_detection_reads_token_lists() {
        let r = Request::new("GET", "/ws")
            .with_header("Connection", "keep-alive, Upgrade")
            .with_header("Upgrade", "WebSocket");
        assert!(r.is_upgrade("websocket"));
        assert!(!Request::new("GET", "/").is_upgrade("websocket"));
    }
}
