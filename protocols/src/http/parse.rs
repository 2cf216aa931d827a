//! The request-head parser: one pass over the bytes, zero-copy (header names and values are
//! byte ranges into the caller's buffer), strict where RFC 9112 says so.
//!
//! Speed comes from doing everything in a single pass with no allocation: a 256-entry table
//! decides token characters, and request targets and header values are scanned eight bytes
//! at a time (a word-wide "any byte below 0x21 / equal to 0x7f" test, falling back to a byte
//! loop only for the word that holds the delimiter). No `unsafe` is needed for it.
//!
//! Rejections, each mapped to the status the connection answers with:
//! * 400: bad method token, bad target or header characters (any control character except
//!   HTAB in a value, DEL, bare CR or LF), whitespace before a colon or before the first
//!   header, obs-fold, duplicate or invalid Content-Length, Content-Length together with
//!   Transfer-Encoding, a Transfer-Encoding whose last coding is not `chunked` (or in
//!   HTTP/1.0), a duplicate Host, HTTP/1.1 without Host, a malformed version.
//! * 501: an unknown method, or a transfer coding before `chunked` that we do not implement.
//! * 505: an HTTP version other than 1.0 and 1.1.
//! * 414: a target over the limit; 431: a head over the size limit or too many headers —
//!   decided as soon as the limit is crossed, before the head is complete.

use std::ops::Range;

use super::wire::{Framing, Head};

/// The limits a head is parsed against (from the server's configuration; this module knows
/// nothing of the server).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Largest head in bytes.
    pub(crate) max_head: usize,
    /// Most header fields.
    pub(crate) max_headers: usize,
    /// Longest request-target.
    pub(crate) max_target: usize,
}

/// What parsing achieved so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Status<T> {
    /// The head is complete.
    Complete(T),
    /// More bytes are needed (and the limits are not crossed yet).
    Partial,
}

/// Why a head is refused, in protocol terms; [`HeadError::status`] is the one place that
/// maps each to its HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The request line is not `method SP target SP HTTP/x.y CRLF` with a token method and
    /// target characters only.
    BadRequestLine,
    /// A header line is not `token ":" value CRLF` (whitespace before the colon, obs-fold,
    /// a control character, a bare CR or LF).
    BadHeader,
    /// A method token we do not implement.
    UnknownMethod,
    /// An HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
    /// The target is longer than the limit.
    TargetTooLong,
    /// The head is larger than the limit.
    HeadTooLarge,
    /// More header fields than the limit.
    TooManyHeaders,
    /// Two Host headers.
    DuplicateHost,
    /// HTTP/1.1 without Host.
    MissingHost,
    /// A second, empty, non-digit or overlong Content-Length.
    BadContentLength,
    /// A Transfer-Encoding not ending in `chunked`, a second one, or one in HTTP/1.0.
    BadTransferEncoding,
    /// A transfer coding before `chunked` that we do not implement.
    UnsupportedCoding,
    /// Both Content-Length and Transfer-Encoding.
    LengthAndChunked,
}

impl HeadError {
    /// The status the connection answers with.
    pub(crate) fn status(self) -> u16 {
        match self {
            HeadError::BadRequestLine
            | HeadError::BadHeader
            | HeadError::DuplicateHost
            | HeadError::MissingHost
            | HeadError::BadContentLength
            | HeadError::BadTransferEncoding
            | HeadError::LengthAndChunked => 400,
            HeadError::UnknownMethod | HeadError::UnsupportedCoding => 501,
            HeadError::VersionNotSupported => 505,
            HeadError::TargetTooLong => 414,
            HeadError::HeadTooLarge | HeadError::TooManyHeaders => 431,
        }
    }
}

/// Header ranges: `(name, value)` into the parsed buffer.
pub(crate) type HeaderRanges = Vec<(Range<usize>, Range<usize>)>;

const fn token_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
}

/// `tchar` of RFC 9110 section 5.6.2.
static TOKEN: [bool; 256] = token_table();

const ONES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
const HIGHS: u128 = 0x8080_8080_8080_8080_8080_8080_8080_8080;

/// True if some byte of `w` is below `n` (n <= 128) or equal to 0x7f. Exact as a yes/no
/// answer (the classic has-less-than bit trick), so a 16-byte word without delimiters or
/// control characters is skipped in a handful of operations.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn word_has_stop(w: u128, n: u8) -> bool {
    let less = w.wrapping_sub(ONES * n as u128) & !w & HIGHS;
    let x = w ^ (ONES * 0x7f);
    let del = x.wrapping_sub(ONES) & !x & HIGHS;
    (less | del) != 0
}

/// Index of the first byte at or after `i` that is below `n` or 0x7f (`buf.len()` if none).
#[inline(always)]
fn scan(buf: &[u8], i: usize, n: u8) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let rest = &buf[i..];
        let (at, found) = super::simd::find_stop(rest, n);
        if found {
            return i + at;
        }
        i + at
            + rest[at..]
                .iter()
                .position(|&b| b < n || b == 0x7f)
                .unwrap_or(rest.len() - at)
    }
    #[cfg(not(target_arch = "x86_64"))]
    scan_words(buf, i, n)
}

/// The portable scan: 16-byte words with the has-less-than bit trick.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn scan_words(buf: &[u8], i: usize, n: u8) -> usize {
    let rest = &buf[i..];
    let mut at = 0;
    for w in rest.chunks_exact(16) {
        if word_has_stop(u128::from_le_bytes(w.try_into().unwrap()), n) {
            break;
        }
        at += 16;
    }
    i + at
        + rest[at..]
            .iter()
            .position(|&b| b < n || b == 0x7f)
            .unwrap_or(rest.len() - at)
}

/// Index of the first non-token byte at or after `i` (`buf.len()` if none).
#[inline(always)]
fn scan_token(buf: &[u8], i: usize) -> usize {
    i + buf[i..]
        .iter()
        .position(|&b| !TOKEN[b as usize])
        .unwrap_or(buf.len() - i)
}

/// Parses the request head at the start of `buf`. `Ok(Status::Partial)`: incomplete and
/// still within the limits. Header ranges go to `headers` (cleared first). `Err`: reject
/// (see [`HeadError::status`]).
pub(crate) fn parse_head(
    buf: &[u8],
    cfg: &Limits,
    headers: &mut HeaderRanges,
) -> Result<Status<Head>, HeadError> {
    headers.clear();
    // Up to a few empty lines may precede a request (RFC 9112 section 2.2).
    let mut start = 0;
    while start < buf.len() && start < 4 && (buf[start] == b'\r' || buf[start] == b'\n') {
        start += 1;
    }
    let incomplete = |line_start: usize| -> Result<Status<Head>, HeadError> {
        if buf.len() - start > cfg.max_head {
            Err(HeadError::HeadTooLarge)
        } else if line_start == start && buf.len() - start > cfg.max_target + 32 {
            Err(HeadError::TargetTooLong)
        } else {
            Ok(Status::Partial)
        }
    };

    // Method (GET, by far the most common, without a scan).
    let i = if buf[start..].starts_with(b"GET ") {
        start + 3
    } else {
        scan_token(buf, start)
    };
    if i == buf.len() {
        return incomplete(start);
    }
    if buf[i] != b' ' || i == start {
        return Err(HeadError::BadRequestLine);
    }
    let method = start..i;
    let known = matches!(
        &buf[method.clone()],
        b"GET"
            | b"HEAD"
            | b"POST"
            | b"PUT"
            | b"DELETE"
            | b"OPTIONS"
            | b"CONNECT"
            | b"TRACE"
            | b"PATCH"
    );
    if !known {
        return Err(HeadError::UnknownMethod);
    }

    // Target: any byte above SP except DEL.
    let t0 = i + 1;
    let t1 = scan(buf, t0, 0x21);
    if t1 - t0 > cfg.max_target {
        return Err(HeadError::TargetTooLong);
    }
    if t1 == buf.len() {
        return incomplete(start);
    }
    if buf[t1] != b' ' || t1 == t0 {
        return Err(HeadError::BadRequestLine);
    }

    // Version, then CRLF (HTTP/1.1, by far the most common, without a scan).
    let v0 = t1 + 1;
    let (minor, mut i) = if buf[v0..].starts_with(b"HTTP/1.1\r\n") {
        (1, v0 + 10)
    } else {
        let v_end = scan(buf, v0, 0x20);
        if v_end == buf.len() {
            return incomplete(start);
        }
        if buf[v_end] != b'\r' {
            return Err(HeadError::BadRequestLine);
        }
        if v_end + 1 == buf.len() {
            return incomplete(start);
        }
        if buf[v_end + 1] != b'\n' {
            return Err(HeadError::BadRequestLine);
        }
        let minor = match &buf[v0..v_end] {
            b"HTTP/1.1" => 1,
            b"HTTP/1.0" => 0,
            v if v.len() == 8
                && v.starts_with(b"HTTP/")
                && v[5].is_ascii_digit()
                && v[6] == b'.'
                && v[7].is_ascii_digit() =>
            {
                return Err(HeadError::VersionNotSupported)
            }
            _ => return Err(HeadError::BadRequestLine),
        };
        (minor, v_end + 2)
    };

    let mut facts = Facts::default();
    loop {
        if i - start > cfg.max_head {
            return Err(HeadError::HeadTooLarge);
        }
        let line_start = i;
        if i == buf.len() {
            return incomplete(line_start);
        }
        if buf[i] == b'\r' {
            if i + 1 == buf.len() {
                return incomplete(line_start);
            }
            if buf[i + 1] != b'\n' {
                return Err(HeadError::BadHeader);
            }
            i += 2;
            break;
        }
        // Name: tokens up to the colon (no whitespace before it, none before the first
        // header: both fail the token test, as does an obs-fold continuation line).
        i = scan_token(buf, i);
        if i == buf.len() {
            return incomplete(line_start);
        }
        if buf[i] != b':' || i == line_start {
            return Err(HeadError::BadHeader);
        }
        let name = line_start..i;
        i += 1;
        while i < buf.len() && (buf[i] == b' ' || buf[i] == b'\t') {
            i += 1;
        }
        let v0 = i;
        // Value: visible characters, SP, HTAB and obs-text; stop at CR.
        loop {
            i = scan(buf, i, 0x20);
            if i < buf.len() && buf[i] == b'\t' {
                i += 1;
                continue;
            }
            break;
        }
        if i == buf.len() {
            return incomplete(line_start);
        }
        if buf[i] != b'\r' {
            return Err(HeadError::BadHeader);
        }
        if i + 1 == buf.len() {
            return incomplete(line_start);
        }
        if buf[i + 1] != b'\n' {
            return Err(HeadError::BadHeader);
        }
        let mut v1 = i;
        while v1 > v0 && (buf[v1 - 1] == b' ' || buf[v1 - 1] == b'\t') {
            v1 -= 1;
        }
        i += 2;
        if headers.len() >= cfg.max_headers {
            return Err(HeadError::TooManyHeaders);
        }
        facts.header(&buf[name.clone()], &buf[v0..v1], minor)?;
        headers.push((name, v0..v1));
    }
    if i - start > cfg.max_head {
        return Err(HeadError::HeadTooLarge);
    }
    facts.finish(minor, i, method, t0..t1).map(Status::Complete)
}

/// What the headers say about framing and the connection.
#[derive(Default)]
struct Facts {
    content_length: Option<u64>,
    chunked: bool,
    close: bool,
    keep_alive: bool,
    host: bool,
    expect_continue: bool,
    expect_unknown: bool,
}

impl Facts {
    fn header(&mut self, name: &[u8], value: &[u8], minor: u8) -> Result<(), HeadError> {
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                if self.host {
                    return Err(HeadError::DuplicateHost);
                }
                self.host = true;
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                if value.eq_ignore_ascii_case(b"100-continue") {
                    self.expect_continue = true;
                } else {
                    self.expect_unknown = true;
                }
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for t in value.split(|&b| b == b',') {
                    let t = t.trim_ascii();
                    if t.eq_ignore_ascii_case(b"close") {
                        self.close = true;
                    } else if t.eq_ignore_ascii_case(b"keep-alive") {
                        self.keep_alive = true;
                    }
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                if self.content_length.is_some()
                    || value.is_empty()
                    || value.len() > 19
                    || !value.iter().all(u8::is_ascii_digit)
                {
                    return Err(HeadError::BadContentLength);
                }
                let n = value.iter().fold(0u64, |n, &d| n * 10 + (d - b'0') as u64);
                self.content_length = Some(n);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                // Only one, final `chunked`: anything after chunked, a second header, or TE
                // in HTTP/1.0 makes the length unknowable (400); another coding before
                // chunked is one we do not implement (501).
                let mut codings = value.split(|&b| b == b',').map(|c| c.trim_ascii());
                let last = codings.next_back().unwrap_or(b"");
                if self.chunked || minor == 0 || !last.eq_ignore_ascii_case(b"chunked") {
                    return Err(HeadError::BadTransferEncoding);
                }
                if codings.next().is_some() {
                    return Err(HeadError::UnsupportedCoding);
                }
                self.chunked = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(
        self,
        minor: u8,
        len: usize,
        method: Range<usize>,
        target: Range<usize>,
    ) -> Result<Head, HeadError> {
        if self.chunked && self.content_length.is_some() {
            return Err(HeadError::LengthAndChunked);
        }
        if minor == 1 && !self.host {
            return Err(HeadError::MissingHost);
        }
        let framing = if self.chunked {
            Framing::Chunked
        } else {
            match self.content_length {
                Some(n) if n > 0 => Framing::Length(n),
                _ => Framing::None,
            }
        };
        let keep_alive = if minor == 1 {
            !self.close
        } else {
            self.keep_alive && !self.close
        };
        Ok(Head {
            len,
            method,
            target,
            minor,
            framing,
            keep_alive,
            expect_continue: self.expect_continue && minor == 1,
            expect_unknown: self.expect_unknown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::wire::parse_head;
    use crate::http::ServerConfig;

    fn parse(buf: &[u8]) -> Result<Option<Head>, u16> {
        parse_head(buf, &ServerConfig::default(), &mut Vec::new())
    }

    fn status(buf: &[u8]) -> u16 {
        parse(buf).expect_err("expected a rejection")
    }

    #[test]
    fn a_simple_get_with_its_header_ranges() {
        let req = b"GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */* \r\n\r\n";
        let mut headers = Vec::new();
        let head = parse_head(req, &ServerConfig::default(), &mut headers)
            .unwrap()
            .unwrap();
        assert_eq!(head.len, req.len());
        assert_eq!(&req[head.method.clone()], b"GET");
        assert_eq!(&req[head.target.clone()], b"/index.html?x=1");
        assert_eq!(head.minor, 1);
        assert!(head.keep_alive);
        let pairs: Vec<(&[u8], &[u8])> = headers
            .iter()
            .map(|(n, v)| (&req[n.clone()], &req[v.clone()]))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (&b"Host"[..], &b"example.com"[..]),
                (&b"Accept"[..], &b"*/*"[..])
            ]
        );
    }

    #[test]
    fn every_prefix_is_incomplete_and_the_whole_is_complete() {
        let req =
            b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\n";
        for cut in 0..req.len() {
            assert_eq!(
                parse(&req[..cut]).map(|h| h.is_some()),
                Ok(false),
                "cut at {cut}"
            );
        }
        let head = parse(req).unwrap().unwrap();
        assert_eq!(head.framing, Framing::Length(5));
        assert!(!head.keep_alive);
    }

    #[test]
    fn pipelined_requests_parse_one_at_a_time() {
        let two = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
        let first = parse(two).unwrap().unwrap();
        let second = parse(&two[first.len..]).unwrap().unwrap();
        assert_eq!(&two[first.len..][second.target.clone()], b"/b");
    }

    #[test]
    fn ambiguous_framing_is_rejected() {
        assert_eq!(status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            501
        );
        assert_eq!(
            status(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
        assert_eq!(
            parse(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap()
                .unwrap()
                .framing,
            Framing::Chunked
        );
    }

    #[test]
    fn bad_line_endings_and_whitespace_are_rejected() {
        assert_eq!(status(b"GET / HTTP/1.1\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: h\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  folded\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n"),
            400
        );
        assert!(
            parse(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\tb \xc3\xa9\r\n\r\n")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn methods_versions_and_host() {
        assert_eq!(status(b"BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n"), 501);
        assert_eq!(status(b"G@T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
        assert_eq!(status(b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTCPCP/1.0\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
        assert_eq!(status(b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
        let old = parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(old.keep_alive);
        assert!(
            !parse(b"GET / HTTP/1.0\r\n\r\n")
                .unwrap()
                .unwrap()
                .keep_alive
        );
    }

    #[test]
    fn limits_are_enforced_before_the_head_is_complete() {
        let cfg = ServerConfig {
            max_head: 64,
            max_headers: 2,
            max_target: 16,
            ..ServerConfig::default()
        };
        let mut h = Vec::new();
        assert_eq!(
            parse_head(b"GET /aaaaaaaaaaaaaaaaaaaaaaaa", &cfg, &mut h),
            Err(414)
        );
        assert_eq!(
            parse_head(
                b"GET / HTTP/1.1\r\nX: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
                &cfg,
                &mut h
            ),
            Err(431)
        );
        assert_eq!(
            parse_head(
                b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n",
                &cfg,
                &mut h
            ),
            Err(431)
        );
    }

    #[test]
    fn errors_name_the_broken_rule_and_map_to_their_status_in_one_place() {
        let limits = Limits {
            max_head: 256,
            max_headers: 4,
            max_target: 32,
        };
        let cases: &[(&[u8], HeadError, u16)] = &[
            (b"GET / HTTP/1.1\r\n\r\n", HeadError::MissingHost, 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HeadError::DuplicateHost, 400),
            (b"GET  / HTTP/1.1\r\n", HeadError::BadRequestLine, 400),
            (b"GET / HTTP/1.1\r\nX : y\r\n", HeadError::BadHeader, 400),
            (b"BREW / HTTP/1.1\r\n", HeadError::UnknownMethod, 501),
            (b"GET / HTTP/2.0\r\n", HeadError::VersionNotSupported, 505),
            (b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", HeadError::TargetTooLong, 414),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                HeadError::LengthAndChunked,
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                HeadError::UnsupportedCoding,
                501,
            ),
            (
                b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
                HeadError::TooManyHeaders,
                431,
            ),
        ];
        let mut h = Vec::new();
        for (raw, err, status) in cases {
            let got = super::parse_head(raw, &limits, &mut h);
            assert!(
                matches!(got, Err(e) if e == *err),
                "{:?}: {got:?}",
                String::from_utf8_lossy(raw)
            );
            assert_eq!(err.status(), *status);
        }
        assert!(matches!(
            super::parse_head(b"GET / HTTP/1.1\r\nHo", &limits, &mut h),
            Ok(Status::Partial)
        ));
        assert!(matches!(
            super::parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &limits, &mut h),
            Ok(Status::Complete(head)) if head.len == 27
        ));
    }

    #[test]
    fn expect_continue_only_counts_in_http_1_1() {
        let h = parse(
            b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert!(h.expect_continue);
        let h = parse(b"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: something-else\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.expect_unknown && !h.expect_continue);
    }

    #[test]
    fn the_word_scan_agrees_with_a_byte_loop() {
        let mut seed = 0x1234_5678u64;
        for _ in 0..2000 {
            let len = (seed % 80) as usize;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let r = (seed >> 33) as u8;
                    if r.is_multiple_of(7) {
                        r % 0x22
                    } else {
                        r | 0x20
                    }
                })
                .collect();
            for n in [0x20u8, 0x21] {
                let slow = buf
                    .iter()
                    .position(|&b| b < n || b == 0x7f)
                    .unwrap_or(buf.len());
                assert_eq!(scan(&buf, 0, n), slow, "{buf:?} n={n:#x}");
                assert_eq!(scan_words(&buf, 0, n), slow, "portable: {buf:?} n={n:#x}");
            }
        }
    }
}
