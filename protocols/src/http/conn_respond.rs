//! Writing a response: the connection-level decisions (close or keep alive, HEAD, the
//! no-body statuses), the head into the gathering buffer, the body inline, as a file range or
//! as a stream. A child module of [`super`].

use std::os::unix::fs::FileExt;
use std::time::Instant;

use netreactor::Context;

use super::{exchange, HttpConn, HttpTimer, State, Streaming, INLINE_BODY, INLINE_FILE};
use crate::http::handler::{reason_phrase, Body, BodyPart, Response};
use crate::http::wire;

impl HttpConn {
    /// Writes `resp` for the current request and moves to the next state.
    pub(super) fn respond(&mut self, cx: &mut Context<'_, HttpTimer>, mut resp: Response) {
        if resp.close
            || resp.headers.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case(b"connection")
                    && v.split(|&b| b == b',')
                        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
            })
        {
            self.keep_alive = false;
        }
        if let Some(proto) = resp.upgrade.take() {
            if self.req().body.is_empty() {
                return self.take_over(cx, resp, proto);
            }
            resp = Response::error(400);
            self.keep_alive = false;
        }
        let status = resp.status;
        let no_body = self.head_only || status < 200 || status == 204 || status == 304;
        let body = std::mem::replace(&mut resp.body, Body::Empty);
        let chunked = matches!(body, Body::Stream(_)) && self.req().version_minor == 1;
        if matches!(body, Body::Stream(_)) && !chunked && !no_body {
            // HTTP/1.0: the body ends when the connection closes.
            self.keep_alive = false;
        }
        self.write_head(&resp, status, cx.now());
        self.observe(cx, status, if no_body { Some(0) } else { body.len() });
        let out = self.out();
        if !(status < 200 || status == 204) {
            match body.len() {
                Some(n) if status != 304 || n > 0 => {
                    out.extend_from_slice(b"Content-Length: ");
                    // `itoa`, not `write!`: `fmt` took a twentieth of a plain request.
                    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                Some(_) => {}
                None if chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
                None => {}
            }
        }
        self.finish_head();
        self.clear_request();
        if !no_body {
            match body {
                Body::Empty => {}
                Body::Bytes(b) if b.len() <= INLINE_BODY => self.out().extend_from_slice(&b),
                Body::Bytes(b) => {
                    self.flush_out(cx);
                    cx.write(b);
                }
                Body::File { file, offset, len } if len <= INLINE_FILE => {
                    // Read next to the head: one write, one segment, instead of a write
                    // for the head and a `sendfile` for a few bytes.
                    let out = self.out();
                    let start = out.len();
                    out.resize(start + len as usize, 0);
                    if file.read_exact_at(&mut out[start..], offset).is_err() {
                        // Shrunk or unreadable: `sendfile` fails the same way and the
                        // connection closes, since the head promised `len` bytes.
                        out.truncate(start);
                        self.flush_out(cx);
                        cx.send_file(file, offset, len);
                    }
                }
                Body::File { file, offset, len } => {
                    self.flush_out(cx);
                    cx.send_file(file, offset, len);
                }
                Body::Parts(parts) => {
                    self.flush_out(cx);
                    for part in parts {
                        match part {
                            BodyPart::Bytes(b) if b.is_empty() => {}
                            BodyPart::Bytes(b) => cx.write(b),
                            BodyPart::File { len: 0, .. } => {}
                            BodyPart::File { file, offset, len } => cx.send_file(file, offset, len),
                        }
                    }
                }
                Body::Stream(s) => {
                    self.flush_out(cx);
                    self.stream = Some(Box::new(Streaming { body: s, chunked }));
                    self.state = State::Responding;
                    self.pump_stream(cx);
                    return;
                }
            }
        }
        self.exchange_done(cx);
    }

    /// The status line, Date, Server and the handler's headers (framing and `Connection`
    /// follow).
    pub(super) fn write_head(&mut self, resp: &Response, status: u16, now: Instant) {
        let out = &mut exchange(&mut self.ex, &self.shared).out;
        match (status, &resp.reason) {
            (200, None) => out.extend_from_slice(b"HTTP/1.1 200 OK\r\n"),
            (_, reason) => {
                out.extend_from_slice(b"HTTP/1.1 ");
                out.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
                out.extend_from_slice(b" ");
                match reason {
                    Some(reason) => out.extend_from_slice(reason),
                    None => out.extend_from_slice(reason_phrase(status).as_bytes()),
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        wire::write_date(out, now);
        out.extend_from_slice(&self.shared.server_line);
        for (n, v) in &resp.headers {
            if n.eq_ignore_ascii_case(b"content-length")
                || n.eq_ignore_ascii_case(b"transfer-encoding")
                || n.eq_ignore_ascii_case(b"connection") && status != 101
            {
                continue;
            }
            out.extend_from_slice(n);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
    }

    pub(super) fn finish_head(&mut self) {
        let keep_alive = self.keep_alive;
        let ex = exchange(&mut self.ex, &self.shared);
        if !keep_alive {
            ex.out.extend_from_slice(b"Connection: close\r\n");
        } else if ex.req.version_minor == 0 {
            ex.out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        ex.out.extend_from_slice(b"\r\n");
    }
}
