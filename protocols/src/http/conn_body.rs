//! Request bodies: where a body goes (a buffer for the handler, a handler's sink, a CGI
//! script's stdin), how it is framed (Content-Length or chunked), and reading it as it
//! arrives within its limit and timeout. A child module of [`super`].

use bytes::{Bytes, BytesMut};
use netreactor::{ConnId, Context, Counter};

use super::super::cgi;
use super::super::handler::{BodySink, Response};
use super::super::wire::{ChunkStep, Chunked};
use super::{HttpConn, HttpTimer, State, PIPELINE_QUEUE_BUDGET};

/// Where the body of the current request goes.
pub(super) enum BodyTarget {
    /// Collected for [`Handler::handle`](super::Handler::handle).
    Buffer(BytesMut),
    /// Streamed to the handler's sink.
    Sink(Box<dyn BodySink>),
    /// Collected for a CGI script's stdin (a chunked body: `CONTENT_LENGTH` must be known
    /// before the script starts).
    Cgi(BytesMut, cgi::CgiScript),
    /// Streamed to a running CGI script's stdin as it arrives (`None`: the script closed
    /// it; the rest is discarded).
    CgiStdin(Option<ConnId>),
}

pub(super) enum BodyFraming {
    Length(u64),
    Chunked(Chunked),
}

/// A request body being received.
pub(super) struct BodyState {
    pub(super) framing: BodyFraming,
    pub(super) target: BodyTarget,
    pub(super) received: u64,
    pub(super) limit: u64,
}

impl HttpConn {
    pub(super) fn read_body(
        &mut self,
        cx: &mut Context<'_, HttpTimer>,
        input: &mut BytesMut,
    ) -> bool {
        let State::Body(body) = &mut self.state else {
            return false;
        };
        let BodyState {
            framing,
            target,
            received,
            limit,
        } = &mut **body;
        let limit = *limit;
        let mut deliver = |piece: Bytes| -> Result<(), Result<u16, Response>> {
            *received += piece.len() as u64;
            if *received > limit {
                return Err(Ok(413));
            }
            match target {
                BodyTarget::Buffer(buf) | BodyTarget::Cgi(buf, _) => {
                    buf.extend_from_slice(&piece);
                    Ok(())
                }
                BodyTarget::Sink(sink) => sink.data(&piece).map_err(Err),
                BodyTarget::CgiStdin(stdin) => {
                    if let Some(id) = *stdin {
                        if !cx.conn(id).write(piece) {
                            // The script closed its stdin: it does not want the rest.
                            *stdin = None;
                        } else if cx.conn(id).queued() > PIPELINE_QUEUE_BUDGET {
                            // The script reads slower than the client sends: wait for it.
                            cx.pause_read();
                            cx.conn(id).notify_drained();
                        }
                    }
                    Ok(())
                }
            }
        };
        let done = match framing {
            BodyFraming::Length(left) => {
                let n = (*left).min(input.len() as u64) as usize;
                let piece = input.split_to(n).freeze();
                *left -= n as u64;
                let finished = *left == 0;
                if let Err(e) = deliver(piece) {
                    return self.body_error(cx, e);
                }
                finished
            }
            BodyFraming::Chunked(dec) => {
                let mut failure: Option<Result<u16, Response>> = None;
                let step = dec.decode(input, &mut |piece| {
                    deliver(piece).map_err(|e| {
                        let code = match &e {
                            Ok(c) => *c,
                            Err(r) => r.status(),
                        };
                        failure = Some(e);
                        code
                    })
                });
                match step {
                    Ok(ChunkStep::Done) => true,
                    Ok(ChunkStep::More) => false,
                    Err(code) => {
                        let e = failure.take().unwrap_or(Ok(code));
                        if e.is_ok() {
                            cx.count(Counter::ParseError);
                        }
                        return self.body_error(cx, e);
                    }
                }
            }
        };
        if !done {
            return false;
        }
        self.clear_deadline();
        self.linger_on_close = false; // all of the body is in
        let State::Body(body) = std::mem::replace(&mut self.state, State::Head) else {
            unreachable!()
        };
        let target = body.target;
        match target {
            BodyTarget::Buffer(buf) => {
                self.req_mut().body = buf.freeze();
                self.dispatch(cx, None);
            }
            BodyTarget::Sink(sink) => {
                let resp = sink.finish(self.req());
                self.dispatch(cx, Some(resp));
            }
            BodyTarget::Cgi(buf, script) => {
                self.req_mut().body = buf.freeze();
                let len = self.req().body.len() as u64;
                self.start_cgi(cx, script, Some(len), false);
            }
            BodyTarget::CgiStdin(stdin) => {
                if let Some(id) = stdin {
                    cx.conn(id).close();
                }
                if std::mem::take(&mut self.cgi_answered) {
                    // The script already answered in full while the body arrived.
                    self.exchange_done(cx);
                } else {
                    self.state = State::Responding;
                }
            }
        }
        true
    }

    pub(super) fn body_error(
        &mut self,
        cx: &mut Context<'_, HttpTimer>,
        e: Result<u16, Response>,
    ) -> bool {
        self.clear_deadline();
        // Dropping the state drops any sink (a PUT removes its temp file).
        self.state = State::Head;
        match e {
            Ok(code) => self.fail(cx, code),
            Err(resp) => {
                self.keep_alive = false;
                self.respond(cx, resp);
            }
        }
        false
    }
}
