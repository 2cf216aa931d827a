//! What a response leaves for operations: its status class in the server's counters and its
//! line in the access log (Combined Log Format). A child module of [`super`].

use std::io::Write;

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
            match host {
                Some(ip) => {
                    let _ = write!(out, "{ip}");
                }
                None => out.push(b'-'),
            }
            let _ = write!(out, " - - [{stamp}] \"");
            if req.method().is_empty() {
                out.push(b'-');
            } else {
                push_escaped(out, req.method().as_bytes());
                out.push(b' ');
                push_escaped(out, req.raw_target());
                let _ = write!(out, " HTTP/1.{}", req.version_minor());
            }
            let _ = write!(out, "\" {status} ");
            match bytes {
                Some(n) if n > 0 => {
                    let _ = write!(out, "{n}");
                }
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
