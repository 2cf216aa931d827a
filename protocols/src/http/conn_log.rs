//! What a response leaves for operations: its status class in the server's counters and its
//! line in the access log (Combined Log Format). A child module of [`super`].

use std::io::Write;
use std::net::IpAddr;

use netreactor::Context;

use super::{HttpConn, HttpTimer};
use crate::ops::log::push_escaped;

impl HttpConn {
    /// A response head of `status` went out for the current request, with `bytes` of body
    /// (`None`: not known in advance, a stream or a CGI script's answer).
    pub(super) fn observe(&self, cx: &Context<'_, HttpTimer>, status: u16, bytes: Option<u64>) {
        let config = &self.shared.config;
        if let Some(c) = &config.counters {
            c.response(cx.is_tls(), status);
        }
        let Some(log) = &config.access_log else {
            return;
        };
        let req = self.req();
        let host = cx.peer_addr().map(|a| a.ip());
        log.line(|out, stamp| {
            // Hand-written numbers and addresses: `write!` through `fmt` cost about 2,000
            // instructions a line, more than the rest of the line together.
            let mut n = itoa::Buffer::new();
            match host {
                Some(IpAddr::V4(ip)) => {
                    let [a, b, c, d] = ip.octets();
                    out.extend_from_slice(n.format(a).as_bytes());
                    for octet in [b, c, d] {
                        out.push(b'.');
                        out.extend_from_slice(n.format(octet).as_bytes());
                    }
                }
                Some(ip) => {
                    let _ = write!(out, "{ip}");
                }
                None => out.push(b'-'),
            }
            out.extend_from_slice(b" - - [");
            out.extend_from_slice(stamp.as_bytes());
            out.extend_from_slice(b"] \"");
            if req.method().is_empty() {
                out.push(b'-');
            } else {
                push_escaped(out, req.method().as_bytes());
                out.push(b' ');
                push_escaped(out, req.raw_target());
                out.extend_from_slice(b" HTTP/1.");
                out.extend_from_slice(n.format(req.version_minor()).as_bytes());
            }
            out.extend_from_slice(b"\" ");
            out.extend_from_slice(n.format(status).as_bytes());
            out.push(b' ');
            match bytes {
                Some(len) if len > 0 => out.extend_from_slice(n.format(len).as_bytes()),
                _ => out.push(b'-'),
            }
            for name in ["referer", "user-agent"] {
                out.extend_from_slice(b" \"");
                match req.header(name) {
                    Some(v) => push_escaped(out, v),
                    None => out.push(b'-'),
                }
                out.push(b'"');
            }
            out.push(b'\n');
        });
    }
}
