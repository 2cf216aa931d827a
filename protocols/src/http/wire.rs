//! The connection's view of the wire: request heads, chunked bodies and response heads.
//!
//! A thin adapter between [`super::conn`] and the sans-IO codec, so the state machine reads
//! as states and transitions rather than byte fiddling.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use super::config::ServerConfig;
use super::parse::{Limits, Status};

/// How the body of a request is framed (RFC 9112 section 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head: byte ranges into the buffer it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) len: usize,
    pub(crate) method: Range<usize>,
    pub(crate) target: Range<usize>,
    pub(crate) minor: u8,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
    pub(crate) expect_unknown: bool,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a request head at the start of `buf`. `Ok(None)`: incomplete (and still within
/// the limits). Header ranges go to `headers` (cleared first). `Err(status)`: reject.
/// (The single-pass parser of [`super::parse`].)
pub(crate) fn parse_head(
    buf: &[u8],
    cfg: &ServerConfig,
    headers: &mut Vec<(Range<usize>, Range<usize>)>,
) -> Result<Option<Head>, u16> {
    let limits = Limits {
        max_head: cfg.max_head,
        max_headers: cfg.max_headers,
        max_target: cfg.max_target,
    };
    match super::parse::parse_head(buf, &limits, headers) {
        Ok(Status::Complete(head)) => Ok(Some(head)),
        Ok(Status::Partial) => Ok(None),
        Err(e) => Err(e.status()),
    }
}

/// The first, line-splitting head parser: slower, kept as the reference the differential
/// fuzz target (`http_head_diff`) compares [`parse_head`] against.
pub(crate) fn parse_head_reference(
    buf: &[u8],
    cfg: &ServerConfig,
    headers: &mut Vec<(Range<usize>, Range<usize>)>,
) -> Result<Option<Head>, u16> {
    headers.clear();
    // Skip at most a couple of empty lines before a request (RFC 9112 section 2.2).
    let mut start = 0;
    while start < buf.len() && start < 4 && (buf[start] == b'\r' || buf[start] == b'\n') {
        start += 1;
    }
    let end = match memchr::memmem::find(&buf[start..], b"\r\n\r\n") {
        Some(i) => start + i + 4,
        None => {
            let rest = &buf[start..];
            // A bare LF line ending is refused at once (RFC 9112 section 2.2 allows a
            // recipient to; it closes request-smuggling doors), not after max_head bytes.
            if memchr::memchr_iter(b'\n', rest).any(|i| i == 0 || rest[i - 1] != b'\r') {
                return Err(400);
            }
            // Request line too long (finished or not)?
            let line_len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            if line_len > cfg.max_target + 32 {
                return Err(414);
            }
            if buf.len() > cfg.max_head {
                return Err(431);
            }
            return Ok(None);
        }
    };
    if end - start > cfg.max_head {
        return Err(431);
    }
    let head = &buf[start..end - 2];
    let mut lines = head.split(|&b| b == b'\n');
    let line = lines.next().ok_or(400u16)?;
    let line = line.strip_suffix(b"\r").ok_or(400u16)?;
    let sp1 = memchr::memchr(b' ', line).ok_or(400u16)?;
    let rest = &line[sp1 + 1..];
    let sp2 = memchr::memrchr(b' ', rest).ok_or(400u16)?;
    let method = &line[..sp1];
    let target = &rest[..sp2];
    let version = &rest[sp2 + 1..];
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(400);
    }
    const KNOWN: [&[u8]; 9] = [
        b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"CONNECT", b"TRACE", b"PATCH",
    ];
    if !KNOWN.contains(&method) {
        return Err(501);
    }
    if target.is_empty() || target.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(400);
    }
    if target.len() > cfg.max_target {
        return Err(414);
    }
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        v if v.starts_with(b"HTTP/") => return Err(505),
        _ => return Err(400),
    };
    let method_r = start..start + sp1;
    let target_r = start + sp1 + 1..start + sp1 + 1 + sp2;
    let mut offset = start + line.len() + 2;
    let mut framing = Framing::None;
    let mut te_seen = false;
    let mut cl: Option<u64> = None;
    let mut conn_close = false;
    let mut conn_keep = false;
    let mut host = false;
    let mut expect_continue = false;
    let mut expect_unknown = false;
    for line in lines {
        let line_len = line.len() + 1;
        if line.is_empty() {
            break;
        }
        let l = line.strip_suffix(b"\r").ok_or(400u16)?;
        if l.is_empty() {
            break;
        }
        if headers.len() >= cfg.max_headers {
            return Err(431);
        }
        let colon = memchr::memchr(b':', l).ok_or(400u16)?;
        let name = &l[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(400);
        }
        let raw_value = &l[colon + 1..];
        if raw_value.iter().any(|&b| b == b'\r' || b == 0) {
            return Err(400);
        }
        let value = raw_value.trim_ascii();
        let lead = raw_value.len() - raw_value.trim_ascii_start().len();
        let vstart = offset + colon + 1 + lead;
        headers.push((offset..offset + colon, vstart..vstart + value.len()));
        if name.eq_ignore_ascii_case(b"content-length") {
            if !value.iter().all(u8::is_ascii_digit) || value.is_empty() || value.len() > 19 {
                return Err(400);
            }
            let n: u64 = std::str::from_utf8(value)
                .unwrap()
                .parse()
                .map_err(|_| 400u16)?;
            if cl.is_some() {
                return Err(400);
            }
            cl = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Only a single, final `chunked` is accepted: anything after chunked, a second
            // header, or TE in HTTP/1.0 makes the length unknowable (400); another coding
            // before chunked is one we do not implement (501).
            let mut codings = value.split(|&b| b == b',').map(|c| c.trim_ascii());
            let last = codings.next_back().unwrap_or(b"");
            if te_seen || minor == 0 || !last.eq_ignore_ascii_case(b"chunked") {
                return Err(400);
            }
            if codings.next().is_some() {
                return Err(501);
            }
            te_seen = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for t in value.split(|&b| b == b',') {
                let t = t.trim_ascii();
                if t.eq_ignore_ascii_case(b"close") {
                    conn_close = true;
                } else if t.eq_ignore_ascii_case(b"keep-alive") {
                    conn_keep = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"host") {
            if host {
                return Err(400);
            }
            host = true;
        } else if name.eq_ignore_ascii_case(b"expect") {
            if value.eq_ignore_ascii_case(b"100-continue") {
                expect_continue = true;
            } else {
                expect_unknown = true;
            }
        }
        offset += line_len;
    }
    if te_seen && cl.is_some() {
        return Err(400);
    }
    if minor == 1 && !host {
        return Err(400);
    }
    // Whitespace between the start line and the first header is an attack vector
    // (RFC 9112 section 2.2): it is rejected by the name check above (a name cannot start
    // with SP/HTAB), as is obs-fold.
    if te_seen {
        framing = Framing::Chunked;
    } else if let Some(n) = cl {
        if n > 0 {
            framing = Framing::Length(n);
        }
    }
    let keep_alive = if minor == 1 {
        !conn_close
    } else {
        conn_keep && !conn_close
    };
    Ok(Some(Head {
        len: end,
        method: method_r,
        target: target_r,
        minor,
        framing,
        keep_alive,
        expect_continue: expect_continue && minor == 1,
        expect_unknown,
    }))
}

/// Incremental chunked-body decoder state.
#[derive(Debug, Default)]
pub(crate) struct Chunked {
    /// Bytes left in the current chunk's data (0: expecting a size line).
    remaining: u64,
    /// After a chunk's data: its CRLF is still due.
    need_crlf: bool,
    /// After the last chunk: reading trailer lines.
    trailers: bool,
    trailer_bytes: usize,
}

/// What [`Chunked::decode`] achieved.
pub(crate) enum ChunkStep {
    /// Consumed what it could; more input is needed.
    More,
    /// The body (with trailers) is complete.
    Done,
}

impl Chunked {
    /// Decodes from `input`, handing each data piece to `data` (zero-copy views).
    pub(crate) fn decode(
        &mut self,
        input: &mut BytesMut,
        data: &mut dyn FnMut(Bytes) -> Result<(), u16>,
    ) -> Result<ChunkStep, u16> {
        loop {
            if self.remaining > 0 {
                if input.is_empty() {
                    return Ok(ChunkStep::More);
                }
                let n = (self.remaining.min(input.len() as u64)) as usize;
                let piece = input.split_to(n).freeze();
                self.remaining -= n as u64;
                if self.remaining == 0 {
                    self.need_crlf = true;
                }
                data(piece)?;
                continue;
            }
            if self.need_crlf {
                if input.len() < 2 {
                    return Ok(ChunkStep::More);
                }
                if &input[..2] != b"\r\n" {
                    return Err(400);
                }
                input.advance(2);
                self.need_crlf = false;
                continue;
            }
            let Some(nl) = memchr::memchr(b'\n', input) else {
                if input.len() > 4096 {
                    return Err(400);
                }
                return Ok(ChunkStep::More);
            };
            if nl == 0 || input[nl - 1] != b'\r' {
                return Err(400);
            }
            let line = &input[..nl - 1];
            if self.trailers {
                self.trailer_bytes += nl + 1;
                if self.trailer_bytes > 16 * 1024 {
                    return Err(431);
                }
                let empty = line.is_empty();
                if !empty && !is_field_line(line) {
                    return Err(400);
                }
                input.advance(nl + 1);
                if empty {
                    return Ok(ChunkStep::Done);
                }
                continue;
            }
            let size = chunk_size_line(line)?;
            input.advance(nl + 1);
            if size == 0 {
                self.trailers = true;
            } else {
                self.remaining = size;
            }
        }
    }
}

/// Reads a chunk-size line (without its CRLF) as RFC 9112 section 7.1 has it, strictly:
///
/// ```text
/// chunk-size [ chunk-ext ]      chunk-size = 1*HEXDIG
/// chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// chunk-ext-name = token        chunk-ext-val = token / quoted-string
/// ```
///
/// Stricter than the grammar in one place: no whitespace right after the size (`5 ;x`),
/// which proxies read differently. A bare CR, a control character, an empty name or a bad
/// quoted string is a 400; so is a size of more than 15 hex digits.
fn chunk_size_line(line: &[u8]) -> Result<u64, u16> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 15 {
        return Err(400);
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        size = size * 16 + (b as char).to_digit(16).expect("hex digit") as u64;
    }
    let mut rest = &line[digits..];
    let bws = |r: &mut &[u8]| {
        while let [b' ' | b'\t', tail @ ..] = *r {
            *r = tail;
        }
    };
    while !rest.is_empty() {
        // Each extension starts with ";" right after the size, or after BWS between two.
        if rest[0] != b';' {
            return Err(400);
        }
        rest = &rest[1..];
        bws(&mut rest);
        let name = rest.iter().take_while(|&&b| is_tchar(b)).count();
        if name == 0 {
            return Err(400);
        }
        rest = &rest[name..];
        let mut after = rest;
        bws(&mut after);
        if after.first() == Some(&b'=') {
            rest = &after[1..];
            bws(&mut rest);
            if rest.first() == Some(&b'"') {
                rest = quoted_string_tail(&rest[1..]).ok_or(400u16)?;
            } else {
                let value = rest.iter().take_while(|&&b| is_tchar(b)).count();
                if value == 0 {
                    return Err(400);
                }
                rest = &rest[value..];
            }
            after = rest;
            bws(&mut after);
        }
        if !after.is_empty() && after[0] != b';' {
            return Err(400);
        }
        if after.is_empty() && after.len() != rest.len() {
            // Whitespace at the end of the line with no extension after it.
            return Err(400);
        }
        rest = after;
    }
    Ok(size)
}

/// After the opening `"` of a quoted-string: what follows its closing `"`, or `None` when
/// it is not closed or holds a byte RFC 9110 section 5.6.4 does not allow (CR, LF, NUL,
/// other controls but HTAB).
fn quoted_string_tail(mut s: &[u8]) -> Option<&[u8]> {
    let text = |b: u8| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80;
    loop {
        match *s {
            [b'"', ref tail @ ..] => return Some(tail),
            [b'\\', c, ref tail @ ..] if text(c) => s = tail,
            [c, ref tail @ ..] if text(c) && c != b'\\' => s = tail,
            _ => return None,
        }
    }
}

/// A trailer field line: `token ":" value` with no CR, LF, NUL or other control but HTAB
/// in the value (and no obs-fold).
fn is_field_line(line: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', line) else {
        return false;
    };
    colon > 0
        && line[..colon].iter().all(|&b| is_tchar(b))
        && line[colon + 1..]
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// The `Date` line of this thread, valid until the next second begins.
struct DateCache {
    line: [u8; 37],
    valid_until: Option<std::time::Instant>,
}

thread_local! {
    static DATE: std::cell::RefCell<DateCache> = const {
        std::cell::RefCell::new(DateCache { line: [0; 37], valid_until: None })
    };
}

/// Appends `Date: <IMF-fixdate>\r\n`. `now` is the reactor's cached clock: the line is
/// formatted once per second per thread (at the second boundary), not per response.
pub(crate) fn write_date(out: &mut BytesMut, now: std::time::Instant) {
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        let stale = match d.valid_until {
            Some(until) => now >= until,
            None => true,
        };
        if stale {
            let wall = std::time::SystemTime::now();
            let text = format!("Date: {}\r\n", httpdate::fmt_http_date(wall));
            let n = text.len().min(37);
            d.line[..n].copy_from_slice(&text.as_bytes()[..n]);
            let into_second = wall
                .duration_since(std::time::UNIX_EPOCH)
                .map(|t| t.subsec_nanos())
                .unwrap_or(0);
            let left = std::time::Duration::from_nanos(1_000_000_000 - into_second as u64);
            d.valid_until = Some(now + left);
        }
        out.extend_from_slice(&d.line);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<Option<Head>, u16> {
        let mut h = Vec::new();
        parse_head(raw, &ServerConfig::default(), &mut h)
    }

    #[test]
    fn strict_rejections_follow_rfc9112() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/1.1\nHost: a\n\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\n", 400),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
            (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
            (b"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse(raw).err(),
                Some(*want),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn framing_and_keep_alive_facts() {
        let h = parse(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.framing, Framing::Length(12));
        assert!(h.keep_alive);
        let h = parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.keep_alive);
        let h = parse(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive);
        let h = parse(b"\r\nGET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\nrest")
            .unwrap()
            .unwrap();
        assert!(h.expect_continue);
        assert_eq!(h.len, 51);
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: a\r\n")
                .unwrap()
                .map(|h| h.len),
            None
        );
    }

    #[test]
    fn chunked_decoder_pieces_trailers_and_errors() {
        let mut d = Chunked::default();
        let mut got = Vec::new();
        let mut input = BytesMut::from(&b"5;name=val\r\nhello\r\n0\r\nT: x\r\n\r\nNEXT"[..]);
        let step = d.decode(&mut input, &mut |b| {
            got.extend_from_slice(&b);
            Ok(())
        });
        assert!(matches!(step, Ok(ChunkStep::Done)));
        assert_eq!(got, b"hello");
        assert_eq!(&input[..], b"NEXT");
        for bad in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"fffffffffffffffff\r\n",
            b"5\nhello",
        ] {
            let mut d = Chunked::default();
            let mut input = BytesMut::from(bad);
            assert!(d.decode(&mut input, &mut |_| Ok(())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chunk_line_follows_rfc9112_strictly() {
        for good in [
            &b"3"[..],
            b"0003",
            b"3;a",
            b"3;a=b",
            b"3;a=b;c",
            b"3;a=\"q \\\" \\x\"",
            b"3;a = b ; c",
            b"3; a",
        ] {
            assert_eq!(
                chunk_size_line(good),
                Ok(3),
                "{:?}",
                String::from_utf8_lossy(good)
            );
        }
        for bad in [
            &b"3;a\rb"[..],
            b"3\r",
            b"3 ",
            b"3\t",
            b"3 ;a",
            b"3;a ",
            b"3;",
            b"3;=b",
            b"3;a=",
            b"3;a=\"open",
            b"3;a=\"x\rq\"",
            b"3;a=b c",
            b"3x",
            b"-3",
            b"+3",
            b"0x3",
            b"",
            b";a",
            b"3;a\0",
        ] {
            assert_eq!(
                chunk_size_line(bad),
                Err(400),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn bare_cr_in_a_chunk_extension_or_trailer_is_refused() {
        for bad in [
            &b"3;a\rb\r\nabc\r\n0\r\n\r\n"[..],
            b"3 \r\nabc\r\n0\r\n\r\n",
            b"3\r\nabc\r\n0\r\nT: a\rb\r\n\r\n",
            b"3\r\nabc\r\n0\r\n folded\r\n\r\n",
            b"3\r\nabc\r\n0\r\nnocolon\r\n\r\n",
        ] {
            let mut d = Chunked::default();
            let mut input = BytesMut::from(bad);
            assert_eq!(
                d.decode(&mut input, &mut |_| Ok(())).err(),
                Some(400),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
