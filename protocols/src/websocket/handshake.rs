//! The opening handshake (RFC 6455 section 4): checking a client's upgrade request, building
//! the `101` answer (or the `400`/`403`/`426` refusal), and the client's side of it.
//!
//! The request head itself is parsed by the HTTP parser (`crate::http::parse`); this module
//! only looks at the method, version and header views it produces, so the same checks serve
//! the standalone `--ws` server and upgrades taken over from the HTTP server.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use sha1::{Digest, Sha1};

use super::deflate::{self, DeflateConfig, DeflateParams};

/// The GUID every `Sec-WebSocket-Accept` is derived with (RFC 6455 1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(key);
    h.update(GUID);
    BASE64.encode(h.finalize())
}

/// Why an upgrade request is refused; [`status`](HandshakeError::status) is the HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not `GET`.
    Method,
    /// Not HTTP/1.1 or later.
    HttpVersion,
    /// No `Host` header.
    MissingHost,
    /// `Upgrade: websocket` or `Connection: upgrade` missing.
    NotUpgrade,
    /// `Sec-WebSocket-Version` is not 13 (answered with 426 and the version we speak).
    Version,
    /// `Sec-WebSocket-Key` missing, repeated, or not 16 bytes in base64.
    Key,
    /// The origin check refused the request.
    Origin,
    /// The request head is malformed or too large.
    BadRequest,
}

impl HandshakeError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::Version => 426,
            HandshakeError::Origin => 403,
            _ => 400,
        }
    }

    /// A one-line explanation for the response body.
    pub fn reason(&self) -> &'static str {
        match self {
            HandshakeError::Method => "WebSocket handshake must use GET",
            HandshakeError::HttpVersion => "WebSocket handshake needs HTTP/1.1",
            HandshakeError::MissingHost => "missing Host header",
            HandshakeError::NotUpgrade => "missing Upgrade: websocket / Connection: Upgrade",
            HandshakeError::Version => "unsupported Sec-WebSocket-Version (13 is supported)",
            HandshakeError::Key => "missing or invalid Sec-WebSocket-Key",
            HandshakeError::Origin => "origin not allowed",
            HandshakeError::BadRequest => "malformed request",
        }
    }

    /// The whole HTTP refusal, ready to write (the connection closes after it).
    pub fn response(&self) -> Bytes {
        let status = self.status();
        let phrase = match status {
            426 => "Upgrade Required",
            403 => "Forbidden",
            _ => "Bad Request",
        };
        let extra = if status == 426 {
            "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"
        } else {
            ""
        };
        let body = self.reason();
        Bytes::from(format!(
            "HTTP/1.1 {status} {phrase}\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}\n",
            body.len() + 1
        ))
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for HandshakeError {}

/// A valid upgrade request's WebSocket parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    /// The request target (path and query).
    pub target: String,
    /// `Sec-WebSocket-Key` as sent.
    pub key: String,
    /// `Origin`, when sent (browsers always send it).
    pub origin: Option<String>,
    /// The subprotocols offered in `Sec-WebSocket-Protocol`, in order.
    pub protocols: Vec<String>,
    /// Every `Sec-WebSocket-Extensions` value.
    pub extensions: Vec<String>,
}

fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Checks an upgrade request (RFC 6455 4.2.1) given its method, target, minor HTTP version
/// and headers (name, value).
pub fn check_request<'a>(
    method: &[u8],
    target: &[u8],
    version_minor: u8,
    headers: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<Handshake, HandshakeError> {
    if method != b"GET" {
        return Err(HandshakeError::Method);
    }
    if version_minor < 1 {
        return Err(HandshakeError::HttpVersion);
    }
    let mut hs = Handshake {
        target: String::from_utf8_lossy(target).into_owned(),
        ..Handshake::default()
    };
    let (mut host, mut upgrade, mut connection) = (false, false, false);
    let mut version: Option<&[u8]> = None;
    let mut key: Option<&[u8]> = None;
    let mut keys = 0;
    for (name, value) in headers {
        let text = || String::from_utf8_lossy(value).trim().to_string();
        if name.eq_ignore_ascii_case(b"host") {
            host = true;
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            upgrade |= has_token(value, "websocket");
        } else if name.eq_ignore_ascii_case(b"connection") {
            connection |= has_token(value, "upgrade");
        } else if name.eq_ignore_ascii_case(b"sec-websocket-version") {
            version = Some(match version {
                Some(_) => b"",
                None => value.trim_ascii(),
            });
        } else if name.eq_ignore_ascii_case(b"sec-websocket-key") {
            keys += 1;
            key = Some(value.trim_ascii());
        } else if name.eq_ignore_ascii_case(b"origin") {
            hs.origin = Some(text());
        } else if name.eq_ignore_ascii_case(b"sec-websocket-protocol") {
            hs.protocols.extend(
                text()
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty()),
            );
        } else if name.eq_ignore_ascii_case(b"sec-websocket-extensions") {
            hs.extensions.push(text());
        }
    }
    if !host {
        return Err(HandshakeError::MissingHost);
    }
    if !upgrade || !connection {
        return Err(HandshakeError::NotUpgrade);
    }
    if version != Some(b"13") {
        return Err(HandshakeError::Version);
    }
    let key = match key {
        Some(k) if keys == 1 => k,
        _ => return Err(HandshakeError::Key),
    };
    match BASE64.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(HandshakeError::Key),
    }
    hs.key = String::from_utf8_lossy(key).into_owned();
    Ok(hs)
}

/// A complete request head: its length and the result of checking it.
pub type RequestHead = (usize, Result<Handshake, HandshakeError>);

/// Reads an upgrade request head from the start of `input` (standalone server).
/// `Ok(None)`: incomplete; `Ok(Some((len, check)))`: the head is `len` bytes and `check` is
/// the result of [`check_request`] on it; `Err`: the head is malformed or over `max_head`.
///
/// Only the request line and header fields are split here (no bodies, no chunking: an
/// upgrade request has no body); full HTTP parsing lives in the HTTP module.
pub fn read_request(input: &[u8], max_head: usize) -> Result<Option<RequestHead>, HandshakeError> {
    let Some(end) = memchr::memmem::find(input, b"\r\n\r\n") else {
        if input.len() > max_head {
            return Err(HandshakeError::BadRequest);
        }
        return Ok(None);
    };
    let len = end + 4;
    if len > max_head {
        return Err(HandshakeError::BadRequest);
    }
    // Every line, each with its CRLF: the final split piece (after the last LF) is empty.
    let head = &input[..end + 2];
    let mut lines = head[..head.len() - 1]
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r"));
    let line = lines.next().flatten().ok_or(HandshakeError::BadRequest)?;
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HandshakeError::BadRequest);
    };
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        _ => return Err(HandshakeError::BadRequest),
    };
    if target.is_empty() || method.is_empty() {
        return Err(HandshakeError::BadRequest);
    }
    let mut headers: Vec<(&[u8], &[u8])> = Vec::new();
    for l in lines {
        let l = l.ok_or(HandshakeError::BadRequest)?;
        let colon = memchr::memchr(b':', l).ok_or(HandshakeError::BadRequest)?;
        let name = &l[..colon];
        let valid_name = !name.is_empty()
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let value = &l[colon + 1..];
        if !valid_name || value.iter().any(|&b| b == b'\r' || b == 0) || headers.len() >= 100 {
            return Err(HandshakeError::BadRequest);
        }
        headers.push((name, value.trim_ascii()));
    }
    Ok(Some((len, check_request(method, target, minor, headers))))
}

/// What the server agreed to for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol chosen (sent back in `Sec-WebSocket-Protocol`).
    pub protocol: Option<String>,
    /// The permessage-deflate parameters, when compression was agreed.
    pub deflate: Option<DeflateParams>,
    /// `Sec-WebSocket-Accept`.
    pub accept: String,
}

impl Accepted {
    /// The answer's headers, as `(name, value)` (for the HTTP server's `Response::upgrade`).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("Upgrade", "websocket".to_string()),
            ("Connection", "Upgrade".to_string()),
            ("Sec-WebSocket-Accept", self.accept.clone()),
        ];
        if let Some(p) = &self.protocol {
            h.push(("Sec-WebSocket-Protocol", p.clone()));
        }
        if let Some(d) = &self.deflate {
            h.push(("Sec-WebSocket-Extensions", d.response_header()));
        }
        h
    }

    /// The whole `101 Switching Protocols` head.
    pub fn response(&self) -> Bytes {
        let mut s = String::from("HTTP/1.1 101 Switching Protocols\r\n");
        for (n, v) in self.headers() {
            s.push_str(n);
            s.push_str(": ");
            s.push_str(&v);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        Bytes::from(s)
    }
}

/// Negotiates extensions for a checked request; `protocol` is the subprotocol the
/// application chose (it must be one the client offered).
pub fn accept(
    hs: &Handshake,
    protocol: Option<String>,
    deflate_config: &DeflateConfig,
) -> Accepted {
    Accepted {
        protocol: protocol.filter(|p| hs.protocols.iter().any(|o| o == p)),
        deflate: deflate::negotiate(hs.extensions.iter().map(|s| s.as_str()), deflate_config),
        accept: accept_key(hs.key.as_bytes()),
    }
}

/// A client's request head for `host` and `target`, with a fresh key; returns the head and
/// the key.
pub fn client_request(
    host: &str,
    target: &str,
    protocols: &[&str],
    compress: bool,
    key_bytes: [u8; 16],
) -> (Bytes, String) {
    let key = BASE64.encode(key_bytes);
    let mut s = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if !protocols.is_empty() {
        s.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            protocols.join(", ")
        ));
    }
    if compress {
        s.push_str(&format!(
            "Sec-WebSocket-Extensions: {}\r\n",
            deflate::client_offer()
        ));
    }
    s.push_str("\r\n");
    (Bytes::from(s), key)
}

/// What the client learned from a `101` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientAccepted {
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    /// permessage-deflate parameters, when the server accepted compression.
    pub deflate: Option<DeflateParams>,
}

/// Why a client's handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientHandshakeError {
    /// The head is malformed or larger than the limit.
    Malformed,
    /// The server answered with another status (the code).
    Status(u16),
    /// `Upgrade`, `Connection` or `Sec-WebSocket-Accept` wrong.
    BadAccept,
    /// The server chose an extension or subprotocol the client did not offer.
    BadExtension,
}

/// Parses the server's answer head (everything up to and including the empty line) and
/// checks it against the key sent (RFC 6455 4.1, the client's checks).
pub fn check_response(
    head: &[u8],
    key: &str,
    offered_protocols: &[&str],
    offered_deflate: bool,
) -> Result<ClientAccepted, ClientHandshakeError> {
    let text = std::str::from_utf8(head).map_err(|_| ClientHandshakeError::Malformed)?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or(ClientHandshakeError::Malformed)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or(ClientHandshakeError::Malformed)?;
    if !version.starts_with("HTTP/1.") {
        return Err(ClientHandshakeError::Malformed);
    }
    if code != 101 {
        return Err(ClientHandshakeError::Status(code));
    }
    let (mut upgrade, mut connection, mut accept_ok) = (false, false, false);
    let mut out = ClientAccepted::default();
    let want = accept_key(key.as_bytes());
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(ClientHandshakeError::Malformed)?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(value.as_bytes(), "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(value.as_bytes(), "upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accept_ok = value == want;
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
            if !offered_deflate {
                return Err(ClientHandshakeError::BadExtension);
            }
            out.deflate =
                deflate::client_accept(value).map_err(|_| ClientHandshakeError::BadExtension)?;
        } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
            if !offered_protocols.contains(&value) {
                return Err(ClientHandshakeError::BadExtension);
            }
            out.protocol = Some(value.to_string());
        }
    }
    if !(upgrade && connection && accept_ok) {
        return Err(ClientHandshakeError::BadAccept);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Result<Handshake, HandshakeError> {
        check_request(
            b"GET",
            b"/chat",
            1,
            headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        )
    }

    const GOOD: &[(&str, &str)] = &[
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "keep-alive, Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Origin", "http://example.com"),
        ("Sec-WebSocket-Protocol", "chat, superchat"),
        ("Sec-WebSocket-Version", "13"),
    ];

    fn without(name: &str) -> Vec<(&'static str, &'static str)> {
        GOOD.iter().filter(|(n, _)| *n != name).copied().collect()
    }

    fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut v = without(name);
        v.push((name, value));
        v
    }

    #[test]
    fn the_rfc_example_key_gives_the_rfc_accept() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn a_good_request_is_accepted_with_its_offers() {
        let hs = req(GOOD).unwrap();
        assert_eq!(hs.protocols, ["chat", "superchat"]);
        assert_eq!(hs.origin.as_deref(), Some("http://example.com"));
        let a = accept(&hs, Some("chat".into()), &DeflateConfig::default());
        let head = String::from_utf8(a.response().to_vec()).unwrap();
        assert!(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(head.contains("Sec-WebSocket-Protocol: chat\r\n"));
        assert!(!head.contains("Extensions"));
        // A subprotocol the client did not offer is never sent back.
        assert_eq!(
            accept(&hs, Some("other".into()), &DeflateConfig::default()).protocol,
            None
        );
    }

    #[test]
    fn bad_requests_get_400_and_a_bad_version_426() {
        assert_eq!(
            check_request(
                b"POST",
                b"/",
                1,
                GOOD.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            ),
            Err(HandshakeError::Method)
        );
        assert_eq!(
            check_request(
                b"GET",
                b"/",
                0,
                GOOD.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            ),
            Err(HandshakeError::HttpVersion)
        );
        assert_eq!(req(&without("Host")), Err(HandshakeError::MissingHost));
        assert_eq!(req(&without("Upgrade")), Err(HandshakeError::NotUpgrade));
        assert_eq!(
            req(&with("Connection", "keep-alive")),
            Err(HandshakeError::NotUpgrade)
        );
        assert_eq!(
            req(&without("Sec-WebSocket-Version")),
            Err(HandshakeError::Version)
        );
        assert_eq!(
            req(&with("Sec-WebSocket-Version", "8")),
            Err(HandshakeError::Version)
        );
        assert_eq!(req(&without("Sec-WebSocket-Key")), Err(HandshakeError::Key));
        assert_eq!(
            req(&with("Sec-WebSocket-Key", "c2hvcnQ=")),
            Err(HandshakeError::Key)
        );
        assert_eq!(
            req(&with("Sec-WebSocket-Key", "!!!notbase64!!!!!!!!!!!=")),
            Err(HandshakeError::Key)
        );
        let mut two = GOOD.to_vec();
        two.push(("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(req(&two), Err(HandshakeError::Key));
        for e in [HandshakeError::Key, HandshakeError::NotUpgrade] {
            assert!(e.response().starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        }
        let r = String::from_utf8(HandshakeError::Version.response().to_vec()).unwrap();
        assert!(r.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(r.contains("Sec-WebSocket-Version: 13\r\n"));
    }

    #[test]
    fn compression_is_negotiated_from_the_offer() {
        let hs = req(&with(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits",
        ))
        .unwrap();
        let a = accept(&hs, None, &DeflateConfig::default());
        assert!(a
            .response()
            .windows(38)
            .any(|w| w == b"Sec-WebSocket-Extensions: permessage-d"));
    }

    #[test]
    fn a_raw_head_is_read_at_every_split_point() {
        let raw = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nrest";
        for i in 0..raw.len() - 4 {
            assert_eq!(read_request(&raw[..i], 1000), Ok(None));
        }
        let (len, hs) = read_request(raw, 1000).unwrap().unwrap();
        assert_eq!(len, raw.len() - 4);
        assert_eq!(hs.unwrap().target, "/chat");
        assert_eq!(read_request(raw, 50), Err(HandshakeError::BadRequest));
        assert_eq!(
            read_request(b"GET / HTTP/1.1\r\nbad header\r\n\r\n", 1000),
            Err(HandshakeError::BadRequest)
        );
        assert_eq!(
            read_request(b"GET /  HTTP/1.1\r\n\r\n", 1000),
            Err(HandshakeError::BadRequest)
        );
    }

    #[test]
    fn the_client_checks_the_servers_answer() {
        let (head, key) = client_request("h", "/", &["chat"], true, [7; 16]);
        assert!(head.starts_with(b"GET / HTTP/1.1\r\n"));
        let accept = accept_key(key.as_bytes());
        let good = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
        let ok = check_response(good.as_bytes(), &key, &["chat"], true).unwrap();
        assert_eq!(ok.protocol.as_deref(), Some("chat"));
        assert!(ok.deflate.is_some());
        assert_eq!(
            check_response(good.as_bytes(), "other", &["chat"], true),
            Err(ClientHandshakeError::BadAccept)
        );
        assert_eq!(
            check_response(good.as_bytes(), &key, &[], true),
            Err(ClientHandshakeError::BadExtension)
        );
        assert_eq!(
            check_response(b"HTTP/1.1 404 Not Found\r\n\r\n", &key, &[], false),
            Err(ClientHandshakeError::Status(404))
        );
    }
}
